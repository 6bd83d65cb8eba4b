/**
 * Erases a patient from the command line, as `POST /admin/patients/{id}/$erase` does over HTTP
 * (Store.erasePatient: the data key destroyed, every tie between the patient and a wallet outside
 * the audit log removed), and appends the erasure to the audit log. The database and master key
 * come from the environment, as for the gateway:
 *
 *   node gateway/src/cli/erase-patient.ts <patientId>
 *
 * Prints one JSON line; exit 0 when erased (or already erased), 1 when the patient is not held
 * here, 64 on bad usage, 78 on bad configuration. Then rotate the master key (rotate-key.ts) and
 * destroy the old one: that completes the erasure in backups and WAL.
 */
import { appendAudit } from "../audit/log.ts";
import { buildAuditEvent } from "../audit/events.ts";
import { ConfigError, loadStorageConfig, type Env, databaseOptions } from "../config/config.ts";
import { OperationOutcomeError } from "../fhir/outcomes.ts";
import { isValidId } from "../fhir/resources.ts";
import { openDatabase as openRealDatabase, type Database, type DatabaseOptions } from "../store/database.ts";
import { Store } from "../store/store.ts";

export async function runErasePatient(
  env: Env,
  argv: readonly string[],
  out: (line: string) => void,
  openDatabase: (options: DatabaseOptions) => Promise<Database> = openRealDatabase,
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    out("usage: node gateway/src/cli/erase-patient.ts <patientId>   (database and master key from the environment)");
    return 0;
  }
  if (argv.length !== 1 || !isValidId(argv[0])) {
    out("erase-patient takes one argument: the Patient id (1-64 characters of A-Z a-z 0-9 - .)");
    return 64; // EX_USAGE
  }
  const patientId = argv[0];
  let storage;
  try {
    storage = loadStorageConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      out(err.message);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  const database = await openDatabase(databaseOptions(storage.database));
  try {
    const store = await Store.open({ database, masterKey: storage.masterKey.reveal() });
    let result;
    try {
      result = await store.erasePatient(patientId);
    } catch (err) {
      if (err instanceof OperationOutcomeError && err.status === 404) {
        out(JSON.stringify({ erased: false, patientId, reason: "not held by this gateway" }));
        return 1;
      }
      throw err;
    }
    const u = result.unlinked;
    await appendAudit(
      store.db,
      buildAuditEvent({
        interaction: "operation",
        operation: "erase-patient",
        outcome: "success",
        outcomeDesc: `${result.alreadyErased ? "already erased; " : ""}unlinked: ${u.wallets} wallet(s), ${u.deliveries} research delivery(ies), ${u.relays} relay(s), ${u.nonces} sign-in nonce(s)`,
        recorded: store.now(),
        agent: { kind: "dataCollector", display: "erase-patient command line" },
        patientId,
        resource: { type: "Patient", id: patientId },
        source: { observer: `${env["GATEWAY_CUSTODIAN_NAME"] ?? "custodian"} gateway (erase-patient command line)` },
      }),
    );
    out(JSON.stringify({ erased: true, database: database.description, ...result }));
    return 0;
  } finally {
    await database.close();
  }
}

if (import.meta.main) {
  runErasePatient(process.env, process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`erase-patient failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
