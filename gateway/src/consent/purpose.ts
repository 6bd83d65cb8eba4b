/**
 * The purpose of use every read states, in the `X-Purpose-Of-Use` header: an HL7 v3
 * PurposeOfUse code (`TREAT`, `ETREAT`, `HPAYMT`, `HOPERAT`, `PUBHLTH`, `HRESCH`) or a GA4GH DUO
 * research code (`DUO:0000042`, `DUO:0000006`), optionally as a FHIR token `system|code`. The
 * codes are the sdk's one table.
 */
import { PURPOSES, type PurposeName } from "#sdk/codes.ts";
import { badRequest } from "../fhir/outcomes.ts";
import { truncate } from "../fhir/resources.ts";

export const PURPOSE_HEADER = "x-purpose-of-use";
/** As written in documentation and CORS headers. */
export const PURPOSE_HEADER_NAME = "X-Purpose-Of-Use";
/** The break-glass reason of an emergency read (sdk `EMERGENCY_REASON_HEADER_NAME`), lower-case as Node gives it. */
export const EMERGENCY_REASON_HEADER = "x-emergency-reason";

/** Purposes a read may state: DS (disease-specific research) needs a disease code a header cannot carry. */
export const READ_PURPOSES = (Object.keys(PURPOSES) as PurposeName[]).filter((p) => p !== "DS");

const BY_CODE = new Map<string, PurposeName>(READ_PURPOSES.map((p) => [PURPOSES[p].code, p]));

/** The purpose named by the header, or a 400 OperationOutcome naming the header. */
export function parsePurposeOfUse(value: string | string[] | undefined): PurposeName {
  const known = READ_PURPOSES.map((p) => PURPOSES[p].code).join(", ");
  if (value === undefined || (typeof value === "string" && value.trim() === "")) {
    throw badRequest(
      `Missing ${PURPOSE_HEADER_NAME} header: state the purpose of use (one of ${known})`,
      PURPOSE_HEADER_NAME,
    );
  }
  if (Array.isArray(value) || value.includes(",")) {
    throw badRequest(`${PURPOSE_HEADER_NAME} must state exactly one purpose of use`, PURPOSE_HEADER_NAME);
  }
  const raw = value.trim();
  const bar = raw.lastIndexOf("|");
  const system = bar >= 0 ? raw.slice(0, bar) : undefined;
  const code = bar >= 0 ? raw.slice(bar + 1) : raw;
  const purpose = BY_CODE.get(code);
  if (purpose === undefined || (system !== undefined && system !== PURPOSES[purpose].system)) {
    if (code === PURPOSES.DS.code) {
      throw badRequest(
        `${PURPOSE_HEADER_NAME}: ${PURPOSES.DS.code} (disease-specific research) needs a disease code, which reads cannot state`,
        PURPOSE_HEADER_NAME,
      );
    }
    throw badRequest(
      `${PURPOSE_HEADER_NAME}: unknown purpose of use "${truncate(raw, 80)}" (use one of ${known})`,
      PURPOSE_HEADER_NAME,
    );
  }
  return purpose;
}
