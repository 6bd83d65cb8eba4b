"use client";
import { useConnect, useConnectors } from "wagmi";

import { explainWalletError } from "#sdk/words.ts";
import { useMounted } from "../_lib/clock.ts";
import { DEV_WALLET_RDNS } from "../_lib/wagmi.ts";

/**
 * The wallets in this browser, by name: every EIP-6963 announcement, else `window.ethereum`.
 * Before the page knows them (server render, hydration) the same card is drawn with the room of
 * one row of wallets kept, so that nothing below it moves when they appear (no layout shift).
 */
export function ConnectWallet() {
  const mounted = useMounted();
  if (!mounted) return <ConnectCard searching />;
  return <ConnectCard />;
}

function ConnectCard({ searching = false }: { searching?: boolean }) {
  const connectors = useConnectors();
  const connect = useConnect();

  const announced = connectors.filter((c) => c.id !== "injected");
  const legacy =
    announced.length === 0 && typeof window !== "undefined" && "ethereum" in window
      ? connectors.filter((c) => c.id === "injected")
      : [];
  const wallets = [...announced, ...legacy];

  return (
    <section className="card" aria-labelledby="connect-heading">
      <h2 id="connect-heading">Connect your wallet</h2>
      <p>Your wallet is your key: only you can give or take back consent, and nobody else holds it.</p>
      {searching ? (
        <p className="wallets-searching" aria-busy="true">
          Looking for wallets…
        </p>
      ) : wallets.length === 0 ? (
        <p className="notice">
          No wallet found in this browser. Install a browser wallet (one that supports EIP-6963, such as MetaMask or
          Rabby), then reload this page.
        </p>
      ) : (
        <ul className="wallets">
          {wallets.map((connector) => (
            <li key={connector.uid}>
              <button
                type="button"
                className="button wallet"
                disabled={connect.isPending}
                onClick={() => connect.mutate({ connector })}
              >
                {connector.icon ? <img src={connector.icon} alt="" width={24} height={24} /> : null}
                <span>{connector.id === "injected" ? "Browser wallet" : connector.name}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {/* DEV_WALLET_ENABLED written in place, so that a build for another chain drops this text. */}
      {(process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_ID ?? "31337") === "31337" &&
      (searching || wallets.some((c) => c.id === DEV_WALLET_RDNS)) ? (
        <p className="muted">
          The development wallet is for this local demo only: it signs with public test keys, and its menu lets you act
          as each person of the demo in turn.
        </p>
      ) : null}
      <p className="tx-status tx-error" role="status" aria-live="polite">
        {connect.isError ? `Could not connect: ${explainWalletError(connect.error)}` : null}
      </p>
    </section>
  );
}
