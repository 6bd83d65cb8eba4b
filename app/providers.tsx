"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import { type State, WagmiProvider } from "wagmi";
import { hashFn } from "wagmi/query";

import { getConfig } from "./_lib/wagmi.ts";

/** One wagmi config and one query cache per browser tab, created once (never shared across requests). */
export function Providers({ children, initialState }: { children: ReactNode; initialState: State | undefined }) {
  const [config] = useState(() => getConfig());
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: { queries: { queryKeyHashFn: hashFn, staleTime: 1_000, refetchOnWindowFocus: false } },
      }),
  );
  return (
    <WagmiProvider config={config} initialState={initialState}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </WagmiProvider>
  );
}
