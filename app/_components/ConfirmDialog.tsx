"use client";
import { type ReactNode, type Ref, type RefObject, useId, useImperativeHandle, useRef } from "react";

import type { TxStatus } from "../_lib/tx.ts";
import { TxStatusLine } from "./TxStatusLine.tsx";

/** What a console does with its dialog: open it (as a modal) and close it. */
export interface ConfirmDialogHandle {
  open(): void;
  close(): void;
}

/**
 * "Are you sure?" before an action that cannot be taken back (revoke everything, open a patient's
 * records, suspend an organization, cancel a study): a modal dialog named by its question, the
 * action and a way out, and where the action stands. It closes itself once the action is done.
 */
export function ConfirmDialog({
  ref,
  title,
  children,
  confirmLabel,
  cancelLabel = "Cancel",
  onConfirm,
  tx,
  confirmed,
  disabled = false,
  cancelFirst = false,
  describedBy,
  outcome,
}: {
  ref: Ref<ConfirmDialogHandle>;
  /** The question, and the dialog's name. */
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  /** The action; resolves true when it is done. */
  onConfirm: () => Promise<boolean>;
  tx: { status: TxStatus; busy: boolean };
  confirmed: string;
  disabled?: boolean;
  /** Focus the way out when the dialog opens: Enter or Space must not take the action. */
  cancelFirst?: boolean;
  /** The id of the text that describes the action, inside `children`. */
  describedBy?: string;
  /** Where focus goes once the action is done and the dialog closed: the outcome outside it. */
  outcome?: RefObject<HTMLElement | null>;
}) {
  const headingId = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  useImperativeHandle(
    ref,
    () => ({
      open() {
        dialog.current?.showModal();
        if (cancelFirst) cancel.current?.focus();
      },
      close() {
        dialog.current?.close();
      },
    }),
    [cancelFirst],
  );
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby={headingId} aria-describedby={describedBy}>
      <h2 id={headingId}>{title}</h2>
      {children}
      <div className="actions">
        <button
          type="button"
          className="button danger"
          disabled={tx.busy || disabled}
          onClick={async () => {
            if (!(await onConfirm())) return;
            dialog.current?.close();
            outcome?.current?.focus();
          }}
        >
          {confirmLabel}
        </button>
        <button ref={cancel} type="button" className="button" onClick={() => dialog.current?.close()}>
          {cancelLabel}
        </button>
      </div>
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </dialog>
  );
}
