/** Saves JSON as a file the browser downloads. */
export function downloadJson(value: unknown, filename: string, type = "application/fhir+json"): void {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A name for a file from an organization's name: "Riverside Clinical Lab" → "riverside-clinical-lab". */
export const fileNamePart = (name: string) => name.replace(/\W+/g, "-").toLowerCase();
