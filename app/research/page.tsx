import type { Metadata } from "next";

import { LocalTour } from "../_components/LocalTour.tsx";
import { ResearchConsole } from "./_components/ResearchConsole.tsx";

export const metadata: Metadata = { title: "Research studies — Consentry" };

export default function ResearchPage() {
  return (
    <>
      <h1>Research studies</h1>
      <p className="lead">
        Create a study, fund it in one transaction, and follow who takes part and what it has paid. Patients join by
        themselves; each delivery of a participant&apos;s data by a hospital or lab pays the patient out of the budget.
      </p>
      <LocalTour />
      <ResearchConsole />
    </>
  );
}
