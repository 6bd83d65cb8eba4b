"use client";
import { type FormEvent, useEffect, useId, useMemo, useState } from "react";
import { type Address, isAddressEqual } from "viem";
import { useConfig } from "wagmi";

import {
  CATEGORIES,
  CATEGORY_NAMES,
  type CategoryName,
  KIND_WORDS,
  PURPOSES,
  type PurposeName,
  categoriesToMask,
  describeScope,
  encodePurpose,
  purposeScope,
} from "#sdk/codes.ts";
import { grantState } from "#sdk/ledger.ts";
import { ErrorSummary, type FieldProblem } from "../../_components/ErrorSummary.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { useNow } from "../../_lib/clock.ts";
import { formatDate, parseEndDate } from "../../_lib/dates.ts";
import { capitalize } from "../../_lib/format.ts";
import { useOrganizations, usePatientGrants } from "../../_lib/ledger.ts";
import { relayGrant, useRelayers } from "../../_lib/relay.ts";
import { RESEARCH_PURPOSE_MEANING } from "../../_lib/researchPurposes.ts";
import { useContractTx } from "../../_lib/tx.ts";

/** The purposes a patient grants directly, in the order people think of them. Emergency treatment
 * is break-glass (no grant needed); disease-specific research (DUO DS) comes with studies. */
const GRANTABLE: PurposeName[] = ["TREAT", "HOPERAT", "HPAYMT", "PUBHLTH", "HRESCH", "GRU", "HMB"];

const EXPIRY_PRESETS = {
  week: "1 week",
  month: "1 month",
  year: "1 year",
  custom: "Choose a date",
} as const;
type ExpiryPreset = keyof typeof EXPIRY_PRESETS;

/** The end of the consent, in unix seconds, or an error in words. */
function expiryOf(preset: ExpiryPreset, customDate: string, now: Date): number | string {
  const end = new Date(now);
  switch (preset) {
    case "week":
      end.setDate(end.getDate() + 7);
      break;
    case "month":
      end.setMonth(end.getMonth() + 1);
      break;
    case "year":
      end.setFullYear(end.getFullYear() + 1);
      break;
    case "custom": {
      if (!customDate) return "Choose the date the consent ends.";
      // Until the end of that day, in the patient's time zone.
      const day = parseEndDate(customDate, now.getTime());
      return typeof day === "number" ? day : day.error;
    }
  }
  return Math.floor(end.getTime() / 1000);
}

interface Errors {
  grantee?: string;
  categories?: string;
  expiry?: string;
}

