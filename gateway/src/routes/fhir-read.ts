/**
 * Consent-checked FHIR reads. Every one needs a bearer token of this gateway (Sign-In with
 * Ethereum) and an `X-Purpose-Of-Use`; the access decision (consent/access.ts) is made at the
 * chain's latest block before anything is decrypted, and each request writes one AuditEvent.
 *
 *   GET /fhir/{type}/{id}                      read
 *   GET /fhir/{type}?patient=…&_count=&_offset=  search (Patient: _id=…), searchset with self/next
 *   GET /fhir/Patient/{id}/$everything[?_type=]  the consented categories only
 *   GET /fhir/Consent?patient=…                  the patient's grants, listed by the indexer (503 without INDEXER_URL)
 *   GET /fhir/Consent/{id}                       one of them (id: the grant id, hex without 0x)
 *   GET /fhir/AuditEvent?patient=…&_count=       the patient's access log, newest first
 *   GET /fhir/AuditEvent/{id}                    one entry of it
 *
 * Every resource listed has its id, a fullUrl [base]/[type]/[id] and a read route.
 */
import type { BundleEntry, Consent, OperationOutcome, Resource } from "@medplum/fhirtypes";
import { type Address, isAddressEqual, zeroAddress } from "viem";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import {
  CATEGORIES,
  EMERGENCY_REASONS,
  EMERGENCY_REASON_HEADER_NAME,
  parseEmergencyReason,
  type CategoryName,
  type EmergencyReason,
  type PurposeName,
} from "#sdk/codes.ts";
import { normalizeDidPkh, formatDidPkh } from "#sdk/did-pkh.ts";
import { findAuditEvent, listAuditNewestFirst } from "../audit/log.ts";
import { consentMissing, walletsOnChain, type AccessDecision } from "../consent/access.ts";
import { grantPatient, grantsTo, readGrants, toConsents } from "../consent/consents.ts";
import { EMERGENCY_REASON_HEADER, PURPOSE_HEADER, parsePurposeOfUse } from "../consent/purpose.ts";
import { AUDIT_EVENT_SEARCH_PARAMS, CONSENT_SEARCH_PARAMS, FHIR_JSON, searchParamNames } from "../fhir/capability.ts";
import { OperationOutcomeError, badRequest, forbidden, notFound } from "../fhir/outcomes.ts";
import {
  SUPPORTED_RESOURCE_TYPES,
  assertSupportedType,
  assertValidId,
  isSupportedResourceType,
  isValidId,
  truncate,
} from "../fhir/resources.ts";
import { intParam, parseParams, patientParam, rawQuery, searchUrl, searchset } from "../fhir/search.ts";
import { bundleStream, jsonBytes } from "../fhir/stream.ts";
import { DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE } from "../store/store.ts";
import type { AuditContext, Requester, RouteContext } from "./context.ts";

/** The largest audit position a paging parameter may name. */
const MAX_SEQ = 999_999_999;

/** `$everything` records per page unless `_count` says otherwise (at most MAX_PAGE_SIZE). */
export const EVERYTHING_PAGE_SIZE = 100;

/** `_cursor` of `$everything`: "Type/id" of the last record of the previous page. */
function everythingCursor(value: string | undefined): { type: CategoryName; id: string } | undefined {
  if (value === undefined) return undefined;
  const [type, id, ...rest] = value.split("/");
  if (rest.length > 0 || !isSupportedResourceType(type) || id === undefined || !isValidId(id)) {
    throw badRequest(`_cursor: "${truncate(value)}" is not a cursor of this operation (Type/id)`, "_cursor");
  }
  return { type, id };
}

function requesterOf(request: FastifyRequest): Requester {
  if (!request.requester) throw new Error("route without requireReader");
  return request.requester;
}

function httpDate(iso: string | undefined): string {
  return new Date(iso ?? Date.now()).toUTCString();
}

