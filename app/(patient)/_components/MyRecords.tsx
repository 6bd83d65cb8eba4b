"use client";
/**
 * My records and access log, per custodian: sign in to the custodian's gateway with the wallet
 * (SIWE, no transaction), link the custodian's record with the code it gave, then read the
 * records (and download them as a FHIR Bundle) and the access log: every read of them there,
 * allowed or refused, newest first.
 */
import type { AuditEvent, Bundle } from "@medplum/fhirtypes";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useState } from "react";
import type { Address } from "viem";

import { isDidPkh, parseDidPkh } from "#sdk/did-pkh.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { findOrganization } from "#sdk/ledger.ts";
import { GatewaySignIn } from "../../_components/GatewaySignIn.tsx";
import { RecordsView } from "../../_components/RecordsView.tsx";
import { formatDateTime, shortAddress } from "../../_lib/format.ts";
import {
  type GatewaySession,
  GatewayError,
  downloadJson,
  gatewayFetch,
  gatewayFetchAllPages,
  gatewayOrigin,
} from "../../_lib/gateway.ts";
import { useLedgerClient, useOrganizations } from "../../_lib/hooks.ts";
import { useGatewaySession } from "../../_lib/useGateway.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

/** A patient reading its own records states treatment as the purpose (its own care). */
const OWN_PURPOSE = "TREAT";
const LOG_PAGE = 50;
/** A member of an organization by role (ROLES of #sdk/codes.ts), never by address. */
const ROLE_WORDS: Record<number, string> = {
  1: "An administrator",
  2: "A clinician",
  3: "The computer system",
  4: "An analyst",
};

export function MyRecords({ patient }: { patient: Address }) {
  const { organizations, isLoading } = useOrganizations();
  const custodians = organizations.filter(
    (o) => o.kind === "PROVIDER" && o.active && gatewayOrigin(o.gatewayUrl) !== null,
  );
  return (
    <section className="card" aria-labelledby="records-heading">
      <h2 id="records-heading">My records and who read them</h2>
      <p className="muted">
        Your records stay at your hospitals and labs. Sign in to each one with your wallet to read them and to see who
        read them. Signing in is free: your wallet only asks you to sign a message.
      </p>
      {isLoading && <p aria-busy="true">Loading your hospitals and labs…</p>}
      {!isLoading && custodians.length === 0 && <p>No hospital or lab is connected to Consentry yet.</p>}
      {custodians.map((c) => (
        <CustodianRecords
          key={c.address}
          patient={patient}
          name={c.name}
          origin={gatewayOrigin(c.gatewayUrl)!}
          fhirBase={c.gatewayUrl.replace(/\/+$/, "")}
        />
      ))}
    </section>
  );
}

function CustodianRecords({
  patient,
  name,
  origin,
  fhirBase,
}: {
  patient: Address;
  name: string;
  origin: string;
  fhirBase: string;
}) {
  const { state, signIn, signOut, setPatient, expired } = useGatewaySession(origin, patient, name);
  const headingId = useId();
  return (
    <article className="custodian" aria-labelledby={headingId} data-custodian={name}>
      <h3 id={headingId}>{name}</h3>
      {state.phase !== "signed-in" && <GatewaySignIn name={name} state={state} onSignIn={signIn} />}
      {state.phase === "signed-in" && state.session.patient === null && (
        <LinkRecord session={state.session} name={name} onLinked={setPatient} />
      )}
      {state.phase === "signed-in" && state.session.patient !== null && (
        <>
          <p className="muted small">
            You are signed in, and your record here is linked to your wallet.{" "}
            <button type="button" className="link-button" onClick={signOut}>
              Sign out<span className="visually-hidden"> of {name}</span>
            </button>
          </p>
          <details className="details">
            <summary>Details</summary>
            <p className="muted small">
              Wallet {shortAddress(patient)}; your record here is Patient/{state.session.patient}.
            </p>
          </details>
          <Records session={state.session} name={name} fhirPath={new URL(fhirBase).pathname} onExpired={expired} />
          <AccessLog session={state.session} name={name} fhirPath={new URL(fhirBase).pathname} onExpired={expired} />
        </>
      )}
    </article>
  );
}

