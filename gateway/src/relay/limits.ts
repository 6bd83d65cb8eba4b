/**
 * Limits on relayed transactions (the gateway pays their gas), kept in the database so that they
 * hold across restarts and across gateway instances sharing one PostgreSQL: at most
 * `perAddressPerHour` relays for one patient address and `globalPerHour` for the whole gateway,
 * over a sliding hour. Counting and recording happen under one table lock, so concurrent
 * relays cannot both take the last slot.
 */
import { and, count, eq, gt, lt, sql } from "drizzle-orm";
import type { Address, Hex } from "viem";
import type { RelayLimitConfig } from "../config/config.ts";
import { tooManyRequests, type OperationOutcomeError } from "../fhir/outcomes.ts";
import type { GatewayDb } from "../store/database.ts";
import { relayUsage } from "../store/schema.ts";

export type RelayAction = "grant" | "revoke" | "revoke-all" | "cancel-signatures" | "join" | "leave";

const HOUR_MS = 3600_000;
/** Rows older than this are swept (they no longer count). */
const KEEP_MS = 2 * 24 * HOUR_MS;

function limited(message: string, retryAfterSeconds: number): OperationOutcomeError {
  return tooManyRequests(message, retryAfterSeconds);
}

/**
 * Counts a relay for `patient` against the limits and records it; throws 429 (with the seconds
 * until a slot frees) when a limit is reached. Returns the record's id (to attach the tx hash).
 */
export async function reserveRelay(
  db: GatewayDb,
  input: { patient: Address; action: RelayAction; now: Date; limits: RelayLimitConfig },
): Promise<number> {
  const patient = input.patient.toLowerCase();
  const since = new Date(input.now.getTime() - HOUR_MS);
  return db.transaction(async (tx) => {
    await tx.execute(sql`LOCK TABLE relay_usage IN SHARE ROW EXCLUSIVE MODE`);
    await tx.delete(relayUsage).where(lt(relayUsage.createdAt, new Date(input.now.getTime() - KEEP_MS)));
    const retryAfter = async (where: ReturnType<typeof and>, limit: number): Promise<number> => {
      // The slot frees when the oldest relay inside the window leaves it.
      const [row] = await tx
        .select({ oldest: sql<Date | string>`min(${relayUsage.createdAt})` })
        .from(relayUsage)
        .where(where);
      const oldest = row?.oldest ? new Date(row.oldest) : input.now;
      return limit === 0 ? 3600 : Math.max(1, Math.ceil((oldest.getTime() + HOUR_MS - input.now.getTime()) / 1000));
    };
    const mine = and(eq(relayUsage.patient, patient), gt(relayUsage.createdAt, since));
    const [perAddress] = await tx.select({ n: count() }).from(relayUsage).where(mine);
    if ((perAddress?.n ?? 0) >= input.limits.perAddressPerHour) {
      throw limited(
        `Relay limit reached for ${input.patient}: at most ${input.limits.perAddressPerHour} relayed transactions per hour`,
        await retryAfter(mine, input.limits.perAddressPerHour),
      );
    }
    const all = and(gt(relayUsage.createdAt, since));
    const [global] = await tx.select({ n: count() }).from(relayUsage).where(all);
    if ((global?.n ?? 0) >= input.limits.globalPerHour) {
      throw limited(
        `This gateway relays at most ${input.limits.globalPerHour} transactions per hour; try again later or send the transaction yourself`,
        await retryAfter(all, input.limits.globalPerHour),
      );
    }
    const [inserted] = await tx
      .insert(relayUsage)
      .values({ patient, action: input.action, createdAt: input.now })
      .returning({ id: relayUsage.id });
    return inserted!.id;
  });
}

/** Attaches the sent transaction's hash to a reserved relay. */
export async function recordRelayTransaction(db: GatewayDb, id: number, hash: Hex): Promise<void> {
  await db.update(relayUsage).set({ txHash: hash }).where(eq(relayUsage.id, id));
}
