"use client";
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { type Address, encodeFunctionData, keccak256, maxUint256, toHex } from "viem";

import type { FundListing, FundMemberEntry, FundProposalEntry } from "#sdk/funds.ts";
import { remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { researchFundAbi, researchFundGovernorAbi } from "#sdk/generated/fund-abis.ts";
import { ListLag } from "../../_components/ListLag.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { formatAmount, parseAmount } from "../../_lib/amounts.ts";
import { nowSeconds } from "../../_lib/clock.ts";
import { formatDate } from "../../_lib/dates.ts";
import { useHistory } from "../../_lib/history.ts";
import { LEDGER_KEY, useLedgerClient, useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { escrowAddress } from "../../_lib/wagmi.ts";

/** Fund shares and the currencies the escrow allows have 18 decimals in this deployment. */
const DECIMALS = 18;
const amount = (value: bigint) => `${formatAmount(value, DECIMALS)} CRC`;

export function FundsConsole() {
  return <WalletGate>{(account) => <Funds account={account} />}</WalletGate>;
}

function Funds({ account }: { account: Address }) {
  useRefreshOnNewBlock();
  const funds = useHistory<FundListing[]>("funds", {});
  const mine = useHistory<{ fund: FundListing; position: FundMemberEntry }[]>("member-funds", { member: account });
  if (funds.isPending) return <p aria-busy="true">Reading the research funds…</p>;
  if (funds.error) return <p role="alert">{funds.error.message}</p>;
  if (!funds.data || funds.data.length === 0) return <p>No research fund yet.</p>;
  return (
    <>
      <ListLag lag={funds.lag} />
      <ul className="grants">
        {funds.data.map((fund) => (
          <FundItem
            key={fund.address}
            fund={fund}
            account={account}
            position={mine.data?.find((m) => m.fund.address === fund.address)?.position}
          />
        ))}
      </ul>
    </>
  );
}

function FundItem({
  fund,
  account,
  position,
}: {
  fund: FundListing;
  account: Address;
  position: FundMemberEntry | undefined;
}) {
  const headingId = useId();
  const client = useLedgerClient();
  const tx = useTx();
  const [confirmed, setConfirmed] = useState("Done.");
  const [contribution, setContribution] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const proposals = useHistory<FundProposalEntry[]>("fund-proposals", { governor: fund.governor });
  const shares = position?.shares ?? 0n;
  const { data: share } = useQuery({
    queryKey: [LEDGER_KEY, "fund-share", fund.address, shares.toString()],
    queryFn: () =>
      client!.readContract({
        address: fund.address,
        abi: researchFundAbi,
        functionName: "previewShare",
        args: [shares],
      }),
    enabled: Boolean(client) && shares > 0n,
  });

  const contribute = async () => {
    const parsed = parseAmount(contribution, DECIMALS, "amount");
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
    await tx.run(() => call(fund.address, researchFundAbi, "contribute", [parsed]));
  };
  const leave = async () => {
    setConfirmed(`You left the fund with your share, ${amount(share ?? 0n)}.`);
    await tx.run(() =>
      fund.open
        ? call(fund.address, researchFundAbi, "ragequit", [shares])
        : call(fund.address, researchFundAbi, "redeem", []),
    );
  };

  return (
    <li className="grant" aria-labelledby={headingId}>
      <div className="grant-head">
        <h2 id={headingId}>{fund.cause}</h2>
        <span className={`badge ${fund.open ? "badge-active" : "badge-expired"}`}>
          {fund.open ? "Open" : fund.closed ? "Closed by its members" : "Ended"}
        </span>
      </div>
      <dl className="facts">
        <dt>Raised</dt>
        <dd>
          {amount(fund.raised)} of {amount(fund.goal)}
        </dd>
        <dt>Ends</dt>
        <dd>{formatDate(fund.end)}</dd>
        <dt>Votes</dt>
        <dd>
          {fund.votingPeriod / 3600} hours to vote, a quorum of {fund.quorumPercent} % of the shares, then{" "}
          {fund.timelockDelay / 3600} hours in the timelock before a passed proposal executes
        </dd>
        <dt>Sent to studies</dt>
        <dd>{amount(fund.sponsored)}</dd>
        <dt>Your shares</dt>
        <dd>{shares > 0n ? `${amount(shares)} (worth ${amount(share ?? 0n)} now)` : "none"}</dd>
      </dl>
      {fund.open ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void contribute();
          }}
        >
          <label>
            Contribute (CRC)
            <input
              inputMode="decimal"
              value={contribution}
              onChange={(e) => setContribution(e.target.value)}
              aria-invalid={fieldError ? true : undefined}
            />
          </label>
          {fieldError ? <p role="alert">{fieldError}</p> : null}
          <button type="submit" disabled={tx.busy}>
            Contribute
          </button>
        </form>
      ) : null}
      {shares > 0n ? (
        <button type="button" className="secondary" disabled={tx.busy} onClick={() => void leave()}>
          {fund.open ? "Leave now with my share (ragequit)" : "Redeem my share"}
        </button>
      ) : null}
      <TxStatusLine status={tx.status} confirmed={confirmed} />
      {shares > 0n && fund.open ? <ProposeSponsorship fund={fund} /> : null}
      <h3>Proposals</h3>
      {proposals.data && proposals.data.length > 0 ? (
        <ul className="grants">
          {proposals.data.map((p) => (
            <ProposalItem key={p.proposalId.toString()} fund={fund} proposal={p} member={shares > 0n} />
          ))}
        </ul>
      ) : (
        <p>No proposal yet.</p>
      )}
    </li>
  );
}

