/**
 * A patient's grants as FHIR R4 Consent resources, read from the chain at one block by the sdk's
 * ledger reader (readPatientGrants: the registry's events of each of the patient's wallets, with
 * getGrant and patientState for how each stands now) and turned into Consents by the sdk's
 * toFhirConsent, with the Patient they are about as a reference: the same Consents the wallet
 * app exports.
 *
 * With INDEXER_URL set (the gateway's `chain.indexer`), the grants come from the indexer
 * (sdk/history.ts: a table query, whatever the chain's history); without it, from log scans from
 * GATEWAY_EVENTS_FROM_BLOCK, which suit a dev chain and small deployments. Who may see the list is
 * decided on chain at the latest block either way (consent/access.ts), never by the indexer.
 */
import type { Consent } from "@medplum/fhirtypes";
import type { Address, Hex } from "viem";
import { toFhirConsent } from "#sdk/fhir.ts";
import { historyGrantPatient, historyPatientGrants } from "#sdk/history.ts";
import { type LedgerGrant, readPatientGrants, toGrantRecord } from "#sdk/ledger.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import type { BlockRef, GatewayChain } from "../chain/chain.ts";

export { grantUuid } from "#sdk/ledger.ts";

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Every grant of the patient's wallets at the block, newest first. */
export async function readGrants(
  chain: GatewayChain,
  wallets: readonly Address[],
  block: BlockRef,
): Promise<LedgerGrant[]> {
  const indexer = chain.indexer;
  const all = indexer
    ? await Promise.all(wallets.map((patient) => historyPatientGrants(indexer, patient)))
    : await readFromLogs(chain, wallets, block);
  return all
    .flatMap((p) => p.grants)
    .sort((a, b) => (a.grantedAtBlock === b.grantedAtBlock ? 0 : a.grantedAtBlock > b.grantedAtBlock ? -1 : 1));
}

function readFromLogs(chain: GatewayChain, wallets: readonly Address[], block: BlockRef) {
  return chain.read((client) =>
    Promise.all(
      wallets.map((patient) =>
        readPatientGrants(client, {
          registry: chain.consentRegistry,
          patient,
          blockNumber: block.number,
          fromBlock: chain.eventsFromBlock,
        }),
      ),
    ),
  );
}

/** Grants to `organization` only (what a grantee may see of a patient's consents). */
export function grantsTo(grants: readonly LedgerGrant[], organization: Address): LedgerGrant[] {
  return grants.filter((g) => same(g.grantee, organization));
}

/** The grants as Consent resources, with grantee names read at the block. */
export async function toConsents(
  chain: GatewayChain,
  grants: readonly LedgerGrant[],
  block: BlockRef,
  patientId: string,
  /** The gateway's clock (unix seconds). */
  nowSeconds: number,
): Promise<Consent[]> {
  const grantees = [...new Set(grants.map((g) => g.grantee.toLowerCase()))];
  const names = new Map<string, string>();
  await Promise.all(
    grantees.map(async (grantee) => {
      const org = await chain.read((c) =>
        c.readContract({
          address: chain.consentRegistry,
          abi: consentRegistryAbi,
          functionName: "getOrganization",
          args: [grantee as Address],
          blockNumber: block.number,
        }),
      );
      if (org.name) names.set(grantee, org.name);
    }),
  );
  // The later of the chain's and the gateway's clock: a quiet chain does not keep a grant alive.
  const now = Math.max(block.timestamp, nowSeconds);
  return grants.map((grant) => {
    const granteeName = names.get(grant.grantee.toLowerCase());
    const consent = toFhirConsent(
      toGrantRecord(grant, {
        chainId: chain.chainId,
        registry: chain.consentRegistry,
        now,
        ...(granteeName ? { granteeName } : {}),
      }),
    );
    consent.patient = { reference: `Patient/${patientId}`, identifier: consent.patient?.identifier };
    return consent;
  });
}

/** The patient (wallet) of a grant, from its ConsentGranted event up to the block; null when none. */
export async function grantPatient(chain: GatewayChain, grantId: Hex, block: BlockRef): Promise<Address | null> {
  if (chain.indexer) return historyGrantPatient(chain.indexer, grantId);
  const logs = await chain.read((client) =>
    client.getContractEvents({
      address: chain.consentRegistry,
      abi: consentRegistryAbi,
      eventName: "ConsentGranted",
      args: { grantId },
      fromBlock: chain.eventsFromBlock,
      toBlock: block.number,
    }),
  );
  return logs[0]?.args.patient ?? null;
}
