import "./globals.css";

import type { Metadata, Viewport } from "next";
import { headers } from "next/headers";
import type { ReactNode } from "react";
import { cookieToInitialState } from "wagmi";

import { AccountBar } from "./_components/AccountBar.tsx";
import { SiteNav } from "./_components/SiteNav.tsx";
import { getConfig } from "./_lib/wagmi.ts";
import { Providers } from "./providers.tsx";

export const metadata: Metadata = {
  title: "Consentry — your health data, your consent",
  description: "See and manage who may use your health records, for what, and until when.",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: "#0b4f8a",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The wallet connection the browser had, from wagmi's cookie, so the first render matches it.
  const initialState = cookieToInitialState(getConfig(), (await headers()).get("cookie"));
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <Providers initialState={initialState}>
          <header className="site-header">
            <div className="site-header-inner">
              <p className="brand">
                <span aria-hidden="true" className="brand-mark">
                  ◆
                </span>{" "}
                Consentry
              </p>
              <SiteNav />
              <AccountBar />
            </div>
          </header>
          <main id="main" className="page">
            {children}
          </main>
        </Providers>
        <footer className="site-footer">
          <p>
            Your records stay with your hospitals and labs. Consentry only keeps a public list of who may read them and
            why. Anyone can see that list, but not your name: it knows you by your wallet.
          </p>
        </footer>
      </body>
    </html>
  );
}
