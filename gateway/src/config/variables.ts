/**
 * Every environment variable the gateway reads, declared once: its name, what it is, its default
 * and, for numbers, its range. `loadConfig` (config.ts) validates by this table, takes its bounds
 * and defaults from it and reports any other `GATEWAY_*` variable as a likely typo; the README's
 * variable table is {@link variablesMarkdown} (a test keeps them equal:
 * `node gateway/src/config/variables.ts --write` rewrites it).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** A whole number within [min, max]; `fallback` when unset (none: required). */
export interface IntSpec {
  readonly min: number;
  readonly max: number;
  readonly fallback?: number;
}

export interface VariableSpec {
  /** What it is, for the README and for the error when it is missing or wrong. */
  readonly doc: string;
  /** Shown as the default in the README ("required", or how it is derived). */
  readonly shown: string;
  /** A secret: also read from `<NAME>_FILE` (exactly one of the two), never printed. */
  readonly secretFile?: true;
  /** A whole number: its range and default. */
  readonly int?: IntSpec;
  /** An amount of wei: its default. */
  readonly wei?: bigint;
  /** Read only by the operators' commands (key rotation), not by the gateway. */
  readonly tool?: true;
}

const minutes = (n: number) => n * 60;

export const VARIABLES = {
  GATEWAY_HOST: { doc: "the address the gateway binds", shown: "`127.0.0.1`" },
  GATEWAY_PORT: { doc: "TCP port", shown: "`8080`", int: { min: 0, max: 65535, fallback: 8080 } },
  GATEWAY_PUBLIC_URL: {
    doc: "base URL clients use (SIWE domain and URI, token audience); https unless loopback",
    shown: "`http://{host}:{port}` on loopback; required otherwise",
  },
  RPC_URL: {
    doc:
      "any Ethereum JSON-RPC node (http(s) with batching, or ws(s)); checked at start. The URL may hold credentials: " +
      "it is a secret of the config, logged only as scheme, host and port, and taken out of every error the chain transport raises",
    shown: "required",
  },
  CHAIN_ID: {
    doc: "EIP-155 chain id, e.g. 84532",
    shown: "required",
    int: { min: 1, max: Number.MAX_SAFE_INTEGER },
  },
  CUSTODIAN_ADDRESS: { doc: "the custodian organization's on-chain address (EIP-55 if mixed-case)", shown: "required" },
  CONSENT_REGISTRY_ADDRESS: {
    doc: "the ConsentRegistry; an error naming the variable if neither it nor the sdk knows one",
    shown: "`sdk/generated/deployments.json` for `CHAIN_ID`",
  },
  AUDIT_ANCHOR_ADDRESS: {
    doc: "the AuditAnchor the audit log's Merkle roots are posted to",
    shown: "`sdk/generated/deployments.json` for `CHAIN_ID`",
  },
  STUDY_ESCROW_ADDRESS: {
    doc: "the StudyEscrow: enables `/relay/join`, `/relay/leave`, `/relay/withdraw`, `/enrolment-attestations` and research exports",
    shown: "`sdk/generated/deployments.json` for `CHAIN_ID`; optional",
  },
  PREVENTION_REWARDS_ADDRESS: {
    doc: "the PreventionRewards: enables `POST /prevention/programmes/{programmeId}/confirmations` (and `npm run prevention:confirm`), the custodian's confirmations that a patient's care met a programme's criterion, and `/relay/prevention-opt-in`, `/relay/prevention-opt-out`, `/relay/prevention-withdraw`",
    shown: "`sdk/generated/deployments.json` for `CHAIN_ID`; optional",
  },
  INDEXER_URL: {
    doc: "the indexer (`npm run indexer`, indexer/) that lists come from: `GET /fhir/Consent` (a patient's grants) and a study's participants in research exports; the gateway never scans the chain's logs for a list. Access decisions and audit verification still read the chain at the latest block",
    shown: "none: those lists answer 503 (an OperationOutcome that says to set it); everything else works",
  },
  GATEWAY_EVENTS_FROM_BLOCK: {
    doc: "the first block audit verification (`npm run audit:verify`) and the relay's grant check read the contracts' events from (in ranges of 1,000 blocks for the audit)",
    shown: "the registry's deployment block from the sdk for `CHAIN_ID`, 0 for a registry the sdk does not know",
    int: { min: 0, max: Number.MAX_SAFE_INTEGER },
  },
  GATEWAY_CUSTODIAN_NAME: {
    doc: "display name of the custodian (AuditEvent source), at most 200 characters",
    shown: "`Consentry gateway`",
  },
  GATEWAY_PRIVATE_KEY: {
    doc: "the custodian's GATEWAY member key that relays signed actions and anchors the audit log, 0x + 64 hex (a key of another organization stops the start)",
    shown: "required",
    secretFile: true,
  },
  GATEWAY_TOKEN_SECRET: {
    doc: "HMAC key of the bearer tokens issued at sign-in, at least 32 bytes, not a static token",
    shown: "required",
    secretFile: true,
  },
  GATEWAY_TOKEN_TTL_SECONDS: {
    doc: "lifetime of sign-in bearer tokens, seconds",
    shown: "`900`",
    int: { min: 60, max: 3600, fallback: minutes(15) },
  },
  GATEWAY_ANCHOR_INTERVAL_SECONDS: {
    doc: "seconds between audit anchoring runs, 0 to disable",
    shown: "`300`",
    int: { min: 0, max: 7 * 24 * 3600, fallback: minutes(5) },
  },
  GATEWAY_RATE_LIMIT_PER_MINUTE: {
    doc: "requests per minute per signed-in address",
    shown: "`600`",
    int: { min: 1, max: 1_000_000, fallback: 600 },
  },
  GATEWAY_RATE_LIMIT_IP_PER_MINUTE: {
    doc: "unauthenticated requests per minute per client IP",
    shown: "`120`",
    int: { min: 1, max: 1_000_000, fallback: 120 },
  },
  GATEWAY_RELAY_LIMIT_PER_HOUR: {
    doc: "relayed transactions per hour per patient address",
    shown: "`20`",
    int: { min: 0, max: 100_000, fallback: 20 },
  },
  GATEWAY_RELAY_GLOBAL_LIMIT_PER_HOUR: {
    doc: "relayed transactions per hour for the whole gateway, revocations excepted",
    shown: "`1000`",
    int: { min: 0, max: 1_000_000, fallback: 1000 },
  },
  GATEWAY_RELAY_BUDGET_WEI_PER_HOUR: {
    doc: "the most the custodian spends on relayed transactions per hour, in wei",
    shown: "`100000000000000000` (0.1 ETH)",
    wei: 10n ** 17n,
  },
  GATEWAY_RELAY_REVOCATION_BUDGET_WEI_PER_HOUR: {
    doc: "the part of it kept for revocations, served first (at most the whole budget)",
    shown: "`50000000000000000` (0.05 ETH), or the whole budget if smaller",
    wei: 5n * 10n ** 16n,
  },
  GATEWAY_RELAY_WITHDRAW_FEE: {
    doc: "this gateway's price for relaying a signed withdrawal, in the study currency's smallest unit; a smaller signed fee is refused",
    shown: "`100000000000000000` (0.1 of an 18-decimal token): set it for the deployment's currency",
    wei: 10n ** 17n,
  },
  GATEWAY_CORS_ORIGINS: { doc: "comma-separated browser origins allowed (CORS)", shown: "none" },
  GATEWAY_TRUSTED_PROXIES: {
    doc:
      "comma-separated addresses or CIDRs of the TLS proxies in front of the gateway, whose `X-Forwarded-For` is believed. " +
      "The client is the nearest hop they did not add; per-IP limits key IPv4 addresses as they are and IPv6 addresses by " +
      "their /64; the audit records the client's address",
    shown: "none: the peer is the client",
  },
  DATABASE_URL: {
    doc: "PostgreSQL (`postgres://…`); a secret of the config. Set it or `GATEWAY_DATA_DIR`, not both",
    shown: "none: PGlite",
  },
  GATEWAY_DATA_DIR: { doc: "PGlite's folder; `:memory:` keeps nothing", shown: "`.data/gateway`" },
  GATEWAY_MASTER_KEY: {
    doc: "256-bit master key that wraps the patients' data keys, 64 hex (a file may hold 32 raw bytes)",
    shown: "required",
    secretFile: true,
  },
  GATEWAY_NEW_MASTER_KEY: {
    doc: "the key `gateway/src/cli/rotate-key.ts` rotates to, as `GATEWAY_MASTER_KEY`",
    shown: "required by the rotation only",
    secretFile: true,
    tool: true,
  },
  GATEWAY_ADMIN_TOKEN: {
    doc: "bearer token of the custodian's ingestion clients (and erasure), at least 32 characters",
    shown: "required",
  },
  GATEWAY_LINK_CODE_TOKEN: {
    doc:
      "bearer token of `POST /admin/link-codes` only (the registration desk: link and relink codes), at least 32 " +
      "characters, not the admin token nor the token secret: a leaked ingestion token moves no patient to a new wallet. " +
      "Either static token: after 10 failed attempts a minute from one IP, every static-token request from it is a 429 " +
      "until its bucket refills",
    shown: "required",
  },
  GATEWAY_BODY_LIMIT_BYTES: {
    doc: "maximum request body size, bytes",
    shown: "`1048576` (1 MiB)",
    int: { min: 1024, max: 64 * 1024 * 1024, fallback: 1024 * 1024 },
  },
  GATEWAY_LOG_LEVEL: { doc: `one of ${LOG_LEVELS.join(", ")}`, shown: "`info`" },
} as const satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof VARIABLES;

