/**
 * The sdk suites' chain: Hardhat's in-process EDR network with an Ignition module deployed, viem
 * clients over `custom(provider)`, the node's unlocked accounts (checksummed) and a helper that
 * sends a transaction and fails when it reverts.
 */
import type { IgnitionModule } from "@nomicfoundation/ignition-core";
import hre from "hardhat";
import {
  type Abi,
  type Address,
  type PublicClient,
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
} from "viem";

export const LOCAL_CHAIN = {
  id: 31337,
  name: "hardhat",
  nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [] } },
} as const;

export async function sdkTestChain<M extends IgnitionModule>(module: M) {
  const connection = await hre.network.connect();
  const deployed = await connection.ignition.deploy(module);
  const provider = connection.provider;
  const client = createPublicClient({ transport: custom(provider) }) as PublicClient;
  const wallet = createWalletClient({ transport: custom(provider) });
  const accounts = ((await provider.request({ method: "eth_accounts" })) as Address[]).map((a) => getAddress(a));
  return {
    deployed,
    client,
    wallet,
    accounts,
    /** Sends `functionName(args)` to `address` from the unlocked `account`; throws if it reverts. */
    async write(account: Address, address: Address, abi: Abi, functionName: string, args: readonly unknown[]) {
      const hash = await wallet.writeContract({
        account,
        chain: LOCAL_CHAIN,
        address,
        abi,
        functionName,
        args,
      } as never);
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
    },
    /** Advances the chain's clock by `seconds` and mines a block. */
    async mine(seconds: number) {
      await provider.request({ method: "evm_increaseTime", params: [seconds] });
      await provider.request({ method: "evm_mine", params: [] });
    },
    /** The latest block's timestamp (unix seconds). */
    async now() {
      return Number((await client.getBlock()).timestamp);
    },
  };
}

export type SdkTestChain = Awaited<ReturnType<typeof sdkTestChain>>;
