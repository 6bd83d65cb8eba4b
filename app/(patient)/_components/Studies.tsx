"use client";
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";
import { simulateContract } from "wagmi/actions";

import { decodePurpose } from "#sdk/codes.ts";
import { PARTICIPANT_STATUS, type ParticipantStatus, type StudyListing, readWithdrawal } from "#sdk/escrow.ts";
import type { StudySponsorEntry } from "#sdk/funds.ts";
import { studyEscrowAbi } from "#sdk/generated/abis.ts";
import { Earnings, type RelayedWithdrawal } from "../../_components/Earnings.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { RelayerChoice } from "../../_components/RelayerChoice.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { formatEstimate } from "../../_lib/amounts.ts";
import { nowSeconds } from "../../_lib/clock.ts";
import { formatDate } from "../../_lib/dates.ts";
import { useHistory } from "../../_lib/history.ts";
import { shortAddress } from "../../_lib/format.ts";
import { LEDGER_KEY, useLedgerClient, useOrganizations } from "../../_lib/ledger.ts";
import { RESEARCH_PURPOSE_MEANING } from "../../_lib/researchPurposes.ts";
import {
  patientShareRange,
  studyPurposeCode,
  studyPurposeWords,
  studyScopeWords,
  useStudies,
  useTokens,
} from "../../_lib/studies.ts";
import { SIGNATURE_LIFETIME_SECONDS, revocationNonce, signAndRelay, useRelayers } from "../../_lib/relay.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { appChain, escrowAddress } from "../../_lib/wagmi.ts";

/** Research earnings: a gateway may send their signed withdrawal (the StudyEscrow's row). */
const STUDY_WITHDRAWAL: RelayedWithdrawal = { action: "withdraw", read: readWithdrawal };

function useParticipation(patient: Address, studies: readonly StudyListing[]) {
  const client = useLedgerClient();
  const ids = studies.map((s) => s.id.toString());
  return useQuery({
    queryKey: [LEDGER_KEY, "participation", escrowAddress, patient, ids],
    enabled: !!client && !!escrowAddress && studies.length > 0,
    queryFn: async () => {
      const entries = await Promise.all(
        studies.map((s) =>
          client!.readContract({
            address: escrowAddress!,
            abi: studyEscrowAbi,
            functionName: "getParticipant",
            args: [s.id, patient],
          }),
        ),
      );
      return new Map(
        studies.map((s, i) => [s.id, PARTICIPANT_STATUS[entries[i]!.status] ?? ("None" as ParticipantStatus)]),
      );
    },
  });
}

/** What a direct join would cost her in the chain's own currency ("0.00012 ETH"), or null while unknown. */
function useJoinFee(studyId: bigint, patient: Address, enabled: boolean): string | null {
  const client = useLedgerClient();
  const { data } = useQuery({
    queryKey: [LEDGER_KEY, "join-fee", escrowAddress, studyId.toString(), patient],
    enabled: enabled && !!client && !!escrowAddress,
    retry: false,
    queryFn: async () => {
      const [gas, price] = await Promise.all([
        client!.estimateContractGas({
          address: escrowAddress!,
          abi: studyEscrowAbi,
          functionName: "join",
          args: [studyId],
          account: patient,
        }),
        client!.getGasPrice(),
      ]);
      // Two significant digits are enough for an estimate.
      return `${formatEstimate(gas * price, appChain.nativeCurrency.decimals)} ${appChain.nativeCurrency.symbol}`;
    },
  });
  return data ?? null;
}

/** Research studies: open ones to join (directly or without a fee, through a custodian's gateway),
 * the ones the patient is in, and what the patient earned. */
export function Studies({ patient }: { patient: Address }) {
  const { data, isPending, isError, lag } = useStudies();
  const studies = data?.studies ?? [];
  const { data: participation } = useParticipation(patient, studies);
  const statusOf = (id: bigint): ParticipantStatus => participation?.get(id) ?? "None";
  const shown = studies.filter((s) => s.enrolling || statusOf(s.id) !== "None");
  const currencies = [...new Set(studies.map((s) => s.currency))];
  const tokens = useTokens(currencies);
  const symbols = [...new Set(currencies.map((c) => tokens.tokenOf(c)?.symbol).filter((x) => x !== undefined))];

  if (!escrowAddress) return null;
  return (
    <section className="card" aria-labelledby="studies-heading">
      <h2 id="studies-heading">Research studies</h2>
      <p>
        Researchers pay for the use of your data in a study. Joining gives the study&apos;s research organization
        consent for the kinds of data listed, until the study ends. Each time a hospital or lab sends your data to the
        study, you are paid. You can leave at any time; what you earned stays yours.
      </p>
      <p>
        Your data leave your hospital or lab under a code name (this is called pseudonymised): your name and wallet are
        replaced by a code that only the study sees.
      </p>
      {symbols.length > 0 ? (
        <p>
          Studies pay in {symbols.join(" or ")}: research credits, money that the research organization puts aside for
          its study before it starts. You can take what you earn out to your wallet.
        </p>
      ) : null}
      <ListLag lag={lag} plain />
      {isPending ? (
        <p aria-busy="true">Reading the studies…</p>
      ) : isError ? (
        <p className="notice" role="alert">
          The studies could not be read just now. Check your internet connection and reload the page.
        </p>
      ) : shown.length === 0 ? (
        <p>No study is open for enrolment right now.</p>
      ) : (
        <ul className="plain studies">
          {shown.map((s) => (
            <StudyItem
              key={s.id.toString()}
              study={s}
              patient={patient}
              status={statusOf(s.id)}
              amountOf={tokens.amountOf}
            />
          ))}
        </ul>
      )}
      <Earnings
        patient={patient}
        escrow={escrowAddress}
        currencies={currencies}
        amountOf={tokens.amountOf}
        relayed={STUDY_WITHDRAWAL}
        nothingYet="You are paid each time a hospital or lab sends your data to a study you are in."
      />
    </section>
  );
}

