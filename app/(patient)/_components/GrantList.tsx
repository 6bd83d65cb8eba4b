"use client";
import { useRef } from "react";
import { type Address, isAddressEqual } from "viem";
import { useChainId, useConfig } from "wagmi";

import { PURPOSES, decodePurpose, describeScope } from "#sdk/codes.ts";
import { type EarlierGrant, type LedgerGrant, grantState, toConsentBundle, toGrantRecord } from "#sdk/ledger.ts";
import { ConfirmDialog, type ConfirmDialogHandle } from "../../_components/ConfirmDialog.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { useNow } from "../../_lib/clock.ts";
import { formatDate } from "../../_lib/dates.ts";
import { downloadJson } from "../../_lib/download.ts";
import { GRANT_STATE_WORDS, byGrantState, capitalize, grantSentence } from "../../_lib/format.ts";
import { useOrganizations, usePatientGrants } from "../../_lib/ledger.ts";
import { relayRevoke, useRelayers } from "../../_lib/relay.ts";
import { useContractTx } from "../../_lib/tx.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

/** What a revoke-all did, exactly (ConsentRegistry `revokeAll`). */
const REVOKED_ALL =
  "Every consent is revoked, every delegate appointment ended and every signature not yet sent is void.";

/**
 * A prevention programme's consent (PreventionRewards writes it when she opts in): a programme-
 * scoped grant for payment or public health, which opens no record; the payer learns only whether
 * her care met the programme's criterion.
 */
function inProgramme(grant: LedgerGrant): boolean {
  const purpose = decodePurpose(grant.purpose)?.purpose;
  return Boolean(grant.studyKey) && (purpose === "HPAYMT" || purpose === "PUBHLTH");
}

function revokedWords(grant: LedgerGrant): string {
  const { revoked, patient } = grant;
  if (!revoked) return "";
  if (inProgramme(grant) && !revoked.all) {
    return revoked.at > 0 ? "You left the prevention programme." : "Ended when you left the prevention programme.";
  }
  // A study's consent ends when she leaves the study (the study's escrow revokes it for her).
  if (grant.studyKey && !revoked.all) return revoked.at > 0 ? "You left the study." : "Ended when you left the study.";
  const byPatient = isAddressEqual(revoked.by, patient);
  if (revoked.all) {
    return byPatient
      ? "Revoked when you revoked every consent."
      : "Revoked when someone you appointed to act for you revoked every consent for you.";
  }
  return byPatient ? "You revoked this consent." : "Revoked for you by someone you appointed to act for you.";
}

function purposeWords(purpose: bigint): string {
  const decoded = decodePurpose(purpose);
  return decoded ? PURPOSES[decoded.purpose].display : "an unknown purpose";
}

/** The patient's grants, active first, each in plain words; revoke one, revoke all, export. */
export function GrantList({ patient }: { patient: Address }) {
  const { data, isPending, isError, lag } = usePatientGrants(patient);
  const grants = data?.grants;
  const { nameOf } = useOrganizations();
  // The later of the browser's clock and the chain's: a grant mined a moment ago is already active.
  const now = Math.max(useNow(), data?.timestamp ?? 0);
  const chainId = useChainId();
  const sorted = byGrantState(grants ?? [], now);
  const live = sorted.filter((g) => !g.revoked && grantState(g, now) !== "expired");

  function download() {
    if (!grants || !registryAddress) return;
    const records = grants.map((g) => {
      const granteeName = nameOf(g.grantee);
      return toGrantRecord(g, { chainId, registry: registryAddress!, now, ...(granteeName ? { granteeName } : {}) });
    });
    downloadJson(
      toConsentBundle(records),
      `consentry-consents-${patient.toLowerCase()}-${new Date().toISOString().slice(0, 10)}.json`,
    );
  }

  return (
    <section className="card" aria-labelledby="grants-heading">
      <h2 id="grants-heading">Who may use your records</h2>
      <ListLag lag={lag} plain />
      {isPending ? (
        <p aria-busy="true">Reading your consents…</p>
      ) : isError ? (
        <p className="notice" role="alert">
          Your consents could not be read just now. Check your internet connection and reload the page.
        </p>
      ) : sorted.length === 0 ? (
        <p>You have not given anyone consent yet. Nobody can read your records except in an emergency.</p>
      ) : (
        <ul className="grants plain">
          {sorted.map((grant) => (
            <GrantItem key={grant.grantId} grant={grant} now={now} name={nameOf(grant.grantee)} />
          ))}
        </ul>
      )}
      <div className="actions">
        <button type="button" className="button" onClick={download} disabled={!grants || grants.length === 0}>
          Download my consents<span className="visually-hidden"> as a file</span>
        </button>
        <RevokeAll count={live.length} />
      </div>
    </section>
  );
}

