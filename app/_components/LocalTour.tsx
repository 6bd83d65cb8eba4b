"use client";
import dynamic from "next/dynamic";

// DEV_WALLET_ENABLED (../_lib/wagmi.ts), written in place: a build for another chain drops this
// import, and with it the tour.
const Tour =
  (process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_ID ?? "31337") === "31337" ? dynamic(() => import("./Tour.tsx")) : null;

/** The guided tour of the local demo (./Tour.tsx), rendered on the server too; nothing on any other chain. */
export function LocalTour() {
  return Tour ? <Tour /> : null;
}
