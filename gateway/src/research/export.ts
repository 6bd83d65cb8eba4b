/**
 * A study's research export: the de-identified records of the study's participants whose research
 * grant is in force, in the study's categories only, for the study's researcher; each delivery
 * reported to the StudyEscrow, which pays the patient, before any of that patient's data leaves.
 *
 * 1. The study is read at the latest block: it must exist, be open and not over; the requester
 *    must be the researcher organization itself or its ADMIN or ANALYST member, the organization
 *    active; this gateway's custodian must be one of the study's data sources.
 * 2. The participants are the patients who ever joined the study (the indexer's enrolments, 503
 *    without INDEXER_URL) whose wallet is linked to a Patient here, whose grant for the study
 *    (registry `scopeStatus` with the study key) is in force for
 *    at least one of the study's categories, and who have records in those categories here:
 *    a delivery is this custodian's first release of that patient's data to the study.
 * 3. Deliveries not yet paid (the escrow's `isDelivered`; the gateway's table only saves reports)
 *    are reported with `reportDeliveries` in batches of at most {@link REPORT_BATCH}. The escrow pays each once per (study, patient, custodian), so a retry,
 *    a concurrent export or a report after a crash pays nothing more; the gateway records what
 *    the escrow said (paid, or refused and why) from the transaction's events.
 * 4. Released: exactly the participants whose delivery is paid (now or earlier) and whose grant is
 *    still in force. Everyone else's data stays here; the Bundle's OperationOutcome says how many
 *    were withheld and why, without saying who.
 */
