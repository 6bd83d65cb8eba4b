"use client";
import { useConnection, useDisconnect } from "wagmi";

import { shortAddress } from "../_lib/format.ts";
import { useMounted } from "../_lib/hooks.ts";

/** The connected account and a way out, in the header. */
export function AccountBar() {
  const mounted = useMounted();
  const { address, connector, isConnected } = useConnection();
  const disconnect = useDisconnect();
  if (!mounted || !isConnected || !address) return null;
  return (
    <div className="account-bar">
      <span className="account" title={address}>
        <span className="visually-hidden">Connected as </span>
        {shortAddress(address)}
        {connector ? <span className="muted"> · {connector.name}</span> : null}
      </span>
      <button type="button" className="button small" onClick={() => disconnect.mutate()}>
        Disconnect
      </button>
    </div>
  );
}
