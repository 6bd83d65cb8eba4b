/**
 * Encryption at rest.
 *
 * - Every patient has one random 256-bit data key (DEK). Their resources are encrypted with
 *   AES-256-GCM under it: a fresh 96-bit IV per write, a 128-bit tag, and associated data that
 *   binds the ciphertext to its row (type, id, version, patient), so a ciphertext copied onto
 *   another row fails to decrypt instead of yielding someone else's record.
 * - A DEK is stored only wrapped by the gateway master key (AES-256-GCM key wrap with its own
 *   IV, associated data = the patient id): iv (12) || tag (16) || wrapped key (32) = 60 bytes.
 * - Destroying the wrapped DEK is the erasure; re-wrapping every DEK is the master-key rotation.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const WRAPPED_KEY_BYTES = IV_BYTES + TAG_BYTES + KEY_BYTES;

const WRAP_AAD_PREFIX = "consentry/gateway/dek/v1|";
const RECORD_AAD_PREFIX = "consentry/gateway/record/v1|";
const FINGERPRINT_LABEL = "consentry/gateway/master-key-fingerprint/v1";

/** Decryption failed: wrong key, or the stored bytes (or their row binding) were altered. */
export class DecryptionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecryptionError";
  }
}

export interface EncryptedRecord {
  ciphertext: Buffer;
  iv: Buffer;
  authTag: Buffer;
}

/** What a record's ciphertext is bound to (AES-GCM associated data). */
export interface RecordBinding {
  resourceType: string;
  id: string;
  version: number;
  patientId: string;
}

function assertKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new TypeError(`${what} must be ${KEY_BYTES} bytes`);
  }
}

/** Parses a 64-hex-character master key; throws with a reason (never echoing the value). */
export function parseMasterKeyHex(text: string): Buffer {
  const hex = text.trim().replace(/^0x/i, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error(`must be exactly 64 hexadecimal characters (256 bits), got ${hex.length} characters`);
  }
  const key = Buffer.from(hex, "hex");
  if (key.every((b) => b === key[0])) {
    throw new Error("must be random: a key of one repeated byte is refused");
  }
  return key;
}

export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** A stable, non-secret identifier of a master key: HMAC-SHA256(key, label), first 16 bytes, hex. */
export function keyFingerprint(masterKey: Uint8Array): string {
  assertKey(masterKey, "master key");
  return createHmac("sha256", masterKey).update(FINGERPRINT_LABEL).digest("hex").slice(0, 32);
}

export function fingerprintsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

function gcmEncrypt(key: Uint8Array, plaintext: Uint8Array, aad: string): EncryptedRecord {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, iv, authTag: cipher.getAuthTag() };
}

function gcmDecrypt(key: Uint8Array, record: EncryptedRecord, aad: string, what: string): Buffer {
  if (record.iv.length !== IV_BYTES || record.authTag.length !== TAG_BYTES) {
    throw new DecryptionError(`${what}: malformed IV or authentication tag`);
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, record.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(record.authTag);
    return Buffer.concat([decipher.update(record.ciphertext), decipher.final()]);
  } catch (err) {
    throw new DecryptionError(`${what}: authentication failed (wrong key or altered data)`, { cause: err });
  }
}

/** Wraps a patient's data key under the master key, bound to that patient id. */
export function wrapDataKey(masterKey: Uint8Array, dataKey: Uint8Array, patientId: string): Buffer {
  assertKey(masterKey, "master key");
  assertKey(dataKey, "data key");
  const { ciphertext, iv, authTag } = gcmEncrypt(masterKey, dataKey, WRAP_AAD_PREFIX + patientId);
  return Buffer.concat([iv, authTag, ciphertext]);
}

export function unwrapDataKey(masterKey: Uint8Array, wrapped: Uint8Array, patientId: string): Buffer {
  assertKey(masterKey, "master key");
  if (wrapped.length !== WRAPPED_KEY_BYTES) {
    throw new DecryptionError(`wrapped data key of patient ${patientId}: expected ${WRAPPED_KEY_BYTES} bytes`);
  }
  const buf = Buffer.from(wrapped);
  const record = {
    iv: buf.subarray(0, IV_BYTES),
    authTag: buf.subarray(IV_BYTES, IV_BYTES + TAG_BYTES),
    ciphertext: buf.subarray(IV_BYTES + TAG_BYTES),
  };
  const key = gcmDecrypt(masterKey, record, WRAP_AAD_PREFIX + patientId, `data key of patient ${patientId}`);
  if (key.length !== KEY_BYTES) throw new DecryptionError(`data key of patient ${patientId}: wrong length`);
  return key;
}

function recordAad(b: RecordBinding): string {
  // Components are FHIR ids / type names (no "|"), so the join is unambiguous.
  return `${RECORD_AAD_PREFIX}${b.resourceType}|${b.id}|${b.version}|${b.patientId}`;
}

export function encryptRecord(dataKey: Uint8Array, plaintext: Uint8Array, binding: RecordBinding): EncryptedRecord {
  assertKey(dataKey, "data key");
  return gcmEncrypt(dataKey, plaintext, recordAad(binding));
}

export function decryptRecord(dataKey: Uint8Array, record: EncryptedRecord, binding: RecordBinding): Buffer {
  assertKey(dataKey, "data key");
  return gcmDecrypt(dataKey, record, recordAad(binding), `${binding.resourceType}/${binding.id}`);
}
