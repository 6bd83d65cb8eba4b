"use client";
import type { Address } from "viem";

import { AccountFunds } from "../../_components/AccountFunds.tsx";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { useOrganizations, useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { rewardsAddress } from "../../_lib/prevention.ts";
import { useAccountStanding } from "../../_lib/roles.ts";
import { appChain, tokenAddress } from "../../_lib/wagmi.ts";
import { CreateProgrammeForm } from "./CreateProgrammeForm.tsx";
import { PayerProgrammes } from "./PayerProgrammes.tsx";

export function PayerConsole() {
  return <WalletGate>{(account) => <Console account={account} />}</WalletGate>;
}

function Console({ account }: { account: Address }) {
  useRefreshOnNewBlock();
  const { data: standing, isPending } = useAccountStanding(account);
  const { nameOf } = useOrganizations();
  if (!rewardsAddress || !tokenAddress) {
    return (
      <p className="notice" role="alert">
        No PreventionRewards is deployed on {appChain.name} in this build. Deploy it (<code>npm run deploy</code>;
        locally <code>npm start</code>) and rebuild the app.
      </p>
    );
  }
  if (isPending || !standing) return <p aria-busy="true">Reading your account from the registry…</p>;
  const payer =
    (standing.kind === "PAYER" || standing.kind === "PUBLIC_HEALTH") && standing.organization
      ? standing.organization
      : null;
  if (!payer || !standing.active) {
    return (
      <section className="card warning" aria-labelledby="not-payer-heading">
        <h2 id="not-payer-heading">This account is not a payer</h2>
        <p>
          Prevention programmes are created by an accredited health insurer (a payer) or public health body: its own
          address or an ADMIN member of it.
          {payer && !standing.active ? " Your organization is suspended." : null} Connect such an account, or ask the
          governance body to accredit your organization.
        </p>
      </section>
    );
  }
  const manages = standing.role === "ORGANIZATION" || standing.role === "ADMIN";
  return (
    <>
      <p className="context-line">
        Acting for <strong>{nameOf(payer) ?? payer}</strong> as{" "}
        {standing.role === "ORGANIZATION" ? "the organization itself" : `a member (${standing.role?.toLowerCase()})`}.
      </p>
      {manages ? null : (
        <p className="notice" role="note">
          You follow the organization&apos;s programmes. Creating, funding, cancelling and reclaiming take the
          organization&apos;s own address or an ADMIN member.
        </p>
      )}
      {manages ? <AccountFunds account={account} use="to fund programmes with" /> : null}
      {manages ? <CreateProgrammeForm account={account} /> : null}
      <PayerProgrammes account={account} payer={payer} manages={manages} />
    </>
  );
}
