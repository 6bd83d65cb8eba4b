/**
 * Plain words that need neither a contract's ABI nor the sentence table of ./errors.ts: an address
 * shortened for people, and what a wallet, the network or a node answered. Every page of the web
 * app loads these; the sentences of the contracts' refusals load only when one has to be explained.
 */
import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError } from "viem";

export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/**
 * One sentence for a failure that is not a contract's custom error: the request cancelled in the
 * wallet, no funds for the fee, another network, an unreachable node, a revert without a reason;
 * anything else in viem's short message. (`explainTransactionError` in ./errors.ts explains a
 * custom error first, then falls back to this.)
 */
export function explainWalletError(error: unknown): string {
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof UserRejectedRequestError || (e as { code?: unknown }).code === 4001)) {
      return "You cancelled the request in your wallet.";
    }
    if (error.walk((e) => (e as { name?: string }).name === "InsufficientFundsError")) {
      return "Your account does not have enough funds to pay the network fee.";
    }
    if (error.walk((e) => (e as { name?: string }).name === "ChainMismatchError")) {
      return "Your wallet is on another network; switch networks and try again.";
    }
    if (error.walk((e) => (e as { name?: string }).name === "HttpRequestError")) {
      return "The blockchain node could not be reached; check your connection and try again.";
    }
    if (error.walk((e) => e instanceof ContractFunctionRevertedError)) {
      return "The contract refused the transaction without giving a reason.";
    }
    return error.shortMessage || error.message;
  }
  if ((error as { code?: unknown } | null)?.code === 4001) return "You cancelled the request in your wallet.";
  return error instanceof Error ? error.message : String(error);
}
