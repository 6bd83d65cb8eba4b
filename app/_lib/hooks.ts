/**
 * Hooks every console shares, thin over wagmi: the clock, the organizations of the registry,
 * refreshing reads when a block arrives, and the life of one contract transaction
 * (validate → [sign a permit or a relayed action] → simulate → sign → pending → confirmed | failed)
 * with reverts in plain words.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from "react";
import type { Abi, Address, ContractFunctionArgs, ContractFunctionName, Hash } from "viem";
import { useBlockNumber, useConfig, useConnection, usePublicClient } from "wagmi";
import { simulateContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";

import { explainTransactionError } from "#sdk/errors.ts";
import { consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { type Organization, findOrganization } from "#sdk/ledger.ts";
import { formatDateTime, nowSeconds } from "./format.ts";
import { LEDGER_KEY, refreshWhenIndexed, useHistory } from "./history.ts";
import { appChain, registryAddress } from "./wagmi.ts";

export { LEDGER_KEY };

const noop = () => () => {};
/** False during the server render and hydration, true after: for what only the browser knows. */
export function useMounted(): boolean {
  return useSyncExternalStore(
    noop,
    () => true,
    () => false,
  );
}

/** Unix seconds, ticking every `everyMs`: grant states change with time, not only with blocks. */
export function useNow(everyMs = 15_000): number {
  const [now, setNow] = useState(nowSeconds);
  useEffect(() => {
    const id = setInterval(() => setNow(nowSeconds()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

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

/** The public client of the app's chain (reads never go through the wallet). */
export function useLedgerClient() {
  return usePublicClient({ chainId: appChain.id });
}

/** The organizations of the registry (from the indexer), with a lookup by address. */
export function useOrganizations() {
  const query = useHistory<Organization[]>("organizations", registryAddress ? {} : null);
  const organizations = useMemo(() => query.data ?? [], [query.data]);
  const nameOf = useCallback((address: Address) => findOrganization(organizations, address)?.name, [organizations]);
  return { ...query, organizations, nameOf };
}

export type TxStatus =
  | { phase: "idle" }
  | { phase: "checking" }
  | { phase: "signing"; what?: string }
  | { phase: "pending"; hash: Hash }
  | { phase: "confirmed"; hash: Hash }
  | { phase: "failed"; message: string; hash?: Hash };

type RegistryAbi = typeof consentRegistryAbi;
type WriteName = ContractFunctionName<RegistryAbi, "nonpayable">;

/** One contract call, for `useTx().run` (typed at the call site with `call(...)`). */
export interface ContractCall {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

/** A typed `ContractCall`: the ABI's function name and arguments are checked where it is written. */
export function call<const A extends Abi, const F extends ContractFunctionName<A, "nonpayable">>(
  address: Address,
  abi: A,
  functionName: F,
  args: ContractFunctionArgs<A, "nonpayable", F>,
): ContractCall {
  return { address, abi, functionName, args: args as readonly unknown[] };
}

/** What a step before the transaction may report: it is asking the wallet for a signature. */
export type Step = (status: { phase: "signing"; what?: string } | { phase: "checking" }) => void;

/**
 * The outcome of a prepared action: a contract call to simulate, sign and send from the connected
 * account, or a transaction a relayer already sent (a gasless action), to wait for.
 */
export type Prepared = ContractCall | { relayed: Hash };

/** Every contract a console writes to: their errors are explained in one sentence. */
const ERROR_ABIS: readonly Abi[] = [consentRegistryAbi, studyEscrowAbi, remunerationTokenAbi];

/**
 * One transaction at a time, on any Consentry contract: simulate first (a revert is explained
 * before the wallet is even asked), then sign and send, then wait for the receipt. `run` takes a
 * preparation that may ask for signatures first (a permit, a relayed action). Resolves true when
 * mined successfully. Names addresses in error sentences by their organization.
 */
export function useTx() {
  const config = useConfig();
  const queryClient = useQueryClient();
  const { address } = useConnection();
  const { nameOf } = useOrganizations();
  const [status, setStatus] = useState<TxStatus>({ phase: "idle" });

  const explain = useCallback(
    (error: unknown) => {
      const sentence = explainTransactionError(error, {
        nameOf: (a) => (address && a.toLowerCase() === address.toLowerCase() ? "your account" : nameOf(a)),
        formatTime: formatDateTime,
        abis: ERROR_ABIS,
      });
      return sentence.charAt(0).toUpperCase() + sentence.slice(1);
    },
    [address, nameOf],
  );

  const run = useCallback(
    async (prepare: (step: Step) => Promise<Prepared> | Prepared): Promise<boolean> => {
      if (!registryAddress || !address) {
        setStatus({ phase: "failed", message: "Connect your wallet first." });
        return false;
      }
      let hash: Hash | undefined;
      try {
        setStatus({ phase: "checking" });
        const prepared = await prepare(setStatus);
        if ("relayed" in prepared) {
          hash = prepared.relayed;
        } else {
          setStatus({ phase: "checking" });
          const { request } = await simulateContract(config, {
            ...prepared,
            account: address,
            chainId: appChain.id,
          } as never);
          setStatus({ phase: "signing" });
          hash = await writeContract(config, request as never);
        }
        setStatus({ phase: "pending", hash });
        const receipt = await waitForTransactionReceipt(config, { hash, chainId: appChain.id });
        if (receipt.status !== "success") {
          setStatus({ phase: "failed", message: "The transaction was reverted when it was mined.", hash });
          return false;
        }
        setStatus({ phase: "confirmed", hash });
        // The lists come from the indexer: read them again once it has indexed this block.
        await refreshWhenIndexed(queryClient, receipt.blockNumber);
        return true;
      } catch (error) {
        setStatus({ phase: "failed", message: explain(error), ...(hash ? { hash } : {}) });
        return false;
      }
    },
    [address, config, explain, queryClient],
  );

  // An outcome (confirmed or failed) stays until the next action: nothing clears it on a timer.
  const reset = useCallback(() => setStatus({ phase: "idle" }), []);
  const fail = useCallback((message: string) => setStatus({ phase: "failed", message }), []);
  const busy = status.phase === "checking" || status.phase === "signing" || status.phase === "pending";
  return { status, run, reset, busy, fail };
}

/** `useTx` for the ConsentRegistry: `send("revoke", [grantee, scope])`. */
export function useContractTx() {
  const tx = useTx();
  const { run } = tx;
  const send = useCallback(
    <const F extends WriteName>(functionName: F, args: ContractFunctionArgs<RegistryAbi, "nonpayable", F>) =>
      run(() => call(registryAddress!, consentRegistryAbi, functionName, args as never)),
    [run],
  );
  return { ...tx, send };
}
