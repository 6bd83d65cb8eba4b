"use client";
import type { Address } from "viem";

import { WalletGate } from "../../_components/WalletGate.tsx";
import { useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { useAccountStanding } from "../../_lib/roles.ts";
import { AccreditForm } from "./AccreditForm.tsx";
import { EmergencyLog } from "./EmergencyLog.tsx";
import { Members, MembershipOffers } from "./Members.tsx";
import { OrganizationList } from "./OrganizationList.tsx";

export function GovernanceConsole() {
  return <WalletGate>{(account) => <Console account={account} />}</WalletGate>;
}

function Console({ account }: { account: Address }) {
  useRefreshOnNewBlock();
  const { data: standing, isPending } = useAccountStanding(account);
  if (isPending || !standing) return <p aria-busy="true">Reading your account from the registry…</p>;
  const governs = standing.governance;
  const manages =
    standing.organization !== null && (standing.role === "ORGANIZATION" || standing.role === "ADMIN")
      ? standing.organization
      : null;
  return (
    <>
      {governs ? null : (
        <p className="notice" role="note">
          This account does not hold the registry&apos;s governance role: you can read everything here, but accrediting,
          suspending, reinstating and removing members are refused.
          {manages ? " You can manage the members of your own organization." : null}
        </p>
      )}
      {governs ? <AccreditForm /> : null}
      <OrganizationList governs={governs} />
      <MembershipOffers account={account} />
      <Members manages={manages} governs={governs} />
      <EmergencyLog />
    </>
  );
}
