"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { type ReactNode, useEffect, useState } from "react";
import { type State, WagmiProvider } from "wagmi";
import { reconnect } from "wagmi/actions";
import { hashFn } from "wagmi/query";

import { DEV_WALLET_RDNS, getConfig, appChain } from "./_lib/wagmi.ts";

/** One wagmi config and one query cache per browser tab, created once (never shared across requests). */
export function Providers({ children, initialState }: { children: ReactNode; initialState: State | undefined }) {
  const [config] = useState(() => getConfig());
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: { queries: { queryKeyHashFn: hashFn, staleTime: 1_000, refetchOnWindowFocus: false } },
      }),
  );
  useEffect(() => {
    if ((process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_ID ?? "31337") !== "31337") return; // DEV_WALLET_ENABLED, in place
    // The local chain's development wallet, announced like any wallet. It arrives after wagmi's own
    // reconnect on mount, so a page reloaded while connected to it reconnects here.
    void import("./_lib/dev-wallet.ts").then(async ({ installDevWallet }) => {
      installDevWallet(appChain);
      if ((await config.storage?.getItem("recentConnectorId")) === DEV_WALLET_RDNS) await reconnect(config);
    });
  }, [config]);
  return (
    <WagmiProvider config={config} initialState={initialState}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </WagmiProvider>
  );
}
