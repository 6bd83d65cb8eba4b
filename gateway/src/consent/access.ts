/**
 * Who may read a patient's data, decided before any record leaves the gateway:
 *
 * - the patient itself: the requester is one of the wallets linked to that Patient here;
 * - a current delegate of the patient (guardian, caregiver): the registry's delegateExpiry of
 *   one of the patient's wallets and the requester lies after the block's time;
 * - anyone else only with consent: the sdk's verifyConsent for (patient wallet, requester,
 *   category, purpose), per category touched — allowed through a grant, or through break-glass
 *   emergency access (reason EmergencyAccess, which the audit marks).
 *
 * Every chain read of one decision is made at one block, the chain's latest, fetched fresh for
 * each request, so the first read after a revocation, suspension or expiry is mined is refused.
 * What a read returned is remembered for that block only, by the block's hash ({@link BlockMemo}):
 * the same read at the same block gives the same answer, so requests served from the memo are
 * decided exactly as if the chain had been read again, and a new block (or a reorg) reads afresh.
 * A grant whose end has passed by the gateway's own clock is refused as well, even while the chain
 * has produced no block since.
 */
import { type Address, type Hex, isAddressEqual } from "viem";
import { encodeAbiParameters, keccak256 } from "viem/utils";
import {
  CATEGORIES,
  EMERGENCY_REASON_HEADER_NAME,
  PURPOSES,
  emergencyReasonCommitment,
  encodePurpose,
  type EmergencyReason,
  type EmergencyReasonCode,
  type CategoryName,
  type ConsentReasonName,
  type PurposeName,
  type PurposeSpec,
} from "#sdk/codes.ts";
import { verifyConsent, type ConsentDecision } from "#sdk/consent.ts";
import { isDidPkh, parseDidPkh } from "#sdk/did-pkh.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import type { BlockRef, GatewayChain } from "../chain/chain.ts";
import { toChainError } from "../chain/revert.ts";
import { OperationOutcomeError, forbidden } from "../fhir/outcomes.ts";
import type { Store } from "../store/store.ts";

export type Relation = "patient" | "delegate" | "reader";

export interface CategoryDecision {
  category: CategoryName;
  allowed: boolean;
  /** Allowed through break-glass emergency access. */
  emergency: boolean;
  reason: ConsentReasonName | "Patient" | "Delegate" | "EmergencyReasonMissing";
  explanation: string;
  /** Until when (unix seconds), when allowed through consent. */
  expiresAt: number | null;
}

export interface AccessDecision {
  relation: Relation;
  /** The block every chain read was made at (null for the patient itself: nothing to read). */
  block: BlockRef | null;
  /** The patient's wallets on this chain. */
  wallets: Address[];
  decisions: CategoryDecision[];
  allowed: CategoryName[];
  refused: CategoryDecision[];
  /** Some category is allowed only through emergency access. */
  emergency: boolean;
  /**
   * The break-glass reason the read gave (X-Emergency-Reason), checked against the registry's
   * commitment: set whenever `emergency` is (an emergency read without it is refused).
   */
  emergencyReason?: EmergencyReasonCode | undefined;
}

/**
 * The use a read makes of the data, as the contract's check takes it: the stated purpose alone.
 * Its use flags (commercial, for-profit), which a grant's DUO restrictions (NCU: non-commercial
 * use only, NPU: not-for-profit use only) are checked against, are not the reader's to state: the
 * registry takes them from governance's record of the reader's organization (`useProfile`; no
 * record: commercial and for-profit), through the sdk's `verifyConsent`.
 */
export function readUse(purpose: PurposeName): PurposeSpec {
  return { purpose };
}

/** The registry's grant id of (patient, grantee, purpose scope): keccak256(patient ‖ grantee ‖ scope), words. */
function grantIdOf(patient: Address, grantee: Address, purposeId: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "address" }, { type: "address" }, { type: "uint256" }],
      [patient, grantee, BigInt(purposeId)],
    ),
  );
}

/** did:pkh:eip155:{chainId}:{address} → address, for this chain only. */
export function walletsOnChain(dids: readonly string[], chainId: number): Address[] {
  return dids.flatMap((d) => {
    if (!isDidPkh(d)) return [];
    const account = parseDidPkh(d);
    return account.chainId === chainId ? [account.address] : [];
  });
}

