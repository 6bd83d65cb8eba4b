import { expect } from "chai";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";

import { DEMO_ACCOUNTS, DEV_PRIVATE_KEYS, DEV_WALLET_ROLES } from "./demo.ts";

describe("development accounts", () => {
  it("are the keys of Hardhat's public development mnemonic", () => {
    const mnemonic = "test test test test test test test test test test test junk";
    DEV_PRIVATE_KEYS.forEach((key, addressIndex) => {
      expect(privateKeyToAccount(key).address, `account #${addressIndex}`).to.equal(
        mnemonicToAccount(mnemonic, { addressIndex }).address,
      );
    });
  });

  it("name every demo role once, each with a key", () => {
    const names = DEV_WALLET_ROLES.map((r) => r.account);
    expect(new Set(names).size).to.equal(names.length);
    for (const name of names) expect(DEV_PRIVATE_KEYS[DEMO_ACCOUNTS[name]]).to.match(/^0x[0-9a-f]{64}$/);
  });
});
