/**
 * The vocabulary of Consentry, written once. `contracts/libraries/ConsentCodes.sol` mirrors these
 * numbers; `sdk/codes.test.ts` proves both sides agree.
 *
 * Purposes are HL7 v3 PurposeOfUse codes; research uses are GA4GH DUO codes under HL7 HRESCH.
 * On-chain a purpose is a uint64: bits 0-7 the code, bits 8-15 flags, bits 16-47 a disease code
 * (DUO DS only). On a grant the flags are DUO restrictions (NCU, NPU); on a use they describe the
 * use (commercial, for-profit); a use passes only if no restriction of the grant is hit.
 */
import { type Address, type Hex, bytesToHex, encodeAbiParameters, keccak256 } from "viem";

export const HL7_PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
export const DUO_SYSTEM = "http://purl.obolibrary.org/obo/duo.owl";

export const PURPOSES = {
  TREAT: { id: 1, system: HL7_PURPOSE_SYSTEM, code: "TREAT", display: "treatment", parent: null, kind: "PROVIDER" },
  ETREAT: {
    id: 2,
    system: HL7_PURPOSE_SYSTEM,
    code: "ETREAT",
    display: "emergency treatment",
    parent: "TREAT",
    kind: "PROVIDER",
  },
  HPAYMT: {
    id: 3,
    system: HL7_PURPOSE_SYSTEM,
    code: "HPAYMT",
    display: "healthcare payment",
    parent: null,
    kind: "PAYER",
  },
  HOPERAT: {
    id: 4,
    system: HL7_PURPOSE_SYSTEM,
    code: "HOPERAT",
    display: "healthcare operations",
    parent: null,
    kind: "PROVIDER",
  },
  PUBHLTH: {
    id: 5,
    system: HL7_PURPOSE_SYSTEM,
    code: "PUBHLTH",
    display: "public health",
    parent: null,
    kind: "PUBLIC_HEALTH",
  },
  HRESCH: {
    id: 6,
    system: HL7_PURPOSE_SYSTEM,
    code: "HRESCH",
    display: "any research",
    parent: null,
    kind: "RESEARCHER",
  },
  GRU: {
    id: 7,
    system: DUO_SYSTEM,
    code: "DUO:0000042",
    display: "general research use",
    parent: "HRESCH",
    kind: "RESEARCHER",
  },
  HMB: {
    id: 8,
    system: DUO_SYSTEM,
    code: "DUO:0000006",
    display: "health, medical and biomedical research",
    parent: "GRU",
    kind: "RESEARCHER",
  },
  DS: {
    id: 9,
    system: DUO_SYSTEM,
    code: "DUO:0000007",
    display: "research on a specific disease",
    parent: "HMB",
    kind: "RESEARCHER",
  },
} as const;
export type PurposeName = keyof typeof PURPOSES;

/** DUO modifiers: restrictions on a grant, properties of a use (same bits). */
export const PURPOSE_FLAGS = {
  NCU: { bit: 1, code: "DUO:0000046", display: "non-commercial use only", use: "commercial use" },
  NPU: { bit: 2, code: "DUO:0000045", display: "not-for-profit use only", use: "for-profit use" },
} as const;
export type PurposeFlagName = keyof typeof PURPOSE_FLAGS;

/** Data categories: FHIR R4 resource types as in SMART v2 scopes, one bit each. */
export const CATEGORIES = {
  Patient: { bit: 0, display: "demographics" },
  Observation: { bit: 1, display: "lab results and vital signs" },
  Condition: { bit: 2, display: "conditions" },
  MedicationRequest: { bit: 3, display: "medications" },
  AllergyIntolerance: { bit: 4, display: "allergies" },
  Immunization: { bit: 5, display: "immunizations" },
  Procedure: { bit: 6, display: "procedures" },
  DiagnosticReport: { bit: 7, display: "diagnostic reports" },
  DocumentReference: { bit: 8, display: "documents" },
  Encounter: { bit: 9, display: "visits" },
} as const;
export type CategoryName = keyof typeof CATEGORIES;
export const CATEGORY_NAMES = Object.keys(CATEGORIES) as CategoryName[];
export const ALL_CATEGORIES_MASK = (1 << CATEGORY_NAMES.length) - 1;

export const KINDS = { PROVIDER: 1, RESEARCHER: 2, PAYER: 3, PUBLIC_HEALTH: 4 } as const;
export type KindName = keyof typeof KINDS;

/** The kind of organization in words ("a healthcare provider"). */
export const KIND_WORDS: Record<KindName, string> = {
  PROVIDER: "healthcare provider",
  RESEARCHER: "research organization",
  PAYER: "payer",
  PUBLIC_HEALTH: "public-health body",
};

