import type { Metadata } from "next";

import { PreventionPortal } from "./_components/PreventionPortal.tsx";

export const metadata: Metadata = { title: "Prevention programmes — Consentry" };

export default function PreventionPage() {
  return (
    <>
      <h1>Prevention programmes</h1>
      <p className="lead">
        Some health insurers and public health bodies reward you for care that keeps you well, such as a flu
        vaccination. Join a programme. When your hospital or lab confirms that you had the care, you are paid. Your
        records stay with them.
      </p>
      <PreventionPortal />
    </>
  );
}
