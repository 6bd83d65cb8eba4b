"use client";
import type { TxStatus } from "../_lib/hooks.ts";
import { shortAddress } from "../_lib/format.ts";
import { explorerTxUrl } from "../_lib/wagmi.ts";

/** Where a transaction stands, announced to screen readers as it changes. */
export function TxStatusLine({ status, confirmed = "Confirmed." }: { status: TxStatus; confirmed?: string }) {
  let text: string | null = null;
  let tone = "info";
  switch (status.phase) {
    case "idle":
      break;
    case "checking":
      text = "Checking with the chain…";
      break;
    case "signing":
      text = status.what ?? "Confirm in your wallet…";
      break;
    case "pending":
      text = `Pending: waiting for the transaction ${shortAddress(status.hash)} to be recorded…`;
      break;
    case "confirmed":
      text = confirmed;
      tone = "success";
      break;
    case "failed":
      text = `Failed: ${status.message}`;
      tone = "error";
      break;
  }
  const hash = "hash" in status ? status.hash : undefined;
  const explorer = hash ? explorerTxUrl(hash) : null;
  return (
    <p className={`tx-status tx-${tone}`} role="status" aria-live="polite" data-phase={status.phase}>
      {text}
      {explorer ? (
        <>
          {" "}
          <a href={explorer} target="_blank" rel="noreferrer">
            View the transaction
          </a>
        </>
      ) : null}
    </p>
  );
}
