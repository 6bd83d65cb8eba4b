"use client";
import type { ReactNode } from "react";
import type { Address } from "viem";
import { useConnection } from "wagmi";

import { useMounted } from "../_lib/hooks.ts";
import { appChain, registryAddress } from "../_lib/wagmi.ts";
import { ConnectWallet } from "./ConnectWallet.tsx";
import { WrongNetwork } from "./WrongNetwork.tsx";

/** What every console needs first: a deployed registry, a connected wallet, the right chain. */
export function WalletGate({ children }: { children: (account: Address) => ReactNode }) {
  const mounted = useMounted();
  const { address, chainId, isConnected, status } = useConnection();

  if (!mounted || status === "reconnecting") return <p aria-busy="true">Loading…</p>;
  if (!registryAddress) {
    return (
      <p className="notice" role="alert">
        No Consentry registry is deployed on {appChain.name} (chain {appChain.id}) in this build. Deploy it (
        <code>npm run deploy</code>; locally <code>npm start</code>) and rebuild the app.
      </p>
    );
  }
  if (!isConnected || !address) return <ConnectWallet />;
  if (chainId !== appChain.id) return <WrongNetwork />;
  return <>{children(address)}</>;
}