function GrantItem({ grant, now, name }: { grant: LedgerGrant; now: number; name: string | undefined }) {
  const tx = useContractTx();
  const config = useConfig();
  // Any custodian's gateway relays a revocation, whoever it concerns.
  const [relayer] = useRelayers();
  const state = grantState(grant, now);
  const who = name ?? "An organization no longer in the register";
  const headingId = `grant-${grant.grantId.slice(2, 14)}`;
  const revocable = state === "active" || state === "not-yet-valid";
  // A study grant is written by the escrow when the patient joins: not "on your behalf".
  const byOther = !grant.studyKey && !isAddressEqual(grant.grantedBy, grant.patient);
  return (
    <li className={`grant grant-${state}`} aria-labelledby={headingId} data-grant-id={grant.grantId}>
      <div className="grant-head">
        <h3 id={headingId}>{who}</h3>
        <span className={`badge badge-${state}`}>{GRANT_STATE_WORDS[state]}</span>
      </div>
      {/* A revoked consent no longer runs "until" its old end date. */}
      <p className="grant-sentence">
        {grant.revoked ? capitalize(describeScope(grant.categories, grant.purpose)) : grantSentence(grant)}
      </p>
      <p className="muted small">
        {state === "not-yet-valid" ? `Starts on ${formatDate(grant.validFrom)}. ` : null}
        {state === "active" && grant.validFrom > 0 ? `Since ${formatDate(grant.validFrom)}. ` : null}
        {state === "expired" ? `Ended on ${formatDate(grant.expiresAt)}. ` : null}
        {grant.revoked && grant.revoked.at > 0 ? `Ended on ${formatDate(grant.revoked.at)}. ` : null}
        {grant.revoked ? `${revokedWords(grant)} ` : null}
        {revocable && !inProgramme(grant)
          ? `It opens your records at every hospital and lab that holds them, for ${who} only. `
          : null}
        {inProgramme(grant)
          ? `Part of a prevention programme you joined: it opens no record; ${who} learns only whether your care met the programme's criterion. `
          : grant.studyKey
            ? "Part of a research study you joined (see Research studies below). "
            : null}
        {byOther ? "Given for you by someone you appointed to act for you." : null}
      </p>
      {grant.earlier && grant.earlier.length > 0 ? <EarlierConsents earlier={grant.earlier} who={who} /> : null}
      {revocable ? (
        <>
          <button
            type="button"
            className="button danger"
            disabled={tx.busy}
            onClick={() => void tx.send("revoke", [grant.grantee, grant.scope])}
          >
            Revoke
            <span className="visually-hidden">
              {" "}
              consent to {who} for {purposeWords(grant.purpose)}
            </span>
          </button>
          {relayer && !grant.studyKey ? (
            <button
              type="button"
              className="button"
              disabled={tx.busy}
              onClick={() =>
                void tx.run((step) =>
                  relayRevoke(config, step, relayer, grant.patient, { grantee: grant.grantee, scope: grant.scope }),
                )
              }
            >
              Revoke without a fee
              <span className="visually-hidden">
                {" "}
                consent to {who} for {purposeWords(grant.purpose)} (signed, sent by {relayer.name})
              </span>
            </button>
          ) : null}
        </>
      ) : null}
      {/* Outside the condition: the outcome stays once the consent is revoked (and its buttons gone). */}
      <TxStatusLine
        status={tx.status}
        confirmed={`You revoked your consent to ${who}. It is listed with your past consents.`}
      />
    </li>
  );
}

/** How an earlier consent ended, in words. */
function endedWords(e: EarlierGrant): string {
  const on = formatDate(e.ended.at);
  if (e.ended.how === "replaced") return `Replaced on ${on} by a newer consent.`;
  if (e.ended.how === "revoked") return `Ended on ${on}, when it was revoked.`;
  return `Ended on ${on}.`;
}

/** The consents to the same organization for the same purpose before this one: history stays visible. */
function EarlierConsents({ earlier, who }: { earlier: readonly EarlierGrant[]; who: string }) {
  return (
    <details className="details earlier">
      <summary>
        Earlier consents<span className="visually-hidden"> to {who}</span> ({earlier.length})
      </summary>
      <ul className="plain">
        {[...earlier].reverse().map((e) => (
          <li key={e.grantedAtBlock.toString()}>
            {capitalize(describeScope(e.categories, e.purpose))}, from {formatDate(e.validFrom)} until{" "}
            {formatDate(e.expiresAt)}. {endedWords(e)}
          </li>
        ))}
      </ul>
    </details>
  );
}

function RevokeAll({ count }: { count: number }) {
  const dialog = useRef<ConfirmDialogHandle>(null);
  const outcome = useRef<HTMLParagraphElement>(null);
  const tx = useContractTx();
  return (
    <>
      <button
        type="button"
        className="button danger"
        disabled={count === 0 || tx.busy}
        onClick={() => {
          tx.reset();
          dialog.current?.open();
        }}
      >
        Revoke all…
      </button>
      <TxStatusLine ref={outcome} status={tx.status} confirmed={REVOKED_ALL} focus={false} />
      <ConfirmDialog
        ref={dialog}
        title="Revoke every consent?"
        describedBy="revoke-all-text"
        confirmLabel="Yes, revoke all"
        onConfirm={() => tx.send("revokeAll", [])}
        tx={tx}
        confirmed={REVOKED_ALL}
        // The safe choice first: Enter or Space must not revoke everything.
        cancelFirst
        outcome={outcome}
      >
        <p id="revoke-all-text">
          {count === 1 ? "The one organization" : `All ${count} organizations`} you gave consent to will lose access at
          once, and any open emergency access closes. Every person you appointed stops acting for you, and every consent
          or revocation you signed that a hospital or lab has not sent yet is cancelled. You can give consent and
          appoint people to act for you again afterwards.
        </p>
      </ConfirmDialog>
    </>
  );
}