/** Give (or update) consent: purpose, organization by name, kinds of data, end date. */
export function GrantForm({ patient }: { patient: Address }) {
  const formId = useId();
  const { organizations, isPending: loadingOrganizations } = useOrganizations();
  const { data } = usePatientGrants(patient);
  const grants = data?.grants ?? [];
  const tx = useContractTx();
  const now = Math.max(useNow(), data?.timestamp ?? 0);
  const [purpose, setPurpose] = useState<PurposeName>("TREAT");
  const [grantee, setGrantee] = useState<string>("");
  const [categories, setCategories] = useState<CategoryName[]>([]);
  const [preset, setPreset] = useState<ExpiryPreset>("month");
  const [customDate, setCustomDate] = useState("");
  /** Refused submits so far (0 again after a consent is given): errors show, re-checked as she fixes them. */
  const [attempt, setAttempt] = useState(0);
  const [confirmedText, setConfirmedText] = useState("Consent given.");
  const config = useConfig();
  const relayers = useRelayers();
  /** "" = the patient sends it and pays the fee; otherwise the relaying custodian's address. */
  const [payer, setPayer] = useState("");
  const relayer = relayers.find((r) => r.address === payer);

  const kind = PURPOSES[purpose].kind;
  const eligible = useMemo(() => organizations.filter((o) => o.active && o.kind === kind), [organizations, kind]);
  const chosen = eligible.find((o) => o.address === grantee);
  const expiry = expiryOf(preset, customDate, new Date(now * 1000));
  const replaces = chosen
    ? grants.find(
        (g) =>
          isAddressEqual(g.grantee, chosen.address) &&
          g.scope === purposeScope(purpose) &&
          (grantState(g, now) === "active" || grantState(g, now) === "not-yet-valid"),
      )
    : undefined;

  const errors: Errors = attempt > 0 ? validate() : {};
  const problems: FieldProblem[] = [
    ...(errors.grantee ? [{ field: `${formId}-grantee`, message: errors.grantee }] : []),
    ...(errors.categories ? [{ field: `${formId}-category-0`, message: errors.categories }] : []),
    ...(errors.expiry
      ? [{ field: preset === "custom" ? `${formId}-date` : `${formId}-expiry-0`, message: errors.expiry }]
      : []),
  ];

  // Once a consent is given the form empties at once, before the ledger is read again: the summary
  // must not, for a moment, say that the new consent "replaces" itself.
  const phase = tx.status.phase;
  useEffect(() => {
    if (phase !== "confirmed") return;
    setCategories([]);
    setAttempt(0);
  }, [phase]);

  function validate(): Errors {
    const found: Errors = {};
    if (!chosen) found.grantee = "Choose the organization that receives your consent.";
    if (categories.length === 0) found.categories = "Choose at least one kind of data.";
    if (typeof expiry === "string") found.expiry = expiry;
    return found;
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = validate();
    // The end date from the clock at the moment of sending (the rendered one may be seconds old).
    const expiry = expiryOf(preset, customDate, new Date());
    if (Object.keys(found).length > 0 || !chosen || typeof expiry !== "number") {
      tx.reset();
      setAttempt((n) => n + 1); // the error summary takes focus
      return;
    }
    const mask = categoriesToMask(categories);
    const purposeCode = encodePurpose(purpose);
    setConfirmedText(
      `Consent given to ${chosen.name}: ${describeScope(mask, purposeCode)}, until ${formatDate(expiry)}.`,
    );
    void (relayer
      ? tx.run((step) =>
          relayGrant(config, step, relayer, patient, {
            grantee: chosen.address,
            categories: mask,
            purpose: purposeCode,
            expiresAt: expiry,
          }),
        )
      : tx.send("grant", [chosen.address, mask, purposeCode, 0, expiry]));
  }

  const summary =
    chosen && categories.length > 0 && typeof expiry === "number"
      ? `${chosen.name} may use: ${describeScope(categoriesToMask(categories), encodePurpose(purpose))}, until ${formatDate(expiry)}.`
      : null;

  return (
    <section className="card" aria-labelledby={`${formId}-heading`}>
      <h2 id={`${formId}-heading`}>Give consent</h2>
      <form noValidate onSubmit={onSubmit} className="form">
        <ErrorSummary problems={problems} attempt={attempt} />
        <div className="field">
          <label htmlFor={`${formId}-purpose`}>What for</label>
          <select
            id={`${formId}-purpose`}
            value={purpose}
            aria-describedby={RESEARCH_PURPOSE_MEANING[purpose] ? `${formId}-purpose-help` : undefined}
            onChange={(e) => {
              setPurpose(e.target.value as PurposeName);
              setGrantee("");
            }}
          >
            {GRANTABLE.map((p) => (
              <option key={p} value={p}>
                {capitalize(PURPOSES[p].display)}
              </option>
            ))}
          </select>
          {RESEARCH_PURPOSE_MEANING[purpose] ? (
            <p className="help" id={`${formId}-purpose-help`}>
              {RESEARCH_PURPOSE_MEANING[purpose]}
            </p>
          ) : null}
        </div>

        <div className="field">
          <label htmlFor={`${formId}-grantee`}>Who</label>
          <select
            id={`${formId}-grantee`}
            value={grantee}
            aria-invalid={!!errors.grantee}
            aria-describedby={`${formId}-grantee-help ${formId}-grantee-error`}
            onChange={(e) => setGrantee(e.target.value)}
          >
            <option value="">
              {loadingOrganizations ? "Loading organizations…" : eligible.length === 0 ? "None available" : "Choose…"}
            </option>
            {eligible.map((o) => (
              <option key={o.address} value={o.address}>
                {o.name}
              </option>
            ))}
          </select>
          <p id={`${formId}-grantee-help`} className="help">
            Only accredited organizations of the right kind are listed: for {PURPOSES[purpose].display}, a{" "}
            {KIND_WORDS[kind]}.
          </p>
          <p id={`${formId}-grantee-error`} className="field-error">
            {errors.grantee}
          </p>
        </div>

        <fieldset className="field" aria-invalid={!!errors.categories} aria-describedby={`${formId}-categories-error`}>
          <legend>Which records</legend>
          <div className="checkboxes">
            {CATEGORY_NAMES.map((c, index) => (
              <label key={c} className="check">
                <input
                  id={`${formId}-category-${index}`}
                  type="checkbox"
                  name="categories"
                  value={c}
                  checked={categories.includes(c)}
                  onChange={(e) =>
                    setCategories((current) => (e.target.checked ? [...current, c] : current.filter((x) => x !== c)))
                  }
                />
                <span>{capitalize(CATEGORIES[c].display)}</span>
              </label>
            ))}
          </div>
          <p id={`${formId}-categories-error`} className="field-error">
            {errors.categories}
          </p>
        </fieldset>

        <fieldset className="field" aria-describedby={`${formId}-expiry-error`}>
          <legend>Until when</legend>
          <div className="radios">
            {(Object.keys(EXPIRY_PRESETS) as ExpiryPreset[]).map((p, index) => (
              <label key={p} className="check">
                <input
                  id={`${formId}-expiry-${index}`}
                  type="radio"
                  name={`${formId}-expiry`}
                  value={p}
                  checked={preset === p}
                  onChange={() => setPreset(p)}
                />
                <span>{EXPIRY_PRESETS[p]}</span>
              </label>
            ))}
          </div>
          {preset === "custom" ? (
            <div className="field nested">
              <label htmlFor={`${formId}-date`}>End date</label>
              <input
                id={`${formId}-date`}
                type="date"
                value={customDate}
                aria-invalid={!!errors.expiry}
                onChange={(e) => setCustomDate(e.target.value)}
              />
            </div>
          ) : null}
          <p id={`${formId}-expiry-error`} className="field-error">
            {errors.expiry}
          </p>
        </fieldset>

        {relayers.length > 0 ? (
          <fieldset className="field">
            <legend>Who pays the processing fee</legend>
            <div className="radios">
              <label className="check">
                <input type="radio" name={`${formId}-payer`} checked={payer === ""} onChange={() => setPayer("")} />
                <span>I pay it from my wallet</span>
              </label>
              {relayers.map((r) => (
                <label key={r.address} className="check">
                  <input
                    type="radio"
                    name={`${formId}-payer`}
                    checked={payer === r.address}
                    onChange={() => setPayer(r.address)}
                  />
                  <span>No fee for me: I sign, and {r.name} sends it and pays</span>
                </label>
              ))}
            </div>
            <p className="help">A hospital or lab sends your signed consent for you only if it holds your records.</p>
          </fieldset>
        ) : null}

        {/* Not a live region: it would re-read the whole sentence at every checkbox. The button reads it. */}
        <p className="summary" id={`${formId}-summary`}>
          {summary}
          {replaces && summary
            ? ` This replaces your consent of ${formatDate(replaces.validFrom)}: ${describeScope(replaces.categories, replaces.purpose).toLowerCase()}, until ${formatDate(replaces.expiresAt)}. That one stays listed under “Earlier consents”.`
            : null}
        </p>
        <button type="submit" className="button primary" disabled={tx.busy} aria-describedby={`${formId}-summary`}>
          Give consent
        </button>
        <TxStatusLine status={tx.status} confirmed={confirmedText} />
      </form>
    </section>
  );
}
