"use client";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { type Abi, type Address, encodeFunctionData, keccak256, maxUint256, toHex } from "viem";

import {
  type FundSettingsField,
  checkFundSettings,
  durationWords,
  utf8Bytes,
  FUND_BOUNDS,
} from "#sdk/fund-settings.ts";
import { type FundCreator, fundCreator, orderFunds } from "#sdk/fund-order.ts";
import type { FundListing, FundMemberEntry, FundProposalEntry, FundStudyEntry } from "#sdk/funds.ts";
import { remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { researchFundErrorsAbi } from "#sdk/generated/error-abis.ts";
import { researchFundAbi, researchFundFactoryAbi, researchFundGovernorAbi } from "#sdk/generated/fund-abis.ts";
import { AccountFunds } from "../../_components/AccountFunds.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { formatAmount, parseAmount } from "../../_lib/amounts.ts";
import { nowSeconds } from "../../_lib/clock.ts";
import { dateFieldValue, endOfDay, formatDate, formatDateTime } from "../../_lib/dates.ts";
import { shortAddress } from "../../_lib/format.ts";
import { useHistory } from "../../_lib/history.ts";
import { LEDGER_KEY, useLedgerClient, useOrganizations, useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { useTokens } from "../../_lib/studies.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { appChain, escrowAddress, fundFactoryAddress, tokenAddress } from "../../_lib/wagmi.ts";

const HOUR = 3_600;

/** createFund's ABI with the fund's errors: the fund's constructor refuses, its error comes back through the factory. */
const CREATE_FUND_ABI = [...researchFundFactoryAbi, ...researchFundErrorsAbi] as const satisfies Abi;

/** IGovernor.ProposalState, in words. */
const PROPOSAL_STATES = [
  "Voting opens with the next block",
  "Voting",
  "Cancelled",
  "Not passed",
  "Passed: waiting to be queued in the timelock",
  "In the timelock",
  "Expired",
  "Carried out",
] as const;
const ACTIVE = 1;
const SUCCEEDED = 4;
const QUEUED = 5;

export function FundsConsole() {
  return <WalletGate>{(account) => <Console account={account} />}</WalletGate>;
}

/** The chain's time at its latest block: what a fund's end, a vote and a timelock are measured by. */
function useChainTime(): number | undefined {
  const client = useLedgerClient();
  const { data } = useQuery({
    queryKey: [LEDGER_KEY, "chain-time"],
    enabled: !!client,
    queryFn: async () => Number((await client!.getBlock({ blockTag: "latest" })).timestamp),
  });
  return data;
}

function Console({ account }: { account: Address }) {
  useRefreshOnNewBlock();
  if (!fundFactoryAddress || !escrowAddress || !tokenAddress) {
    return (
      <p className="notice" role="alert">
        No ResearchFundFactory is deployed on {appChain.name} in this build. Deploy it (<code>npm run deploy</code>;
        locally <code>npm start</code>) and rebuild the app.
      </p>
    );
  }
  return (
    <>
      <AccountFunds account={account} heading="Your money" use="to contribute to research funds with" />
      <CreateFundForm />
      <FundList account={account} />
    </>
  );
}

// ------------------------------------------------------------------ create a fund

type Errors = Partial<Record<FundSettingsField, string>>;

/** Anyone creates a fund: every setting is checked against the contract's bounds before anything is signed. */
function CreateFundForm() {
  const id = useId();
  const client = useLedgerClient();
  const tx = useTx();
  const { tokenOf } = useTokens([tokenAddress!]);
  const token = tokenOf(tokenAddress!);
  const [cause, setCause] = useState("");
  const [currency, setCurrency] = useState<Address>(tokenAddress!);
  const [goal, setGoal] = useState("");
  const [end, setEnd] = useState(() => dateFieldValue(365));
  const [quorum, setQuorum] = useState("20");
  const [votingHours, setVotingHours] = useState("72");
  const [delayHours, setDelayHours] = useState("48");
  const [errors, setErrors] = useState<Errors>({});
  const [confirmed, setConfirmed] = useState("Fund created.");

  const whole = (value: string) => (/^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found: Errors = {};
    const goalAmount = parseAmount(goal, token?.decimals ?? 18, "goal");
    if (typeof goalAmount !== "bigint") found.goal = goalAmount.error;
    const endAt = endOfDay(end);
    if (endAt === null) found.end = "Choose the day the fund ends.";
    const quorumPercent = whole(quorum);
    if (Number.isNaN(quorumPercent)) found.quorumPercent = "Enter the quorum as a whole number of percent, such as 20.";
    const voting = whole(votingHours);
    if (Number.isNaN(voting)) found.votingPeriod = "Enter the voting period in whole hours, such as 72.";
    const delay = whole(delayHours);
    if (Number.isNaN(delay)) found.timelockDelay = "Enter the timelock delay in whole hours, such as 48.";
    // The contract measures by the chain's clock: so does this check.
    const now = client ? Number((await client.getBlock({ blockTag: "latest" })).timestamp) : nowSeconds();
    const settings = {
      cause: cause.trim(),
      goal: typeof goalAmount === "bigint" ? goalAmount : 1n,
      end: endAt ?? 0,
      quorumPercent: Number.isNaN(quorumPercent) ? FUND_BOUNDS.minQuorumPercent : quorumPercent,
      votingPeriod: Number.isNaN(voting) ? HOUR : voting * HOUR,
      timelockDelay: Number.isNaN(delay) ? HOUR : delay * HOUR,
    };
    for (const problem of checkFundSettings(settings, now)) found[problem.field] ??= problem.message;
    setErrors(found);
    if (Object.keys(found).length > 0) {
      tx.fail("Some answers need correcting: see the message under each of them.");
      return;
    }
    setConfirmed(`Fund created: ${settings.cause}. It is listed below; anyone may now contribute.`);
    const ok = await tx.run(() => ({
      address: fundFactoryAddress!,
      abi: CREATE_FUND_ABI,
      functionName: "createFund",
      args: [{ ...settings, currency }],
    }));
    if (ok) {
      setCause("");
      setGoal("");
    }
  }

  const field = (name: FundSettingsField, help = false) => ({
    id: `${id}-${name}`,
    "aria-invalid": !!errors[name],
    "aria-describedby": `${help ? `${id}-${name}-help ` : ""}${id}-${name}-error`,
  });
  const error = (name: FundSettingsField) => (
    <p id={`${id}-${name}-error`} className="field-error">
      {errors[name]}
    </p>
  );
  const symbol = token?.symbol ?? "";
  const b = FUND_BOUNDS;

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Create a fund</h2>
      <p>
        Anyone may create a fund for a cause. You get no say over it that its members do not have: shares go to whoever
        contributes, and every decision is theirs by vote.
      </p>
      <form noValidate onSubmit={(e) => void onSubmit(e)} className="form" aria-labelledby={`${id}-heading`}>
        <div className="field">
          <label htmlFor={`${id}-cause`}>Cause</label>
          <input
            type="text"
            autoComplete="off"
            value={cause}
            onChange={(e) => setCause(e.target.value)}
            {...field("cause", true)}
          />
          <p id={`${id}-cause-help`} className="help">
            What the fund pays research for, such as a rare disease or a cohort ({utf8Bytes(cause)} of {b.maxCauseBytes}{" "}
            bytes).
          </p>
          {error("cause")}
        </div>
        <div className="field-row top">
          <div className="field">
            <label htmlFor={`${id}-currency`}>Currency</label>
            <select id={`${id}-currency`} value={currency} onChange={(e) => setCurrency(e.target.value as Address)}>
              <option value={tokenAddress!}>{token ? `${token.symbol}, the currency studies are paid in` : "…"}</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-goal`}>Goal ({symbol})</label>
            <input
              type="text"
              inputMode="decimal"
              value={goal}
              onChange={(e) => setGoal(e.target.value)}
              {...field("goal", true)}
            />
            <p id={`${id}-goal-help`} className="help">
              The most the fund raises; contributions stop there.
            </p>
            {error("goal")}
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${id}-end`}>Fund ends on</label>
          <input type="date" value={end} onChange={(e) => setEnd(e.target.value)} {...field("end", true)} />
          <p id={`${id}-end-help`} className="help">
            After it, no more contributions or proposals: members take back their share of what is left.
          </p>
          {error("end")}
        </div>
        <div className="field-row top">
          <div className="field">
            <label htmlFor={`${id}-quorumPercent`}>Quorum (%)</label>
            <input
              type="text"
              inputMode="numeric"
              value={quorum}
              onChange={(e) => setQuorum(e.target.value)}
              {...field("quorumPercent", true)}
            />
            <p id={`${id}-quorumPercent-help`} className="help">
              Share of all shares that must vote for (or abstain) for a proposal to count: {b.minQuorumPercent} to{" "}
              {b.maxQuorumPercent} %.
            </p>
            {error("quorumPercent")}
          </div>
          <div className="field">
            <label htmlFor={`${id}-votingPeriod`}>Voting period (hours)</label>
            <input
              type="text"
              inputMode="numeric"
              value={votingHours}
              onChange={(e) => setVotingHours(e.target.value)}
              {...field("votingPeriod", true)}
            />
            <p id={`${id}-votingPeriod-help`} className="help">
              {durationWords(b.minVotingPeriod)} to {durationWords(b.maxVotingPeriod)}.
            </p>
            {error("votingPeriod")}
          </div>
          <div className="field">
            <label htmlFor={`${id}-timelockDelay`}>Timelock delay (hours)</label>
            <input
              type="text"
              inputMode="numeric"
              value={delayHours}
              onChange={(e) => setDelayHours(e.target.value)}
              {...field("timelockDelay", true)}
            />
            <p id={`${id}-timelockDelay-help`} className="help">
              How long a passed proposal waits before it is carried out: a member who disagrees can leave with its share
              meanwhile. {durationWords(b.minTimelockDelay)} to {durationWords(b.maxTimelockDelay)}.
            </p>
            {error("timelockDelay")}
          </div>
        </div>
        <button type="submit" className="button primary" disabled={tx.busy || !token}>
          Create fund
        </button>
        <TxStatusLine status={tx.status} confirmed={confirmed} />
      </form>
    </section>
  );
}

