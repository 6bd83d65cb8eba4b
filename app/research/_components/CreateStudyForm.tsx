"use client";
import { type FormEvent, useId, useMemo, useState } from "react";
import { type Address, isHex, keccak256, toHex } from "viem";
import { useConfig } from "wagmi";

import {
  CATEGORIES,
  CATEGORY_NAMES,
  type CategoryName,
  PURPOSES,
  type PurposeName,
  categoriesToMask,
  describeScope,
  encodePurpose,
} from "#sdk/codes.ts";
import { MAX_CUSTODIAN_SHARE_BPS } from "#sdk/escrow.ts";
import { studyEscrowAbi } from "#sdk/generated/abis.ts";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { parseAmount } from "../../_lib/amounts.ts";
import { dateFieldValue, endOfDay, formatDate } from "../../_lib/dates.ts";
import { capitalize } from "../../_lib/format.ts";
import { useLedgerClient, useOrganizations } from "../../_lib/ledger.ts";
import { useTokens } from "../../_lib/studies.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { escrowAddress, tokenAddress } from "../../_lib/wagmi.ts";
import { signFundingPermit } from "./permit.ts";

const STUDY_PURPOSES: PurposeName[] = ["HMB", "GRU", "HRESCH", "DS"];

type Errors = Partial<
  Record<
    "disease" | "categories" | "price" | "participants" | "deadline" | "end" | "protocol" | "custodians" | "budget",
    string
  >
>;

