/**
 * toFhirConsent(): a grant as an R4 Consent resource, for export, the gateway's
 * `GET /fhir/Consent?patient=…` and any FHIR client.
 */
import type { Consent, Coding } from "@medplum/fhirtypes";
import type { Address, Hex } from "viem";

import { CATEGORIES, DUO_SYSTEM, PURPOSES, PURPOSE_FLAGS, decodePurpose, maskToCategories } from "./codes.ts";

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

/** The did:pkh identifier of an account on a chain (CAIP-10). */
export function didPkh(chainId: number, address: Address): string {
  return `did:pkh:eip155:${chainId}:${address.toLowerCase()}`;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export function toFhirConsent(grant: GrantRecord): Consent {
  const decoded = decodePurpose(grant.purpose);
  if (!decoded) throw new Error(`grant ${grant.grantId} has an invalid purpose ${grant.purpose}`);
  const entry = PURPOSES[decoded.purpose];
  const purposes: Coding[] = [{ system: entry.system, code: entry.code, display: entry.display }];
  if (entry.system === DUO_SYSTEM) {
    // Research uses carry the HL7 purpose of use too.
    purposes.unshift({ system: PURPOSES.HRESCH.system, code: "HRESCH", display: "healthcare research" });
  }
  for (const flag of decoded.flags) {
    purposes.push({ system: DUO_SYSTEM, code: PURPOSE_FLAGS[flag].code, display: PURPOSE_FLAGS[flag].display });
  }
  const research = entry.kind === "RESEARCHER";
  const care = decoded.purpose === "TREAT" || decoded.purpose === "ETREAT";
  const scopeCode = research ? "research" : care ? "treatment" : "patient-privacy";
  const patientRef = { identifier: { system: "urn:ietf:rfc:3986", value: didPkh(grant.chainId, grant.patient) } };
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
            identifier: { system: "urn:ietf:rfc:3986", value: didPkh(grant.chainId, grant.grantee) },
            ...(grant.granteeName ? { display: grant.granteeName } : {}),
          },
        },
      ],
      purpose: purposes,
      class: maskToCategories(grant.categories).map((c) => ({
        system: "http://hl7.org/fhir/resource-types",
        code: c,
        display: CATEGORIES[c].display,
      })),
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
