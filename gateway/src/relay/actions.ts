/**
 * The relayed actions, one row each: the route (`POST /relay/{name}`), the body fields beyond
 * `patient`, `deadline`, `signature` and `nonce`, the contract call, who may use it, which hourly
 * budget pays, the gas the gateway pays at most, and what must exist for the action to do
 * anything. routes/relay.ts serves every row the same way; a new relayed action is one row.
 *
 * Gas limits are per signer kind: an EOA's signature is checked by ecrecover; a contract wallet's
 * by its own `isValidSignature` (ERC-1271), whose cost the wallet chooses. The limits are the most
 * gas measured for each action (relay.test.ts and relay-budget.test.ts check every relay against
 * them; a patient's first signature costs about 17,000 more, its nonce's slot going from zero)
 * with about a third more as headroom, and for contract wallets 35,000-40,000 more for the
 * wallet's own check (a minimal ERC-1271 wallet takes about 7,300): a wallet whose check burns
 * gas makes the gateway pay at most about twice an honest relay (gateway/README.md, "Relaying").
 */
import type { Abi, Address, Hex } from "viem";
import { getAddress, isAddress } from "viem/utils";
import { consentRegistryAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { badRequest } from "../fhir/outcomes.ts";

/** Which hourly budget pays: revocations have their own, served first; the rest share what is left. */
export type RelayBudget = "revocation" | "shared";

/** What must exist for the action to change anything (checked before sending). */
export type RelayEffect =
  /** Nothing beyond what the contract checks (its simulation refuses what cannot succeed). */
  | "simulation"
  /** A grant of the patient in force at its current epoch (revoke-all: something to revoke). */
  | "grant-in-force";

export type Body = Record<string, string | number | undefined>;

/** An unsigned integer field within `bits` bits. */
export function uintField(body: Body, name: string, bits: number): bigint {
  const raw = body[name];
  const value = typeof raw === "number" ? (Number.isSafeInteger(raw) ? BigInt(raw) : -1n) : BigInt(String(raw));
  if (value < 0n || value >= 1n << BigInt(bits))
    throw badRequest(`${name} must be an unsigned ${bits}-bit integer`, name);
  return value;
}

/** An address field: EIP-55 checksum when mixed-case, never zero. */
export function addressField(body: Body, name: string): Address {
  const raw = String(body[name]);
  if (!isAddress(raw, { strict: true }))
    throw badRequest(`${name} must be an address (with a valid EIP-55 checksum if mixed-case)`, name);
  if (/^0x0{40}$/i.test(raw)) throw badRequest(`${name} must not be the zero address`, name);
  return getAddress(raw);
}

const uint = {
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^[0-9]{1,78}$" },
  ],
} as const;
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
const bytes32 = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;

export interface RelayActionSpec {
  /** The contract the call goes to (the escrow only when configured: 501 otherwise). */
  contract: "registry" | "escrow";
  functionName: string;
  /** JSON-schema properties of the fields beyond patient, deadline, signature and nonce (all required). */
  fields: Record<string, unknown>;
  /** The call's arguments from the checked body. */
  args(body: Body, patient: Address): readonly unknown[];
  /**
   * The nonce a `nonce` field is checked against: the registry's Grant lane (`patientState`), its
   * revocation lane (`revocationNonce`: revoke, revoke-all, cancel-signatures, so that no grant
   * signature can make a signed revocation fail), the escrow's for `studyId`, or the escrow's
   * withdrawal lane (`getParticipant(0, patient)`).
   */
  nonce: "registry" | "registry-revocation" | "escrow" | "escrow-withdraw";
  /** Relayed only for patients linked here (what it names in the refusal), or for anyone. */
  linkedOnly: string | null;
  budget: RelayBudget;
  effect: RelayEffect;
  /** In words, when the effect is missing ("nothing to revoke"). */
  nothingToDo?: string;
  /** The most gas the gateway pays for it, per signer kind. */
  gasLimit: { eoa: bigint; contractWallet: bigint };
  /** Its `fee` field must be at least this gateway's price (GATEWAY_RELAY_WITHDRAW_FEE). */
  priced?: true;
  /**
   * For a study created with `attestedEnrolment` (joins only): the gateway adds its own
   * attestation that it holds the (linked) patient and calls this function instead, with this limit.
   */
  attested?: { functionName: string; gasLimit: { eoa: bigint; contractWallet: bigint } };
}

