/**
 * GET /api/history/<list>?…: one of the app's lists from the indexer (app/_server/history.ts),
 * as `{ indexed, data }` in the app's wire JSON (app/_lib/wire.ts: bigints kept). A bad parameter
 * is a 400 with a sentence; an indexer that does not answer, a 503.
 */
import { HistoryRequestError, answerHistory } from "../../../_server/history.ts";
import { toWire } from "../../../_lib/wire.ts";

export const dynamic = "force-dynamic";

const headers = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

export async function GET(request: Request, { params }: { params: Promise<{ list: string }> }) {
  const { list } = await params;
  try {
    const answer = await answerHistory(list, new URL(request.url).searchParams);
    return new Response(toWire(answer), { status: 200, headers });
  } catch (error) {
    if (error instanceof HistoryRequestError) {
      return new Response(toWire({ error: error.message }), { status: error.status, headers });
    }
    console.error(`[history] ${list}:`, error);
    return new Response(toWire({ error: "the list could not be read from the indexer." }), { status: 503, headers });
  }
}
