/**
 * toFhirConsent(): a grant as an R4 Consent resource, for export, the gateway's
 * `GET /fhir/Consent?patient=…` and any FHIR client.
 */
import type { Consent, Coding } from "@medplum/fhirtypes";
import type { Address, Hex } from "viem";

import {
  DUO_SYSTEM,
  HL7_PURPOSE_SYSTEM,
  PURPOSES,
  PURPOSE_FLAGS,
  type PurposeName,
  decodePurpose,
  maskToCategories,
} from "./codes.ts";
import { formatDidPkh } from "./did-pkh.ts";

export type GrantState = "active" | "expired" | "revoked" | "not-yet-valid";

export interface GrantRecord {
  grantId: Hex;
  chainId: number;
  registry: Address;
  patient: Address;
  grantee: Address;
  granteeName?: string;
  /** The uint64 purpose as stored on-chain. */
  purpose: bigint;
  /** The category bit mask as stored on-chain. */
  categories: number;
  /** Unix seconds. */
  validFrom: number;
  expiresAt: number;
  state: GrantState;
  /** When the grant was recorded (unix seconds); defaults to validFrom. */
  recordedAt?: number;
  /** A study grant: the study's key. */
  studyKey?: Hex;
}

/** FHIR R4 resource types (the data categories), as in Consent.provision.class. */
export const RESOURCE_TYPES_SYSTEM = "http://hl7.org/fhir/resource-types";

/**
 * The display of each HL7 purpose in its code system (HL7 v3 ActReason, as shipped with FHIR R4).
 * A Coding carries the code system's own display; the plain words of `PURPOSES[…].display`
 * ("any research") belong to CodeableConcept.text or to the app.
 */
export const HL7_PURPOSE_DISPLAY = {
  TREAT: "treatment",
  ETREAT: "Emergency Treatment",
  HPAYMT: "healthcare payment",
  HOPERAT: "healthcare operations",
  PUBHLTH: "public health",
  HRESCH: "healthcare research",
} as const satisfies Partial<Record<PurposeName, string>>;

/**
 * A purpose of use as a Coding: HL7 v3 ActReason codes with their code system's display, GA4GH
 * DUO codes without one (DUO's labels are not part of FHIR's terminology; the app has the words).
 */
export function purposeCoding(purpose: PurposeName): Coding {
  const entry = PURPOSES[purpose];
  if (entry.system === HL7_PURPOSE_SYSTEM) {
    return {
      system: entry.system,
      code: entry.code,
      display: HL7_PURPOSE_DISPLAY[purpose as keyof typeof HL7_PURPOSE_DISPLAY],
    };
  }
  return { system: entry.system, code: entry.code };
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export function toFhirConsent(grant: GrantRecord): Consent {
  const decoded = decodePurpose(grant.purpose);
  if (!decoded) throw new Error(`grant ${grant.grantId} has an invalid purpose ${grant.purpose}`);
  const entry = PURPOSES[decoded.purpose];
  const purposes: Coding[] = [purposeCoding(decoded.purpose)];
  if (entry.system === DUO_SYSTEM) {
    // Research uses carry the HL7 purpose of use too.
    purposes.unshift(purposeCoding("HRESCH"));
  }
  for (const flag of decoded.flags) {
    purposes.push({ system: DUO_SYSTEM, code: PURPOSE_FLAGS[flag].code });
  }
  const research = entry.kind === "RESEARCHER";
  const care = decoded.purpose === "TREAT" || decoded.purpose === "ETREAT";
  const scopeCode = research ? "research" : care ? "treatment" : "patient-privacy";
  const patientRef = { identifier: { system: "urn:ietf:rfc:3986", value: formatDidPkh(grant.chainId, grant.patient) } };
  const consent: Consent = {
    resourceType: "Consent",
    id: grant.grantId.slice(2),
    identifier: [
      { system: `urn:consentry:${grant.chainId}:${grant.registry.toLowerCase()}:grant`, value: grant.grantId },
    ],
    status: grant.state === "active" || grant.state === "not-yet-valid" ? "active" : "inactive",
    scope: {
      coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: scopeCode }],
    },
    category: [{ coding: [{ system: "http://loinc.org", code: "59284-0", display: "Patient Consent" }] }],
    patient: patientRef,
    dateTime: iso(grant.recordedAt ?? grant.validFrom),
    performer: [patientRef],
    policyRule: {
      coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "OPTIN", display: "opt-in" }],
    },
    provision: {
      type: "permit",
      period: { start: iso(grant.validFrom), end: iso(grant.expiresAt) },
      actor: [
        {
          role: {
            coding: [
              {
                system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                code: "IRCP",
                display: "information recipient",
              },
            ],
          },
          reference: {
            identifier: { system: "urn:ietf:rfc:3986", value: formatDidPkh(grant.chainId, grant.grantee) },
            ...(grant.granteeName ? { display: grant.granteeName } : {}),
          },
        },
      ],
      purpose: purposes,
      // The resource types' own display is the type itself: none is given (the app has the words).
      class: maskToCategories(grant.categories).map((c) => ({ system: RESOURCE_TYPES_SYSTEM, code: c })),
    },
  };
  if (decoded.purpose === "DS") {
    consent.provision!.code = [
      {
        coding: [
          {
            system: "http://purl.obolibrary.org/obo/mondo.owl",
            code: `MONDO:${String(decoded.disease).padStart(7, "0")}`,
          },
        ],
      },
    ];
  }
  if (grant.studyKey) {
    consent.identifier!.push({ system: "urn:consentry:study", value: grant.studyKey });
  }
  return consent;
}
