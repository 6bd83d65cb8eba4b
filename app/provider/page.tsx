import type { Metadata } from "next";

import { LocalTour } from "../_components/LocalTour.tsx";
import { ProviderConsole } from "./_components/ProviderConsole.tsx";

export const metadata: Metadata = { title: "Provider console — Consentry" };

export default function ProviderPage() {
  return (
    <>
      <h1>Provider console</h1>
      <p className="lead">
        Look a patient up by their address, see what they consented to for your organization, and in an emergency open
        short, logged access to their records.
      </p>
      <LocalTour />
      <ProviderConsole />
    </>
  );
}
