"use client";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useId, useRef, useState } from "react";
import type { Address } from "viem";

import { EMERGENCY_REASONS, type EmergencyReasonCode } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { ConfirmDialog, type ConfirmDialogHandle } from "../../_components/ConfirmDialog.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { useNow } from "../../_lib/clock.ts";
import { formatDateTime } from "../../_lib/dates.ts";
import { commitEmergencyReason, keptEmergencyReason } from "../../_lib/emergency-reasons.ts";
import { shortAddress } from "../../_lib/format.ts";
import { LEDGER_KEY, useLedgerClient } from "../../_lib/ledger.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { appChain, registryAddress } from "../../_lib/wagmi.ts";

const REASON_CODES = Object.keys(EMERGENCY_REASONS).map(Number) as EmergencyReasonCode[];
const DURATIONS = [
  { seconds: 15 * 60, words: "15 minutes" },
  { seconds: 3600, words: "1 hour" },
  { seconds: 4 * 3600, words: "4 hours" },
  { seconds: 12 * 3600, words: "12 hours" },
  { seconds: 24 * 3600, words: "24 hours" },
  { seconds: 72 * 3600, words: "72 hours" },
];

/** Emergency (break-glass) access of this organization to the patient: its status, opening it
 * (clinicians only, with a reason and an explicit confirmation), and closing it. */
export function BreakGlass({
  patient,
  organization,
  organizationName,
  clinician,
}: {
  patient: Address;
  organization: Address;
  organizationName: string;
  clinician: boolean;
}) {
  const id = useId();
  const client = useLedgerClient();
  const now = useNow(5_000);
  const tx = useTx();
  const dialog = useRef<ConfirmDialogHandle>(null);
  const outcome = useRef<HTMLParagraphElement>(null);
  const [reason, setReason] = useState<string>("");
  const [duration, setDuration] = useState(3600);
  const [error, setError] = useState("");
  const [confirmed, setConfirmed] = useState("Done.");
  const read = { address: registryAddress!, abi: consentRegistryAbi } as const;
  const { data: access } = useQuery({
    queryKey: [LEDGER_KEY, "emergency", registryAddress, patient, organization],
    enabled: !!client && !!registryAddress,
    queryFn: async () => {
      const [expiresAt, by, reasonCommitment] = await client!.readContract({
        ...read,
        functionName: "emergencyAccess",
        args: [patient, organization],
      });
      return { expiresAt, by, kept: keptEmergencyReason(reasonCommitment) };
    },
  });
  const { data: policy } = useQuery({
    queryKey: [LEDGER_KEY, "emergency-policy", registryAddress],
    enabled: !!client && !!registryAddress,
    queryFn: async () => {
      const [minDuration, maxDuration, maxOpenings] = await client!.readContract({
        ...read,
        functionName: "emergencyPolicy",
      });
      return { minDuration, maxDuration, maxOpenings };
    },
  });
  const open = !!access && access.expiresAt > now;
  const durations = DURATIONS.filter(
    (d) => !policy || (d.seconds >= policy.minDuration && d.seconds <= policy.maxDuration),
  );
  const reasonWords = reason ? EMERGENCY_REASONS[Number(reason) as EmergencyReasonCode] : "";
  const durationWords = DURATIONS.find((d) => d.seconds === duration)?.words ?? `${duration / 60} minutes`;

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!reason) {
      setError("Choose the reason for the emergency access.");
      tx.fail("An answer needs correcting: see the message under it.");
      return;
    }
    setError("");
    tx.reset();
    dialog.current?.open();
  }

  async function openAccess() {
    setConfirmed(`Emergency access is open for ${durationWords}. The patient sees it, and it is logged.`);
    // The reason stays off the chain: only its commitment (with a fresh random salt) goes there;
    // this console keeps reason and salt, and gives them to the custodian's gateway with each read.
    const commitment = commitEmergencyReason(
      { chainId: appChain.id, registry: registryAddress!, patient, organization },
      Number(reason) as EmergencyReasonCode,
    );
    const ok = await tx.run(() =>
      call(registryAddress!, consentRegistryAbi, "openEmergencyAccess", [patient, commitment, duration]),
    );
    if (ok) setReason("");
    return ok;
  }

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Emergency access</h2>
      {open ? (
        <div className="emergency" role="status">
          <p>
            <strong>Open until {formatDateTime(access.expiresAt)}</strong>, opened by clinician{" "}
            <span title={access.by}>{shortAddress(access.by)}</span>:{" "}
            {access.kept
              ? `${EMERGENCY_REASONS[access.kept.reasonCode]} (kept in this browser, not on the chain)`
              : "reason kept by the console that opened it, not on the chain"}
            .
          </p>
          <button
            type="button"
            className="button danger"
            disabled={tx.busy}
            onClick={() => {
              setConfirmed("Emergency access closed.");
              void tx.run(() =>
                call(registryAddress!, consentRegistryAbi, "closeEmergencyAccess", [patient, organization]),
              );
            }}
          >
            Close emergency access
          </button>
        </div>
      ) : (
        <p>
          {organizationName} has no emergency access to this patient
          {access && access.expiresAt > 0 ? ` (the last one ended at ${formatDateTime(access.expiresAt)})` : ""}.
        </p>
      )}
      {!open && clinician ? (
        <form noValidate onSubmit={onSubmit} className="form" aria-label="Open emergency access">
          <p>
            Only in an emergency, when the patient cannot consent: access is for emergency treatment only, ends by
            itself, shows at once in the patient&apos;s portal and is logged for the governance body. The reason is not
            written on the public chain: this browser keeps it and gives it to the hospital holding the records with
            each emergency read, and it appears in the patient&apos;s access log there.
          </p>
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason</label>
            <select
              id={`${id}-reason`}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              aria-invalid={!!error}
              aria-describedby={`${id}-reason-error`}
            >
              <option value="">Choose…</option>
              {REASON_CODES.map((code) => (
                <option key={code} value={code}>
                  {EMERGENCY_REASONS[code]}
                </option>
              ))}
            </select>
            <p id={`${id}-reason-error`} className="field-error">
              {error}
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-duration`}>For</label>
            <select id={`${id}-duration`} value={duration} onChange={(e) => setDuration(Number(e.target.value))}>
              {durations.map((d) => (
                <option key={d.seconds} value={d.seconds}>
                  {d.words}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button danger">
            Open emergency access…
          </button>
        </form>
      ) : null}
      {!open && !clinician ? (
        <p className="muted">Only a clinician of {organizationName} can open emergency access.</p>
      ) : null}
      <TxStatusLine ref={outcome} status={tx.status} confirmed={confirmed} focus={false} />
      <ConfirmDialog
        ref={dialog}
        title="Open emergency access?"
        confirmLabel="Yes, open emergency access"
        onConfirm={openAccess}
        tx={tx}
        confirmed={confirmed}
        // The safe choice first: Enter must not open a patient's records.
        cancelFirst
        outcome={outcome}
      >
        <p>
          You are about to open the records of patient <span title={patient}>{shortAddress(patient)}</span> without
          their consent, for emergency treatment, for {durationWords}. Reason: {reasonWords}.
        </p>
        <p>The patient is shown this at once, and the opening is logged with your address.</p>
      </ConfirmDialog>
    </section>
  );
}
