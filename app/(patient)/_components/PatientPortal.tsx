"use client";
import { useConnection } from "wagmi";

import { ConnectWallet } from "../../_components/ConnectWallet.tsx";
import { WrongNetwork } from "../../_components/WrongNetwork.tsx";
import { useMounted, useRefreshOnNewBlock } from "../../_lib/hooks.ts";
import { localChain, registryAddress } from "../../_lib/wagmi.ts";
import { Delegates } from "./Delegates.tsx";
import { EmergencyBanner } from "./EmergencyBanner.tsx";
import { GrantForm } from "./GrantForm.tsx";
import { GrantList } from "./GrantList.tsx";

/** The patient portal: connect, be on the right chain, then the ledger of the connected patient. */
export function PatientPortal() {
  const mounted = useMounted();
  const { address, chainId, isConnected, status } = useConnection();

  if (!mounted || status === "reconnecting") return <p aria-busy="true">Loading…</p>;
  if (!registryAddress) {
    return (
      <p className="notice" role="alert">
        No Consentry registry is deployed on {localChain.name} (chain {localChain.id}) in this build. Start the local
        stack with <code>npm start</code> and rebuild the app.
      </p>
    );
  }
  if (!isConnected || !address) return <ConnectWallet />;
  if (chainId !== localChain.id) return <WrongNetwork />;
  return <Ledger patient={address} />;
}

function Ledger({ patient }: { patient: `0x${string}` }) {
  useRefreshOnNewBlock();
  return (
    <>
      <EmergencyBanner patient={patient} />
      <GrantList patient={patient} />
      <GrantForm patient={patient} />
      <Delegates patient={patient} />
    </>
  );
}