const deadline = (body: Body) => uintField(body, "deadline", 256);
const signature = (body: Body) => body["signature"] as Hex;

export const RELAY_ACTIONS = {
  grant: {
    contract: "registry",
    functionName: "grantBySig",
    fields: { grantee: address, categories: uint, purpose: uint, validFrom: uint, expiresAt: uint },
    args: (body, patient) => [
      patient,
      addressField(body, "grantee"),
      Number(uintField(body, "categories", 32)),
      uintField(body, "purpose", 64),
      Number(uintField(body, "validFrom", 40)),
      Number(uintField(body, "expiresAt", 40)),
      deadline(body),
      signature(body),
    ],
    nonce: "registry",
    linkedOnly: "Grants",
    budget: "shared",
    effect: "simulation",
    gasLimit: { eoa: 110_000n, contractWallet: 150_000n },
  },
  revoke: {
    contract: "registry",
    functionName: "revokeBySig",
    fields: { grantee: address, scope: bytes32 },
    args: (body, patient) => [
      patient,
      addressField(body, "grantee"),
      body["scope"] as Hex,
      deadline(body),
      signature(body),
    ],
    nonce: "registry-revocation",
    linkedOnly: null,
    budget: "revocation",
    effect: "simulation",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  "revoke-all": {
    contract: "registry",
    functionName: "revokeAllBySig",
    fields: {},
    args: (body, patient) => [patient, deadline(body), signature(body)],
    nonce: "registry-revocation",
    linkedOnly: null,
    budget: "revocation",
    effect: "grant-in-force",
    nothingToDo: "nothing to revoke: the patient has no consent in force",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  "cancel-signatures": {
    contract: "registry",
    functionName: "cancelSignaturesBySig",
    fields: {},
    args: (body, patient) => [patient, deadline(body), signature(body)],
    nonce: "registry-revocation",
    linkedOnly: null,
    budget: "revocation",
    effect: "grant-in-force",
    nothingToDo: "nothing to cancel: the patient has no consent in force that a signature could change",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  join: {
    contract: "escrow",
    functionName: "joinBySig",
    fields: { studyId: uint },
    args: (body, patient) => [uintField(body, "studyId", 256), patient, deadline(body), signature(body)],
    nonce: "escrow",
    linkedOnly: "Study joins",
    budget: "shared",
    effect: "simulation",
    gasLimit: { eoa: 160_000n, contractWallet: 200_000n },
    attested: { functionName: "joinBySigAttested", gasLimit: { eoa: 190_000n, contractWallet: 230_000n } },
  },
  leave: {
    contract: "escrow",
    functionName: "leaveBySig",
    fields: { studyId: uint },
    args: (body, patient) => [uintField(body, "studyId", 256), patient, deadline(body), signature(body)],
    nonce: "escrow",
    linkedOnly: null,
    budget: "revocation",
    effect: "simulation",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  withdraw: {
    contract: "escrow",
    functionName: "withdrawBySig",
    fields: { token: address, fee: uint },
    args: (body, patient) => [
      addressField(body, "token"),
      patient,
      uintField(body, "fee", 256),
      deadline(body),
      signature(body),
    ],
    nonce: "escrow-withdraw",
    // Anyone's: the patient pays the gateway's price out of the withdrawal.
    linkedOnly: null,
    budget: "shared",
    effect: "simulation",
    priced: true,
    gasLimit: { eoa: 130_000n, contractWallet: 170_000n },
  },
} as const satisfies Record<string, RelayActionSpec>;

export type RelayAction = keyof typeof RELAY_ACTIONS;

/** The ABI of a row's contract. */
export function abiOf(spec: RelayActionSpec): Abi {
  return spec.contract === "registry" ? consentRegistryAbi : studyEscrowAbi;
}

/** The request body's JSON schema of a row. */
export function bodySchemaOf(spec: RelayActionSpec) {
  const signatureField = { type: "string", pattern: "^0x([0-9a-fA-F]{2})+$", maxLength: 16_384 } as const;
  return {
    type: "object",
    required: [...Object.keys(spec.fields), "patient", "deadline", "signature"],
    additionalProperties: false,
    properties: { patient: address, deadline: uint, signature: signatureField, nonce: uint, ...spec.fields },
  } as const;
}
