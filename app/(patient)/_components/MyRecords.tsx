"use client";
/**
 * My records and access log, per custodian: sign in to the custodian's gateway with the wallet
 * (SIWE, no transaction), link the custodian's record with the code it gave, then read the
 * records (and download them as a FHIR Bundle) and the access log: every read of them there,
 * allowed or refused, newest first.
 */
import type { AuditEvent, Bundle } from "@medplum/fhirtypes";
import { useQuery } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { type FormEvent, useEffect, useId, useState } from "react";
import { type Address, isAddressEqual } from "viem";

import { CATEGORIES, isCategoryName } from "#sdk/codes.ts";
import { isDidPkh, parseDidPkh } from "#sdk/did-pkh.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { findOrganization } from "#sdk/ledger.ts";
import { GatewaySignIn } from "../../_components/GatewaySignIn.tsx";
import "../../_components/records.css";
import { dayWords, formatDateTime, localDay } from "../../_lib/dates.ts";
import { downloadJson, fileNamePart } from "../../_lib/download.ts";
import { shortAddress } from "../../_lib/format.ts";
import { GatewayError, type GatewaySession, gatewayFetch, gatewayFetchAllPages } from "../../_lib/gateway.ts";
import { useCustodians, useLedgerClient, useOrganizations } from "../../_lib/ledger.ts";
import { useGatewaySession } from "../../_lib/useGateway.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

/** The records, laid out (and their plain names), loaded only once she has signed in: not part of the first load. */
const RecordsView = dynamic(() => import("../../_components/RecordsView.tsx").then((m) => m.RecordsView), {
  loading: () => <p aria-busy="true">Reading your records…</p>,
});

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
  const { custodians, isLoading } = useCustodians();
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
        <CustodianRecords key={c.address} patient={patient} name={c.name} origin={c.origin} fhirPath={c.fhirPath} />
      ))}
    </section>
  );
}

