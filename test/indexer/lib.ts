/**
 * Shared by the indexer's tests: a Consentry deployment on a fresh anvil chain (deployed straight
 * from the build's artifacts, no Ignition journal), the indexer (indexer/start.ts, Ponder over
 * PGlite in a temporary folder) on a free port, and waiting until it has indexed a block.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

import {
  type Abi,
  type Address,
  type Hex,
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  keccak256,
  parseEventLogs,
  toHex,
} from "viem";
import type { LocalAccount } from "viem/accounts";

import type { Deployment } from "#sdk/deployments.ts";
import { startIndexer } from "../../indexer/start.ts";
import { CHAIN_ID, freePort, stop, who } from "../anvil/lib.ts";

function artifact(name: string): { abi: Abi; bytecode: Hex } {
  return JSON.parse(readFileSync(`artifacts/contracts/${name}.sol/${name}.json`, "utf8")) as {
    abi: Abi;
    bytecode: Hex;
  };
}

export async function send(
  rpc: string,
  account: LocalAccount,
  address: Address,
  abi: Abi,
  functionName: string,
  args: unknown[],
) {
  const wallet = createWalletClient({ account, transport: http(rpc) });
  const hash = await wallet.writeContract({ address, abi, functionName, args, chain: null });
  const receipt = await createPublicClient({ transport: http(rpc) }).waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
  return receipt;
}

async function deploy(rpc: string, name: string, args: unknown[]): Promise<{ address: Address; block: number }> {
  const { abi, bytecode } = artifact(name);
  const wallet = createWalletClient({ account: who.deployer, transport: http(rpc) });
  const hash = await wallet.deployContract({ abi, bytecode, args, chain: null });
  const receipt = await createPublicClient({ transport: http(rpc) }).waitForTransactionReceipt({ hash });
  return { address: getAddress(receipt.contractAddress!), block: Number(receipt.blockNumber) };
}

/**
 * ConsentRegistry, AuditAnchor, StudyEscrow, PreventionRewards (with its badge) and
 * RemunerationToken; #1 (multisig) holds governance; the ResearchFundFactory with its two
 * deployers, and one fund created through it by the deployer (`createFund` below: cause "Test
 * cause" in the token).
 */
export async function deployConsentry(rpc: string): Promise<Required<Omit<Deployment, "StudyCurrency">>> {
  const registry = await deploy(rpc, "ConsentRegistry", [who.multisig.address, who.multisig.address]);
  const anchor = await deploy(rpc, "AuditAnchor", [registry.address]);
  const escrow = await deploy(rpc, "StudyEscrow", [registry.address, who.multisig.address, who.multisig.address]);
  const rewards = await deploy(rpc, "PreventionRewards", [
    registry.address,
    who.multisig.address,
    who.multisig.address,
  ]);
  const badge = await deploy(rpc, "PreventionBadge", [rewards.address]);
  const token = await deploy(rpc, "RemunerationToken", ["Test USD", "TUSD", who.issuer.address, who.issuer.address]);
  const { abi } = artifact("ConsentRegistry");
  for (const manager of [escrow.address, rewards.address]) {
    await send(rpc, who.multisig, registry.address, abi, "grantRole", [
      keccak256(toHex("STUDY_MANAGER_ROLE")),
      manager,
    ]);
  }
  await send(rpc, who.multisig, escrow.address, artifact("StudyEscrow").abi, "setCurrencyAllowed", [
    token.address,
    true,
  ]);
  await send(rpc, who.multisig, rewards.address, artifact("PreventionRewards").abi, "setCurrencyAllowed", [
    token.address,
    true,
  ]);
  const timelocks = await deploy(rpc, "ResearchFundTimelockDeployer", []);
  const governors = await deploy(rpc, "ResearchFundGovernorDeployer", []);
  const factory = await deploy(rpc, "ResearchFundFactory", [escrow.address, timelocks.address, governors.address]);
  const fund = await createFund(rpc, who.deployer, factory.address, { cause: "Test cause", currency: token.address });
  return {
    ConsentRegistry: registry.address,
    AuditAnchor: anchor.address,
    StudyEscrow: escrow.address,
    PreventionRewards: rewards.address,
    PreventionBadge: badge.address,
    RemunerationToken: token.address,
    ResearchFundFactory: factory.address,
    ResearchFund: fund.fund,
    ResearchFundGovernor: fund.governor,
    ResearchFundTimelock: fund.timelock,
    deploymentBlock: registry.block,
  };
}

