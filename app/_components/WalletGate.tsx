"use client";
import { type ReactNode, useEffect, useRef } from "react";
import type { Address } from "viem";
import { useConnection } from "wagmi";

import { useMounted } from "../_lib/clock.ts";
import { appChain, registryAddress } from "../_lib/wagmi.ts";
import { ConnectWallet } from "./ConnectWallet.tsx";
import { WrongNetwork } from "./WrongNetwork.tsx";

type Stage = "loading" | "no-registry" | "connect" | "wrong-network" | "ready";

/** What every console needs first: a deployed registry, a connected wallet, the right chain. */
export function WalletGate({ children }: { children: (account: Address) => ReactNode }) {
  const mounted = useMounted();
  const { address, chainId, isConnected, status } = useConnection();
  const container = useRef<HTMLDivElement>(null);
  const stage: Stage =
    !mounted || status === "reconnecting"
      ? "loading"
      : !registryAddress
        ? "no-registry"
        : !isConnected || !address
          ? "connect"
          : chainId !== appChain.id
            ? "wrong-network"
            : "ready";

  // Connecting, switching network or disconnecting replaces the card that held focus: focus moves
  // to the heading of what replaced it, so a screen-reader user hears where they are now.
  const previous = useRef<Stage>(stage);
  useEffect(() => {
    const before = previous.current;
    previous.current = stage;
    if (before === stage || before === "loading") return;
    const active = document.activeElement;
    if (active && active !== document.body && container.current?.contains(active)) return;
    const heading = container.current?.querySelector<HTMLElement>("h2");
    if (!heading) return;
    heading.tabIndex = -1;
    heading.focus();
  }, [stage]);

  let content: ReactNode;
  switch (stage) {
    case "loading":
      // A first visit draws the connect card at once (with room kept for its wallets), so nothing
      // below it moves when they appear; a returning visitor's wallet reconnects.
      content =
        status === "disconnected" ? (
          <ConnectWallet />
        ) : (
          <p aria-busy="true" className="gate-loading">
            Loading…
          </p>
        );
      break;
    case "no-registry":
      content = (
        <p className="notice" role="alert">
          No Consentry registry is deployed on {appChain.name} (chain {appChain.id}) in this build. Deploy it (
          <code>npm run deploy</code>; locally <code>npm start</code>) and rebuild the app.
        </p>
      );
      break;
    case "connect":
      content = <ConnectWallet />;
      break;
    case "wrong-network":
      content = <WrongNetwork />;
      break;
    case "ready":
      content = children(address!);
      break;
  }
  return (
    <div ref={container} className="gate">
      {content}
    </div>
  );
}
