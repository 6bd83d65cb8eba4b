/**
 * The test chain: one in-process Hardhat EDR network per test process, with every contract
 * deployed through the Ignition modules (ConsentRegistry, AuditAnchor, StudyEscrow and its
 * token, PreventionRewards) and the demo organizations of sdk/demo.ts accredited, as `npm start` does.
 * Tests reach it with viem over `custom(provider)`: the same code paths as over RPC_URL.
 *
 * Suites share it, so they act with fresh patients (`newAccount`) and, when they need the
 * audit anchor's sequence from 1, fresh custodians (`newCustodian`).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type {} from "@nomicfoundation/hardhat-ignition-ethers"; // types of connection.ignition (the config's plugin)
import hre from "hardhat";
import type { NetworkConnectionParams } from "hardhat/types/network";
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
  custom,
  defineChain,
  getAddress,
  toHex,
} from "viem";
import { type LocalAccount, generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import AuditAnchorModule from "../../../ignition/modules/AuditAnchor.ts";
import PreventionRewardsModule from "../../../ignition/modules/PreventionRewards.ts";
import StudyEscrowModule from "../../../ignition/modules/StudyEscrow.ts";
import { DEMO_ACCOUNTS, DEMO_MEMBERS, DEMO_ORGANIZATIONS, DEV_PRIVATE_KEYS } from "#sdk/demo.ts";
import { KINDS, ROLES } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";

export type DemoName = keyof typeof DEMO_ACCOUNTS;

const GatewayTestModule = buildModule("GatewayTestModule", (m) => {
  const { auditAnchor, consentRegistry } = m.useModule(AuditAnchorModule);
  const { studyEscrow, remunerationToken } = m.useModule(StudyEscrowModule);
  const { preventionRewards } = m.useModule(PreventionRewardsModule);
  return { auditAnchor, consentRegistry, studyEscrow, remunerationToken, preventionRewards };
});

export interface TestChain {
  chainId: number;
  transport: Transport;
  client: PublicClient;
  chain: Chain;
  registry: Address;
  auditAnchor: Address;
  studyEscrow: Address;
  /** A PreventionRewards (the sdk's 31337 entry names one: a gateway started on this chain checks it). */
  preventionRewards: Address;
  token: Address;
  /** The demo actors (Hardhat accounts #0-#9) as local accounts that sign. */
  actors: Record<DemoName, LocalAccount & { privateKey: Hex }>;
  /** Sends a transaction from `account` and waits for it; throws if it reverts. */
  write(
    account: LocalAccount,
    address: Address,
    abi: Abi,
    functionName: string,
    args: readonly unknown[],
  ): Promise<{ blockNumber: bigint }>;
  /** Registry transaction from `account`. */
  registryWrite(
    account: LocalAccount,
    functionName: string,
    args: readonly unknown[],
  ): Promise<{ blockNumber: bigint }>;
  /** A new funded account (a fresh patient, delegate, …). */
  newAccount(): Promise<LocalAccount & { privateKey: Hex }>;
  /** A new account without ETH (a patient who only signs). */
  unfundedAccount(): LocalAccount & { privateKey: Hex };
  /** A newly accredited PROVIDER with a GATEWAY member: its own audit-anchor sequence. */
  newCustodian(
    name?: string,
  ): Promise<{ organization: LocalAccount & { privateKey: Hex }; gateway: LocalAccount & { privateKey: Hex } }>;
  /** Deploys a compiled contract (e.g. a test harness) from `account`; its address. */
  deploy(account: LocalAccount, contractName: string, args: readonly unknown[]): Promise<Address>;
  /** Advances the chain's clock and mines a block. */
  mine(seconds: number): Promise<void>;
  /** The latest block's timestamp (unix seconds). */
  now(): Promise<number>;
}

let shared: Promise<TestChain> | undefined;

export function testChain(): Promise<TestChain> {
  shared ??= deployTestChain();
  return shared;
}

export interface DeployTestChainOptions {
  /** A Hardhat network to deploy to, e.g. a `hardhat node` over HTTP; default: a new in-process EDR. */
  network?: NetworkConnectionParams;
  /** Ignition's deployment id (its journal: ignition/deployments/<id>/), on a network that is not in-process. */
  deploymentId?: string;
}

function withKey(account: LocalAccount, privateKey: Hex): LocalAccount & { privateKey: Hex } {
  return Object.assign(account, { privateKey });
}

/**
 * Deploys the contracts and accredits the demo organizations. Tests share one (`testChain`); the
 * gateway benchmark deploys one onto its own `hardhat node`.
 */
