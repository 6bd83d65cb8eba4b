/**
 * The field of a form that asks for an address (a patient, a delegate, an organization, a member):
 * its label, help and error under it, tied to the input for screen readers. Parse what was typed
 * with `parseAddressInput` (../_lib/address.ts) when the form is sent.
 */
export function AddressField({
  id,
  label,
  value,
  onChange,
  error,
  help,
  placeholder = "0x…",
  alert = false,
}: {
  /** The input's id; the help and the error take `${id}-help` and `${id}-error`. */
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error: string | undefined;
  help?: string;
  placeholder?: string;
  /** The error is announced at once (a form with no error summary and no status line). */
  alert?: boolean;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        autoComplete="off"
        spellCheck={false}
        placeholder={placeholder}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={!!error}
        aria-describedby={help ? `${id}-help ${id}-error` : `${id}-error`}
      />
      {help ? (
        <p id={`${id}-help`} className="help">
          {help}
        </p>
      ) : null}
      <p id={`${id}-error`} className="field-error" {...(alert ? { role: "alert" } : {})}>
        {error}
      </p>
    </div>
  );
}
