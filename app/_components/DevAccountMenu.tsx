"use client";
import { useSyncExternalStore } from "react";

import type { DemoAccountName } from "#sdk/demo.ts";
import { devWallet } from "../_lib/dev-wallet.ts";

const noop = () => () => undefined;

/** The development wallet's menu of people to act as (local chain only; see ../_lib/dev-wallet.ts). */
export default function DevAccountMenu() {
  const wallet = devWallet();
  const current = useSyncExternalStore(
    wallet ? (onChange) => wallet.subscribe(onChange) : noop,
    () => wallet?.current().account ?? null,
    () => null,
  );
  if (!wallet || !current) return null;
  return (
    <label className="dev-account">
      <span>Acting as</span>
      <select value={current} onChange={(e) => wallet.select(e.target.value as DemoAccountName)}>
        {wallet.roles.map((role) => (
          <option key={role.account} value={role.account}>
            {role.label}
          </option>
        ))}
      </select>
    </label>
  );
}
