/**
 * The gateway's view of the chain: a public client for reads (consent checks, ledgers, anchors)
 * and a wallet for the custodian's GATEWAY member key, which relays patients' signed consents
 * and anchors the audit log. Works against any Ethereum JSON-RPC node (viem http or WebSocket
 * transport), or an in-process one (tests: Hardhat EDR through `custom(provider)`).
 *
 * Transactions are simulated first (a revert comes back as its decoded custom error, in plain
 * words, and costs nothing) and sent one at a time from this process, so nonces never collide.
 */
import {
  type Abi,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  isAddressEqual,
  webSocket,
  zeroAddress,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { getAddress } from "viem/utils";
import { ROLES, ORGANIZATION_STATUS } from "#sdk/codes.ts";
import { auditAnchorAbi, consentRegistryAbi } from "#sdk/generated/abis.ts";
import type { IndexerClient } from "#sdk/history.ts";
import { ChainError, toChainError } from "./revert.ts";

export { ChainError } from "./revert.ts";

export interface ChainOptions {
  chainId: number;
  /** How to reach the node: `transportFor(rpcUrl)` in production, `custom(provider)` in tests. */
  transport: Transport;
  consentRegistry: Address;
  auditAnchor: Address;
  studyEscrow?: Address | undefined;
  /** PreventionRewards, when deployed: prevention confirmations are reported to it. */
  preventionRewards?: Address | undefined;
  /** The custodian's GATEWAY member key. */
  gatewayKey: Hex;
  /** The custodian organization the key is a GATEWAY member of. */
  custodian: Address;
  /** Scan the registry's events from this block (its deployment block). */
  eventsFromBlock?: bigint | undefined;
  /** The indexer lists are read from (INDEXER_URL); never decisions. */
  indexer?: IndexerClient | undefined;
  /** How long to wait for a sent transaction's receipt (default 120 s). */
  receiptTimeoutMs?: number | undefined;
}

export interface SentTransaction {
  hash: Hex;
  blockNumber: bigint;
  /** What it cost: gas used × effective gas price (wei). */
  gasUsed: bigint;
  costWei: bigint;
}

/** What a send with an explicit gas limit will pay at most, told to `beforeSend`. */
export interface SendBudget {
  /** The node's estimate for the call. */
  estimate: bigint;
  /** The gas limit the transaction is sent with. */
  gasLimit: bigint;
  /** The most it can cost: gasLimit × max fee per gas (wei). */
  maxCostWei: bigint;
}

export interface SendOptions {
  /**
   * Send with this gas limit (else the node's estimate): the most the gateway pays for the call.
   * `beforeSend` is told the estimate and refuses when it is above (e.g. 422 in words).
   */
  gasLimit?: bigint;
  /** Ahead of the transactions waiting without it (a patient's revocation before other relays). */
  priority?: boolean;
  /** Runs after the simulation, before sending (e.g. to count the relay against a limit). */
  beforeSend?: (budget: SendBudget) => Promise<void>;
}

export interface ContractCall {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

export interface BlockRef {
  number: bigint;
  /** The block's hash: what a decision read at this block may be remembered by (a reorg changes it). */
  hash: Hex;
  /** Unix seconds. */
  timestamp: number;
}

/**
 * An RPC URL as it may be logged: scheme, host and port only. Providers put credentials in the
 * user info (`user:password@`), the path (`/v3/<key>`) or the query (`?apikey=`): all replaced.
 */
export function redactRpcUrl(rpcUrl: string): string {
  try {
    const url = new URL(rpcUrl);
    const hidden = url.username !== "" || url.password !== "";
    const rest = url.pathname !== "/" || url.search !== "" || url.hash !== "";
    return `${url.protocol}//${hidden ? "[redacted]@" : ""}${url.host}${rest ? "/[redacted]" : ""}`;
  } catch {
    return "[redacted]";
  }
}

/** The ways an RPC URL may be written in an error: as given, normalized, without its user info. */
function rpcUrlForms(rpcUrl: string): string[] {
  const forms = new Set([rpcUrl]);
  try {
    const url = new URL(rpcUrl);
    forms.add(url.href);
    url.username = "";
    url.password = "";
    forms.add(url.href);
    if (url.pathname !== "/" || url.search !== "") forms.add(`${url.pathname}${url.search}`);
  } catch {
    // not a URL: only as given
  }
  for (const f of [...forms]) if (f.endsWith("/")) forms.add(f.slice(0, -1));
  // Longest first: a URL is replaced whole before a part of it.
  return [...forms].filter((f) => f.length > 1).sort((a, b) => b.length - a.length);
}

/** Every string of an error (and its causes) with `secret` replaced by `shown`. */
function scrubError(err: unknown, secrets: readonly string[], shown: string, seen = new Set<unknown>()): unknown {
  if (err === null || typeof err !== "object" || seen.has(err)) return err;
  seen.add(err);
  const record = err as Record<string, unknown>;
  for (const key of [...Object.getOwnPropertyNames(err), "cause"]) {
    const value = record[key];
    if (typeof value === "string") {
      let text = value;
      for (const secret of secrets) text = text.split(secret).join(shown);
      if (text !== value) {
        try {
          record[key] = text;
        } catch {
          // read-only property: left as it is
        }
      }
    } else if (Array.isArray(value)) {
      record[key] = value.map((v) =>
        typeof v === "string"
          ? secrets.reduce((t, s) => t.split(s).join(shown), v)
          : scrubError(v, secrets, shown, seen),
      );
    } else if (value !== null && typeof value === "object") {
      scrubError(value, secrets, shown, seen);
    }
  }
  return err;
}

/**
 * The transport for an RPC URL: http(s) with JSON-RPC batching, or ws(s). Errors it raises (viem
 * puts the URL in their messages) name the endpoint redacted ({@link redactRpcUrl}), so that no
 * credential of the URL reaches a log.
 */
export function transportFor(rpcUrl: string): Transport {
  const inner: Transport = /^wss?:/i.test(rpcUrl)
    ? webSocket(rpcUrl, { timeout: 15_000, retryCount: 2 })
    : http(rpcUrl, { batch: { batchSize: 100, wait: 0 }, timeout: 15_000, retryCount: 2 });
  const shown = redactRpcUrl(rpcUrl);
  const secrets = rpcUrlForms(rpcUrl);
  return (params) => {
    const transport = inner(params);
    const request = (async (args: Parameters<typeof transport.request>[0], options?: unknown) => {
      try {
        return await (transport.request as (a: unknown, o?: unknown) => Promise<unknown>)(args, options);
      } catch (err) {
        throw scrubError(err, secrets, shown);
      }
    }) as typeof transport.request;
    return { ...transport, request, value: transport.value, config: { ...transport.config } };
  };
}

export interface StartupCheck {
  blockNumber: bigint;
  gatewayAddress: Address;
  /** Problems that do not stop the gateway but stop some of its functions (e.g. anchoring). */
  warnings: string[];
}

export class GatewayChain {
  readonly chainId: number;
  readonly client: PublicClient;
  readonly wallet: WalletClient;
  readonly account: PrivateKeyAccount;
  readonly consentRegistry: Address;
  readonly auditAnchor: Address;
  readonly studyEscrow: Address | undefined;
  readonly preventionRewards: Address | undefined;
  readonly custodian: Address;
  readonly eventsFromBlock: bigint;
  readonly indexer: IndexerClient | undefined;
  readonly #chain: Chain;
  readonly #receiptTimeoutMs: number;
  readonly #lanes: { priority: Array<() => void>; normal: Array<() => void> } = { priority: [], normal: [] };
  #busy = false;
  #nextLatest: Promise<BlockRef> | undefined;

  constructor(options: ChainOptions) {
    this.chainId = options.chainId;
    this.#chain = defineChain({
      id: options.chainId,
      name: `chain ${options.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [] } },
    });
    // cacheTime 0: a cached block number could serve a read from before a revocation.
    this.client = createPublicClient({ chain: this.#chain, transport: options.transport, cacheTime: 0 });
    this.account = privateKeyToAccount(options.gatewayKey);
    this.wallet = createWalletClient({ chain: this.#chain, transport: options.transport, account: this.account });
    this.consentRegistry = getAddress(options.consentRegistry);
    this.auditAnchor = getAddress(options.auditAnchor);
    this.studyEscrow = options.studyEscrow ? getAddress(options.studyEscrow) : undefined;
    this.preventionRewards = options.preventionRewards ? getAddress(options.preventionRewards) : undefined;
    this.custodian = getAddress(options.custodian);
    this.eventsFromBlock = options.eventsFromBlock ?? 0n;
    this.indexer = options.indexer;
    this.#receiptTimeoutMs = options.receiptTimeoutMs ?? 120_000;
  }

  get gatewayAddress(): Address {
    return this.account.address;
  }

  /**
   * The latest block, read fresh (never cached): every decision of a request is made at it.
   * Callers in the same turn of the event loop share one call, sent after all of them asked, so
   * the block is never older than the moment any of them asked (a call already sent is not joined).
   */
  latestBlock(): Promise<BlockRef> {
    this.#nextLatest ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#nextLatest = undefined; // sent now: later callers wait for a call of their own
      return this.#readLatest();
    });
    return this.#nextLatest;
  }

  async #readLatest(): Promise<BlockRef> {
    let block: { number?: unknown; hash?: unknown; timestamp?: unknown } | null;
    try {
      // The raw header (no transactions): viem's getBlock formats every field, on every request.
      block = (await this.client.request({
        method: "eth_getBlockByNumber",
        params: ["latest", false],
      })) as typeof block;
    } catch (err) {
      throw toChainError(err);
    }
    const quantity = (v: unknown) => (typeof v === "string" && /^0x[0-9a-f]+$/i.test(v) ? BigInt(v) : undefined);
    const number = quantity(block?.number);
    const timestamp = quantity(block?.timestamp);
    const hash = block?.hash;
    if (
      number === undefined ||
      timestamp === undefined ||
      typeof hash !== "string" ||
      !/^0x[0-9a-f]{64}$/i.test(hash)
    ) {
      throw new ChainError("unavailable", "The node returned no usable latest block (number, hash and timestamp)");
    }
    return { number, hash: hash.toLowerCase() as Hex, timestamp: Number(timestamp) };
  }

  /** A read-only call at a block; chain failures become {@link ChainError}s. */
  async read<T>(fn: (client: PublicClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client);
    } catch (err) {
      throw toChainError(err);
    }
  }

  /** The organization an account acts for, its role there, and whether that organization is active. */
  async accountOf(
    account: Address,
    blockNumber?: bigint,
  ): Promise<{ organization: Address; role: number; kind: number; active: boolean }> {
    const [organization, role, kind, status] = await this.read((c) =>
      c.readContract({
        address: this.consentRegistry,
        abi: consentRegistryAbi,
        functionName: "accountOf",
        args: [account],
        ...(blockNumber !== undefined ? { blockNumber } : {}),
      }),
    );
    return { organization, role, kind, active: status === ORGANIZATION_STATUS.Active };
  }

  /**
   * Checks at start-up that the node serves CHAIN_ID and that the contracts are there; a gateway
   * key that belongs to another organization is an error, one that is not (yet) a GATEWAY member
   * a warning.
   */
  async checkStartup(): Promise<StartupCheck> {
    const served = await this.read((c) => c.getChainId());
    if (served !== this.chainId) {
      throw new Error(`CHAIN_ID: the node at RPC_URL serves chain ${served}, not ${this.chainId}`);
    }
    const contracts: Array<[string, Address | undefined]> = [
      ["CONSENT_REGISTRY_ADDRESS", this.consentRegistry],
      ["AUDIT_ANCHOR_ADDRESS", this.auditAnchor],
      ["STUDY_ESCROW_ADDRESS", this.studyEscrow],
      ["PREVENTION_REWARDS_ADDRESS", this.preventionRewards],
    ];
    for (const [variable, address] of contracts) {
      if (address === undefined) continue;
      const code = await this.read((c) => c.getCode({ address }));
      if (!code || code === "0x") throw new Error(`${variable}: there is no contract at ${address} on chain ${served}`);
    }
    const anchorRegistry = await this.read((c) =>
      c.readContract({ address: this.auditAnchor, abi: auditAnchorAbi, functionName: "registry" }),
    );
    if (getAddress(anchorRegistry) !== this.consentRegistry) {
      throw new Error(
        `AUDIT_ANCHOR_ADDRESS: the AuditAnchor at ${this.auditAnchor} uses the registry ${anchorRegistry}, not CONSENT_REGISTRY_ADDRESS ${this.consentRegistry}`,
      );
    }
    const warnings: string[] = [];
    const account = await this.accountOf(this.gatewayAddress);
    if (isAddressEqual(account.organization, zeroAddress)) {
      warnings.push(
        `the gateway key ${this.gatewayAddress} is not a member of any organization yet: add it as a GATEWAY member of ${this.custodian} to anchor the audit log`,
      );
    } else if (getAddress(account.organization) !== this.custodian) {
      throw new Error(
        `GATEWAY_PRIVATE_KEY: ${this.gatewayAddress} is a member of ${account.organization}, not of CUSTODIAN_ADDRESS ${this.custodian}`,
      );
    } else if (account.role !== ROLES.GATEWAY) {
      warnings.push(`the gateway key ${this.gatewayAddress} has role ${account.role}, not GATEWAY (${ROLES.GATEWAY})`);
    } else if (!account.active) {
      warnings.push(`the custodian ${this.custodian} is not active (suspended?): anchoring will fail`);
    }
    const blockNumber = await this.read((c) => c.getBlockNumber({ cacheTime: 0 }));
    return { blockNumber, gatewayAddress: this.gatewayAddress, warnings };
  }

  /**
   * Simulates `call` from the gateway key at the pending block, runs `beforeSend` (e.g. to count
   * the relay against a limit) and sends it; then waits for the receipt. Simulation and sending
   * are serialized in this process, so concurrent calls neither collide on nonces nor pass a
   * simulation that an earlier, still pending transaction invalidates; `priority` calls are taken
   * before the others waiting. With `gasLimit`, the call's gas is estimated after the simulation
   * and the transaction is sent with that limit and explicit fees, so that it never costs more
   * than `beforeSend` was told.
   * Throws {@link ChainError}: "revert" (decoded, in plain words) or "unavailable".
   */
  async send(call: ContractCall, options: SendOptions | (() => Promise<void>) = {}): Promise<SentTransaction> {
    const opts: SendOptions = typeof options === "function" ? { beforeSend: () => options() } : options;
    const hash = await this.#serially(async () => {
      let request: Record<string, unknown>;
      // The return value of a relayed call is never used: decode none, so that a function whose
      // return type changed (ABI drift between a contract and its generated ABI) still relays.
      const abi = call.abi.map((item) =>
        item.type === "function" && item.name === call.functionName ? { ...item, outputs: [] } : item,
      );
      const contractCall = {
        account: this.account,
        address: call.address,
        abi,
        functionName: call.functionName,
        args: call.args,
      };
      let budget: SendBudget = { estimate: 0n, gasLimit: 0n, maxCostWei: 0n };
      try {
        ({ request } = (await this.client.simulateContract({ ...contractCall, blockTag: "pending" } as never)) as {
          request: Record<string, unknown>;
        });
        if (opts.gasLimit !== undefined) {
          const [estimate, fees] = await Promise.all([
            this.client.estimateContractGas(contractCall as never),
            this.client.estimateFeesPerGas(),
          ]);
          request = {
            ...request,
            gas: opts.gasLimit,
            maxFeePerGas: fees.maxFeePerGas,
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          };
          budget = { estimate, gasLimit: opts.gasLimit, maxCostWei: opts.gasLimit * fees.maxFeePerGas };
        }
      } catch (err) {
        throw toChainError(err);
      }
      if (opts.beforeSend) await opts.beforeSend(budget);
      try {
        return await this.wallet.writeContract(request as never);
      } catch (err) {
        throw toChainError(err);
      }
    }, opts.priority === true);
    let receipt;
    try {
      receipt = await this.client.waitForTransactionReceipt({ hash, timeout: this.#receiptTimeoutMs });
    } catch (err) {
      throw toChainError(err, `transaction ${hash} was sent but its receipt did not arrive`);
    }
    if (receipt.status !== "success") {
      throw new ChainError("revert", `The transaction ${hash} was reverted when it was mined`, {
        errorName: "Reverted",
        args: [],
      });
    }
    return {
      hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      costWei: receipt.gasUsed * receipt.effectiveGasPrice,
    };
  }

  /** Runs `fn` after every call queued before it (priority calls: after the priority ones only). */
  #serially<T>(fn: () => Promise<T>, priority = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job = () => {
        fn()
          .then(resolve, reject)
          .finally(() => {
            this.#busy = false;
            this.#next();
          });
      };
      (priority ? this.#lanes.priority : this.#lanes.normal).push(job);
      if (!this.#busy) this.#next();
    });
  }

  #next(): void {
    const job = this.#lanes.priority.shift() ?? this.#lanes.normal.shift();
    if (!job) return;
    this.#busy = true;
    job();
  }
}
