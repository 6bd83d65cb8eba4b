/**
 * Every action a patient signs for someone else to send, in one table: its EIP-712 type, the
 * contract and `*BySig` function that takes it, the order of that function's arguments, the nonce
 * lane its signature uses, and the JSON body a relayer (a custodian's gateway, `POST /relay/{name}`)
 * receives. The app signs and posts through `signedActionTypedData` + `relayBody`; the gateway reads
 * the body back with `parseRelayBody` and calls the function with `relayCallArgs`; the tests use
 * the same three. A new signed action is one row here (and its policy row in the gateway's
 * relay/actions.ts). The prevention rows (`prevention-opt-in`, `prevention-opt-out`,
 * `prevention-withdraw`) are PreventionRewards' signed opt-in, opt-out and withdrawal.
 */
import { type Address, type Hex, getAddress, isAddress } from "viem";

import {
  type GrantMessage,
  type RegistryDomainInput,
  cancelSignaturesTypedData,
  grantTypedData,
  revokeAllTypedData,
  revokeTypedData,
} from "./eip712.ts";
import {
  type JoinMessage,
  type StudyActionMessage,
  type StudyEscrowDomainInput,
  type WithdrawMessage,
  joinTypedData,
  leaveTypedData,
  withdrawTypedData,
} from "./study.ts";
import {
  type OptInMessage,
  type PreventionDomainInput,
  type ProgrammeActionMessage,
  optInTypedData,
  optOutTypedData,
  preventionWithdrawTypedData,
} from "./prevention.ts";

/** A body field beyond `patient`, `nonce`, `deadline` and `signature`. */
type FieldKind = "address" | "bytes32" | { uint: 32 | 40 | 64 | 256 };

/**
 * Whose nonce a signature spends: the registry's Grant lane (`patientState`), its revocation lane
 * (`revocationNonce`: revoke, revoke-all and cancel-signatures, so that no grant signature can make
 * a signed revocation fail), the escrow's per-study nonce (`getParticipant(studyId, patient)`),
 * the escrow's withdrawal lane (`getParticipant(0, patient)`), PreventionRewards' per-programme
 * nonce (`getEnrolment(programmeId, patient)`), or its withdrawal lane (`getEnrolment(0, patient)`).
 * A signed opt-in also binds the registry's revocation nonce (`registryNonce`), which the contract
 * reads itself: the body does not carry it.
 */
export type NonceLane =
  "registry" | "registry-revocation" | "escrow" | "escrow-withdraw" | "programme" | "prevention-withdraw";

export interface SignedActionSpec {
  contract: "registry" | "escrow" | "prevention";
  /** The EIP-712 primary type the patient signs. */
  primaryType: string;
  /** The function a relayer calls with the signature. */
  functionName: string;
  nonce: NonceLane;
  /** The body's fields beyond patient, nonce, deadline and signature, in the order the wallet shows them. */
  fields: Readonly<Record<string, FieldKind>>;
  /** The function's arguments, by name: a field, or patient, deadline, signature. */
  args: readonly string[];
}

const uint = (bits: 32 | 40 | 64 | 256) => ({ uint: bits }) as const;