/** Every variable name the gateway and its commands read, `_FILE` forms included. */
export const KNOWN_VARIABLES: readonly string[] = Object.entries(VARIABLES).flatMap(([name, spec]) =>
  "secretFile" in spec ? [name, `${name}_FILE`] : [name],
);

/** The README's table of variables. */
export function variablesMarkdown(): string {
  const rows = Object.entries(VARIABLES).map(([name, spec]: [string, VariableSpec]) => {
    const names = spec.secretFile ? `\`${name}\` / \`_FILE\`` : `\`${name}\``;
    const range = spec.int && spec.int.max < Number.MAX_SAFE_INTEGER ? `, ${spec.int.min}–${spec.int.max}` : "";
    return `| ${names} | ${spec.shown} | ${spec.doc}${range} |`;
  });
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

export const README = fileURLToPath(new URL("../../README.md", import.meta.url));
export const BEGIN = "<!-- variables: generated by gateway/src/config/variables.ts -->";
export const END = "<!-- end of variables -->";

/** The README's text with its variable table replaced by {@link variablesMarkdown}. */
export function readmeWithVariables(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`the README has no "${BEGIN}" … "${END}" block`);
  return `${readme.slice(0, start + BEGIN.length)}\n${variablesMarkdown()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = readFileSync(README, "utf8");
  const next = readmeWithVariables(text);
  if (process.argv.includes("--write")) writeFileSync(README, next);
  else if (next !== text) {
    process.stderr.write("gateway/README.md's variable table is out of date: run with --write\n");
    process.exitCode = 1;
  }
}
