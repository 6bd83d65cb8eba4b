"use client";
import { useConnection, useSwitchChain } from "wagmi";

import { explainTransactionError } from "#sdk/errors.ts";
import { appChain } from "../_lib/wagmi.ts";

/** Shown while the wallet is on another chain than the registry's, with one button to switch. */
export function WrongNetwork() {
  const { chainId } = useConnection();
  const switchChain = useSwitchChain();
  return (
    <section className="card warning" role="alert" aria-labelledby="network-heading">
      <h2 id="network-heading">Wrong network</h2>
      <p>
        Your wallet is on another network (chain {chainId ?? "unknown"}). Your consents are recorded on {appChain.name}{" "}
        (chain {appChain.id}). Switching adds this network to your wallet if it does not know it yet.
      </p>
      <button
        type="button"
        className="button primary"
        disabled={switchChain.isPending}
        onClick={() => switchChain.mutate({ chainId: appChain.id })}
      >
        Switch to {appChain.name}
      </button>
      <p className="tx-status tx-error" role="status" aria-live="polite">
        {switchChain.isError ? `Could not switch: ${explainTransactionError(switchChain.error)}` : null}
      </p>
    </section>
  );
}
