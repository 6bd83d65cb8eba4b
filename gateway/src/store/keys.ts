/**
 * The gateway's keys: the master key (adopted by a database's keyring, rotated), the patients' data
 * keys it wraps (created with a Patient's first record, unwrapped for each read) and the research
 * studies' pseudonym keys. The resources they open are store.ts's.
 */
import { and, asc, count, eq, gt, isNull, sql } from "drizzle-orm";
import { badRequest, gone } from "../fhir/outcomes.ts";
import { PATIENT_REFERENCE_ELEMENT, type SupportedResource } from "../fhir/resources.ts";
import {
  decryptRecord,
  encryptRecord,
  fingerprintsEqual,
  generateKey,
  keyFingerprint,
  unwrapDataKey,
  wrapDataKey,
} from "./crypto.ts";
import type { GatewayDb } from "./database.ts";
import { keyring, patientKeys, researchStudies, resources } from "./schema.ts";

const BATCH = 500;

/** Stored bytes that do not decrypt, or a data key wrapped by another master key version. */
export class StoreIntegrityError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreIntegrityError";
  }
}

/** The configured master key is not the one that wraps this database's data keys. */
export class MasterKeyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MasterKeyMismatchError";
  }
}

export interface RotationResult {
  keyVersion: number;
  fingerprint: string;
  /** Patients' data keys re-wrapped. */
  rewrapped: number;
  /** Research studies' pseudonym keys re-wrapped. */
  studyKeys: number;
  /** Patients given a new data key (with {@link RotationOptions.newDataKeys}). */
  newDataKeys: number;
  /** Records re-encrypted under a new data key. */
  reencrypted: number;
}

export interface RotationOptions {
  /**
   * Also replace every patient's data key: each record is decrypted and encrypted again under a
   * new random key, so that a data key that leaked (or a copy of a wrapped key with the old
   * master key) opens nothing. Slower: every record is rewritten, in the same one transaction.
   */
  newDataKeys?: boolean;
}

/** The master key a store holds, and its version in the database's keyring. */
export interface KeyState {
  masterKey: Buffer;
  version: number;
  fingerprint: string;
}

/**
 * The master key `key` as this database's: on a fresh database it becomes version 1; otherwise it
 * must be the key the data keys are wrapped with ({@link MasterKeyMismatchError} if not — the
 * gateway must not start).
 */
export async function adoptMasterKey(db: GatewayDb, key: Uint8Array): Promise<KeyState> {
  const masterKey = Buffer.from(key);
  const fingerprint = keyFingerprint(masterKey);
  const version = await db.transaction(async (tx) => {
    let [row] = await tx.select().from(keyring).where(eq(keyring.id, 1)).for("share");
    if (!row) {
      const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(patientKeys);
      if (n > 0) {
        throw new MasterKeyMismatchError(
          "The keyring is missing but data keys exist: refusing to adopt a master key for them",
        );
      }
      await tx.insert(keyring).values({ id: 1, keyVersion: 1, fingerprint }).onConflictDoNothing();
      [row] = await tx.select().from(keyring).where(eq(keyring.id, 1));
    }
    if (!row) throw new Error("keyring row missing after initialisation");
    if (!fingerprintsEqual(row.fingerprint, fingerprint)) {
      throw new MasterKeyMismatchError(
        `The configured master key (fingerprint ${fingerprint}) is not the one this database's data keys are ` +
          `wrapped with (key version ${row.keyVersion}, fingerprint ${row.fingerprint}). If the key was rotated, configure the new key.`,
      );
    }
    return row.keyVersion;
  });
  return { masterKey, version, fingerprint };
}

/** A patient's data key, unwrapped: only with the master key version that wrapped it. */
export function dataKeyOf(keys: KeyState, patientId: string, wrapped: Buffer, keyVersion: number): Buffer {
  if (keyVersion !== keys.version) {
    throw new StoreIntegrityError(
      `Data key of patient ${patientId} is wrapped by master key version ${keyVersion}, this process holds version ${keys.version}: restart with the current master key`,
    );
  }
  try {
    return unwrapDataKey(keys.masterKey, wrapped, patientId);
  } catch (err) {
    throw new StoreIntegrityError(`Cannot unwrap the data key of patient ${patientId}`, { cause: err });
  }
}