/** Create a study and fund it with a permit: one signature, one transaction. */
export function CreateStudyForm({ account }: { account: Address }) {
  const id = useId();
  const config = useConfig();
  const client = useLedgerClient();
  const tx = useTx();
  const { organizations } = useOrganizations();
  const { tokenOf } = useTokens([tokenAddress!]);
  const token = tokenOf(tokenAddress!);
  const providers = useMemo(() => organizations.filter((o) => o.active && o.kind === "PROVIDER"), [organizations]);

  const [purpose, setPurpose] = useState<PurposeName>("HMB");
  const [disease, setDisease] = useState("");
  const [categories, setCategories] = useState<CategoryName[]>([]);
  const [price, setPrice] = useState("");
  const [participants, setParticipants] = useState("100");
  const [deadline, setDeadline] = useState(() => dateFieldValue(30));
  const [end, setEnd] = useState(() => dateFieldValue(180));
  const [protocol, setProtocol] = useState("");
  const [shares, setShares] = useState<Record<string, string>>({});
  const [attested, setAttested] = useState(false);
  const [budget, setBudget] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [confirmed, setConfirmed] = useState("Study created.");

  const chosen = providers.filter((p) => shares[p.address] !== undefined);

  function validate() {
    const found: Errors = {};
    const decimals = token?.decimals ?? 18;
    let diseaseCode = 0;
    if (purpose === "DS") {
      diseaseCode = Number(disease);
      if (!/^\d{1,10}$/.test(disease.trim()) || diseaseCode <= 0 || diseaseCode > 0xffffffff)
        found.disease = "Enter the disease's code (a MONDO number, such as 5148).";
    }
    if (categories.length === 0) found.categories = "Choose at least one kind of data.";
    const priceAmount = parseAmount(price, decimals, "price per delivery");
    if (typeof priceAmount !== "bigint") found.price = priceAmount.error;
    const max = Number(participants);
    if (!/^\d{1,8}$/.test(participants.trim()) || max < 1 || max > 16_777_215)
      found.participants = "Enter how many patients may join (1 to 16,777,215).";
    const deadlineAt = endOfDay(deadline);
    const endAt = endOfDay(end);
    const now = Date.now() / 1000;
    if (deadlineAt === null) found.deadline = "Choose the last day patients may join.";
    else if (deadlineAt <= now + 60) found.deadline = "The enrolment deadline must be after today.";
    if (endAt === null) found.end = "Choose the day the study ends.";
    else if (deadlineAt !== null && endAt <= deadlineAt) found.end = "The study must end after the enrolment deadline.";
    else if (endAt > now + 3_650 * 86_400) found.end = "A study may run for at most ten years.";
    const protocolText = protocol.trim();
    if (!protocolText) found.protocol = "Enter the protocol and ethics approval it follows (a reference or a hash).";
    if (chosen.length === 0) found.custodians = "Choose at least one hospital or lab that delivers the data.";
    const custodians = chosen.map((p) => {
      const raw = (shares[p.address] ?? "").trim() || "0";
      const percent = Number(raw);
      const bps = Math.round(percent * 100);
      if (!/^\d{1,2}(\.\d{1,2})?$/.test(raw) || bps > MAX_CUSTODIAN_SHARE_BPS)
        found.custodians = `A custodian's share is 0 to ${MAX_CUSTODIAN_SHARE_BPS / 100} % of the price.`;
      return { custodian: p.address, shareBps: bps };
    });
    const budgetAmount = parseAmount(budget, decimals, "budget");
    if (typeof budgetAmount !== "bigint") found.budget = budgetAmount.error;
    else if (typeof priceAmount === "bigint" && budgetAmount < priceAmount)
      found.budget = "The budget must cover at least one delivery.";
    if (Object.keys(found).length > 0) return { found } as const;
    return {
      found,
      params: {
        currency: tokenAddress!,
        purpose: encodePurpose(purpose === "DS" ? { purpose, disease: diseaseCode } : purpose),
        categories: categoriesToMask(categories),
        price: priceAmount as bigint,
        maxParticipants: max,
        enrolmentDeadline: deadlineAt!,
        endTime: endAt!,
        protocolHash: isHex(protocolText) && protocolText.length === 66 ? protocolText : keccak256(toHex(protocolText)),
        custodians,
        attestedEnrolment: attested,
      },
      budget: budgetAmount as bigint,
    } as const;
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const checked = validate();
    setErrors(checked.found);
    if (!checked.params) {
      tx.fail("Some answers need correcting: see the message under each of them.");
      return;
    }
    const { params, budget: amount } = checked;
    setConfirmed(`Study created and funded: ${describeScope(params.categories, params.purpose)}.`);
    const ok = await tx.run(async (step) => {
      const permit = await signFundingPermit(config, client!, step, {
        token: token!,
        owner: account,
        spender: escrowAddress!,
        value: amount,
      });
      return call(escrowAddress!, studyEscrowAbi, "createStudyWithPermit", [
        params,
        amount,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ]);
    });
    if (ok) {
      setCategories([]);
      setProtocol("");
      setErrors({});
    }
  }

  const symbol = token?.symbol ?? "";
  const field = (name: keyof Errors) => ({
    "aria-invalid": !!errors[name],
    "aria-describedby": `${id}-${name}-error`,
  });
  const error = (name: keyof Errors) => (
    <p id={`${id}-${name}-error`} className="field-error">
      {errors[name]}
    </p>
  );

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Create a study</h2>
      <form noValidate onSubmit={onSubmit} className="form" aria-labelledby={`${id}-heading`}>
        <div className="field">
          <label htmlFor={`${id}-purpose`}>Research purpose</label>
          <select id={`${id}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value as PurposeName)}>
            {STUDY_PURPOSES.map((p) => (
              <option key={p} value={p}>
                {capitalize(PURPOSES[p].display)} ({PURPOSES[p].code})
              </option>
            ))}
          </select>
        </div>
        {purpose === "DS" ? (
          <div className="field">
            <label htmlFor={`${id}-disease`}>Disease (MONDO code)</label>
            <input
              id={`${id}-disease`}
              type="text"
              inputMode="numeric"
              value={disease}
              onChange={(e) => setDisease(e.target.value)}
              {...field("disease")}
            />
            {error("disease")}
          </div>
        ) : null}
        <fieldset className="field" {...field("categories")}>
          <legend>Which records</legend>
          <div className="checkboxes">
            {CATEGORY_NAMES.map((c) => (
              <label key={c} className="check">
                <input
                  type="checkbox"
                  checked={categories.includes(c)}
                  onChange={(e) =>
                    setCategories((now) => (e.target.checked ? [...now, c] : now.filter((x) => x !== c)))
                  }
                />
                <span>{capitalize(CATEGORIES[c].display)}</span>
              </label>
            ))}
          </div>
          {error("categories")}
        </fieldset>
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-price`}>Price per delivery ({symbol})</label>
            <input
              id={`${id}-price`}
              type="text"
              inputMode="decimal"
              value={price}
              onChange={(e) => setPrice(e.target.value)}
              {...field("price")}
            />
            {error("price")}
          </div>
          <div className="field">
            <label htmlFor={`${id}-participants`}>Participants at most</label>
            <input
              id={`${id}-participants`}
              type="text"
              inputMode="numeric"
              value={participants}
              onChange={(e) => setParticipants(e.target.value)}
              {...field("participants")}
            />
            {error("participants")}
          </div>
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-deadline`}>Enrolment until</label>
            <input
              id={`${id}-deadline`}
              type="date"
              value={deadline}
              onChange={(e) => setDeadline(e.target.value)}
              {...field("deadline")}
            />
            {error("deadline")}
          </div>
          <div className="field">
            <label htmlFor={`${id}-end`}>Study ends on</label>
            <input
              id={`${id}-end`}
              type="date"
              value={end}
              onChange={(e) => setEnd(e.target.value)}
              {...field("end")}
            />
            {error("end")}
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${id}-protocol`}>Protocol and ethics approval</label>
          <input
            id={`${id}-protocol`}
            type="text"
            autoComplete="off"
            value={protocol}
            onChange={(e) => setProtocol(e.target.value)}
            aria-invalid={!!errors.protocol}
            aria-describedby={`${id}-protocol-help ${id}-protocol-error`}
          />
          <p id={`${id}-protocol-help`} className="help">
            Only its hash goes on-chain: paste the documents&apos; 0x… hash, or a reference that is hashed for you.
          </p>
          {error("protocol")}
        </div>
        <fieldset className="field" {...field("custodians")}>
          <legend>Hospitals and labs that deliver the data, and their share of each price</legend>
          {providers.length === 0 ? <p>No accredited healthcare provider yet.</p> : null}
          <ul className="plain custodians">
            {providers.map((p) => {
              const on = shares[p.address] !== undefined;
              return (
                <li key={p.address} className="custodian">
                  <label className="check">
                    <input
                      type="checkbox"
                      checked={on}
                      onChange={(e) =>
                        setShares((now) => {
                          const next = { ...now };
                          if (e.target.checked) next[p.address] = "10";
                          else delete next[p.address];
                          return next;
                        })
                      }
                    />
                    <span>{p.name}</span>
                  </label>
                  {on ? (
                    <label className="share">
                      <span>Share of {p.name} (%)</span>
                      <input
                        type="text"
                        inputMode="decimal"
                        value={shares[p.address]}
                        onChange={(e) => setShares((now) => ({ ...now, [p.address]: e.target.value }))}
                      />
                    </label>
                  ) : null}
                </li>
              );
            })}
          </ul>
          {error("custodians")}
        </fieldset>
        <div className="field">
          <label className="check">
            <input type="checkbox" checked={attested} onChange={(e) => setAttested(e.target.checked)} />
            <span>Only patients of these hospitals and labs may join (their gateway confirms each one)</span>
          </label>
          <p className="help">
            Without it, any account can take a place. With it, every join carries the confirmation of one of the
            study&apos;s custodians that it holds the patient&apos;s records; it cannot be changed later.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-budget`}>Budget to fund now ({symbol})</label>
          <input
            id={`${id}-budget`}
            type="text"
            inputMode="decimal"
            value={budget}
            onChange={(e) => setBudget(e.target.value)}
            aria-invalid={!!errors.budget}
            aria-describedby={`${id}-budget-help ${id}-budget-error`}
          />
          <p id={`${id}-budget-help`} className="help">
            You sign a permit (no fee) and the study is created and funded in one transaction. What is not spent comes
            back to you after the study ends or is cancelled.
          </p>
          {error("budget")}
        </div>
        <p className="summary" aria-live="polite">
          {categories.length > 0 && endOfDay(end) !== null
            ? `${describeScope(categoriesToMask(categories), encodePurpose(purpose === "DS" ? { purpose, disease: Number(disease) || 1 } : purpose))}, until ${formatDate(endOfDay(end)!)}.`
            : null}
        </p>
        <button type="submit" className="button primary" disabled={tx.busy || !token}>
          Create and fund study
        </button>
        <TxStatusLine status={tx.status} confirmed={confirmed} />
      </form>
    </section>
  );
}
