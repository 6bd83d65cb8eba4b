"use client";
import { type FormEvent, useId, useState } from "react";
import type { Address } from "viem";

import { useNames } from "../../_lib/names.ts";

/** The patient names her wallet (this browser remembers it): the portal calls her by it, not by its address. */
export function WalletName({ patient }: { patient: Address }) {
  const id = useId();
  const { nameOf, setName } = useNames();
  const current = nameOf(patient);
  const [value, setValue] = useState("");
  const [saved, setSaved] = useState("");

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setName(patient, value);
    setSaved(value.trim() ? `Saved: this browser now calls your wallet "${value.trim()}".` : "Name removed.");
    setValue("");
  }

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Your wallet</h2>
      <p>
        {current ? `This browser calls your wallet "${current}".` : "You can give your wallet a name you will know."}{" "}
        Only this browser remembers it.
      </p>
      <details className="details">
        <summary>Details</summary>
        <p className="address muted small">Your wallet address: {patient}</p>
      </details>
      <form noValidate onSubmit={onSubmit} className="form inline-form" aria-label="Name your wallet">
        <div className="field">
          <label htmlFor={`${id}-name`}>Name of your wallet</label>
          <input
            id={`${id}-name`}
            type="text"
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </div>
        <button type="submit" className="button">
          Save the name
        </button>
        <p className="tx-status tx-success" role="status" aria-live="polite">
          {saved}
        </p>
      </form>
    </section>
  );
}
