/**
 * The development wallet: a wallet inside the app for the local development chain only, so that a
 * newcomer can try every role of the demo in one browser with nothing to install. It is an
 * EIP-1193 provider announced through EIP-6963 like any browser wallet, so it appears in the same
 * connect dialog; it signs for real, in the page, with Hardhat's public development keys
 * (`sdk/demo.ts`), and sends raw transactions to the chain. Its menu switches between the
 * demo's people; each switch is a wallet's `accountsChanged`, so every page follows.
 *
 * Only ever loaded by a dynamic import behind `DEV_WALLET_ENABLED` (./wagmi.ts), which the build
 * fixes: a build for any other chain contains neither this module nor the keys (a test proves it).
 */
import { type Address, type Chain, type Hex, createWalletClient, http, isAddressEqual, numberToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { DEMO_ACCOUNTS, DEV_PRIVATE_KEYS, DEV_WALLET_ROLES, type DemoAccountName } from "#sdk/demo.ts";
import { typedDataFromJson } from "#sdk/eip712.ts";
import { DEV_WALLET_NAME, DEV_WALLET_RDNS } from "./wagmi.ts";
const ICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#7a3e00"/><path d="M9 11h14v12H9z" fill="none" stroke="#fff" stroke-width="2.5"/><path d="M12 11V8h8v3" fill="none" stroke="#fff" stroke-width="2.5"/></svg>',
)}`;

const ACCOUNT_KEY = "consentry.devWallet.account";
const CONNECTED_KEY = "consentry.devWallet.connected";

export interface DevWalletRole {
  account: DemoAccountName;
  label: string;
  address: Address;
}

type Listener = (...args: unknown[]) => void;

export interface DevWallet {
  readonly roles: readonly DevWalletRole[];
  /** The role the wallet signs as now. */
  current(): DevWalletRole;
  /** Signs as another role from now on (the app hears `accountsChanged`). */
  select(account: DemoAccountName): void;
  /** Called with the new role after each `select`. */
  subscribe(listener: (role: DevWalletRole) => void): () => void;
}

/** An EIP-1193 error: a message and its standard code (4100 unauthorized, 4200 unsupported, …). */
class ProviderRpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

let installed: DevWallet | null = null;

/** The wallet, once `installDevWallet` has run in this page. */
export function devWallet(): DevWallet | null {
  return installed;
}

/** Installs and announces the wallet for `chain` (once per page); returns it. */
export function installDevWallet(chain: Chain): DevWallet {
  if (installed) return installed;
  const rpcUrl = chain.rpcUrls.default.http[0]!;
  const roles: DevWalletRole[] = DEV_WALLET_ROLES.map(({ account, label }) => ({
    account,
    label,
    address: privateKeyToAccount(DEV_PRIVATE_KEYS[DEMO_ACCOUNTS[account]]!).address,
  }));
  const store = window.localStorage;
  const stored = store.getItem(ACCOUNT_KEY);
  let role = roles.find((r) => r.account === stored) ?? roles[0]!;
  let connected = store.getItem(CONNECTED_KEY) === "1";
  const listeners = new Map<string, Set<Listener>>();
  const roleListeners = new Set<(role: DevWalletRole) => void>();
  const emit = (event: string, ...args: unknown[]) => listeners.get(event)?.forEach((f) => f(...args));
  const setConnected = (value: boolean) => {
    connected = value;
    store.setItem(CONNECTED_KEY, value ? "1" : "0");
    emit("accountsChanged", value ? [role.address] : []);
  };
  const signer = () => privateKeyToAccount(DEV_PRIVATE_KEYS[DEMO_ACCOUNTS[role.account]]!);
  const permissions = () => [{ parentCapability: "eth_accounts", caveats: [] }];
  const requireConnected = (from?: unknown) => {
    if (!connected) throw new ProviderRpcError(4100, "The development wallet is not connected to this site.");
    if (typeof from === "string" && !isAddressEqual(from as Address, role.address)) {
      throw new ProviderRpcError(4100, `The development wallet signs as ${role.label}, not as ${from}.`);
    }
  };

  const provider = {
    async request({ method, params = [] }: { method: string; params?: readonly unknown[] }): Promise<unknown> {
      switch (method) {
        case "eth_accounts":
          return connected ? [role.address] : [];
        case "eth_requestAccounts":
          if (!connected) setConnected(true);
          return [role.address];
        case "wallet_requestPermissions":
          if (!connected) setConnected(true);
          return permissions();
        case "wallet_getPermissions":
          return connected ? permissions() : [];
        case "wallet_revokePermissions":
          setConnected(false);
          return null;
        case "eth_chainId":
          return numberToHex(chain.id);
        case "net_version":
          return String(chain.id);
        case "wallet_switchEthereumChain":
        case "wallet_addEthereumChain": {
          const wanted = Number((params[0] as { chainId: string }).chainId);
          if (wanted !== chain.id) {
            throw new ProviderRpcError(4902, `The development wallet knows only ${chain.name} (chain ${chain.id}).`);
          }
          return null;
        }
        case "personal_sign": {
          requireConnected(params[1]);
          return signer().signMessage({ message: { raw: params[0] as Hex } });
        }
        case "eth_signTypedData_v4": {
          requireConnected(params[0]);
          return signer().signTypedData(typedDataFromJson(params[1] as string) as never);
        }
        case "eth_sendTransaction": {
          const [tx] = params as [{ from: Address; to?: Address; data?: Hex; value?: Hex; gas?: Hex }];
          requireConnected(tx.from);
          const wallet = createWalletClient({ account: signer(), chain, transport: http(rpcUrl) });
          return wallet.sendTransaction({
            to: tx.to ?? null,
            data: tx.data,
            value: tx.value ? BigInt(tx.value) : 0n,
            ...(tx.gas ? { gas: BigInt(tx.gas) } : {}),
          });
        }
        default: {
          if (/^(eth_sign|eth_send|wallet_)/.test(method)) {
            throw new ProviderRpcError(4200, `The development wallet does not support ${method}.`);
          }
          const res = await fetch(rpcUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
          });
          const body = (await res.json()) as {
            result?: unknown;
            error?: { code: number; message: string; data?: unknown };
          };
          if (body.error) throw new ProviderRpcError(body.error.code, body.error.message, body.error.data);
          return body.result;
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

  installed = {
    roles,
    current: () => role,
    select(account) {
      const next = roles.find((r) => r.account === account);
      if (!next || next === role) return;
      role = next;
      store.setItem(ACCOUNT_KEY, account);
      if (connected) emit("accountsChanged", [role.address]);
      roleListeners.forEach((f) => f(role));
    },
    subscribe(listener) {
      roleListeners.add(listener);
      return () => roleListeners.delete(listener);
    },
  };

  const info = Object.freeze({ uuid: crypto.randomUUID(), name: DEV_WALLET_NAME, icon: ICON, rdns: DEV_WALLET_RDNS });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  return installed;
}
