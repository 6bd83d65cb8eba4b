"use client";
import { useId } from "react";
import { type Address, isAddressEqual } from "viem";

import { grantState } from "#sdk/ledger.ts";
import { ListLag } from "../../_components/ListLag.tsx";
import { useNow } from "../../_lib/clock.ts";
import { formatDate } from "../../_lib/dates.ts";
import { GRANT_STATE_WORDS, byGrantState, grantSentence, shortAddress } from "../../_lib/format.ts";
import { usePatientGrants } from "../../_lib/ledger.ts";

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
  const { data, isPending, isError, lag } = usePatientGrants(patient);
  const now = Math.max(useNow(), data?.timestamp ?? 0);
  const grants = byGrantState(
    (data?.grants ?? []).filter((g) => isAddressEqual(g.grantee, organization)),
    now,
  );
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
                  <span className={`badge badge-${state}`}>{GRANT_STATE_WORDS[state]}</span>
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
