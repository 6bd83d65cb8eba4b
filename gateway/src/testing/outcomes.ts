/** Assertions on the gateway's answers, for its tests. */
import type { OperationOutcome } from "@medplum/fhirtypes";
import { expect } from "chai";
import type { LightMyRequestResponse } from "fastify";

/** The answer has `status` and an OperationOutcome whose texts (details and diagnostics) match `text`. */
export function said(res: LightMyRequestResponse, status: number, text: RegExp): OperationOutcome {
  expect(res.statusCode, res.body.slice(0, 600)).to.equal(status);
  const body = res.json() as OperationOutcome;
  expect(body.resourceType).to.equal("OperationOutcome");
  expect((body.issue ?? []).map((i) => `${i.details?.text} ${i.diagnostics ?? ""}`).join("\n")).to.match(text);
  return body;
}
