"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useConnection } from "wagmi";

import { useMounted } from "../_lib/clock.ts";
import { CONSOLES, useAccountStanding } from "../_lib/roles.ts";

/** Patient · Prevention · Provider · Research · Governance · Research funds · Payer: every console is reachable; those the connected
 * account can act in are marked (the contracts decide in the end). */
export function SiteNav() {
  const pathname = usePathname();
  const mounted = useMounted();
  const { address, isConnected } = useConnection();
  const { data: standing } = useAccountStanding(mounted && isConnected ? address : undefined);
  return (
    <nav className="site-nav" aria-label="Consoles">
      <ul>
        {CONSOLES.map((c) => {
          const current = c.href === "/" ? pathname === "/" : pathname.startsWith(c.href);
          const usable = !!standing && c.usable(standing);
          return (
            <li key={c.href}>
              <Link
                href={c.href}
                aria-current={current ? "page" : undefined}
                className={usable ? "nav-usable" : undefined}
              >
                {c.label}
                {usable ? <span className="visually-hidden"> (your account can act here)</span> : null}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
