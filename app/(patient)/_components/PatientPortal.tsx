"use client";
import { WalletGate } from "../../_components/WalletGate.tsx";
import { useRefreshOnNewBlock } from "../../_lib/ledger.ts";
import { Delegates } from "./Delegates.tsx";
import { EmergencyBanner } from "./EmergencyBanner.tsx";
import { GrantForm } from "./GrantForm.tsx";
import { GrantList } from "./GrantList.tsx";
import { MyRecords } from "./MyRecords.tsx";
import { Studies } from "./Studies.tsx";
import { WalletName } from "./WalletName.tsx";

/** The patient portal: connect, be on the right chain, then the ledger of the connected patient. */
export function PatientPortal() {
  return <WalletGate>{(address) => <Ledger patient={address} />}</WalletGate>;
}

function Ledger({ patient }: { patient: `0x${string}` }) {
  useRefreshOnNewBlock();
  return (
    <>
      <EmergencyBanner patient={patient} />
      <GrantList patient={patient} />
      <GrantForm patient={patient} />
      <MyRecords patient={patient} />
      <Studies patient={patient} />
      <Delegates patient={patient} />
      <WalletName patient={patient} />
    </>
  );
}
