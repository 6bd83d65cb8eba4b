/**
 * Typed, validated gateway configuration from environment variables.
 *
 * `loadConfig(env)` is pure: it reads nothing but `env` and, for *_FILE variables, the injected
 * `io.readFile`. Every problem is collected and thrown at once as a {@link ConfigError} naming
 * each variable and what is wrong with it — never its value. Secrets have no defaults.
 */
import path from "node:path";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { Address, Hex } from "viem";
import { getAddress, isAddress } from "viem/utils";
import { deploymentFor, type Deployment } from "#sdk/deployments.ts";
import { parseMasterKeyHex, KEY_BYTES } from "../store/crypto.ts";
import type { DatabaseOptions } from "../store/database.ts";
import { Secret } from "./secret.ts";
import { KNOWN_VARIABLES, LOG_LEVELS, VARIABLES, type IntSpec, type VariableName } from "./variables.ts";

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigIo {
  /** Reads a secret file (for *_FILE variables). */
  readFile(file: string): Buffer;
  /** Base for relative paths. */
  cwd(): string;
  /**
   * The contract addresses known for a chain (default: sdk/generated/deployments.json), used when
   * CONSENT_REGISTRY_ADDRESS / AUDIT_ANCHOR_ADDRESS / STUDY_ESCROW_ADDRESS /
   * PREVENTION_REWARDS_ADDRESS are not set.
   */
  deployment?(chainId: number): Deployment | undefined;
}

/** The sdk's deployments for a chain, or undefined when none is known. */
export function sdkDeployment(chainId: number): Deployment | undefined {
  try {
    return deploymentFor(chainId);
  } catch {
    return undefined;
  }
}

export const nodeIo: ConfigIo = {
  readFile: (file) => readFileSync(file),
  cwd: () => process.cwd(),
  deployment: sdkDeployment,
};

export { KNOWN_VARIABLES, LOG_LEVELS };
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig =
  | { kind: "postgres"; url: Secret<string> }
  /** dataDir undefined: in memory (GATEWAY_DATA_DIR=":memory:"), nothing survives a restart. */
  | { kind: "pglite"; dataDir: string | undefined };

/** What `openDatabase` takes for a configured database (the URL revealed only here). */
export function databaseOptions(database: DatabaseConfig): DatabaseOptions {
  return database.kind === "postgres"
    ? { kind: "postgres", url: database.url.reveal() }
    : { kind: "pglite", dataDir: database.dataDir };
}

export interface StorageConfig {
  database: DatabaseConfig;
  masterKey: Secret<Buffer>;
}

/** Requests per minute: per signed-in address, and per client IP for unauthenticated requests. */
export interface RateLimitConfig {
  perAddressPerMinute: number;
  perIpPerMinute: number;
}

/**
 * Relayed transactions per hour (relay/limits.ts): per patient address, and for the whole gateway
 * (revocations excepted); the custodian's spend in wei per hour, of which the revocations' own part
 * (served first: the other relays share what is left).
 */
export interface RelayLimitConfig {
  perAddressPerHour: number;
  globalPerHour: number;
  weiPerHour: bigint;
  revocationWeiPerHour: bigint;
}

/** The relay limits, printable as JSON (the wei amounts as decimal strings). */
export function relayLimitConfig(limits: RelayLimitConfig): RelayLimitConfig {
  return Object.defineProperty({ ...limits }, "toJSON", {
    enumerable: false,
    value(this: RelayLimitConfig) {
      return { ...this, weiPerHour: String(this.weiPerHour), revocationWeiPerHour: String(this.revocationWeiPerHour) };
    },
  });
}

