"use client";
import { useId, useRef, useState } from "react";
import { stringToHex } from "viem";

import { KIND_WORDS } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import type { Organization } from "#sdk/ledger.ts";
import { ConfirmDialog, type ConfirmDialogHandle } from "../../_components/ConfirmDialog.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { capitalize } from "../../_lib/format.ts";
import { useOrganizations } from "../../_lib/ledger.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

/** Suspension reasons: short codes stored as bytes32 in the event, with words for people. */
const SUSPENSION_REASONS = {
  LICENCE_EXPIRED: "Licence expired or withdrawn",
  UNDER_INVESTIGATION: "Under investigation",
  SECURITY_INCIDENT: "Security incident (e.g. a compromised key)",
  REQUESTED: "At the organization's request",
} as const;
type SuspensionReason = keyof typeof SUSPENSION_REASONS;

export function OrganizationList({ governs }: { governs: boolean }) {
  const id = useId();
  const { organizations, isPending, lag } = useOrganizations();
  const tx = useTx();
  const dialog = useRef<ConfirmDialogHandle>(null);
  const [target, setTarget] = useState<Organization | null>(null);
  const [reason, setReason] = useState<SuspensionReason>("LICENCE_EXPIRED");
  const [confirmed, setConfirmed] = useState("Done.");

  const reinstate = (o: Organization) => {
    setConfirmed(`${o.name} is reinstated.`);
    void tx.run(() => call(registryAddress!, consentRegistryAbi, "reinstate", [o.address]));
  };

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Accredited organizations</h2>
      <ListLag lag={lag} />
      {isPending ? (
        <p aria-busy="true">Reading the registry…</p>
      ) : organizations.length === 0 ? (
        <p>No organization is accredited yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Uses</th>
                <th scope="col">Gateway</th>
                <th scope="col">Address</th>
                {governs ? <th scope="col">Action</th> : null}
              </tr>
            </thead>
            <tbody>
              {organizations.map((o) => (
                <tr key={o.address} data-organization={o.address}>
                  <th scope="row">{o.name}</th>
                  <td data-label="Kind">{o.kind ? capitalize(KIND_WORDS[o.kind]) : "Unknown"}</td>
                  <td data-label="Status">
                    <span className={`badge ${o.active ? "badge-active" : "badge-revoked"}`}>
                      {o.active ? "Active" : "Suspended"}
                    </span>
                  </td>
                  <td data-label="Uses">
                    {o.commercial ? "Commercial" : "Non-commercial"}, {o.forProfit ? "for profit" : "not for profit"}
                  </td>
                  <td data-label="Gateway">{o.gatewayUrl || "None"}</td>
                  <td data-label="Address" className="address" title={o.address}>
                    {o.address}
                  </td>
                  {governs ? (
                    <td>
                      {o.active ? (
                        <button
                          type="button"
                          className="button small danger"
                          aria-label={`Suspend ${o.name}…`}
                          disabled={tx.busy}
                          onClick={() => {
                            tx.reset();
                            setTarget(o);
                            dialog.current?.open();
                          }}
                        >
                          Suspend…
                        </button>
                      ) : (
                        <button type="button" className="button small" disabled={tx.busy} onClick={() => reinstate(o)}>
                          Reinstate<span className="visually-hidden"> {o.name}</span>
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <TxStatusLine status={tx.status} confirmed={confirmed} />
      <ConfirmDialog
        ref={dialog}
        title={`Suspend ${target?.name ?? ""}?`}
        confirmLabel="Yes, suspend"
        onConfirm={async () => {
          if (!target) return false;
          setConfirmed(`${target.name} is suspended.`);
          return tx.run(() =>
            call(registryAddress!, consentRegistryAbi, "suspend", [target.address, stringToHex(reason, { size: 32 })]),
          );
        }}
        tx={tx}
        confirmed={confirmed}
        disabled={!target}
      >
        <p>
          From the next block on, none of its addresses passes any consent check: its gateway stops releasing records to
          it, and its clinicians cannot open emergency access. You can reinstate it later.
        </p>
        <div className="field">
          <label htmlFor={`${id}-reason`}>Reason</label>
          <select id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value as SuspensionReason)}>
            {(Object.keys(SUSPENSION_REASONS) as SuspensionReason[]).map((r) => (
              <option key={r} value={r}>
                {SUSPENSION_REASONS[r]}
              </option>
            ))}
          </select>
        </div>
      </ConfirmDialog>
    </section>
  );
}
