import { inspect } from "node:util";

/**
 * A value that must not end up in logs: printing, JSON-serializing or inspecting it yields
 * "[redacted]". Use `reveal()` at the one place that needs the value.
 */
export class Secret<T> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [inspect.custom](): string {
    return "Secret([redacted])";
  }
}