export interface GatewayConfig extends StorageConfig {
  host: string;
  port: number;
  /** Base URL clients use (no trailing slash); SIWE domain/URI and Location headers derive from it. */
  publicUrl: string;
  /** May hold credentials (user info, an API key in the path or query): never logged. */
  rpcUrl: Secret<string>;
  chainId: number;
  /** ConsentRegistry (with OrganizationRegistry): the consent check, grants, delegates. */
  consentRegistryAddress: Address;
  /** AuditAnchor: where the audit log's Merkle roots are posted. */
  auditAnchorAddress: Address;
  /** StudyEscrow, when deployed: study joins are relayed to it. */
  studyEscrowAddress: Address | undefined;
  /** PreventionRewards, when deployed: the custodian confirms prevention programmes' criteria to it. */
  preventionRewardsAddress: Address | undefined;
  /** Audit verification and the relay's grant check read events from this block (default: the registry's deployment block, from the sdk). */
  eventsFromBlock: number;
  /**
   * INDEXER_URL: the indexer (indexer/, Ponder) that answers lists (`GET /fhir/Consent`, a study's
   * participants) without scanning the chain's logs. Unset: those lists answer 503 with an
   * OperationOutcome that says to set it. Access decisions never use it: they read the chain.
   */
  indexerUrl: string | undefined;
  /** The custodian organization's on-chain address (EIP-55). */
  custodianAddress: Address;
  /** Display name of the custodian (AuditEvent.source.observer). */
  custodianName: string;
  /** The custodian's GATEWAY member key: relays signed consents, anchors the audit log. */
  gatewayPrivateKey: Secret<Hex>;
  /** HMAC key of the bearer tokens issued after Sign-In with Ethereum (>= 32 bytes). */
  tokenSecret: Secret<Buffer>;
  /** Lifetime of those bearer tokens, seconds. */
  tokenTtlSeconds: number;
  /** Bearer token of the custodian's ingestion clients. */
  adminToken: Secret<string>;
  /** Bearer token of `POST /admin/link-codes` only (link and relink codes); never the admin token. */
  linkCodeToken: Secret<string>;
  /** Seconds between audit anchoring runs; 0 disables the periodic job. */
  anchorIntervalSeconds: number;
  rateLimits: RateLimitConfig;
  relayLimits: RelayLimitConfig;
  /**
   * This gateway's price for relaying a signed withdrawal (`POST /relay/withdraw`), in the smallest
   * unit of the study currency, as decimal digits (JSON-safe): it refuses a withdrawal that signs
   * it a smaller fee.
   */
  relayWithdrawFee: string;
  /** Browser origins allowed to call the gateway (CORS); empty: none. */
  corsOrigins: readonly string[];
  /**
   * Peers (addresses or CIDRs) whose X-Forwarded-For is believed: the TLS proxies in front of the
   * gateway. The client's address is then the nearest untrusted hop. Empty (the default): the peer.
   */
  trustedProxies: readonly string[];
  bodyLimitBytes: number;
  logLevel: LogLevel;
}

export interface ConfigProblem {
  variable: string;
  problem: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(
      `Invalid gateway configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.variable}: ${p.problem}`).join("\n"),
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const DEFAULTS = {
  host: "127.0.0.1",
  dataDir: ".data/gateway",
  logLevel: "info",
  custodianName: "Consentry gateway",
} as const;

/** The bearer-token HMAC key: at least this many bytes. */
export const TOKEN_SECRET_MIN_BYTES = 32;

const ADMIN_TOKEN_MIN = 32;
const ADMIN_TOKEN_MAX = 512;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Collects problems while reading variables. */
class Reader {
  readonly problems: ConfigProblem[] = [];
  readonly env: Env;
  readonly io: ConfigIo;
  constructor(env: Env, io: ConfigIo) {
    this.env = env;
    this.io = io;
  }

  fail(variable: string, problem: string): undefined {
    this.problems.push({ variable, problem });
    return undefined;
  }

  /** The trimmed value; "" counts as unset. Only variables of the table (variables.ts) are read. */
  get(name: VariableName | `${VariableName}_FILE`): string | undefined {
    const v = this.env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === "" ? undefined : t;
  }

  required(name: VariableName, what: string = VARIABLES[name].doc): string | undefined {
    const v = this.get(name);
    return v === undefined ? this.fail(name, `is required (${what})`) : v;
  }

  /** A whole number, by the table (variables.ts): its range, and its default unless `fallback` is given. */
  int(name: VariableName, fallback?: number): number | undefined {
    const spec = VARIABLES[name] as { doc: string; int?: IntSpec };
    if (!spec.int) throw new Error(`${name} is not a number in the table of variables`);
    const { min, max } = spec.int;
    const dflt = fallback ?? spec.int.fallback;
    const raw = dflt === undefined ? this.required(name, spec.doc) : this.get(name);
    if (raw === undefined) return dflt;
    if (!/^[0-9]+$/.test(raw)) return this.fail(name, `must be an integer from ${min} to ${max}`);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      return this.fail(name, `must be an integer from ${min} to ${max}`);
    return n;
  }

