/**
 * Chain failures in two kinds: a revert (the contract refused: the custom error's name, its
 * arguments and a sentence for people) and unavailability (the node cannot be reached, timed
 * out, or the gateway cannot pay). Routes turn them into 422 and 503 OperationOutcomes.
 */
import { BaseError, ContractFunctionRevertedError, type Abi } from "viem";
import { decodeRevert, explainRegistryError, shortAddress } from "../../../sdk/errors.ts";
import { auditAnchorAbi, consentRegistryAbi, studyEscrowAbi } from "../../../sdk/generated/abis.ts";

export const CONTRACT_ABIS: readonly Abi[] = [consentRegistryAbi, studyEscrowAbi, auditAnchorAbi];

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

const time = (s: unknown) => new Date(Number(s) * 1000).toISOString();

/** One sentence for a custom error of StudyEscrow or AuditAnchor (the registry's come from the sdk). */
export function explainContractError(errorName: string, args: readonly unknown[]): string {
  const a = (i: number) => args[i];
  switch (errorName) {
    case "StudyEscrowUnknownStudy":
      return `There is no study ${String(a(0))}.`;
    case "StudyEscrowStudyClosed":
      return `Study ${String(a(0))} is over or was cancelled.`;
    case "StudyEscrowEnrolmentClosed":
      return `Enrolment in study ${String(a(0))} closed at ${time(a(1))}.`;
    case "StudyEscrowStudyFull":
      return `Study ${String(a(0))} already has its ${String(a(1))} participants.`;
    case "StudyEscrowNotJoined":
      return `${shortAddress(String(a(1)))} is not a participant of study ${String(a(0))}.`;
    case "StudyEscrowInvalidPatient":
      return "That is not a valid patient address.";
    case "StudyEscrowSignatureExpired":
      return `The signature expired at ${time(a(0))}; sign again.`;
    case "StudyEscrowInvalidSignature":
      return "The signature is not the patient's for this study, or it was already used or cancelled.";
    case "AuditAnchorNotGateway":
      return `${shortAddress(String(a(0)))} is not a GATEWAY member of an active organization.`;
    case "AuditAnchorEmptyRoot":
      return "The Merkle root is empty.";
    case "AuditAnchorInvalidRange":
      return `The batch must start at entry ${String(a(0))}, not ${String(a(1))} (through ${String(a(2))}).`;
    default:
      return explainRegistryError(errorName, args);
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
