/**
 * Code tables for AuditEvent (FHIR R4), taken from the HL7 and DICOM code systems. Purposes of
 * use come from sdk/ (HL7 v3 PurposeOfUse codes, GA4GH DUO codes for research uses).
 */
import type { Coding } from "@medplum/fhirtypes";

const AUDIT_EVENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const DICOM_SYSTEM = "http://dicom.nema.org/resources/ontology/DCM";

/** AuditEvent.type. */
export const AUDIT_EVENT_TYPE = {
  rest: { system: AUDIT_EVENT_TYPE_SYSTEM, code: "rest", display: "RESTful Operation" },
  export: { system: DICOM_SYSTEM, code: "110106", display: "Export" },
  query: { system: DICOM_SYSTEM, code: "110112", display: "Query" },
  userAuthentication: { system: DICOM_SYSTEM, code: "110114", display: "User Authentication" },
} as const satisfies Record<string, Coding>;

/** AuditEvent.subtype for type "rest": FHIR restful interactions. */
export const RESTFUL_INTERACTION = {
  read: { system: "http://hl7.org/fhir/restful-interaction", code: "read", display: "read" },
  vread: { system: "http://hl7.org/fhir/restful-interaction", code: "vread", display: "vread" },
  "search-type": { system: "http://hl7.org/fhir/restful-interaction", code: "search-type", display: "search-type" },
  create: { system: "http://hl7.org/fhir/restful-interaction", code: "create", display: "create" },
  update: { system: "http://hl7.org/fhir/restful-interaction", code: "update", display: "update" },
  delete: { system: "http://hl7.org/fhir/restful-interaction", code: "delete", display: "delete" },
  transaction: { system: "http://hl7.org/fhir/restful-interaction", code: "transaction", display: "transaction" },
  operation: { system: "http://hl7.org/fhir/restful-interaction", code: "operation", display: "operation" },
} as const satisfies Record<string, Coding>;

export type RestInteraction = keyof typeof RESTFUL_INTERACTION;

/** AuditEvent.action (http://hl7.org/fhir/audit-event-action). */
export const AUDIT_ACTION = {
  create: "C",
  read: "R",
  update: "U",
  delete: "D",
  execute: "E",
} as const;

export type AuditAction = (typeof AUDIT_ACTION)[keyof typeof AUDIT_ACTION];

/** The action each interaction performs. */
export const INTERACTION_ACTION = {
  read: AUDIT_ACTION.read,
  vread: AUDIT_ACTION.read,
  "search-type": AUDIT_ACTION.execute,
  create: AUDIT_ACTION.create,
  update: AUDIT_ACTION.update,
  delete: AUDIT_ACTION.delete,
  transaction: AUDIT_ACTION.execute,
  operation: AUDIT_ACTION.execute,
} as const satisfies Record<RestInteraction, AuditAction>;

/** AuditEvent.outcome (http://hl7.org/fhir/audit-event-outcome). */
export const AUDIT_OUTCOME = {
  success: "0",
  minorFailure: "4",
  seriousFailure: "8",
  majorFailure: "12",
} as const;

export type AuditOutcome = keyof typeof AUDIT_OUTCOME;

/** Purposes of use: the one table in sdk/ (HL7 v3 PurposeOfUse, GA4GH DUO for research). */
export { PURPOSES, type PurposeName } from "#sdk/codes.ts";

/** AuditEvent.agent.type. */
export const AGENT_TYPE = {
  /** A person signed in with a wallet (patient, clinician, researcher). */
  humanUser: {
    system: "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
    code: "humanuser",
    display: "human user",
  },
  /** The custodian's own systems feeding data in (admin token). */
  dataCollector: {
    system: "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
    code: "datacollector",
    display: "data collector",
  },
  /** A system acting on its own credentials (e.g. a provider's backend). */
  application: { system: DICOM_SYSTEM, code: "110150", display: "Application" },
} as const satisfies Record<string, Coding>;

export type AgentKind = keyof typeof AGENT_TYPE;

/** AuditEvent.source.type (http://terminology.hl7.org/CodeSystem/security-source-type). */
export const SOURCE_TYPE = {
  webServer: { system: "http://terminology.hl7.org/CodeSystem/security-source-type", code: "3", display: "Web Server" },
} as const satisfies Record<string, Coding>;

/** AuditEvent.entity.type (http://terminology.hl7.org/CodeSystem/audit-entity-type). */
export const ENTITY_TYPE = {
  person: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "1", display: "Person" },
  systemObject: {
    system: "http://terminology.hl7.org/CodeSystem/audit-entity-type",
    code: "2",
    display: "System Object",
  },
} as const satisfies Record<string, Coding>;

/** AuditEvent.entity.role (http://terminology.hl7.org/CodeSystem/object-role). */
export const ENTITY_ROLE = {
  patient: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "1", display: "Patient" },
  domainResource: {
    system: "http://terminology.hl7.org/CodeSystem/object-role",
    code: "4",
    display: "Domain Resource",
  },
  query: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "24", display: "Query" },
} as const satisfies Record<string, Coding>;

/**
 * Break-the-glass (HL7 v3 ActReason BTG): added to AuditEvent.purposeOfEvent when data left
 * under emergency access rather than a grant, so the patient's trail shows it plainly.
 */
export const BREAK_THE_GLASS = {
  system: "http://terminology.hl7.org/CodeSystem/v3-ActReason",
  code: "BTG",
  display: "break the glass",
} as const satisfies Coding;

/** The gateway's own operations (AuditEvent.subtype next to "operation"). */
export const GATEWAY_OPERATION_SYSTEM = "urn:consentry:gateway-operation";
export const GATEWAY_OPERATION = {
  everything: "Patient $everything",
  "issue-link-code": "link code issued",
  "issue-relink-code": "relink code issued",
  "link-wallet": "wallet linked",
  "relink-wallet": "wallet relinked",
  "relay-grant": "signed grant relayed",
  "relay-revoke": "signed revocation relayed",
  "relay-revoke-all": "signed revoke-all relayed",
  "relay-cancel-signatures": "signed signature cancellation relayed",
  "relay-join": "signed study join relayed",
  "relay-leave": "signed study leave relayed",
  "relay-withdraw": "signed withdrawal relayed",
  "relay-prevention-opt-in": "signed prevention programme opt-in relayed",
  "relay-prevention-opt-out": "signed prevention programme opt-out relayed",
  "relay-prevention-withdraw": "signed withdrawal of prevention rewards relayed",
  "enrolment-attestation": "custodian attested a patient's study enrolment",
  "research-export": "de-identified research export",
  "prevention-confirm": "prevention criterion confirmed to the payer's programme (no record released)",
  "erase-patient": "patient erased",
} as const;
export type GatewayOperation = keyof typeof GATEWAY_OPERATION;

/** AuditEvent.agent.network.type: 2 = IP address. */
export const NETWORK_TYPE_IP = "2";

/** Identifier system for a wallet given as a DID (a DID is a URI). */
export const URI_SYSTEM = "urn:ietf:rfc:3986";
