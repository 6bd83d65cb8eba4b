/**
 * The gateway's CapabilityStatement (GET [base]/metadata), generated from the supported types.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from "@medplum/fhirtypes";
import { FHIR_VERSION, JSON_FORMATS } from "./negotiation.ts";
import { PATIENT_REFERENCE_ELEMENT, SUPPORTED_RESOURCE_TYPES, type SupportedResourceType } from "./resources.ts";

export const SOFTWARE = { name: "Consentry gateway", version: "0.1.0" } as const;

export const FHIR_JSON = "application/fhir+json";

type TypeInteraction =
  "read" | "vread" | "update" | "delete" | "history-instance" | "history-type" | "create" | "search-type";

export interface CapabilityOptions {
  publicUrl: string;
  custodianName: string;
  /** Publication date (FHIR dateTime). */
  date: string;
  /** Type-level interactions the server implements. */
  interactions: readonly TypeInteraction[];
  /** Whether `POST [base]` accepts transaction Bundles. */
  transaction: boolean;
  /** Consent-checked reads (SIWE bearer tokens): Consent and AuditEvent searches, Patient $everything. */
  reads?: boolean;
  /** Whether CORS is enabled for configured origins. */
  cors?: boolean;
}

/** What `GET /fhir/Consent` accepts (the routes take their lists from here: one declaration). */
export const CONSENT_SEARCH_PARAMS = ["patient"] as const;
/** What `GET /fhir/AuditEvent` accepts. */
export const AUDIT_EVENT_SEARCH_PARAMS = ["patient", "_count", "_before", "_snapshot"] as const;

/** The names of {@link searchParamsFor}: what `GET /fhir/{type}` accepts. */
export function searchParamNames(type: SupportedResourceType): string[] {
  return (searchParamsFor(type) ?? []).map((p) => p.name);
}

/** Search parameters the store implements for a type: its patient compartment, and paging. */
export function searchParamsFor(type: SupportedResourceType): CapabilityStatementRestResource["searchParam"] {
  const params: NonNullable<CapabilityStatementRestResource["searchParam"]> = [];
  if (PATIENT_REFERENCE_ELEMENT[type] === null) {
    params.push(
      { name: "_id", type: "token", definition: "http://hl7.org/fhir/SearchParameter/Resource-id" },
      {
        name: "identifier",
        type: "token",
        definition: "http://hl7.org/fhir/SearchParameter/Patient-identifier",
        documentation: "The patient linked to a wallet: urn:ietf:rfc:3986|did:pkh:eip155:{chainId}:{address}",
      },
    );
  } else {
    params.push({
      name: "patient",
      type: "reference",
      documentation: `The patient the ${type} belongs to (${type}.${PATIENT_REFERENCE_ELEMENT[type]}), as Patient/{id}`,
    });
  }
  params.push(
    { name: "_count", type: "number", documentation: "Page size, 0 to 1000 (default 20)" },
    { name: "_offset", type: "number", documentation: "Entries to skip; results are ordered by last update, then id" },
  );
  return params;
}

/** The resources only read (never ingested): the patient's grants and its access log. */
function readOnlyResources(): CapabilityStatementRestResource[] {
  const patientParam = (what: string) => ({
    name: "patient",
    type: "reference" as const,
    documentation: `The patient whose ${what} (Patient/{id} or {id}); required`,
  });
  const consentParams: NonNullable<CapabilityStatementRestResource["searchParam"]> = [patientParam("grants")];
  const auditParams: NonNullable<CapabilityStatementRestResource["searchParam"]> = [
    patientParam("access log"),
    { name: "_count", type: "number", documentation: "Page size, 0 to 1000 (default 20)" },
    {
      name: "_before",
      type: "number",
      documentation: "Paging (the next link): only the entries older than this position in the log",
    },
    {
      name: "_snapshot",
      type: "number",
      documentation:
        "Paging (the next link): the log as it stood when the first page was read, so that Bundle.total " +
        "and the pages stay the same while new entries (the listing's own among them) are appended",
    },
  ];
  return [
    {
      type: "Consent",
      profile: "http://hl7.org/fhir/StructureDefinition/Consent",
      documentation:
        "The patient's grants, read from the consent registry on-chain (patient, delegates, grantees); " +
        "the id is the grant id (hex, without 0x)",
      interaction: [{ code: "read" }, { code: "search-type" }],
      searchParam: consentParams.filter((p) => (CONSENT_SEARCH_PARAMS as readonly string[]).includes(p.name)),
    },
    {
      type: "AuditEvent",
      profile: "http://hl7.org/fhir/StructureDefinition/AuditEvent",
      documentation: "The patient's access log, newest first (patient and delegates)",
      interaction: [{ code: "read" }, { code: "search-type" }],
      searchParam: auditParams.filter((p) => (AUDIT_EVENT_SEARCH_PARAMS as readonly string[]).includes(p.name)),
    },
  ];
}

export function buildCapabilityStatement(options: CapabilityOptions): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = SUPPORTED_RESOURCE_TYPES.map((type) => ({
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: options.interactions.map((code) => ({ code })),
    versioning: "versioned",
    readHistory: false,
    updateCreate: true,
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: "not-supported",
    searchParam: searchParamsFor(type),
    ...(options.reads && type === "Patient"
      ? {
          operation: [
            {
              name: "everything",
              definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything",
              documentation: "The consented categories of the patient's record",
            },
          ],
        }
      : {}),
  }));
  if (options.reads) resource.push(...readOnlyResources());
  return {
    resourceType: "CapabilityStatement",
    url: `${options.publicUrl}/fhir/metadata`,
    version: SOFTWARE.version,
    name: "ConsentryGateway",
    title: `${options.custodianName} — Consentry FHIR gateway`,
    status: "active",
    date: options.date,
    publisher: options.custodianName,
    kind: "instance",
    software: { name: SOFTWARE.name, version: SOFTWARE.version },
    implementation: {
      description: `${options.custodianName} — Consentry consent-checking FHIR gateway`,
      url: `${options.publicUrl}/fhir`,
    },
    fhirVersion: "4.0.1",
    // JSON only: any other format (Accept or _format, e.g. xml) or FHIR version is a 406.
    format: [...JSON_FORMATS],
    rest: [
      {
        mode: "server",
        documentation:
          "Custodian ingestion authenticates with the custodian's bearer token. Records are encrypted at rest per patient; " +
          "every access is written to a hash-chained AuditEvent log. " +
          `FHIR ${FHIR_VERSION} as JSON only: a request for another format (Accept, _format) or FHIR version gets 406.` +
          (options.reads
            ? " Reads authenticate with a bearer token from Sign-In with Ethereum (GET /auth/nonce, POST /auth/siwe), " +
              "state their purpose in the X-Purpose-Of-Use header (HL7 v3 PurposeOfUse or GA4GH DUO code), and are " +
              "checked against the on-chain consent registry at the latest block."
            : ""),
        security: {
          cors: options.cors ?? false,
          description: options.reads
            ? "Bearer token (Authorization: Bearer …): Sign-In with Ethereum (EIP-4361) for readers, the custodian's token for ingestion"
            : "Bearer token (Authorization: Bearer …)",
        },
        resource,
        ...(options.transaction ? { interaction: [{ code: "transaction" as const }] } : {}),
      },
    ],
  };
}
