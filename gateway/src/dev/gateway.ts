/**
 * The local demo gateway of a custodian (hospital or lab), for `npm start`:
 *
 *   node gateway/src/dev/gateway.ts --custodian hospital [--port 4001]
 *   node gateway/src/dev/gateway.ts --custodian lab      [--port 4002]
 *
 * On the local chain only (31337, Hardhat's public development keys; see sdk/demo.ts):
 * - secrets in the git-ignored .secrets/ (0700): the master key `.secrets/<custodian>.key`, the
 *   admin token, the link-code token and the bearer-token secret, each 0600, generated if missing (and said so) —
 *   the only place that ever generates a key; a production gateway reads its keys from the
 *   environment (server.ts) and refuses to start without them;
 * - PGlite data in the git-ignored .data/<custodian>/;
 * - on first start, a deterministic synthetic data set (seed "consentry-demo", five patients)
 *   ingested through the gateway's own transaction route, and the first two patients linked to
 *   the demo wallets alice (#1) and bob (#2) through link codes and Sign-In with Ethereum; the
 *   lab also records alice's flu vaccination of this season (CVX 141, dated at that start), the
 *   record the demo prevention programme's confirmation finds;
 * - then it serves, with the custodian's GATEWAY member key (hospital #5, lab #7).
 * Overrides from the environment: RPC_URL, GATEWAY_LOG_LEVEL, GATEWAY_CORS_ORIGINS,
 * GATEWAY_ANCHOR_INTERVAL_SECONDS, CONSENT_REGISTRY_ADDRESS, AUDIT_ANCHOR_ADDRESS, STUDY_ESCROW_ADDRESS,
 * PREVENTION_REWARDS_ADDRESS.
 */
import type { Bundle, Immunization } from "@medplum/fhirtypes";
import type { FastifyInstance } from "fastify";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Hex } from "viem";
import { privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { DEMO_ACCOUNTS, DEMO_ORGANIZATIONS, DEV_PRIVATE_KEYS, LOCAL_CHAIN_ID, LOCAL_RPC_URL } from "#sdk/demo.ts";
import { CVX_SYSTEM } from "#sdk/prevention.ts";
import { ConfigError, loadConfig, type Env, type GatewayConfig } from "../config/config.ts";
import { generateSyntheticData, syntheticTransactionBundle } from "./synthetic.ts";
import { startGateway, stopOnSignals } from "../server.ts";
import type { Store } from "../store/store.ts";

/** Hardhat's well-known development mnemonic: public keys for the local chain, never for value. */
export const DEMO_SEED = "consentry-demo";
export const DEMO_PATIENTS = 5;
/** Which demo wallet each of the first synthetic patients belongs to. */
export const DEMO_WALLETS = ["alice", "bob"] as const;

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export type DemoCustodian = "hospital" | "lab";

/** A development account's private key (Hardhat's mnemonic, by demo name). */
export function devKey(name: keyof typeof DEMO_ACCOUNTS): Hex {
  return DEV_PRIVATE_KEYS[DEMO_ACCOUNTS[name]]!;
}

/** A path as the developer reads it: relative to the repository when inside it. */
function shown(file: string): string {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

/**
 * The content of a secret file, created (0600, in a 0700 directory) by `generate` if it is
 * missing; `say` tells which were generated. An existing file readable by others is tightened.
 */
export function ensureSecretFile(file: string, generate: () => string, say: (line: string) => void): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      chmodSync(file, 0o600);
      say(`tightened ${shown(file)} to 0600`);
    }
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const value = generate();
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: "wx" });
  say(`generated ${shown(file)} (0600; git-ignored) — development only`);
  return value;
}

export interface DevPaths {
  secrets: string;
  data: string;
}

export function devPaths(custodian: DemoCustodian, root = REPO_ROOT): DevPaths {
  return { secrets: path.join(root, ".secrets"), data: path.join(root, ".data", custodian) };
}

const OVERRIDABLE = [
  "RPC_URL",
  "GATEWAY_LOG_LEVEL",
  "GATEWAY_CORS_ORIGINS",
  "GATEWAY_ANCHOR_INTERVAL_SECONDS",
  "CONSENT_REGISTRY_ADDRESS",
  "AUDIT_ANCHOR_ADDRESS",
  "STUDY_ESCROW_ADDRESS",
  "PREVENTION_REWARDS_ADDRESS",
  "INDEXER_URL",
] as const;

