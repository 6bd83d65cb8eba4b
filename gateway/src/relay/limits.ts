/**
 * Limits on relayed transactions (the gateway pays their gas), kept in the database so that they
 * hold across restarts and across gateway instances sharing one PostgreSQL, over a sliding hour:
 *
 * - at most `perAddressPerHour` relays for one patient address (any action);
 * - the custodian's spend in wei: `weiPerHour` in all, of which `revocationWeiPerHour` is the
 *   revocations' own. A revocation is charged to it first and may also use whatever the others
 *   left; the other relays share `weiPerHour - revocationWeiPerHour` and never touch the
 *   revocations' part, so throw-away relays cannot crowd out a patient's revocation;
 * - at most `globalPerHour` of the other relays (revocations are never refused for this count).
 *
 * A relay is charged the most it can cost (gas limit × max fee per gas) when it is reserved, and
 * what it did cost (gas used × effective gas price) once mined. Counting and recording happen
 * under one table lock, so concurrent relays cannot both take the last slot.
 */
import { and, count, eq, gt, lt, sql } from "drizzle-orm";
import type { Address, Hex } from "viem";
import type { RelayLimitConfig } from "../config/config.ts";
import { tooManyRequests } from "../fhir/outcomes.ts";
import type { GatewayDb } from "../store/database.ts";
import { rawRows } from "../store/database.ts";
import { relayUsage } from "../store/schema.ts";
import type { RelayBudget } from "./actions.ts";

const HOUR_MS = 3600_000;
/** Rows older than this are swept (they no longer count). */
const KEEP_MS = 2 * 24 * HOUR_MS;

/** Wei in words: "0.0123 ETH (12300000000000000 wei)". */
export function weiText(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const fraction = (wei % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "").slice(0, 6);
  return `${whole}${fraction ? `.${fraction}` : ""} ETH (${wei} wei)`;
}

export interface RelaySpend {
  /** Wei charged in the last hour, per budget. */
  revocation: bigint;
  shared: bigint;
  /** Relays in the last hour, per budget. */
  revocations: number;
  others: number;
}

async function spendSince(db: GatewayDb, since: Date): Promise<RelaySpend> {
  const rows = await rawRows<{ budget: string; wei: string; n: string }>(
    db,
    sql`SELECT budget, coalesce(sum(wei), 0)::text AS wei, count(*)::text AS n FROM relay_usage
        WHERE created_at > ${since.toISOString()} GROUP BY budget`,
  );
  const of = (b: RelayBudget) => rows.find((r) => r.budget === b);
  return {
    revocation: BigInt(of("revocation")?.wei ?? 0),
    shared: BigInt(of("shared")?.wei ?? 0),
    revocations: Number(of("revocation")?.n ?? 0),
    others: Number(of("shared")?.n ?? 0),
  };
}

/** What the last hour's relays cost, per budget (the metrics endpoint). */
export function relaySpend(db: GatewayDb, now: Date): Promise<RelaySpend> {
  return spendSince(db, new Date(now.getTime() - HOUR_MS));
}

/**
 * Counts a relay for `patient` against the limits and records it with its most possible cost;
 * throws 429 (with the seconds until a slot frees) when a limit is reached. Returns the record's
 * id (to settle it with the sent transaction) and the hour's spend after it.
 */
export async function reserveRelay(
  db: GatewayDb,
  input: { patient: Address; action: string; budget: RelayBudget; wei: bigint; now: Date; limits: RelayLimitConfig },
): Promise<{ id: number; spend: RelaySpend }> {
  const patient = input.patient.toLowerCase();
  const since = new Date(input.now.getTime() - HOUR_MS);
  const { limits } = input;
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
    if ((perAddress?.n ?? 0) >= limits.perAddressPerHour) {
      throw tooManyRequests(
        `Relay limit reached for ${input.patient}: at most ${limits.perAddressPerHour} relayed transactions per hour`,
        await retryAfter(mine, limits.perAddressPerHour),
      );
    }
    const spend = await spendSince(tx as unknown as GatewayDb, since);
    const sharedPart = limits.weiPerHour - limits.revocationWeiPerHour;
    // Revocations beyond their own part eat into what the others share.
    const overflow =
      spend.revocation > limits.revocationWeiPerHour ? spend.revocation - limits.revocationWeiPerHour : 0n;
    const inWindow = gt(relayUsage.createdAt, since);
    if (input.budget === "revocation") {
      const fits =
        spend.revocation + input.wei <= limits.revocationWeiPerHour ||
        spend.revocation + spend.shared + input.wei <= limits.weiPerHour;
      if (!fits) {
        throw tooManyRequests(
          `This gateway's relay budget for the hour is spent: ${weiText(spend.revocation)} on revocations (their own part: ${weiText(limits.revocationWeiPerHour)}) and ${weiText(spend.shared)} on other relays, of ${weiText(limits.weiPerHour)} per hour in all; send the transaction yourself or try again later`,
          await retryAfter(inWindow, 1),
        );
      }
    } else {
      const others = and(inWindow, eq(relayUsage.budget, "shared"));
      if (spend.shared + overflow + input.wei > sharedPart) {
        throw tooManyRequests(
          `This gateway spends at most ${weiText(sharedPart)} per hour on relays other than revocations (${weiText(spend.shared + overflow)} spent); try again later or send the transaction yourself`,
          await retryAfter(others, 1),
        );
      }
      if (spend.others >= limits.globalPerHour) {
        throw tooManyRequests(
          `This gateway relays at most ${limits.globalPerHour} transactions per hour other than revocations; try again later or send the transaction yourself`,
          await retryAfter(others, limits.globalPerHour),
        );
      }
    }
    const [inserted] = await tx
      .insert(relayUsage)
      .values({ patient, action: input.action, budget: input.budget, wei: input.wei, createdAt: input.now })
      .returning({ id: relayUsage.id });
    if (input.budget === "revocation") {
      spend.revocation += input.wei;
      spend.revocations++;
    } else {
      spend.shared += input.wei;
      spend.others++;
    }
    return { id: inserted!.id, spend };
  });
}

/** Attaches the sent transaction's hash to a reserved relay, with what it cost once known. */
export async function recordRelayTransaction(db: GatewayDb, id: number, hash: Hex, wei?: bigint): Promise<void> {
  await db
    .update(relayUsage)
    .set(wei === undefined ? { txHash: hash } : { txHash: hash, wei })
    .where(eq(relayUsage.id, id));
}

/** A reserved relay that was never sent costs nothing (it still counts against the per-address limit). */
export async function releaseRelay(db: GatewayDb, id: number): Promise<void> {
  await db.update(relayUsage).set({ wei: 0n }).where(eq(relayUsage.id, id));
}
