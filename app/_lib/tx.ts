/**
 * The life of one contract transaction, thin over wagmi: validate → [sign a permit or a relayed
 * action] → simulate → sign → pending → confirmed | failed, with reverts in plain words. The
 * sentences of the contracts' refusals (sdk/errors.ts, with the error ABIs) load only when a
 * transaction fails, by a dynamic import: they are no part of any page's first load.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import {
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  isAddressEqual,
} from "viem";
import { useConfig, useConnection } from "wagmi";
import { simulateContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";

import { consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { explainWalletError } from "#sdk/words.ts";
import { formatDateTime } from "./dates.ts";
import { capitalize } from "./format.ts";
import { refreshWhenIndexed } from "./history.ts";
import { useOrganizations } from "./ledger.ts";
import { appChain, registryAddress } from "./wagmi.ts";

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

  /**
   * The failure in one sentence. Until it is ready the status stays where the action was
   * (checking, signing or pending): the line never shows a raw error first, and a screen reader
   * hears the outcome once, in its final words.
   */
  const explain = useCallback(
    async (error: unknown) => {
      const sentence = await import("#sdk/errors.ts").then(
        ({ explainTransactionError }) =>
          explainTransactionError(error, {
            nameOf: (a) => (address && isAddressEqual(a, address) ? "your account" : nameOf(a)),
            formatTime: formatDateTime,
            abis: ERROR_ABIS,
          }),
        // The sentences could not be loaded (the connection dropped): what the wallet or node said.
        () => explainWalletError(error),
      );
      return capitalize(sentence);
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
        setStatus({ phase: "failed", message: await explain(error), ...(hash ? { hash } : {}) });
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