export const SIGNED_ACTIONS = {
  grant: {
    contract: "registry",
    primaryType: "Grant",
    functionName: "grantBySig",
    nonce: "registry",
    fields: { grantee: "address", categories: uint(32), purpose: uint(64), validFrom: uint(40), expiresAt: uint(40) },
    args: ["patient", "grantee", "categories", "purpose", "validFrom", "expiresAt", "deadline", "signature"],
  },
  revoke: {
    contract: "registry",
    primaryType: "Revoke",
    functionName: "revokeBySig",
    nonce: "registry-revocation",
    fields: { grantee: "address", scope: "bytes32" },
    args: ["patient", "grantee", "scope", "deadline", "signature"],
  },
  "revoke-all": {
    contract: "registry",
    primaryType: "RevokeAll",
    functionName: "revokeAllBySig",
    nonce: "registry-revocation",
    fields: {},
    args: ["patient", "deadline", "signature"],
  },
  "cancel-signatures": {
    contract: "registry",
    primaryType: "CancelSignatures",
    functionName: "cancelSignaturesBySig",
    nonce: "registry-revocation",
    fields: {},
    args: ["patient", "deadline", "signature"],
  },
  join: {
    contract: "escrow",
    primaryType: "Join",
    functionName: "joinBySig",
    nonce: "escrow",
    // The signed terms and registry nonce are not sent: the escrow holds the terms (their hash),
    // reads the patient's revocation nonce in the registry, and checks the signature against both.
    fields: { studyId: uint(256) },
    args: ["studyId", "patient", "deadline", "signature"],
  },
  leave: {
    contract: "escrow",
    primaryType: "Leave",
    functionName: "leaveBySig",
    nonce: "escrow",
    fields: { studyId: uint(256) },
    args: ["studyId", "patient", "deadline", "signature"],
  },
  withdraw: {
    contract: "escrow",
    primaryType: "Withdraw",
    functionName: "withdrawBySig",
    nonce: "escrow-withdraw",
    // The relayer the patient signs for is the sender itself: the escrow checks it, the body does not carry it.
    fields: { token: "address", fee: uint(256) },
    args: ["token", "patient", "fee", "deadline", "signature"],
  },
  "prevention-opt-in": {
    contract: "prevention",
    primaryType: "OptIn",
    functionName: "optInBySig",
    nonce: "programme",
    // Neither the terms nor the registry nonce are sent: the contract reads both and checks the signature against them.
    fields: { programmeId: uint(256) },
    args: ["programmeId", "patient", "deadline", "signature"],
  },
  "prevention-opt-out": {
    contract: "prevention",
    primaryType: "OptOut",
    functionName: "optOutBySig",
    nonce: "programme",
    fields: { programmeId: uint(256) },
    args: ["programmeId", "patient", "deadline", "signature"],
  },
  "prevention-withdraw": {
    contract: "prevention",
    primaryType: "Withdraw",
    functionName: "withdrawBySig",
    nonce: "prevention-withdraw",
    // The accounting core's withdrawal, as `withdraw` but in PreventionRewards' domain and nonce lane.
    fields: { token: "address", fee: uint(256) },
    args: ["token", "patient", "fee", "deadline", "signature"],
  },
} as const satisfies Record<string, SignedActionSpec>;

export type SignedAction = keyof typeof SIGNED_ACTIONS;

interface Signed {
  patient: Address;
  nonce: bigint;
  deadline: bigint;
}

/** What the patient signs for each action. */
export interface SignedActionMessages {
  grant: GrantMessage;
  revoke: Signed & { grantee: Address; scope: Hex };
  "revoke-all": Signed;
  "cancel-signatures": Signed;
  join: JoinMessage;
  leave: StudyActionMessage;
  withdraw: WithdrawMessage;
  "prevention-opt-in": OptInMessage;
  "prevention-opt-out": ProgrammeActionMessage;
  "prevention-withdraw": WithdrawMessage;
}

/** The contracts a signature is bound to (the EIP-712 domains' verifying contracts). */
export interface SignedActionDomain {
  chainId: number;
  registry?: Address;
  escrow?: Address;
  /** The PreventionRewards (its prevention rows). */
  prevention?: Address;
}

function registryDomain(domain: SignedActionDomain): RegistryDomainInput {
  if (!domain.registry) throw new Error("a registry action needs the ConsentRegistry's address");
  return { chainId: domain.chainId, registry: domain.registry };
}

function escrowDomain(domain: SignedActionDomain): StudyEscrowDomainInput {
  if (!domain.escrow) throw new Error("a study action needs the StudyEscrow's address");
  return { chainId: domain.chainId, escrow: domain.escrow };
}

function preventionDomain(domain: SignedActionDomain): PreventionDomainInput {
  if (!domain.prevention) throw new Error("a prevention action needs the PreventionRewards' address");
  return { chainId: domain.chainId, rewards: domain.prevention };
}

