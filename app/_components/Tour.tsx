"use client";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { privateKeyToAccount } from "viem/accounts";
import { useConnect, useConnection, useConnectors } from "wagmi";

import { DEMO_ACCOUNTS, DEV_PRIVATE_KEYS, DEV_WALLET_ROLES, type DemoAccountName } from "#sdk/demo.ts";
import { explainWalletError } from "#sdk/words.ts";
import { devWallet, installDevWallet } from "../_lib/dev-wallet.ts";
import { DEV_WALLET_RDNS, appChain } from "../_lib/wagmi.ts";

/**
 * The guided first tour of the local demo (local chain only, loaded like the development wallet):
 * the three stories of the product as steps. Each step switches the development wallet to the
 * person who acts and opens their page; the newcomer then does what the step says, on that page.
 */
interface Step {
  as: DemoAccountName;
  path: string;
  page: string;
  what: string;
  /** Whose address the step needs (to look a patient up): shown in full, to copy. */
  needs?: DemoAccountName;
}

interface Story {
  id: string;
  title: string;
  steps: Step[];
}

const PORTAL = { path: "/", page: "the patient portal" };
const PROVIDER = { path: "/provider", page: "the provider console" };
const RESEARCH = { path: "/research", page: "the research console" };

export const STORIES: readonly Story[] = [
  {
    id: "consent",
    title: "A hospital reads lab results with alice's consent, until she takes it back",
    steps: [
      {
        as: "alice",
        ...PORTAL,
        what: "Under Give consent, choose Treatment, St. Example Hospital, Lab results and vital signs, 1 month, then Give consent.",
      },
      {
        as: "clinician",
        ...PROVIDER,
        what: "Look alice up, choose Riverside Clinical Lab, sign in to it and open her records: her lab results show.",
        needs: "alice",
      },
      {
        as: "alice",
        ...PORTAL,
        what: "Revoke the consent you gave St. Example Hospital.",
      },
      {
        as: "clinician",
        ...PROVIDER,
        what: "Open alice's records at Riverside Clinical Lab again: this time the lab refuses.",
      },
      {
        as: "alice",
        ...PORTAL,
        what: "Under My records, sign in to Riverside Clinical Lab: your access log shows the clinician's read and the refused one.",
      },
    ],
  },
  {
    id: "research",
    title: "A research institute pays alice for her data",
    steps: [
      {
        as: "research",
        ...RESEARCH,
        what: "Get test money, then create and fund a study of lab results delivered by Riverside Clinical Lab.",
      },
      {
        as: "alice",
        ...PORTAL,
        what: "Under Research studies, join the new study without a fee, through Riverside Clinical Lab.",
      },
      {
        as: "research",
        ...RESEARCH,
        what: "Sign in to Riverside Clinical Lab and download the study's de-identified data: the lab reports alice's delivery, which pays her.",
      },
      {
        as: "alice",
        ...PORTAL,
        what: "Withdraw your earnings.",
      },
    ],
  },
  {
    id: "emergency",
    title: "A clinician opens emergency access, and alice sees it",
    steps: [
      {
        as: "clinician",
        ...PROVIDER,
        what: "Look alice up and open emergency access.",
        needs: "alice",
      },
      {
        as: "alice",
        ...PORTAL,
        what: "The emergency access is the first thing on your screen, with who, why and until when.",
      },
    ],
  },
];

const CURRENT_KEY = "consentry.tour.step";

/** The people of the demo by name and address (rendered on the server too: no layout shift). */
const ROLES = DEV_WALLET_ROLES.map((r) => ({
  ...r,
  address: privateKeyToAccount(DEV_PRIVATE_KEYS[DEMO_ACCOUNTS[r.account]]!).address,
}));

export default function Tour() {
  const router = useRouter();
  const pathname = usePathname();
  const connectors = useConnectors();
  const connect = useConnect();
  const { connector, isConnected } = useConnection();
  const [current, setCurrent] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => setCurrent(window.localStorage.getItem(CURRENT_KEY)), []);

  const role = (as: DemoAccountName) => ROLES.find((r) => r.account === as);
  const roleLabel = (as: DemoAccountName) => role(as)?.label ?? as;

  async function go(storyId: string, index: number, step: Step) {
    setProblem(null);
    const key = `${storyId}:${index}`;
    window.localStorage.setItem(CURRENT_KEY, key);
    setCurrent(key);
    try {
      // The wallet may not be installed yet (the page's first moments): install it here, once.
      (devWallet() ?? installDevWallet(appChain)).select(step.as);
      if (!isConnected || connector?.id !== DEV_WALLET_RDNS) {
        const wallet = connectors.find((c) => c.id === DEV_WALLET_RDNS);
        if (!wallet) throw new Error("The development wallet is not ready yet: try again in a moment.");
        await connect.mutateAsync({ connector: wallet });
      }
      router.push(step.path);
    } catch (error) {
      setProblem(`Could not start this step: ${explainWalletError(error)}`);
    }
  }

  const home = pathname === "/";
  return (
    <aside className="card tour" aria-labelledby="tour-heading">
      <h2 id="tour-heading">Try Consentry in three stories</h2>
      <details open={home}>
        <summary>{home ? "The stories, step by step" : "Show the stories"}</summary>
        <p>
          Each step switches the development wallet to the person who acts and opens their page; then do what the step
          says there. Go in order: each story builds on the step before.
        </p>
        {STORIES.map((story) => (
          <section key={story.id} aria-labelledby={`tour-${story.id}`}>
            <h3 id={`tour-${story.id}`}>{story.title}</h3>
            <ol className="tour-steps">
              {story.steps.map((step, index) => {
                const key = `${story.id}:${index}`;
                return (
                  <li key={key} aria-current={current === key ? "step" : undefined}>
                    {/* The accessible name starts with the visible text (WCAG 2.5.3, label in name). */}
                    <button
                      type="button"
                      className="button small"
                      aria-label={`Go: as ${roleLabel(step.as)}, step ${index + 1} of ${story.title}, on ${step.page}`}
                      onClick={() => void go(story.id, index, step)}
                    >
                      Go: as {roleLabel(step.as)}
                    </button>{" "}
                    <span>{step.what}</span>
                    {step.needs && role(step.needs) ? (
                      <>
                        {" "}
                        <span>
                          {step.needs}&apos;s address: <code className="address">{role(step.needs)!.address}</code>
                        </span>
                      </>
                    ) : null}
                  </li>
                );
              })}
            </ol>
          </section>
        ))}
      </details>
      <p className="tx-status tx-error" role="status" aria-live="polite">
        {problem}
      </p>
    </aside>
  );
}
