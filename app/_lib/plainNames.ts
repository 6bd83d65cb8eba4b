/**
 * Plain words for the coded things a record holds (issue 18): what a lab test, a diagnosis, a
 * medicine, an allergy or a vaccine is, as a patient would say it, by its code (LOINC, SNOMED CT,
 * RxNorm, CVX). The code system's own display name ("Blood pressure panel with all children
 * optional") is shown only under "Details". A code not in the table keeps the record's own text.
 */
import type { CodeableConcept } from "@medplum/fhirtypes";

const LOINC = "http://loinc.org";
const SNOMED = "http://snomed.info/sct";
const RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm";
const CVX = "http://hl7.org/fhir/sid/cvx";

/** By code system, then code. */
const PLAIN: Record<string, Record<string, string>> = {
  [LOINC]: {
    "4548-4": "Long-term blood sugar (HbA1c)",
    "2339-0": "Blood sugar",
    "718-7": "Hemoglobin (red blood cells)",
    "2093-3": "Cholesterol",
    "2160-0": "Kidney test (creatinine)",
    "8480-6": "Blood pressure, top number",
    "8462-4": "Blood pressure, bottom number",
    "85354-9": "Blood pressure",
    "8867-4": "Heart rate",
    "29463-7": "Weight",
    "8302-2": "Height",
    "39156-5": "Body mass index (weight for height)",
    "11502-2": "Lab report",
  },
  [SNOMED]: {
    "44054006": "Type 2 diabetes",
    "38341003": "High blood pressure",
    "55822004": "High cholesterol",
    "195967001": "Asthma",
    "49436004": "Irregular heartbeat (atrial fibrillation)",
    "414916001": "Obesity",
    "35489007": "Depression",
    "764146007": "Penicillin",
    "762952008": "Peanuts",
    "111088007": "Latex",
    "247472004": "Hives",
    "39579001": "Severe allergic reaction (anaphylaxis)",
    "271807003": "Skin rash",
    "716186003": "No known allergy",
    "430193006": "Review of your medicines",
    "185349003": "Check-up",
    "390906007": "Follow-up visit",
  },
  [RXNORM]: {
    "860975": "Metformin 500 mg, slow-release tablet",
    "314076": "Lisinopril 10 mg tablet",
    "312961": "Simvastatin 20 mg tablet",
    "745679": "Salbutamol (albuterol) inhaler",
    "855332": "Warfarin 5 mg tablet",
  },
  [CVX]: {
    "140": "Flu vaccine",
    "208": "COVID-19 vaccine",
    "115": "Tetanus, diphtheria and whooping cough vaccine",
    "133": "Pneumonia vaccine",
    "187": "Shingles vaccine",
  },
};

/** The code systems by their common names, for "Details". */
const SYSTEM_NAMES: Record<string, string> = {
  [LOINC]: "LOINC",
  [SNOMED]: "SNOMED CT",
  [RXNORM]: "RxNorm",
  [CVX]: "CVX",
};

/** The concept in plain words: the table's, else the record's own text, else a coding's display. */
export function plainName(c: CodeableConcept | undefined): string {
  for (const coding of c?.coding ?? []) {
    const plain = coding.system && coding.code ? PLAIN[coding.system]?.[coding.code] : undefined;
    if (plain) return plain;
  }
  return c?.text ?? c?.coding?.find((x) => x.display)?.display ?? "Unnamed";
}

/** The concept as its code systems name it ("LOINC 85354-9 Blood pressure panel with all children optional"), for "Details". */
export function codedName(c: CodeableConcept | undefined): string {
  const codings = (c?.coding ?? []).map((x) =>
    [x.system ? (SYSTEM_NAMES[x.system] ?? x.system) : "", x.code ?? "", x.display ?? ""].filter(Boolean).join(" "),
  );
  return codings.join("; ") || (c?.text ?? "");
}

/** Units of measure (UCUM) as written for people. */
const UNITS: Record<string, string> = {
  "mm[Hg]": "mmHg",
  "/min": "a minute",
  "kg/m2": "kg/m²",
  "%": "%",
};

export function plainUnit(unit: string): string {
  return UNITS[unit] ?? unit;
}
