/**
 * Deterministic synthetic FHIR R4 data for demos and tests: seed → a handful of realistic
 * patients with encounters, vital signs and labs (LOINC, UCUM units, reference ranges,
 * interpretation), problems (SNOMED CT), prescriptions (RxNorm), allergies (SNOMED CT),
 * immunizations (CVX) and lab reports.
 *
 * Same (seed, custodian, options) → byte-identical output: no clock, no Math.random, only a
 * sha256-seeded sfc32 generator and fixed-precision numbers.
 *
 * Who a patient *is* (name, birth date, address, the conditions and allergies they have)
 * depends on the seed only; what a custodian *recorded* (its MRN and ids, which conditions it
 * diagnosed, its encounters and measurements) also depends on the custodian name. So two
 * custodians hold different records for the same people, as two hospitals would.
 */
import type {
  AllergyIntolerance,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Condition,
  DiagnosticReport,
  Encounter,
  Immunization,
  MedicationRequest,
  Observation,
  ObservationReferenceRange,
  Organization,
  Patient,
  Procedure,
  Quantity,
  Reference,
} from "@medplum/fhirtypes";
import { createHash } from "node:crypto";
import type { SupportedResource } from "../fhir/resources.ts";

export const SYSTEMS = {
  loinc: "http://loinc.org",
  snomed: "http://snomed.info/sct",
  rxnorm: "http://www.nlm.nih.gov/research/umls/rxnorm",
  cvx: "http://hl7.org/fhir/sid/cvx",
  ucum: "http://unitsofmeasure.org",
  observationCategory: "http://terminology.hl7.org/CodeSystem/observation-category",
  interpretation: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
  conditionClinical: "http://terminology.hl7.org/CodeSystem/condition-clinical",
  conditionVerification: "http://terminology.hl7.org/CodeSystem/condition-ver-status",
  conditionCategory: "http://terminology.hl7.org/CodeSystem/condition-category",
  allergyClinical: "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
  allergyVerification: "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
  actCode: "http://terminology.hl7.org/CodeSystem/v3-ActCode",
  identifierType: "http://terminology.hl7.org/CodeSystem/v2-0203",
  maritalStatus: "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
  diagnosticServiceSection: "http://terminology.hl7.org/CodeSystem/v2-0074",
  language: "urn:ietf:bcp:47",
} as const;

// ------------------------------------------------------------------ deterministic randomness

/** sfc32, seeded from sha256(label): small, fast, and the same on every platform. */
class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(label: string) {
    const h = createHash("sha256").update(label, "utf8").digest();
    this.#a = h.readUInt32LE(0);
    this.#b = h.readUInt32LE(4);
    this.#c = h.readUInt32LE(8);
    this.#d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.next();
  }
  /** [0, 1) */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Normal(mean, sd) by Box–Muller. */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** A deterministic UUID (RFC 9562 version 8: custom) from a label. */
