/**
 * What the connected account is in the registry: the organization it acts for (its own address or
 * one it is a member of), its role, that organization's kind and status, and whether it holds the
 * governance role. The consoles and the navigation decide from this what the account can use; the
 * contracts still decide every action.
 */
import { useQuery } from "@tanstack/react-query";
import { type Address, keccak256, toHex, zeroAddress } from "viem";

import { KINDS, type KindName, ORGANIZATION_STATUS, ROLES, type RoleName } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { LEDGER_KEY, useLedgerClient } from "./ledger.ts";
import { registryAddress } from "./wagmi.ts";

/** keccak256("GOVERNANCE_ROLE"), as OrganizationRegistry defines it. */
export const GOVERNANCE_ROLE = keccak256(toHex("GOVERNANCE_ROLE"));

export interface AccountStanding {
  /** The organization the account acts for; null for a patient (or any unknown address). */
  organization: Address | null;
  /** ORGANIZATION when the account is the organization's own address. */
  role: RoleName | null;
  kind: KindName | null;
  active: boolean;
  governance: boolean;
}

const nameOf = <T extends Record<string, number>>(table: T, value: number) =>
  (Object.keys(table) as (keyof T & string)[]).find((k) => table[k] === value) ?? null;

export function useAccountStanding(account: Address | undefined) {
  const client = useLedgerClient();
  return useQuery({
    queryKey: [LEDGER_KEY, "standing", registryAddress, account],
    enabled: !!client && !!registryAddress && !!account,
    queryFn: async (): Promise<AccountStanding> => {
      const read = { address: registryAddress!, abi: consentRegistryAbi } as const;
      const [[organization, role, kind, status], governance] = await Promise.all([
        client!.readContract({ ...read, functionName: "accountOf", args: [account!] }),
        client!.readContract({ ...read, functionName: "hasRole", args: [GOVERNANCE_ROLE, account!] }),
      ]);
      const known = organization !== zeroAddress;
      return {
        organization: known ? organization : null,
        role: known ? nameOf(ROLES, role) : null,
        kind: known ? nameOf(KINDS, kind) : null,
        active: known && status === ORGANIZATION_STATUS.Active,
        governance,
      };
    },
  });
}

/** The consoles, and whether an account's standing lets it act in each. */
export const CONSOLES = [
  { href: "/", label: "Patient", usable: () => true },
  // A patient's prevention programmes (any account that is no organization's).
  { href: "/prevention", label: "Prevention", usable: (s: AccountStanding) => s.organization === null },
  {
    href: "/provider",
    label: "Provider",
    usable: (s: AccountStanding) =>
      s.kind === "PROVIDER" && s.active && (s.role === "CLINICIAN" || s.role === "ADMIN" || s.role === "ORGANIZATION"),
  },
  {
    href: "/research",
    label: "Research",
    usable: (s: AccountStanding) =>
      s.kind === "RESEARCHER" && s.active && (s.role === "ORGANIZATION" || s.role === "ADMIN" || s.role === "ANALYST"),
  },
  { href: "/governance", label: "Governance", usable: (s: AccountStanding) => s.governance },
  // Anyone may contribute to a research fund; members propose, vote and redeem there.
  { href: "/funds", label: "Research funds", usable: () => true },
  {
    href: "/payer",
    label: "Payer",
    usable: (s: AccountStanding) =>
      (s.kind === "PAYER" || s.kind === "PUBLIC_HEALTH") &&
      s.active &&
      (s.role === "ORGANIZATION" || s.role === "ADMIN"),
  },
] as const;