export /** The patient's data key for a write, creating it for a new Patient. Locks the key row (share). */
async function dataKeyForWrite(
  tx: GatewayDb,
  keys: KeyState,
  resource: SupportedResource,
  patientId: string,
): Promise<Buffer> {
  const select = () =>
    tx
      .select({
        wrappedKey: patientKeys.wrappedKey,
        keyVersion: patientKeys.keyVersion,
        erasedAt: patientKeys.erasedAt,
      })
      .from(patientKeys)
      .where(eq(patientKeys.patientId, patientId))
      .for("share");
  let [row] = await select();
  if (!row) {
    if (resource.resourceType !== "Patient") {
      const element = PATIENT_REFERENCE_ELEMENT[resource.resourceType];
      throw badRequest(
        `${resource.resourceType}.${element} references Patient/${patientId}, which this gateway does not hold: ingest the Patient first`,
        `${resource.resourceType}.${element}`,
      );
    }
    // Serialize with rotation: the key is wrapped under the version the keyring says is current.
    const [ring] = await tx.select().from(keyring).where(eq(keyring.id, 1)).for("share");
    if (!ring || ring.keyVersion !== keys.version || !fingerprintsEqual(ring.fingerprint, keys.fingerprint)) {
      throw new StoreIntegrityError(
        "The master key was rotated by another process: restart with the current master key",
      );
    }
    const wrapped = wrapDataKey(keys.masterKey, generateKey(), patientId);
    await tx
      .insert(patientKeys)
      .values({ patientId, wrappedKey: wrapped, keyVersion: keys.version })
      .onConflictDoNothing();
    [row] = await select();
    if (!row) throw new StoreIntegrityError(`Data key of patient ${patientId} vanished`);
  }
  if (row.erasedAt || !row.wrappedKey) throw gone(`Patient/${patientId} has been erased`);
  return dataKeyOf(keys, patientId, row.wrappedKey, row.keyVersion);
}

/**
 * The pseudonym key of a research study ("0x<escrow>:<studyId>"): created (random) on the
 * study's first export, wrapped by the master key, the same for every later export.
 */
export async function studyPseudonymKey(db: GatewayDb, keys: KeyState, study: string, now: Date): Promise<Buffer> {
  const binding = studyKeyBinding(study);
  const read = async () => {
    const [row] = await db
      .select({ wrappedKey: researchStudies.wrappedKey })
      .from(researchStudies)
      .where(eq(researchStudies.study, study));
    return row;
  };
  let row = await read();
  if (!row) {
    await db
      .insert(researchStudies)
      .values({ study, wrappedKey: wrapDataKey(keys.masterKey, generateKey(), binding), createdAt: now })
      .onConflictDoNothing();
    row = await read();
  }
  if (!row) throw new StoreIntegrityError(`The pseudonym key of study ${study} was not stored`);
  try {
    return unwrapDataKey(keys.masterKey, row.wrappedKey, binding);
  } catch (err) {
    throw new StoreIntegrityError(`Cannot unwrap the pseudonym key of study ${study}`, { cause: err });
  }
}

/**
 * Re-wraps every live data key from `oldKey` to `newKey` in one transaction (keyset-paged, so
 * memory stays flat) and bumps the keyring version. Throws if `oldKey` is not the current key,
 * if the keys are equal, or if any data key fails to unwrap (nothing is changed then).
 */
