/**
 * The FHIR R4 resource types this gateway holds, and which patient each resource belongs to.
 */
import type { Resource } from "@medplum/fhirtypes";
import { CATEGORY_NAMES, type CategoryName } from "#sdk/codes.ts";
import { badRequest, notFound } from "./outcomes.ts";

/**
 * Resource types the gateway accepts, stores and serves: the consent data categories of sdk/
 * (one per FHIR resource type, as in SMART v2 scopes), in their order.
 */
export const SUPPORTED_RESOURCE_TYPES: readonly CategoryName[] = CATEGORY_NAMES;

export type SupportedResourceType = CategoryName;
export type SupportedResource = Extract<Resource, { resourceType: SupportedResourceType }>;
export type ResourceOfType<T extends SupportedResourceType> = Extract<Resource, { resourceType: T }>;

/**
 * The element that puts a resource in a patient's compartment (FHIR R4 CompartmentDefinition
 * "Patient", restricted to the one reference that this gateway requires). Patient is its own.
 */
export const PATIENT_REFERENCE_ELEMENT = {
  Patient: null,
  Observation: "subject",
  Condition: "subject",
  MedicationRequest: "subject",
  AllergyIntolerance: "patient",
  Immunization: "patient",
  Procedure: "subject",
  DiagnosticReport: "subject",
  DocumentReference: "subject",
  Encounter: "subject",
} as const satisfies Record<SupportedResourceType, string | null>;

/** FHIR R4 `id`: 1–64 characters of [A-Za-z0-9\-.]. */
export const FHIR_ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isSupportedResourceType(value: unknown): value is SupportedResourceType {
  return typeof value === "string" && (SUPPORTED_RESOURCE_TYPES as readonly string[]).includes(value);
}

export function isValidId(value: unknown): value is string {
  return typeof value === "string" && FHIR_ID_PATTERN.test(value);
}

/** Throws 404 OperationOutcome for a type the gateway does not serve (e.g. in a URL). */
export function assertSupportedType(type: string): SupportedResourceType {
  if (!isSupportedResourceType(type)) {
    throw notFound(`Resource type "${truncate(type)}" is not supported by this gateway`);
  }
  return type;
}

/** Throws 400 for an id that is not a FHIR id. */
export function assertValidId(id: string, expression?: string): string {
  if (!isValidId(id)) {
    throw badRequest(
      `Invalid resource id "${truncate(id)}" (FHIR ids are 1-64 characters of A-Z a-z 0-9 - .)`,
      expression,
    );
  }
  return id;
}

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** "Patient/{id}" (optionally versioned) → id; anything else → undefined. */
export function parsePatientReference(reference: unknown): string | undefined {
  if (typeof reference !== "string") return undefined;
  return PATIENT_REFERENCE.exec(reference)?.[1];
}

/**
 * The id of the patient a resource belongs to: Patient.id itself, or the `subject`/`patient`
 * reference "Patient/{id}". Undefined when the resource names no patient (or another kind of
 * subject, e.g. a Group).
 */
export function getPatientId(resource: SupportedResource): string | undefined {
  const element = PATIENT_REFERENCE_ELEMENT[resource.resourceType];
  if (element === null) return isValidId(resource.id) ? resource.id : undefined;
  const ref = (resource as unknown as Record<string, { reference?: unknown } | undefined>)[element];
  return parsePatientReference(ref?.reference);
}

/** {@link getPatientId}, or a 400 OperationOutcome naming the element that must hold it. */
export function requirePatientId(resource: SupportedResource): string {
  const patientId = getPatientId(resource);
  if (patientId !== undefined) return patientId;
  const element = PATIENT_REFERENCE_ELEMENT[resource.resourceType];
  if (element === null) throw badRequest("Patient must have an id", "Patient.id");
  throw badRequest(
    `${resource.resourceType}.${element} must reference a patient as "Patient/{id}": the gateway stores every record in a patient's compartment`,
    `${resource.resourceType}.${element}`,
  );
}

export function truncate(value: string, max = 64): string {
  const printable = value.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
