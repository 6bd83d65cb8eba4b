/**
 * The relayed actions: for each of the sdk's signed actions (sdk/signed-actions.ts: what the
 * patient signs, the body `POST /relay/{name}` takes, the contract call), this gateway's policy:
 * who may use it, which hourly budget pays, the gas the gateway pays at most, and what must exist
 * for the action to do anything. routes/relay.ts serves every row the same way.
 *
 * Gas limits are per signer kind: an EOA's signature is checked by ecrecover; a contract wallet's
 * by its own `isValidSignature` (ERC-1271), whose cost the wallet chooses. The limits are the most
 * gas measured for each action (relay.test.ts, relay-budget.test.ts and relay-prevention.test.ts
 * check every relay against them; a patient's first signature costs about 17,000 more, its
 * nonce's slot going from zero)
 * with about a third more as headroom, and for contract wallets 35,000-40,000 more for the
 * wallet's own check (a minimal ERC-1271 wallet takes about 7,300): a wallet whose check burns
 * gas makes the gateway pay at most about twice an honest relay (gateway/README.md, "Relaying").
 */
import type { Abi } from "viem";
import { consentRegistryAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import {
  type ParsedRelayBody,
  RelayBodyError,
  SIGNED_ACTIONS,
  type SignedAction,
  type SignedActionSpec,
  parseRelayBody,
  uintField as sdkUintField,
} from "#sdk/signed-actions.ts";
import { badRequest } from "../fhir/outcomes.ts";

/** Which hourly budget pays: revocations have their own, served first; the rest share what is left. */
export type RelayBudget = "revocation" | "shared";

/** What must exist for the action to change anything (checked before sending). */
export type RelayEffect =
  /** Nothing beyond what the contract checks (its simulation refuses what cannot succeed). */
  | "simulation"
  /** A grant of the patient in force at its current epoch (revoke-all: something to revoke). */
  | "grant-in-force";

/**
 * This gateway's policy for one signed action; what is signed, the contract call and the body's
 * fields are the sdk's (sdk/signed-actions.ts, SIGNED_ACTIONS).
 */
export interface RelayPolicy {
  /** Relayed only for patients linked here (what it names in the refusal), or for anyone. */
  linkedOnly: string | null;
  /**
   * Prevention opt-ins: relayed only into programmes that list this gateway's custodian among
   * those that confirm (the custodian pays gas only for programmes it serves).
   */
  servedProgrammesOnly?: true;
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

/** A relayed action: the sdk's signed action and this gateway's policy for it. */
export type RelayActionSpec = SignedActionSpec & RelayPolicy;

const POLICIES = {
  grant: {
    linkedOnly: "Grants",
    budget: "shared",
    effect: "simulation",
    gasLimit: { eoa: 110_000n, contractWallet: 150_000n },
  },
  revoke: {
    linkedOnly: null,
    budget: "revocation",
    effect: "simulation",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  "revoke-all": {
    linkedOnly: null,
    budget: "revocation",
    effect: "grant-in-force",
    nothingToDo: "nothing to revoke: the patient has no consent in force",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  "cancel-signatures": {
    linkedOnly: null,
    budget: "revocation",
    effect: "grant-in-force",
    nothingToDo: "nothing to cancel: the patient has no consent in force that a signature could change",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  join: {
    linkedOnly: "Study joins",
    budget: "shared",
    effect: "simulation",
    gasLimit: { eoa: 160_000n, contractWallet: 200_000n },
    attested: { functionName: "joinBySigAttested", gasLimit: { eoa: 190_000n, contractWallet: 230_000n } },
  },
  leave: {
    linkedOnly: null,
    budget: "revocation",
    effect: "simulation",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  withdraw: {
    // Anyone's: the patient pays the gateway's price out of the withdrawal.
    linkedOnly: null,
    budget: "shared",
    effect: "simulation",
    priced: true,
    gasLimit: { eoa: 130_000n, contractWallet: 170_000n },
  },
  "prevention-opt-in": {
    linkedOnly: "Prevention opt-ins",
    servedProgrammesOnly: true,
    budget: "shared",
    effect: "simulation",
    gasLimit: { eoa: 170_000n, contractWallet: 210_000n },
  },
  "prevention-opt-out": {
    // Leaving is never blocked: anyone's, from the revocations' budget (as a study's leave).
    linkedOnly: null,
    budget: "revocation",
    effect: "simulation",
    gasLimit: { eoa: 75_000n, contractWallet: 110_000n },
  },
  "prevention-withdraw": {
    // As a study withdrawal: anyone's, for the gateway's price out of the withdrawal.
    linkedOnly: null,
    budget: "shared",
    effect: "simulation",
    priced: true,
    gasLimit: { eoa: 130_000n, contractWallet: 170_000n },
  },
} as const satisfies Record<SignedAction, RelayPolicy>;

export const RELAY_ACTIONS = Object.fromEntries(
  (Object.keys(SIGNED_ACTIONS) as SignedAction[]).map((name) => [
    name,
    { ...SIGNED_ACTIONS[name], ...POLICIES[name] } as RelayActionSpec,
  ]),
) as { [A in SignedAction]: (typeof SIGNED_ACTIONS)[A] & (typeof POLICIES)[A] };

/** The sdk's reading of a body field, a bad one as a 400 naming it. */
function checked<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof RelayBodyError) throw badRequest(error.message, error.field);
    throw error;
  }
}

/** A relay body read and checked by the sdk's codec; a bad field is a 400 naming it. */
export const parseBody = (action: SignedAction, body: Readonly<Record<string, unknown>>): ParsedRelayBody =>
  checked(() => parseRelayBody(action, body));

/** An unsigned integer body field within `bits` bits; a bad one is a 400 naming it. */
export const uintField = (body: Readonly<Record<string, unknown>>, name: string, bits: number): bigint =>
  checked(() => sdkUintField(body, name, bits));

export type RelayAction = SignedAction;

/** The ABI of a row's contract. */
export function abiOf(spec: RelayActionSpec): Abi {
  if (spec.contract === "prevention") return preventionRewardsAbi;
  return spec.contract === "registry" ? consentRegistryAbi : studyEscrowAbi;
}
