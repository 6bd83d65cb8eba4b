"use client";
import { useState } from "react";
import type { Address } from "viem";

import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { formatDateTime } from "../../_lib/dates.ts";
import { shortAddress } from "../../_lib/format.ts";
import { useOpenEmergencies, useOrganizations } from "../../_lib/ledger.ts";
import { useContractTx } from "../../_lib/tx.ts";

/** Break-glass access that is open now, loud at the top of the page, each with a Close button. */
export function EmergencyBanner({ patient }: { patient: Address }) {
  const { data: open = [] } = useOpenEmergencies(patient);
  const { nameOf } = useOrganizations();
  const tx = useContractTx();
  const [closing, setClosing] = useState<string>("");
  const status = <TxStatusLine status={tx.status} confirmed={`Emergency access by ${closing} closed.`} />;

  if (open.length === 0) return tx.status.phase === "idle" ? null : status;
  return (
    <section className="emergency" role="alert" aria-labelledby="emergency-heading">
      <h2 id="emergency-heading">Emergency access to your records is open</h2>
      <p>
        In an emergency a clinician may open your records without your consent, for emergency treatment only and for a
        short time. If you did not expect this, close it and contact the organization.
      </p>
      <ul className="plain">
        {open.map((entry) => {
          const organization = nameOf(entry.organization) ?? "an organization no longer in the register";
          return (
            <li key={entry.organization} className="emergency-item">
              <dl>
                <dt>Who</dt>
                <dd>
                  A clinician of {organization}
                  <details className="details">
                    <summary>Details</summary>
                    <span className="muted small">
                      Their account: <span title={entry.clinician}>{shortAddress(entry.clinician)}</span>
                    </span>
                  </details>
                </dd>
                <dt>Why</dt>
                <dd>Not on the public ledger: your access log at the hospital holding your records shows it</dd>
                <dt>Until</dt>
                <dd>{formatDateTime(entry.expiresAt)}</dd>
              </dl>
              <button
                type="button"
                className="button danger"
                disabled={tx.busy}
                onClick={() => {
                  setClosing(organization);
                  void tx.send("closeEmergencyAccess", [patient, entry.organization]);
                }}
              >
                Close emergency access<span className="visually-hidden"> by {organization}</span>
              </button>
            </li>
          );
        })}
      </ul>
      {status}
    </section>
  );
}