import type { Bundle, BundleEntry, OperationOutcome, OperationOutcomeIssue } from "@medplum/fhirtypes";
import { and, eq, inArray, ne } from "drizzle-orm";
import { randomUUID } from "node:crypto";
import { type Address, type Hex, parseEventLogs } from "viem";
import { CATEGORIES, ROLES, categoryIndex, maskToCategories, type CategoryName } from "#sdk/codes.ts";
import { SKIP_REASONS, studyKey } from "#sdk/escrow.ts";
import { consentRegistryAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { historyStudyParticipants } from "#sdk/history.ts";
import { didPkhOf } from "../auth/tokens.ts";
import type { BlockRef, GatewayChain } from "../chain/chain.ts";
import { fromIndexerAt } from "../consent/consents.ts";
import { conflict, forbidden, notFound, notImplemented, unprocessable } from "../fhir/outcomes.ts";
import { researchDeliveries } from "../store/schema.ts";
import type { Store } from "../store/store.ts";
import { EXPORTABLE_TYPES, NotExportableError, PSEUDONYMIZED, deidentify, pseudonym } from "./deidentify.ts";

/** Patients per `reportDeliveries` transaction (the escrow's gas budget is per patient). */
export const REPORT_BATCH = 100;

const ALLOWED_REASON = 0; // IConsentRegistry.Reason.Allowed
const STUDY_OPEN = 1;
const PARTICIPANT_JOINED = 1; // IStudyEscrow.ParticipantStatus.Joined

export interface ResearchExportResult {
  studyId: bigint;
  /** The study's research purpose (registry encoding). */
  purpose: bigint;
  /** The Bundle without its entries (its links: self, and next when there are more pages). */
  head: Omit<Bundle, "entry">;
  /** The entries, the summary first, each record decrypted and de-identified as it is consumed. */
  bundle: () => Generator<BundleEntry>;
  /** The Patient ids whose data is on this page (for the audit trail; never sent to the researcher). */
  releasedPatients: string[];
  /** The transactions that reported deliveries in this export. */
  transactions: Hex[];
  /** Deliveries paid by this export's reports. */
  newlyPaid: number;
  block: BlockRef;
}

interface Candidate {
  wallet: Address;
  patientId: string;
  categories: CategoryName[];
  refs: Array<{ resourceType: CategoryName; id: string }>;
}

/** Records per page of an export unless `_count` says otherwise. */
export const EXPORT_PAGE_SIZE = 500;
/** A page cursor: the pseudonyms of the last record of the previous page (patient.type.record). */
export const EXPORT_CURSOR = /^[0-9a-f]{32}\.[0-9]{2}\.[0-9a-f]{32}$/;

/** Which page of the export: at most `count` records after `cursor`; `url` is the route's own URL. */
export interface ExportPage {
  count: number;
  cursor?: string | undefined;
  url: string;
}

function pageUrl(url: string, count: number, cursor: string | undefined): string {
  const q = new URLSearchParams({ _count: String(count) });
  if (cursor !== undefined) q.set("_cursor", cursor);
  return `${url}?${q.toString()}`;
}

type Withheld = "no-grant" | "no-records" | "not-linked" | (typeof SKIP_REASONS)[number]["name"];

const WITHHELD_TEXT: Record<Withheld, string> = {
  "no-grant": "their research grant for the study is not in force",
  "no-records": "this custodian holds no records of theirs in the study's categories",
  "not-linked": "no patient record here is linked to their wallet",
  NotParticipant: "the escrow does not count them as participants",
  AlreadyDelivered: "already delivered",
  BudgetExhausted: "the study's budget cannot pay for their delivery: top the study up",
  NoActiveGrant: "the escrow found their research grant not in force",
};

export class ResearchExport {
  readonly #store: Store;
  readonly #chain: GatewayChain;
  readonly #escrow: Address;

  constructor(store: Store, chain: GatewayChain) {
    if (chain.studyEscrow === undefined) {
      throw notImplemented("Research exports need the StudyEscrow: STUDY_ESCROW_ADDRESS is not configured");
    }
    this.#store = store;
    this.#chain = chain;
    this.#escrow = chain.studyEscrow;
  }

  async export(studyId: bigint, requester: Address, page: ExportPage): Promise<ResearchExportResult> {
    const chain = this.#chain;
    const block = await chain.latestBlock();
    const study = await chain.read((c) =>
      c.readContract({
        address: this.#escrow,
        abi: studyEscrowAbi,
        functionName: "getStudy",
        args: [studyId],
        blockNumber: block.number,
      }),
    );
    if (study.status === 0) throw notFound(`Study ${studyId} does not exist`);
    if (study.status !== STUDY_OPEN) throw conflict(`Study ${studyId} was cancelled: its data is no longer released`);
    if (block.timestamp >= study.endTime) {
      throw conflict(
        `Study ${studyId} ended at ${new Date(study.endTime * 1000).toISOString()}: no more data is released`,
      );
    }
    await this.#checkResearcher(studyId, study.researcher, requester, block);
    await this.#checkCustodian(studyId, block);

    const studyCategories = maskToCategories(study.categories);
    const categories = studyCategories.filter((c) => EXPORTABLE_TYPES.includes(c));
    const notes: OperationOutcomeIssue[] = [];
    if (categories.length < studyCategories.length) {
      notes.push(info("Documents are never exported for research: attachments and free text cannot be de-identified"));
    }
    if (categories.length === 0) {
      throw unprocessable(`Study ${studyId} asks only for categories that are never exported for research`);
    }

    const key = studyKey(this.#escrow, studyId);
    const withheld = new Map<Withheld, number>();
    const count = (reason: Withheld) => withheld.set(reason, (withheld.get(reason) ?? 0) + 1);
    const candidates: Candidate[] = [];
    for (const wallet of await this.#participants(studyId, block.number)) {
      const patientId = await this.#store.findPatientByWallet(didPkhOf(chain.chainId, wallet));
      if (patientId === undefined) {
        count("not-linked");
        continue;
      }
      const allowed = await this.#grantedCategories(wallet, study.researcher, key, categories, block);
      if (allowed.length === 0) {
        count("no-grant");
        continue;
      }
      const refs = await this.#store.compartmentRefs([patientId], allowed);
      if (refs.length === 0) {
        count("no-records");
        continue;
      }
      candidates.push({ wallet, patientId, categories: allowed, refs });
    }

    const studyRef = `${this.#escrow.toLowerCase()}:${studyId}`;
    const report = await this.#report(studyRef, studyId, study, candidates, block);
    const released: Candidate[] = [];
    for (const c of candidates) {
      const outcome = report.status.get(c.wallet);
      if (outcome === "paid") released.push(c);
      else count(outcome ?? "NoActiveGrant");
    }

    const pseudonymKey = await this.#store.studyPseudonymKey(studyRef);
    const now = this.#store.now();
    // Every released record in the order of its pseudonyms (patient, type, record): pages are cut
    // from it by a cursor made of pseudonyms only, which the researcher sees anyway.
    const order: Array<{ cursor: string; patientId: string; resourceType: CategoryName; id: string }> = [];
    for (const c of released) {
      const patient = pseudonym(pseudonymKey, "Patient", c.patientId);
      for (const r of c.refs) {
        const type = String(EXPORTABLE_TYPES.indexOf(r.resourceType)).padStart(2, "0");
        const cursor = `${patient}.${type}.${pseudonym(pseudonymKey, r.resourceType, r.id)}`;
        order.push({ cursor, patientId: c.patientId, resourceType: r.resourceType, id: r.id });
      }
    }
    order.sort((x, y) => (x.cursor < y.cursor ? -1 : x.cursor > y.cursor ? 1 : 0));
    const from = page.cursor === undefined ? 0 : order.findIndex((o) => o.cursor > page.cursor!);
    const slice = from < 0 ? [] : order.slice(from, from + page.count);
    const next = from >= 0 && from + page.count < order.length ? slice.at(-1)!.cursor : undefined;
    const records = await this.#store.recordsByRef(slice);
    function* entries(): Generator<BundleEntry> {
      let notExportable = 0;
      for (const r of records()) {
        try {
          yield { resource: deidentify(r, { key: pseudonymKey, now }) };
        } catch (err) {
          if (!(err instanceof NotExportableError)) throw err;
          notExportable++;
        }
      }
      if (notExportable > 0) {
        const withheld: OperationOutcome = {
          resourceType: "OperationOutcome",
          issue: [
            info(
              `${notExportable} record(s) of this page withheld: a modifier extension, or an element they require that cannot leave de-identified (free text only)`,
              "not-exportable",
            ),
          ],
        };
        yield { resource: withheld };
      }
    }
    notes.push(
      info(
        `${order.length} record(s) in all; this page: ${slice.length}${next === undefined ? " (the last)" : ", the next page by the Bundle's next link"}`,
      ),
    );
    const summary: OperationOutcome = {
      resourceType: "OperationOutcome",
      issue: [
        info(
          `Study ${studyId}: ${released.length} participant(s) released by ${chain.custodian} at block ${block.number}, de-identified (Safe Harbor), categories ${categories.map((c) => `${c} (${CATEGORIES[c].display})`).join(", ")}`,
        ),
        ...[...withheld.entries()]
          .filter(([reason]) => reason !== "AlreadyDelivered")
          .map(([reason, n]) => info(`${n} participant(s) withheld: ${WITHHELD_TEXT[reason]}`, reason)),
        ...report.transactions.map((tx) => info(`Deliveries reported to the StudyEscrow in transaction ${tx}`)),
        ...notes,
      ],
    };
    const head: Omit<Bundle, "entry"> = {
      resourceType: "Bundle",
      id: randomUUID(),
      meta: { security: [{ ...PSEUDONYMIZED }] },
      type: "collection",
      timestamp: now.toISOString(),
      link: [
        { relation: "self", url: pageUrl(page.url, page.count, page.cursor) },
        ...(next === undefined ? [] : [{ relation: "next", url: pageUrl(page.url, page.count, next) }]),
      ],
    };
    const summaryEntry: BundleEntry = { resource: summary };
    const bundle = () =>
      (function* (): Generator<BundleEntry> {
        yield summaryEntry;
        yield* entries();
      })();
    return {
      studyId,
      purpose: study.purpose,
      bundle,
      head,
      releasedPatients: [...new Set(slice.map((o) => o.patientId))],
      transactions: report.transactions,
      newlyPaid: report.newlyPaid,
      block,
    };
  }

  /** The researcher organization itself, or its ADMIN or ANALYST member; the organization active. */
  async #checkResearcher(studyId: bigint, researcher: Address, requester: Address, block: BlockRef): Promise<void> {
    const account = await this.#chain.accountOf(requester, block.number);
    const sameOrg = account.organization.toLowerCase() === researcher.toLowerCase();
    const role = account.role as number;
    if (!sameOrg || (role !== ROLES.ORGANIZATION && role !== ROLES.ADMIN && role !== ROLES.ANALYST)) {
      throw forbidden(
        `Only the researcher of study ${studyId} (${researcher}) or its ADMIN or ANALYST members may download its data; ${requester} is not one`,
      );
    }
    if (!account.active) throw forbidden(`The researcher ${researcher} is suspended: no data is released to it`);
  }

  async #checkCustodian(studyId: bigint, block: BlockRef): Promise<void> {
    const custodians = await this.#chain.read((c) =>
      c.readContract({
        address: this.#escrow,
        abi: studyEscrowAbi,
        functionName: "studyCustodians",
        args: [studyId],
        blockNumber: block.number,
      }),
    );
    if (!custodians.some((c) => c.custodian.toLowerCase() === this.#chain.custodian.toLowerCase())) {
      throw forbidden(`This custodian (${this.#chain.custodian}) is not a data source of study ${studyId}`);
    }
  }

  /**
   * Every patient that ever joined the study (the grant check then says who is still in), listed by
   * the indexer, once it has reached the export's block (so a join mined just before is in it):
   * never by scanning the escrow's logs (503 without INDEXER_URL, or with one that stays behind).
   * What is released is decided on chain at that block.
   */
  async #participants(studyId: bigint, block: bigint): Promise<Address[]> {
    return fromIndexerAt(this.#chain, block, (indexer) => historyStudyParticipants(indexer, studyId));
  }

  /** The categories of the study for which the patient's grant for it is in force at the block. */
  async #grantedCategories(
    patient: Address,
    researcher: Address,
    key: Hex,
    categories: readonly CategoryName[],
    block: BlockRef,
  ): Promise<CategoryName[]> {
    const statuses = await Promise.all(
      categories.map((category) =>
        this.#chain.read((c) =>
          c.readContract({
            address: this.#chain.consentRegistry,
            abi: consentRegistryAbi,
            functionName: "scopeStatus",
            args: [patient, researcher, key, categoryIndex(category)],
            blockNumber: block.number,
          }),
        ),
      ),
    );
    return categories.filter((_, i) => statuses[i]![0] === ALLOWED_REASON);
  }

  /**
   * Reports the candidates' deliveries that the escrow would pay, and only those; returns each
   * candidate's status ("paid" or the reason it is withheld).
   *
   * What the escrow will do is read first, at the export's block, with the escrow's own checks in
   * its order: a current participant (`getParticipant`), not yet delivered (`isDelivered`), budget
   * for the price (`budget / price` deliveries at most, in join order), the grant of the study's
   * first category in force (`scopeStatus`). Nothing is sent for a participant the escrow would
   * skip, and no transaction at all when nobody would be paid: a study with an exhausted budget
   * costs the custodian no gas, however often it is downloaded.
   */
  async #report(
    studyRef: string,
    studyId: bigint,
    study: { price: bigint; budget: bigint; categories: number; researcher: Address },
    candidates: readonly Candidate[],
    block: BlockRef,
  ): Promise<{ status: Map<Address, "paid" | Withheld>; transactions: Hex[]; newlyPaid: number }> {
    const db = this.#store.db;
    const status = new Map<Address, "paid" | Withheld>();
    const transactions: Hex[] = [];
    let newlyPaid = 0;
    if (candidates.length === 0) return { status, transactions, newlyPaid };
    // The pseudonym key row first: deliveries reference the study.
    await this.#store.studyPseudonymKey(studyRef);
    const chain = this.#chain;
    const firstCategory = maskToCategories(study.categories)[0];
    const key = studyKey(this.#escrow, studyId);
    // The escrow is the truth about what was paid; the table only saves reports (a row saying
    // "paid" for a delivery the chain does not know is reported again, never released unpaid).
    const onChain = await Promise.all(
      candidates.map(async (c) => {
        const [participant, delivered, grant] = await Promise.all([
          chain.read((client) =>
            client.readContract({
              address: this.#escrow,
              abi: studyEscrowAbi,
              functionName: "getParticipant",
              args: [studyId, c.wallet],
              blockNumber: block.number,
            }),
          ),
          chain.read((client) =>
            client.readContract({
              address: this.#escrow,
              abi: studyEscrowAbi,
              functionName: "isDelivered",
              args: [studyId, c.wallet, chain.custodian],
              blockNumber: block.number,
            }),
          ),
          firstCategory === undefined
            ? Promise.resolve(undefined)
            : chain.read((client) =>
                client.readContract({
                  address: chain.consentRegistry,
                  abi: consentRegistryAbi,
                  functionName: "scopeStatus",
                  args: [c.wallet, study.researcher, key, categoryIndex(firstCategory)],
                  blockNumber: block.number,
                }),
              ),
        ]);
        return { joined: participant.status === PARTICIPANT_JOINED, delivered, granted: grant?.[0] === ALLOWED_REASON };
      }),
    );
    let payable = study.price > 0n ? study.budget / study.price : 0n;
    const pending: Candidate[] = [];
    for (const [i, c] of candidates.entries()) {
      const o = onChain[i]!;
      if (!o.joined) status.set(c.wallet, "NotParticipant");
      else if (o.delivered) status.set(c.wallet, "paid");
      else if (payable === 0n) status.set(c.wallet, "BudgetExhausted");
      else if (!o.granted) status.set(c.wallet, "NoActiveGrant");
      else {
        pending.push(c);
        payable -= 1n;
      }
    }
    // Rows left "reporting" by a crash whose report was mined: the chain says delivered, recorded so.
    const delivered = candidates.filter((c) => status.get(c.wallet) === "paid").map((c) => c.wallet.toLowerCase());
    if (delivered.length > 0) {
      await db
        .update(researchDeliveries)
        .set({ status: "paid", reason: null, updatedAt: this.#store.now() })
        .where(
          and(
            eq(researchDeliveries.study, studyRef),
            inArray(researchDeliveries.patient, delivered),
            ne(researchDeliveries.status, "paid"),
          ),
        );
    }

    for (let i = 0; i < pending.length; i += REPORT_BATCH) {
      const batch = pending.slice(i, i + REPORT_BATCH);
      const now = this.#store.now();
      // Recorded before the report: a crash in between leaves "reporting", reported again next time.
      for (const c of batch) {
        await db
          .insert(researchDeliveries)
          .values({
            study: studyRef,
            patient: c.wallet.toLowerCase(),
            patientId: c.patientId,
            status: "reporting",
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: [researchDeliveries.study, researchDeliveries.patient],
            set: { status: "reporting", reason: null, updatedAt: now, patientId: c.patientId },
          });
      }
      const sent = await this.#chain.send({
        address: this.#escrow,
        abi: studyEscrowAbi,
        functionName: "reportDeliveries",
        args: [studyId, batch.map((c) => c.wallet)],
      });
      transactions.push(sent.hash);
      const receipt = await this.#chain.read((c) => c.getTransactionReceipt({ hash: sent.hash }));
      const events = parseEventLogs({ abi: studyEscrowAbi, logs: receipt.logs }).filter(
        (e) => e.address.toLowerCase() === this.#escrow.toLowerCase(),
      );
      const outcome = new Map<string, "paid" | Withheld>();
      for (const e of events) {
        if (e.eventName === "DeliveryPaid" && e.args.studyId === studyId) {
          outcome.set(e.args.patient.toLowerCase(), "paid");
          newlyPaid++;
        } else if (e.eventName === "DeliverySkipped" && e.args.studyId === studyId) {
          const reason = SKIP_REASONS[e.args.reason]?.name ?? "NoActiveGrant";
          // Paid before (by an earlier report whose outcome was not recorded here): delivered.
          outcome.set(e.args.patient.toLowerCase(), reason === "AlreadyDelivered" ? "paid" : reason);
        }
      }
      const done = this.#store.now();
      for (const c of batch) {
        const result = outcome.get(c.wallet.toLowerCase()) ?? "NoActiveGrant";
        status.set(c.wallet, result);
        await db
          .update(researchDeliveries)
          .set({
            status: result === "paid" ? "paid" : "refused",
            reason: result === "paid" ? null : result,
            txHash: sent.hash,
            updatedAt: done,
          })
          .where(and(eq(researchDeliveries.study, studyRef), eq(researchDeliveries.patient, c.wallet.toLowerCase())));
      }
    }
    return { status, transactions, newlyPaid };
  }
}

function info(text: string, diagnostics?: string): OperationOutcomeIssue {
  return {
    severity: "information",
    code: "informational",
    details: { text },
    ...(diagnostics ? { diagnostics } : {}),
  };
}
