/** Erasure of a patient: the data key destroyed, every tie to a wallet outside the audit log removed. */
import { eq, inArray, sql } from "drizzle-orm";
import { zeroAddress } from "viem";
import { notFound } from "../fhir/outcomes.ts";
import { assertValidId } from "../fhir/resources.ts";
import type { Database } from "./database.ts";
import { linkCodes, patientKeys, patientWallets, relayUsage, researchDeliveries, siweNonces } from "./schema.ts";

export interface ErasureResult {
  patientId: string;
  erasedAt: string;
  /** True when the patient had been erased before this call. */
  alreadyErased: boolean;
  /** The ties to wallets removed by this call (rows). */
  unlinked: { wallets: number; deliveries: number; relays: number; nonces: number };
}

/**
 * Erases a patient: destroys their data key (every record of theirs becomes unreadable, and
 * reads say `erased`), keeps the fact (erased_at), and removes every tie between the patient and
 * a wallet outside the audit log: the wallet links and link codes, the research deliveries (wallet
 * and Patient id), the relays of the patient's wallets (their address and transaction replaced
 * by the zero address and nothing, so that the global relay limit still counts them) and the SIWE
 * nonces the wallets signed in with (who used them). The patient's wallets are those linked now
 * and those named by its link codes and research deliveries (earlier wallets of a relinked
 * patient). Idempotent: erasing again removes ties left by an older gateway. 404 if the gateway
 * never held the patient. The audit log, append-only and hash-chained, keeps its entries.
 *
 * Copies of the wrapped key may survive in PostgreSQL's dead tuples, WAL and backups; they are
 * useless without the master key, so erasure is complete once the master key in use at the
 * time has been rotated away and destroyed.
 */
export async function erasePatient(database: Database, patientId: string, now: Date): Promise<ErasureResult> {
  assertValidId(patientId);
  const result = await database.db.transaction(async (tx): Promise<ErasureResult> => {
    const [row] = await tx.select().from(patientKeys).where(eq(patientKeys.patientId, patientId)).for("update");
    if (!row) throw notFound(`Patient/${patientId} is not held by this gateway`);
    const wallets = new Set<string>();
    const addressOf = (value: string | null | undefined) => {
      const m = /(0x[0-9a-fA-F]{40})$/.exec(value ?? "");
      if (m) wallets.add(m[1]!.toLowerCase());
    };
    for (const w of await tx
      .select({ did: patientWallets.did })
      .from(patientWallets)
      .where(eq(patientWallets.patientId, patientId)))
      addressOf(w.did);
    for (const c of await tx
      .select({ usedBy: linkCodes.usedBy })
      .from(linkCodes)
      .where(eq(linkCodes.patientId, patientId)))
      addressOf(c.usedBy);
    for (const d of await tx
      .select({ patient: researchDeliveries.patient })
      .from(researchDeliveries)
      .where(eq(researchDeliveries.patientId, patientId)))
      addressOf(d.patient);
    const alreadyErased = row.erasedAt !== null;
    const erasedAt = row.erasedAt ?? now;
    if (!alreadyErased) {
      await tx.update(patientKeys).set({ wrappedKey: null, erasedAt: now }).where(eq(patientKeys.patientId, patientId));
    }
    // link_codes and patient_wallets reference patient_keys ON DELETE CASCADE, but the key row
    // is kept (the fact of erasure), so remove them explicitly.
    await tx.delete(linkCodes).where(eq(linkCodes.patientId, patientId));
    const unlinkedWallets = (await tx.delete(patientWallets).where(eq(patientWallets.patientId, patientId)).returning())
      .length;
    const deliveries = (
      await tx.delete(researchDeliveries).where(eq(researchDeliveries.patientId, patientId)).returning()
    ).length;
    const addresses = [...wallets];
    const relays =
      addresses.length === 0
        ? 0
        : (
            await tx
              .update(relayUsage)
              .set({ patient: zeroAddress, txHash: null })
              .where(inArray(relayUsage.patient, addresses))
              .returning({ id: relayUsage.id })
          ).length;
    const nonces =
      addresses.length === 0
        ? 0
        : (
            await tx
              .update(siweNonces)
              .set({ usedBy: null })
              .where(inArray(siweNonces.usedBy, addresses))
              .returning({ nonce: siweNonces.nonce })
          ).length;
    return {
      patientId,
      erasedAt: erasedAt.toISOString(),
      alreadyErased,
      unlinked: { wallets: unlinkedWallets, deliveries, relays, nonces },
    };
  });
  if (!result.alreadyErased) {
    // Reclaim the dead tuples that still hold the wrapped key and the links (best effort; see above).
    for (const table of ["patient_keys", "patient_wallets", "research_deliveries", "relay_usage", "siwe_nonces"]) {
      try {
        await database.db.execute(sql.raw(database.kind === "pglite" ? `VACUUM FULL ${table}` : `VACUUM ${table}`));
      } catch (err) {
        process.emitWarning(`VACUUM ${table} after erasure failed: ${(err as Error).message}`);
      }
    }
  }
  return result;
}