// ------------------------------------------------------------------ every fund

function FundList({ account }: { account: Address }) {
  const funds = useHistory<FundListing[]>("funds", {});
  const mine = useHistory<{ fund: FundListing; position: FundMemberEntry }[]>("member-funds", { member: account });
  const now = useChainTime();
  const { organizations } = useOrganizations();
  let content;
  if (funds.isPending) content = <p aria-busy="true">Reading the research funds…</p>;
  else if (funds.error) content = <p role="alert">{funds.error.message}</p>;
  else if (!funds.data || funds.data.length === 0) content = <p>No research fund yet: create the first.</p>;
  else
    content = (
      <>
        <ListLag lag={funds.lag} />
        <ul className="grants plain">
          {orderFunds(
            funds.data,
            account,
            (mine.data ?? []).map((m) => m.fund.address),
            organizations,
          ).map((fund) => (
            <FundItem
              key={fund.address}
              fund={fund}
              creator={fundCreator(fund, account, organizations)}
              account={account}
              now={now}
              position={mine.data?.find((m) => m.fund.address === fund.address)?.position}
            />
          ))}
        </ul>
      </>
    );
  return (
    <section aria-labelledby="all-funds-heading">
      <h2 id="all-funds-heading">All research funds</h2>
      <p className="help">
        Anyone may create a fund and name its cause. Funds you take part in come first, then those of accredited
        organizations; each says who created it.
      </p>
      {content}
    </section>
  );
}

