"use client";
import { type Ref, useEffect, useImperativeHandle, useRef } from "react";

import type { TxStatus } from "../_lib/tx.ts";
import { explorerTxUrl } from "../_lib/wagmi.ts";

/** Moves focus to the element, unless it is hidden or inert (a status behind an open modal dialog). */
export function focusOutcome(element: HTMLElement | null, preventScroll = false): boolean {
  if (!element || !element.isConnected || element.closest("[inert]")) return false;
  if (typeof element.checkVisibility === "function" && !element.checkVisibility()) return false;
  element.focus({ preventScroll });
  return document.activeElement === element;
}

/**
 * Where an action stands, in a live region that is always in the accessibility tree (empty while
 * idle, never `display: none`), so its first message is announced. When an action starts, focus
 * moves here (the button that started it is disabled while it runs, and a disabled button drops
 * focus to the page); it stays here through the outcome, even when the list around it re-orders.
 * Pass `focus={false}` for a line that must not take focus (a duplicate of another line).
 */
export function TxStatusLine({
  status,
  confirmed = "Done.",
  focus = true,
  ref,
}: {
  status: TxStatus;
  confirmed?: string;
  focus?: boolean;
  ref?: Ref<HTMLParagraphElement>;
}) {
  const element = useRef<HTMLParagraphElement>(null);
  useImperativeHandle(ref, () => element.current!, []);
  /** True from the moment this line took focus for an action until the user moves focus elsewhere. */
  const holds = useRef(false);

  const previousPhase = useRef(status.phase);
  useEffect(() => {
    const before = previousPhase.current;
    previousPhase.current = status.phase;
    if (!focus || status.phase === "idle") return;
    if (status.phase === "confirmed" || status.phase === "failed") {
      // The outcome: focus it, unless the user moved on to something else while it ran.
      const active = document.activeElement;
      const immediate = before === "idle" || before === "confirmed" || before === "failed";
      if (holds.current || immediate || !active || active === document.body || active === element.current) {
        holds.current = focusOutcome(element.current);
      }
      return;
    }
    if (!holds.current) holds.current = focusOutcome(element.current);
  }, [focus, status]);

  // After every render: if this line held focus and a re-render dropped it to the page (the card
  // moved in its list), take it back, without scrolling.
  useEffect(() => {
    if (holds.current && document.activeElement === document.body) focusOutcome(element.current, true);
  });
  // A click anywhere is the user moving on (a click on the page's background drops focus to it).
  useEffect(() => {
    const release = () => {
      holds.current = false;
    };
    document.addEventListener("pointerdown", release, true);
    return () => document.removeEventListener("pointerdown", release, true);
  }, []);

  let text: string | null = null;
  let tone = "info";
  switch (status.phase) {
    case "idle":
      break;
    case "checking":
      text = "Checking that this will work…";
      break;
    case "signing":
      text = status.what ?? "Confirm in your wallet…";
      break;
    case "pending":
      text = "Sent. Waiting for it to be recorded…";
      break;
    case "confirmed":
      text = confirmed;
      tone = "success";
      break;
    case "failed":
      text = `Not done: ${status.message}`;
      tone = "error";
      break;
  }
  const hash = "hash" in status ? status.hash : undefined;
  const explorer = hash ? explorerTxUrl(hash) : null;
  return (
    <p
      ref={element}
      className={`tx-status tx-${tone}`}
      role="status"
      aria-live="polite"
      aria-atomic="true"
      tabIndex={-1}
      data-phase={status.phase}
      onBlur={(event) => {
        // Focus went to another element on purpose (Tab, a click on a control): stop holding it.
        if (event.relatedTarget) holds.current = false;
      }}
    >
      {text}
      {explorer ? (
        <>
          {" "}
          <a href={explorer} target="_blank" rel="noreferrer">
            See the record of it
          </a>
        </>
      ) : null}
    </p>
  );
}
