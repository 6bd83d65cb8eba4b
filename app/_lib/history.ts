/**
 * The app's lists, read from its own server (GET /api/history/<list>, app/_server/history.ts),
 * which answers them from the indexer: the browser never scans the chain's logs, and never
 * imports the indexer's code (Ponder) either. Each answer says which block the indexer had
 * reached; a list whose indexer is behind the chain's latest block says so (`lag`) and is read
 * again until it has caught up. After the user's own transaction, `refreshWhenIndexed` waits until
 * the indexer has reached its block, then reads every list again: the list then includes it.
 */
import { type QueryClient, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useBlockNumber } from "wagmi";

import { type HistoryAnswer, type HistoryError, type Indexed, fromWire } from "./wire.ts";
import { appChain } from "./wagmi.ts";

/** Every ledger query key starts with this, so one invalidation refreshes them all. */
export const LEDGER_KEY = "consentry-ledger";

/** How long a list may be behind before the page says so (a new block is indexed within ~1 s). */
const LAG_GRACE_MS = 1_500;
/** How often a list behind the chain is read again. */
const CATCH_UP_POLL_MS = 400;

type Params = Readonly<Record<string, string>>;

async function fetchHistory<T>(list: string, params: Params, signal?: AbortSignal): Promise<HistoryAnswer<T>> {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(`/api/history/${list}${query ? `?${query}` : ""}`, {
    cache: "no-store",
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = `the list could not be read (${response.status})`;
    try {
      message = fromWire<HistoryError>(text).error || message;
    } catch {
      // not our JSON: keep the status
    }
    throw new Error(message);
  }
  return fromWire<HistoryAnswer<T>>(text);
}

/** How far a list is behind the chain, once it has been behind for a moment; null when it is not. */
export interface Lag {
  /** The block the indexer had reached, and the chain's latest. */
  indexed: number;
  latest: number;
}

/** The chain's latest block as the page knows it (the console's block watcher keeps it fresh). */
function useLatestBlock(): number | undefined {
  const { data } = useBlockNumber({ chainId: appChain.id });
  return data === undefined ? undefined : Number(data);
}

function useLag(indexed: number | undefined, latest: number | undefined): Lag | null {
  const behind = indexed !== undefined && latest !== undefined && latest > indexed;
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!behind) {
      setShown(false);
      return;
    }
    const timer = setTimeout(() => setShown(true), LAG_GRACE_MS);
    return () => clearTimeout(timer);
  }, [behind]);
  return behind && shown ? { indexed: indexed!, latest: latest! } : null;
}

/**
 * One list of the app, from the indexer. `params` null: not asked yet (a missing account, …).
 * `data` is the list; `lag` says when the indexer is behind the chain.
 */
export function useHistory<T>(list: string, params: Params | null) {
  const latest = useLatestBlock();
  const query = useQuery({
    queryKey: [LEDGER_KEY, "history", list, params],
    queryFn: ({ signal }) => fetchHistory<T>(list, params!, signal),
    enabled: params !== null,
    // Behind the chain's latest block: read again until the indexer has caught up.
    refetchInterval: (q) => {
      const at = q.state.data?.indexed.blockNumber;
      return at !== undefined && latest !== undefined && latest > at ? CATCH_UP_POLL_MS : false;
    },
  });
  const indexed: Indexed | undefined = query.data?.indexed;
  const lag = useLag(indexed?.blockNumber, latest);
  return { ...query, data: query.data?.data, indexed, lag };
}

/** Where the indexer stands now. */
export async function indexerStatus(): Promise<Indexed> {
  return (await fetchHistory<null>("status", {})).indexed;
}

/**
 * Waits until the indexer has reached `blockNumber` (the block of the user's own transaction),
 * then reads every list again, so the action shows. Gives up after `timeoutMs` (the lists then
 * say they are behind, and keep reading until they have caught up).
 */
export async function refreshWhenIndexed(
  queryClient: QueryClient,
  blockNumber: bigint,
  { timeoutMs = 30_000, pollMs = 100 } = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let reached = false;
  while (Date.now() < deadline) {
    try {
      if (BigInt((await indexerStatus()).blockNumber) >= blockNumber) {
        reached = true;
        break;
      }
    } catch {
      // the indexer or the app's server did not answer: try again
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  await queryClient.invalidateQueries({ queryKey: [LEDGER_KEY] });
  return reached;
}
