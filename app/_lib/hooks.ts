/**
 * Hooks every console shares, thin over wagmi: the clock, the organizations of the registry,
 * refreshing reads when a block arrives, and the life of one contract transaction
 * (validate → simulate → sign → pending → confirmed | failed) with reverts in plain words.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from "react";
import type { Address, ContractFunctionArgs, ContractFunctionName, Hash } from "viem";
import { useBlockNumber, useConfig, useConnection, usePublicClient } from "wagmi";
import { simulateContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";

import { explainTransactionError } from "../../sdk/errors.ts";
import { consentRegistryAbi } from "../../sdk/generated/abis.ts";
import { findOrganization, readOrganizations } from "../../sdk/ledger.ts";
import { formatDateTime, nowSeconds } from "./format.ts";
import { localChain, registryAddress } from "./wagmi.ts";

/** Every ledger query key starts with this, so one invalidation refreshes them all. */
export const LEDGER_KEY = "consentry-ledger";

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

/** Re-reads every ledger query when a new block arrives (a local chain mines on each transaction). */
export function useRefreshOnNewBlock(): void {
  const queryClient = useQueryClient();
  const { data: blockNumber } = useBlockNumber({ watch: true, chainId: localChain.id });
  useEffect(() => {
    if (blockNumber !== undefined) void queryClient.invalidateQueries({ queryKey: [LEDGER_KEY] });
  }, [blockNumber, queryClient]);
}

/** The public client of the app's chain (reads never go through the wallet). */
export function useLedgerClient() {
  return usePublicClient({ chainId: localChain.id });
}

/** The organizations of the registry, with a lookup by address. */
export function useOrganizations() {
  const client = useLedgerClient();
  const query = useQuery({
    queryKey: [LEDGER_KEY, "organizations", registryAddress],
    queryFn: () => readOrganizations(client!, { registry: registryAddress! }),
    enabled: !!client && !!registryAddress,
  });
  const organizations = useMemo(() => query.data ?? [], [query.data]);
  const nameOf = useCallback((address: Address) => findOrganization(organizations, address)?.name, [organizations]);
  return { ...query, organizations, nameOf };
}

export type TxStatus =
  | { phase: "idle" }
  | { phase: "checking" }
  | { phase: "signing" }
  | { phase: "pending"; hash: Hash }
  | { phase: "confirmed"; hash: Hash }
  | { phase: "failed"; message: string; hash?: Hash };

/** How long "Confirmed." stays up. */
const CONFIRMATION_MS = 10_000;

type RegistryAbi = typeof consentRegistryAbi;
type WriteName = ContractFunctionName<RegistryAbi, "nonpayable">;

/**
 * One ConsentRegistry transaction at a time: simulate first (a revert is explained before the
 * wallet is even asked), then sign and send, then wait for the receipt. Resolves true when mined
 * successfully. `nameOf` names addresses in error sentences.
 */
export function useContractTx() {
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
      });
      return sentence.charAt(0).toUpperCase() + sentence.slice(1);
    },
    [address, nameOf],
  );

  const send = useCallback(
    async <const F extends WriteName>(
      functionName: F,
      args: ContractFunctionArgs<RegistryAbi, "nonpayable", F>,
    ): Promise<boolean> => {
      if (!registryAddress || !address) {
        setStatus({ phase: "failed", message: "Connect your wallet first." });
        return false;
      }
      let hash: Hash | undefined;
      try {
        setStatus({ phase: "checking" });
        const { request } = await simulateContract(config, {
          address: registryAddress,
          abi: consentRegistryAbi,
          functionName,
          args,
          account: address,
          chainId: localChain.id,
        } as never);
        setStatus({ phase: "signing" });
        hash = await writeContract(config, request as never);
        setStatus({ phase: "pending", hash });
        const receipt = await waitForTransactionReceipt(config, { hash, chainId: localChain.id });
        if (receipt.status !== "success") {
          setStatus({ phase: "failed", message: "The transaction was reverted when it was mined.", hash });
          return false;
        }
        setStatus({ phase: "confirmed", hash });
        await queryClient.invalidateQueries({ queryKey: [LEDGER_KEY] });
        return true;
      } catch (error) {
        setStatus({ phase: "failed", message: explain(error), ...(hash ? { hash } : {}) });
        return false;
      }
    },
    [address, config, explain, queryClient],
  );

  // A confirmation is news, not state: it clears after a while (the ledger itself shows the result).
  useEffect(() => {
    if (status.phase !== "confirmed") return;
    const id = setTimeout(() => setStatus((s) => (s === status ? { phase: "idle" } : s)), CONFIRMATION_MS);
    return () => clearTimeout(id);
  }, [status]);

  const reset = useCallback(() => setStatus({ phase: "idle" }), []);
  const busy = status.phase === "checking" || status.phase === "signing" || status.phase === "pending";
  return { status, send, reset, busy, fail: (message: string) => setStatus({ phase: "failed", message }) };
}
