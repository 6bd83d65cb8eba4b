"use client";
import { type FormEvent, useId, useState } from "react";
import type { Address } from "viem";

import { AddressField } from "../../_components/AddressField.tsx";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { parseAddressInput } from "../../_lib/address.ts";
import { useOrganizations, useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { useAccountStanding } from "../../_lib/roles.ts";
import { BreakGlass } from "./BreakGlass.tsx";
import { GatewayRecords } from "./GatewayRecords.tsx";
import { PatientConsents } from "./PatientConsents.tsx";

export function ProviderConsole() {
  return <WalletGate>{(account) => <Console account={account} />}</WalletGate>;
}

function Console({ account }: { account: Address }) {
  useRefreshOnNewBlock();
  const { data: standing, isPending } = useAccountStanding(account);
  const { nameOf } = useOrganizations();
  const [patient, setPatient] = useState<Address | null>(null);
  if (isPending || !standing) return <p aria-busy="true">Reading your account from the registry…</p>;
  const organization = standing.kind === "PROVIDER" && standing.organization ? standing.organization : null;
  if (!organization || !standing.active) {
    return (
      <section className="card warning" aria-labelledby="not-provider-heading">
        <h2 id="not-provider-heading">This account is not a healthcare provider&apos;s</h2>
        <p>
          The provider console is for clinicians and administrators of an accredited healthcare provider.
          {organization && !standing.active ? " Your organization is suspended." : null} Connect such an account.
        </p>
      </section>
    );
  }
  const name = nameOf(organization) ?? organization;
  return (
    <>
      <p className="context-line">
        Acting for <strong>{name}</strong> as{" "}
        {standing.role === "ORGANIZATION" ? "the organization itself" : `a member (${standing.role?.toLowerCase()})`}.
      </p>
      <PatientLookup onFound={setPatient} />
      {patient ? (
        <>
          <PatientConsents patient={patient} organization={organization} organizationName={name} />
          <GatewayRecords reader={account} patient={patient} organization={organization} />
          <BreakGlass
            patient={patient}
            organization={organization}
            organizationName={name}
            clinician={standing.role === "CLINICIAN"}
          />
        </>
      ) : null}
    </>
  );
}

function PatientLookup({ onFound }: { onFound: (patient: Address) => void }) {
  const id = useId();
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const parsed = parseAddressInput(value, "the patient's address");
    if (typeof parsed !== "string") {
      setError(parsed.error);
      return;
    }
    setError("");
    onFound(parsed);
  }
  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Look a patient up</h2>
      <form noValidate onSubmit={onSubmit} className="form" role="search" aria-labelledby={`${id}-heading`}>
        <AddressField
          id={`${id}-patient`}
          label="Patient's address"
          value={value}
          onChange={setValue}
          error={error}
          help="The address the patient uses for your organization (they can show it in their wallet)."
          alert
        />
        <button type="submit" className="button primary">
          Look up
        </button>
      </form>
    </section>
  );
}
