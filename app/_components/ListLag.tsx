"use client";
import type { Lag } from "../_lib/history.ts";

/**
 * Said under a list whose indexer is behind the chain. `plain`: the patient portal's words (no
 * blocks or chains); otherwise how far the index has got, for the consoles.
 */
export function ListLag({ lag, plain = false }: { lag: Lag | null; plain?: boolean }) {
  if (!lag) return null;
  return (
    <p className="notice small" role="status">
      {plain
        ? "This list may be missing your last few changes: it is being updated."
        : `This list may be missing the latest changes: it is being updated (the index has reached block ${lag.indexed.toLocaleString("en-GB")} of ${lag.latest.toLocaleString("en-GB")}).`}
    </p>
  );
}
