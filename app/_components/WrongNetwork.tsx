"use client";
import { useConnection, useSwitchChain } from "wagmi";

import { explainWalletError } from "#sdk/words.ts";
import { appChain } from "../_lib/wagmi.ts";

/** Shown while the wallet is on another network than the registry's, with one button to switch. */
export function WrongNetwork() {
  const { chainId } = useConnection();
  const switchChain = useSwitchChain();
  return (
    <section className="card warning" role="alert" aria-labelledby="network-heading">
      <h2 id="network-heading">Wrong network</h2>
      <p>
        Your wallet is set to another network. Your consents are kept on the Consentry network: switch to it to see
        them. Your wallet adds it if it does not know it yet.
      </p>
      <details className="details">
        <summary>Details</summary>
        <p className="muted small">
          Your wallet is on chain {chainId ?? "unknown"}. Consentry is on {appChain.name} (chain {appChain.id}).
        </p>
      </details>
      <button
        type="button"
        className="button primary"
        disabled={switchChain.isPending}
        onClick={() => switchChain.mutate({ chainId: appChain.id })}
      >
        Switch network
      </button>
      <p className="tx-status tx-error" role="status" aria-live="polite">
        {switchChain.isError ? `Could not switch: ${explainWalletError(switchChain.error)}` : null}
      </p>
    </section>
  );
}