/** Member roles; 0 is the organization's own address. */
export const ROLES = { ORGANIZATION: 0, ADMIN: 1, CLINICIAN: 2, GATEWAY: 3, ANALYST: 4 } as const;
export type RoleName = keyof typeof ROLES;

export const ORGANIZATION_STATUS = { None: 0, Active: 1, Suspended: 2 } as const;

export const EMERGENCY_REASONS = {
  1: "Patient unconscious or unable to consent",
  2: "Life-threatening condition",
  3: "Urgent medication or allergy check",
  4: "Other documented clinical emergency",
} as const;
export type EmergencyReasonCode = keyof typeof EMERGENCY_REASONS;

/**
 * A break-glass reason as the clinician's console keeps it: the code and the random salt of its
 * commitment. Neither reaches the chain (a watcher would learn why the patient needed emergency
 * care): the registry holds `emergencyReasonCommitment` of them, and the console sends both to the
 * custodian's gateway with each emergency read (`EMERGENCY_REASON_HEADER_NAME`), which checks them
 * against the commitment and writes the reason into the patient's access log.
 */
export interface EmergencyReason {
  reasonCode: EmergencyReasonCode;
  /** 32 random bytes, new for each opening (`newEmergencyReasonSalt`). */
  salt: Hex;
}

/** The request header of an emergency read: `<reason code>;<salt>` (`formatEmergencyReason`). */
export const EMERGENCY_REASON_HEADER_NAME = "X-Emergency-Reason";

/** A fresh 32-byte salt. Without one, the few reason codes are found by hashing each. */
export function newEmergencyReasonSalt(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The registry's commitment to a break-glass reason: keccak256(abi.encode(chainid, registry,
 * patient, organization, uint16 reasonCode, bytes32 salt)) (`IConsentRegistry.openEmergencyAccess`).
 */
export function emergencyReasonCommitment(
  at: { chainId: number | bigint; registry: Address; patient: Address; organization: Address },
  reason: EmergencyReason,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "uint256" },
        { type: "address" },
        { type: "address" },
        { type: "address" },
        { type: "uint16" },
        { type: "bytes32" },
      ],
      [BigInt(at.chainId), at.registry, at.patient, at.organization, reason.reasonCode, reason.salt],
    ),
  );
}

/** The header value of `reason`: `<code>;<salt>`. */
export function formatEmergencyReason(reason: EmergencyReason): string {
  return `${reason.reasonCode};${reason.salt}`;
}

/** `formatEmergencyReason`'s value read back; null when it is not one (unknown code, bad salt). */
export function parseEmergencyReason(value: string | undefined): EmergencyReason | null {
  const match = /^\s*([0-9]{1,2})\s*;\s*(0x[0-9a-fA-F]{64})\s*$/.exec(value ?? "");
  if (!match) return null;
  const code = Number(match[1]);
  if (!(code in EMERGENCY_REASONS)) return null;
  return { reasonCode: code as EmergencyReasonCode, salt: match[2]!.toLowerCase() as Hex };
}

/** What the chain tells of a break-glass reason: only that the custodians hold it. */
export const EMERGENCY_REASON_ON_CHAIN = "held by the custodians (only its commitment is on-chain)";

/** `IConsentRegistry.Reason`, in order, with a sentence for people. */
export const CONSENT_REASONS = [
  { name: "Allowed", text: "a grant covers this use" },
  { name: "EmergencyAccess", text: "emergency (break-glass) access is open" },
  { name: "UnknownGrantee", text: "the reader is not an accredited organization or one of its members" },
  { name: "OrganizationSuspended", text: "the organization is suspended" },
  { name: "WrongOrganizationKind", text: "this kind of organization cannot receive this purpose" },
  { name: "WrongMemberRole", text: "the member's role does not allow this purpose" },
  { name: "InvalidPurpose", text: "the purpose is not a valid purpose of use" },
  { name: "NoGrant", text: "no grant exists (never given, or revoked)" },
  { name: "RevokedByRevokeAll", text: "the patient revoked all consents" },
  { name: "NotYetValid", text: "the grant has not started yet" },
  { name: "Expired", text: "the grant has expired" },
  { name: "CategoryNotGranted", text: "this category of data is not part of the grant" },
  { name: "PurposeNotCovered", text: "the grant does not cover this purpose" },
] as const;
export type ConsentReasonName = (typeof CONSENT_REASONS)[number]["name"];

export interface PurposeSpec {
  purpose: PurposeName;
  /** DUO DS only: the disease (e.g. a MONDO number). */
  disease?: number;
  flags?: PurposeFlagName[];
}