function uuidFrom(label: string): string {
  const h = createHash("sha256").update(label, "utf8").digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const DAY = 86_400_000;

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isoDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

// ------------------------------------------------------------------ vocabularies

const GIVEN_FEMALE = [
  "Amara",
  "Beatriz",
  "Chloe",
  "Dana",
  "Elena",
  "Fatima",
  "Grace",
  "Hana",
  "Ingrid",
  "Julia",
  "Keiko",
  "Leila",
  "Maria",
  "Nadia",
  "Olivia",
  "Priya",
  "Rosa",
  "Sofia",
  "Tamar",
  "Uma",
  "Valentina",
  "Wen",
  "Yara",
  "Zoe",
] as const;
const GIVEN_MALE = [
  "Aarav",
  "Ben",
  "Carlos",
  "David",
  "Emeka",
  "Farid",
  "George",
  "Hiroshi",
  "Ivan",
  "James",
  "Kwame",
  "Luis",
  "Marcus",
  "Noah",
  "Omar",
  "Pavel",
  "Rafael",
  "Samuel",
  "Tomas",
  "Viktor",
  "Walter",
  "Xavier",
  "Yusuf",
  "Zane",
] as const;
const FAMILY = [
  "Abernathy",
  "Baptiste",
  "Castellanos",
  "Dubois",
  "Eriksen",
  "Fitzgerald",
  "Gonzaga",
  "Haddad",
  "Ivanova",
  "Jablonski",
  "Kowalczyk",
  "Lindqvist",
  "Mbeki",
  "Nakamura",
  "Okafor",
  "Petrakis",
  "Quintero",
  "Rasmussen",
  "Szabo",
  "Takahashi",
  "Umarov",
  "Vasquez",
  "Whitfield",
  "Xu",
  "Yilmaz",
  "Zielinski",
] as const;
const STREETS = [
  "Maple Avenue",
  "Oak Street",
  "Cedar Lane",
  "Elm Court",
  "Willow Drive",
  "Birch Road",
  "Lakeview Terrace",
  "Harbor Way",
  "Mill Street",
  "Orchard Place",
  "Prospect Hill Road",
  "River Bend Drive",
] as const;
/** Real US city / state / ZIP code combinations. */
const PLACES = [
  { city: "Springfield", state: "IL", postalCode: "62701", area: "217" },
  { city: "Madison", state: "WI", postalCode: "53703", area: "608" },
  { city: "Boulder", state: "CO", postalCode: "80302", area: "303" },
  { city: "Portland", state: "OR", postalCode: "97205", area: "503" },
  { city: "Burlington", state: "VT", postalCode: "05401", area: "802" },
  { city: "Ann Arbor", state: "MI", postalCode: "48104", area: "734" },
  { city: "Asheville", state: "NC", postalCode: "28801", area: "828" },
  { city: "Santa Fe", state: "NM", postalCode: "87501", area: "505" },
  { city: "Savannah", state: "GA", postalCode: "31401", area: "912" },
  { city: "Duluth", state: "MN", postalCode: "55802", area: "218" },
] as const;
const MARITAL = [
  { code: "M", display: "Married" },
  { code: "S", display: "Never Married" },
  { code: "D", display: "Divorced" },
  { code: "W", display: "Widowed" },
] as const;
const CLINICIANS = [
  "Dr. Anika Shah",
  "Dr. Robert Chen",
  "Dr. Laura Mendez",
  "Dr. Thomas Greene",
  "Dr. Ifeoma Eze",
] as const;

interface Medication {
  code: string;
  display: string;
  text: string;
  asNeeded?: boolean;
}

/** Chronic conditions (SNOMED CT) with prevalence, youngest onset age, and first-line drug (RxNorm). */
const CONDITIONS = [
  {
    key: "t2dm",
    code: "44054006",
    display: "Diabetes mellitus type 2",
    prevalence: 0.35,
    minAge: 35,
    medication: {
      code: "860975",
      display: "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
      text: "Take 1 tablet by mouth once daily with the evening meal",
    },
  },
  {
    key: "htn",
    code: "38341003",
    display: "Hypertensive disorder, systemic arterial",
    prevalence: 0.45,
    minAge: 30,
    medication: { code: "314076", display: "lisinopril 10 MG Oral Tablet", text: "Take 1 tablet by mouth once daily" },
  },
  {
    key: "hld",
    code: "55822004",
    display: "Hyperlipidemia",
    prevalence: 0.35,
    minAge: 30,
    medication: { code: "312961", display: "simvastatin 20 MG Oral Tablet", text: "Take 1 tablet by mouth at bedtime" },
  },
  {
    key: "asthma",
    code: "195967001",
    display: "Asthma",
    prevalence: 0.15,
    minAge: 4,
    medication: {
      code: "745679",
      display: "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
      text: "Inhale 2 puffs every 4 to 6 hours as needed for wheezing",
      asNeeded: true,
    },
  },
  {
    key: "afib",
    code: "49436004",
    display: "Atrial fibrillation",
    prevalence: 0.08,
    minAge: 55,
    medication: {
      code: "855332",
      display: "warfarin sodium 5 MG Oral Tablet",
      text: "Take 1 tablet by mouth once daily as directed",
    },
  },
  { key: "obesity", code: "414916001", display: "Obesity", prevalence: 0.3, minAge: 18, medication: undefined },
  {
    key: "depression",
    code: "35489007",
    display: "Depressive disorder",
    prevalence: 0.15,
    minAge: 16,
    medication: undefined,
  },
] as const satisfies ReadonlyArray<{
  key: string;
  code: string;
  display: string;
  prevalence: number;
  minAge: number;
  medication: Medication | undefined;
}>;

type ConditionKey = (typeof CONDITIONS)[number]["key"];

/** Allergy substances (SNOMED CT) with category, criticality and a typical reaction. */
const ALLERGIES = [
  {
    code: "764146007",
    display: "Penicillin",
    category: "medication",
    criticality: "high",
    reaction: { code: "247472004", display: "Wheal" },
    prevalence: 0.1,
  },
  {
    code: "762952008",
    display: "Peanut",
    category: "food",
    criticality: "high",
    reaction: { code: "39579001", display: "Anaphylaxis" },
    prevalence: 0.05,
  },
  {
    code: "111088007",
    display: "Latex",
    category: "environment",
    criticality: "low",
    reaction: { code: "271807003", display: "Eruption of skin" },
    prevalence: 0.05,
  },
] as const;

const NO_KNOWN_ALLERGY = { code: "716186003", display: "No known allergy" } as const;

/** Vaccines (CVX). */
const VACCINES = {
  flu: { code: "140", display: "Influenza, seasonal, injectable, preservative free" },
  covid: {
    code: "208",
    display: "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose",
  },
  tdap: { code: "115", display: "Tdap" },
  pcv13: { code: "133", display: "Pneumococcal conjugate PCV 13" },
  zoster: { code: "187", display: "zoster vaccine recombinant" },
} as const;

interface Measure {
  code: string;
  display: string;
  unit: string;
  decimals: number;
  low?: number;
  high?: number;
}

/** Laboratory and vital-sign measurements (LOINC), UCUM units, adult reference ranges. */
const MEASURES = {
  hba1c: {
    code: "4548-4",
    display: "Hemoglobin A1c/Hemoglobin.total in Blood",
    unit: "%",
    decimals: 1,
    low: 4.0,
    high: 5.6,
  },
  glucose: { code: "2339-0", display: "Glucose [Mass/volume] in Blood", unit: "mg/dL", decimals: 0, low: 70, high: 99 },
  hemoglobinF: {
    code: "718-7",
    display: "Hemoglobin [Mass/volume] in Blood",
    unit: "g/dL",
    decimals: 1,
    low: 12.0,
    high: 15.5,
  },
  hemoglobinM: {
    code: "718-7",
    display: "Hemoglobin [Mass/volume] in Blood",
    unit: "g/dL",
    decimals: 1,
    low: 13.5,
    high: 17.5,
  },
  cholesterol: {
    code: "2093-3",
    display: "Cholesterol [Mass/volume] in Serum or Plasma",
    unit: "mg/dL",
    decimals: 0,
    high: 200,
  },
  creatinine: {
    code: "2160-0",
    display: "Creatinine [Mass/volume] in Serum or Plasma",
    unit: "mg/dL",
    decimals: 2,
    low: 0.6,
    high: 1.3,
  },
  systolic: { code: "8480-6", display: "Systolic blood pressure", unit: "mm[Hg]", decimals: 0, low: 90, high: 120 },
  diastolic: { code: "8462-4", display: "Diastolic blood pressure", unit: "mm[Hg]", decimals: 0, low: 60, high: 80 },
  heartRate: { code: "8867-4", display: "Heart rate", unit: "/min", decimals: 0, low: 60, high: 100 },
  weight: { code: "29463-7", display: "Body weight", unit: "kg", decimals: 1 },
  height: { code: "8302-2", display: "Body height", unit: "cm", decimals: 1 },
  bmi: { code: "39156-5", display: "Body mass index (BMI) [Ratio]", unit: "kg/m2", decimals: 1, low: 18.5, high: 25 },
} as const satisfies Record<string, Measure>;

const BP_PANEL = { code: "85354-9", display: "Blood pressure panel with all children optional" } as const;
const LAB_REPORT = { code: "11502-2", display: "Laboratory report" } as const;
const ENCOUNTER_TYPES = {
  checkup: { code: "185349003", display: "Encounter for check up" },
  followUp: { code: "390906007", display: "Follow-up encounter" },
} as const;
const MED_RECONCILIATION = { code: "430193006", display: "Medication reconciliation" } as const;

// ------------------------------------------------------------------ public API

export interface SyntheticOptions {
  /** Any string or number; the same seed gives the same people. */
  seed: string | number;
  /** The custodian's name (e.g. "Riverside General Hospital"); varies what was recorded. */
  custodian: string;
  /** Number of patients, 1..50. Default 5. */
  patients?: number;
  /** The data set's "today" (ISO date); records fall in the three years before it. Default 2025-06-30. */
  asOf?: string;
}

export interface SyntheticDataSet {
  custodian: { name: string; slug: string; mrnSystem: string };
  patients: Patient[];
  /** Every resource, each patient first and then their records. */
  resources: SupportedResource[];
}

export function custodianSlug(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return slug || "custodian";
}

interface Person {
  gender: "female" | "male";
  given: string;
  middle: string | undefined;
  family: string;
  birthMs: number;
  place: (typeof PLACES)[number];
  street: string;
  houseNumber: number;
  phone: string;
  marital: (typeof MARITAL)[number];
  conditions: Array<{ def: (typeof CONDITIONS)[number]; onsetMs: number }>;
  allergies: Array<(typeof ALLERGIES)[number]>;
  heightCm: number;
  weightKg: number;
}

function concept(system: string, code: string, display: string, text = display): CodeableConcept {
  return { coding: [{ system, code, display }], text };
}

function quantity(value: number, unit: string): Quantity {
  return { value, unit, system: SYSTEMS.ucum, code: unit };
}

/** The person (seed only): who they are and what they have. */
function makePerson(seed: string, index: number, asOfMs: number, families: readonly string[]): Person {
  const rng = new Rng(`consentry-synthetic|${seed}|person|${index}`);
  const gender = rng.chance(0.5) ? "female" : "male";
  const names = gender === "female" ? GIVEN_FEMALE : GIVEN_MALE;
  const given = rng.pick(names);
  const middleName = rng.pick(names);
  const middle = rng.chance(0.5) && middleName !== given ? middleName : undefined;
  const family = families[index % families.length]!;
  const ageYears = rng.int(22, 84);
  const birthMs = asOfMs - ageYears * 365.25 * DAY - rng.int(0, 364) * DAY;
  const place = rng.pick(PLACES);
  const conditions: Person["conditions"] = [];
  for (const def of CONDITIONS) {
    const older = ageYears >= 50 ? 1.4 : 1;
    if (ageYears >= def.minAge + 1 && rng.chance(Math.min(0.9, def.prevalence * older))) {
      const onsetAge = rng.int(def.minAge, ageYears - 1);
      conditions.push({ def, onsetMs: birthMs + onsetAge * 365.25 * DAY + rng.int(0, 300) * DAY });
    }
  }
  const allergies = ALLERGIES.filter((a) => rng.chance(a.prevalence * 2));
  const heightCm = round(rng.normal(gender === "female" ? 163 : 177, 7), 1);
  const obese = conditions.some((c) => c.def.key === "obesity");
  const bmi = obese ? rng.normal(34, 3) : rng.normal(24.5, 2.5);
  const weightKg = round(bmi * (heightCm / 100) ** 2, 1);
  return {
    gender,
    given,
    middle,
    family,
    birthMs,
    place,
    street: rng.pick(STREETS),
    houseNumber: rng.int(2, 2990),
    phone: `${place.area}-555-01${String(rng.int(0, 99)).padStart(2, "0")}`,
    marital: rng.pick(MARITAL),
    conditions,
    allergies,
    heightCm,
    weightKg,
  };
}

function has(person: Person, key: ConditionKey): boolean {
  return person.conditions.some((c) => c.def.key === key);
}

function interpretation(value: number, m: Measure): CodeableConcept {
  if (m.low !== undefined && value < m.low) return concept(SYSTEMS.interpretation, "L", "Low");
  if (m.high !== undefined && value > m.high) return concept(SYSTEMS.interpretation, "H", "High");
  return concept(SYSTEMS.interpretation, "N", "Normal");
}

function referenceRange(m: Measure): ObservationReferenceRange[] | undefined {
  if (m.low === undefined && m.high === undefined) return undefined;
  const range: ObservationReferenceRange = {};
  if (m.low !== undefined) range.low = quantity(m.low, m.unit);
  if (m.high !== undefined) range.high = quantity(m.high, m.unit);
  if (m.low === undefined) range.text = `<${m.high} ${m.unit}`;
  return [range];
}

export function generateSyntheticData(options: SyntheticOptions): SyntheticDataSet {
  const seed = String(options.seed);
  const custodianName = options.custodian.trim();
  if (!custodianName) throw new RangeError("custodian name is required");
  const count = options.patients ?? 5;
  if (!Number.isInteger(count) || count < 1 || count > 50)
    throw new RangeError("patients must be an integer from 1 to 50");
  const asOf = options.asOf ?? "2025-06-30";
  const asOfMs = Date.parse(`${asOf}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(asOfMs))
    throw new RangeError("asOf must be an ISO date (YYYY-MM-DD)");

  const slug = custodianSlug(custodianName);
  const mrnSystem = `https://${slug}.example.org/fhir/sid/mrn`;
  const organization: Reference<Organization> = { display: custodianName };
  const patients: Patient[] = [];
  const out: SupportedResource[] = [];

  // Family names without repetition (within the first FAMILY.length patients): a seeded shuffle.
  const shuffler = new Rng(`consentry-synthetic|${seed}|families`);
  const families: string[] = [...FAMILY];
  for (let k = families.length - 1; k > 0; k--) {
    const j = shuffler.int(0, k);
    [families[k], families[j]] = [families[j]!, families[k]!];
  }

  for (let i = 0; i < count; i++) {
    const person = makePerson(seed, i, asOfMs, families);
    const rng = new Rng(`consentry-synthetic|${seed}|custodian|${slug}|${i}`);
    let serial = 0;
    const nextId = (kind: string): string => uuidFrom(`${seed}|${slug}|${i}|${kind}|${serial++}`);

    const patientId = nextId("Patient");
    const subject: Reference<Patient> = {
      reference: `Patient/${patientId}`,
      display: `${person.given} ${person.family}`,
    };
    const patient: Patient = {
      resourceType: "Patient",
      id: patientId,
      identifier: [
        {
          use: "usual",
          type: concept(SYSTEMS.identifierType, "MR", "Medical record number"),
          system: mrnSystem,
          value: `MRN${String(rng.int(1_000_000, 9_999_999))}`,
        },
      ],
      active: true,
      name: [
        {
          use: "official",
          family: person.family,
          given: person.middle ? [person.given, person.middle] : [person.given],
        },
      ],
      telecom: [
        { system: "phone", value: person.phone, use: "home" },
        { system: "email", value: `${person.given}.${person.family}@example.com`.toLowerCase(), use: "home" },
      ],
      gender: person.gender,
      birthDate: isoDate(person.birthMs),
      address: [
        {
          use: "home",
          type: "both",
          line: [`${person.houseNumber} ${person.street}`],
          city: person.place.city,
          state: person.place.state,
          postalCode: person.place.postalCode,
          country: "US",
        },
      ],
      maritalStatus: concept(SYSTEMS.maritalStatus, person.marital.code, person.marital.display),
      communication: [{ language: concept(SYSTEMS.language, "en-US", "English (United States)"), preferred: true }],
      managingOrganization: organization,
    };
    patients.push(patient);
    out.push(patient);

    // Encounters: 2–4 visits in the three years before asOf, oldest first.
    const visits = rng.int(2, 4);
    const windowStart = Math.max(asOfMs - 3 * 365 * DAY, person.birthMs + 18 * 365 * DAY);
    const visitTimes: number[] = [];
    for (let v = 0; v < visits; v++) {
      const day = Math.floor(windowStart / DAY) + rng.int(0, Math.max(1, Math.floor((asOfMs - windowStart) / DAY) - 2));
      visitTimes.push(day * DAY + rng.int(8, 16) * 3_600_000 + rng.pick([0, 15, 30, 45]) * 60_000);
    }
    visitTimes.sort((a, b) => a - b);
    const clinician = rng.pick(CLINICIANS);

    // What this custodian diagnosed: most, not necessarily all, of the person's conditions.
    const recorded = person.conditions.filter(() => rng.chance(0.85));
    const conditionIds = new Map<ConditionKey, string>();

    visitTimes.forEach((start, v) => {
      const encounterId = nextId("Encounter");
      const end = start + rng.int(20, 50) * 60_000;
      const type = v === 0 ? ENCOUNTER_TYPES.checkup : rng.pick([ENCOUNTER_TYPES.checkup, ENCOUNTER_TYPES.followUp]);
      const encounter: Encounter = {
        resourceType: "Encounter",
        id: encounterId,
        status: "finished",
        class: { system: SYSTEMS.actCode, code: "AMB", display: "ambulatory" },
        type: [concept(SYSTEMS.snomed, type.code, type.display)],
        subject,
        participant: [{ individual: { display: clinician } }],
        period: { start: isoDateTime(start), end: isoDateTime(end) },
        serviceProvider: organization,
      };
      out.push(encounter);
      const encounterRef: Reference<Encounter> = { reference: `Encounter/${encounterId}` };
      const effective = isoDateTime(start + 10 * 60_000);
      const issued = isoDateTime(end + 2 * 3_600_000);

      const observe = (m: Measure, value: number, category: "vital-signs" | "laboratory"): Observation => {
        const v2 = round(value, m.decimals);
        const obs: Observation = {
          resourceType: "Observation",
          id: nextId("Observation"),
          status: "final",
          category: [
            concept(SYSTEMS.observationCategory, category, category === "laboratory" ? "Laboratory" : "Vital Signs"),
          ],
          code: concept(SYSTEMS.loinc, m.code, m.display),
          subject,
          encounter: encounterRef,
          effectiveDateTime: effective,
          issued,
          valueQuantity: quantity(v2, m.unit),
        };
        const range = referenceRange(m);
        if (range) {
          obs.interpretation = [interpretation(v2, m)];
          obs.referenceRange = range;
        }
        return obs;
      };

      // Vital signs.
      const htn = has(person, "htn");
      const systolic = round(rng.normal(htn ? 146 : 117, htn ? 9 : 7), 0);
      const diastolic = round(rng.normal(htn ? 92 : 75, 5), 0);
      const bp: Observation = {
        resourceType: "Observation",
        id: nextId("Observation"),
        status: "final",
        category: [concept(SYSTEMS.observationCategory, "vital-signs", "Vital Signs")],
        code: concept(SYSTEMS.loinc, BP_PANEL.code, BP_PANEL.display),
        subject,
        encounter: encounterRef,
        effectiveDateTime: effective,
        issued: effective,
        component: (
          [
            [MEASURES.systolic, systolic],
            [MEASURES.diastolic, diastolic],
          ] as const
        ).map(([m, value]) => ({
          code: concept(SYSTEMS.loinc, m.code, m.display),
          valueQuantity: quantity(value, m.unit),
          interpretation: [interpretation(value, m)],
          referenceRange: referenceRange(m)!,
        })),
      };
      const weight = person.weightKg + round(rng.normal(0, 1.5), 1);
      const vitals = [
        bp,
        observe(MEASURES.heartRate, rng.normal(has(person, "afib") ? 92 : 72, 9), "vital-signs"),
        observe(MEASURES.weight, weight, "vital-signs"),
        observe(MEASURES.height, person.heightCm, "vital-signs"),
        observe(MEASURES.bmi, weight / (person.heightCm / 100) ** 2, "vital-signs"),
      ];
      for (const o of vitals) o.issued = effective;
      out.push(...vitals);

      // Laboratory results and their report.
      const diabetic = has(person, "t2dm");
      const labs: Observation[] = [
        observe(MEASURES.glucose, rng.normal(diabetic ? 152 : 89, diabetic ? 28 : 8), "laboratory"),
        observe(
          person.gender === "female" ? MEASURES.hemoglobinF : MEASURES.hemoglobinM,
          rng.normal(person.gender === "female" ? 13.6 : 15.2, 0.9),
          "laboratory",
        ),
      ];
      if (diabetic || rng.chance(0.3))
        labs.push(observe(MEASURES.hba1c, rng.normal(diabetic ? 7.6 : 5.3, diabetic ? 0.8 : 0.3), "laboratory"));
      if (v === 0 || rng.chance(0.4))
        labs.push(observe(MEASURES.cholesterol, rng.normal(has(person, "hld") ? 238 : 182, 18), "laboratory"));
      if (rng.chance(0.5))
        labs.push(observe(MEASURES.creatinine, rng.normal(person.gender === "female" ? 0.8 : 1.0, 0.15), "laboratory"));
      out.push(...labs);
      const report: DiagnosticReport = {
        resourceType: "DiagnosticReport",
        id: nextId("DiagnosticReport"),
        status: "final",
        category: [concept(SYSTEMS.diagnosticServiceSection, "LAB", "Laboratory")],
        code: concept(SYSTEMS.loinc, LAB_REPORT.code, LAB_REPORT.display),
        subject,
        encounter: encounterRef,
        effectiveDateTime: effective,
        issued,
        performer: [organization],
        result: labs.map((o) => ({ reference: `Observation/${o.id}` })),
      };
      out.push(report);

      // Problems diagnosed at this custodian, each recorded at the first visit after onset.
      for (const c of recorded) {
        if (conditionIds.has(c.def.key) || (c.onsetMs > start && v < visitTimes.length - 1)) continue;
        const conditionId = nextId("Condition");
        conditionIds.set(c.def.key, conditionId);
        const condition: Condition = {
          resourceType: "Condition",
          id: conditionId,
          clinicalStatus: concept(SYSTEMS.conditionClinical, "active", "Active"),
          verificationStatus: concept(SYSTEMS.conditionVerification, "confirmed", "Confirmed"),
          category: [concept(SYSTEMS.conditionCategory, "problem-list-item", "Problem List Item")],
          code: concept(SYSTEMS.snomed, c.def.code, c.def.display),
          subject,
          encounter: encounterRef,
          onsetDateTime: isoDateTime(Math.min(c.onsetMs, start)),
          recordedDate: isoDateTime(start),
          recorder: { display: clinician },
        };
        out.push(condition);
        if (c.def.medication) {
          const med: Medication = c.def.medication;
          const request: MedicationRequest = {
            resourceType: "MedicationRequest",
            id: nextId("MedicationRequest"),
            status: "active",
            intent: "order",
            medicationCodeableConcept: concept(SYSTEMS.rxnorm, med.code, med.display),
            subject,
            encounter: encounterRef,
            authoredOn: isoDateTime(end),
            requester: { display: clinician },
            reasonReference: [{ reference: `Condition/${conditionId}` }],
            dosageInstruction: [
              med.asNeeded
                ? { sequence: 1, text: med.text, asNeededBoolean: true }
                : { sequence: 1, text: med.text, timing: { repeat: { frequency: 1, period: 1, periodUnit: "d" } } },
            ],
            dispenseRequest: { numberOfRepeatsAllowed: rng.int(1, 5) },
          };
          out.push(request);
          const reconciliation: Procedure = {
            resourceType: "Procedure",
            id: nextId("Procedure"),
            status: "completed",
            code: concept(SYSTEMS.snomed, MED_RECONCILIATION.code, MED_RECONCILIATION.display),
            subject,
            encounter: encounterRef,
            performedPeriod: { start: isoDateTime(end - 10 * 60_000), end: isoDateTime(end) },
          };
          out.push(reconciliation);
        }
      }

      // Immunizations given at this custodian.
      const vaccinate = (vaccine: { code: string; display: string }): void => {
        const immunization: Immunization = {
          resourceType: "Immunization",
          id: nextId("Immunization"),
          status: "completed",
          vaccineCode: concept(SYSTEMS.cvx, vaccine.code, vaccine.display),
          patient: subject,
          encounter: encounterRef,
          occurrenceDateTime: isoDateTime(start + 25 * 60_000),
          primarySource: true,
          lotNumber: `${vaccine.code}-${String(rng.int(10000, 99999))}`,
          performer: [{ actor: organization }],
        };
        out.push(immunization);
      };
      const month = new Date(start).getUTCMonth();
      if ((month >= 8 || month <= 1) && rng.chance(0.7)) vaccinate(VACCINES.flu);
      if (v === 0 && rng.chance(0.5)) vaccinate(VACCINES.covid);
      if (v === visitTimes.length - 1 && rng.chance(0.25)) vaccinate(VACCINES.tdap);
      const age = (start - person.birthMs) / (365.25 * DAY);
      if (age >= 65 && v === 0 && rng.chance(0.6)) vaccinate(VACCINES.pcv13);
      if (age >= 50 && v === visitTimes.length - 1 && rng.chance(0.4)) vaccinate(VACCINES.zoster);
    });

    // Allergies, as this custodian has them on file.
    const firstVisit = isoDateTime(visitTimes[0]!);
    const known = person.allergies.filter(() => rng.chance(0.85));
    if (known.length === 0) {
      const nka: AllergyIntolerance = {
        resourceType: "AllergyIntolerance",
        id: nextId("AllergyIntolerance"),
        clinicalStatus: concept(SYSTEMS.allergyClinical, "active", "Active"),
        verificationStatus: concept(SYSTEMS.allergyVerification, "confirmed", "Confirmed"),
        code: concept(SYSTEMS.snomed, NO_KNOWN_ALLERGY.code, NO_KNOWN_ALLERGY.display),
        patient: subject,
        recordedDate: firstVisit,
      };
      out.push(nka);
    }
    for (const a of known) {
      const allergy: AllergyIntolerance = {
        resourceType: "AllergyIntolerance",
        id: nextId("AllergyIntolerance"),
        clinicalStatus: concept(SYSTEMS.allergyClinical, "active", "Active"),
        verificationStatus: concept(SYSTEMS.allergyVerification, "confirmed", "Confirmed"),
        type: "allergy",
        category: [a.category],
        criticality: a.criticality,
        code: concept(SYSTEMS.snomed, a.code, a.display),
        patient: subject,
        recordedDate: firstVisit,
        recorder: { display: clinician },
        reaction: [
          {
            manifestation: [concept(SYSTEMS.snomed, a.reaction.code, a.reaction.display)],
            severity: a.criticality === "high" ? "severe" : "mild",
          },
        ],
      };
      out.push(allergy);
    }
  }

  return { custodian: { name: custodianName, slug, mrnSystem }, patients, resources: out };
}

/**
 * The data set as a FHIR transaction Bundle of PUT entries (create-or-update by id), ready for
 * `POST [base]/fhir`. Re-posting it is idempotent apart from version numbers.
 */
export function syntheticTransactionBundle(data: SyntheticDataSet): Bundle {
  const entry: BundleEntry[] = data.resources.map((resource) => ({
    resource,
    request: { method: "PUT", url: `${resource.resourceType}/${resource.id}` },
  }));
  return { resourceType: "Bundle", type: "transaction", entry };
}
