"use client";
import { useId } from "react";
import type { Address } from "viem";

import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { BudgetActions } from "../../_components/BudgetActions.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { formatDate } from "../../_lib/dates.ts";
import { capitalize, shortAddress } from "../../_lib/format.ts";
import { useOrganizations } from "../../_lib/ledger.ts";
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
import { call } from "../../_lib/tx.ts";

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
  const { data: completions, isError: completionsUnread } = useProgrammeCompletions(p.id);
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
      {completions === undefined ? (
        // Not "No confirmation yet" while the list is read: the members line above may count one.
        completionsUnread ? (
          <p className="muted">The completions could not be read just now. Reload the page to try again.</p>
        ) : (
          <p className="muted" aria-busy="true">
            Reading the completions…
          </p>
        )
      ) : completions.length > 0 ? (
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
  return (
    <BudgetActions
      account={account}
      token={token}
      label={label}
      noun="programme"
      open={!p.cancelled && now < p.endTime}
      budget={p.budget}
      escrow={rewardsAddress!}
      reclaimedTo="your organization's account"
      fundWithPermit={(amount, permit) =>
        call(rewardsAddress!, preventionRewardsAbi, "fundWithPermit", [
          p.id,
          amount,
          permit.deadline,
          permit.v,
          permit.r,
          permit.s,
        ])
      }
      cancel={() => call(rewardsAddress!, preventionRewardsAbi, "cancelProgramme", [p.id])}
      reclaim={() => call(rewardsAddress!, preventionRewardsAbi, "reclaim", [p.id])}
    >
      <p>
        The programme ends now: nobody can join any more, no further confirmation is paid, and the members&apos;
        consents for it end. What members earned stays theirs. You can then reclaim the unspent budget. This cannot be
        undone.
      </p>
    </BudgetActions>
  );
}
