"use client";
import { useQuery } from "@tanstack/react-query";
import { useId, useRef, useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";

import { preventionBadgeAbi, preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { ENROLMENT_STATUS, type EnrolmentStatus } from "#sdk/prevention.ts";
import { ConfirmDialog, type ConfirmDialogHandle } from "../../_components/ConfirmDialog.tsx";
import { Earnings, type RelayedWithdrawal } from "../../_components/Earnings.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { RelayerChoice } from "../../_components/RelayerChoice.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { formatEstimate } from "../../_lib/amounts.ts";
import { useNow } from "../../_lib/clock.ts";
import { formatDate } from "../../_lib/dates.ts";
import { capitalize, shortAddress } from "../../_lib/format.ts";
import { LEDGER_KEY, useLedgerClient, useOrganizations, useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import {
  type PatientPrevention,
  type ProgrammeListing,
  actionWords,
  badgeAddress,
  codeWords,
  periodLengthWords,
  periodBetween,
  periodOf,
  periodWords,
  readPreventionWithdrawal,
  relayOptIn,
  relayOptOut,
  rewardsAddress,
  usePatientPrevention,
  useProgrammes,
} from "../../_lib/prevention.ts";
import { type Relayer, useRelayers } from "../../_lib/relay.ts";
import { useTokens } from "../../_lib/studies.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { appChain } from "../../_lib/wagmi.ts";

/** Prevention rewards: a gateway may send their signed withdrawal (PreventionRewards' row). */
const PREVENTION_WITHDRAWAL: RelayedWithdrawal = { action: "prevention-withdraw", read: readPreventionWithdrawal };

/** The patient's prevention programmes: what becomes public, the programmes, her earnings and badges. */
export function PreventionPortal() {
  if (!rewardsAddress || !badgeAddress) {
    return (
      <p className="notice" role="alert">
        No prevention programmes are deployed on {appChain.name} in this build.
      </p>
    );
  }
  return <WalletGate>{(patient) => <Programmes patient={patient} />}</WalletGate>;
}

/** Her standing in each programme and whether the current period is confirmed, read from the chain. */
function useStandings(patient: Address, programmes: readonly ProgrammeListing[], now: number) {
  const client = useLedgerClient();
  const asked = programmes.map((p) => [p.id.toString(), periodOf(p, now)] as const);
  return useQuery({
    queryKey: [LEDGER_KEY, "prevention-standing", rewardsAddress, patient, asked],
    enabled: !!client && programmes.length > 0,
    queryFn: async () => {
      const read = { address: rewardsAddress!, abi: preventionRewardsAbi } as const;
      const entries = await Promise.all(
        programmes.map(async (p) => {
          const period = periodOf(p, now);
          const [enrolment, confirmed] = await Promise.all([
            client!.readContract({ ...read, functionName: "getEnrolment", args: [p.id, patient] }),
            period === null
              ? false
              : client!.readContract({ ...read, functionName: "isConfirmed", args: [p.id, patient, period] }),
          ]);
          const status: EnrolmentStatus = ENROLMENT_STATUS[enrolment.status] ?? "None";
          return [p.id, { status, period, confirmed }] as const;
        }),
      );
      return new Map(entries);
    },
  });
}

/** What a direct opt-in would cost her in the chain's own currency ("0.00012 ETH"), or null while unknown. */
function useOptInFee(programmeId: bigint, patient: Address, enabled: boolean): string | null {
  const client = useLedgerClient();
  const { data } = useQuery({
    queryKey: [LEDGER_KEY, "opt-in-fee", rewardsAddress, programmeId.toString(), patient],
    enabled: enabled && !!client,
    retry: false,
    queryFn: async () => {
      const [gas, price] = await Promise.all([
        client!.estimateContractGas({
          address: rewardsAddress!,
          abi: preventionRewardsAbi,
          functionName: "optIn",
          args: [programmeId],
          account: patient,
        }),
        client!.getGasPrice(),
      ]);
      return `${formatEstimate(gas * price, appChain.nativeCurrency.decimals)} ${appChain.nativeCurrency.symbol}`;
    },
  });
  return data ?? null;
}

function Programmes({ patient }: { patient: Address }) {
  useRefreshOnNewBlock();
  const now = useNow();
  const list = useProgrammes();
  const mine = usePatientPrevention(patient);
  const programmes = list.data?.programmes ?? [];
  const part = mine.data;
  const involved = (id: bigint) =>
    !!part && (part.optIns.some((o) => o.programmeId === id) || part.confirmations.some((c) => c.programmeId === id));
  const shown = programmes.filter((p) => !p.over || involved(p.id));
  const { data: standings } = useStandings(patient, shown, now);
  const currencies = [...new Set(programmes.map((p) => p.currency))];
  const tokens = useTokens(currencies);
  const { nameOf } = useOrganizations();

  return (
    <>
      <PublicNotice />
      <section className="card" aria-labelledby="programmes-heading">
        <h2 id="programmes-heading">Programmes</h2>
        <ListLag lag={list.lag} plain />
        {list.isPending ? (
          <p aria-busy="true">Reading the programmes…</p>
        ) : list.isError ? (
          <p className="notice" role="alert">
            The programmes could not be read just now. Check your internet connection and reload the page.
          </p>
        ) : shown.length === 0 ? (
          <p>No prevention programme is open right now.</p>
        ) : (
          <ul className="plain studies">
            {shown.map((p) => (
              <ProgrammeItem
                key={p.id.toString()}
                programme={p}
                patient={patient}
                now={now}
                standing={standings?.get(p.id)}
                part={part}
                payerName={nameOf(p.payer) ?? shortAddress(p.payer)}
                custodianNames={p.custodians.map((c) => nameOf(c) ?? shortAddress(c))}
                amountOf={tokens.amountOf}
              />
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="rewards-heading">
        <h2 id="rewards-heading">Your rewards and badges</h2>
        <Earnings
          patient={patient}
          escrow={rewardsAddress}
          currencies={currencies}
          amountOf={tokens.amountOf}
          relayed={PREVENTION_WITHDRAWAL}
          nothingYet="You are paid when your hospital or lab confirms care that a programme you are in rewards."
        />
        <Badges part={part} programmes={programmes} />
      </section>
    </>
  );
}

/** Before any opt-in: what a confirmation and a badge tell anyone who looks at her address. */
function PublicNotice() {
  return (
    <section className="card warning" aria-labelledby="public-heading">
      <h2 id="public-heading">Before you join: what anyone can see</h2>
      <p id="prevention-public-notice">
        <strong>A confirmation is public.</strong> When your hospital or lab confirms your care for a programme, this is
        written on the public blockchain with your wallet address. Anyone who looks at your address can then learn that
        your care met the programme&apos;s goal in that period: for example, that you had a flu vaccination this season.
      </p>
      <p>
        They do not learn your name, and your records stay with your hospital or lab. A badge says the same thing to
        anyone who looks at your address; claiming one is your choice. You can leave a programme at any time, but what
        was confirmed stays public.
      </p>
    </section>
  );
}

const STATE_WORDS: Record<EnrolmentStatus, string> = { None: "", OptedIn: "You take part", OptedOut: "You left" };

function ProgrammeItem({
  programme: p,
  patient,
  now,
  standing,
  part,
  payerName,
  custodianNames,
  amountOf,
}: {
  programme: ProgrammeListing;
  patient: Address;
  now: number;
  standing: { status: EnrolmentStatus; period: number | null; confirmed: boolean } | undefined;
  part: PatientPrevention | undefined;
  payerName: string;
  custodianNames: string[];
  amountOf: (amount: bigint, token: Address) => string;
}) {
  const id = useId();
  const config = useConfig();
  const tx = useTx();
  const joinDialog = useRef<ConfirmDialogHandle>(null);
  const badgeDialog = useRef<ConfirmDialogHandle>(null);
  const outcome = useRef<HTMLParagraphElement>(null);
  const [confirmed, setConfirmed] = useState("Done.");
  const [badgePeriod, setBadgePeriod] = useState<number | null>(null);
  const status = standing?.status ?? "None";
  const open = !p.over && now < p.endTime;
  const label = `programme ${p.id.toString()}`;
  const words = actionWords(p);
  const period = standing?.period ?? periodOf(p, now);
  const fee = useOptInFee(p.id, patient, open && status !== "OptedIn");
  const reward = amountOf(p.reward, p.currency);
  const paid = (part?.confirmations ?? []).filter((c) => c.programmeId === p.id);
  const badges = (part?.badges ?? []).filter((b) => b.programmeId === p.id);
  const unclaimed = paid.filter((c) => !badges.some((b) => b.period === c.period));
  const custodians = custodianNames.join(" or ");
  const headingId = `${id}-heading`;
  // The gasless path: joining through a gateway of a custodian that confirms for this programme
  // (it relays only for its own patients); leaving through any custodian's gateway.
  const gateways = useRelayers(p.custodians);
  const anyGateway = useRelayers()[0];
  const [chosenRelay, setRelay] = useState("");
  const relayVia = gateways.find((g) => g.address === chosenRelay) ?? gateways[0];
  const leaveVia = relayVia ?? anyGateway;
  // Which way the dialog's "Join the programme" joins: from her wallet, or signed and relayed.
  const [joinVia, setJoinVia] = useState<Relayer | undefined>(undefined);

  const join = () => {
    const via = joinVia;
    setConfirmed(
      `You joined ${label}${via ? `; ${via.name} paid the fee` : ""}. ${payerName} pays you once your care is confirmed.`,
    );
    return tx.run((step) =>
      via ? relayOptIn(config, step, via, patient, p.id) : call(rewardsAddress!, preventionRewardsAbi, "optIn", [p.id]),
    );
  };
  const openJoin = (via: Relayer | undefined) => {
    tx.reset();
    setJoinVia(via);
    joinDialog.current?.open();
  };
  const leave = (via?: Relayer) => {
    setConfirmed(
      `You left ${label}${via ? `; ${via.name} paid the fee` : ""}. ${payerName} no longer has your consent for it.`,
    );
    void tx.run((step) =>
      via
        ? relayOptOut(config, step, via, patient, p.id)
        : call(rewardsAddress!, preventionRewardsAbi, "optOut", [p.id]),
    );
  };
  const claim = () => {
    if (badgePeriod === null) return Promise.resolve(false);
    setConfirmed(`The badge for ${periodWords(p, badgePeriod)} is in your wallet.`);
    return tx.run(() => call(badgeAddress!, preventionBadgeAbi, "claim", [p.id, badgePeriod]));
  };

  return (
    <li className="study" aria-labelledby={headingId} data-programme-id={p.id.toString()}>
      <div className="grant-head">
        <h3 id={headingId}>
          Programme {p.id.toString()}: {capitalize(words)}
        </h3>
        {status !== "None" ? (
          <span className={`badge ${status === "OptedIn" ? "badge-active" : "badge-expired"}`}>
            {STATE_WORDS[status]}
          </span>
        ) : open ? (
          <span className="badge badge-not-yet-valid">Open</span>
        ) : (
          <span className="badge badge-expired">Ended</span>
        )}
      </div>
      <dl className="facts">
        <dt>Offered by</dt>
        <dd>{payerName}</dd>
        <dt>What counts</dt>
        <dd>
          {capitalize(words)} ({codeWords(p)})
          {period !== null ? ` ${periodBetween(p, period)}` : ` from ${formatDate(p.firstPeriodStart)}`}, as recorded by{" "}
          {custodians}.
        </dd>
        <dt>Reward</dt>
        <dd>
          {reward} for each {periodLengthWords(p.periodLength)} in which it is confirmed.
        </dd>
        <dt>{open ? "Ends" : p.cancelled ? "Cancelled" : "Ended"}</dt>
        <dd>{formatDate(p.endTime)}</dd>
        {status === "OptedIn" && period !== null ? (
          <>
            <dt>This {periodLengthWords(p.periodLength)}</dt>
            <dd>
              {standing?.confirmed
                ? `Confirmed: you earned ${reward}.`
                : `Not confirmed yet. ${custodians} will check ${custodianNames.length === 1 ? "its" : "their"} records and confirm it.`}
            </dd>
          </>
        ) : null}
        {paid.length > 0 ? (
          <>
            <dt>Confirmed</dt>
            <dd>
              {paid
                .map(
                  (c) => `${periodWords(p, c.period)} (${amountOf(c.amount, p.currency)}, ${formatDate(c.timestamp)})`,
                )
                .join("; ")}
            </dd>
          </>
        ) : null}
      </dl>
      {status === "OptedIn" ? (
        <>
          <div className="actions">
            <button type="button" className="button danger" disabled={tx.busy} onClick={() => leave()}>
              Leave<span className="visually-hidden"> {label}</span>
            </button>
            {leaveVia ? (
              <button
                type="button"
                className="button"
                disabled={tx.busy}
                aria-describedby={`${id}-leave-relayed`}
                onClick={() => leave(leaveVia)}
              >
                Leave without a fee
                <span className="visually-hidden">
                  {" "}
                  {label}, through {leaveVia.name}
                </span>
              </button>
            ) : null}
          </div>
          {leaveVia ? (
            <p className="help" id={`${id}-leave-relayed`}>
              Without a fee, you only sign the request, and {leaveVia.name} sends it for you.
            </p>
          ) : null}
        </>
      ) : open ? (
        <>
          <p className="join-ways">{relayVia ? "Two ways to join:" : "To join:"}</p>
          <ul className="plain join-options">
            <li>
              <button
                type="button"
                className="button primary"
                disabled={tx.busy}
                aria-describedby={`${id}-join-help`}
                onClick={() => openJoin(undefined)}
              >
                Join…<span className="visually-hidden"> {label}</span>
              </button>
              <p className="help" id={`${id}-join-help`}>
                You send the request from your wallet and pay the processing fee yourself
                {fee ? `: about ${fee}` : ""}. Joining makes each confirmation of your care public (see above).
              </p>
            </li>
            {relayVia ? (
              <li>
                <RelayerChoice gateways={gateways} chosen={relayVia} onChoose={setRelay} />
                <button
                  type="button"
                  className="button"
                  disabled={tx.busy}
                  aria-describedby={`${id}-join-relayed`}
                  onClick={() => openJoin(relayVia)}
                >
                  Join without a fee…
                  <span className="visually-hidden">
                    {" "}
                    {label}, through {relayVia.name}
                  </span>
                </button>
                <p className="help" id={`${id}-join-relayed`}>
                  No fee for you: you only sign the request, and {relayVia.name} sends it and pays the processing fee.
                  It works if you are a patient there.
                </p>
              </li>
            ) : null}
          </ul>
        </>
      ) : null}
      {unclaimed.length > 0 ? (
        <div className="actions">
          {unclaimed.map((c) => (
            <button
              key={c.period}
              type="button"
              className="button"
              disabled={tx.busy}
              onClick={() => {
                tx.reset();
                setBadgePeriod(c.period);
                badgeDialog.current?.open();
              }}
            >
              Claim the badge<span className="visually-hidden"> of {label}</span> for {periodWords(p, c.period)}…
            </button>
          ))}
        </div>
      ) : null}
      <TxStatusLine ref={outcome} status={tx.status} confirmed={confirmed} />
      <ConfirmDialog
        ref={joinDialog}
        title={`Join ${label}?`}
        confirmLabel="Join the programme"
        cancelLabel="Not now"
        cancelFirst
        describedBy={`${id}-join-public`}
        onConfirm={join}
        tx={tx}
        confirmed={confirmed}
        outcome={outcome}
      >
        <p id={`${id}-join-public`}>
          <strong>This becomes public.</strong> Each time your care is confirmed, anyone who looks at your wallet
          address can learn that you had {words} in that {periodLengthWords(p.periodLength)}. They do not learn your
          name or see your records.
        </p>
        <p>
          Joining gives {payerName} your consent to learn only whether your care met this goal, until{" "}
          {formatDate(p.endTime)}. It opens none of your records to them. You can leave at any time.
        </p>
        {joinVia ? (
          <p>You sign the request in your wallet, and {joinVia.name} sends it and pays the processing fee.</p>
        ) : null}
      </ConfirmDialog>
      <ConfirmDialog
        ref={badgeDialog}
        title={badgePeriod === null ? "Claim the badge?" : `Claim the badge for ${periodWords(p, badgePeriod)}?`}
        confirmLabel="Claim the badge"
        cancelLabel="Not now"
        cancelFirst
        describedBy={`${id}-badge-public`}
        onConfirm={claim}
        tx={tx}
        confirmed={confirmed}
        outcome={outcome}
      >
        <p id={`${id}-badge-public`}>
          <strong>A badge is public.</strong> It stays in your wallet, and anyone who looks at your address can see it:
          it says that you had {words} in that {periodLengthWords(p.periodLength)}. Nobody can take it from you or be
          given it.
        </p>
      </ConfirmDialog>
    </li>
  );
}

function Badges({ part, programmes }: { part: PatientPrevention | undefined; programmes: ProgrammeListing[] }) {
  const headingId = useId();
  const badges = part?.badges ?? [];
  return (
    <>
      <h3 id={headingId}>Your badges</h3>
      {badges.length === 0 ? (
        <p>No badge yet. After a confirmation you may claim one; it is your choice.</p>
      ) : (
        <ul className="plain rows" aria-labelledby={headingId}>
          {badges.map((b) => {
            const p = programmes.find((x) => x.id === b.programmeId);
            return (
              <li key={b.tokenId.toString()} className="row">
                <span aria-hidden="true" className="badge badge-active">
                  ★
                </span>
                <span>
                  {p
                    ? `${capitalize(actionWords(p))}, ${periodWords(p, b.period)} (programme ${b.programmeId.toString()})`
                    : `Programme ${b.programmeId.toString()}, period ${b.period + 1}`}
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
