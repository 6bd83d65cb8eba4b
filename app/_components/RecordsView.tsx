"use client";
/**
 * A patient's FHIR records, readable by a person: lab results and vital signs as a table,
 * conditions, medications, allergies, immunizations and procedures as lists; what the gateway
 * withheld (categories without consent) said in its words.
 */
import type {
  AllergyIntolerance,
  Bundle,
  CodeableConcept,
  Condition,
  Immunization,
  MedicationRequest,
  Observation,
  OperationOutcome,
  Procedure,
  Quantity,
  Resource,
} from "@medplum/fhirtypes";
import { useState } from "react";

import "./records.css";

import { outcomeSentences } from "../_lib/gateway.ts";
import { codedName, plainName, plainUnit } from "../_lib/plainNames.ts";

/** What a record is, in plain words (the code and the code system's name stay under "Details"). */
const conceptText = plainName;

function quantityText(q: Quantity | undefined): string {
  if (!q || q.value === undefined) return "";
  return `${q.comparator ?? ""}${q.value} ${plainUnit(q.unit ?? q.code ?? "")}`.trim();
}

// Written out in the browser's language ("4 December 2026"), never numeric.
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });

function dateText(value: string | undefined): string {
  if (!value) return "";
  const t = Date.parse(value);
  if (Number.isNaN(t)) return value;
  return dateFormat.format(new Date(t));
}

const CRITICALITY: Record<string, string> = {
  high: "could be serious",
  low: "mild",
  "unable-to-assess": "how serious is not known",
};

const MEDICATION_STATUS: Record<string, string> = {
  active: "taking now",
  completed: "finished",
  stopped: "stopped",
  "on-hold": "paused",
  cancelled: "cancelled",
  draft: "not started",
};

/** Under "Details": each record's code and id, for those who want them. */
function CodesDetails({
  items,
}: {
  items: readonly { id?: string | undefined; type: string; code: string; name: string }[];
}) {
  if (items.length === 0) return null;
  return (
    <details className="details">
      <summary>Details</summary>
      <ul className="muted small plain">
        {items.map((item, i) => (
          <li key={`${item.id ?? i}`}>
            {item.name}: {item.code || "no code"}
            {item.id ? ` (${item.type}/${item.id})` : ""}
          </li>
        ))}
      </ul>
    </details>
  );
}

const codesOf = (type: string, rows: readonly { id?: string | undefined; concept: CodeableConcept | undefined }[]) =>
  rows.map((r) => ({ id: r.id, type, code: codedName(r.concept), name: plainName(r.concept) }));

function observationValue(o: Observation): string {
  if (o.valueQuantity) return quantityText(o.valueQuantity);
  if (o.valueCodeableConcept) return conceptText(o.valueCodeableConcept);
  if (o.valueString) return o.valueString;
  if (o.component?.length) return o.component.map((c) => quantityText(c.valueQuantity)).join(" / ");
  return "";
}

function flag(o: Observation): string {
  const code = o.interpretation?.[0]?.coding?.[0]?.code ?? o.component?.[0]?.interpretation?.[0]?.coding?.[0]?.code;
  if (code === "H" || code === "HH") return "High";
  if (code === "L" || code === "LL") return "Low";
  if (code === "A" || code === "AA") return "Abnormal";
  return "";
}

function ofType<T extends Resource>(resources: readonly Resource[], type: T["resourceType"]): T[] {
  return resources.filter((r): r is T => r.resourceType === type);
}

/** The resources of a searchset (match entries) and the gateway's note on what it withheld. */
export function splitSearchset(bundle: Bundle): { resources: Resource[]; withheld: string[] } {
  const resources: Resource[] = [];
  const withheld: string[] = [];
  for (const e of bundle.entry ?? []) {
    if (!e.resource) continue;
    if (e.resource.resourceType === "OperationOutcome")
      withheld.push(...outcomeSentences(e.resource as OperationOutcome));
    else resources.push(e.resource);
  }
  return { resources, withheld };
}

/** Lab results shown before "show all": the newest ones. */
const FIRST_RESULTS = 12;

