"use client";
import { useId } from "react";
import { type Address, isAddressEqual } from "viem";

import type { StudyActivity, StudyListing } from "#sdk/escrow.ts";
import { studyEscrowAbi } from "#sdk/generated/abis.ts";
import { BudgetActions } from "../../_components/BudgetActions.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { formatDate } from "../../_lib/dates.ts";
import { shortAddress } from "../../_lib/format.ts";
import { useHistory } from "../../_lib/history.ts";
import { useOrganizations } from "../../_lib/ledger.ts";
import { type TokenInfo, studyPurposeWords, studyScopeWords, useStudies, useTokens } from "../../_lib/studies.ts";
import { call } from "../../_lib/tx.ts";
import { escrowAddress } from "../../_lib/wagmi.ts";
import { DatasetDownload } from "./DatasetDownload.tsx";

/** The organization's studies, newest first: enrolment, spend, and what a manager can do. */
export function OrganizationStudies({
  account,
  researcher,
  manages,
}: {
  account: Address;
  researcher: Address;
  manages: boolean;
}) {
  const { data, isPending, lag } = useStudies();
  const studies = (data?.studies ?? []).filter((s) => isAddressEqual(s.researcher, researcher)).reverse();
  const tokens = useTokens([...new Set(studies.map((s) => s.currency))]);
  return (
    <section className="card" aria-labelledby="org-studies-heading">
      <h2 id="org-studies-heading">Your organization&apos;s studies</h2>
      <ListLag lag={lag} />
      {isPending ? (
        <p aria-busy="true">Reading the studies…</p>
      ) : studies.length === 0 ? (
        <p>Your organization has no study yet.</p>
      ) : (
        <ul className="plain studies">
          {studies.map((s) => (
            <StudyPanel
              key={s.id.toString()}
              study={s}
              account={account}
              manages={manages}
              now={data?.timestamp ?? 0}
              amountOf={tokens.amountOf}
              token={tokens.tokenOf(s.currency)}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function StudyPanel({
  study,
  account,
  manages,
  now,
  amountOf,
  token,
}: {
  study: StudyListing;
  account: Address;
  manages: boolean;
  now: number;
  amountOf: (amount: bigint, token: Address) => string;
  token: TokenInfo | undefined;
}) {
  const id = useId();
  const { nameOf } = useOrganizations();
  const { data: activity } = useHistory<StudyActivity>(
    "study-activity",
    escrowAddress ? { study: study.id.toString() } : null,
  );
  const label = `study ${study.id.toString()}`;
  const cancelled = study.statusName === "Cancelled";
  const state = cancelled ? "Cancelled" : study.over ? "Ended" : study.enrolling ? "Enrolling" : "Running";
  const badge = cancelled ? "badge-revoked" : study.over ? "badge-expired" : "badge-active";
  const amount = (a: bigint) => amountOf(a, study.currency);
  const deliveriesLeft = study.price > 0n ? study.budget / study.price : 0n;
  return (
    <li className="study" aria-labelledby={`${id}-heading`} data-study-id={study.id.toString()}>
      <div className="grant-head">
        <h3 id={`${id}-heading`}>
          Study {study.id.toString()}: {studyPurposeWords(study.purpose)}
        </h3>
        <span className={`badge ${badge}`}>{state}</span>
      </div>
      <p className="grant-sentence">{studyScopeWords(study)}</p>
      <dl className="facts">
        <dt>Price</dt>
        <dd>
          {amount(study.price)} per delivery; custodians:{" "}
          {study.custodians
            .map((c) => `${nameOf(c.custodian) ?? shortAddress(c.custodian)} (${c.shareBps / 100} %)`)
            .join(", ")}
        </dd>
        <dt>Enrolment</dt>
        <dd>
          {study.enrolling ? `until ${formatDate(study.enrolmentDeadline)}` : "closed"}; ends{" "}
          {formatDate(study.endTime)}
          {study.attestedEnrolment ? "; custodian-attested: only patients its custodians confirm may join" : ""}
        </dd>
        <dt>Participants</dt>
        <dd>
          {activity
            ? `${activity.current.length} taking part, ${activity.left.length} left (${study.participants} of ${study.maxParticipants} places taken)`
            : `${study.participants} of ${study.maxParticipants} places taken`}
        </dd>
        <dt>Budget left</dt>
        <dd>
          {amount(study.budget)} (covers {deliveriesLeft.toString()} more{" "}
          {deliveriesLeft === 1n ? "delivery" : "deliveries"})
        </dd>
        <dt>Spent</dt>
        <dd>
          {activity
            ? `${activity.deliveriesPaid} ${activity.deliveriesPaid === 1 ? "delivery" : "deliveries"} paid: ${amount(activity.paidToPatients)} to patients, ${amount(activity.paidToCustodians)} to custodians; funded ${amount(activity.funded)} in all${activity.reclaimed > 0n ? `, ${amount(activity.reclaimed)} reclaimed` : ""}`
            : "…"}
        </dd>
      </dl>
      {manages ? <StudyActions study={study} account={account} now={now} token={token} label={label} /> : null}
      <DatasetDownload study={study} account={account} />
    </li>
  );
}

function StudyActions({
  study,
  account,
  now,
  token,
  label,
}: {
  study: StudyListing;
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
      noun="study"
      open={study.statusName === "Open" && now < study.endTime}
      budget={study.budget}
      escrow={escrowAddress!}
      reclaimedTo="your account"
      fundWithPermit={(amount, permit) =>
        call(escrowAddress!, studyEscrowAbi, "fundWithPermit", [
          study.id,
          amount,
          permit.deadline,
          permit.v,
          permit.r,
          permit.s,
        ])
      }
      cancel={() => call(escrowAddress!, studyEscrowAbi, "cancelStudy", [study.id])}
      reclaim={() => call(escrowAddress!, studyEscrowAbi, "reclaim", [study.id])}
    >
      <p>
        The study ends now: nobody can join any more, no further delivery is paid, and the participants&apos; consents
        for it end. You can then reclaim the unspent budget. This cannot be undone.
      </p>
    </BudgetActions>
  );
}
