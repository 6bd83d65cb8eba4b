"use client";
import { useId } from "react";

import type { EmergencyLogEntry } from "#sdk/ledger.ts";
import { ListLag } from "../../_components/ListLag.tsx";
import { formatDateTime } from "../../_lib/dates.ts";
import { shortAddress } from "../../_lib/format.ts";
import { useHistory } from "../../_lib/history.ts";
import { useOrganizations } from "../../_lib/ledger.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

const STATE_WORDS = { open: "Open", closed: "Closed early", expired: "Ended" } as const;
const STATE_BADGE = { open: "badge-revoked", closed: "badge-expired", expired: "badge-expired" } as const;

/** Every break-glass opening, newest first: who, for which patient, why, until when, and how it ended. */
export function EmergencyLog() {
  const id = useId();
  const { nameOf } = useOrganizations();
  const {
    data = [],
    isPending,
    isError,
    lag,
  } = useHistory<EmergencyLogEntry[]>("emergency-log", registryAddress ? {} : null);
  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Emergency access (break-glass) log</h2>
      <p>
        Every time a clinician opened a patient&apos;s records without consent. The reason is not on the chain (it would
        tell anyone why the patient needed emergency care), only a commitment to it: the custodians that released
        records hold the reason, checked against that commitment, in their access logs.
      </p>
      <ListLag lag={lag} />
      {isPending ? (
        <p aria-busy="true">Reading the openings…</p>
      ) : isError ? (
        <p className="notice" role="alert">
          The openings could not be read just now.
        </p>
      ) : data.length === 0 ? (
        <p>No emergency access was ever opened.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table" aria-labelledby={`${id}-heading`}>
            <thead>
              <tr>
                <th scope="col">Opened</th>
                <th scope="col">Who</th>
                <th scope="col">Patient</th>
                <th scope="col">Reason</th>
                <th scope="col">Until</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {data.map((e) => (
                <tr key={`${e.openedAtBlock}-${e.patient}-${e.organization}`}>
                  <td data-label="Opened">{formatDateTime(e.openedAt)}</td>
                  <td data-label="Who">
                    Clinician <span title={e.clinician}>{shortAddress(e.clinician)}</span> at{" "}
                    {nameOf(e.organization) ?? shortAddress(e.organization)}
                  </td>
                  <td data-label="Patient" className="address" title={e.patient}>
                    {e.patient}
                  </td>
                  <td data-label="Reason">
                    Held by the custodians{" "}
                    <span className="small muted" title={e.reasonCommitment}>
                      (commitment {e.reasonCommitment.slice(0, 10)}…)
                    </span>
                  </td>
                  <td data-label="Until">{formatDateTime(e.expiresAt)}</td>
                  <td data-label="Status">
                    <span className={`badge ${STATE_BADGE[e.state]}`}>{STATE_WORDS[e.state]}</span>
                    {e.closed ? (
                      <span className="small muted">
                        {" "}
                        by {nameOf(e.closed.by) ?? shortAddress(e.closed.by)} at {formatDateTime(e.closed.at)}
                      </span>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
