/**
 * Builds FHIR R4 AuditEvent resources from the code tables: one per access attempt, allowed or
 * denied, naming who (the wallet as a did:pkh identifier), why (purpose of use), what (the
 * patient and the resource or query) and how it ended.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from "@medplum/fhirtypes";
import { randomUUID } from "node:crypto";
import { purposeCoding as purposeOfUseCoding } from "#sdk/fhir.ts";
import {
  AGENT_TYPE,
  AUDIT_EVENT_TYPE,
  BREAK_THE_GLASS,
  GATEWAY_OPERATION,
  GATEWAY_OPERATION_SYSTEM,
  AUDIT_OUTCOME,
  ENTITY_ROLE,
  ENTITY_TYPE,
  INTERACTION_ACTION,
  NETWORK_TYPE_IP,
  PURPOSES,
  RESTFUL_INTERACTION,
  SOURCE_TYPE,
  URI_SYSTEM,
  type AgentKind,
  type AuditOutcome,
  type GatewayOperation,
  type PurposeName,
  type RestInteraction,
} from "./codes.ts";

export interface AuditAgentInput {
  kind: AgentKind;
  /** The requesting wallet, did:pkh:eip155:{chainId}:{address}; absent when unauthenticated. */
  did?: string | undefined;
  /** Human-readable name (e.g. "custodian ingestion"). */
  display?: string | undefined;
  /** Client IP address. */
  address?: string | undefined;
}

export interface AuditInput {
  interaction: RestInteraction;
  outcome: AuditOutcome;
  /** Why it failed (never health data). */
  outcomeDesc?: string | undefined;
  recorded: Date;
  agent: AuditAgentInput;
  /** Why the data was requested (sdk purpose name, e.g. "TREAT", "HMB"). */
  purposeOfUse?: PurposeName | undefined;
  /** The patient whose data was touched. */
  patientId?: string | undefined;
  /** The resource read or written, e.g. { type: "Observation", id: "…" }. */
  resource?: { type: string; id?: string | undefined } | undefined;
  /** The search query string (no health data: ids and codes only). */
  query?: string | undefined;
  /** Who observed the event: the gateway of this custodian. */
  source: { observer: string; site?: string | undefined };
  /** Which of the gateway's operations (for interaction "operation"). */
  operation?: GatewayOperation | undefined;
  /** Data left under emergency (break-glass) access: purposeOfEvent gets BTG. */
  emergency?: boolean | undefined;
  /** Facts of the decision (e.g. the block the consent was read at), as entity details. */
  details?: ReadonlyArray<{ type: string; value: string }> | undefined;
}

/** A purpose: the code with its code system's display, the plain words (sdk/codes.ts) as text. */
function purposeConcept(purpose: PurposeName) {
  return { coding: [purposeOfUseCoding(purpose)], text: PURPOSES[purpose].display };
}

export function buildAuditEvent(input: AuditInput): AuditEvent {
  const agent: AuditEventAgent = {
    type: { coding: [AGENT_TYPE[input.agent.kind]] },
    requestor: true,
  };
  if (input.agent.did !== undefined || input.agent.display !== undefined) {
    agent.who = {};
    if (input.agent.did !== undefined) agent.who.identifier = { system: URI_SYSTEM, value: input.agent.did };
    if (input.agent.display !== undefined) agent.who.display = input.agent.display;
  }
  if (input.agent.address !== undefined) agent.network = { address: input.agent.address, type: NETWORK_TYPE_IP };
  if (input.purposeOfUse !== undefined) agent.purposeOfUse = [purposeConcept(input.purposeOfUse)];

  const entity: AuditEventEntity[] = [];
  if (input.patientId !== undefined) {
    entity.push({
      what: { reference: `Patient/${input.patientId}` },
      type: ENTITY_TYPE.person,
      role: ENTITY_ROLE.patient,
    });
  }
  if (input.resource !== undefined && !(input.resource.type === "Patient" && input.resource.id === input.patientId)) {
    const what =
      input.resource.id !== undefined
        ? { reference: `${input.resource.type}/${input.resource.id}` }
        : { display: input.resource.type };
    entity.push({ what, type: ENTITY_TYPE.systemObject, role: ENTITY_ROLE.domainResource });
  }
  if (input.query !== undefined) {
    entity.push({
      type: ENTITY_TYPE.systemObject,
      role: ENTITY_ROLE.query,
      query: Buffer.from(input.query, "utf8").toString("base64"),
    });
  }

  if (input.details !== undefined && input.details.length > 0) {
    const detail = input.details.map((d) => ({ type: d.type, valueString: d.value }));
    const target = entity[0];
    if (target) target.detail = [...(target.detail ?? []), ...detail];
    else entity.push({ type: ENTITY_TYPE.systemObject, detail });
  }
  const subtype: Coding[] = [RESTFUL_INTERACTION[input.interaction]];
  if (input.operation !== undefined) {
    subtype.push({
      system: GATEWAY_OPERATION_SYSTEM,
      code: input.operation,
      display: GATEWAY_OPERATION[input.operation],
    });
  }
  const event: AuditEvent = {
    resourceType: "AuditEvent",
    id: randomUUID(),
    type: AUDIT_EVENT_TYPE.rest,
    subtype,
    action: INTERACTION_ACTION[input.interaction],
    recorded: input.recorded.toISOString(),
    outcome: AUDIT_OUTCOME[input.outcome],
    agent: [agent],
    source: {
      observer: { display: input.source.observer },
      type: [SOURCE_TYPE.webServer],
      ...(input.source.site !== undefined ? { site: input.source.site } : {}),
    },
  };
  if (input.outcomeDesc !== undefined) event.outcomeDesc = input.outcomeDesc;
  if (input.purposeOfUse !== undefined) event.purposeOfEvent = [purposeConcept(input.purposeOfUse)];
  if (input.emergency) event.purposeOfEvent = [...(event.purposeOfEvent ?? []), { coding: [BREAK_THE_GLASS] }];
  if (entity.length > 0) event.entity = entity;
  return event;
}

/** The patient an AuditEvent is about: its entity with role Patient, "Patient/{id}". */
export function auditPatientId(event: AuditEvent): string | null {
  for (const e of event.entity ?? []) {
    if (e.role?.code === ENTITY_ROLE.patient.code && e.role.system === ENTITY_ROLE.patient.system) {
      const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(e.what?.reference ?? "");
      if (m) return m[1]!;
    }
  }
  return null;
}
