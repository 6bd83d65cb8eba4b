/**
 * Canonical JSON (the RFC 8785 / JCS shape for the values an AuditEvent holds): object keys
 * sorted by UTF-16 code units, no whitespace, strings and numbers as ECMAScript JSON.stringify
 * writes them, `undefined` members omitted. Equal JSON values → byte-identical text, whatever
 * key order a database (jsonb) hands back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("canonicalJson: non-finite number");
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
      const obj = value as Record<string, unknown>;
      if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
        return canonicalJson((obj as { toJSON: () => unknown }).toJSON());
      }
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
  }
}