function LinkRecord({
  session,
  name,
  onLinked,
}: {
  session: GatewaySession;
  name: string;
  onLinked: (patientId: string) => void;
}) {
  const id = useId();
  const [code, setCode] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const trimmed = code.trim();
    if (trimmed.length < 6) {
      setError(`Enter the link code exactly as ${name} gave it to you.`);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const response = await gatewayFetch(session, "/auth/link", {
        method: "POST",
        body: { code: trimmed },
        accept: "application/json",
        custodianName: name,
      });
      const linked = (await response.json()) as { patientId: string };
      onLinked(linked.patientId);
    } catch (err) {
      setError(err instanceof GatewayError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate>
      <p>
        Your record at {name} is not linked to this wallet yet. Enter the link code {name} gave you.
      </p>
      <div className="field">
        <label htmlFor={`${id}-code`}>Link code from {name}</label>
        <input
          id={`${id}-code`}
          type="text"
          autoComplete="one-time-code"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
        />
        {error && (
          <p id={`${id}-error`} className="field-error" role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="actions">
        <button type="submit" className="button primary" disabled={busy}>
          Link my record
        </button>
      </div>
    </form>
  );
}

/** What the records and the access log of one custodian need: its session, name and FHIR base. */
interface PanelProps {
  session: GatewaySession;
  name: string;
  fhirPath: string;
  onExpired: () => void;
}

function Records({ session, name, fhirPath, onExpired }: PanelProps) {
  const query = useQuery({
    queryKey: ["gateway", session.origin, session.token, "everything", session.patient],
    queryFn: async () => {
      return gatewayFetchAllPages(session, `${fhirPath}/Patient/${session.patient}/$everything`, {
        purpose: OWN_PURPOSE,
        custodianName: name,
      });
    },
    retry: false,
  });
  useExpiry(query.error, onExpired);
  return (
    <div className="records-block">
      <h4>My records at {name}</h4>
      {query.isLoading && <p aria-busy="true">Reading your records…</p>}
      {query.error && (
        <p className="notice" role="alert">
          {query.error.message}
        </p>
      )}
      {query.data && (
        <>
          <RecordsView bundle={query.data} headingLevel={4} />
          <div className="actions">
            <button
              type="button"
              className="button"
              onClick={() => downloadJson(query.data, `my-records-${name.replace(/\W+/g, "-").toLowerCase()}.json`)}
            >
              Download my records<span className="visually-hidden"> at {name}</span> as a file
            </button>
          </div>
        </>
      )}
    </div>
  );
}

/** A request answered 401: the sign-in is over (expired token): say so, offer to sign in again. */
function useExpiry(error: Error | null, onExpired: () => void): void {
  useEffect(() => {
    if (error instanceof GatewayError && error.status === 401) onExpired();
  }, [error, onExpired]);
}

interface LogRow {
  id: string;
  when: string;
  who: string;
  what: string;
  purpose: string;
  allowed: boolean;
  why: string;
  emergency: boolean;
  /** Why emergency access was opened, as the gateway checked it against the chain (emergency reads only). */
  emergencyReason: string;
  /** The custodian added or updated a record (not an access by someone). */
  change: boolean;
}

function didAddress(did: string | undefined): Address | null {
  return did !== undefined && isDidPkh(did) ? parseDidPkh(did).address : null;
}

function AccessLog({ session, name, fhirPath, onExpired }: PanelProps) {
  const client = useLedgerClient();
  const { organizations } = useOrganizations();
  const changesId = useId();
  const [showChanges, setShowChanges] = useState(false);
  const query = useQuery({
    queryKey: ["gateway", session.origin, session.token, "audit", session.patient, organizations.length],
    enabled: !!client && !!registryAddress,
    queryFn: async (): Promise<LogRow[]> => {
      const response = await gatewayFetch(
        session,
        `${fhirPath}/AuditEvent?patient=${session.patient}&_count=${LOG_PAGE}`,
        { purpose: OWN_PURPOSE, custodianName: name },
      );
      const bundle = (await response.json()) as Bundle<AuditEvent>;
      const events = (bundle.entry ?? []).map((e) => e.resource!).filter((e) => e?.resourceType === "AuditEvent");
      // Who each reader is: an organization, or a member of one (the registry says which).
      const readers = [
        ...new Set(events.map((e) => didAddress(e.agent?.[0]?.who?.identifier?.value)).filter((a) => a !== null)),
      ];
      const names = new Map<string, string>();
      await Promise.all(
        readers.map(async (reader) => {
          if (reader.toLowerCase() === session.address.toLowerCase()) return names.set(reader, "You");
          const [organization, role] = await client!.readContract({
            address: registryAddress!,
            abi: consentRegistryAbi,
            functionName: "accountOf",
            args: [reader],
          });
          const org = findOrganization(organizations, organization);
          if (!org) return names.set(reader, "Someone not in the register");
          return names.set(reader, role === 0 ? org.name : `${ROLE_WORDS[role] ?? "A member"} of ${org.name}`);
        }),
      );
      return events.map((e) => {
        const reader = didAddress(e.agent?.[0]?.who?.identifier?.value);
        const operation = e.subtype?.find((s) => s.system === "urn:consentry:gateway-operation")?.display;
        const interaction = e.subtype?.[0]?.display ?? e.action ?? "";
        const resource = e.entity?.find((x) => x.role?.code === "4")?.what;
        const target = resource?.reference ?? resource?.display ?? "";
        const purposes = e.purposeOfEvent ?? [];
        return {
          id: e.id ?? `${e.recorded}`,
          when: e.recorded ?? "",
          who: reader ? (names.get(reader) ?? shortAddress(reader)) : (e.agent?.[0]?.who?.display ?? "Unknown"),
          what: operation ?? `${interaction}${target ? ` ${target}` : ""}`,
          // The plain words are the concept's text (a Coding's display is its code system's own).
          purpose: purposes[0]?.text ?? purposes[0]?.coding?.[0]?.display ?? "",
          allowed: e.outcome === "0",
          why: e.outcomeDesc ?? "",
          emergency: purposes.some((p) => p.coding?.some((c) => c.code === "BTG")),
          emergencyReason:
            e.entity
              ?.flatMap((x) => x.detail ?? [])
              .find((d) => d.type === "emergency-reason")
              ?.valueString?.replace(/^\d+ /, "") ?? "",
          change: e.action === "C" || e.action === "U",
        };
      });
    },
    retry: false,
  });
  useExpiry(query.error, onExpired);
  const rows = query.data?.filter((row) => showChanges || !row.change);
  return (
    <div className="records-block">
      <h4>Access log at {name}</h4>
      <div className="actions">
        <button type="button" className="button small" onClick={() => void query.refetch()} disabled={query.isFetching}>
          Refresh<span className="visually-hidden"> the access log of {name}</span>
        </button>
      </div>
      {query.isLoading && <p aria-busy="true">Reading the access log…</p>}
      {query.error && (
        <p className="notice" role="alert">
          {query.error.message}
        </p>
      )}
      <div className="check">
        <input
          id={changesId}
          type="checkbox"
          checked={showChanges}
          onChange={(e) => setShowChanges(e.target.checked)}
        />
        <label htmlFor={changesId}>Also show when {name} added or updated your records</label>
      </div>
      {rows && rows.length === 0 && <p>Nobody has accessed your records here yet.</p>}
      {rows && rows.length > 0 && (
        <div className="table-scroll">
          <table className="data-table access-log" data-testid="access-log">
            <caption className="visually-hidden">Accesses to your records at {name}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Purpose</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} data-outcome={row.allowed ? "allowed" : "refused"}>
                  <td data-label="When">{row.when ? formatDateTime(Date.parse(row.when) / 1000) : ""}</td>
                  <td data-label="Who">{row.who}</td>
                  <td data-label="What">{row.what}</td>
                  <td data-label="Purpose">
                    {row.purpose}
                    {row.emergency && <span className="badge badge-revoked"> emergency access</span>}
                    {row.emergencyReason && <span className="small"> Why: {row.emergencyReason}</span>}
                  </td>
                  <td data-label="Result">
                    {row.allowed ? (
                      "Allowed"
                    ) : row.why ? (
                      <details>
                        <summary>Refused</summary>
                        <p className="muted small">{row.why}</p>
                      </details>
                    ) : (
                      "Refused"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
