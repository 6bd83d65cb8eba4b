"use client";
import { type FormEvent, useId, useState } from "react";
import { type Address, getAddress, isAddress } from "viem";

import type { DelegateEntry } from "#sdk/ledger.ts";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { formatDate, shortAddress, untilWords } from "../../_lib/format.ts";
import { useContractTx, useNow } from "../../_lib/hooks.ts";
import { useDelegates, usePatientsActedFor } from "../_hooks/useLedger.ts";

/** Delegates (guardians, caregivers) the patient appoints and removes, and whom this account acts for. */
export function Delegates({ patient }: { patient: Address }) {
  const { data: delegates = [], isPending } = useDelegates(patient);
  const { data: actingFor = [] } = usePatientsActedFor(patient);
  const now = useNow();
  return (
    <section className="card" aria-labelledby="delegates-heading">
      <h2 id="delegates-heading">People who can act for you</h2>
      <p>
        A delegate, such as a guardian or caregiver, can give and revoke consent on your behalf until the date you
        choose. You can remove a delegate at any time.
      </p>
      {isPending ? (
        <p aria-busy="true">Reading your delegates…</p>
      ) : delegates.length === 0 ? (
        <p>You have no delegates.</p>
      ) : (
        <ul className="plain rows">
          {delegates.map((d) => (
            <DelegateRow key={d.delegate} patient={patient} entry={d} now={now} />
          ))}
        </ul>
      )}
      <AppointForm />
      <h3 id="acting-for-heading">Patients you act for</h3>
      {actingFor.length === 0 ? (
        <p>Nobody has appointed you as their delegate.</p>
      ) : (
        <ul className="plain rows" aria-labelledby="acting-for-heading">
          {actingFor.map((d) => (
            <li key={d.patient} className="row">
              <span className="address" title={d.patient}>
                {d.patient}
              </span>
              <span className={d.expiresAt <= now ? "badge badge-expired" : "badge badge-active"}>
                {d.expiresAt <= now ? `Ended on ${formatDate(d.expiresAt)}` : `Delegate ${untilWords(d.expiresAt)}`}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function DelegateRow({ patient, entry, now }: { patient: Address; entry: DelegateEntry; now: number }) {
  const tx = useContractTx();
  const ended = entry.expiresAt <= now;
  return (
    <li className="row">
      <span className="address" title={entry.delegate}>
        {entry.delegate}
      </span>
      <span className={ended ? "badge badge-expired" : "badge badge-active"}>
        {ended ? `Ended on ${formatDate(entry.expiresAt)}` : `Acts for you ${untilWords(entry.expiresAt)}`}
      </span>
      <button
        type="button"
        className="button small danger"
        disabled={tx.busy}
        onClick={() => void tx.send("removeDelegate", [patient, entry.delegate])}
      >
        Remove<span className="visually-hidden"> delegate {shortAddress(entry.delegate)}</span>
      </button>
      <TxStatusLine status={tx.status} confirmed="Delegate removed." />
    </li>
  );
}

/** An all-lowercase address carries no checksum; a mixed-case one must match it (EIP-55). */
const checksumOk = (value: string) => value === value.toLowerCase() || isAddress(value, { strict: true });

function AppointForm() {
  const id = useId();
  const tx = useContractTx();
  const [address, setAddress] = useState("");
  const [until, setUntil] = useState("");
  const [errors, setErrors] = useState<{ address?: string; until?: string }>({});

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found: typeof errors = {};
    const trimmed = address.trim();
    if (!trimmed) found.address = "Enter the delegate's address (0x followed by 40 characters).";
    else if (!isAddress(trimmed, { strict: false })) found.address = "That is not a valid address.";
    else if (!checksumOk(trimmed))
      found.address = "That address has a typo: its capital letters do not match its checksum.";
    let expiresAt = 0;
    if (until) {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(until);
      const day = match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59) : null;
      if (!day || Number.isNaN(day.getTime()) || day.getFullYear() > 9999) found.until = "That date is not valid.";
      else if (day.getTime() <= Date.now() + 60_000) found.until = "The end date must be after today.";
      else expiresAt = Math.floor(day.getTime() / 1000);
    }
    setErrors(found);
    if (Object.keys(found).length > 0) {
      tx.fail("Check the highlighted fields.");
      return;
    }
    // Rules that live in the contract (not yourself, not the zero address) are checked by its
    // simulation, which explains a refusal before the wallet is asked.
    const ok = await tx.send("appointDelegate", [getAddress(trimmed.toLowerCase()), expiresAt]);
    if (ok) {
      setAddress("");
      setUntil("");
    }
  }

  return (
    <form noValidate onSubmit={onSubmit} className="form inline-form" aria-label="Appoint a delegate">
      <div className="field">
        <label htmlFor={`${id}-address`}>Delegate&apos;s address</label>
        <input
          id={`${id}-address`}
          type="text"
          inputMode="text"
          autoComplete="off"
          spellCheck={false}
          placeholder="0x…"
          value={address}
          aria-invalid={!!errors.address}
          aria-describedby={`${id}-address-error`}
          onChange={(e) => setAddress(e.target.value)}
        />
        <p id={`${id}-address-error`} className="field-error">
          {errors.address}
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${id}-until`}>Until (optional)</label>
        <input
          id={`${id}-until`}
          type="date"
          value={until}
          aria-invalid={!!errors.until}
          aria-describedby={`${id}-until-help ${id}-until-error`}
          onChange={(e) => setUntil(e.target.value)}
        />
        <p id={`${id}-until-help`} className="help">
          Leave empty for no end date.
        </p>
        <p id={`${id}-until-error`} className="field-error">
          {errors.until}
        </p>
      </div>
      <button type="submit" className="button primary" disabled={tx.busy}>
        Appoint delegate
      </button>
      <TxStatusLine status={tx.status} confirmed="Delegate appointed." />
    </form>
  );
}
