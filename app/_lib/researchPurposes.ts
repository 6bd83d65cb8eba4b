/**
 * What each research purpose allows, in words a patient can tell apart (issue 18): "Any research",
 * "General research use" and "Health, medical and biomedical research" read the same without it.
 * Each covers the ones below it (sdk/codes.ts: HRESCH ⊃ GRU ⊃ HMB ⊃ DS).
 */
import type { PurposeName } from "#sdk/codes.ts";

export const RESEARCH_PURPOSE_MEANING: Partial<Record<PurposeName, string>> = {
  HRESCH: "The widest choice: every kind of research, general research and health research included.",
  GRU: "Research of any kind, also on things other than health, such as where families come from. Health research is included.",
  HMB: "Only research on health and disease, not on other things such as where families come from.",
  DS: "Only research on the one disease named.",
};
