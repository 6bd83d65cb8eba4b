"use client";
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";

import type { readWithdrawal } from "#sdk/escrow.ts";
import { studyEscrowAbi } from "#sdk/generated/abis.ts";
import { nowSeconds } from "../_lib/clock.ts";
import { LEDGER_KEY, useLedgerClient } from "../_lib/ledger.ts";
import {
  type Relayer,
  SIGNATURE_LIFETIME_SECONDS,
  type WithdrawQuote,
  signAndRelay,
  useRelayers,
  withdrawQuote,
} from "../_lib/relay.ts";
import { call, useTx } from "../_lib/tx.ts";
import { TxStatusLine } from "./TxStatusLine.tsx";

/*
 * `balanceOf` and `withdraw` are the shared accounting core's (EarningsEscrow): the same functions,
 * selectors and errors on the StudyEscrow and on PreventionRewards, so one ABI serves both.
 */

/** What `escrow` owes the patient in each of `currencies`. */
function useEarnings(escrow: Address | null, patient: Address, currencies: readonly Address[]) {
  const client = useLedgerClient();
  return useQuery({
    queryKey: [LEDGER_KEY, "earnings", escrow, patient, currencies],
    enabled: !!client && !!escrow && currencies.length > 0,
    queryFn: () =>
      Promise.all(
        currencies.map(async (token) => ({
          token,
          amount: await client!.readContract({
            address: escrow!,
            abi: studyEscrowAbi,
            functionName: "balanceOf",
            args: [token, patient],
          }),
        })),
      ),
  });
}

/**
 * How a gateway sends this escrow's signed withdrawal: the row of the sdk's table of signed actions
 * (`withdraw` for the StudyEscrow, `prevention-withdraw` for PreventionRewards: the same Withdraw,
 * in each contract's own domain) and the reader of the patient's nonce and the fee cap there
 * (sdk/escrow.ts `readWithdrawal`, app/_lib/prevention.ts `readPreventionWithdrawal`), passed in
 * by the page so that PreventionRewards' ABI does not load with the patient portal.
 */
export interface RelayedWithdrawal {
  action: "withdraw" | "prevention-withdraw";
  read: typeof readWithdrawal;
}

/**
 * The patient's earnings held by one escrow (the StudyEscrow's research earnings, or the
 * prevention rewards), each with its Withdraw button. `relayed`: a patient whose account holds no
 * ETH may have a gateway send the withdrawal for a fee in the token, which she sees and signs
 * first (`relayed` says how; without it, she withdraws herself only).
 */
export function Earnings({
  patient,
  escrow,
  currencies,
  amountOf,
  relayed: relayable,
  nothingYet,
}: {
  patient: Address;
  escrow: Address | null;
  currencies: readonly Address[];
  amountOf: (amount: bigint, token: Address) => string;
  relayed?: RelayedWithdrawal;
  /** After "Nothing to withdraw.": how she earns here. */
  nothingYet: string;
}) {
  const headingId = useId();
  const { data = [] } = useEarnings(escrow, patient, currencies);
  const tx = useTx();
  const config = useConfig();
  const client = useLedgerClient();
  const [withdrawn, setWithdrawn] = useState("");
  const owed = data.filter((e) => e.amount > 0n);
  // A wallet without ETH cannot pay a transaction's fee: a gateway relays the withdrawal instead,
  // for a fee in the token that the patient sees, and signs for, first.
  const relayers = useRelayers();
  const { data: noEth = false } = useQuery({
    queryKey: [LEDGER_KEY, "eth", patient],
    enabled: !!client && !!relayable,
    queryFn: async () => (await client!.getBalance({ address: patient })) === 0n,
  });
  const { data: offer } = useQuery({
    queryKey: ["withdraw-quote", relayers.map((r) => r.origin)],
    enabled: !!relayable && noEth && relayers.length > 0,
    queryFn: async (): Promise<{ via: Relayer; quote: WithdrawQuote } | null> => {
      for (const via of relayers) {
        const quote = await withdrawQuote(via);
        if (quote) return { via, quote };
      }
      return null;
    },
  });

  const withdrawBySignature = (token: Address, amount: bigint, text: string) => {
    if (!offer || !escrow || !relayable) return;
    const { via, quote } = offer;
    setWithdrawn(`${amountOf(amount - quote.fee, token)} (${text} less the fee of ${amountOf(quote.fee, token)})`);
    void tx.run(async (step) => {
      const { nonce, feeCap } = await relayable.read(client!, escrow, token, patient);
      if (quote.fee > feeCap) {
        throw new Error(
          `${via.name} asks ${amountOf(quote.fee, token)} to send it for you, more than anyone may take for this (${amountOf(feeCap, token)}).`,
        );
      }
      const deadline = BigInt(nowSeconds() + SIGNATURE_LIFETIME_SECONDS);
      return signAndRelay(
        config,
        step,
        via,
        relayable.action,
        { patient, token, fee: quote.fee, relayer: quote.relayer, nonce, deadline },
        `Sign the withdrawal in your wallet: ${via.name} takes ${amountOf(quote.fee, token)}…`,
      );
    });
  };
  return (
    <>
      <h3 id={headingId}>Your earnings</h3>
      {owed.length === 0 ? (
        <p>Nothing to withdraw. {nothingYet}</p>
      ) : (
        <ul className="plain rows" aria-labelledby={headingId}>
          {owed.map((e) => {
            const text = amountOf(e.amount, e.token);
            const relayed = !!relayable && noEth && offer && offer.quote.fee < e.amount ? offer : null;
            if (relayed) {
              return (
                <li key={e.token} className="row">
                  <span className="amount">{text}</span>
                  <span className="help">
                    Your account has nothing to pay the processing fee with: {relayed.via.name} sends the withdrawal for
                    you and takes {amountOf(relayed.quote.fee, e.token)}; you receive{" "}
                    {amountOf(e.amount - relayed.quote.fee, e.token)}.
                  </span>
                  <button
                    type="button"
                    className="button small primary"
                    disabled={tx.busy}
                    onClick={() => withdrawBySignature(e.token, e.amount, text)}
                  >
                    Withdraw for a fee of {amountOf(relayed.quote.fee, e.token)}
                    <span className="visually-hidden"> {text}</span>
                  </button>
                </li>
              );
            }
            return (
              <li key={e.token} className="row">
                <span className="amount">{text}</span>
                <button
                  type="button"
                  className="button small primary"
                  disabled={tx.busy || !escrow}
                  onClick={() => {
                    setWithdrawn(text);
                    void tx.run(() => call(escrow!, studyEscrowAbi, "withdraw", [e.token]));
                  }}
                >
                  Withdraw<span className="visually-hidden"> {text}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <TxStatusLine status={tx.status} confirmed={`${withdrawn} sent to your account.`} />
    </>
  );
}