/** The 403 for refused categories: one issue per category, naming the purpose and the sdk's reason. */
export function consentMissing(purpose: PurposeName, refused: readonly CategoryDecision[]): OperationOutcomeError {
  const p = PURPOSES[purpose];
  return new OperationOutcomeError(403, {
    resourceType: "OperationOutcome",
    issue: refused.map((d) => ({
      severity: "error" as const,
      code: "forbidden" as const,
      details: {
        text: `No consent for ${d.category} (${CATEGORIES[d.category].display}) for purpose ${p.code} (${p.display}): ${d.explanation} [${d.reason}]`,
      },
      diagnostics: d.reason,
      expression: [d.category],
    })),
  });
}

/**
 * Chain reads remembered per block: a view call's answer at a given block (by hash) never changes,
 * so a decision made from the memo is the decision the chain would give again. Only the newest
 * `maxBlocks` blocks are kept, each with at most `maxEntries` answers; a failed read is forgotten.
 */
export class BlockMemo {
  readonly #blocks = new Map<Hex, Map<string, Promise<unknown>>>();
  readonly #maxBlocks: number;
  readonly #maxEntries: number;

  constructor(options: { maxBlocks?: number; maxEntries?: number } = {}) {
    this.#maxBlocks = options.maxBlocks ?? 4;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  /** `read()`'s answer at `block`, read once per block and key (concurrent requests share it). */
  get<T>(block: BlockRef, key: string, read: () => Promise<T>): Promise<T> {
    let answers = this.#blocks.get(block.hash);
    if (!answers) {
      answers = new Map();
      this.#blocks.set(block.hash, answers);
      for (const old of this.#blocks.keys()) {
        if (this.#blocks.size <= this.#maxBlocks) break;
        this.#blocks.delete(old);
      }
    }
    const known = answers.get(key);
    if (known) return known as Promise<T>;
    const answer = read();
    if (answers.size < this.#maxEntries) {
      const kept = answers;
      kept.set(key, answer);
      answer.catch(() => kept.delete(key));
    }
    return answer;
  }
}

export class AccessControl {
  readonly #store: Store;
  readonly #chain: GatewayChain;
  readonly #now: () => Date;
  readonly #memo: BlockMemo;

  /** `options.memo`: where chain reads are remembered per block (default: a new {@link BlockMemo}). */
  constructor(store: Store, chain: GatewayChain, options: { now?: () => Date; memo?: BlockMemo } = {}) {
    this.#store = store;
    this.#chain = chain;
    this.#now = options.now ?? (() => store.now());
    this.#memo = options.memo ?? new BlockMemo();
  }

  /**
   * The patient's wallets on this chain; 403 when it has none (no consent can exist for it).
   * `linked`: the patient's wallets (did:pkh) as just read from the store with the record (e.g.
   * Store.fetchSealed), instead of reading them again.
   */
  async patientWallets(patientId: string, linked?: readonly string[]): Promise<Address[]> {
    const wallets = walletsOnChain(linked ?? (await this.#store.listWallets(patientId)), this.#chain.chainId);
    if (wallets.length === 0) {
      throw forbidden(
        `Patient/${patientId} has no linked wallet, so no consent can exist for it: nobody may read its records until the patient links a wallet`,
      );
    }
    return wallets;
  }

  /** Until when `requester` is a delegate of one of `wallets` at the block (0 if not a current one). */
  async delegateUntil(wallets: readonly Address[], requester: Address, block: BlockRef): Promise<number> {
    const expiries = await Promise.all(
      wallets.map((wallet) =>
        this.#memo.get(block, `delegate ${wallet} ${requester}`.toLowerCase(), () =>
          this.#chain.read((c) =>
            c.readContract({
              address: this.#chain.consentRegistry,
              abi: consentRegistryAbi,
              functionName: "delegateExpiry",
              args: [wallet, requester],
              // EIP-1898: the block of the memo itself, not whichever block has its number now.
              blockHash: block.hash,
            }),
          ),
        ),
      ),
    );
    const nowSeconds = Math.floor(this.#now().getTime() / 1000);
    const current = expiries.filter((e) => e > block.timestamp && e > nowSeconds);
    return current.length === 0 ? 0 : Math.max(...current);
  }

  /** The patient itself or a current delegate (for the audit trail and the consent list), or null. */
  async patientOrDelegate(
    patientId: string,
    requester: Address,
    /** The patient's linked wallets (did:pkh) when the caller has just read them. */
    linked?: readonly string[],
  ): Promise<
    | { relation: "patient" | "delegate"; wallets: Address[]; block: BlockRef | null }
    | { relation: null; wallets: Address[]; block: BlockRef }
  > {
    const wallets = await this.patientWallets(patientId, linked);
    if (wallets.some((w) => isAddressEqual(w, requester))) return { relation: "patient", wallets, block: null };
    const block = await this.#chain.latestBlock();
    const until = await this.delegateUntil(wallets, requester, block);
    return until > 0 ? { relation: "delegate", wallets, block } : { relation: null, wallets, block };
  }

  /**
   * Decides, per category, whether `requester` may read `patientId`'s data for `purpose`.
   * Throws 403 when the patient has no wallet; otherwise returns the decisions (the caller
   * refuses with {@link consentMissing} when nothing is allowed). `options.wallets`: the
   * patient's linked wallets (did:pkh) when the caller has just read them (see patientWallets).
   */
  async decide(
    patientId: string,
    requester: Address,
    categories: readonly CategoryName[],
    purpose: PurposeName,
    options: { wallets?: readonly string[] | undefined; emergencyReason?: EmergencyReason | null | undefined } = {},
  ): Promise<AccessDecision> {
    const wallets = await this.patientWallets(patientId, options.wallets);
    const unique = [...new Set(categories)];
    if (wallets.some((w) => isAddressEqual(w, requester))) {
      return allowAll("patient", null, wallets, unique, "the patient reads its own records");
    }
    const block = await this.#chain.latestBlock();
    const nowSeconds = Math.floor(this.#now().getTime() / 1000);
    const [until, checks] = await Promise.all([
      this.delegateUntil(wallets, requester, block),
      Promise.all(
        unique.map((category) =>
          Promise.all(wallets.map((patient) => this.#consentAt(block, patient, requester, category, purpose))),
        ),
      ),
    ]);
    if (until > 0) return allowAll("delegate", block, wallets, unique, "a current delegate of the patient");
    // Break-glass releases data only with its reason: the one the read gives must be the one the
    // opening committed to on the chain, for the wallet and organization whose access it is.
    const given = options.emergencyReason ?? null;
    const reasonHolds = await Promise.all(
      checks.map((perWallet) =>
        Promise.all(
          perWallet.map((d, w) =>
            d.allowed && d.emergency && given !== null
              ? this.#emergencyReasonHolds(block, wallets[w]!, d.organization, given)
              : false,
          ),
        ),
      ),
    );
    let emergencyReason: EmergencyReasonCode | undefined;
    const decisions = unique.map((category, i): CategoryDecision => {
      const perWallet = checks[i]!;
      // Consent given from any of the patient's wallets counts; a grant over by the gateway's clock
      // does not, nor an emergency access without its reason.
      const inForce = (d: ConsentDecision) => d.allowed && (d.expiresAt === null || d.expiresAt > nowSeconds);
      const live = perWallet.find((d, w) => inForce(d) && (!d.emergency || reasonHolds[i]![w]));
      if (live?.emergency) emergencyReason = given!.reasonCode;
      if (!live && perWallet.some((d) => inForce(d) && d.emergency)) {
        return {
          category,
          allowed: false,
          emergency: false,
          reason: "EmergencyReasonMissing",
          explanation: `emergency access is open, but the read did not give its reason (${EMERGENCY_REASON_HEADER_NAME}: <reason code>;<salt>) as committed to on the chain`,
          expiresAt: null,
        };
      }
      if (live) {
        return {
          category,
          allowed: true,
          emergency: live.emergency,
          reason: live.reason,
          explanation: live.explanation,
          expiresAt: live.expiresAt,
        };
      }
      const lapsed = perWallet.find((d) => d.allowed);
      if (lapsed) {
        return {
          category,
          allowed: false,
          emergency: false,
          reason: "Expired",
          explanation: "the grant has expired",
          expiresAt: null,
        };
      }
      const first = perWallet[0]!;
      return {
        category,
        allowed: false,
        emergency: false,
        reason: first.reason,
        explanation: first.explanation,
        expiresAt: null,
      };
    });
    return { ...summarize("reader", block, wallets, decisions), emergencyReason };
  }

  /** Whether `reason` is the one `organization`'s open emergency access to `patient` committed to. */
  async #emergencyReasonHolds(
    block: BlockRef,
    patient: Address,
    organization: Address,
    reason: EmergencyReason,
  ): Promise<boolean> {
    const [expiresAt, , commitment] = await this.#memo.get(
      block,
      `emergency ${patient} ${organization}`.toLowerCase(),
      () =>
        this.#chain.read((c) =>
          c.readContract({
            address: this.#chain.consentRegistry,
            abi: consentRegistryAbi,
            functionName: "emergencyAccess",
            args: [patient, organization],
            blockHash: block.hash,
          }),
        ),
    );
    const expected = emergencyReasonCommitment(
      { chainId: this.#chain.chainId, registry: this.#chain.consentRegistry, patient, organization },
      reason,
    );
    return expiresAt !== 0 && commitment.toLowerCase() === expected.toLowerCase();
  }

  /**
   * Whether `requester` holds any current consent of the patient (a wallet of it) at `block`: a
   * grant in force to the requester's organization for any purpose and category, or an open
   * break-glass opening of it. A requester that holds none (and is neither the patient nor a
   * delegate) is answered as if the patient did not exist (routes/fhir-read.ts). Chain reads are
   * remembered per block like the decision's; they are made only for a request refused in full.
   */
  async holdsConsent(wallets: readonly Address[], requester: Address, block: BlockRef): Promise<boolean> {
    const registry = { address: this.#chain.consentRegistry, abi: consentRegistryAbi } as const;
    const read = <T>(key: string, fn: () => Promise<T>) =>
      this.#memo.get(block, key.toLowerCase(), () => this.#chain.read(() => fn()));
    const account = await read(`account ${requester}`, () => this.#chain.accountOf(requester, block.number));
    if (/^0x0{40}$/i.test(account.organization) || !account.active) return false;
    const organization = account.organization;
    const nowSeconds = Math.max(block.timestamp, Math.floor(this.#now().getTime() / 1000));
    const scopes = Object.values(PURPOSES).map((p) => p.id);
    const held = await Promise.all(
      wallets.map(async (wallet) => {
        const [[epoch], emergency, grants] = await Promise.all([
          read(`state ${wallet}`, () =>
            this.#chain.client.readContract({
              ...registry,
              functionName: "patientState",
              args: [wallet],
              blockNumber: block.number,
            }),
          ),
          read(`emergency ${wallet} ${organization}`, () =>
            this.#chain.client.readContract({
              ...registry,
              functionName: "emergencyAccess",
              args: [wallet, organization],
              blockNumber: block.number,
            }),
          ),
          Promise.all(
            scopes.map((id) =>
              read(`grant ${wallet} ${organization} ${id}`, () =>
                this.#chain.client.readContract({
                  ...registry,
                  functionName: "getGrant",
                  args: [grantIdOf(wallet, organization, id)],
                  blockNumber: block.number,
                }),
              ),
            ),
          ),
        ]);
        if (emergency[0] > nowSeconds) return true;
        return grants.some(
          (g) => g.categories !== 0 && g.epoch === epoch && g.validFrom <= nowSeconds && g.expiresAt > nowSeconds,
        );
      }),
    );
    return held.some(Boolean);
  }

  /** The sdk's verifyConsent at `block`, once per block for the same question. */
  #consentAt(
    block: BlockRef,
    patient: Address,
    requester: Address,
    category: CategoryName,
    purpose: PurposeName,
  ): Promise<ConsentDecision> {
    const use = encodePurpose(readUse(purpose));
    return this.#memo.get(block, `consent ${patient} ${requester} ${category} ${use}`.toLowerCase(), () =>
      verifyConsent(this.#chain.client, {
        registry: this.#chain.consentRegistry,
        patient,
        grantee: requester,
        category,
        purpose: use,
        blockNumber: block.number,
        blockHash: block.hash,
      }).catch((err: unknown) => {
        throw toChainError(err);
      }),
    );
  }
}

function allowAll(
  relation: "patient" | "delegate",
  block: BlockRef | null,
  wallets: Address[],
  categories: readonly CategoryName[],
  explanation: string,
): AccessDecision {
  return summarize(
    relation,
    block,
    wallets,
    categories.map((category) => ({
      category,
      allowed: true,
      emergency: false,
      reason: relation === "patient" ? "Patient" : "Delegate",
      explanation,
      expiresAt: null,
    })),
  );
}

function summarize(
  relation: Relation,
  block: BlockRef | null,
  wallets: Address[],
  decisions: CategoryDecision[],
): AccessDecision {
  const allowed = decisions.filter((d) => d.allowed);
  return {
    relation,
    block,
    wallets,
    decisions,
    allowed: allowed.map((d) => d.category),
    refused: decisions.filter((d) => !d.allowed),
    emergency: allowed.some((d) => d.emergency),
  };
}
