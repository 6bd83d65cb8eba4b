"use client";
import { type FormEvent, useId, useState } from "react";
import type { Address } from "viem";

import type { DelegateEntry } from "#sdk/ledger.ts";
import { AddressField } from "../../_components/AddressField.tsx";
import { ErrorSummary, type FieldProblem } from "../../_components/ErrorSummary.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { parseAddressInput } from "../../_lib/address.ts";
import { useNow } from "../../_lib/clock.ts";
import { formatDate, parseEndDate, untilWords } from "../../_lib/dates.ts";
import { useDelegates, usePatientsActedFor } from "../../_lib/ledger.ts";
import { useNames } from "../../_lib/names.ts";
import { useContractTx } from "../../_lib/tx.ts";

/** Delegates (guardians, caregivers) the patient appoints and removes, and whom this account acts for. */
export function Delegates({ patient }: { patient: Address }) {
  const { data: delegates = [], isPending, lag } = useDelegates(patient);
  const { data: actingFor = [], lag: actingForLag } = usePatientsActedFor(patient);
  const now = useNow();
  // One status for removals, below the list: a removed row disappears, its outcome must not.
  const removal = useContractTx();
  const [removed, setRemoved] = useState("");
  const { nameOf } = useNames();
  return (
    <section className="card" aria-labelledby="delegates-heading">
      <h2 id="delegates-heading">People who can act for you</h2>
      <p>
        A delegate, such as a guardian or caregiver, can give and revoke consent on your behalf until the date you
        choose. You can remove a delegate at any time.
      </p>
      <ListLag lag={lag} plain />
      {isPending ? (
        <p aria-busy="true">Reading your delegates…</p>
      ) : delegates.length === 0 ? (
        <p>You have no delegates.</p>
      ) : (
        <ul className="plain rows">
          {delegates.map((d) => (
            <DelegateRow
              key={d.delegate}
              entry={d}
              name={nameOf(d.delegate) ?? "Someone you appointed"}
              now={now}
              busy={removal.busy}
              onRemove={() => {
                setRemoved(nameOf(d.delegate) ?? "Someone you appointed");
                void removal.send("removeDelegate", [patient, d.delegate]);
              }}
            />
          ))}
        </ul>
      )}
      <TxStatusLine status={removal.status} confirmed={`${removed} can no longer act for you.`} />
      <AppointForm />
      <h3 id="acting-for-heading">Patients you act for</h3>
      <ListLag lag={actingForLag} plain />
      {actingFor.length === 0 ? (
        <p>Nobody has appointed you as their delegate.</p>
      ) : (
        <ul className="plain rows" aria-labelledby="acting-for-heading">
          {actingFor.map((d) => (
            <li key={d.patient} className="row">
              <span className="person">
                <span>{nameOf(d.patient) ?? "A patient who appointed you"}</span>
                <details className="details">
                  <summary>Details</summary>
                  <span className="address muted small">Their wallet address: {d.patient}</span>
                </details>
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

function DelegateRow({
  entry,
  name,
  now,
  busy,
  onRemove,
}: {
  entry: DelegateEntry;
  name: string;
  now: number;
  busy: boolean;
  onRemove: () => void;
}) {
  const ended = entry.expiresAt <= now;
  return (
    <li className="row">
      <span className="person">
        <span>{name}</span>
        <details className="details">
          <summary>Details</summary>
          <span className="address muted small">Their wallet address: {entry.delegate}</span>
        </details>
      </span>
      <span className={ended ? "badge badge-expired" : "badge badge-active"}>
        {ended ? `Ended on ${formatDate(entry.expiresAt)}` : `Acts for you ${untilWords(entry.expiresAt)}`}
      </span>
      <button type="button" className="button small danger" disabled={busy} onClick={onRemove}>
        Remove<span className="visually-hidden"> {name}</span>
      </button>
    </li>
  );
}

const DELEGATE_ADDRESS = {
  empty: "Enter the address of their wallet: copy it from their wallet app.",
  typo: "That address has a typo: copy it again from their wallet app.",
};

function AppointForm() {
  const id = useId();
  const tx = useContractTx();
  const [name, setNameField] = useState("");
  const [address, setAddress] = useState("");
  const { nameOf, setName } = useNames();
  const [confirmed, setConfirmed] = useState("Delegate appointed.");
  const [until, setUntil] = useState("");
  /** Refused submits so far (0 again after an appointment): errors show, re-checked as she fixes them. */
  const [attempt, setAttempt] = useState(0);
  const errors = attempt > 0 ? validate().found : {};
  const problems: FieldProblem[] = [
    ...(errors.name ? [{ field: `${id}-name`, message: errors.name }] : []),
    ...(errors.address ? [{ field: `${id}-address`, message: errors.address }] : []),
    ...(errors.until ? [{ field: `${id}-until`, message: errors.until }] : []),
  ];

  function validate() {
    const found: { name?: string; address?: string; until?: string } = {};
    if (!name.trim()) found.name = "Enter the name of the person, so that you know who they are later.";
    const delegate = parseAddressInput(address, DELEGATE_ADDRESS);
    if (typeof delegate !== "string") found.address = delegate.error;
    let expiresAt = 0;
    if (until) {
      const day = parseEndDate(until);
      if (typeof day === "number") expiresAt = day;
      else found.until = day.error;
    }
    return { found, delegate, expiresAt };
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const { found, delegate, expiresAt } = validate();
    if (Object.keys(found).length > 0 || typeof delegate !== "string") {
      tx.reset();
      setAttempt((n) => n + 1); // the error summary takes focus
      return;
    }
    // Rules that live in the contract (not yourself, not the zero address) are checked by its
    // simulation, which explains a refusal before the wallet is asked.
    setConfirmed(`${name.trim()} can now act for you.`);
    // Remembered in this browser only: the name is never sent anywhere. Set before sending, so that
    // the new row shows it at once; put back as it was if the appointment fails.
    const previous = nameOf(delegate);
    setName(delegate, name);
    const ok = await tx.send("appointDelegate", [delegate, expiresAt]);
    if (!ok) setName(delegate, previous ?? "");
    if (ok) {
      setNameField("");
      setAddress("");
      setUntil("");
      setAttempt(0);
    }
  }

  return (
    <form noValidate onSubmit={onSubmit} className="form inline-form" aria-label="Appoint a delegate">
      <ErrorSummary problems={problems} attempt={attempt} />
      <div className="field">
        <label htmlFor={`${id}-name`}>Their name</label>
        <input
          id={`${id}-name`}
          type="text"
          autoComplete="off"
          value={name}
          aria-invalid={!!errors.name}
          aria-describedby={`${id}-name-help ${id}-name-error`}
          onChange={(e) => setNameField(e.target.value)}
        />
        <p id={`${id}-name-help`} className="help">
          Only this browser remembers it.
        </p>
        <p id={`${id}-name-error`} className="field-error">
          {errors.name}
        </p>
      </div>
      <AddressField
        id={`${id}-address`}
        label="Delegate's address"
        value={address}
        onChange={setAddress}
        error={errors.address}
        help="Copy it from their wallet app. It is checked for typos before anything is signed."
        placeholder=""
      />
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
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </form>
  );
}
