import type { Metadata } from "next";

import { PayerConsole } from "./_components/PayerConsole.tsx";

export const metadata: Metadata = { title: "Prevention programmes for payers — Consentry" };

export default function PayerPage() {
  return (
    <>
      <h1>Prevention programmes: payer console</h1>
      <p className="lead">
        Reward your members for preventive care. Create a programme for one coded action, fund it in one transaction,
        and follow the confirmations that hospitals and labs send: you learn only that a member&apos;s care met the
        criterion, never a record.
      </p>
      <PayerConsole />
    </>
  );
}
