/**
 * axe-core over every route and role (issue 18, item 5): WCAG 2.0–2.2 A and AA rules, no
 * violation allowed, at phone and desktop width. Each route is scanned as a first-time visitor
 * (no wallet connected) and connected as each demo person the route is for, plus the patient on
 * every route (a patient may wander). The patient has a consent and a delegate so that her lists
 * are not empty. Real stack, production build, Debian's Chromium.
 */
import { expect } from "chai";
import type { LocalAccount } from "viem";

import { categoriesToMask, encodePurpose } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import type { DemoAccountName } from "#sdk/demo.ts";
import { violations } from "./lib/axe.ts";
import { type Environment, connect, pageProblems, startEnvironment } from "./lib/environment.ts";
import { devAccount, publicClient, walletOf } from "./lib/wallet.ts";

const ROUTES = ["/", "/prevention", "/provider", "/research", "/governance", "/payer", "/funds"] as const;

/** Who is connected on which routes: each role on its console, the patient everywhere. */
const ROLES: { who: DemoAccountName; routes: readonly string[] }[] = [
  { who: "alice", routes: ROUTES },
  { who: "clinician", routes: ["/provider"] },
  { who: "hospital", routes: ["/research", "/provider"] },
  { who: "research", routes: ["/research"] },
  { who: "analyst", routes: ["/research"] },
  { who: "governance", routes: ["/governance"] },
  { who: "payer", routes: ["/payer"] },
];

describe("axe-core: no WCAG 2.2 A/AA violation on any route, in any role (browser, end to end)", function () {
  this.timeout(1_200_000);

  let environment: Environment | null = null;

  before(async function () {
    environment = await startEnvironment();
    if (!environment) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    // The patient has something in her lists: a consent to the hospital, and a delegate.
    const registry = environment.deployments.ConsentRegistry;
    const alice: LocalAccount = devAccount("alice");
    const hospital = devAccount("hospital").address;
    const expiresAt = Math.floor(Date.now() / 1000) + 30 * 86_400;
    for (const [functionName, args] of [
      ["grant", [hospital, categoriesToMask(["Observation"]), encodePurpose("TREAT"), 0, expiresAt]],
      ["appointDelegate", [devAccount("bob").address, 0]],
    ] as const) {
      const hash = await walletOf(alice).writeContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName,
        args: args as never,
      });
      expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    }
  });

  after(async function () {
    this.timeout(60_000);
    await environment?.stop();
  });

  it("first visit, no wallet connected: every route", async () => {
    const visitor = await environment!.walletPage(devAccount("bob"));
    const found: string[] = [];
    for (const route of ROUTES) {
      await visitor.page.goto(`${environment!.baseUrl}${route}`);
      await visitor.page.getByRole("heading", { name: "Connect your wallet" }).waitFor();
      found.push(...(await violations(visitor.page, `${route} (not connected)`)));
    }
    expect(found, found.join("\n")).to.deep.equal([]);
    await visitor.context.close();
  });

  for (const { who, routes } of ROLES) {
    it(`connected as ${who}: ${routes.join(", ")}`, async () => {
      const wallet = await environment!.walletPage(devAccount(who));
      const found: string[] = [];
      for (const [i, route] of routes.entries()) {
        if (i === 0) await connect(wallet.page, environment!.baseUrl, route);
        else await wallet.page.goto(`${environment!.baseUrl}${route}`);
        await wallet.page.locator(".account").first().waitFor();
        // Settled: nothing is still "Loading…" or "Reading…".
        await wallet.page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0, null, {
          timeout: 20_000,
        });
        await wallet.page.waitForTimeout(500);
        found.push(...(await violations(wallet.page, `${route} as ${who}`)));
      }
      expect(found, found.join("\n")).to.deep.equal([]);
      expect(pageProblems(wallet), pageProblems(wallet).join("\n")).to.deep.equal([]);
      await wallet.context.close();
    });
  }
});
