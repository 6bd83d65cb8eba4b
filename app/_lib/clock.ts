/** The clock of the page, and whether it runs in the browser yet. */
import { useEffect, useState, useSyncExternalStore } from "react";

/** Unix seconds now. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

const noop = () => () => {};
/** False during the server render and hydration, true after: for what only the browser knows. */
export function useMounted(): boolean {
  return useSyncExternalStore(
    noop,
    () => true,
    () => false,
  );
}

/** Unix seconds, ticking every `everyMs`: grant states change with time, not only with blocks. */
export function useNow(everyMs = 15_000): number {
  const [now, setNow] = useState(nowSeconds);
  useEffect(() => {
    const id = setInterval(() => setNow(nowSeconds()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}