/** The typed data of each action, as viem's `signTypedData` takes it. */
export interface SignedActionTypedData {
  grant: ReturnType<typeof grantTypedData>;
  revoke: ReturnType<typeof revokeTypedData>;
  "revoke-all": ReturnType<typeof revokeAllTypedData>;
  "cancel-signatures": ReturnType<typeof cancelSignaturesTypedData>;
  join: ReturnType<typeof joinTypedData>;
  leave: ReturnType<typeof leaveTypedData>;
  withdraw: ReturnType<typeof withdrawTypedData>;
  "prevention-opt-in": ReturnType<typeof optInTypedData>;
  "prevention-opt-out": ReturnType<typeof optOutTypedData>;
  "prevention-withdraw": ReturnType<typeof preventionWithdrawTypedData>;
}

/** The typed data the wallet signs for `action` (viem's `signTypedData` / `verifyTypedData`). */
export function signedActionTypedData<A extends SignedAction>(
  action: A,
  domain: SignedActionDomain,
  message: SignedActionMessages[A],
): SignedActionTypedData[A] {
  return typedData(action, domain, message as SignedActionMessages[SignedAction]) as SignedActionTypedData[A];
}

function typedData(action: SignedAction, domain: SignedActionDomain, m: SignedActionMessages[SignedAction]) {
  switch (action) {
    case "grant":
      return grantTypedData(registryDomain(domain), m as GrantMessage);
    case "revoke":
      return revokeTypedData(registryDomain(domain), m as SignedActionMessages["revoke"]);
    case "revoke-all":
      return revokeAllTypedData(registryDomain(domain), m as Signed);
    case "cancel-signatures":
      return cancelSignaturesTypedData(registryDomain(domain), m as Signed);
    case "join":
      return joinTypedData(escrowDomain(domain), m as SignedActionMessages["join"]);
    case "leave":
      return leaveTypedData(escrowDomain(domain), m as StudyActionMessage);
    case "withdraw":
      return withdrawTypedData(escrowDomain(domain), m as WithdrawMessage);
    case "prevention-opt-in":
      return optInTypedData(preventionDomain(domain), m as OptInMessage);
    case "prevention-opt-out":
      return optOutTypedData(preventionDomain(domain), m as ProgrammeActionMessage);
    case "prevention-withdraw":
      return preventionWithdrawTypedData(preventionDomain(domain), m as WithdrawMessage);
    default:
      throw new Error(`unknown signed action ${String(action)}`);
  }
}

/** A relay request's JSON body: integers as decimal strings (JSON numbers lose precision past 2^53). */
export type RelayBody = Record<string, string>;

/** The body a relayer receives for a signed `message` (`POST /relay/{action}`). */
export function relayBody<A extends SignedAction>(
  action: A,
  message: SignedActionMessages[A],
  signature: Hex,
): RelayBody {
  const values = message as unknown as Record<string, unknown>;
  const body: RelayBody = {
    patient: message.patient,
    nonce: message.nonce.toString(),
    deadline: message.deadline.toString(),
    signature,
  };
  for (const name of Object.keys(SIGNED_ACTIONS[action].fields)) body[name] = String(values[name]);
  return body;
}

/** A relay body that does not say what it must: the field, and the sentence for the sender. */
export class RelayBodyError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "RelayBodyError";
    this.field = field;
  }
}

/** An unsigned integer field within `bits` bits (a JSON number or a decimal string). */
export function uintField(body: Readonly<Record<string, unknown>>, name: string, bits: number): bigint {
  const raw = body[name];
  let value = -1n;
  if (typeof raw === "number") value = Number.isSafeInteger(raw) ? BigInt(raw) : -1n;
  else if (typeof raw === "string" && /^[0-9]{1,78}$/.test(raw)) value = BigInt(raw);
  if (value < 0n || value >= 1n << BigInt(bits))
    throw new RelayBodyError(name, `${name} must be an unsigned ${bits}-bit integer`);
  return value;
}