function CustodianRecords({
  patient,
  name,
  origin,
  fhirPath,
}: {
  patient: Address;
  name: string;
  origin: string;
  fhirPath: string;
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
          <Records session={state.session} name={name} fhirPath={fhirPath} onExpired={expired} />
          <AccessLog session={state.session} name={name} fhirPath={fhirPath} onExpired={expired} />
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
              onClick={() => downloadJson(query.data, `my-records-${fileNamePart(name)}.json`)}
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
  /** What was read or done, in words: "your lab results and vital signs". */
  what: string;
  /** The verb for an allowed access: "read", "added", "updated"; an operation carries its own. */
  verb: string;
  /** The resource or operation as the gateway recorded it (shown only under Details). */
  technical: string;
  purpose: string;
  allowed: boolean;
  why: string;
  emergency: boolean;
  /** Why emergency access was opened, as the gateway checked it against the chain (emergency reads only). */
  emergencyReason: string;
  /** The custodian added or updated a record (not an access by someone). */
  change: boolean;
}

/** Repeated accesses of one day: same reader, same data, same purpose and outcome. */
interface LogGroup {
  key: string;
  rows: LogRow[];
}

function didAddress(did: string | undefined): Address | null {
  return did !== undefined && isDidPkh(did) ? parseDidPkh(did).address : null;
}

/** What each of the gateway's own operations did, as a verb phrase about the patient's records. */
const OPERATION_WORDS: Record<string, { verb: string; what: string }> = {
  everything: { verb: "read", what: "your records" },
  "issue-link-code": { verb: "gave out", what: "a code to link your record" },
  "issue-relink-code": { verb: "gave out", what: "a code to link your record again" },
  "link-wallet": { verb: "linked", what: "your record to your wallet" },
  "relink-wallet": { verb: "linked", what: "your record to a new wallet" },
  "relay-grant": { verb: "sent for you", what: "a consent you signed" },
  "relay-revoke": { verb: "sent for you", what: "the end of a consent you signed" },
  "relay-revoke-all": { verb: "sent for you", what: "your signed request to end every consent" },
  "relay-cancel-signatures": { verb: "sent for you", what: "your request to cancel signatures not yet sent" },
  "relay-join": { verb: "sent for you", what: "your signed request to join a study" },
  "relay-leave": { verb: "sent for you", what: "your signed request to leave a study" },
  "relay-withdraw": { verb: "sent for you", what: "your signed request to take out your earnings" },
  "enrolment-attestation": { verb: "confirmed", what: "that you may join a study" },
  "research-export": { verb: "gave", what: "your data to a study, without your name" },
  "erase-patient": { verb: "erased", what: "your record" },
};

/** A resource type in words ("your lab results and vital signs"); a patient's own record is "your details". */
function resourceWords(type: string | undefined): string {
  if (!type || type === "Patient") return "your details";
  return isCategoryName(type) ? `your ${CATEGORIES[type].display}` : "your records";
}

const VERB_OF_ACTION: Record<string, string> = { C: "added", U: "updated", D: "deleted" };

/** "once", "twice", "5 times". */
function timesWords(n: number): string {
  return n === 1 ? "once" : n === 2 ? "twice" : `${n} times`;
}

/** Groups the rows (newest first) by day, reader, data, purpose and outcome, keeping their order. */
function groupRows(rows: readonly LogRow[]): LogGroup[] {
  const groups = new Map<string, LogGroup>();
  for (const row of rows) {
    const key = [
      localDay(row.when),
      row.who,
      row.verb,
      row.what,
      row.purpose,
      row.allowed,
      row.emergency,
      row.emergencyReason,
    ].join("|");
    const group = groups.get(key);
    if (group) group.rows.push(row);
    else groups.set(key, { key, rows: [row] });
  }
  return [...groups.values()];
}

/** "A clinician of St. Example Hospital read your lab results and vital signs 5 times today, for treatment." */
function groupSentence(group: LogGroup): string {
  const row = group.rows[0]!;
  const count = timesWords(group.rows.length);
  const day = dayWords(row.when);
  const purpose = row.purpose ? `, for ${row.purpose.toLowerCase()}` : "";
  if (row.allowed) return `${row.who} ${row.verb} ${row.what} ${count} ${day}${purpose}.`;
  return `${row.who} asked for ${row.what} ${count} ${day}${purpose}, and was refused.`;
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
          if (isAddressEqual(reader, session.address)) return names.set(reader, "You");
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
        const operation = e.subtype?.find((s) => s.system === "urn:consentry:gateway-operation");
        const interaction = e.subtype?.[0]?.code ?? e.action ?? "";
        const resource = e.entity?.find((x) => x.role?.code === "4")?.what;
        const target = resource?.reference ?? resource?.display ?? "";
        const type = target ? target.split("/")[0] : undefined;
        const purposes = e.purposeOfEvent ?? [];
        const opWords = operation?.code ? OPERATION_WORDS[operation.code] : undefined;
        // An agent's display is the custodian's own systems ("Riverside Clinical Lab ingestion"): the custodian.
        const system = e.agent?.[0]?.who?.display;
        return {
          id: e.id ?? `${e.recorded}`,
          when: e.recorded ?? "",
          // A relayed request is sent by the custodian, for her (she only signed it).
          who: operation?.code?.startsWith("relay-")
            ? name
            : reader
              ? (names.get(reader) ?? "Someone")
              : system
                ? name
                : "Someone",
          verb:
            opWords?.verb ??
            VERB_OF_ACTION[e.action ?? ""] ??
            (interaction === "search-type" && type === "Patient" ? "looked for" : "read"),
          what:
            opWords?.what ??
            (interaction === "search-type" && type === "Patient" ? "your record" : resourceWords(type)),
          technical: operation?.display ?? `${interaction}${target ? ` ${target}` : ""}`,
          // The plain words are the concept's text (a Coding's display is its code system's own).
          purpose: purposes[0]?.text ?? "",
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
  const groups = rows ? groupRows(rows) : undefined;
  return (
    <div className="records-block">
      <h4>Who read my records at {name}</h4>
      <div className="actions">
        <button type="button" className="button small" onClick={() => void query.refetch()} disabled={query.isFetching}>
          Refresh<span className="visually-hidden"> the list of who read your records at {name}</span>
        </button>
      </div>
      {query.isLoading && <p aria-busy="true">Reading the list…</p>}
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
      {groups && groups.length === 0 && <p>Nobody has read your records here yet.</p>}
      {groups && groups.length > 0 && (
        <ul
          className="access-log plain"
          data-testid="access-log"
          aria-label={`Who read your records at ${name}, newest first`}
        >
          {groups.map((group) => (
            <AccessGroup key={group.key} group={group} />
          ))}
        </ul>
      )}
    </div>
  );
}

/** One line of the access log: what happened how often that day; each time, one click away. */
function AccessGroup({ group }: { group: LogGroup }) {
  const first = group.rows[0]!;
  const n = group.rows.length;
  return (
    <li data-outcome={first.allowed ? "allowed" : "refused"} data-count={n}>
      <p className="access-sentence">
        {groupSentence(group)}
        {first.emergency && <span className="badge badge-revoked"> emergency access</span>}
        {first.emergencyReason && <span className="small"> Why: {first.emergencyReason}</span>}
      </p>
      <details className="access-times">
        <summary>
          {n === 1 ? "When it happened" : `Each of the ${n} times`}
          {first.allowed ? null : " and why it was refused"}
        </summary>
        <ul className="plain">
          {group.rows.map((row) => (
            <li key={row.id}>
              {row.when ? formatDateTime(Date.parse(row.when) / 1000) : "At an unknown time"}
              {row.allowed ? "" : `, refused. ${row.why.replace(/^refused:\s*/i, "")}`}
              <span className="muted small"> ({row.technical})</span>
            </li>
          ))}
        </ul>
      </details>
    </li>
  );
}
