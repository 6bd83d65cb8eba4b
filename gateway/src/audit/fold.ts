/**
 * Folds a reader's repeated refused attempts on one patient into one AuditEvent with a count, so
 * that a patient's access log stays readable when someone knocks a thousand times, and still shows
 * every attempt. The first refused attempt of a reader on a patient (for one reason: the same
 * `outcomeDesc`) is appended at once, as any AuditEvent; the reader's next attempts on that patient
 * refused for the same reason within `windowMs` are only counted, and when the window ends (its timer, the next attempt after it, or the app closing) one
 * more AuditEvent is appended: the last attempt, with `period` from the first counted attempt to
 * the last, an entity detail `attempts` = how many, and the count in `outcomeDesc`. Both are
 * ordinary entries of the hash chain (audit/log.ts): nothing is ever updated.
 *
 * Per process, in memory: a crash loses at most the counts of open windows (never an allowed
 * access, which is never folded), and at most `maxOpen` windows are open (the oldest is ended first).
 */
import type { AuditEvent } from "@medplum/fhirtypes";
import type { GatewayDb } from "../store/database.ts";
import { appendAudit } from "./log.ts";

interface Window {
  /** When the window opened (its first attempt, written at once). */
  opened: number;
  /** The attempts counted since, the first and last of them, and the last one's event. */
  count: number;
  first: Date | undefined;
  last: AuditEvent | undefined;
  timer: NodeJS.Timeout;
}

export class RefusalFolder {
  readonly #db: GatewayDb;
  readonly #windowMs: number;
  readonly #maxOpen: number;
  readonly #onError: (err: unknown) => void;
  readonly #open = new Map<string, Window>();
  #pending = new Set<Promise<void>>();

  constructor(db: GatewayDb, options: { windowMs?: number; maxOpen?: number; onError?: (err: unknown) => void } = {}) {
    this.#db = db;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxOpen = options.maxOpen ?? 10_000;
    this.#onError = options.onError ?? (() => undefined);
  }

  /**
   * Records a refused attempt of `reader` on `patient`: appended now when no window of theirs is
   * open (then one opens), else counted. Resolves once what had to be written is committed.
   */
  async record(reader: string, patient: string, event: AuditEvent): Promise<void> {
    const key = `${reader.toLowerCase()} ${patient} ${event.outcomeDesc ?? ""}`;
    const at = new Date(event.recorded ?? Date.now());
    const open = this.#open.get(key);
    if (open && at.getTime() - open.opened < this.#windowMs) {
      open.count++;
      open.first ??= at;
      open.last = event;
      return;
    }
    if (open) await this.#end(key, open);
    if (this.#open.size >= this.#maxOpen) {
      const [oldestKey, oldest] = this.#open.entries().next().value as [string, Window];
      await this.#end(oldestKey, oldest);
    }
    await appendAudit(this.#db, event);
    const timer = setTimeout(() => {
      const window = this.#open.get(key);
      if (window) this.#track(this.#end(key, window).catch(this.#onError));
    }, this.#windowMs);
    timer.unref();
    this.#open.set(key, { opened: at.getTime(), count: 0, first: undefined, last: undefined, timer });
  }

  /** Ends every open window now (writing their counts) and waits for what is being written. */
  async flush(): Promise<void> {
    const open = [...this.#open.entries()];
    await Promise.all(open.map(([key, window]) => this.#end(key, window)));
    await Promise.all(this.#pending);
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  async #end(key: string, window: Window): Promise<void> {
    if (this.#open.get(key) !== window) return;
    this.#open.delete(key);
    clearTimeout(window.timer);
    if (window.count === 0 || !window.last || !window.first) return;
    await appendAudit(this.#db, folded(window.last, window.count, window.first));
  }
}

/** The last of `count` refused attempts (the first of them at `first`), standing for all of them. */
export function folded(last: AuditEvent, count: number, first: Date): AuditEvent {
  const event = structuredClone(last);
  const end = last.recorded!;
  event.period = { start: first.toISOString(), end };
  const what = `${count} more refused attempts by this reader on this patient from ${first.toISOString()} to ${end}`;
  event.outcomeDesc = `${what}; the last: ${last.outcomeDesc ?? "refused"}`.slice(0, 1500);
  const target = event.entity?.[0];
  const detail = { type: "attempts", valueString: String(count) };
  if (target) target.detail = [...(target.detail ?? []), detail];
  return event;
}
