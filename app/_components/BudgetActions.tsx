"use client";
import { type FormEvent, type ReactNode, useId, useRef, useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";

import { parseAmount } from "../_lib/amounts.ts";
import { capitalize } from "../_lib/format.ts";
import { useLedgerClient } from "../_lib/ledger.ts";
import type { TokenInfo } from "../_lib/studies.ts";
import { type ContractCall, useTx } from "../_lib/tx.ts";
import { signFundingPermit } from "../research/_components/permit.ts";
import { ConfirmDialog, type ConfirmDialogHandle } from "./ConfirmDialog.tsx";
import { TxStatusLine } from "./TxStatusLine.tsx";

export type FundingPermit = Awaited<ReturnType<typeof signFundingPermit>>;

/**
 * What a manager does with the budget of a study or a prevention programme (StudyEscrow and
 * PreventionRewards share the shape): top it up with a permit while it is open, cancel it after a
 * confirmation that opens on the way out, and reclaim the unspent budget once it is over. The
 * escrow's calls come from the caller; `children` say in the dialog what cancelling ends.
 */
export function BudgetActions({
  account,
  token,
  label,
  noun,
  open,
  budget,
  escrow,
  reclaimedTo,
  fundWithPermit,
  cancel,
  reclaim,
  children,
}: {
  account: Address;
  token: TokenInfo | undefined;
  /** "study 3", "programme 1". */
  label: string;
  /** "study", "programme". */
  noun: string;
  open: boolean;
  budget: bigint;
  /** The escrow the permit lets take the money. */
  escrow: Address;
  /** Whose account the reclaimed budget goes back to ("your account"). */
  reclaimedTo: string;
  fundWithPermit: (amount: bigint, permit: FundingPermit) => ContractCall;
  cancel: () => ContractCall;
  reclaim: () => ContractCall;
  children: ReactNode;
}) {
  const id = useId();
  const config = useConfig();
  const client = useLedgerClient();
  const tx = useTx();
  const dialog = useRef<ConfirmDialogHandle>(null);
  const [topUp, setTopUp] = useState("");
  const [error, setError] = useState("");
  const [confirmed, setConfirmed] = useState("Done.");

  async function onTopUp(event: FormEvent) {
    event.preventDefault();
    const amount = parseAmount(topUp, token?.decimals ?? 18, "amount");
    if (typeof amount !== "bigint" || !token) {
      setError(typeof amount !== "bigint" ? amount.error : "The currency is still loading.");
      tx.fail("An answer needs correcting: see the message under it.");
      return;
    }
    setError("");
    setConfirmed(`Added ${topUp.trim()} ${token.symbol} to ${label}.`);
    const ok = await tx.run(async (step) => {
      const permit = await signFundingPermit(config, client!, step, {
        token,
        owner: account,
        spender: escrow,
        value: amount,
      });
      return fundWithPermit(amount, permit);
    });
    if (ok) setTopUp("");
  }

  return (
    <>
      {open ? (
        <form noValidate onSubmit={onTopUp} className="inline-form top-up" aria-label={`Top up ${label}`}>
          <div className="field">
            <label htmlFor={`${id}-amount`}>
              Top up {label} ({token?.symbol ?? "…"})
            </label>
            <input
              id={`${id}-amount`}
              type="text"
              inputMode="decimal"
              value={topUp}
              onChange={(e) => setTopUp(e.target.value)}
              aria-invalid={!!error}
              aria-describedby={`${id}-amount-error`}
            />
            <p id={`${id}-amount-error`} className="field-error">
              {error}
            </p>
          </div>
          <button type="submit" className="button" disabled={tx.busy}>
            Top up<span className="visually-hidden"> {label}</span>
          </button>
        </form>
      ) : null}
      <div className="actions">
        {open ? (
          <button
            type="button"
            className="button danger"
            disabled={tx.busy}
            onClick={() => {
              tx.reset();
              dialog.current?.open();
            }}
          >
            Cancel {label}…
          </button>
        ) : null}
        {!open && budget > 0n ? (
          <button
            type="button"
            className="button primary"
            disabled={tx.busy}
            onClick={() => {
              setConfirmed(`The unspent budget of ${label} is back in ${reclaimedTo}.`);
              void tx.run(reclaim);
            }}
          >
            Reclaim the unspent budget<span className="visually-hidden"> of {label}</span>
          </button>
        ) : null}
      </div>
      <TxStatusLine status={tx.status} confirmed={confirmed} />
      <ConfirmDialog
        ref={dialog}
        title={`Cancel ${label}?`}
        confirmLabel={`Yes, cancel the ${noun}`}
        cancelLabel="Keep it"
        // The way out first: Enter must not cancel it.
        cancelFirst
        onConfirm={() => {
          setConfirmed(`${capitalize(label)} is cancelled.`);
          return tx.run(cancel);
        }}
        tx={tx}
        confirmed={confirmed}
      >
        {children}
      </ConfirmDialog>
    </>
  );
}