/** The environment of a demo gateway (secrets as files under `paths.secrets`, created if missing). */
export function devEnv(
  custodian: DemoCustodian,
  options: { port?: number; paths?: DevPaths; overrides?: Env; say?: (line: string) => void } = {},
): Env {
  const org = DEMO_ORGANIZATIONS.find((o) => o.account === custodian);
  if (!org || org.gatewayPort === null) throw new Error(`unknown demo custodian ${custodian}`);
  const paths = options.paths ?? devPaths(custodian);
  const say = options.say ?? (() => undefined);
  const keyFile = path.join(paths.secrets, `${custodian}.key`);
  const tokenSecretFile = path.join(paths.secrets, `${custodian}.token-secret`);
  ensureSecretFile(keyFile, () => randomBytes(32).toString("hex"), say);
  ensureSecretFile(tokenSecretFile, () => randomBytes(32).toString("base64url"), say);
  const adminToken = ensureSecretFile(
    path.join(paths.secrets, `${custodian}.admin-token`),
    () => randomBytes(32).toString("base64url"),
    say,
  );
  const linkCodeToken = ensureSecretFile(
    path.join(paths.secrets, `${custodian}.link-code-token`),
    () => randomBytes(32).toString("base64url"),
    say,
  );
  const env: Record<string, string> = {
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_PORT: String(options.port ?? org.gatewayPort),
    RPC_URL: LOCAL_RPC_URL,
    CHAIN_ID: String(LOCAL_CHAIN_ID),
    CUSTODIAN_ADDRESS: privateKeyToAccount(devKey(custodian)).address,
    GATEWAY_CUSTODIAN_NAME: org.name,
    GATEWAY_PRIVATE_KEY: devKey(custodian === "hospital" ? "hospitalGateway" : "labGateway"),
    GATEWAY_DATA_DIR: paths.data,
    GATEWAY_MASTER_KEY_FILE: keyFile,
    GATEWAY_TOKEN_SECRET_FILE: tokenSecretFile,
    GATEWAY_ADMIN_TOKEN: adminToken,
    GATEWAY_LINK_CODE_TOKEN: linkCodeToken,
    GATEWAY_CORS_ORIGINS: "http://localhost:3000,http://127.0.0.1:3000",
    GATEWAY_ANCHOR_INTERVAL_SECONDS: "60",
    // The stack's indexer (npm start), which the gateway's lists come from.
    INDEXER_URL: "http://127.0.0.1:42069",
  };
  for (const name of OVERRIDABLE) {
    const value = options.overrides?.[name];
    if (value !== undefined && value.trim() !== "") env[name] = value;
  }
  return env;
}

export interface SeedResult {
  /** Resources ingested (0 when the data set was there already). */
  ingested: number;
  /** Demo wallet → patient id. */
  linked: Record<string, string>;
}

/**
 * The demo's preventive care: a seasonal flu vaccination (CVX 141, influenza, seasonal, injectable)
 * given to `patientId` at `custodianName` at `at`, the record that the demo prevention programme
 * (scripts/prevention-demo.ts: CVX 141, periods from 1 September) confirms for that patient.
 */
export function demoFluVaccination(patientId: string, custodianName: string, at: Date): Immunization {
  return {
    resourceType: "Immunization",
    id: `demo-flu-${patientId}`.slice(0, 64),
    status: "completed",
    vaccineCode: {
      coding: [{ system: CVX_SYSTEM, code: "141", display: "Influenza, seasonal, injectable" }],
      text: "Flu vaccine (seasonal)",
    },
    patient: { reference: `Patient/${patientId}` },
    occurrenceDateTime: at.toISOString(),
    primarySource: true,
    performer: [{ actor: { display: custodianName } }],
  };
}

/**
 * Seeds a demo gateway once, through its own routes (so that every write is audited as in
 * production): the synthetic data set by the admin token, then the first patients linked to
 * the demo wallets by a link code (the link-code token's) redeemed after Sign-In with Ethereum.
 */
