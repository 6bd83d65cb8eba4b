import { expect } from "chai";

import { CATEGORIES } from "./codes.ts";
import {
  CVX_SYSTEM,
  PREVENTIVE_ACTIONS,
  criterionHash,
  findPreventiveAction,
  fluSeasonStart,
  periodAt,
} from "./prevention.ts";

describe("prevention programmes (sdk): the preventive actions and their periods", () => {
  it("names a criterion again from the hashes the contract holds; an unlisted code is not named", () => {
    for (const action of PREVENTIVE_ACTIONS) {
      expect(findPreventiveAction(criterionHash(action.system), criterionHash(action.code))).to.equal(action);
      // Each is a resource type the registry has a category for.
      expect(CATEGORIES[action.resourceType].bit).to.be.a("number");
    }
    expect(new Set(PREVENTIVE_ACTIONS.map((a) => a.id)).size).to.equal(PREVENTIVE_ACTIONS.length);
    expect(findPreventiveAction(criterionHash(CVX_SYSTEM), criterionHash("999"))).to.equal(undefined);
    const flu = PREVENTIVE_ACTIONS.find((a) => a.id === "flu-141")!;
    // Upper-case hex (as some tools print it) names it too.
    const upper = (h: string) => `0x${h.slice(2).toUpperCase()}` as `0x${string}`;
    expect(findPreventiveAction(upper(criterionHash(flu.system)), upper(criterionHash(flu.code)))).to.equal(flu);
  });

  it("starts the flu season on the latest 1 September (UTC) and counts periods from a programme's first", () => {
    const at = (iso: string) => Date.parse(iso) / 1000;
    expect(fluSeasonStart(at("2026-12-05T03:00:00Z"))).to.equal(at("2026-09-01T00:00:00Z"));
    expect(fluSeasonStart(at("2027-03-31T23:59:59Z"))).to.equal(at("2026-09-01T00:00:00Z"));
    expect(fluSeasonStart(at("2026-09-01T00:00:00Z"))).to.equal(at("2026-09-01T00:00:00Z"));
    expect(fluSeasonStart(at("2026-08-31T23:59:59Z"))).to.equal(at("2025-09-01T00:00:00Z"));
    expect(periodAt(100, 10, 100)).to.equal(0);
    expect(periodAt(100, 10, 119)).to.equal(1);
    expect(() => periodAt(100, 10, 99)).to.throw(RangeError);
  });
});
