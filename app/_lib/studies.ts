/**
 * Studies of the StudyEscrow, shared by the patient portal and the research console: the list (from
 * the indexer, as it stood at the block it had reached), the currencies' symbols and decimals (read
 * from the tokens), amounts and purposes in words.
 */
import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import type { Address } from "viem";

import { PURPOSES, decodePurpose, describeScope } from "#sdk/codes.ts";
import { type StudyListing, custodianShare, readTokenInfo } from "#sdk/escrow.ts";
import { formatAmount } from "./amounts.ts";
import { useHistory } from "./history.ts";
import { useLedgerClient } from "./ledger.ts";
import { escrowAddress } from "./wagmi.ts";

/** Every study of the escrow, with the time of the block the indexer had reached (its "now"). */
export function useStudies() {
  return useHistory<{ blockNumber: bigint; timestamp: number; studies: StudyListing[] }>(
    "studies",
    escrowAddress ? {} : null,
  );
}

export interface TokenInfo {
  address: Address;
  symbol: string;
  decimals: number;
}

/** Symbols and decimals of the given tokens (they never change: read once). */
export function useTokens(tokens: readonly Address[]) {
  const client = useLedgerClient();
  const key = [...new Set(tokens.map((t) => t.toLowerCase()))].sort();
  const query = useQuery({
    queryKey: ["consentry-tokens", key],
    queryFn: () => Promise.all(key.map((t) => readTokenInfo(client!, t as Address))),
    enabled: !!client && key.length > 0,
    staleTime: Infinity,
  });
  const byAddress = useMemo(
    () => new Map((query.data ?? []).map((t) => [t.address.toLowerCase(), t as TokenInfo])),
    [query.data],
  );
  const tokenOf = useCallback((address: Address) => byAddress.get(address.toLowerCase()), [byAddress]);
  /** "4.5 CRC" (or the raw amount while the token is unknown). */
  const amountOf = useCallback(
    (amount: bigint, token: Address) => {
      const info = byAddress.get(token.toLowerCase());
      return info ? `${formatAmount(amount, info.decimals)} ${info.symbol}` : `${amount.toString()} units`;
    },
    [byAddress],
  );
  return { ...query, tokenOf, amountOf };
}

/** The study's research purpose in words, with its code: "health, medical and biomedical research (DUO:0000006)"
 * (without the code for a patient: `withCode` false; the code goes in a "Details" disclosure). */
export function studyPurposeWords(purpose: bigint, withCode = true): string {
  const decoded = decodePurpose(purpose);
  if (!decoded) return "an unknown purpose";
  const entry = PURPOSES[decoded.purpose];
  const words = `${entry.display}${decoded.purpose === "DS" ? ` (disease ${decoded.disease})` : ""}`;
  return withCode ? `${words} (${entry.code})` : words;
}

/** The study's research purpose code ("DUO:0000006"), for a "Details" disclosure. */
export function studyPurposeCode(purpose: bigint): string {
  const decoded = decodePurpose(purpose);
  return decoded ? PURPOSES[decoded.purpose].code : purpose.toString();
}

/** "Lab results and vital signs, conditions and diagnostic reports, for …": what a participant shares. */
export function studyScopeWords(study: Pick<StudyListing, "categories" | "purpose">): string {
  return describeScope(study.categories, study.purpose);
}

/** What a participant receives per delivery: the price less the custodian's share (which differs per custodian). */
export function patientShareRange(study: Pick<StudyListing, "price" | "custodians">): { min: bigint; max: bigint } {
  const amounts = study.custodians.map((c) => custodianShare(study.price, c.shareBps).patient);
  if (amounts.length === 0) return { min: study.price, max: study.price };
  return {
    min: amounts.reduce((a, b) => (a < b ? a : b)),
    max: amounts.reduce((a, b) => (a > b ? a : b)),
  };
}
