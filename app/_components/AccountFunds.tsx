"use client";
import { useQuery } from "@tanstack/react-query";
import { useId } from "react";
import type { Address } from "viem";

import { remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { formatAmount } from "../_lib/amounts.ts";
import { LEDGER_KEY, useLedgerClient } from "../_lib/ledger.ts";
import { useTokens } from "../_lib/studies.ts";
import { call, useTx } from "../_lib/tx.ts";
import { isLocalDevChain, tokenAddress } from "../_lib/wagmi.ts";
import { TxStatusLine } from "./TxStatusLine.tsx";

/**
 * The account's balance of the deployment's currency (studies, programmes and research funds take
 * it), with the local chain's test faucet. `use`: what the money is for ("to fund studies with");
 * `heading` names the card (default "Your funds").
 */
export function AccountFunds({
  account,
  use,
  heading = "Your funds",
}: {
  account: Address;
  use: string;
  heading?: string;
}) {
  const headingId = useId();
  const client = useLedgerClient();
  const { tokenOf } = useTokens([tokenAddress!]);
  const token = tokenOf(tokenAddress!);
  const tx = useTx();
  const { data: balance } = useQuery({
    queryKey: [LEDGER_KEY, "token-balance", tokenAddress, account],
    enabled: !!client,
    queryFn: () =>
      client!.readContract({
        address: tokenAddress!,
        abi: remunerationTokenAbi,
        functionName: "balanceOf",
        args: [account],
      }),
  });
  const faucetAmount = token ? 1_000n * 10n ** BigInt(token.decimals) : 0n;
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{heading}</h2>
      <p>
        <span className="amount">
          {balance !== undefined && token ? `${formatAmount(balance, token.decimals)} ${token.symbol}` : "…"}
        </span>{" "}
        in your account, {use}.
      </p>
      {isLocalDevChain && token ? (
        <div className="actions">
          <button
            type="button"
            className="button small"
            disabled={tx.busy}
            onClick={() => void tx.run(() => call(tokenAddress!, remunerationTokenAbi, "faucet", [faucetAmount]))}
          >
            Get 1,000 {token.symbol} of test money (local chain only)
          </button>
          <TxStatusLine status={tx.status} confirmed={`1,000 ${token.symbol} added to your account.`} />
        </div>
      ) : null}
    </section>
  );
}
