/**
 * Plain-language checks of what a patient reads (issue 18): the jargon a patient must not meet
 * outside a "Details" disclosure, and the Flesch reading ease of sentences (206.835 − 1.015 ×
 * words per sentence − 84.6 × syllables per word; 60–70 is plain English, read at about age 12–13).
 */

/** Each kind of jargon, with the pattern that finds it. */
export const JARGON: readonly { what: string; pattern: RegExp }[] = [
  { what: "an 0x address or hash", pattern: /\b0x[0-9a-f]*/i },
  { what: "hexadecimal", pattern: /\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/i },
  { what: "a resource id", pattern: /\b[A-Z][A-Za-z]+\/[A-Za-z0-9][A-Za-z0-9.-]{3,}|\b[0-9a-f]{8}-[0-9a-f]{4}\b/ },
  { what: "a DUO, HL7 or LOINC code", pattern: /\b(DUO|HL7|LOINC)\b|\b\d{4,5}-\d\b/ },
  { what: "FHIR", pattern: /\bFHIR\b/i },
  { what: "a chain term", pattern: /\b(blocks?|transactions?|chains?|on-chain|epochs?|gas)\b/i },
  { what: "custodian", pattern: /\bcustodians?\b/i },
  { what: "scope", pattern: /\bscopes?\b/i },
  { what: "$everything", pattern: /\$everything/ },
  { what: "an error code", pattern: /\[[A-Z][A-Za-z]+\]/ },
];

/** The jargon in `text`, as "what: the match". */
export function findJargon(text: string): string[] {
  const found: string[] = [];
  for (const { what, pattern } of JARGON) {
    const match = pattern.exec(text);
    if (match) found.push(`${what}: "${match[0]}"`);
  }
  return found;
}

/** Syllables of an English word, by vowel groups (the usual heuristic of readability tools). */
export function syllables(word: string): number {
  let w = word.toLowerCase().replace(/[^a-z]/g, "");
  if (w.length === 0) return 0;
  if (w.length <= 3) return 1;
  w = w.replace(/(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$/, "").replace(/^y/, "");
  const groups = w.match(/[aeiouy]{1,2}/g);
  return Math.max(1, groups?.length ?? 1);
}

/** The sentences of a set of texts: split at . ! ? : and line ends; only those with 3 words or more. */
export function sentencesOf(texts: Iterable<string>): string[] {
  const out: string[] = [];
  for (const text of texts) {
    for (const part of text.split(/(?<=[.!?])\s+|\n+/)) {
      const sentence = part.trim();
      if (sentence.split(/\s+/).filter((w) => /[a-z]/i.test(w)).length >= 3) out.push(sentence);
    }
  }
  return out;
}

/** Flesch reading ease of the sentences (higher is easier; ≥ 60 is plain English). */
export function fleschReadingEase(sentences: readonly string[]): { score: number; words: number; sentences: number } {
  let words = 0;
  let syllableCount = 0;
  for (const sentence of sentences) {
    for (const word of sentence.split(/\s+/)) {
      if (!/[a-z]/i.test(word)) continue;
      words += 1;
      syllableCount += syllables(word);
    }
  }
  if (sentences.length === 0 || words === 0) return { score: 0, words, sentences: sentences.length };
  const score = 206.835 - 1.015 * (words / sentences.length) - 84.6 * (syllableCount / words);
  return { score, words, sentences: sentences.length };
}
