"use client";
/**
 * Names the patient gives to wallets (her own, her delegates'), kept in this browser only
 * (localStorage): the portal shows people by name, and their addresses only under "Details".
 */
import { useCallback, useSyncExternalStore } from "react";

const KEY = "consentry.names";
const listeners = new Set<() => void>();
let cache: { raw: string | null; names: Record<string, string> } = { raw: null, names: {} };

function read(): Record<string, string> {
  const raw = typeof localStorage === "undefined" ? null : localStorage.getItem(KEY);
  if (raw !== cache.raw) {
    let names: Record<string, string> = {};
    try {
      const parsed = raw ? (JSON.parse(raw) as unknown) : {};
      if (parsed && typeof parsed === "object") names = parsed as Record<string, string>;
    } catch {
      names = {};
    }
    cache = { raw, names };
  }
  return cache.names;
}

function subscribe(onChange: () => void) {
  listeners.add(onChange);
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) onChange();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(onChange);
    window.removeEventListener("storage", onStorage);
  };
}

const EMPTY: Record<string, string> = {};

/** The names given in this browser, by lowercase address, and a setter ("" forgets a name). */
export function useNames() {
  const names = useSyncExternalStore(subscribe, read, () => EMPTY);
  const setName = useCallback((address: string, name: string) => {
    const next = { ...read() };
    const trimmed = name.trim();
    if (trimmed) next[address.toLowerCase()] = trimmed;
    else delete next[address.toLowerCase()];
    localStorage.setItem(KEY, JSON.stringify(next));
    for (const l of listeners) l();
  }, []);
  const nameOf = useCallback((address: string) => names[address.toLowerCase()], [names]);
  return { nameOf, setName };
}