  /** An amount of wei (a decimal integer, at most 10^30), by the table; `fallback` overrides its default. */
  wei(name: VariableName, fallback?: bigint): bigint | undefined {
    const spec = VARIABLES[name] as { doc: string; wei?: bigint };
    if (spec.wei === undefined) throw new Error(`${name} is not an amount of wei in the table of variables`);
    const raw = this.get(name);
    if (raw === undefined) return fallback ?? spec.wei;
    if (!/^[0-9]{1,31}$/.test(raw) || BigInt(raw) > 10n ** 30n)
      return this.fail(name, `must be an amount of wei, an integer from 0 to 10^30 (${spec.doc})`);
    return BigInt(raw);
  }

  url(name: string, raw: string, protocols: readonly string[]): URL | undefined {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return this.fail(name, "is not a valid URL");
    }
    if (!protocols.includes(u.protocol)) {
      return this.fail(
        name,
        `must use ${protocols.map((p) => p.replace(/:$/, "")).join(" or ")}, not ${u.protocol.replace(/:$/, "")}`,
      );
    }
    if (!u.hostname) return this.fail(name, "must name a host");
    return u;
  }

  /** A secret from NAME or NAME_FILE (exactly one). */
  secretSource(name: VariableName, what: string): { from: string; value: Buffer } | undefined {
    const fileVar = `${name}_FILE` as const;
    const inline = this.get(name);
    const file = this.get(fileVar);
    if (inline !== undefined && file !== undefined) {
      return this.fail(name, `set either ${name} or ${fileVar}, not both`);
    }
    if (inline === undefined && file === undefined) {
      return this.fail(name, `is required (${what}); set ${name} or ${fileVar}`);
    }
    if (inline !== undefined) return { from: name, value: Buffer.from(inline, "utf8") };
    try {
      return { from: fileVar, value: this.io.readFile(path.resolve(this.io.cwd(), file!)) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return this.fail(fileVar, `cannot read the file${code ? ` (${code})` : ""}`);
    }
  }

  /** A contract or account address: 0x + 40 hex, EIP-55 if mixed-case, not zero. */
  address(name: string, raw: string): Address | undefined {
    if (!isAddress(raw, { strict: true }))
      return this.fail(name, "must be a 0x-prefixed 20-byte address (with a valid EIP-55 checksum if mixed-case)");
    if (/^0x0{40}$/i.test(raw)) return this.fail(name, "must not be the zero address");
    return getAddress(raw);
  }

  /** A contract address from NAME, else from the known deployment on the chain. */
  contract(
    name: VariableName,
    contract: "ConsentRegistry" | "AuditAnchor" | "StudyEscrow" | "PreventionRewards",
    chainId: number | undefined,
    required: boolean,
  ): Address | undefined {
    const raw = this.get(name);
    if (raw !== undefined) return this.address(name, raw);
    if (chainId === undefined) return undefined; // CHAIN_ID itself is reported
    const known = this.io.deployment?.(chainId)?.[contract];
    if (known !== undefined) return this.address(name, known);
    if (!required) return undefined;
    return this.fail(
      name,
      `is required: no ${contract} deployment is known for chain ${chainId} (set ${name}, or deploy: npm run deploy -- --network <name>)`,
    );
  }

  /**
   * Where event scans start by default: the sdk's deployment block for the chain when `address` is
   * the sdk's own `contract` there (a contract deployed elsewhere gets 0: scanned from genesis).
   */
  deploymentBlock(
    chainId: number | undefined,
    contract: "ConsentRegistry" | "AuditAnchor",
    address: Address | undefined,
  ): number {
    if (chainId === undefined || address === undefined) return 0;
    const known = this.io.deployment?.(chainId);
    const same = known?.[contract] !== undefined && known[contract].toLowerCase() === address.toLowerCase();
    return same ? (known.deploymentBlock ?? 0) : 0;
  }

  masterKey(name: VariableName): Secret<Buffer> | undefined {
    const src = this.secretSource(name, "the 256-bit master key that wraps patient data keys, 64 hex characters");
    if (!src) return undefined;
    // A key file may hold the 32 raw bytes (e.g. `openssl rand 32`) or 64 hex characters.
    if (
      src.from.endsWith("_FILE") &&
      src.value.length === KEY_BYTES &&
      !/^[0-9a-fA-F]+$/.test(src.value.toString("latin1"))
    ) {
      if (src.value.every((b) => b === src.value[0]))
        return this.fail(src.from, "must be random: a key of one repeated byte is refused");
      return new Secret(Buffer.from(src.value));
    }
    try {
      return new Secret(parseMasterKeyHex(src.value.toString("utf8")));
    } catch (err) {
      return this.fail(src.from, (err as Error).message);
    }
  }
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function readDatabase(r: Reader): DatabaseConfig | undefined {
  const url = r.get("DATABASE_URL");
  const dataDir = r.get("GATEWAY_DATA_DIR");
  if (url !== undefined) {
    if (dataDir !== undefined) {
      return r.fail("GATEWAY_DATA_DIR", "set either DATABASE_URL (PostgreSQL) or GATEWAY_DATA_DIR (PGlite), not both");
    }
    const u = r.url("DATABASE_URL", url, ["postgres:", "postgresql:"]);
    return u ? { kind: "postgres", url: new Secret(url) } : undefined;
  }
  if (dataDir === ":memory:") return { kind: "pglite", dataDir: undefined };
  return { kind: "pglite", dataDir: path.resolve(r.io.cwd(), dataDir ?? DEFAULTS.dataDir) };
}

/** Database + master key only: for tools (key rotation) that need no chain or HTTP settings. */
export function loadStorageConfig(env: Env, io: ConfigIo = nodeIo): StorageConfig {
  const r = new Reader(env, io);
  const database = readDatabase(r);
  const masterKey = r.masterKey("GATEWAY_MASTER_KEY");
  if (r.problems.length > 0 || !database || !masterKey) throw new ConfigError(r.problems);
  return { database, masterKey };
}

export interface AuditVerifyConfig {
  database: DatabaseConfig;
  /** May hold credentials: never logged. */
  rpcUrl: Secret<string>;
  chainId: number;
  auditAnchorAddress: Address;
  custodianAddress: Address;
  eventsFromBlock: number;
}

/**
 * What the audit verifier needs: the database (no master key: the audit log is not encrypted),
 * the chain and the custodian whose anchored batches to check.
 */
export function loadAuditVerifyConfig(env: Env, io: ConfigIo = nodeIo): AuditVerifyConfig {
  const r = new Reader(env, io);
  const database = readDatabase(r);
  let rpcUrl: string | undefined;
  const rpcRaw = r.required("RPC_URL", "JSON-RPC endpoint of the chain holding the audit anchors");
  if (rpcRaw !== undefined && r.url("RPC_URL", rpcRaw, ["http:", "https:", "ws:", "wss:"])) rpcUrl = rpcRaw;
  const chainId = r.int("CHAIN_ID");
  const auditAnchorAddress = r.contract("AUDIT_ANCHOR_ADDRESS", "AuditAnchor", chainId, true);
  const addr = r.required("CUSTODIAN_ADDRESS", "the custodian organization whose audit log this is");
  const custodianAddress = addr === undefined ? undefined : r.address("CUSTODIAN_ADDRESS", addr);
  const eventsFromBlock = r.int(
    "GATEWAY_EVENTS_FROM_BLOCK",
    r.deploymentBlock(chainId, "AuditAnchor", auditAnchorAddress),
  );
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return {
    database: database!,
    rpcUrl: new Secret(rpcUrl!),
    chainId: chainId!,
    auditAnchorAddress: auditAnchorAddress!,
    custodianAddress: custodianAddress!,
    eventsFromBlock: eventsFromBlock!,
  };
}

/** Reads a second master key, GATEWAY_NEW_MASTER_KEY or GATEWAY_NEW_MASTER_KEY_FILE (rotation). */
export function loadNewMasterKey(env: Env, io: ConfigIo = nodeIo): Secret<Buffer> {
  const r = new Reader(env, io);
  const key = r.masterKey("GATEWAY_NEW_MASTER_KEY");
  if (r.problems.length > 0 || !key) throw new ConfigError(r.problems);
  return key;
}

/** A static bearer token from the environment: long, random-looking, of bearer token characters. */
function readBearerToken(r: Reader, name: VariableName, description: string): Secret<string> | undefined {
  const token = r.required(name, description);
  if (token === undefined) return undefined;
  if (token.length < ADMIN_TOKEN_MIN)
    r.fail(name, `must be at least ${ADMIN_TOKEN_MIN} characters (got ${token.length})`);
  else if (token.length > ADMIN_TOKEN_MAX) r.fail(name, `must be at most ${ADMIN_TOKEN_MAX} characters`);
  else if (!/^[A-Za-z0-9\-._~+/=]+$/.test(token))
    r.fail(name, "must use only the bearer token characters A-Z a-z 0-9 - . _ ~ + / =");
  else if (new Set(token).size < 8) r.fail(name, "is too repetitive to be a random token");
  else return new Secret(token);
  return undefined;
}

/** GATEWAY_HOST, GATEWAY_PORT and GATEWAY_PUBLIC_URL (derived from them on loopback). */
function readAddress(r: Reader): { host: string; port: number | undefined; publicUrl: string | undefined } {
  const host = r.get("GATEWAY_HOST") ?? DEFAULTS.host;
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) r.fail("GATEWAY_HOST", "must be a host name or IP address");
  const port = r.int("GATEWAY_PORT");

  let publicUrl: string | undefined;
  const publicRaw = r.get("GATEWAY_PUBLIC_URL");
  if (publicRaw === undefined) {
    if (isLoopback(host) && port !== undefined) publicUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    else
      r.fail(
        "GATEWAY_PUBLIC_URL",
        "is required when GATEWAY_HOST is not a loopback address (the URL clients use, e.g. https://fhir.example-hospital.org)",
      );
  } else {
    const u = r.url("GATEWAY_PUBLIC_URL", publicRaw, ["http:", "https:"]);
    if (u) {
      if (u.username || u.password) r.fail("GATEWAY_PUBLIC_URL", "must not contain credentials");
      else if (u.search || u.hash) r.fail("GATEWAY_PUBLIC_URL", "must not have a query or fragment");
      else if (u.protocol === "http:" && !isLoopback(u.hostname))
        r.fail("GATEWAY_PUBLIC_URL", "must use https unless the host is loopback");
      else publicUrl = `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
    }
  }
  return { host, port, publicUrl };
}

export interface PreventionConfirmConfig {
  /** The gateway's base URL (GATEWAY_PUBLIC_URL, or http://{host}:{port} on loopback). */
  publicUrl: string;
  adminToken: Secret<string>;
}

/**
 * What `npm run prevention:confirm` needs: where the running gateway answers and its admin token
 * (the confirmations are sent by the gateway, the one process that sends the custodian's
 * transactions, and audited there).
 */
export function loadPreventionConfirmConfig(env: Env, io: ConfigIo = nodeIo): PreventionConfirmConfig {
  const r = new Reader(env, io);
  const { publicUrl } = readAddress(r);
  const adminToken = readBearerToken(r, "GATEWAY_ADMIN_TOKEN", "the gateway's admin token");
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return { publicUrl: publicUrl!, adminToken: adminToken! };
}

export function loadConfig(env: Env, io: ConfigIo = nodeIo): GatewayConfig {
  const r = new Reader(env, io);

  for (const name of Object.keys(env)) {
    if (name.startsWith("GATEWAY_") && !KNOWN_VARIABLES.includes(name)) {
      r.fail(name, "is not a gateway setting (misspelt?)");
    }
  }

  const { host, port, publicUrl } = readAddress(r);

  let rpcUrl: string | undefined;
  const rpcRaw = r.required("RPC_URL", "JSON-RPC endpoint of the chain holding the consent registry");
  if (rpcRaw !== undefined && r.url("RPC_URL", rpcRaw, ["http:", "https:", "ws:", "wss:"])) rpcUrl = rpcRaw;

  const chainId = r.int("CHAIN_ID");

  const consentRegistryAddress = r.contract("CONSENT_REGISTRY_ADDRESS", "ConsentRegistry", chainId, true);
  const auditAnchorAddress = r.contract("AUDIT_ANCHOR_ADDRESS", "AuditAnchor", chainId, true);
  const studyEscrowAddress = r.contract("STUDY_ESCROW_ADDRESS", "StudyEscrow", chainId, false);
  const preventionRewardsAddress = r.contract("PREVENTION_REWARDS_ADDRESS", "PreventionRewards", chainId, false);
  let indexerUrl: string | undefined;
  const indexerRaw = r.get("INDEXER_URL");
  if (indexerRaw !== undefined) {
    const u = r.url("INDEXER_URL", indexerRaw, ["http:", "https:"]);
    if (u) indexerUrl = `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
  }
  const eventsFromBlock = r.int(
    "GATEWAY_EVENTS_FROM_BLOCK",
    r.deploymentBlock(chainId, "ConsentRegistry", consentRegistryAddress),
  );

  let custodianAddress: Address | undefined;
  const addr = r.required("CUSTODIAN_ADDRESS", "the custodian organization's on-chain address");
  if (addr !== undefined) custodianAddress = r.address("CUSTODIAN_ADDRESS", addr);

  const custodianName = r.get("GATEWAY_CUSTODIAN_NAME") ?? DEFAULTS.custodianName;
  if (custodianName.length > 200) r.fail("GATEWAY_CUSTODIAN_NAME", "must be at most 200 characters");

  let gatewayPrivateKey: Secret<Hex> | undefined;
  const pkSource = r.secretSource(
    "GATEWAY_PRIVATE_KEY",
    "the custodian's GATEWAY member key that relays signed consents and anchors the audit log, 0x + 64 hex",
  );
  if (pkSource !== undefined) {
    const pk = pkSource.value.toString("latin1").trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(pk)) r.fail(pkSource.from, "must be 0x followed by 64 hex characters");
    else {
      const k = BigInt(pk);
      if (k === 0n || k >= SECP256K1_N) r.fail(pkSource.from, "is not a valid secp256k1 private key");
      else gatewayPrivateKey = new Secret(pk.toLowerCase() as Hex);
    }
  }

  const database = readDatabase(r);
  const masterKey = r.masterKey("GATEWAY_MASTER_KEY");

  const adminToken = readBearerToken(
    r,
    "GATEWAY_ADMIN_TOKEN",
    `bearer token of the custodian's ingestion clients (and erasure), at least ${ADMIN_TOKEN_MIN} characters`,
  );
  let linkCodeToken = readBearerToken(
    r,
    "GATEWAY_LINK_CODE_TOKEN",
    `bearer token of the clients that issue link and relink codes (registration desk), at least ${ADMIN_TOKEN_MIN} characters, not the admin token`,
  );
  if (linkCodeToken !== undefined && adminToken !== undefined && linkCodeToken.reveal() === adminToken.reveal()) {
    r.fail(
      "GATEWAY_LINK_CODE_TOKEN",
      "must differ from GATEWAY_ADMIN_TOKEN: a leaked ingestion token must not move patients to new wallets",
    );
    linkCodeToken = undefined;
  }

  let tokenSecret: Secret<Buffer> | undefined;
  const tokenSrc = r.secretSource(
    "GATEWAY_TOKEN_SECRET",
    `HMAC key of the bearer tokens issued at sign-in, at least ${TOKEN_SECRET_MIN_BYTES} bytes`,
  );
  if (tokenSrc !== undefined) {
    // A file may end with a newline; the key is what precedes it.
    const value = tokenSrc.from.endsWith("_FILE")
      ? Buffer.from(tokenSrc.value.toString("latin1").replace(/\r?\n$/, ""), "latin1")
      : tokenSrc.value;
    if (value.length < TOKEN_SECRET_MIN_BYTES)
      r.fail(tokenSrc.from, `must be at least ${TOKEN_SECRET_MIN_BYTES} bytes (got ${value.length})`);
    else if (new Set(value).size < 8) r.fail(tokenSrc.from, "is too repetitive to be a random key");
    else if (adminToken !== undefined && value.equals(Buffer.from(adminToken.reveal(), "utf8")))
      r.fail(tokenSrc.from, "must differ from GATEWAY_ADMIN_TOKEN");
    else if (linkCodeToken !== undefined && value.equals(Buffer.from(linkCodeToken.reveal(), "utf8")))
      r.fail(tokenSrc.from, "must differ from GATEWAY_LINK_CODE_TOKEN");
    else tokenSecret = new Secret(Buffer.from(value));
  }
  const tokenTtlSeconds = r.int("GATEWAY_TOKEN_TTL_SECONDS");
  const anchorIntervalSeconds = r.int("GATEWAY_ANCHOR_INTERVAL_SECONDS");
  const perAddressPerMinute = r.int("GATEWAY_RATE_LIMIT_PER_MINUTE");
  const perIpPerMinute = r.int("GATEWAY_RATE_LIMIT_IP_PER_MINUTE");
  const relayPerHour = r.int("GATEWAY_RELAY_LIMIT_PER_HOUR");
  const relayGlobalPerHour = r.int("GATEWAY_RELAY_GLOBAL_LIMIT_PER_HOUR");

  const relayWeiPerHour = r.wei("GATEWAY_RELAY_BUDGET_WEI_PER_HOUR");
  const relayRevocationWeiPerHour = r.wei(
    "GATEWAY_RELAY_REVOCATION_BUDGET_WEI_PER_HOUR",
    relayWeiPerHour !== undefined && relayWeiPerHour < VARIABLES.GATEWAY_RELAY_REVOCATION_BUDGET_WEI_PER_HOUR.wei
      ? relayWeiPerHour
      : undefined,
  );
  if (
    relayWeiPerHour !== undefined &&
    relayRevocationWeiPerHour !== undefined &&
    relayRevocationWeiPerHour > relayWeiPerHour
  ) {
    r.fail(
      "GATEWAY_RELAY_REVOCATION_BUDGET_WEI_PER_HOUR",
      "must not exceed GATEWAY_RELAY_BUDGET_WEI_PER_HOUR (it is a part of it)",
    );
  }

  const relayWithdrawFee = r.wei("GATEWAY_RELAY_WITHDRAW_FEE");

  const corsOrigins: string[] = [];
  for (const origin of (r.get("GATEWAY_CORS_ORIGINS") ?? "").split(",").map((o) => o.trim())) {
    if (origin === "") continue;
    const u = r.url("GATEWAY_CORS_ORIGINS", origin, ["http:", "https:"]);
    if (!u) continue;
    if (u.origin !== origin.replace(/\/$/, "")) {
      r.fail("GATEWAY_CORS_ORIGINS", "must list origins only (scheme://host[:port]), comma-separated");
      continue;
    }
    corsOrigins.push(u.origin);
  }

  const trustedProxies: string[] = [];
  for (const entry of (r.get("GATEWAY_TRUSTED_PROXIES") ?? "").split(",").map((e) => e.trim())) {
    if (entry === "") continue;
    const [address, prefix, ...rest] = entry.split("/");
    const family = isIP(address ?? "");
    const bits = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      rest.length > 0 ||
      (prefix !== undefined && (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > bits))
    ) {
      r.fail("GATEWAY_TRUSTED_PROXIES", "must list IP addresses or CIDRs (e.g. 10.0.0.0/8, ::1), comma-separated");
      continue;
    }
    trustedProxies.push(entry);
  }

