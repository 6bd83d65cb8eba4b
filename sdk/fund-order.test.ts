import { expect } from "chai";
import type { Address } from "viem";

import { fundCreator, orderFunds } from "./fund-order.ts";
import type { Organization } from "./ledger.ts";

const at = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;
const organization = (address: Address, name: string, active: boolean): Organization => ({
  address,
  name,
  kind: "RESEARCHER",
  active,
  gatewayUrl: "",
  commercial: true,
  forProfit: true,
});

const READER = at(1);
const INSTITUTE = at(2);
const SUSPENDED = at(3);
const STRANGER = at(4);
const organizations = [
  organization(INSTITUTE, "Example Research Institute", true),
  organization(SUSPENDED, "Old Lab", false),
];
const fund = (n: number, creator: Address) => ({ address: at(100 + n), creator, cause: `fund ${n}` });

describe("sdk fund order: who stands behind a research fund, and the order they are listed in", () => {
  it("names the creator: the reader, an organization's own account (and whether its accreditation is active), anyone else", () => {
    expect(fundCreator(fund(1, READER), READER, organizations)).to.deep.equal({ kind: "you" });
    expect(fundCreator(fund(1, INSTITUTE), READER, organizations)).to.deep.equal({
      kind: "organization",
      name: "Example Research Institute",
      active: true,
    });
    expect(fundCreator(fund(1, SUSPENDED), READER, organizations)).to.deep.equal({
      kind: "organization",
      name: "Old Lab",
      active: false,
    });
    expect(fundCreator(fund(1, STRANGER), READER, organizations)).to.deep.equal({ kind: "account", address: STRANGER });
    // Addresses compare whatever their case; without a reader nobody is "you".
    expect(
      fundCreator(fund(1, READER.toUpperCase().replace("0X", "0x") as Address), READER, organizations).kind,
    ).to.equal("you");
    expect(fundCreator(fund(1, READER), undefined, organizations).kind).to.equal("account");
  });

  it("lists the reader's funds first, then an active organization's, then the rest, each in the order given", () => {
    // Newest first, as the indexer gives them: a run of strangers' funds on top.
    const funds = [
      fund(1, STRANGER),
      fund(2, STRANGER),
      fund(3, SUSPENDED),
      fund(4, INSTITUTE),
      fund(5, STRANGER),
      fund(6, READER),
      fund(7, INSTITUTE),
    ];
    const held = [fund(5, STRANGER).address];
    expect(orderFunds(funds, READER, held, organizations).map((f) => f.cause)).to.deep.equal([
      "fund 5",
      "fund 6",
      "fund 4",
      "fund 7",
      "fund 1",
      "fund 2",
      "fund 3",
    ]);
    // Without organizations known yet (still loading), only the reader's own come first.
    expect(orderFunds(funds, READER, held, []).map((f) => f.cause)).to.deep.equal([
      "fund 5",
      "fund 6",
      "fund 1",
      "fund 2",
      "fund 3",
      "fund 4",
      "fund 7",
    ]);
    expect(orderFunds([], READER, held, organizations)).to.deep.equal([]);
  });
});