/** What the audit records of a decision: the block, who the reader is to the patient, break-glass. */
function noteDecision(audit: AuditContext, decision: AccessDecision): void {
  audit.emergency = decision.emergency;
  audit.details = [
    { type: "relation", value: decision.relation },
    ...(decision.block ? [{ type: "consent-block", value: decision.block.number.toString() }] : []),
    { type: "categories-allowed", value: decision.allowed.join(",") || "none" },
  ];
  const notes: string[] = [];
  if (decision.emergency) {
    const emergencyCategories = decision.decisions.filter((d) => d.emergency).map((d) => d.category);
    notes.push(`Emergency (break-glass) access: ${emergencyCategories.join(", ")}`);
    // The reason is not on the chain (only its commitment): this log is where the patient reads it.
    if (decision.emergencyReason !== undefined) {
      const words = EMERGENCY_REASONS[decision.emergencyReason];
      audit.details.push({ type: "emergency-reason", value: `${decision.emergencyReason} ${words}` });
      notes.push(`reason: ${words} (as the clinician gave it, matching the opening's commitment on the chain)`);
    }
  }
  if (decision.refused.length > 0 && decision.allowed.length > 0) {
    notes.push(`withheld: ${decision.refused.map((d) => `${d.category} (${d.reason})`).join(", ")}`);
  }
  audit.note = notes.length > 0 ? notes.join("; ") : undefined;
}

/**
 * What the audit records of a request answered as if the patient did not exist (the reader answered
 * stays unaware): no relation, no consent, or nothing to read.
 */
const AS_UNKNOWN = {
  unknown: undefined,
  stranger:
    "refused: the reader holds no consent of the patient and is neither the patient nor a delegate (answered as for a patient not held here)",
  unlinked:
    "refused: the patient has no linked wallet, so no consent can exist for it (answered as for a patient not held here)",
  erased: "refused: the patient has been erased (answered as for a patient not held here)",
} as const;

/** Thrown inside a handler: answer as for a patient not held here, audit why. */
class AnswerAsUnknown extends Error {
  readonly why: keyof typeof AS_UNKNOWN;
  constructor(why: keyof typeof AS_UNKNOWN) {
    super(AS_UNKNOWN[why] ?? "not held here");
    this.why = why;
  }
}

