import type { Metadata } from "next";

import { GovernanceConsole } from "./_components/GovernanceConsole.tsx";

export const metadata: Metadata = { title: "Governance — Consentry" };

export default function GovernancePage() {
  return (
    <>
      <h1>Governance</h1>
      <p className="lead">
        Accredit the organizations that may receive consent, suspend and reinstate them, see their members, and oversee
        every emergency (break-glass) opening.
      </p>
      <GovernanceConsole />
    </>
  );
}
