"use client";
import { useId } from "react";
import type { Address } from "viem";

import type { GrantState } from "#sdk/fhir.ts";
import { type PatientGrants, grantState } from "#sdk/ledger.ts";
import { ListLag } from "../../_components/ListLag.tsx";
import { formatDate, grantSentence, shortAddress } from "../../_lib/format.ts";
import { useHistory } from "../../_lib/history.ts";
import { useNow } from "../../_lib/hooks.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

const STATE_WORDS: Record<GrantState, string> = {
  active: "Active",
  "not-yet-valid": "Starts later",
  expired: "Expired",
  revoked: "Revoked",
};
const ORDER: GrantState[] = ["active", "not-yet-valid", "expired", "revoked"];

/** The patient's consents that name this organization, in plain words, active first. */
export function PatientConsents({
  patient,
  organization,
  organizationName,
}: {
  patient: Address;
  organization: Address;
  organizationName: string;
}) {
  const id = useId();
  const { data, isPending, isError, lag } = useHistory<PatientGrants>("grants", registryAddress ? { patient } : null);
  const now = Math.max(useNow(), data?.timestamp ?? 0);
  const grants = (data?.grants ?? [])
    .filter((g) => g.grantee.toLowerCase() === organization.toLowerCase())
    .sort((a, b) => ORDER.indexOf(grantState(a, now)) - ORDER.indexOf(grantState(b, now)));
  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>
        Consents of patient <span title={patient}>{shortAddress(patient)}</span> for {organizationName}
      </h2>
      <ListLag lag={lag} />
      {isPending ? (
        <p aria-busy="true">Reading the patient&apos;s consents…</p>
      ) : isError ? (
        <p className="notice" role="alert">
          The consents could not be read just now.
        </p>
      ) : grants.length === 0 ? (
        <p>This patient has given {organizationName} no consent. Only emergency access is possible.</p>
      ) : (
        <ul className="grants plain">
          {grants.map((g) => {
            const state = grantState(g, now);
            return (
              <li key={g.grantId} className={`grant grant-${state}`}>
                <div className="grant-head">
                  <p className="grant-sentence">{grantSentence(g)}</p>
                  <span className={`badge badge-${state}`}>{STATE_WORDS[state]}</span>
                </div>
                <p className="muted small">
                  {state === "not-yet-valid" ? `Starts on ${formatDate(g.validFrom)}. ` : null}
                  {state === "expired" ? `Ended on ${formatDate(g.expiresAt)}. ` : null}
                  {g.revoked ? "The patient revoked it." : null}
                </p>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