/** An address field: EIP-55 checksum when mixed-case, never zero. */
export function addressField(body: Readonly<Record<string, unknown>>, name: string): Address {
  const raw = String(body[name]);
  if (!isAddress(raw, { strict: true }))
    throw new RelayBodyError(name, `${name} must be an address (with a valid EIP-55 checksum if mixed-case)`);
  if (/^0x0{40}$/i.test(raw)) throw new RelayBodyError(name, `${name} must not be the zero address`);
  return getAddress(raw);
}

function bytes32Field(body: Readonly<Record<string, unknown>>, name: string): Hex {
  const raw = body[name];
  if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(raw))
    throw new RelayBodyError(name, `${name} must be 32 bytes in hex (0x and 64 hex digits)`);
  return raw.toLowerCase() as Hex;
}

/** A relay body read back: every value checked and typed as the contract call takes it. */
export interface ParsedRelayBody {
  patient: Address;
  /** The nonce the patient signed, when the body says it (the relayer checks it before sending). */
  nonce: bigint | undefined;
  deadline: bigint;
  signature: Hex;
  /** The action's fields: addresses checksummed, integers as bigint, bytes32 lower-case. */
  fields: Record<string, Address | Hex | bigint>;
}

/** Reads and checks a relay body (throws RelayBodyError naming the first bad field). */
export function parseRelayBody(action: SignedAction, body: Readonly<Record<string, unknown>>): ParsedRelayBody {
  const fields: ParsedRelayBody["fields"] = {};
  for (const [name, kind] of Object.entries(SIGNED_ACTIONS[action].fields) as Array<[string, FieldKind]>) {
    fields[name] =
      kind === "address"
        ? addressField(body, name)
        : kind === "bytes32"
          ? bytes32Field(body, name)
          : uintField(body, name, kind.uint);
  }
  const signature = body["signature"];
  if (typeof signature !== "string" || !/^0x([0-9a-fA-F]{2})+$/.test(signature))
    throw new RelayBodyError("signature", "signature must be bytes in hex (0x and an even number of hex digits)");
  return {
    patient: addressField(body, "patient"),
    nonce: body["nonce"] === undefined ? undefined : uintField(body, "nonce", 64),
    deadline: uintField(body, "deadline", 256),
    signature: signature as Hex,
    fields,
  };
}

/** The `*BySig` call's arguments, in the contract's order (uints of 48 bits or fewer as numbers, as viem takes them). */
export function relayCallArgs(action: SignedAction, parsed: ParsedRelayBody): readonly unknown[] {
  const spec: SignedActionSpec = SIGNED_ACTIONS[action];
  return spec.args.map((name) => {
    if (name === "patient") return parsed.patient;
    if (name === "deadline") return parsed.deadline;
    if (name === "signature") return parsed.signature;
    const kind = spec.fields[name];
    const value = parsed.fields[name];
    if (kind === undefined || value === undefined) throw new Error(`${action}: argument ${name} is not a field`);
    return typeof kind === "object" && kind.uint <= 48 ? Number(value) : value;
  });
}

/** The JSON schema of a relay body (Fastify checks it before the handler runs). */
export function relayBodySchema(action: SignedAction) {
  const uintSchema = {
    anyOf: [
      { type: "integer", minimum: 0 },
      { type: "string", pattern: "^[0-9]{1,78}$" },
    ],
  } as const;
  const addressSchema = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
  const bytes32Schema = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
  const signatureSchema = { type: "string", pattern: "^0x([0-9a-fA-F]{2})+$", maxLength: 16_384 } as const;
  const fields = SIGNED_ACTIONS[action].fields as Readonly<Record<string, FieldKind>>;
  const properties: Record<string, unknown> = {
    patient: addressSchema,
    nonce: uintSchema,
    deadline: uintSchema,
    signature: signatureSchema,
  };
  for (const [name, kind] of Object.entries(fields))
    properties[name] = kind === "address" ? addressSchema : kind === "bytes32" ? bytes32Schema : uintSchema;
  return {
    type: "object",
    required: [...Object.keys(fields), "patient", "deadline", "signature"],
    additionalProperties: false,
    properties,
  } as const;
}
