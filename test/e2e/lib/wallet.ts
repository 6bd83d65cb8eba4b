/**
 * The test wallet of the end-to-end tests: an EIP-1193 provider injected into the page and
 * announced through EIP-6963. It signs for real, in the test process, with one of Hardhat's public
 * development keys (sdk/demo.ts says who is who) and sends raw transactions to the node.
 */
import {
  type Address,
  type Chain,
  type Hex,
  type LocalAccount,
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

import { DEMO_ACCOUNTS, DEV_PRIVATE_KEYS } from "#sdk/demo.ts";
import { typedDataFromJson } from "#sdk/eip712.ts";

export const RPC = "http://127.0.0.1:8545";
export const WALLET_NAME = "Consentry Test Wallet";

/** Hardhat's well-known development mnemonic: public keys, for the local chain only. */

/** A demo account by its name in sdk/demo.ts (alice = #1, research = #8, …). */
export function devAccount(name: keyof typeof DEMO_ACCOUNTS): LocalAccount {
  return privateKeyToAccount(DEV_PRIVATE_KEYS[DEMO_ACCOUNTS[name]]!);
}

export const chain = { ...hardhat, rpcUrls: { default: { http: [RPC] } } } as const;
export const publicClient = createPublicClient({ chain, transport: http(RPC) });
export const walletOf = (account: LocalAccount) => createWalletClient({ account, chain, transport: http(RPC) });

/** What the page's wallet cannot answer itself: signing (for real, here) and reads (to the node). */
export async function walletRpc(
  account: LocalAccount,
  method: string,
  params: unknown[],
  log: string[],
  /** Another node than the local stack's (e.g. the anvil of test/e2e/anvil-app.test.ts). */
  target: { chain: Chain; rpc: string } = { chain, rpc: RPC },
): Promise<{ result?: unknown; error?: unknown }> {
  log.push(method);
  try {
    switch (method) {
      case "eth_sendTransaction": {
        const [tx] = params as [{ from: Address; to?: Address; data?: Hex; value?: Hex; gas?: Hex }];
        if (getAddress(tx.from) !== account.address)
          return { error: { code: 4100, message: `unknown account ${tx.from}` } };
        const wallet = createWalletClient({ account, chain: target.chain, transport: http(target.rpc) });
        const hash = await wallet.sendTransaction({
          to: tx.to ?? null,
          data: tx.data,
          value: tx.value ? BigInt(tx.value) : 0n,
          ...(tx.gas ? { gas: BigInt(tx.gas) } : {}),
        });
        log.push(`sent ${hash}`);
        return { result: hash };
      }
      case "personal_sign": {
        const [message] = params as [Hex, Address];
        log.push("signed message");
        return { result: await account.signMessage({ message: { raw: message } }) };
      }
      case "eth_signTypedData_v4": {
        const [, json] = params as [Address, string];
        const typed = typedDataFromJson(json);
        log.push(`signed typed data ${typed.primaryType}`);
        return { result: await account.signTypedData(typed as never) };
      }
      default: {
        const res = await fetch(target.rpc, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        });
        const body = (await res.json()) as { result?: unknown; error?: unknown };
        return "error" in body ? { error: body.error } : { result: body.result };
      }
    }
  } catch (error) {
    const e = error as { code?: number; shortMessage?: string; message?: string; data?: unknown };
    return { error: { code: e.code ?? -32603, message: e.shortMessage ?? e.message ?? String(error), data: e.data } };
  }
}

/**
 * Runs in the page before any of its scripts: an EIP-1193 provider announced by EIP-6963. It keeps
 * its permission and chain in sessionStorage (as a wallet remembers a site) and sends everything
 * else to the test's exposed `consentryTestWalletRpc`.
 */
export function installTestWallet(options: {
  address: string;
  startChainId: number;
  name: string;
  icon: string;
  /** The chain whose transactions it signs (default: the local chain). */
  appChainId?: number;
}): void {
  type Listener = (...args: unknown[]) => void;
  const store = window.sessionStorage;
  const knownChains = new Set([1, 31337]);
  let connected = store.getItem("testwallet.connected") === "1";
  let chainId = Number(store.getItem("testwallet.chainId") ?? options.startChainId);
  const listeners = new Map<string, Set<Listener>>();
  const hex = (n: number) => `0x${n.toString(16)}`;
  const emit = (event: string, ...args: unknown[]) => listeners.get(event)?.forEach((f) => f(...args));
  const rpcError = (code: number, message: string, data?: unknown) =>
    Object.assign(new Error(message), { code, ...(data === undefined ? {} : { data }) });
  const permissions = () => [{ parentCapability: "eth_accounts", caveats: [] }];
  const setConnected = (value: boolean) => {
    connected = value;
    store.setItem("testwallet.connected", value ? "1" : "0");
    emit("accountsChanged", value ? [options.address] : []);
  };
  const bridge = (
    window as unknown as {
      consentryTestWalletRpc: (
        m: string,
        p: unknown,
      ) => Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }>;
    }
  ).consentryTestWalletRpc;

  const provider = {
    isConsentryTestWallet: true,
    async request({ method, params = [] }: { method: string; params?: unknown[] }): Promise<unknown> {
      switch (method) {
        case "eth_accounts":
          return connected ? [options.address] : [];
        case "eth_requestAccounts":
          if (!connected) setConnected(true);
          return [options.address];
        case "wallet_requestPermissions":
          if (!connected) setConnected(true);
          return permissions();
        case "wallet_getPermissions":
          return connected ? permissions() : [];
        case "wallet_revokePermissions":
          setConnected(false);
          return null;
        case "eth_chainId":
          return hex(chainId);
        case "net_version":
          return String(chainId);
        case "wallet_switchEthereumChain": {
          const wanted = Number((params[0] as { chainId: string }).chainId);
          if (!knownChains.has(wanted)) throw rpcError(4902, `Unrecognized chain ${wanted}`);
          chainId = wanted;
          store.setItem("testwallet.chainId", String(chainId));
          emit("chainChanged", hex(chainId));
          return null;
        }
        case "wallet_addEthereumChain": {
          // As MetaMask does (EIP-3085 lets a wallet choose): add the chain and switch to it.
          const added = Number((params[0] as { chainId: string }).chainId);
          knownChains.add(added);
          chainId = added;
          store.setItem("testwallet.chainId", String(chainId));
          emit("chainChanged", hex(chainId));
          return null;
        }
        default: {
          if (!connected && /^(eth_send|eth_sign|personal_sign)/.test(method)) throw rpcError(4100, "Unauthorized");
          if (chainId !== (options.appChainId ?? 31337) && /^(eth_send|eth_sign)/.test(method))
            throw rpcError(4901, "Wrong chain");
          const answer = await bridge(method, params);
          if (answer.error) throw rpcError(answer.error.code, answer.error.message, answer.error.data);
          return answer.result;
        }
      }
    },
    on(event: string, listener: Listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener);
      return provider;
    },
    removeListener(event: string, listener: Listener) {
      listeners.get(event)?.delete(listener);
      return provider;
    },
  };
  // For the test's own checks of the wallet (signing), never used by the app.
  (window as unknown as { consentryTestWallet: typeof provider }).consentryTestWallet = provider;
  const info = Object.freeze({
    uuid: crypto.randomUUID(),
    name: options.name,
    icon: options.icon,
    rdns: "org.consentry.testwallet",
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
}

export const WALLET_ICON = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b4f8a"/><path d="M8 16l6 6 10-12" stroke="#fff" stroke-width="4" fill="none"/></svg>',
).toString("base64")}`;
