"use client";
import type { Address } from "viem";

import { AccountFunds } from "../../_components/AccountFunds.tsx";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { useOrganizations, useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { useAccountStanding } from "../../_lib/roles.ts";
import { appChain, escrowAddress, tokenAddress } from "../../_lib/wagmi.ts";
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
      {manages ? <AccountFunds account={account} use="to fund studies with" /> : null}
      {manages ? <CreateStudyForm account={account} /> : null}
      <OrganizationStudies account={account} researcher={researcher} manages={manages} />
    </>
  );
}
