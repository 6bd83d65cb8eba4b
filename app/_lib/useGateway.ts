"use client";
/**
 * The sign-in state of one gateway for the connected wallet: restored from this tab when still
 * valid, otherwise one SIWE signature away.
 */
import { useCallback, useEffect, useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";

import { explainWalletError } from "#sdk/words.ts";
import {
  GatewayError,
  type GatewaySession,
  gatewayFetch,
  signInToGateway,
  storeSession,
  storedSession,
} from "./gateway.ts";

export type SignInState =
  | { phase: "signed-out" }
  | { phase: "signing" }
  | { phase: "signed-in"; session: GatewaySession }
  | { phase: "failed"; message: string };

export function useGatewaySession(origin: string | null, address: Address, custodianName: string) {
  const config = useConfig();
  const [state, setState] = useState<SignInState>({ phase: "signed-out" });

  useEffect(() => {
    if (!origin) return;
    const stored = storedSession(origin, address);
    setState(stored ? { phase: "signed-in", session: stored } : { phase: "signed-out" });
  }, [origin, address]);

  const signIn = useCallback(async () => {
    if (!origin) return;
    setState({ phase: "signing" });
    try {
      const session = await signInToGateway(config, origin, address, custodianName);
      setState({ phase: "signed-in", session });
    } catch (err) {
      const message = err instanceof GatewayError ? err.message : explainWalletError(err);
      setState({ phase: "failed", message });
    }
  }, [config, origin, address, custodianName]);

  const signOut = useCallback(() => {
    if (origin) {
      // The gateway ends the token too (best effort: it expires soon anyway).
      const stored = storedSession(origin, address);
      if (stored) void gatewayFetch(stored, "/auth/logout", { method: "POST", custodianName }).catch(() => undefined);
      storeSession(null, origin, address);
    }
    setState({ phase: "signed-out" });
  }, [origin, address, custodianName]);

  /** After linking a record: the session now knows its patient. */
  const setPatient = useCallback(
    (patient: string) => {
      setState((s) => {
        if (s.phase !== "signed-in" || !origin) return s;
        const session = { ...s.session, patient };
        storeSession(session, origin, address);
        return { phase: "signed-in", session };
      });
    },
    [origin, address],
  );

  /** A request answered 401: the token is gone; sign in again. */
  const expired = useCallback(() => {
    if (origin) storeSession(null, origin, address);
    setState({ phase: "failed", message: "Your sign-in at this gateway has expired: sign in again." });
  }, [origin, address]);

  return { state, signIn, signOut, setPatient, expired };
}
