/**
 * A patient's grants as FHIR R4 Consent resources: the list from the indexer (INDEXER_URL, the
 * gateway's `chain.indexer`; sdk/history.ts: a table query, whatever the chain's history), turned
 * into Consents by the sdk's toFhirConsent with the grantee names the indexer joins in (a name is
 * shown, never decided on), and the Patient they are about as a reference: the same Consents the wallet app exports.
 *
 * The gateway never scans the chain's logs for a list (public RPCs refuse wide `eth_getLogs`
 * ranges, and the cost would grow with the whole chain's history): without INDEXER_URL, listing
 * answers 503 with an OperationOutcome that says to set it. Who may see the list is decided on
 * chain at the latest block (consent/access.ts), never by the indexer.
 */
import type { Consent } from "@medplum/fhirtypes";
import { type Address, type Hex, isAddressEqual } from "viem";
import { toFhirConsent } from "#sdk/fhir.ts";
import { type IndexerClient, historyGrantPatient, historyPatientCurrentGrants, indexedAt } from "#sdk/history.ts";
import { type CurrentGrant, toGrantRecord } from "#sdk/ledger.ts";
import { serviceUnavailable } from "../fhir/outcomes.ts";
import type { GatewayChain } from "../chain/chain.ts";

export { grantUuid } from "#sdk/ledger.ts";

/** The 503 of a gateway without an indexer: it lists through one, never by scanning logs. */
export const NO_INDEXER =
  "this gateway lists consents through an indexer; set INDEXER_URL (the gateway never scans the chain's logs for a list)";

/**
 * A list read from the indexer: the 503 that says to configure one when there is none, and a 503
 * (not a log scan, not a 500) when it does not answer.
 */
export async function fromIndexer<T>(chain: GatewayChain, read: (indexer: IndexerClient) => Promise<T>): Promise<T> {
  const indexer = chain.indexer;
  if (!indexer) throw serviceUnavailable(NO_INDEXER);
  try {
    return await read(indexer);
  } catch (err) {
    throw serviceUnavailable(`the indexer at ${indexer.url} did not answer (${(err as Error).message.split("\n")[0]})`);
  }
}

/** How long a list that a decision at a block depends on waits for the indexer to reach that block. */
export const INDEXER_WAIT_MS = 5_000;

/**
 * A list read from the indexer once it has indexed `block` (the block a decision is made at), so
 * that what was mined just before is in it: waits up to INDEXER_WAIT_MS, then a 503 saying so.
 */
export async function fromIndexerAt<T>(
  chain: GatewayChain,
  block: bigint,
  read: (indexer: IndexerClient) => Promise<T>,
): Promise<T> {
  return fromIndexer(chain, async (indexer) => {
    const deadline = Date.now() + INDEXER_WAIT_MS;
    while ((await indexedAt(indexer)).blockNumber < block) {
      if (Date.now() > deadline) throw new Error(`it has not reached block ${block} yet`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return read(indexer);
  });
}

/** Where the indexer stood when it answered: its block and that block's time (unix seconds). */
export interface IndexedBlock {
  number: bigint;
  timestamp: number;
}

/**
 * Every grant of the patient's wallets as it stands (a Consent shows no grant's history), as the
 * indexer has them, newest first, with the grantees' registered names, and the block the indexer
 * had reached (the earliest of its answers).
 */
export async function readGrants(
  chain: GatewayChain,
  wallets: readonly Address[],
): Promise<{ grants: CurrentGrant[]; indexed: IndexedBlock }> {
  const all = await fromIndexer(chain, (indexer) =>
    Promise.all(wallets.map((patient) => historyPatientCurrentGrants(indexer, patient))),
  );
  const grants = all
    .flatMap((p) => p.grants)
    .sort((a, b) => (a.grantedAtBlock === b.grantedAtBlock ? 0 : a.grantedAtBlock > b.grantedAtBlock ? -1 : 1));
  const earliest = all.reduce<(typeof all)[number] | undefined>(
    (min, p) => (min === undefined || p.blockNumber < min.blockNumber ? p : min),
    undefined,
  );
  return { grants, indexed: { number: earliest?.blockNumber ?? 0n, timestamp: earliest?.timestamp ?? 0 } };
}

/** Grants to `organization` only (what a grantee may see of a patient's consents). */
export function grantsTo<G extends CurrentGrant>(grants: readonly G[], organization: Address): G[] {
  return grants.filter((g) => isAddressEqual(g.grantee, organization));
}

/**
 * The grants as Consent resources, as of `at` (the block the list or the decision was read at),
 * with the grantee names the indexer gave.
 */
export function toConsents(
  chain: GatewayChain,
  grants: readonly CurrentGrant[],
  at: { timestamp: number },
  patientId: string,
  /** The gateway's clock (unix seconds). */
  nowSeconds: number,
): Consent[] {
  // The later of the chain's and the gateway's clock: a quiet chain does not keep a grant alive.
  const now = Math.max(at.timestamp, nowSeconds);
  return grants.map((grant) => {
    const consent = toFhirConsent(
      toGrantRecord(grant, {
        chainId: chain.chainId,
        registry: chain.consentRegistry,
        now,
        ...(grant.granteeName ? { granteeName: grant.granteeName } : {}),
      }),
    );
    consent.patient = { reference: `Patient/${patientId}`, identifier: consent.patient?.identifier };
    return consent;
  });
}

/** The patient (wallet) of a grant, from the indexer (its ConsentGranted); null when it has none. */
export async function grantPatient(chain: GatewayChain, grantId: Hex): Promise<Address | null> {
  return fromIndexer(chain, (indexer) => historyGrantPatient(indexer, grantId));
}
