"use client";
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";

import { remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { formatAmount } from "../../_lib/amounts.ts";
import { LEDGER_KEY, useLedgerClient, useOrganizations, useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { useAccountStanding } from "../../_lib/roles.ts";
import { useTokens } from "../../_lib/studies.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { appChain, escrowAddress, isLocalDevChain, tokenAddress } from "../../_lib/wagmi.ts";
import { CreateStudyForm } from "./CreateStudyForm.tsx";
import { OrganizationStudies } from "./OrganizationStudies.tsx";

export function ResearchConsole() {
  return <WalletGate>{(account) => <Console account={account} />}</WalletGate>;
}

function Console({ account }: { account: Address }) {
  useRefreshOnNewBlock();
  const { data: standing, isPending } = useAccountStanding(account);
  const { nameOf } = useOrganizations();
  if (!escrowAddress || !tokenAddress) {
    return (
      <p className="notice" role="alert">
        No StudyEscrow is deployed on {appChain.name} in this build. Deploy it (<code>npm run deploy</code>; locally{" "}
        <code>npm start</code>) and rebuild the app.
      </p>
    );
  }
  if (isPending || !standing) return <p aria-busy="true">Reading your account from the registry…</p>;
  const researcher = standing.kind === "RESEARCHER" && standing.organization ? standing.organization : null;
  if (!researcher || !standing.active) {
    return (
      <section className="card warning" aria-labelledby="not-researcher-heading">
        <h2 id="not-researcher-heading">This account is not a research organization</h2>
        <p>
          Studies are created by an accredited research organization: its own address or an ADMIN member of it.
          {researcher && !standing.active ? " Your organization is suspended." : null} Connect such an account, or ask
          the governance body to accredit your organization.
        </p>
      </section>
    );
  }
  const manages = standing.role === "ORGANIZATION" || standing.role === "ADMIN";
  const organization = nameOf(researcher) ?? researcher;
  return (
    <>
      <p className="context-line">
        Acting for <strong>{organization}</strong> as{" "}
        {standing.role === "ORGANIZATION" ? "the organization itself" : `a member (${standing.role?.toLowerCase()})`}.
      </p>
      {manages ? null : (
        <p className="notice" role="note">
          As an analyst you follow the organization&apos;s studies. Creating, funding, cancelling and reclaiming a study
          take the organization&apos;s own address or an ADMIN member.
        </p>
      )}
      {manages ? <Funds account={account} /> : null}
      {manages ? <CreateStudyForm account={account} /> : null}
      <OrganizationStudies account={account} researcher={researcher} manages={manages} />
    </>
  );
}

/** The account's balance of the study currency, with the local chain's test faucet. */
function Funds({ account }: { account: Address }) {
  const client = useLedgerClient();
  const { tokenOf } = useTokens([tokenAddress!]);
  const token = tokenOf(tokenAddress!);
  const tx = useTx();
  const { data: balance } = useQuery({
    queryKey: [LEDGER_KEY, "token-balance", tokenAddress, account],
    enabled: !!client,
    queryFn: () =>
      client!.readContract({
        address: tokenAddress!,
        abi: remunerationTokenAbi,
        functionName: "balanceOf",
        args: [account],
      }),
  });
  const faucetAmount = token ? 1_000n * 10n ** BigInt(token.decimals) : 0n;
  return (
    <section className="card" aria-labelledby="funds-heading">
      <h2 id="funds-heading">Your funds</h2>
      <p>
        <span className="amount">
          {balance !== undefined && token ? `${formatAmount(balance, token.decimals)} ${token.symbol}` : "…"}
        </span>{" "}
        in your account, to fund studies with.
      </p>
      {isLocalDevChain && token ? (
        <div className="actions">
          <button
            type="button"
            className="button small"
            disabled={tx.busy}
            onClick={() => void tx.run(() => call(tokenAddress!, remunerationTokenAbi, "faucet", [faucetAmount]))}
          >
            Get 1,000 {token.symbol} of test money (local chain only)
          </button>
          <TxStatusLine status={tx.status} confirmed={`1,000 ${token.symbol} added to your account.`} />
        </div>
      ) : null}
    </section>
  );
}
