"use client";
import { type FormEvent, useId, useMemo, useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";

import { CATEGORIES } from "#sdk/codes.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { MAX_PROGRAMME_CUSTODIANS, PREVENTIVE_ACTIONS, criterionHash } from "#sdk/prevention.ts";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { formatAmount, parseAmount } from "../../_lib/amounts.ts";
import { dateFieldValue, endOfDay, formatDate, startOfDay } from "../../_lib/dates.ts";
import { capitalize } from "../../_lib/format.ts";
import { useLedgerClient, useOrganizations } from "../../_lib/ledger.ts";
import { PERIOD_LENGTHS, rewardsAddress } from "../../_lib/prevention.ts";
import { useTokens } from "../../_lib/studies.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { tokenAddress } from "../../_lib/wagmi.ts";
import { signFundingPermit } from "../../research/_components/permit.ts";

/** The furthest a programme may end (PreventionRewards.MAX_PROGRAMME_DURATION). */
const MAX_DURATION_DAYS = 3_650;
const DAY = 86_400;

type Errors = Partial<Record<"start" | "reward" | "end" | "custodians" | "budget", string>>;

/** Create a prevention programme and fund it with a permit: one signature, one transaction. */
export function CreateProgrammeForm({ account }: { account: Address }) {
  const id = useId();
  const config = useConfig();
  const client = useLedgerClient();
  const tx = useTx();
  const { organizations } = useOrganizations();
  const { tokenOf } = useTokens([tokenAddress!]);
  const token = tokenOf(tokenAddress!);
  const providers = useMemo(() => organizations.filter((o) => o.active && o.kind === "PROVIDER"), [organizations]);

  const [actionId, setActionId] = useState<string>(PREVENTIVE_ACTIONS[0]!.id);
  const [start, setStart] = useState(() => dateFieldValue(0));
  const [periodDays, setPeriodDays] = useState<number>(PERIOD_LENGTHS[0].days);
  const [reward, setReward] = useState("");
  const [end, setEnd] = useState(() => dateFieldValue(3 * 365));
  const [custodians, setCustodians] = useState<Address[]>([]);
  const [budget, setBudget] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [confirmed, setConfirmed] = useState("Programme created.");
  const action = PREVENTIVE_ACTIONS.find((a) => a.id === actionId) ?? PREVENTIVE_ACTIONS[0]!;
  const period = PERIOD_LENGTHS.find((p) => p.days === periodDays) ?? PERIOD_LENGTHS[0];

  function validate() {
    const found: Errors = {};
    const decimals = token?.decimals ?? 18;
    const now = Date.now() / 1000;
    const startAt = startOfDay(start);
    const endAt = endOfDay(end);
    if (startAt === null) found.start = "Choose the day the first period starts.";
    if (endAt === null) found.end = "Choose the day the programme ends.";
    else if (endAt <= now + 60) found.end = "The programme must end after today.";
    else if (endAt > now + MAX_DURATION_DAYS * DAY) found.end = "A programme may run for at most ten years.";
    else if (startAt !== null && startAt >= endAt) found.start = "The first period must start before the end.";
    const rewardAmount = parseAmount(reward, decimals, "reward per period");
    if (typeof rewardAmount !== "bigint") found.reward = rewardAmount.error;
    if (custodians.length === 0) found.custodians = "Choose at least one hospital or lab that confirms the care.";
    else if (custodians.length > MAX_PROGRAMME_CUSTODIANS)
      found.custodians = `Choose at most ${MAX_PROGRAMME_CUSTODIANS} hospitals and labs.`;
    const budgetAmount = parseAmount(budget, decimals, "budget");
    if (typeof budgetAmount !== "bigint") found.budget = budgetAmount.error;
    else if (typeof rewardAmount === "bigint" && budgetAmount < rewardAmount)
      found.budget = "The budget must cover at least one reward.";
    if (Object.keys(found).length > 0) return { found } as const;
    return {
      found,
      params: {
        currency: tokenAddress!,
        category: CATEGORIES[action.resourceType].bit,
        codeSystem: criterionHash(action.system),
        code: criterionHash(action.code),
        firstPeriodStart: startAt!,
        periodLength: period.days * DAY,
        reward: rewardAmount as bigint,
        endTime: endAt!,
        custodians,
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
    setConfirmed(`Programme created and funded: ${action.words} (${action.codeName}), rewarded each ${period.words}.`);
    const ok = await tx.run(async (step) => {
      const permit = await signFundingPermit(config, client!, step, {
        token: token!,
        owner: account,
        spender: rewardsAddress!,
        value: amount,
      });
      return call(rewardsAddress!, preventionRewardsAbi, "createProgrammeWithPermit", [
        params,
        amount,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ]);
    });
    if (ok) {
      setReward("");
      setBudget("");
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
  const rewardAmount = token ? parseAmount(reward, token.decimals, "reward") : null;
  const budgetAmount = token ? parseAmount(budget, token.decimals, "budget") : null;
  const covers =
    typeof rewardAmount === "bigint" && typeof budgetAmount === "bigint" ? budgetAmount / rewardAmount : null;

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Create a programme</h2>
      <form noValidate onSubmit={onSubmit} className="form" aria-labelledby={`${id}-heading`}>
        <div className="field">
          <label htmlFor={`${id}-action`}>Preventive action</label>
          <select
            id={`${id}-action`}
            value={actionId}
            onChange={(e) => setActionId(e.target.value)}
            aria-describedby={`${id}-action-help`}
          >
            {[...new Set(PREVENTIVE_ACTIONS.map((a) => a.words))].map((words) => (
              <optgroup key={words} label={capitalize(words)}>
                {PREVENTIVE_ACTIONS.filter((a) => a.words === words).map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.display} ({a.codeName})
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
          <p id={`${id}-action-help`} className="help">
            A custodian&apos;s gateway confirms a member when one of their {CATEGORIES[action.resourceType].display}{" "}
            carries this code and falls in the period. Only the hashes of the code system and the code go on-chain.
          </p>
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-start`}>First period starts on</label>
            <input
              id={`${id}-start`}
              type="date"
              value={start}
              onChange={(e) => setStart(e.target.value)}
              {...field("start")}
            />
            {error("start")}
          </div>
          <div className="field">
            <label htmlFor={`${id}-period`}>Each period lasts</label>
            <select id={`${id}-period`} value={periodDays} onChange={(e) => setPeriodDays(Number(e.target.value))}>
              {PERIOD_LENGTHS.map((p) => (
                <option key={p.days} value={p.days}>
                  A {p.words} ({p.days} days)
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-reward`}>Reward per member and period ({symbol})</label>
            <input
              id={`${id}-reward`}
              type="text"
              inputMode="decimal"
              value={reward}
              onChange={(e) => setReward(e.target.value)}
              {...field("reward")}
            />
            {error("reward")}
          </div>
          <div className="field">
            <label htmlFor={`${id}-end`}>Programme ends on</label>
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
        <fieldset className="field" {...field("custodians")}>
          <legend>Hospitals and labs whose gateways confirm the care</legend>
          {providers.length === 0 ? <p>No accredited healthcare provider yet.</p> : null}
          <div className="checkboxes">
            {providers.map((p) => (
              <label key={p.address} className="check">
                <input
                  type="checkbox"
                  checked={custodians.includes(p.address)}
                  onChange={(e) =>
                    setCustodians((now) =>
                      e.target.checked ? [...now, p.address] : now.filter((c) => c !== p.address),
                    )
                  }
                />
                <span>{p.name}</span>
              </label>
            ))}
          </div>
          {error("custodians")}
        </fieldset>
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
            You sign a permit (no fee) and the programme is created and funded in one transaction. You can top it up
            later; what is not spent comes back to your organization after the end or a cancellation.
          </p>
          {error("budget")}
        </div>
        <p className="summary" aria-live="polite">
          {capitalize(action.words)} ({action.codeName}), counted each {period.words}
          {startOfDay(start) !== null ? ` from ${formatDate(startOfDay(start)!)}` : ""}
          {endOfDay(end) !== null ? ` until ${formatDate(endOfDay(end)!)}` : ""}
          {covers !== null && token
            ? `; the budget pays ${covers.toString()} ${covers === 1n ? "reward" : "rewards"} of ${formatAmount(
                rewardAmount as bigint,
                token.decimals,
              )} ${token.symbol}`
            : ""}
          .
        </p>
        <button type="submit" className="button primary" disabled={tx.busy || !token}>
          Create and fund programme
        </button>
        <TxStatusLine status={tx.status} confirmed={confirmed} />
      </form>
    </section>
  );
}
