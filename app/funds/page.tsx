import type { Metadata } from "next";

import { FundsConsole } from "./_components/FundsConsole.tsx";

export const metadata: Metadata = { title: "Research funds — Consentry" };

export default function FundsPage() {
  return (
    <>
      <h1>Research funds</h1>
      <p className="lead">
        Pool money for research on one cause with other patients, foundations and researchers. Members vote on which
        studies of accredited researchers the fund pays for; a passed vote waits in a timelock, so a member who
        disagrees can leave with its share first. When the fund ends, every member takes back its share of what is left.
      </p>
      <FundsConsole />
    </>
  );
}
