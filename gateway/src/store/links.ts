/**
 * Tying a Patient to a wallet: the custodian hands the patient a one-time link code (only its
 * sha256 is stored, with an expiry); the patient redeems it signed in with a wallet, which
 * records `did:pkh:eip155:{chainId}:{address}` → patient id.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { createHash, randomBytes } from "node:crypto";
import { getAddress, isAddress } from "viem";
import { badRequest, conflict, gone, notFound } from "../fhir/outcomes.ts";
import { assertValidId } from "../fhir/resources.ts";
import type { GatewayDb } from "./database.ts";
import { linkCodes, patientKeys, patientWallets } from "./schema.ts";

/** Crockford base32 without I, L, O, U: unambiguous when read aloud or typed. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** 25 characters × 5 bits = 125 bits of entropy: unguessable, so a fast hash is enough. */
const CODE_LENGTH = 25;
export const DEFAULT_LINK_CODE_TTL_SECONDS = 15 * 60;
export const MAX_LINK_CODE_TTL_SECONDS = 7 * 24 * 60 * 60;

export interface LinkCode {
  /** Shown to the patient once; never stored. Groups of five separated by "-". */
  code: string;
  patientId: string;
  expiresAt: Date;
}

function generateCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out.match(/.{5}/g)!.join("-");
}

/** Upper-cases, drops separators and whitespace, maps look-alikes (O→0, I/L→1). */
export function normalizeLinkCode(code: string): string {
  return code
    .toUpperCase()
    .replace(/[\s-]/g, "")
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
}

export function hashLinkCode(code: string): string {
  return createHash("sha256").update(normalizeLinkCode(code), "utf8").digest("hex");
}

/**
 * Validates a did:pkh for an EVM account and returns it with the address EIP-55 checksummed.
 * Throws a 400 OperationOutcomeError otherwise.
 */
export function normalizeDidPkh(did: string): string {
  const m = /^did:pkh:eip155:([1-9][0-9]{0,19}):(0x[0-9a-fA-F]{40})$/.exec(did);
  if (!m || !isAddress(m[2]!, { strict: true })) {
    throw badRequest("Expected a wallet as did:pkh:eip155:{chainId}:{0x address} (EIP-55 checksum if mixed case)");
  }
  return `did:pkh:eip155:${m[1]}:${getAddress(m[2]!)}`;
}

async function requireActivePatient(db: GatewayDb, patientId: string): Promise<void> {
  const [row] = await db
    .select({ erasedAt: patientKeys.erasedAt })
    .from(patientKeys)
    .where(eq(patientKeys.patientId, patientId))
    .for("share");
  if (!row) throw notFound(`Patient/${patientId} is not held by this gateway`);
  if (row.erasedAt) throw gone(`Patient/${patientId} has been erased`);
}

export async function createLinkCode(
  db: GatewayDb,
  patientId: string,
  options: { ttlSeconds?: number; now: Date },
): Promise<LinkCode> {
  assertValidId(patientId);
  const ttl = options.ttlSeconds ?? DEFAULT_LINK_CODE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LINK_CODE_TTL_SECONDS) {
    throw badRequest(`Link code lifetime must be 1..${MAX_LINK_CODE_TTL_SECONDS} seconds`);
  }
  const code = generateCode();
  const expiresAt = new Date(options.now.getTime() + ttl * 1000);
  await db.transaction(async (tx) => {
    await requireActivePatient(tx, patientId);
    await tx.insert(linkCodes).values({ codeHash: hashLinkCode(code), patientId, createdAt: options.now, expiresAt });
  });
  return { code, patientId, expiresAt };
}

/**
 * Redeems a link code for a wallet: single use (atomic), before its expiry. The same message for
 * an unknown, used or expired code, so that redemption is no oracle. Linking a wallet that already
 * belongs to another patient is a 409; re-linking to the same patient is a no-op.
 */
export async function redeemLinkCode(
  db: GatewayDb,
  code: string,
  did: string,
  now: Date,
): Promise<{ patientId: string; did: string }> {
  const wallet = normalizeDidPkh(did);
  return db.transaction(async (tx) => {
    const [used] = await tx
      .update(linkCodes)
      .set({ usedAt: now, usedBy: wallet })
      .where(and(eq(linkCodes.codeHash, hashLinkCode(code)), isNull(linkCodes.usedAt), gt(linkCodes.expiresAt, now)))
      .returning({ patientId: linkCodes.patientId });
    if (!used) throw badRequest("Invalid, expired or already used link code");
    await requireActivePatient(tx, used.patientId);
    const [existing] = await tx.select().from(patientWallets).where(eq(patientWallets.did, wallet)).for("update");
    if (existing && existing.patientId !== used.patientId) {
      throw conflict("This wallet is already linked to another patient");
    }
    if (!existing) await tx.insert(patientWallets).values({ did: wallet, patientId: used.patientId, linkedAt: now });
    return { patientId: used.patientId, did: wallet };
  });
}

/** The patient a wallet is linked to, if any (erased patients have no wallets). */
export async function findPatientByWallet(db: GatewayDb, did: string): Promise<string | undefined> {
  const [row] = await db
    .select({ patientId: patientWallets.patientId })
    .from(patientWallets)
    .where(eq(patientWallets.did, normalizeDidPkh(did)));
  return row?.patientId;
}

export async function listWallets(db: GatewayDb, patientId: string): Promise<string[]> {
  const rows = await db
    .select({ did: patientWallets.did })
    .from(patientWallets)
    .where(eq(patientWallets.patientId, patientId))
    .orderBy(patientWallets.linkedAt, patientWallets.did);
  return rows.map((r) => r.did);
}