export function RecordsView({ bundle, headingLevel = 3 }: { bundle: Bundle; headingLevel?: 3 | 4 }) {
  const [allResults, setAllResults] = useState(false);
  const { resources, withheld } = splitSearchset(bundle);
  const H = headingLevel === 3 ? "h3" : "h4";
  const labs = ofType<Observation>(resources, "Observation").sort((a, b) =>
    (b.effectiveDateTime ?? "").localeCompare(a.effectiveDateTime ?? ""),
  );
  const conditions = ofType<Condition>(resources, "Condition");
  const medications = ofType<MedicationRequest>(resources, "MedicationRequest");
  const allergies = ofType<AllergyIntolerance>(resources, "AllergyIntolerance");
  const immunizations = ofType<Immunization>(resources, "Immunization");
  const procedures = ofType<Procedure>(resources, "Procedure");

  return (
    <div className="records">
      {withheld.length > 0 && (
        <div className="notice" role="note">
          <p>Not shown:</p>
          <ul>
            {withheld.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      )}
      {resources.length === 0 && <p>No records.</p>}
      {labs.length > 0 && (
        <>
          <H>Lab results and vital signs</H>
          <div className="table-scroll">
            <table className="data-table" data-testid="lab-results">
              <thead>
                <tr>
                  <th scope="col">Test</th>
                  <th scope="col">Result</th>
                  <th scope="col">Flag</th>
                  <th scope="col">Date</th>
                </tr>
              </thead>
              <tbody>
                {(allResults ? labs : labs.slice(0, FIRST_RESULTS)).map((o) => (
                  <tr key={o.id}>
                    <td data-label="Test">{conceptText(o.code)}</td>
                    <td data-label="Result">{observationValue(o)}</td>
                    <td data-label="Flag">{flag(o)}</td>
                    <td data-label="Date">{dateText(o.effectiveDateTime ?? o.issued)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <CodesDetails
            items={codesOf(
              "Observation",
              (allResults ? labs : labs.slice(0, FIRST_RESULTS)).map((o) => ({ id: o.id, concept: o.code })),
            )}
          />
          {labs.length > FIRST_RESULTS && (
            <button type="button" className="link-button" onClick={() => setAllResults((v) => !v)}>
              {allResults ? `Show the newest ${FIRST_RESULTS} only` : `Show all ${labs.length} results`}
            </button>
          )}
        </>
      )}
      {conditions.length > 0 && (
        <>
          <H>Conditions</H>
          <ul className="record-list">
            {conditions.map((c) => (
              <li key={c.id}>
                <strong>{conceptText(c.code)}</strong>
                {c.clinicalStatus && <> — {conceptText(c.clinicalStatus).toLowerCase()}</>}
                {c.onsetDateTime && <>, since {dateText(c.onsetDateTime)}</>}
              </li>
            ))}
          </ul>
          <CodesDetails
            items={codesOf(
              "Condition",
              conditions.map((x) => ({ id: x.id, concept: x.code })),
            )}
          />
        </>
      )}
      {medications.length > 0 && (
        <>
          <H>Medications</H>
          <ul className="record-list">
            {medications.map((m) => (
              <li key={m.id}>
                <strong>{conceptText(m.medicationCodeableConcept)}</strong> ({MEDICATION_STATUS[m.status] ?? m.status})
                {m.dosageInstruction?.[0]?.text && <> — {m.dosageInstruction[0].text}</>}
                {m.authoredOn && <>, prescribed {dateText(m.authoredOn)}</>}
              </li>
            ))}
          </ul>
          <CodesDetails
            items={codesOf(
              "MedicationRequest",
              medications.map((x) => ({ id: x.id, concept: x.medicationCodeableConcept })),
            )}
          />
        </>
      )}
      {allergies.length > 0 && (
        <>
          <H>Allergies</H>
          <ul className="record-list">
            {allergies.map((a) => (
              <li key={a.id}>
                <strong>{conceptText(a.code)}</strong>
                {a.criticality && <> — {CRITICALITY[a.criticality] ?? a.criticality}</>}
                {a.reaction?.[0]?.manifestation?.[0] && (
                  <>, {conceptText(a.reaction[0].manifestation[0]).toLowerCase()}</>
                )}
              </li>
            ))}
          </ul>
          <CodesDetails
            items={codesOf(
              "AllergyIntolerance",
              allergies.map((x) => ({ id: x.id, concept: x.code })),
            )}
          />
        </>
      )}
      {immunizations.length > 0 && (
        <>
          <H>Immunizations</H>
          <ul className="record-list">
            {immunizations.map((i) => (
              <li key={i.id}>
                <strong>{conceptText(i.vaccineCode)}</strong>
                {i.occurrenceDateTime && <>, {dateText(i.occurrenceDateTime)}</>}
              </li>
            ))}
          </ul>
          <CodesDetails
            items={codesOf(
              "Immunization",
              immunizations.map((x) => ({ id: x.id, concept: x.vaccineCode })),
            )}
          />
        </>
      )}
      {procedures.length > 0 && (
        <>
          <H>Procedures</H>
          <ul className="record-list">
            {procedures.map((p) => (
              <li key={p.id}>
                <strong>{conceptText(p.code)}</strong>
                {(p.performedDateTime ?? p.performedPeriod?.start) && (
                  <>, {dateText(p.performedDateTime ?? p.performedPeriod?.start)}</>
                )}
              </li>
            ))}
          </ul>
          <CodesDetails
            items={codesOf(
              "Procedure",
              procedures.map((x) => ({ id: x.id, concept: x.code })),
            )}
          />
        </>
      )}
    </div>
  );
}