export function registerReadRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { config, store, access, chain } = ctx;
  const base = `${config.publicUrl}/fhir`;
  const onRequest = [ctx.requireReader];

  const purposeOf = (request: FastifyRequest): PurposeName => parsePurposeOfUse(request.headers[PURPOSE_HEADER]);
  /** The break-glass reason the read gives (X-Emergency-Reason: code;salt), if any; 400 if malformed. */
  const emergencyReasonOf = (request: FastifyRequest): EmergencyReason | null => {
    const raw = request.headers[EMERGENCY_REASON_HEADER];
    if (raw === undefined) return null;
    const reason = typeof raw === "string" ? parseEmergencyReason(raw) : null;
    if (reason === null) {
      throw badRequest(
        `${EMERGENCY_REASON_HEADER_NAME} must be "<reason code>;<salt>" (a known reason code and the 32-byte hex salt of its commitment)`,
        EMERGENCY_REASON_HEADER_NAME,
      );
    }
    return reason;
  };
  const onThisChain = `did:pkh:eip155:${config.chainId}:`;

  /** The patient's linked wallets (did:pkh) when it is held here; else as for a patient not held here. */
  async function heldWallets(patientId: string): Promise<{ kind: "held"; dids: string[] }> {
    const patient = await store.patientWallets(patientId);
    if (patient.kind === "unknown") throw new AnswerAsUnknown("unknown");
    if (patient.kind === "erased") throw new AnswerAsUnknown("erased");
    const dids = patient.wallets;
    if (walletsOnChain(dids, config.chainId).length === 0) throw new AnswerAsUnknown("unlinked");
    return { kind: "held", dids };
  }

  /**
   * The access decision, or AnswerAsUnknown when the reader is refused everything and holds no
   * consent of the patient at all (nor is the patient or a delegate): a reader with some consent
   * learns which consent is missing (403), any other one what it would learn of a patient not
   * held here. The extra chain reads are made for refusals only.
   */
  async function decideOrUnknown(
    patientId: string,
    requester: Requester,
    categories: readonly CategoryName[],
    purpose: PurposeName,
    dids: readonly string[],
    emergencyReason: EmergencyReason | null,
  ): Promise<AccessDecision> {
    if (!dids.some((did) => did.startsWith(onThisChain))) throw new AnswerAsUnknown("unlinked");
    const decision = await access.decide(patientId, requester.address, categories, purpose, {
      wallets: dids,
      emergencyReason,
    });
    if (decision.allowed.length > 0 || decision.relation !== "reader") return decision;
    if (await access.holdsConsent(decision.wallets, requester.address, decision.block!)) return decision;
    throw new AnswerAsUnknown("stranger");
  }

  /**
   * Runs `fn`; an AnswerAsUnknown becomes `unknown()`'s answer, and the audit says why. Every such
   * answer (a patient not held here or a reader without relation alike) counts against the client
   * address's allowance of them (ctx.chargeUnrelated: 429 once spent).
   */
  async function orAsUnknown<T>(
    request: FastifyRequest,
    audit: AuditContext,
    fn: () => Promise<T>,
    unknown: () => T,
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof AnswerAsUnknown)) throw err;
      ctx.chargeUnrelated(request);
      if (err.why !== "unknown") {
        audit.details = [{ type: "relation", value: "none" }];
        audit.refused = AS_UNKNOWN[err.why];
      }
      return unknown();
    }
  }

  /** The 404 of a patient not held here (the id is the caller's own input). */
  const patientNotHeld = (patientId: string) => notFound(`Patient/${patientId} is not held by this gateway`);

  function sendFhir(reply: FastifyReply, body: object): FastifyReply {
    return reply.type(FHIR_JSON).send(jsonBytes(body));
  }

  // ---------------------------------------------------------------- Consent (listed by the indexer)
  /**
   * The patient's grants the requester may see, as Consents: all of them for the patient and its
   * delegates, a grantee's own otherwise (403 when none). Who may see them is decided on chain at
   * the latest block (the patient's own wallet needs no read); the list is the indexer's.
   */
  async function visibleConsents(requester: Requester, audit: AuditContext, patientId: string): Promise<Consent[]> {
    const held = await heldWallets(patientId);
    const wallets = walletsOnChain(held.dids, config.chainId);
    // Who may list is decided (on chain) before the indexer is asked: the patient and its delegates all
    // grants; a reader that holds some consent its own organization's, without the wallet; anyone
    // else what it would get for a patient not held here.
    const who = await access.patientOrDelegate(patientId, requester.address, held.dids);
    let organization: Address | undefined;
    if (who.relation === null) {
      if (!(await access.holdsConsent(wallets, requester.address, who.block))) throw new AnswerAsUnknown("stranger");
      const account = await chain.accountOf(requester.address, who.block.number);
      organization = isAddressEqual(account.organization, zeroAddress) ? requester.address : account.organization;
    }
    const listed = await readGrants(chain, wallets);
    let grants = listed.grants;
    if (organization !== undefined) {
      grants = grantsTo(grants, organization);
      if (grants.length === 0) {
        throw forbidden("Only the patient, its delegates and the grantees of its consents may read them");
      }
    }
    // The block the decision was made at (a delegate's, a grantee's), else the one the list was read at.
    const at = who.block ?? listed.indexed;
    audit.details = [
      { type: "relation", value: who.relation ?? "grantee" },
      { type: "consent-block", value: at.number.toString() },
    ];
    const consents = toConsents(chain, grants, at, patientId, Math.floor(store.now().getTime() / 1000));
    if (organization !== undefined) for (const c of consents) withoutWallet(c, patientId);
    return consents;
  }

  app.get("/fhir/Consent", { onRequest }, async (request, reply) => {
    const requester = requesterOf(request);
    const audit: AuditContext = { interaction: "search-type", resource: { type: "Consent" } };
    const body = await ctx.audited(request, audit, async () => {
      audit.purposeOfUse = purposeOf(request);
      const query = rawQuery(request.url);
      audit.query = query;
      const params = parseParams(query, CONSENT_SEARCH_PARAMS);
      const patientId = patientParam("patient", params.get("patient"));
      audit.patientId = patientId;
      const self = searchUrl(`${base}/Consent`, { patient: patientId });
      const consents = await orAsUnknown(
        request,
        audit,
        () => visibleConsents(requester, audit, patientId),
        () => [] as Consent[],
      );
      return searchset({
        self,
        total: consents.length,
        entries: consents.map((c) => ({ fullUrl: `${base}/Consent/${c.id}`, resource: c })),
      });
    });
    return sendFhir(reply, body);
  });

  app.get<{ Params: { id: string } }>("/fhir/Consent/:id", { onRequest }, async (request, reply) => {
    const requester = requesterOf(request);
    const audit: AuditContext = { interaction: "read", resource: { type: "Consent" } };
    const body = await ctx.audited(request, audit, async () => {
      audit.purposeOfUse = purposeOf(request);
      const id = assertValidId(request.params.id);
      audit.resource = { type: "Consent", id };
      parseParams(rawQuery(request.url), []);
      // One answer for "no such grant", "its patient is not linked here" and "not yours to read": a
      // grant's patient wallet is public on-chain, whether it is a patient here is not. The audit
      // (of the patient, when known) says which.
      const missing = () => notFound(`Consent/${id} is not held by this gateway, or not yours to read`);
      if (!/^[0-9a-f]{64}$/.test(id)) throw missing();
      // The grant's patient (the indexer's record of its ConsentGranted), then the Patient linked to that wallet here.
      const wallet = await grantPatient(chain, `0x${id}`);
      if (wallet === null) throw missing();
      const patientId = await store.findPatientByWallet(formatDidPkh(chain.chainId, wallet));
      if (patientId === undefined) throw missing();
      audit.patientId = patientId;
      let visible: Consent[];
      try {
        visible = await visibleConsents(requester, audit, patientId);
      } catch (err) {
        if (err instanceof AnswerAsUnknown) {
          audit.details = [{ type: "relation", value: "none" }];
          audit.refused = AS_UNKNOWN[err.why];
          throw missing();
        }
        if (!(err instanceof OperationOutcomeError) || err.status !== 403) throw err;
        audit.details = [{ type: "refused", value: "not the patient, a delegate or a grantee of its consents" }];
        throw missing();
      }
      const consent = visible.find((c) => c.id === id);
      if (consent === undefined) {
        audit.details = [...(audit.details ?? []), { type: "refused", value: "a grant to another grantee" }];
        throw missing();
      }
      return consent;
    });
    return sendFhir(reply, body);
  });

  // ---------------------------------------------------------------- AuditEvent (the access log)
  app.get("/fhir/AuditEvent", { onRequest }, async (request, reply) => {
    const requester = requesterOf(request);
    const audit: AuditContext = { interaction: "search-type", resource: { type: "AuditEvent" } };
    const body = await ctx.audited(request, audit, async () => {
      audit.purposeOfUse = purposeOf(request);
      const query = rawQuery(request.url);
      audit.query = query;
      const params = parseParams(query, AUDIT_EVENT_SEARCH_PARAMS);
      const patientId = patientParam("patient", params.get("patient"));
      audit.patientId = patientId;
      const count = intParam("_count", params.get("_count"), DEFAULT_PAGE_SIZE, 0, MAX_PAGE_SIZE);
      const before = intParam("_before", params.get("_before"), 0, 1, MAX_SEQ);
      const snapshot = intParam("_snapshot", params.get("_snapshot"), 0, 0, MAX_SEQ);
      const who = await orAsUnknown(
        request,
        audit,
        async () => {
          const held = await heldWallets(patientId);
          const found = await access.patientOrDelegate(patientId, requester.address);
          if (found.relation !== null) return found;
          const wallets = walletsOnChain(held.dids, config.chainId);
          if (!(await access.holdsConsent(wallets, requester.address, found.block))) {
            throw new AnswerAsUnknown("stranger");
          }
          throw forbidden("Only the patient and its delegates may read its access log");
        },
        () => undefined,
      );
      if (who === undefined) {
        return searchset({
          self: searchUrl(`${base}/AuditEvent`, { patient: patientId, _count: count, _before: params.get("_before") }),
          total: 0,
          entries: [],
        });
      }
      audit.details = [
        { type: "relation", value: who.relation },
        ...(who.block ? [{ type: "consent-block", value: who.block.number.toString() }] : []),
      ];
      // The pages and the total are those of the log when the first page was read (its snapshot,
      // carried by the next links): this listing's own AuditEvent, appended after it, is not in them.
      const page = await listAuditNewestFirst(store.db, patientId, {
        beforeSeq: params.has("_before") ? before : undefined,
        atSeq: params.has("_snapshot") ? snapshot : undefined,
        limit: count === 0 ? 0 : count + 1,
      });
      const more = page.entries.length > count;
      const entries = page.entries.slice(0, count);
      return searchset({
        self: searchUrl(`${base}/AuditEvent`, {
          patient: patientId,
          _count: count,
          _before: params.get("_before"),
          _snapshot: page.atSeq,
        }),
        next: more
          ? searchUrl(`${base}/AuditEvent`, {
              patient: patientId,
              _count: count,
              _before: entries.at(-1)!.seq,
              _snapshot: page.atSeq,
            })
          : undefined,
        total: page.total,
        entries: entries.map((e) => ({ fullUrl: `${base}/AuditEvent/${e.event.id}`, resource: e.event })),
      });
    });
    return sendFhir(reply, body);
  });

  app.get<{ Params: { id: string } }>("/fhir/AuditEvent/:id", { onRequest }, async (request, reply) => {
    const requester = requesterOf(request);
    const audit: AuditContext = { interaction: "read", resource: { type: "AuditEvent" } };
    const body = await ctx.audited(request, audit, async () => {
      audit.purposeOfUse = purposeOf(request);
      const id = assertValidId(request.params.id);
      audit.resource = { type: "AuditEvent", id };
      parseParams(rawQuery(request.url), []);
      const entry = await findAuditEvent(store.db, id);
      // Only entries of a patient's access log are served (to the patient and its delegates).
      if (entry === undefined || entry.patientId === null)
        throw notFound(`AuditEvent/${id} is not held by this gateway`);
      const patientId = entry.patientId;
      audit.patientId = patientId;
      // Anyone but the patient and its delegates gets the 404 of an entry not held here.
      const status = await store.patientStatus(patientId);
      if (status.kind !== "active") throw notFound(`AuditEvent/${id} is not held by this gateway`);
      const who = await access.patientOrDelegate(patientId, requester.address);
      if (who.relation === null) {
        // As the listing: a reader holding some consent of the patient learns it may not read the
        // log; anyone else gets the 404 of an entry not held here.
        const wallets = walletsOnChain(await store.listWallets(patientId), config.chainId);
        const block = who.block ?? (await chain.latestBlock());
        if (wallets.length > 0 && (await access.holdsConsent(wallets, requester.address, block))) {
          throw forbidden("Only the patient and its delegates may read its access log");
        }
        throw notFound(`AuditEvent/${id} is not held by this gateway`);
      }
      audit.details = [
        { type: "relation", value: who.relation },
        ...(who.block ? [{ type: "consent-block", value: who.block.number.toString() }] : []),
      ];
      return entry.event;
    });
    return sendFhir(reply, body);
  });

  // ---------------------------------------------------------------- $everything
  app.get<{ Params: { id: string } }>("/fhir/Patient/:id/$everything", { onRequest }, async (request, reply) => {
    const requester = requesterOf(request);
    const audit: AuditContext = { interaction: "operation", operation: "everything", resource: { type: "Patient" } };
    const body = await ctx.audited(request, audit, async () => {
      audit.purposeOfUse = purposeOf(request);
      const patientId = assertValidId(request.params.id);
      audit.patientId = patientId;
      audit.resource = { type: "Patient", id: patientId };
      const query = rawQuery(request.url);
      audit.query = query || undefined;
      const params = parseParams(query, ["_type", "_count", "_cursor"]);
      let types: CategoryName[] = [...SUPPORTED_RESOURCE_TYPES];
      const typeParam = params.get("_type");
      if (typeParam !== undefined) {
        types = typeParam.split(",").map((t) => {
          if (!isSupportedResourceType(t))
            throw badRequest(`_type: "${truncate(t)}" is not a type this gateway serves`, "_type");
          return t;
        });
      }
      const pageSize = intParam("_count", params.get("_count"), EVERYTHING_PAGE_SIZE, 1, MAX_PAGE_SIZE);
      const after = everythingCursor(params.get("_cursor"));
      const purpose = audit.purposeOfUse;
      const decision = await orAsUnknown(
        request,
        audit,
        async () => {
          const held = await heldWallets(patientId);
          return decideOrUnknown(patientId, requester, types, purpose, held.dids, emergencyReasonOf(request));
        },
        () => undefined,
      );
      if (decision === undefined) throw patientNotHeld(patientId);
      noteDecision(audit, decision);
      if (decision.allowed.length === 0) throw consentMissing(audit.purposeOfUse, decision.refused);
      const page = await store.everythingPage(patientId, decision.allowed, { count: pageSize, after });
      if (page.kind === "erased") throw patientNotHeld(patientId);
      const url = `${base}/Patient/${patientId}/$everything`;
      const selfParams = { _type: typeParam, _count: params.get("_count"), _cursor: params.get("_cursor") };
      const { entry: _none, ...head } = searchset({
        self: searchUrl(url, selfParams),
        next: page.next
          ? searchUrl(url, { _type: typeParam, _count: pageSize, _cursor: `${page.next.type}/${page.next.id}` })
          : undefined,
        total: page.total,
        entries: [],
      });
      // What is withheld is said once, on the first page.
      const withheld: OperationOutcome | undefined =
        decision.refused.length > 0 && after === undefined
          ? {
              resourceType: "OperationOutcome",
              issue: decision.refused.map((d) => ({
                severity: "information",
                code: "suppressed",
                details: {
                  text: `${d.category} (${CATEGORIES[d.category].display}) withheld: ${d.explanation} [${d.reason}]`,
                },
                expression: [d.category],
              })),
            }
          : undefined;
      function* entries(): Generator<BundleEntry> {
        if (page.kind !== "ok") return;
        for (const r of page.records()) {
          yield { fullUrl: `${base}/${r.resourceType}/${r.id}`, resource: r, search: { mode: "match" } };
        }
        if (withheld) yield { fullUrl: `urn:uuid:${randomUUID()}`, resource: withheld, search: { mode: "outcome" } };
      }
      return { head, entries };
    });
    // Decrypted and written one record at a time, after the audit is committed.
    return reply.type(FHIR_JSON).send(bundleStream(body.head, body.entries()));
  });

  // ---------------------------------------------------------------- read
  app.get<{ Params: { type: string; id: string } }>("/fhir/:type/:id", { onRequest }, async (request, reply) => {
    const requester = requesterOf(request);
    const audit: AuditContext = { interaction: "read" };
    const body = await ctx.audited(request, audit, async () => {
      const type = assertSupportedType(request.params.type);
      audit.resource = { type };
      audit.purposeOfUse = purposeOf(request);
      const id = assertValidId(request.params.id);
      audit.resource = { type, id };
      parseParams(rawQuery(request.url), []);
      // One query: the patient, its wallets and the record, which stays encrypted until access is decided.
      const where = await store.fetchSealed(type, id);
      const notHeld = () => notFound(`${type}/${id} is not held by this gateway`);
      if (where.kind !== "not-found") audit.patientId = where.patientId;
      const purpose = audit.purposeOfUse;
      const decision = await orAsUnknown(
        request,
        audit,
        async () => {
          if (where.kind === "not-found") throw new AnswerAsUnknown("unknown");
          if (where.kind === "erased") throw new AnswerAsUnknown("erased");
          return decideOrUnknown(
            where.patientId,
            requester,
            [type],
            purpose,
            where.wallets,
            emergencyReasonOf(request),
          );
        },
        () => undefined,
      );
      if (decision === undefined || where.kind !== "found") throw notHeld();
      noteDecision(audit, decision);
      if (decision.allowed.length === 0) throw consentMissing(audit.purposeOfUse, decision.refused);
      const resource = store.unseal(where.sealed);
      const vid = resource.meta?.versionId ?? "1";
      reply.header("etag", `W/"${vid}"`).header("last-modified", httpDate(resource.meta?.lastUpdated));
      return resource;
    });
    return sendFhir(reply, body);
  });

  // ---------------------------------------------------------------- search
  app.get<{ Params: { type: string } }>("/fhir/:type", { onRequest }, async (request, reply) => {
    const requester = requesterOf(request);
    const audit: AuditContext = { interaction: "search-type" };
    const body = await ctx.audited(request, audit, async () => {
      const type = assertSupportedType(request.params.type);
      audit.resource = { type };
      audit.purposeOfUse = purposeOf(request);
      const query = rawQuery(request.url);
      audit.query = query;
      const patientName = type === "Patient" ? "_id" : "patient";
      const params = parseParams(query, searchParamNames(type));
      const count = intParam("_count", params.get("_count"), DEFAULT_PAGE_SIZE, 0, MAX_PAGE_SIZE);
      const offset = intParam("_offset", params.get("_offset"), 0, 0, MAX_OFFSET);
      const identifier = params.get("identifier");
      if (identifier !== undefined) {
        // Patient?identifier=[urn:ietf:rfc:3986|]did:pkh:eip155:{chain}:{address}: the Patient linked to a wallet.
        if (params.get("_id") !== undefined)
          throw badRequest("Search Patient by _id or by identifier, not both", "identifier");
        const did = walletIdentifier(identifier);
        const found = await store.findPatientByWallet(did);
        const self = searchUrl(`${base}/Patient`, { identifier: did, _count: count, _offset: offset });
        const none = () => searchset({ self, total: 0, entries: [] });
        if (found !== undefined) audit.patientId = found;
        // Who may learn which record is linked: anyone with consent to some category of it (they
        // are about to read that category); the demographics themselves only with consent to Patient.
        const purpose = audit.purposeOfUse;
        const decision = await orAsUnknown(
          request,
          audit,
          async () => {
            if (found === undefined) throw new AnswerAsUnknown("unknown");
            const held = await heldWallets(found);
            return decideOrUnknown(
              found,
              requester,
              SUPPORTED_RESOURCE_TYPES,
              purpose,
              held.dids,
              emergencyReasonOf(request),
            );
          },
          () => undefined,
        );
        if (decision === undefined) return none();
        noteDecision(audit, decision);
        if (decision.allowed.length === 0) throw consentMissing(audit.purposeOfUse, decision.refused);
        const read = await store.getResource("Patient", found!);
        if (read.kind !== "found") return none();
        const demographics = decision.allowed.includes("Patient");
        const entries: Array<{ fullUrl: string; resource: Resource; mode?: "match" | "outcome" }> = [
          {
            fullUrl: `${base}/Patient/${found}`,
            resource: demographics
              ? read.resource
              : { resourceType: "Patient", id: found, meta: { security: [{ ...REDACTED }] } },
          },
        ];
        if (!demographics) {
          const refused = decision.refused.find((d) => d.category === "Patient");
          entries.push({
            fullUrl: `urn:uuid:${randomUUID()}`,
            mode: "outcome",
            resource: {
              resourceType: "OperationOutcome",
              issue: [
                {
                  severity: "information",
                  code: "suppressed",
                  details: {
                    text: `Patient (${CATEGORIES.Patient.display}) withheld: only the record's id is given${refused ? `: ${refused.explanation} [${refused.reason}]` : ""}`,
                  },
                  expression: ["Patient"],
                },
              ],
            },
          });
        }
        return searchset({ self, total: 1, entries });
      }
      const patientId = patientParam(patientName, params.get(patientName));
      audit.patientId = patientId;
      const self = searchUrl(`${base}/${type}`, { [patientName]: patientId, _count: count, _offset: offset });
      const none = () => searchset({ self, total: 0, entries: [] });
      const purpose = audit.purposeOfUse;
      const decision = await orAsUnknown(
        request,
        audit,
        async () => {
          const held = await heldWallets(patientId);
          return decideOrUnknown(patientId, requester, [type], purpose, held.dids, emergencyReasonOf(request));
        },
        () => undefined,
      );
      if (decision === undefined) return none();
      noteDecision(audit, decision);
      if (decision.allowed.length === 0) throw consentMissing(audit.purposeOfUse, decision.refused);
      const result = await store.search(type, { patient: patientId, _count: count, offset });
      if (result.kind === "erased") return none();
      const nextOffset = offset + count;
      return searchset({
        self,
        next:
          count > 0 && nextOffset < result.total && nextOffset <= MAX_OFFSET
            ? searchUrl(`${base}/${type}`, { [patientName]: patientId, _count: count, _offset: nextOffset })
            : undefined,
        total: result.total,
        entries: result.resources.map((r) => ({ fullUrl: `${base}/${r.resourceType}/${r.id}`, resource: r })),
      });
    });
    return sendFhir(reply, body);
  });
}

/** A Consent as a grantee sees it: the patient by its record here, not by its wallet. */
function withoutWallet(consent: Consent, patientId: string): void {
  consent.patient = { reference: `Patient/${patientId}` };
  consent.performer = [{ reference: `Patient/${patientId}` }];
}

/** The security label of a resource given without its content (HL7 v3 ObservationValue REDACTED). */
const REDACTED = {
  system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
  code: "REDACTED",
  display: "redacted",
} as const;

/** A Patient identifier search value: a wallet as did:pkh, optionally with the URI system. */
function walletIdentifier(value: string): string {
  const bar = value.indexOf("|");
  const system = bar >= 0 ? value.slice(0, bar) : undefined;
  const did = bar >= 0 ? value.slice(bar + 1) : value;
  if (system !== undefined && system !== "urn:ietf:rfc:3986") {
    throw badRequest(
      `identifier: only wallets are searched, as urn:ietf:rfc:3986|did:pkh:eip155:{chainId}:{address}`,
      "identifier",
    );
  }
  try {
    return normalizeDidPkh(did);
  } catch {
    throw badRequest(
      `identifier: "${truncate(did, 80)}" is not a wallet as did:pkh:eip155:{chainId}:{address}`,
      "identifier",
    );
  }
}