  const bodyLimitBytes = r.int("GATEWAY_BODY_LIMIT_BYTES");

  const level = r.get("GATEWAY_LOG_LEVEL") ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    r.fail("GATEWAY_LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);

  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return {
    host,
    port: port!,
    publicUrl: publicUrl!,
    rpcUrl: new Secret(rpcUrl!),
    chainId: chainId!,
    consentRegistryAddress: consentRegistryAddress!,
    auditAnchorAddress: auditAnchorAddress!,
    studyEscrowAddress,
    preventionRewardsAddress,
    eventsFromBlock: eventsFromBlock!,
    indexerUrl,
    custodianAddress: custodianAddress!,
    custodianName,
    gatewayPrivateKey: gatewayPrivateKey!,
    tokenSecret: tokenSecret!,
    tokenTtlSeconds: tokenTtlSeconds!,
    database: database!,
    masterKey: masterKey!,
    adminToken: adminToken!,
    linkCodeToken: linkCodeToken!,
    anchorIntervalSeconds: anchorIntervalSeconds!,
    rateLimits: { perAddressPerMinute: perAddressPerMinute!, perIpPerMinute: perIpPerMinute! },
    relayLimits: relayLimitConfig({
      perAddressPerHour: relayPerHour!,
      globalPerHour: relayGlobalPerHour!,
      weiPerHour: relayWeiPerHour!,
      revocationWeiPerHour: relayRevocationWeiPerHour!,
    }),
    relayWithdrawFee: String(relayWithdrawFee!),
    corsOrigins,
    trustedProxies,
    bodyLimitBytes: bodyLimitBytes!,
    logLevel: level as LogLevel,
  };
}
