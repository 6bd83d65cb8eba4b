/**
 * The patient's ledger, read from the indexer through the app's server (app/_lib/history.ts):
 * grants, delegates, the patients this account acts for and open emergency access. Each answer
 * carries `lag` when the indexer is behind the chain. Reads are refreshed by `useRefreshOnNewBlock`
 * and, after the patient's own transaction, once the indexer has reached its block.
 */
import type { Address } from "viem";

import type { DelegateEntry, EmergencyEntry, PatientGrants } from "#sdk/ledger.ts";
import { useHistory } from "../../_lib/history.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

const by = (name: string, account: Address | undefined) => (registryAddress && account ? { [name]: account } : null);

export const usePatientGrants = (patient: Address | undefined) =>
  useHistory<PatientGrants>("grants", by("patient", patient));

export const useDelegates = (patient: Address | undefined) =>
  useHistory<DelegateEntry[]>("delegates", by("patient", patient));

export const usePatientsActedFor = (delegate: Address | undefined) =>
  useHistory<DelegateEntry[]>("acting-for", by("delegate", delegate));

export const useOpenEmergencies = (patient: Address | undefined) =>
  useHistory<EmergencyEntry[]>("emergencies", by("patient", patient));
