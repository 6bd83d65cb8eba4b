/**
 * Chain failures in two kinds: a revert (the contract refused: the custom error's name, its
 * arguments and a sentence for people) and unavailability (the node cannot be reached, timed
 * out, or the gateway cannot pay). Routes turn them into 422 and 503 OperationOutcomes.
 */
import { BaseError, ContractFunctionRevertedError } from "viem";
import { CONTRACT_ABIS, decodeRevert, explainContractError } from "#sdk/errors.ts";

export interface DecodedError {
  errorName: string;
  args: readonly unknown[];
}

export class ChainError extends Error {
  readonly kind: "revert" | "unavailable";
  /** For a revert: the custom error (name "Reverted" when the contract gave none). */
  readonly decoded: DecodedError | undefined;
  constructor(kind: "revert" | "unavailable", message: string, decoded?: DecodedError, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChainError";
    this.kind = kind;
    this.decoded = decoded;
  }
}

function isUnavailable(err: BaseError): boolean {
  return Boolean(
    err.walk((e) =>
      [
        "HttpRequestError",
        "TimeoutError",
        "WebSocketRequestError",
        "SocketClosedError",
        "WaitForTransactionReceiptTimeoutError",
        "InsufficientFundsError",
        "UnknownRpcError",
        "LimitExceededRpcError",
      ].includes((e as { name?: string }).name ?? ""),
    ),
  );
}

/** Any error from viem (or elsewhere) as a ChainError. */
export function toChainError(err: unknown, context?: string): ChainError {
  if (err instanceof ChainError) return err;
  if (err instanceof BaseError) {
    // A decoded custom error is a revert, whatever the transport wrapped it in.
    const decoded = decodeRevert(err, CONTRACT_ABIS);
    if (decoded) {
      return new ChainError("revert", explainContractError(decoded.errorName, decoded.args), decoded, { cause: err });
    }
  }
  if (err instanceof BaseError && !isUnavailable(err)) {
    if (err.walk((e) => e instanceof ContractFunctionRevertedError)) {
      return new ChainError("revert", "The contract refused the transaction without giving a reason.", undefined, {
        cause: err,
      });
    }
  }
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new ChainError(
    "unavailable",
    context ? `${context}: ${message}` : (message ?? "chain unavailable"),
    undefined,
    {
      cause: err,
    },
  );
}
