/**
 * Funding with an EIP-2612 permit: the researcher signs a permit for the escrow (no transaction,
 * no fee), and the escrow's `createStudyWithPermit` / `fundWithPermit` applies it and pulls the
 * funds in the same transaction as the study action.
 */
import { type Address, parseSignature } from "viem";
import type { Config } from "wagmi";
import { signTypedData } from "wagmi/actions";

import type { ChainReader } from "#sdk/chain-reader.ts";
import { permitTypedData } from "#sdk/escrow.ts";
import { remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { formatAmount } from "../../_lib/amounts.ts";
import { nowSeconds } from "../../_lib/clock.ts";
import type { TokenInfo } from "../../_lib/studies.ts";
import type { Step } from "../../_lib/tx.ts";

/** How long a permit stays valid: long enough to confirm the transaction, short enough to be moot if lost. */
const PERMIT_LIFETIME_SECONDS = 30 * 60;

/**
 * The permit for `spender` to take `value` of `token` from `owner`: refused before anything is
 * signed when the account does not hold that much, then signed in the wallet.
 */
export async function signFundingPermit(
  config: Config,
  client: ChainReader,
  step: Step,
  { token, owner, spender, value }: { token: TokenInfo; owner: Address; spender: Address; value: bigint },
) {
  const balance = await client.readContract({
    address: token.address,
    abi: remunerationTokenAbi,
    functionName: "balanceOf",
    args: [owner],
  });
  if (balance < value) {
    throw new Error(
      `Your account holds ${formatAmount(balance, token.decimals)} ${token.symbol}, less than the ${formatAmount(value, token.decimals)} ${token.symbol} to fund.`,
    );
  }
  const deadline = BigInt(nowSeconds() + PERMIT_LIFETIME_SECONDS);
  const typed = await permitTypedData(client, { token: token.address, owner, spender, value, deadline });
  step({ phase: "signing", what: "Sign the permit for the escrow to take the funds in your wallet (no fee)…" });
  const signature = await signTypedData(config, { account: owner, ...typed });
  step({ phase: "checking" });
  const { r, s, v, yParity } = parseSignature(signature);
  return { deadline, v: Number(v ?? BigInt(yParity + 27)), r, s };
}
