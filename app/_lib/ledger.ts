/**
 * Reading the ledger, thin over wagmi and the indexer's lists (./history.ts): the chain's reads,
 * refreshing every read when a block arrives, the organizations of the registry and the
 * custodians among them that publish a gateway, and the patient's lists (grants, delegates, the
 * patients an account acts for, open emergency access). Each list carries `lag` when the indexer
 * is behind the chain; after the user's own transaction it is read again once the indexer has
 * reached its block.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo } from "react";
import { type Address, type Chain, type Client, type PublicActions, type Transport, isAddressEqual } from "viem";
import {
  estimateContractGas,
  getBalance,
  getBlock,
  getBlockNumber,
  getContractEvents,
  getGasPrice,
  readContract,
} from "viem/actions";
import { useBlockNumber, useClient } from "wagmi";

import {
  type DelegateEntry,
  type EmergencyEntry,
  type Organization,
  type PatientGrants,
  findOrganization,
} from "#sdk/ledger.ts";
import { gatewayOrigin } from "./gateway.ts";
import { LEDGER_KEY, useHistory } from "./history.ts";
import { appChain, registryAddress } from "./wagmi.ts";

export { LEDGER_KEY };

/**
 * Re-reads every ledger query when a new block arrives (a local chain mines on each transaction);
 * the block watched is also the "latest" a list from the indexer compares itself with.
 */
export function useRefreshOnNewBlock(): void {
  const queryClient = useQueryClient();
  const { data: blockNumber } = useBlockNumber({ watch: true, chainId: appChain.id });
  useEffect(() => {
    if (blockNumber !== undefined) void queryClient.invalidateQueries({ queryKey: [LEDGER_KEY] });
  }, [blockNumber, queryClient]);
}

/** The reads the app makes: the sdk's (`ChainReader`) and a join's fee estimate. */
export type LedgerClient<C extends Chain = Chain> = Pick<
  PublicActions<Transport, C>,
  | "readContract"
  | "getContractEvents"
  | "getBlock"
  | "getBlockNumber"
  | "estimateContractGas"
  | "getGasPrice"
  | "getBalance"
>;

/**
 * Only the reads the app makes, bound to `client`. wagmi's `usePublicClient` would extend the
 * client with every public action viem has (ENS, multicall, signature checks that bring secp256k1,
 * …): about 40 kB gzip in the first load of every page, none of it used.
 */
function ledgerActions<C extends Chain>(client: Client<Transport, C>): LedgerClient<C> {
  return {
    readContract: (args) => readContract(client, args),
    getContractEvents: (args) => getContractEvents(client, args),
    getBlock: (args) => getBlock(client, args),
    getBlockNumber: (args) => getBlockNumber(client, args),
    // As viem's own publicActions: its chain parameter does not narrow through the generic here.
    estimateContractGas: (args) => estimateContractGas(client, args as never),
    getGasPrice: () => getGasPrice(client),
    getBalance: (args) => getBalance(client, args),
  };
}

/** The app's chain, for reads (reads never go through the wallet). */
export function useLedgerClient() {
  const client = useClient({ chainId: appChain.id });
  return useMemo(() => (client ? ledgerActions(client) : undefined), [client]);
}

/** The organizations of the registry (from the indexer), with a lookup by address. */
export function useOrganizations() {
  const query = useHistory<Organization[]>("organizations", registryAddress ? {} : null);
  const organizations = useMemo(() => query.data ?? [], [query.data]);
  const nameOf = useCallback((address: Address) => findOrganization(organizations, address)?.name, [organizations]);
  return { ...query, organizations, nameOf };
}

/** A custodian whose gateway the browser can talk to (sign in, read records, relay). */
export interface Custodian {
  address: Address;
  name: string;
  /** The gateway's origin: its auth, relay and research routes live there. */
  origin: string;
  /** The path of its FHIR base on that origin, without a trailing slash ("/fhir"). */
  fhirPath: string;
}

/** The active custodians (healthcare providers) that publish a gateway on-chain, optionally only those in `among`. */
export function useCustodians(among?: readonly Address[]) {
  const { organizations, isLoading } = useOrganizations();
  const custodians = useMemo(
    () =>
      organizations.flatMap((o): Custodian[] => {
        const origin = gatewayOrigin(o.gatewayUrl);
        if (o.kind !== "PROVIDER" || !o.active || origin === null) return [];
        if (among && !among.some((a) => isAddressEqual(a, o.address))) return [];
        return [
          { address: o.address, name: o.name, origin, fhirPath: new URL(o.gatewayUrl).pathname.replace(/\/+$/, "") },
        ];
      }),
    [organizations, among],
  );
  return { custodians, isLoading };
}

const by = (name: string, account: Address | undefined) => (registryAddress && account ? { [name]: account } : null);

/** The patient's grants, each with its history, as the indexer had them at its block's time. */
export const usePatientGrants = (patient: Address | undefined) =>
  useHistory<PatientGrants>("grants", by("patient", patient));

export const useDelegates = (patient: Address | undefined) =>
  useHistory<DelegateEntry[]>("delegates", by("patient", patient));

export const usePatientsActedFor = (delegate: Address | undefined) =>
  useHistory<DelegateEntry[]>("acting-for", by("delegate", delegate));

export const useOpenEmergencies = (patient: Address | undefined) =>
  useHistory<EmergencyEntry[]>("emergencies", by("patient", patient));