const STATUS_WORDS: Record<ParticipantStatus, string> = { None: "", Joined: "You take part", Left: "You left" };

function StudyItem({
  study,
  patient,
  status,
  amountOf,
}: {
  study: StudyListing;
  patient: Address;
  status: ParticipantStatus;
  amountOf: (amount: bigint, token: Address) => string;
}) {
  const id = useId();
  const config = useConfig();
  const client = useLedgerClient();
  const { nameOf } = useOrganizations();
  const tx = useTx();
  const [confirmed, setConfirmed] = useState("Done.");
  const researcher = nameOf(study.researcher) ?? shortAddress(study.researcher);
  const share = patientShareRange(study);
  const custodianNames = study.custodians.map((c) => nameOf(c.custodian) ?? shortAddress(c.custodian));
  // The gasless path: the custodians of this study that publish a gateway on-chain.
  const gateways = useRelayers(study.custodians.map((c) => c.custodian));
  const [chosenRelay, setRelay] = useState("");
  const relayVia = gateways.find((g) => g.address === chosenRelay) ?? gateways[0];
  const headingId = `${id}-heading`;
  const label = `study ${study.id.toString()}`;
  const decoded = decodePurpose(study.purpose);
  const meaning = decoded ? RESEARCH_PURPOSE_MEANING[decoded.purpose] : undefined;
  const directFee = useJoinFee(study.id, patient, study.enrolling && status !== "Joined" && !study.attestedEnrolment);

  const joinDirectly = async () => {
    setConfirmed(`You joined ${label}.`);
    await tx.run(() => call(escrowAddress!, studyEscrowAbi, "join", [study.id]));
  };

  const attested = study.attestedEnrolment;

  const joinGasless = async () => {
    if (!relayVia) return;
    setConfirmed(
      attested
        ? `You joined ${label}; ${relayVia.name} confirmed it holds your records and paid the fee.`
        : `You joined ${label}; ${relayVia.name} paid the fee.`,
    );
    await tx.run(async (step) => {
      // The same checks as a direct join, before anything is signed (an attested study's join
      // needs the custodian's attestation, which its gateway adds: it checks the rest).
      if (!attested) {
        await simulateContract(config, {
          address: escrowAddress!,
          abi: studyEscrowAbi,
          functionName: "join",
          args: [study.id],
          account: patient,
          chainId: appChain.id,
        });
      }
      const { nonce } = await client!.readContract({
        address: escrowAddress!,
        abi: studyEscrowAbi,
        functionName: "getParticipant",
        args: [study.id, patient],
      });
      // The terms as the escrow holds them now: the wallet shows them, the signature binds them.
      const terms = await client!.readContract({
        address: escrowAddress!,
        abi: studyEscrowAbi,
        functionName: "getStudy",
        args: [study.id],
      });
      // Her revocation nonce in the registry: a revoke-all or a cancellation before it is sent voids it.
      const registryNonce = await revocationNonce(config, patient);
      const deadline = BigInt(nowSeconds() + SIGNATURE_LIFETIME_SECONDS);
      return signAndRelay(
        config,
        step,
        relayVia,
        "join",
        { studyId: study.id, patient, nonce, deadline, terms, registryNonce },
        "Sign the request to join in your wallet (no fee)…",
      );
    });
  };

  const leave = async () => {
    setConfirmed(`You left ${label}. Its research organization no longer has your consent.`);
    await tx.run(() => call(escrowAddress!, studyEscrowAbi, "leave", [study.id]));
  };

  return (
    <li className="study" aria-labelledby={headingId}>
      <div className="grant-head">
        <h3 id={headingId}>
          Study {study.id.toString()}: {studyPurposeWords(study.purpose, false)}
        </h3>
        {status !== "None" ? (
          <span className={`badge ${status === "Joined" ? "badge-active" : "badge-expired"}`}>
            {STATUS_WORDS[status]}
          </span>
        ) : (
          <span className="badge badge-not-yet-valid">Open</span>
        )}
      </div>
      <dl className="facts">
        <dt>Researcher</dt>
        <dd>{researcher}</dd>
        <dt>Uses</dt>
        <dd>{studyScopeWords(study)}</dd>
        {meaning ? (
          <>
            <dt>What research</dt>
            <dd>{meaning}</dd>
          </>
        ) : null}
        <dt>Pays</dt>
        <dd>
          {amountOf(study.price, study.currency)} each time a hospital or lab sends your data to the study. You receive{" "}
          {share.min === share.max
            ? amountOf(share.min, study.currency)
            : `${amountOf(share.min, study.currency)} to ${amountOf(share.max, study.currency)}`}{" "}
          of it; the rest is for the hospital or lab that sends it ({custodianNames.join(", ")}).
        </dd>
        <dt>Enrolment</dt>
        <dd>
          {study.enrolling ? `Open until ${formatDate(study.enrolmentDeadline)}` : "Closed"} · {study.participants} of{" "}
          {study.maxParticipants} places taken
          {attested ? ` · only for patients of ${custodianNames.join(", ")}, who confirm it when you join` : ""}
        </dd>
        <dt>Ends</dt>
        <dd>
          {study.statusName === "Cancelled" ? "Cancelled on " : ""}
          {formatDate(study.endTime)}
        </dd>
        {status !== "None" ? <StudySponsors study={study} amountOf={amountOf} /> : null}
      </dl>
      <details className="details">
        <summary>Details</summary>
        <p className="muted small">Research use code {studyPurposeCode(study.purpose)}.</p>
      </details>
      {status === "Joined" ? (
        <div className="actions">
          <button type="button" className="button danger" disabled={tx.busy} onClick={() => void leave()}>
            Leave<span className="visually-hidden"> {label}</span>
          </button>
        </div>
      ) : study.enrolling ? (
        <>
          {!attested || relayVia ? (
            <p className="join-ways">{attested || !relayVia ? "To join:" : "Two ways to join:"}</p>
          ) : null}
          <ul className="plain join-options">
            {attested ? null : (
              <li>
                <button
                  type="button"
                  className="button primary"
                  disabled={tx.busy}
                  aria-describedby={`${id}-direct`}
                  onClick={() => void joinDirectly()}
                >
                  Join<span className="visually-hidden"> {label}</span>
                </button>
                <p className="help" id={`${id}-direct`}>
                  You send the request from your wallet and pay the processing fee yourself
                  {directFee ? `: about ${directFee}.` : "."}
                </p>
              </li>
            )}
            {relayVia ? (
              <li>
                <RelayerChoice gateways={gateways} chosen={relayVia} onChoose={setRelay} />
                <button
                  type="button"
                  className={attested ? "button primary" : "button"}
                  disabled={tx.busy}
                  aria-describedby={`${id}-relayed`}
                  onClick={() => void joinGasless()}
                >
                  {attested ? "Join" : "Join without a fee"}
                  <span className="visually-hidden">
                    {" "}
                    {label}, through {relayVia.name}
                  </span>
                </button>
                <p className="help" id={`${id}-relayed`}>
                  {attested
                    ? `This study takes only patients whose hospital or lab confirms it holds their records: you sign the request, and ${relayVia.name} confirms you are its patient, sends it and pays the processing fee. It works if you are a patient there.`
                    : `No fee for you: you only sign the request, and ${relayVia.name} sends it and pays the processing fee. It works if you are a patient there.`}
                </p>
              </li>
            ) : null}
          </ul>
          {attested && !relayVia ? (
            <p className="help">
              This study takes only patients whose hospital or lab confirms it holds their records, and none of the
              places that hold records for it can confirm this online yet.
            </p>
          ) : null}
        </>
      ) : null}
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </li>
  );
}

/** Who paid for a study the patient takes part in besides its researcher: the research funds (by
 * their cause) that sponsored it by their members' vote. */
function StudySponsors({
  study,
  amountOf,
}: {
  study: StudyListing;
  amountOf: (amount: bigint, token: Address) => string;
}) {
  const { data } = useHistory<StudySponsorEntry[]>("study-sponsors", { study: study.id.toString() });
  if (!data || data.length === 0) return null;
  const bySponsor = new Map<Address, { cause: string | null; amount: bigint }>();
  for (const s of data) {
    const seen = bySponsor.get(s.sponsor);
    bySponsor.set(s.sponsor, { cause: s.cause, amount: (seen?.amount ?? 0n) + s.amount });
  }
  return (
    <>
      <dt>Also paid for by</dt>
      <dd>
        {[...bySponsor].map(([sponsor, { cause, amount }], i) => (
          <span key={sponsor}>
            {i > 0 ? "; " : ""}
            {cause ? `the research fund “${cause}”` : shortAddress(sponsor)} ({amountOf(amount, study.currency)})
          </span>
        ))}
      </dd>
    </>
  );
}