export async function seedDemo(
  app: FastifyInstance,
  store: Store,
  options: {
    custodianName: string;
    publicUrl: string;
    chainId: number;
    adminToken: string;
    /** The link-code issuer's token (not the admin token). */
    linkCodeToken: string;
    wallets: Record<string, LocalAccount>;
    /** Record the first patient's flu vaccination of this season (`demoFluVaccination`), once. */
    fluVaccination?: boolean;
  },
): Promise<SeedResult> {
  const data = generateSyntheticData({ seed: DEMO_SEED, custodian: options.custodianName, patients: DEMO_PATIENTS });
  const admin = { authorization: `Bearer ${options.adminToken}` };
  let ingested = 0;
  if ((await store.patientStatus(data.patients[0]!.id!)).kind === "unknown") {
    const bundle: Bundle = syntheticTransactionBundle(data);
    const res = await app.inject({
      method: "POST",
      url: "/fhir",
      headers: { ...admin, "content-type": "application/fhir+json" },
      payload: JSON.stringify(bundle),
    });
    if (res.statusCode !== 200) throw new Error(`seeding failed: ${res.statusCode} ${res.body.slice(0, 300)}`);
    ingested = data.resources.length;
  }
  if (options.fluVaccination) {
    // Its own check, so that a data set seeded before this record existed gets it too.
    const patientId = data.patients[0]!.id!;
    const vaccination = demoFluVaccination(patientId, options.custodianName, store.now());
    const held = await store.compartmentRefs([patientId], ["Immunization"]);
    if (!held.some((r) => r.id === vaccination.id)) {
      const res = await app.inject({
        method: "POST",
        url: "/fhir",
        headers: { ...admin, "content-type": "application/fhir+json" },
        payload: JSON.stringify({
          resourceType: "Bundle",
          type: "transaction",
          entry: [{ resource: vaccination, request: { method: "PUT", url: `Immunization/${vaccination.id}` } }],
        } satisfies Bundle),
      });
      if (res.statusCode !== 200) throw new Error(`seeding the vaccination failed: ${res.body.slice(0, 300)}`);
      ingested += 1;
    }
  }
  const linked: Record<string, string> = {};
  const url = new URL(options.publicUrl);
  const names = Object.keys(options.wallets);
  for (let i = 0; i < names.length && i < data.patients.length; i++) {
    const name = names[i]!;
    const account = options.wallets[name]!;
    const patientId = data.patients[i]!.id!;
    linked[name] = patientId;
    if ((await store.listWallets(patientId)).length > 0) continue;
    const code = await app.inject({
      method: "POST",
      url: "/admin/link-codes",
      headers: { authorization: `Bearer ${options.linkCodeToken}` },
      payload: { patientId },
    });
    if (code.statusCode !== 201) throw new Error(`link code for ${name} failed: ${code.body.slice(0, 300)}`);
    const { nonce } = (await app.inject({ method: "GET", url: "/auth/nonce" })).json() as { nonce: string };
    const message = createSiweMessage({
      domain: url.host,
      address: account.address,
      statement: "Link my wallet to my record (demo seed).",
      uri: url.origin,
      version: "1",
      chainId: options.chainId,
      nonce,
      issuedAt: new Date(),
    });
    const signature = await account.signMessage!({ message });
    const signedIn = await app.inject({ method: "POST", url: "/auth/siwe", payload: { message, signature } });
    if (signedIn.statusCode !== 200) throw new Error(`sign-in of ${name} failed: ${signedIn.body.slice(0, 300)}`);
    const token = (signedIn.json() as { access_token: string }).access_token;
    const res = await app.inject({
      method: "POST",
      url: "/auth/link",
      headers: { authorization: `Bearer ${token}` },
      payload: { code: (code.json() as { code: string }).code },
    });
    if (res.statusCode !== 200) throw new Error(`linking ${name} failed: ${res.body.slice(0, 300)}`);
  }
  return { ingested, linked };
}

/**
 * A log destination for a terminal that stays readable: every log line goes to `file`; lines at
 * warning level or above (pino's 40+) also go to standard error, so a failure is still seen.
 */
export function fileLogStream(file: string): { write(line: string): void } {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, "w");
  return {
    write(line: string) {
      writeSync(fd, line);
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (level !== undefined && Number(level) >= 40) process.stderr.write(line);
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      custodian: { type: "string" },
      port: { type: "string" },
      // Where .secrets/ and .data/ live (default: the repository root).
      root: { type: "string" },
      // Where the request log goes (default: standard output); warnings and errors also go to stderr.
      "log-file": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: node gateway/src/dev/gateway.ts --custodian hospital|lab [--port N] [--root DIR] [--log-file FILE]\n",
    );
    return;
  }
  const custodian = values.custodian;
  if (custodian !== "hospital" && custodian !== "lab") {
    process.stderr.write("dev: --custodian hospital|lab is required\n");
    process.exit(64);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    process.stderr.write("dev: --port must be a TCP port\n");
    process.exit(64);
  }
  const say = (line: string) => process.stdout.write(`[gateway ${custodian}] ${line}\n`);
  const paths = devPaths(custodian, values.root ? path.resolve(values.root) : REPO_ROOT);
  const env = devEnv(custodian, { ...(port !== undefined ? { port } : {}), paths, overrides: process.env, say });
  let config: GatewayConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  if (config.chainId !== LOCAL_CHAIN_ID) {
    process.stderr.write(`dev: Hardhat's development keys are for the local chain ${LOCAL_CHAIN_ID} only\n`);
    process.exit(78);
  }
  const wallets = Object.fromEntries(DEMO_WALLETS.map((name) => [name, privateKeyToAccount(devKey(name))]));
  let seeded: SeedResult | undefined;
  const logFile = values["log-file"];
  const gateway = await startGateway(config, {
    ...(logFile ? { logger: { level: config.logLevel, stream: fileLogStream(logFile) } } : {}),
    beforeListen: async ({ app, store }) => {
      await app.ready();
      seeded = await seedDemo(app, store, {
        custodianName: config.custodianName,
        publicUrl: config.publicUrl,
        chainId: config.chainId,
        adminToken: config.adminToken.reveal(),
        linkCodeToken: config.linkCodeToken.reveal(),
        wallets,
        fluVaccination: custodian === "lab",
      });
    },
  });
  stopOnSignals(gateway);
  if (seeded && seeded.ingested > 0) say(`seeded ${seeded.ingested} synthetic resources (seed "${DEMO_SEED}")`);
  for (const [name, patientId] of Object.entries(seeded?.linked ?? {})) {
    say(`Patient/${patientId} is linked to ${name} (${wallets[name]!.address})`);
  }
  say(`${config.custodianName}: ${config.publicUrl}/fhir  (gateway key ${gateway.chain.gatewayAddress})`);
  say(`admin token in ${shown(path.join(paths.secrets, `${custodian}.admin-token`))}; data in ${shown(paths.data)}`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`dev gateway failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
