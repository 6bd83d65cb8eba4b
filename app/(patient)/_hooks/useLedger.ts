/**
 * The patient's ledger, read through wagmi's public client: grants, delegates, the patients this
 * account acts for and open emergency access. Reads are refreshed by `useRefreshOnNewBlock`.
 */
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";

import { readDelegates, readOpenEmergencies, readPatientGrants, readPatientsActedFor } from "#sdk/ledger.ts";
import { LEDGER_KEY, useLedgerClient } from "../../_lib/hooks.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

function useLedgerQuery<T>(
  name: string,
  account: Address | undefined,
  read: (client: NonNullable<ReturnType<typeof useLedgerClient>>, registry: Address, account: Address) => Promise<T>,
) {
  const client = useLedgerClient();
  return useQuery({
    queryKey: [LEDGER_KEY, name, registryAddress, account],
    queryFn: () => read(client!, registryAddress!, account!),
    enabled: !!client && !!registryAddress && !!account,
  });
}

export const usePatientGrants = (patient: Address | undefined) =>
  useLedgerQuery("grants", patient, (client, registry, a) => readPatientGrants(client, { registry, patient: a }));

export const useDelegates = (patient: Address | undefined) =>
  useLedgerQuery("delegates", patient, (client, registry, a) => readDelegates(client, { registry, patient: a }));

export const usePatientsActedFor = (delegate: Address | undefined) =>
  useLedgerQuery("acting-for", delegate, (client, registry, a) =>
    readPatientsActedFor(client, { registry, delegate: a }),
  );

export const useOpenEmergencies = (patient: Address | undefined) =>
  useLedgerQuery("emergencies", patient, (client, registry, a) =>
    readOpenEmergencies(client, { registry, patient: a }),
  );
