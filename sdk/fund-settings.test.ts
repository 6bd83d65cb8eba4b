import { expect } from "chai";

import { END_MARGIN_SECONDS, FUND_BOUNDS, checkFundSettings, durationWords } from "./fund-settings.ts";

const NOW = 1_800_000_000;
const HOUR = 3_600;
const DAY = 86_400;
const valid = {
  cause: "Rare disease X",
  goal: 10n ** 21n,
  end: NOW + 365 * DAY,
  quorumPercent: 20,
  votingPeriod: 3 * DAY,
  timelockDelay: 2 * DAY,
};
const fields = (overrides: Partial<typeof valid>) =>
  checkFundSettings({ ...valid, ...overrides }, NOW).map((p) => p.field);

describe("sdk fund settings: the contract's bounds, refused in words before anything is signed", () => {
  it("accepts settings within the bounds, and at each bound", () => {
    expect(checkFundSettings(valid, NOW)).to.deep.equal([]);
    expect(
      fields({
        cause: "x".repeat(200),
        quorumPercent: 4,
        votingPeriod: HOUR,
        timelockDelay: 30 * DAY,
        end: NOW + HOUR + 30 * DAY + END_MARGIN_SECONDS + 1,
      }),
    ).to.deep.equal([]);
    expect(
      fields({ quorumPercent: 100, votingPeriod: 30 * DAY, timelockDelay: HOUR, end: NOW + 3_650 * DAY }),
    ).to.deep.equal([]);
  });

  it("refuses each setting beyond its bound, with its own sentence", () => {
    expect(fields({ cause: "  " })).to.deep.equal(["cause"]);
    expect(fields({ cause: "é".repeat(101) })).to.deep.equal(["cause"]); // 202 bytes of UTF-8
    expect(checkFundSettings({ ...valid, cause: "é".repeat(101) }, NOW)[0]!.message).to.include("it is 202");
    expect(fields({ goal: 0n })).to.deep.equal(["goal"]);
    expect(fields({ goal: FUND_BOUNDS.maxGoal + 1n })).to.deep.equal(["goal"]);
    expect(fields({ quorumPercent: 3 })).to.deep.equal(["quorumPercent"]);
    expect(fields({ quorumPercent: 101 })).to.deep.equal(["quorumPercent"]);
    expect(fields({ quorumPercent: 20.5 })).to.deep.equal(["quorumPercent"]);
    expect(fields({ votingPeriod: HOUR - 1 })).to.deep.equal(["votingPeriod"]);
    expect(fields({ votingPeriod: 30 * DAY + 1 })).to.deep.equal(["votingPeriod"]);
    expect(fields({ timelockDelay: HOUR - 1 })).to.deep.equal(["timelockDelay"]);
    expect(fields({ timelockDelay: 30 * DAY + 1 })).to.deep.equal(["timelockDelay"]);
    expect(fields({ end: NOW + 3_650 * DAY + 1 })).to.deep.equal(["end"]);
    expect(fields({ end: NOW + 5 * DAY })).to.deep.equal(["end"]);
    expect(checkFundSettings({ ...valid, end: NOW + 5 * DAY }, NOW)[0]!.message).to.equal(
      "The fund must end more than 5 days from now: room for one vote (3 days) and its timelock delay (2 days).",
    );
    expect(fields({ end: NOW - 1, votingPeriod: 0 })).to.deep.equal(["votingPeriod", "end"]);
  });

  it("says durations in days or hours", () => {
    expect([durationWords(HOUR), durationWords(36 * HOUR), durationWords(DAY), durationWords(30 * DAY)]).to.deep.equal([
      "1 hour",
      "36 hours",
      "1 day",
      "30 days",
    ]);
  });
});
