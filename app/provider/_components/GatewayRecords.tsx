"use client";
/**
 * A provider opens a patient's records through a custodian's gateway: sign in there with the
 * clinician's wallet, find the Patient linked to the patient's address, read what the patient's
 * consent (or an open emergency access) allows for the purpose stated. A refusal is shown in the
 * gateway's words: which consent is missing, for which category and purpose, and why — to a reader
 * that holds some consent of the patient; any other is answered as if the gateway held no record of
 * the patient ("no consent here, or no such record").
 */
import type { Bundle, Patient } from "@medplum/fhirtypes";
import { type FormEvent, useId, useState } from "react";
import type { Address } from "viem";

import { formatEmergencyReason } from "#sdk/codes.ts";
import { formatDidPkh } from "#sdk/did-pkh.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { GatewaySignIn } from "../../_components/GatewaySignIn.tsx";
import { RecordsView } from "../../_components/RecordsView.tsx";
import { keptEmergencyReason } from "../../_lib/emergency-reasons.ts";
import { shortAddress } from "../../_lib/format.ts";
import { GatewayError, type GatewaySession, gatewayFetch, gatewayFetchAllPages } from "../../_lib/gateway.ts";
import { useCustodians, useLedgerClient } from "../../_lib/ledger.ts";
import { useGatewaySession } from "../../_lib/useGateway.ts";
import { appChain, registryAddress } from "../../_lib/wagmi.ts";

const PURPOSES = [
  { code: "TREAT", label: "Treatment" },
  { code: "ETREAT", label: "Emergency treatment (break-glass)" },
] as const;
type Purpose = (typeof PURPOSES)[number]["code"];

type ReadState =
  | { phase: "idle" }
  | { phase: "reading" }
  | { phase: "read"; bundle: Bundle; patientId: string }
  | { phase: "refused"; message: string; status: number }
  | { phase: "not-found" };

export function GatewayRecords({
  reader,
  patient,
  organization,
}: {
  reader: Address;
  patient: Address;
  organization: Address;
}) {
  const id = useId();
  const { custodians } = useCustodians();
  const [chosen, setChosen] = useState("");
  const custodian = custodians.find((c) => c.address === chosen) ?? custodians[0];

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Records of {shortAddress(patient)}</h2>
      {custodians.length === 0 && <p>No custodian with a gateway is accredited.</p>}
      {custodians.length > 1 && (
        <div className="field">
          <label htmlFor={`${id}-custodian`}>Custodian holding the records</label>
          <select id={`${id}-custodian`} value={custodian?.address ?? ""} onChange={(e) => setChosen(e.target.value)}>
            {custodians.map((c) => (
              <option key={c.address} value={c.address}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
      )}
      {custodian && (
        <CustodianReader
          key={`${custodian.address}-${patient}`}
          reader={reader}
          patient={patient}
          organization={organization}
          name={custodian.name}
          origin={custodian.origin}
          fhirPath={custodian.fhirPath}
        />
      )}
    </section>
  );
}

function CustodianReader({
  reader,
  patient,
  organization,
  name,
  origin,
  fhirPath,
}: {
  reader: Address;
  patient: Address;
  organization: Address;
  name: string;
  origin: string;
  fhirPath: string;
}) {
  const id = useId();
  const { state, signIn, expired } = useGatewaySession(origin, reader, name);
  const [purpose, setPurpose] = useState<Purpose>("TREAT");
  const [read, setRead] = useState<ReadState>({ phase: "idle" });
  const client = useLedgerClient();

  /** For an emergency read: the reason and salt this console kept when it opened the access. */
  async function emergencyReason(): Promise<string | undefined> {
    if (purpose !== "ETREAT" || !client || !registryAddress) return undefined;
    const [, , commitment] = await client.readContract({
      address: registryAddress,
      abi: consentRegistryAbi,
      functionName: "emergencyAccess",
      args: [patient, organization],
    });
    const kept = keptEmergencyReason(commitment);
    return kept ? formatEmergencyReason(kept) : undefined;
  }

  async function open(session: GatewaySession, event: FormEvent) {
    event.preventDefault();
    setRead({ phase: "reading" });
    try {
      const did = formatDidPkh(appChain.id, patient);
      const reason = await emergencyReason();
      const found = (await (
        await gatewayFetch(session, `${fhirPath}/Patient?identifier=${encodeURIComponent(did)}`, {
          purpose,
          ...(reason ? { emergencyReason: reason } : {}),
          custodianName: name,
        })
      ).json()) as Bundle<Patient>;
      const patientId = found.entry?.[0]?.resource?.id;
      if (!patientId) {
        setRead({ phase: "not-found" });
        return;
      }
      const bundle = await gatewayFetchAllPages(session, `${fhirPath}/Patient/${patientId}/$everything`, {
        purpose,
        ...(reason ? { emergencyReason: reason } : {}),
        custodianName: name,
      });
      setRead({ phase: "read", bundle, patientId });
    } catch (err) {
      if (err instanceof GatewayError && err.status === 401) expired();
      setRead({
        phase: "refused",
        status: err instanceof GatewayError ? err.status : 0,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }

  if (state.phase !== "signed-in") {
    return <GatewaySignIn name={name} state={state} onSignIn={signIn} />;
  }
  const session = state.session;
  return (
    <>
      <form className="inline-form" onSubmit={(e) => void open(session, e)}>
        <div className="field">
          <label htmlFor={`${id}-purpose`}>Purpose of use</label>
          <select id={`${id}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value as Purpose)}>
            {PURPOSES.map((p) => (
              <option key={p.code} value={p.code}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button primary" disabled={read.phase === "reading"}>
          Open records at {name}
        </button>
      </form>
      <div role="status" aria-live="polite" data-testid="gateway-read" data-phase={read.phase}>
        {read.phase === "reading" && <p aria-busy="true">Checking consent on the chain and reading…</p>}
        {read.phase === "not-found" && (
          <p>
            {name}: no consent here, or no such record for {shortAddress(patient)}. A gateway tells a reader that holds
            no consent of a patient nothing more, not even whether it holds records of that patient.
          </p>
        )}
        {read.phase === "refused" && (
          <div className="refusal" role="alert">
            <p>
              <strong>{read.status === 403 ? `Refused by ${name}:` : `${name} could not answer:`}</strong>
            </p>
            <p>{read.message}</p>
          </div>
        )}
      </div>
      {read.phase === "read" && (
        <>
          <p className="muted small">
            Patient/{read.patientId} at {name}, read for {purpose === "TREAT" ? "treatment" : "emergency treatment"}.
          </p>
          <RecordsView bundle={read.bundle} headingLevel={3} />
        </>
      )}
    </>
  );
}
