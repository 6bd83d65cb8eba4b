/**
 * Rotates the gateway master key: re-wraps every patient data key from the current key to a new
 * one in a single transaction. Keys are read from the environment or files, never from argv
 * (argv is visible to every user of the machine through ps):
 *
 *   GATEWAY_MASTER_KEY      or GATEWAY_MASTER_KEY_FILE       the current key (64 hex characters)
 *   GATEWAY_NEW_MASTER_KEY  or GATEWAY_NEW_MASTER_KEY_FILE   the new key (e.g. `openssl rand -hex 32`)
 *   DATABASE_URL            or GATEWAY_DATA_DIR              the database, as for the gateway
 *
 *   node gateway/src/cli/rotate-key.ts [--new-data-keys]
 *
 * `--new-data-keys` also replaces every patient's data key: each record is decrypted and encrypted
 * again under a new random key (slower: every record is rewritten), so a data key that leaked, or a
 * copy of a wrapped key together with the old master key, opens nothing any more.
 *
 * Stop the gateway (PGlite allows one process) or, on PostgreSQL, restart every gateway
 * instance with the new key afterwards: instances still holding the old key refuse to create
 * new data keys. Then destroy the old key; that also completes earlier erasures (see
 * Store.erasePatient).
 */
import { ConfigError, loadNewMasterKey, loadStorageConfig, type Env, databaseOptions } from "../config/config.ts";
import { openDatabase as openRealDatabase, type Database, type DatabaseOptions } from "../store/database.ts";
import { Store } from "../store/store.ts";

export async function runRotateKey(
  env: Env,
  argv: readonly string[],
  out: (line: string) => void,
  openDatabase: (options: DatabaseOptions) => Promise<Database> = openRealDatabase,
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    out(
      "usage: node gateway/src/cli/rotate-key.ts [--new-data-keys]   (keys and database from the environment; see the file header)",
    );
    return 0;
  }
  const newDataKeys = argv.includes("--new-data-keys");
  if (argv.some((a) => a !== "--new-data-keys")) {
    out(
      "rotate-key takes no arguments but --new-data-keys: keys are read from GATEWAY_MASTER_KEY[_FILE] and GATEWAY_NEW_MASTER_KEY[_FILE]",
    );
    return 64; // EX_USAGE
  }
  let storage;
  let newKey;
  try {
    storage = loadStorageConfig(env);
    newKey = loadNewMasterKey(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      out(err.message);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  const database = await openDatabase(databaseOptions(storage.database));
  try {
    const oldKey = storage.masterKey.reveal();
    const store = await Store.open({ database, masterKey: oldKey });
    const result = await store.rotateMasterKey(oldKey, newKey.reveal(), { newDataKeys });
    out(
      JSON.stringify({
        rotated: true,
        database: database.description,
        keyVersion: result.keyVersion,
        fingerprint: result.fingerprint,
        rewrappedDataKeys: result.rewrapped,
        rewrappedStudyKeys: result.studyKeys,
        newDataKeys: result.newDataKeys,
        reencryptedRecords: result.reencrypted,
      }),
    );
    return 0;
  } finally {
    await database.close();
  }
}

if (import.meta.main) {
  runRotateKey(process.env, process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`rotate-key failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
