"use client";
import dynamic from "next/dynamic";
import { useConnection, useDisconnect } from "wagmi";

import { useMounted } from "../_lib/clock.ts";
import { useNames } from "../_lib/names.ts";
import { DEV_WALLET_RDNS } from "../_lib/wagmi.ts";

// DEV_WALLET_ENABLED, written in place: a build for another chain drops this import, and with it the
// development wallet.
const DevAccountMenu =
  (process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_ID ?? "31337") === "31337"
    ? dynamic(() => import("./DevAccountMenu.tsx"), { ssr: false })
    : null;

/** The connected account and a way out, in the header. */
export function AccountBar() {
  const mounted = useMounted();
  const { address, connector, isConnected } = useConnection();
  const disconnect = useDisconnect();
  const { nameOf } = useNames();
  if (!mounted || !isConnected || !address) return null;
  return (
    <div className="account-bar">
      {DevAccountMenu && connector?.id === DEV_WALLET_RDNS ? <DevAccountMenu /> : null}
      <span className="account" title={address}>
        <span className="visually-hidden">Connected: </span>
        {nameOf(address) ?? "Your wallet"}
        {connector ? <span className="muted"> · {connector.name}</span> : null}
      </span>
      <button type="button" className="button small" onClick={() => disconnect.mutate()}>
        Disconnect
      </button>
    </div>
  );
}
