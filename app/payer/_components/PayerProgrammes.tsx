"use client";
import { type FormEvent, useId, useRef, useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";

import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { ConfirmDialog, type ConfirmDialogHandle } from "../../_components/ConfirmDialog.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { parseAmount } from "../../_lib/amounts.ts";
import { formatDate } from "../../_lib/dates.ts";
import { capitalize, shortAddress } from "../../_lib/format.ts";
import { useLedgerClient, useOrganizations } from "../../_lib/ledger.ts";
import {
  type ProgrammeListing,
  actionWords,
  codeWords,
  periodLengthWords,
  periodOf,
  periodWords,
  programmeState,
  rewardsAddress,
  useProgrammeCompletions,
  useProgrammes,
} from "../../_lib/prevention.ts";
import { type TokenInfo, useTokens } from "../../_lib/studies.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { signFundingPermit } from "../../research/_components/permit.ts";

/** The payer's programmes, newest first: who takes part, what was confirmed and paid, and what a manager can do. */
export function PayerProgrammes({ account, payer, manages }: { account: Address; payer: Address; manages: boolean }) {
  const { data, isPending, lag } = useProgrammes(payer);
  const programmes = [...(data?.programmes ?? [])].reverse();
  const tokens = useTokens([...new Set(programmes.map((p) => p.currency))]);
  return (
    <section className="card" aria-labelledby="payer-programmes-heading">
      <h2 id="payer-programmes-heading">Your organization&apos;s programmes</h2>
      <ListLag lag={lag} />
      {isPending ? (
        <p aria-busy="true">Reading the programmes…</p>
      ) : programmes.length === 0 ? (
        <p>Your organization has no programme yet.</p>
      ) : (
        <ul className="plain studies">
          {programmes.map((p) => (
            <ProgrammePanel
              key={p.id.toString()}
              programme={p}
              account={account}
              manages={manages}
              now={data?.timestamp ?? 0}
              amountOf={tokens.amountOf}
              token={tokens.tokenOf(p.currency)}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function ProgrammePanel({
  programme: p,
  account,
  manages,
  now,
  amountOf,
  token,
}: {
  programme: ProgrammeListing;
  account: Address;
  manages: boolean;
  now: number;
  amountOf: (amount: bigint, token: Address) => string;
  token: TokenInfo | undefined;
}) {
  const id = useId();
  const { nameOf } = useOrganizations();
  const { data: completions } = useProgrammeCompletions(p.id);
  const amount = (a: bigint) => amountOf(a, p.currency);
  const rewardsLeft = p.reward > 0n ? p.budget / p.reward : 0n;
  const state = programmeState(p);
  const badge = p.cancelled ? "badge-revoked" : p.over ? "badge-expired" : "badge-active";
  const current = periodOf(p, now);
  const label = `programme ${p.id.toString()}`;
  return (
    <li className="study" aria-labelledby={`${id}-heading`} data-programme-id={p.id.toString()}>
      <div className="grant-head">
        <h3 id={`${id}-heading`}>
          Programme {p.id.toString()}: {capitalize(actionWords(p))} ({codeWords(p)})
        </h3>
        <span className={`badge ${badge}`}>{state}</span>
      </div>
      <dl className="facts">
        <dt>Reward</dt>
        <dd>
          {amount(p.reward)} per member and {periodLengthWords(p.periodLength)}, periods from{" "}
          {formatDate(p.firstPeriodStart)}
          {current !== null && !p.over ? `; now ${periodWords(p, current)}` : ""}
        </dd>
        <dt>Confirmed by</dt>
        <dd>{p.custodians.map((c) => nameOf(c) ?? shortAddress(c)).join(", ")}</dd>
        <dt>{p.cancelled ? "Cancelled" : p.over ? "Ended" : "Ends"}</dt>
        <dd>{formatDate(p.endTime)}</dd>
        <dt>Members</dt>
        <dd>
          {p.participants} taking part; {p.confirmations} {p.confirmations === 1 ? "confirmation" : "confirmations"}{" "}
          paid
        </dd>
        <dt>Budget left</dt>
        <dd>
          {amount(p.budget)} (pays {rewardsLeft.toString()} more {rewardsLeft === 1n ? "reward" : "rewards"}); funded{" "}
          {amount(p.funded)}, paid {amount(p.paid)}
          {p.reclaimed > 0n ? `, reclaimed ${amount(p.reclaimed)}` : ""}
        </dd>
      </dl>
      {completions && completions.length > 0 ? (
        <div className="table-scroll">
          <table className="data-table" aria-label={`Completions of ${label}, per period`}>
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">Paid</th>
                <th scope="col">Skipped</th>
                <th scope="col">Amount</th>
              </tr>
            </thead>
            <tbody>
              {completions.map((c) => (
                <tr key={c.period}>
                  <td data-label="Period">{periodWords(p, c.period)}</td>
                  <td data-label="Paid">{c.paid}</td>
                  <td data-label="Skipped">{c.skipped}</td>
                  <td data-label="Amount">{amount(c.amount)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted">No confirmation yet.</p>
      )}
      {manages ? <ProgrammeActions programme={p} account={account} now={now} token={token} label={label} /> : null}
    </li>
  );
}

function ProgrammeActions({
  programme: p,
  account,
  now,
  token,
  label,
}: {
  programme: ProgrammeListing;
  account: Address;
  now: number;
  token: TokenInfo | undefined;
  label: string;
}) {
  const id = useId();
  const config = useConfig();
  const client = useLedgerClient();
  const tx = useTx();
  const dialog = useRef<ConfirmDialogHandle>(null);
  const [topUp, setTopUp] = useState("");
  const [error, setError] = useState("");
  const [confirmed, setConfirmed] = useState("Done.");
  const open = !p.cancelled && now < p.endTime;

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
        spender: rewardsAddress!,
        value: amount,
      });
      return call(rewardsAddress!, preventionRewardsAbi, "fundWithPermit", [
        p.id,
        amount,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ]);
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
        {!open && p.budget > 0n ? (
          <button
            type="button"
            className="button primary"
            disabled={tx.busy}
            onClick={() => {
              setConfirmed(`The unspent budget of ${label} is back in your organization's account.`);
              void tx.run(() => call(rewardsAddress!, preventionRewardsAbi, "reclaim", [p.id]));
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
        confirmLabel="Yes, cancel the programme"
        cancelLabel="Keep it"
        // The way out first: Enter must not cancel a programme.
        cancelFirst
        onConfirm={() => {
          setConfirmed(`${capitalize(label)} is cancelled.`);
          return tx.run(() => call(rewardsAddress!, preventionRewardsAbi, "cancelProgramme", [p.id]));
        }}
        tx={tx}
        confirmed={confirmed}
      >
        <p>
          The programme ends now: nobody can join any more, no further confirmation is paid, and the members&apos;
          consents for it end. What members earned stays theirs. You can then reclaim the unspent budget. This cannot be
          undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
