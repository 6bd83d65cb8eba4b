/**
 * Verifies a gateway's audit log: recomputes the hash chain from every stored event and every
 * Merkle root the custodian anchored on-chain (AuditAnchor.batchAt, cross-checked with the
 * AuditBatchAnchored events), and reports any tampering.
 *
 *   node gateway/src/cli/audit-verify.ts [--json]        (npm run audit:verify)
 *
 * Reads DATABASE_URL or GATEWAY_DATA_DIR, RPC_URL, CHAIN_ID, CUSTODIAN_ADDRESS and
 * AUDIT_ANCHOR_ADDRESS (default: the sdk's deployment for the chain); no master key is needed.
 * A PGlite data directory must not be open in a running gateway (stop it first, or verify a copy).
 * Exit status: 0 intact, 1 tampering found, 64 usage, 69 database or chain unreachable, 78 configuration.
 */
import { createPublicClient, type PublicClient, type Transport } from "viem";
import { verifyAudit, type AuditVerification } from "../audit/verify.ts";
import { transportFor } from "../chain/chain.ts";
import { ConfigError, loadAuditVerifyConfig, type Env, databaseOptions } from "../config/config.ts";
import { openDatabase as openRealDatabase, type Database, type DatabaseOptions } from "../store/database.ts";

export interface AuditVerifyDeps {
  openDatabase?: (options: DatabaseOptions) => Promise<Database>;
  /** How to reach the chain (tests: an in-process node); default: the transport for RPC_URL. */
  transport?: Transport;
}

const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

export async function runAuditVerify(
  env: Env,
  argv: readonly string[],
  out: (line: string) => void,
  deps: AuditVerifyDeps = {},
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    out("usage: node gateway/src/cli/audit-verify.ts [--json]   (settings from the environment; see the file header)");
    return 0;
  }
  const unknown = argv.filter((a) => a !== "--json");
  if (unknown.length > 0) {
    out(`audit-verify: unknown argument ${unknown[0]}`);
    return 64;
  }
  const asJson = argv.includes("--json");
  let config;
  try {
    config = loadAuditVerifyConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      out(err.message);
      return 78;
    }
    throw err;
  }
  const client = createPublicClient({
    transport: deps.transport ?? transportFor(config.rpcUrl.reveal()),
  }) as PublicClient;
  let database: Database;
  try {
    database = await (deps.openDatabase ?? openRealDatabase)(databaseOptions(config.database));
  } catch (err) {
    out(`audit-verify: cannot open the database: ${err instanceof Error ? err.message : String(err)}`);
    return 69;
  }
  let result: AuditVerification;
  try {
    let served: number;
    try {
      served = await client.getChainId();
    } catch (err) {
      out(
        `audit-verify: the chain at RPC_URL is unreachable: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
      );
      return 69;
    }
    if (served !== config.chainId) {
      out(`CHAIN_ID: the node at RPC_URL serves chain ${served}, not ${config.chainId}`);
      return 78;
    }
    result = await verifyAudit(database.db, {
      client,
      auditAnchor: config.auditAnchorAddress,
      custodian: config.custodianAddress,
      fromBlock: BigInt(config.eventsFromBlock),
    });
  } finally {
    await database.close();
  }
  if (asJson) {
    out(json(result));
  } else {
    const entries = result.chain.ok ? result.chain.entries : undefined;
    out(
      result.chain.ok
        ? `audit log: ${entries} entries, hash chain intact`
        : `audit log: hash chain BROKEN at entry ${result.chain.seq}: ${result.chain.reason}`,
    );
    out(
      `anchored on chain ${config.chainId}: ${result.batches.length} batch(es), entries 1-${result.anchoredThrough}; ${result.unanchored} not anchored yet`,
    );
    for (const b of result.batches) {
      out(
        `  batch ${b.index} (entries ${b.first}-${b.last}, root ${b.root}${b.supersededRoots ? `, superseding ${b.supersededRoots.join(", ")}` : ""}): ${b.ok ? "ok" : `MISMATCH: ${b.problem}`}`,
      );
    }
    if (result.ok) out("OK: the audit log matches its hash chain and every anchored root");
    else for (const p of result.problems) out(`TAMPERED: ${p}`);
  }
  return result.ok ? 0 : 1;
}

if (import.meta.main) {
  runAuditVerify(process.env, process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`audit-verify failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(70);
    },
  );
}
