import { expect } from "chai";
import {
  DecryptionError,
  WRAPPED_KEY_BYTES,
  decryptRecord,
  encryptRecord,
  generateKey,
  keyFingerprint,
  parseMasterKeyHex,
  unwrapDataKey,
  wrapDataKey,
  type RecordBinding,
} from "./crypto.ts";

const binding: RecordBinding = { resourceType: "Observation", id: "obs-1", version: 1, patientId: "p-1" };
const plaintext = Buffer.from(JSON.stringify({ resourceType: "Observation", note: "Zyxwvut family history" }));

describe("crypto", () => {
  it("round-trips a record under AES-256-GCM with a fresh IV each time", () => {
    const key = generateKey();
    const a = encryptRecord(key, plaintext, binding);
    const b = encryptRecord(key, plaintext, binding);
    expect(a.iv.length).to.equal(12);
    expect(a.authTag.length).to.equal(16);
    expect(a.iv.equals(b.iv)).to.equal(false);
    expect(a.ciphertext.equals(b.ciphertext)).to.equal(false);
    expect(a.ciphertext.includes(Buffer.from("Zyxwvut"))).to.equal(false);
    expect(decryptRecord(key, a, binding).equals(plaintext)).to.equal(true);
  });

  it("fails with the wrong key instead of returning garbage", () => {
    const record = encryptRecord(generateKey(), plaintext, binding);
    expect(() => decryptRecord(generateKey(), record, binding)).to.throw(DecryptionError, /authentication failed/);
  });

  it("fails when the ciphertext, tag or row binding is altered", () => {
    const key = generateKey();
    const record = encryptRecord(key, plaintext, binding);
    const flipped = Buffer.from(record.ciphertext);
    flipped[0]! ^= 1;
    expect(() => decryptRecord(key, { ...record, ciphertext: flipped }, binding)).to.throw(DecryptionError);
    const tag = Buffer.from(record.authTag);
    tag[15]! ^= 0x80;
    expect(() => decryptRecord(key, { ...record, authTag: tag }, binding)).to.throw(DecryptionError);
    // Same bytes presented as another row (id, version or patient): refused.
    expect(() => decryptRecord(key, record, { ...binding, id: "obs-2" })).to.throw(DecryptionError);
    expect(() => decryptRecord(key, record, { ...binding, version: 2 })).to.throw(DecryptionError);
    expect(() => decryptRecord(key, record, { ...binding, patientId: "p-2" })).to.throw(DecryptionError);
  });

  it("wraps a data key under the master key, bound to the patient", () => {
    const master = generateKey();
    const dek = generateKey();
    const wrapped = wrapDataKey(master, dek, "p-1");
    expect(wrapped.length).to.equal(WRAPPED_KEY_BYTES);
    expect(wrapped.includes(dek)).to.equal(false);
    expect(unwrapDataKey(master, wrapped, "p-1").equals(dek)).to.equal(true);
    expect(() => unwrapDataKey(generateKey(), wrapped, "p-1")).to.throw(DecryptionError);
    expect(() => unwrapDataKey(master, wrapped, "p-2")).to.throw(DecryptionError);
    expect(() => unwrapDataKey(master, wrapped.subarray(1), "p-1")).to.throw(DecryptionError, /60 bytes/);
  });

  it("fingerprints keys stably without revealing them", () => {
    const key = generateKey();
    expect(keyFingerprint(key)).to.equal(keyFingerprint(Buffer.from(key)));
    expect(keyFingerprint(key)).to.match(/^[0-9a-f]{32}$/);
    expect(keyFingerprint(key)).not.to.equal(keyFingerprint(generateKey()));
    expect(key.toString("hex")).not.to.contain(keyFingerprint(key));
  });

  it("parses hex master keys and rejects malformed or degenerate ones", () => {
    const hex = generateKey().toString("hex");
    expect(parseMasterKeyHex(`0x${hex}\n`).toString("hex")).to.equal(hex);
    expect(() => parseMasterKeyHex(hex.slice(2))).to.throw(/64 hexadecimal/);
    expect(() => parseMasterKeyHex("zz".repeat(32))).to.throw(/64 hexadecimal/);
    expect(() => parseMasterKeyHex("ab".repeat(32))).to.throw(/random/);
  });
});
