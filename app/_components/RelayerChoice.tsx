import type { Relayer } from "../_lib/relay.ts";

/**
 * Which gateway sends a signed request for the patient, when more than one may: nothing to choose
 * (null) with one.
 */
export function RelayerChoice({
  gateways,
  chosen,
  onChoose,
}: {
  gateways: readonly Relayer[];
  chosen: Relayer;
  onChoose: (address: string) => void;
}) {
  if (gateways.length <= 1) return null;
  return (
    <label className="inline-select">
      <span>Who sends it for you</span>
      <select value={chosen.address} onChange={(e) => onChoose(e.target.value)}>
        {gateways.map((g) => (
          <option key={g.address} value={g.address}>
            {g.name}
          </option>
        ))}
      </select>
    </label>
  );
}
