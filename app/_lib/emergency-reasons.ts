/**
 * Break-glass reasons the clinician's console keeps (this browser's localStorage), by the
 * commitment the registry holds: the reason never goes on the chain (a watcher would learn why a
 * patient needed emergency care), so the console that opened the access keeps the reason and the
 * random salt of its commitment, and sends both with each emergency read to the custodian's
 * gateway (X-Emergency-Reason), which checks them against the commitment and writes the reason
 * into the patient's access log.
 */
import type { Address, Hex } from "viem";

import {
  type EmergencyReason,
  type EmergencyReasonCode,
  emergencyReasonCommitment,
  newEmergencyReasonSalt,
  parseEmergencyReason,
  formatEmergencyReason,
} from "#sdk/codes.ts";

const KEY = "consentry.emergency-reasons";

function load(): Record<string, string> {
  const raw = typeof localStorage === "undefined" ? null : localStorage.getItem(KEY);
  try {
    return raw ? (JSON.parse(raw) as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** A new reason (fresh salt) for an opening, its commitment, kept here before the opening is sent. */
export function commitEmergencyReason(
  at: { chainId: number; registry: Address; patient: Address; organization: Address },
  reasonCode: EmergencyReasonCode,
): Hex {
  const reason: EmergencyReason = { reasonCode, salt: newEmergencyReasonSalt() };
  const commitment = emergencyReasonCommitment(at, reason);
  localStorage.setItem(KEY, JSON.stringify({ ...load(), [commitment.toLowerCase()]: formatEmergencyReason(reason) }));
  return commitment;
}

/** The kept reason of the opening with this commitment, or null (opened from another console). */
export function keptEmergencyReason(commitment: Hex): EmergencyReason | null {
  return parseEmergencyReason(load()[commitment.toLowerCase()]);
}
