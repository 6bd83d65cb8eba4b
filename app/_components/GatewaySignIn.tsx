"use client";
import type { SignInState } from "../_lib/useGateway.ts";

/** "Sign in to <custodian>" (SIWE in the wallet) and where that stands, for screen readers too. */
export function GatewaySignIn({
  name,
  state,
  onSignIn,
  purpose,
}: {
  name: string;
  state: SignInState;
  onSignIn: () => Promise<void>;
  /** Said to screen readers after the button's text, e.g. " to download study 3". */
  purpose?: string;
}) {
  return (
    <div className="actions">
      <button type="button" className="button" onClick={() => void onSignIn()} disabled={state.phase === "signing"}>
        Sign in to {name}
        {purpose && <span className="visually-hidden">{purpose}</span>}
      </button>
      <p className="tx-status" role="status" aria-live="polite">
        {state.phase === "signing" && "Confirm the sign-in message in your wallet…"}
        {state.phase === "failed" && <span className="tx-error">Not signed in: {state.message}</span>}
      </p>
    </div>
  );
}
