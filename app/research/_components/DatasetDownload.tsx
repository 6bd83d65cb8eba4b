"use client";
/**
 * The de-identified dataset of a study, from each custodian that is a data source of it: sign in
 * to the custodian's gateway (SIWE, as the researcher organization or its ADMIN/ANALYST member),
 * then download. The gateway reports each new delivery to the StudyEscrow (which pays the patient
 * and the custodian) before it releases that patient's data, so a download spends budget; what it
 * withheld, and why, is shown from the Bundle's first entry.
 */
import type { Bundle, OperationOutcome } from "@medplum/fhirtypes";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Address } from "viem";

import type { StudyListing } from "#sdk/escrow.ts";
import { findOrganization } from "#sdk/ledger.ts";
import { GatewaySignIn } from "../../_components/GatewaySignIn.tsx";
import { downloadJson, fileNamePart } from "../../_lib/download.ts";
import { GatewayError, gatewayFetch, gatewayOrigin, outcomeSentences } from "../../_lib/gateway.ts";
import { LEDGER_KEY, useOrganizations } from "../../_lib/ledger.ts";
import { useGatewaySession } from "../../_lib/useGateway.ts";

export function DatasetDownload({ study, account }: { study: StudyListing; account: Address }) {
  const { organizations } = useOrganizations();
  const sources = study.custodians
    .map((c) => findOrganization(organizations, c.custodian))
    .filter((o) => o !== undefined);
  if (study.statusName !== "Open" || study.over) return null;
  return (
    <div className="records-block">
      <h4>De-identified data</h4>
      {sources.length === 0 && <p>None of the study&apos;s custodians is known to the registry.</p>}
      {sources.map((o) => {
        const origin = gatewayOrigin(o.gatewayUrl);
        return origin ? (
          <SourceDownload key={o.address} study={study} account={account} name={o.name} origin={origin} />
        ) : (
          <p key={o.address}>{o.name} publishes no gateway: its data cannot be downloaded here.</p>
        );
      })}
    </div>
  );
}

type Download =
  | { phase: "idle" }
  | { phase: "downloading" }
  | { phase: "done"; resources: number; summary: string[] }
  | { phase: "failed"; message: string };

function SourceDownload({
  study,
  account,
  name,
  origin,
}: {
  study: StudyListing;
  account: Address;
  name: string;
  origin: string;
}) {
  const queryClient = useQueryClient();
  const { state, signIn, expired } = useGatewaySession(origin, account, name);
  const [download, setDownload] = useState<Download>({ phase: "idle" });
  const studyId = study.id.toString();

  async function fetchDataset() {
    if (state.phase !== "signed-in") return;
    setDownload({ phase: "downloading" });
    try {
      // The gateway sends the dataset in pages linked by `next`: all of them, in one file.
      let path: string | undefined = `/research/studies/${studyId}/dataset`;
      let bundle: Bundle | undefined;
      while (path !== undefined) {
        const response = await gatewayFetch(state.session, path, { custodianName: name });
        const page = (await response.json()) as Bundle;
        const [, ...records] = page.entry ?? [];
        bundle = bundle === undefined ? page : { ...bundle, entry: [...(bundle.entry ?? []), ...records] };
        const next = page.link?.find((l) => l.relation === "next")?.url;
        path = next === undefined ? undefined : next.slice(next.indexOf("/research/studies/"));
      }
      if (bundle === undefined) return;
      delete bundle.link;
      const [first, ...entries] = bundle.entry ?? [];
      const rest = entries.filter((e) => e.resource?.resourceType !== "OperationOutcome");
      const summary =
        first?.resource?.resourceType === "OperationOutcome"
          ? outcomeSentences(first.resource as OperationOutcome)
          : [];
      downloadJson(bundle, `study-${studyId}-${fileNamePart(name)}-deidentified.json`);
      setDownload({ phase: "done", resources: rest.length, summary });
      // Deliveries were paid: the budget and the spend changed.
      void queryClient.invalidateQueries({ queryKey: [LEDGER_KEY] });
    } catch (err) {
      if (err instanceof GatewayError && err.status === 401) expired();
      setDownload({ phase: "failed", message: err instanceof Error ? err.message : String(err) });
    }
  }

  return (
    <div className="source-download" data-source={name}>
      {state.phase !== "signed-in" ? (
        <GatewaySignIn name={name} state={state} onSignIn={signIn} purpose={` to download study ${studyId}`} />
      ) : (
        <div className="actions">
          <button
            type="button"
            className="button primary"
            onClick={() => void fetchDataset()}
            disabled={download.phase === "downloading"}
          >
            Download the dataset from {name}
            <span className="visually-hidden"> for study {studyId}</span>
          </button>
        </div>
      )}
      <div role="status" aria-live="polite" data-testid="dataset-status" data-phase={download.phase}>
        {download.phase === "downloading" && (
          <p aria-busy="true">Reporting deliveries to the escrow and preparing the data…</p>
        )}
        {download.phase === "failed" && (
          <p className="tx-status tx-error" role="alert">
            Not downloaded: {download.message}
          </p>
        )}
        {download.phase === "done" && (
          <>
            <p className="tx-status tx-success">Downloaded {download.resources} de-identified records.</p>
            <ul className="record-list">
              {download.summary.map((s) => (
                <li key={s}>{s}</li>
              ))}
            </ul>
          </>
        )}
      </div>
    </div>
  );
}