/** Who created a fund, in words: an organization by its name, anyone else as an account. */
function creatorWords(creator: FundCreator): string {
  if (creator.kind === "you") return "you";
  if (creator.kind === "organization") {
    return creator.active
      ? `${creator.name}, an accredited organization`
      : `${creator.name}, an organization whose accreditation is suspended`;
  }
  return `the account ${shortAddress(creator.address)}, not an accredited organization`;
}

function FundItem({
  fund,
  creator,
  account,
  now,
  position,
}: {
  fund: FundListing;
  creator: FundCreator;
  account: Address;
  now: number | undefined;
  position: FundMemberEntry | undefined;
}) {
  const id = useId();
  const client = useLedgerClient();
  const tx = useTx();
  const { tokenOf, amountOf } = useTokens([fund.currency]);
  const decimals = tokenOf(fund.currency)?.decimals ?? 18;
  const symbol = tokenOf(fund.currency)?.symbol ?? "";
  const amount = (value: bigint) => amountOf(value, fund.currency);
  const [confirmed, setConfirmed] = useState("Done.");
  const [contribution, setContribution] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const proposals = useHistory<FundProposalEntry[]>("fund-proposals", { governor: fund.governor });
  const shares = position?.shares ?? 0n;
  const member = shares > 0n;
  const { data: share } = useQuery({
    queryKey: [LEDGER_KEY, "fund-share", fund.address, shares.toString()],
    queryFn: () =>
      client!.readContract({
        address: fund.address,
        abi: researchFundAbi,
        functionName: "previewShare",
        args: [shares],
      }),
    enabled: Boolean(client) && member,
  });
  // Once it has paid for a study the fund takes no more money (a newcomer would pay for earlier spending).
  const takes = fund.open && fund.sponsored === 0n && fund.shares < fund.goal;

  const contribute = async () => {
    const parsed = parseAmount(contribution, decimals, "amount");
    if (typeof parsed !== "bigint") return setFieldError(parsed.error);
    setFieldError(null);
    const allowance = await client!.readContract({
      address: fund.currency,
      abi: remunerationTokenAbi,
      functionName: "allowance",
      args: [account, fund.address],
    });
    if (allowance < parsed) {
      setConfirmed("The fund may now take your contribution.");
      const ok = await tx.run(() => call(fund.currency, remunerationTokenAbi, "approve", [fund.address, maxUint256]));
      if (!ok) return;
    }
    setConfirmed(`You contributed ${amount(parsed)} and received as many shares; they vote from the next block.`);
    if (await tx.run(() => call(fund.address, researchFundAbi, "contribute", [parsed]))) setContribution("");
  };
  const leave = async () => {
    // Read now, not from the list's last refresh: a study settled a block ago changed the treasury.
    const now = await client!.readContract({
      address: fund.address,
      abi: researchFundAbi,
      functionName: "previewShare",
      args: [shares],
    });
    setConfirmed(`You left the fund with your share, ${amount(now)}.`);
    await tx.run(() =>
      fund.open
        ? call(fund.address, researchFundAbi, "ragequit", [shares])
        : call(fund.address, researchFundAbi, "redeem", []),
    );
  };
  const proposeClose = async () => {
    setConfirmed("Proposed: members vote on closing the fund from the next block.");
    await tx.run(() =>
      call(fund.governor, researchFundGovernorAbi, "propose", [
        [fund.address],
        [0n],
        [encodeFunctionData({ abi: researchFundAbi, functionName: "close" })],
        "Close the fund: members take back their share of what is left",
      ]),
    );
  };
  const label = <span className="visually-hidden"> ({fund.cause})</span>;

  return (
    <li className="grant" aria-labelledby={`${id}-heading`}>
      <div className="grant-head">
        <h3 id={`${id}-heading`}>{fund.cause}</h3>
        <span className={`badge ${fund.open ? "badge-active" : "badge-expired"}`}>
          {fund.open ? "Open" : fund.closed ? "Closed by its members" : "Ended"}
        </span>
      </div>
      <dl className="facts">
        <dt>Raised</dt>
        <dd>
          {amount(fund.raised)} of {amount(fund.goal)}
          {fund.shares !== fund.raised ? ` (members hold ${amount(fund.shares)} of shares now)` : ""}
        </dd>
        <dt>Ends</dt>
        <dd>{formatDate(fund.end)}</dd>
        <dt>Votes</dt>
        <dd>
          {durationWords(fund.votingPeriod)} to vote, a quorum of {fund.quorumPercent} % of the shares, then{" "}
          {durationWords(fund.timelockDelay)} in the timelock before a passed proposal is carried out
        </dd>
        <dt>Sent to studies</dt>
        <dd>
          {amount(fund.sponsored)}
          {fund.settled > 0n ? ` (${amount(fund.settled)} came back unspent)` : ""}
        </dd>
        <dt>Created by</dt>
        <dd>{creatorWords(creator)}</dd>
        <dt>Your shares</dt>
        <dd>{member ? `${amount(shares)} (worth ${amount(share ?? 0n)} now)` : "none"}</dd>
      </dl>
      {takes ? (
        <form
          className="inline-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void contribute();
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-contribution`}>Contribute ({symbol})</label>
            <input
              id={`${id}-contribution`}
              type="text"
              inputMode="decimal"
              value={contribution}
              onChange={(e) => setContribution(e.target.value)}
              aria-invalid={fieldError ? true : undefined}
              aria-describedby={`${id}-contribution-error`}
            />
            <p id={`${id}-contribution-error`} className="field-error">
              {fieldError}
            </p>
          </div>
          <div className="actions">
            <button type="submit" className="button" disabled={tx.busy}>
              Contribute{label}
            </button>
          </div>
        </form>
      ) : fund.open && fund.sponsored > 0n ? (
        <p className="help">This fund has paid for a study, so it takes no more contributions.</p>
      ) : null}
      {member ? (
        <div className="actions">
          <button type="button" className="button" disabled={tx.busy} onClick={() => void leave()}>
            {fund.open ? "Leave now with my share (ragequit)" : "Redeem my share"}
            {label}
          </button>
          {fund.open ? (
            <button type="button" className="button" disabled={tx.busy} onClick={() => void proposeClose()}>
              Propose to close the fund{label}
            </button>
          ) : null}
        </div>
      ) : null}
      <TxStatusLine status={tx.status} confirmed={confirmed} />
      {member && fund.open ? <ProposeSponsorship fund={fund} decimals={decimals} symbol={symbol} /> : null}
      <FundStudies fund={fund} amount={amount} />
      <h4>Proposals</h4>
      {proposals.data && proposals.data.length > 0 ? (
        <ul className="grants plain">
          {proposals.data.map((p) => (
            <ProposalItem
              key={p.proposalId.toString()}
              fund={fund}
              proposal={p}
              member={member}
              now={now}
              amount={amount}
            />
          ))}
        </ul>
      ) : (
        <p>No proposal yet.</p>
      )}
    </li>
  );
}

function ProposeSponsorship({ fund, decimals, symbol }: { fund: FundListing; decimals: number; symbol: string }) {
  const id = useId();
  const client = useLedgerClient();
  const tx = useTx();
  const [study, setStudy] = useState("");
  const [value, setValue] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [confirmed, setConfirmed] = useState("Proposed: members vote from the next block.");
  const propose = async () => {
    if (!/^[0-9]{1,10}$/.test(study.trim())) return setFieldError("Enter the study's number (1, 2, …).");
    const parsed = parseAmount(value, decimals, "amount");
    if (typeof parsed !== "bigint") return setFieldError(parsed.error);
    setFieldError(null);
    const studyId = BigInt(study.trim());
    const description = `Sponsor study ${studyId} with ${formatAmount(parsed, decimals)} ${symbol}`;
    setConfirmed(`Proposed: “${description}”. Members vote from the next block.`);
    await tx.run(async () => {
      // The proposal names the study's protocol as the escrow holds it now; execution checks it again.
      const terms = await client!.readContract({
        address: escrowAddress!,
        abi: studyEscrowAbi,
        functionName: "getStudy",
        args: [studyId],
      });
      return call(fund.governor, researchFundGovernorAbi, "propose", [
        [fund.address],
        [0n],
        [encodeSponsor(studyId, parsed, terms.protocolHash)],
        description,
      ]);
    });
  };
  return (
    <form
      className="inline-form"
      noValidate
      aria-label={`Propose to fund a study from ${fund.cause}`}
      onSubmit={(e) => {
        e.preventDefault();
        void propose();
      }}
    >
      <div className="field-row top">
        <div className="field">
          <label htmlFor={`${id}-study`}>Study number</label>
          <input
            id={`${id}-study`}
            type="text"
            inputMode="numeric"
            value={study}
            onChange={(e) => setStudy(e.target.value)}
            aria-describedby={`${id}-error`}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-amount`}>Amount ({symbol})</label>
          <input
            id={`${id}-amount`}
            type="text"
            inputMode="decimal"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            aria-describedby={`${id}-error`}
          />
        </div>
      </div>
      <p id={`${id}-error`} className="field-error">
        {fieldError}
      </p>
      <div className="actions">
        <button type="submit" className="button" disabled={tx.busy}>
          Propose to fund this study
        </button>
      </div>
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </form>
  );
}

function encodeSponsor(studyId: bigint, value: bigint, protocolHash: `0x${string}`): `0x${string}` {
  return encodeFunctionData({
    abi: researchFundAbi,
    functionName: "sponsorStudy",
    args: [studyId, value, protocolHash],
  });
}

/** The studies the fund paid for; after a study ends anyone settles it (the fund takes back its share of what is unspent). */
function FundStudies({ fund, amount }: { fund: FundListing; amount: (value: bigint) => string }) {
  const studies = useHistory<FundStudyEntry[]>("fund-studies", { fund: fund.address });
  const tx = useTx();
  const [confirmed, setConfirmed] = useState("Settled.");
  if (!studies.data || studies.data.length === 0) return null;
  const unsettled = studies.data.filter((s) => s.settledAmount === null).length;
  return (
    <>
      <h4>Studies it paid for</h4>
      <ul className="plain">
        {studies.data.map((s) => (
          <li key={s.studyId.toString()}>
            Study {s.studyId.toString()}: {amount(s.amount)}
            {s.settledAmount !== null ? (
              ` · settled, ${amount(s.settledAmount)} came back unspent`
            ) : (
              <>
                {" "}
                <button
                  type="button"
                  className="button small"
                  disabled={tx.busy}
                  onClick={() => {
                    setConfirmed(`Study ${s.studyId} settled: what it did not spend of the fund's money is back.`);
                    void tx.run(() => call(fund.address, researchFundAbi, "settleStudy", [s.studyId]));
                  }}
                >
                  Settle study {s.studyId.toString()}
                  <span className="visually-hidden"> ({fund.cause})</span>
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {unsettled > 0 && !fund.open ? (
        <p className="help">
          Members redeem once every study it paid for is settled: anyone settles a study after it ends.
        </p>
      ) : null}
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </>
  );
}

function ProposalItem({
  fund,
  proposal,
  member,
  now,
  amount,
}: {
  fund: FundListing;
  proposal: FundProposalEntry;
  member: boolean;
  now: number | undefined;
  amount: (value: bigint) => string;
}) {
  const client = useLedgerClient();
  const tx = useTx();
  const [confirmed, setConfirmed] = useState("Done.");
  // Whether it may be voted on, queued or carried out is the Governor's to say, at the chain's time.
  const { data: state } = useQuery({
    queryKey: [LEDGER_KEY, "proposal-state", fund.governor, proposal.proposalId.toString()],
    enabled: !!client,
    queryFn: () =>
      client!.readContract({
        address: fund.governor,
        abi: researchFundGovernorAbi,
        functionName: "state",
        args: [proposal.proposalId],
      }),
  });
  const args = [[fund.address], [0n], [proposalCalldata(proposal)], keccak256(toHex(proposal.description))] as const;
  const ready = state === QUEUED && proposal.eta !== null && now !== undefined && now >= proposal.eta;
  const stateWords =
    state === undefined
      ? "…"
      : state === ACTIVE
        ? `Voting until ${formatDateTime(proposal.voteEnd)}`
        : state === QUEUED && proposal.eta !== null
          ? ready
            ? "Ready to be carried out"
            : `In the timelock until ${formatDateTime(proposal.eta)}`
          : PROPOSAL_STATES[state];
  const vote = (support: 0 | 1) => {
    setConfirmed(support === 1 ? "You voted for it." : "You voted against it.");
    void tx.run(() => call(fund.governor, researchFundGovernorAbi, "castVote", [proposal.proposalId, support]));
  };
  const what = <span className="visually-hidden"> “{proposal.description}”</span>;
  return (
    <li className="grant">
      <p>
        <strong>{proposal.description}</strong> — {stateWords}
      </p>
      <p>
        For {amount(proposal.forVotes)} · against {amount(proposal.againstVotes)} · abstain{" "}
        {amount(proposal.abstainVotes)}
      </p>
      <div className="actions">
        {state === ACTIVE && member ? (
          <>
            <button type="button" className="button" disabled={tx.busy} onClick={() => vote(1)}>
              Vote for{what}
            </button>
            <button type="button" className="button" disabled={tx.busy} onClick={() => vote(0)}>
              Vote against{what}
            </button>
          </>
        ) : null}
        {state === SUCCEEDED ? (
          <button
            type="button"
            className="button"
            disabled={tx.busy}
            onClick={() => {
              setConfirmed("Queued: it can be carried out once the timelock delay has passed.");
              void tx.run(() => call(fund.governor, researchFundGovernorAbi, "queue", args));
            }}
          >
            Queue in the timelock{what}
          </button>
        ) : null}
        {ready ? (
          <button
            type="button"
            className="button"
            disabled={tx.busy}
            onClick={() => {
              setConfirmed("Carried out.");
              void tx.run(() => ({
                address: fund.governor,
                abi: researchFundGovernorAbi,
                functionName: "execute",
                args,
              }));
            }}
          >
            Carry it out{what}
          </button>
        ) : null}
      </div>
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </li>
  );
}

function proposalCalldata(p: FundProposalEntry): `0x${string}` {
  return p.action === "close"
    ? encodeFunctionData({ abi: researchFundAbi, functionName: "close" })
    : encodeSponsor(p.studyId!, p.amount!, p.protocolHash!);
}