function ProposeSponsorship({ fund }: { fund: FundListing }) {
  const client = useLedgerClient();
  const tx = useTx();
  const [study, setStudy] = useState("");
  const [value, setValue] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const propose = async () => {
    if (!/^[0-9]{1,10}$/.test(study.trim())) return setFieldError("Enter the study's number (1, 2, …).");
    const parsed = parseAmount(value, DECIMALS, "amount");
    if (typeof parsed !== "bigint") return setFieldError(parsed.error);
    setFieldError(null);
    const studyId = BigInt(study.trim());
    // The proposal names the study's protocol as the escrow holds it now; execution checks it again.
    const terms = await client!.readContract({
      address: escrowAddress!,
      abi: studyEscrowAbi,
      functionName: "getStudy",
      args: [studyId],
    });
    const calldata = encodeSponsor(studyId, parsed, terms.protocolHash);
    await tx.run(() =>
      call(fund.governor, researchFundGovernorAbi, "propose", [
        [fund.address],
        [0n],
        [calldata],
        `Sponsor study ${studyId} with ${amount(parsed)}`,
      ]),
    );
  };
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void propose();
      }}
    >
      <label>
        Study number
        <input inputMode="numeric" value={study} onChange={(e) => setStudy(e.target.value)} />
      </label>
      <label>
        Amount (CRC)
        <input inputMode="decimal" value={value} onChange={(e) => setValue(e.target.value)} />
      </label>
      {fieldError ? <p role="alert">{fieldError}</p> : null}
      <button type="submit" disabled={tx.busy}>
        Propose to fund this study
      </button>
      <TxStatusLine status={tx.status} confirmed="Proposed: members vote from the next block." />
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

function ProposalItem({ fund, proposal, member }: { fund: FundListing; proposal: FundProposalEntry; member: boolean }) {
  const tx = useTx();
  const now = nowSeconds();
  const voting = now > proposal.voteStart && now <= proposal.voteEnd && !proposal.canceled;
  const args = [[fund.address], [0n], [proposalCalldata(proposal)], keccak256(toHex(proposal.description))] as const;
  const state = proposal.executed
    ? "Executed"
    : proposal.canceled
      ? "Cancelled"
      : proposal.eta !== null
        ? now >= proposal.eta
          ? "Ready to execute"
          : `In the timelock until ${formatDate(proposal.eta)}`
        : voting
          ? `Voting until ${formatDate(proposal.voteEnd)}`
          : "Voting over";
  return (
    <li className="grant">
      <p>
        <strong>{proposal.description}</strong> — {state}
      </p>
      <p>
        For {amount(proposal.forVotes)} · against {amount(proposal.againstVotes)} · abstain{" "}
        {amount(proposal.abstainVotes)}
      </p>
      {voting && member ? (
        <>
          <button
            type="button"
            disabled={tx.busy}
            onClick={() =>
              void tx.run(() => call(fund.governor, researchFundGovernorAbi, "castVote", [proposal.proposalId, 1]))
            }
          >
            Vote for
          </button>{" "}
          <button
            type="button"
            className="secondary"
            disabled={tx.busy}
            onClick={() =>
              void tx.run(() => call(fund.governor, researchFundGovernorAbi, "castVote", [proposal.proposalId, 0]))
            }
          >
            Vote against
          </button>
        </>
      ) : null}
      {!voting && !proposal.executed && !proposal.canceled && proposal.eta === null && now > proposal.voteEnd ? (
        <button
          type="button"
          disabled={tx.busy}
          onClick={() => void tx.run(() => call(fund.governor, researchFundGovernorAbi, "queue", args))}
        >
          Queue in the timelock
        </button>
      ) : null}
      {proposal.eta !== null && !proposal.executed && now >= proposal.eta ? (
        <button
          type="button"
          disabled={tx.busy}
          onClick={() =>
            void tx.run(() => ({ address: fund.governor, abi: researchFundGovernorAbi, functionName: "execute", args }))
          }
        >
          Execute
        </button>
      ) : null}
      <TxStatusLine status={tx.status} />
    </li>
  );
}

function proposalCalldata(p: FundProposalEntry): `0x${string}` {
  return p.action === "close"
    ? encodeFunctionData({ abi: researchFundAbi, functionName: "close" })
    : encodeSponsor(p.studyId!, p.amount!, p.protocolHash!);
}