/** Encodes a purpose as the uint64 the contracts take. Throws on a malformed one. */
export function encodePurpose(spec: PurposeSpec | PurposeName): bigint {
  const { purpose, disease = 0, flags = [] } = typeof spec === "string" ? { purpose: spec } : spec;
  const entry = PURPOSES[purpose];
  if (!entry) throw new Error(`unknown purpose ${String(purpose)}`);
  if (!Number.isInteger(disease) || disease < 0 || disease > 0xffffffff) throw new Error(`bad disease code ${disease}`);
  if ((purpose === "DS") !== disease > 0) throw new Error("a disease code is required for DS and only for DS");
  if (flags.length > 0 && entry.kind !== "RESEARCHER") throw new Error("DUO modifiers apply to research purposes only");
  let bits = 0;
  for (const f of flags) {
    const flag = PURPOSE_FLAGS[f];
    if (!flag) throw new Error(`unknown purpose flag ${String(f)}`);
    bits |= flag.bit;
  }
  return BigInt(entry.id) | (BigInt(bits) << 8n) | (BigInt(disease) << 16n);
}

/** Decodes an on-chain uint64 purpose; null when it is not a valid one. */
export function decodePurpose(value: bigint): Required<PurposeSpec> | null {
  const id = Number(value & 0xffn);
  const bits = Number((value >> 8n) & 0xffn);
  const disease = Number((value >> 16n) & 0xffffffffn);
  const name = (Object.keys(PURPOSES) as PurposeName[]).find((n) => PURPOSES[n].id === id);
  if (!name || value >> 48n !== 0n || (bits & ~3) !== 0) return null;
  if (bits !== 0 && PURPOSES[name].kind !== "RESEARCHER") return null;
  if ((name === "DS") !== disease > 0) return null;
  const flags = (Object.keys(PURPOSE_FLAGS) as PurposeFlagName[]).filter((f) => (bits & PURPOSE_FLAGS[f].bit) !== 0);
  return { purpose: name, disease, flags };
}

/** Looks a purpose up by its HL7 or DUO code ("TREAT", "DUO:0000042") or name ("GRU"). */
export function purposeByCode(code: string): PurposeName | null {
  if (code in PURPOSES) return code as PurposeName;
  const found = (Object.keys(PURPOSES) as PurposeName[]).find((n) => PURPOSES[n].code === code);
  return found ?? null;
}

/** The scope of a direct grant of a purpose without a disease: its purpose code as bytes32. */
export function purposeScope(purpose: PurposeName): `0x${string}` {
  return `0x${PURPOSES[purpose].id.toString(16).padStart(64, "0")}`;
}

/**
 * The scope of a direct grant of an encoded purpose: the purpose without its restriction flags,
 * so the code and, for DS, the disease (a DS grant for one disease is another grant than one for
 * another disease; a grant's restriction flags are terms of the same grant, not another one).
 */
export function grantScope(purpose: bigint): `0x${string}` {
  return `0x${(purpose & 0xffffffff00ffn).toString(16).padStart(64, "0")}`;
}

export function categoriesToMask(categories: readonly CategoryName[]): number {
  let mask = 0;
  for (const c of categories) {
    const entry = CATEGORIES[c];
    if (!entry) throw new Error(`unknown category ${String(c)}`);
    mask |= 1 << entry.bit;
  }
  return mask;
}

export function maskToCategories(mask: number): CategoryName[] {
  return CATEGORY_NAMES.filter((c) => (mask & (1 << CATEGORIES[c].bit)) !== 0);
}

export function categoryIndex(category: CategoryName): number {
  const entry = CATEGORIES[category];
  if (!entry) throw new Error(`unknown category ${String(category)}`);
  return entry.bit;
}

export function isCategoryName(value: string): value is CategoryName {
  return Object.hasOwn(CATEGORIES, value);
}

/** Plain words for a grant's scope: "lab results and vital signs and conditions, for treatment". */
export function describeScope(categoriesMask: number, purpose: bigint): string {
  const names = maskToCategories(categoriesMask).map((c) => CATEGORIES[c].display);
  const what =
    names.length === CATEGORY_NAMES.length
      ? "all of your records"
      : names.length <= 1
        ? (names[0] ?? "nothing")
        : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  const decoded = decodePurpose(purpose);
  if (!decoded) return `${what}, for an unknown purpose`;
  let why = `for ${PURPOSES[decoded.purpose].display}`;
  if (decoded.purpose === "DS") why += ` (disease ${decoded.disease})`;
  for (const f of decoded.flags) why += `, ${PURPOSE_FLAGS[f].display}`;
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}, ${why}`;
}
