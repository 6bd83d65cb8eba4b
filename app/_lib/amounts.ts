/** Token amounts typed by people and shown to them. */
import { formatUnits, parseUnits } from "viem";

const AMOUNT = /^\d{1,30}(\.\d{1,18})?$/;

/** Up to 4 decimals, with thousands separators: "1,000", "4.5". */
export function formatAmount(amount: bigint, decimals: number): string {
  const [whole, fraction = ""] = formatUnits(amount, decimals).split(".");
  const grouped = BigInt(whole!).toLocaleString("en-GB");
  const trimmed = fraction.slice(0, 4).replace(/0+$/, "");
  return trimmed ? `${grouped}.${trimmed}` : grouped;
}

/** An estimate to two significant digits, in the browser's language ("0.00012"). */
export function formatEstimate(amount: bigint, decimals: number): string {
  return new Intl.NumberFormat(undefined, { maximumSignificantDigits: 2, maximumFractionDigits: 18 }).format(
    Number(formatUnits(amount, decimals)),
  );
}

/** An amount typed in a field ("2.5", "1,000"), in the token's units, or what is wrong with it in words. */
export function parseAmount(value: string, decimals: number, what: string): bigint | { error: string } {
  const trimmed = value.trim().replace(/,/g, "");
  if (!trimmed) return { error: `Enter the ${what}.` };
  if (!AMOUNT.test(trimmed)) return { error: `The ${what} must be a number, such as 5 or 2.5.` };
  const fraction = trimmed.split(".")[1] ?? "";
  if (fraction.length > decimals) return { error: `The ${what} has more than ${decimals} decimals.` };
  const amount = parseUnits(trimmed, decimals);
  if (amount === 0n) return { error: `The ${what} must be more than zero.` };
  return amount;
}