/**
 * `account` creates a fund through the factory (goal 10^24, a year from the latest block, quorum
 * 20 %, 1-hour votes and timelock, unless `params` says otherwise); its FundCreated names it.
 */
export async function createFund(
  rpc: string,
  account: LocalAccount,
  factory: Address,
  params: { cause: string; currency: Address } & Partial<Record<"goal" | "end" | "quorumPercent", bigint | number>>,
): Promise<{ fund: Address; governor: Address; timelock: Address }> {
  const chain = createPublicClient({ transport: http(rpc) });
  const latest = await chain.getBlock({ blockTag: "latest" });
  const { abi } = artifact("ResearchFundFactory");
  const receipt = await send(rpc, account, factory, abi, "createFund", [
    {
      goal: 10n ** 24n,
      end: Number(latest.timestamp) + 365 * 86_400,
      quorumPercent: 20,
      votingPeriod: 3_600,
      timelockDelay: 3_600,
      ...params,
    },
  ]);
  const [created] = parseEventLogs({ abi, logs: receipt.logs, eventName: "FundCreated" }) as unknown as [
    { args: { fund: Address; governor: Address; timelock: Address } },
  ];
  return {
    fund: getAddress(created.args.fund),
    governor: getAddress(created.args.governor),
    timelock: getAddress(created.args.timelock),
  };
}

export interface RunningIndexer {
  child: ChildProcess;
  url: string;
  key: string;
  output: () => string;
}

/** Starts the indexer for `deployment` on the chain at `rpc`; resolves once its HTTP server answers. */
export async function runIndexer(
  rpc: string,
  deployment: Deployment,
  dataRoot: string,
  env: Record<string, string> = {},
): Promise<RunningIndexer> {
  const port = await freePort();
  const { child, instance } = await startIndexer(
    {
      ...process.env,
      CHAIN_ID: String(CHAIN_ID),
      RPC_URL: rpc,
      CONSENTRY_DEPLOYMENT: JSON.stringify(deployment),
      INDEXER_DATA_ROOT: dataRoot,
      INDEXER_PORT: String(port),
      INDEXER_POLLING_INTERVAL_MS: "200",
      DATABASE_URL: "",
      ...env,
    },
    { stdio: "pipe" },
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the indexer exited (${child.exitCode}):\n${out}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the indexer did not answer within 180 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url, key: instance.key, output: () => out };
}

/** The block the indexer has indexed the chain to (its `/status`), or -1 before it has one. */
export async function indexedBlock(url: string): Promise<number> {
  const response = await fetch(`${url}/status`);
  if (!response.ok) return -1;
  const status = (await response.json()) as Record<string, { block: { number: number } }>;
  return Object.values(status)[0]?.block.number ?? -1;
}

/** Waits until the indexer has indexed `block` (default: the chain's latest). */
export async function caughtUp(indexer: RunningIndexer, rpc: string, block?: bigint, timeoutMs = 150_000) {
  const target = Number(block ?? (await createPublicClient({ transport: http(rpc) }).getBlockNumber({ cacheTime: 0 })));
  const deadline = Date.now() + timeoutMs;
  while ((await indexedBlock(indexer.url)) < target) {
    if (indexer.child.exitCode !== null) throw new Error(`the indexer exited:\n${indexer.output()}`);
    if (Date.now() > deadline)
      throw new Error(`the indexer did not reach block ${target}:\n${indexer.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { stop };