export async function rotateMasterKey(
  db: GatewayDb,
  oldKey: Uint8Array,
  newKey: Uint8Array,
  now: Date = new Date(),
  options: RotationOptions = {},
): Promise<RotationResult> {
  const oldFp = keyFingerprint(oldKey);
  const newFp = keyFingerprint(newKey);
  if (fingerprintsEqual(oldFp, newFp)) throw new Error("The new master key equals the old one");
  return db.transaction(async (tx) => {
    const [ring] = await tx.select().from(keyring).where(eq(keyring.id, 1)).for("update");
    if (!ring) throw new MasterKeyMismatchError("The database has no keyring yet: nothing to rotate");
    if (!fingerprintsEqual(ring.fingerprint, oldFp)) {
      throw new MasterKeyMismatchError(
        `The old key (fingerprint ${oldFp}) is not the current master key (version ${ring.keyVersion}, fingerprint ${ring.fingerprint})`,
      );
    }
    const version = ring.keyVersion + 1;
    let rewrapped = 0;
    let newDataKeys = 0;
    let reencrypted = 0;
    let after = "";
    for (;;) {
      const rows = await tx
        .select({
          patientId: patientKeys.patientId,
          wrappedKey: patientKeys.wrappedKey,
          keyVersion: patientKeys.keyVersion,
        })
        .from(patientKeys)
        .where(and(isNull(patientKeys.erasedAt), gt(patientKeys.patientId, after)))
        .orderBy(asc(patientKeys.patientId))
        .limit(BATCH)
        .for("update");
      if (rows.length === 0) break;
      for (const row of rows) {
        if (!row.wrappedKey) continue;
        if (row.keyVersion !== ring.keyVersion) {
          throw new StoreIntegrityError(
            `Data key of patient ${row.patientId} has key version ${row.keyVersion}, expected ${ring.keyVersion}`,
          );
        }
        let dataKey: Buffer;
        try {
          dataKey = unwrapDataKey(oldKey, row.wrappedKey, row.patientId);
        } catch (err) {
          throw new StoreIntegrityError(`Cannot unwrap the data key of patient ${row.patientId}`, { cause: err });
        }
        if (options.newDataKeys) {
          // A new data key: every record of the patient decrypted under the old one and encrypted
          // again under the new one (same AAD), so the old data key opens nothing any more.
          const fresh = generateKey();
          const records = await tx
            .select({
              resourceType: resources.resourceType,
              id: resources.id,
              version: resources.version,
              ciphertext: resources.ciphertext,
              iv: resources.iv,
              authTag: resources.authTag,
            })
            .from(resources)
            .where(eq(resources.patientId, row.patientId))
            .for("update");
          for (const record of records) {
            const binding = {
              resourceType: record.resourceType,
              id: record.id,
              version: record.version,
              patientId: row.patientId,
            };
            let plaintext: Buffer;
            try {
              plaintext = decryptRecord(dataKey, record, binding);
            } catch (err) {
              throw new StoreIntegrityError(`${record.resourceType}/${record.id} does not decrypt`, { cause: err });
            }
            const sealed = encryptRecord(fresh, plaintext, binding);
            await tx
              .update(resources)
              .set({ ciphertext: sealed.ciphertext, iv: sealed.iv, authTag: sealed.authTag })
              .where(and(eq(resources.resourceType, record.resourceType), eq(resources.id, record.id)));
            reencrypted++;
          }
          dataKey = fresh;
          newDataKeys++;
        }
        await tx
          .update(patientKeys)
          .set({ wrappedKey: wrapDataKey(newKey, dataKey, row.patientId), keyVersion: version })
          .where(eq(patientKeys.patientId, row.patientId));
        rewrapped++;
      }
      after = rows[rows.length - 1]!.patientId;
    }
    // Research studies' pseudonym keys: few, re-wrapped at once.
    let studyKeys = 0;
    const studies = await tx.select().from(researchStudies).for("update");
    for (const row of studies) {
      const binding = studyKeyBinding(row.study);
      let key: Buffer;
      try {
        key = unwrapDataKey(oldKey, row.wrappedKey, binding);
      } catch (err) {
        throw new StoreIntegrityError(`Cannot unwrap the pseudonym key of study ${row.study}`, { cause: err });
      }
      await tx
        .update(researchStudies)
        .set({ wrappedKey: wrapDataKey(newKey, key, binding) })
        .where(eq(researchStudies.study, row.study));
      studyKeys++;
    }
    // Erased rows carry no key; move their version along so every row names the current version.
    await tx
      .update(patientKeys)
      .set({ keyVersion: version })
      .where(sql`${patientKeys.erasedAt} IS NOT NULL`);
    await tx.update(keyring).set({ keyVersion: version, fingerprint: newFp, rotatedAt: now }).where(eq(keyring.id, 1));
    return { keyVersion: version, fingerprint: newFp, rewrapped, studyKeys, newDataKeys, reencrypted };
  });
}

/** What a study's wrapped pseudonym key is bound to (a patient id never contains ":"). */
function studyKeyBinding(study: string): string {
  return `research-study:${study}`;
}