export async function deployTestChain(options: DeployTestChainOptions = {}): Promise<TestChain> {
  const connection = options.network ? await hre.network.create(options.network) : await hre.network.connect();
  const deployed = await connection.ignition.deploy(
    GatewayTestModule,
    options.deploymentId !== undefined ? { deploymentId: options.deploymentId } : {},
  );
  const provider = connection.provider;
  const transport = custom(provider);
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  const chain = defineChain({
    id: chainId,
    name: "hardhat",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [] } },
  });
  const client = createPublicClient({ chain, transport, cacheTime: 0 }) as PublicClient;
  const wallet: WalletClient = createWalletClient({ chain, transport });
  const registry = (await deployed.consentRegistry.getAddress()) as Address;

  const actors = {} as TestChain["actors"];
  for (const [name, index] of Object.entries(DEMO_ACCOUNTS) as Array<[DemoName, number]>) {
    const privateKey = DEV_PRIVATE_KEYS[index]!;
    actors[name] = withKey(privateKeyToAccount(privateKey), privateKey);
  }
  const accounts = (await provider.request({ method: "eth_accounts" })) as Address[];
  if (accounts[1]?.toLowerCase() !== actors.alice.address.toLowerCase()) {
    throw new Error("the EDR accounts are not Hardhat's default mnemonic");
  }

  const write: TestChain["write"] = async (account, address, abi, functionName, args) => {
    const hash = await wallet.writeContract({ account, chain, address, abi, functionName, args } as never);
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
    return { blockNumber: receipt.blockNumber };
  };
  const registryWrite: TestChain["registryWrite"] = (account, functionName, args) =>
    write(account, registry, consentRegistryAbi, functionName, args);

  const fund = async (address: Address) => {
    await provider.request({ method: "hardhat_setBalance", params: [address, toHex(10n ** 20n)] });
  };
  const unfundedAccount = () => {
    const key = generatePrivateKey();
    return withKey(privateKeyToAccount(key), key);
  };
  const newAccount = async () => {
    const account = unfundedAccount();
    await fund(account.address);
    return account;
  };

  const zeroHash = `0x${"00".repeat(32)}` as Hex;
  for (const org of DEMO_ORGANIZATIONS) {
    const url = org.gatewayPort ? `http://127.0.0.1:${org.gatewayPort}/fhir` : "";
    await registryWrite(actors.governance, "accredit", [
      actors[org.account].address,
      KINDS[org.kind],
      org.name,
      url,
      zeroHash,
    ]);
  }
  for (const member of DEMO_MEMBERS) {
    const org = actors[member.organization];
    await registryWrite(org, "offerMembership", [org.address, actors[member.account].address, ROLES[member.role]]);
    await registryWrite(actors[member.account], "acceptMembership", [org.address, ROLES[member.role]]);
  }

  let custodians = 0;
  const newCustodian: TestChain["newCustodian"] = async (name) => {
    const organization = await newAccount();
    const gateway = await newAccount();
    custodians++;
    await registryWrite(actors.governance, "accredit", [
      organization.address,
      KINDS.PROVIDER,
      name ?? `Test Custodian ${custodians}`,
      "",
      zeroHash,
    ]);
    await registryWrite(organization, "offerMembership", [organization.address, gateway.address, ROLES.GATEWAY]);
    await registryWrite(gateway, "acceptMembership", [organization.address, ROLES.GATEWAY]);
    return { organization, gateway };
  };

  return {
    chainId,
    transport,
    client,
    chain,
    registry,
    auditAnchor: (await deployed.auditAnchor.getAddress()) as Address,
    studyEscrow: (await deployed.studyEscrow.getAddress()) as Address,
    preventionRewards: (await deployed.preventionRewards.getAddress()) as Address,
    token: (await deployed.remunerationToken.getAddress()) as Address,
    actors,
    write,
    registryWrite,
    newAccount,
    unfundedAccount,
    newCustodian,
    deploy: async (account, contractName, args) => {
      const artifact = await hre.artifacts.readArtifact(contractName);
      const hash = await wallet.deployContract({
        account,
        chain,
        abi: artifact.abi as Abi,
        bytecode: artifact.bytecode as Hex,
        args,
      } as never);
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (!receipt.contractAddress) throw new Error(`${contractName} was not deployed`);
      return getAddress(receipt.contractAddress);
    },
    mine: async (seconds) => {
      await provider.request({ method: "evm_increaseTime", params: [seconds] });
      await provider.request({ method: "evm_mine", params: [] });
    },
    now: async () => Number((await client.getBlock({ blockTag: "latest" })).timestamp),
  };
}

/**
 * A PreventionRewards of a test file's own (its programmes and enrolments from scratch), set up as
 * the deployment's: the registry's study-manager role (it creates the programmes' consents) and the
 * test token allowed as a currency.
 */
export async function deployPreventionRewards(t: TestChain): Promise<Address> {
  const { governance } = t.actors;
  const rewards = await t.deploy(governance, "PreventionRewards", [t.registry, governance.address, governance.address]);
  const role = await t.client.readContract({
    address: t.registry,
    abi: consentRegistryAbi,
    functionName: "STUDY_MANAGER_ROLE",
  });
  await t.write(governance, t.registry, consentRegistryAbi, "grantRole", [role, rewards]);
  await t.write(governance, rewards, preventionRewardsAbi, "setCurrencyAllowed", [t.token, true]);
  return rewards;
}
