import { CardpostError } from '../../../protocol/errors.js';
import { toHex } from '../../../protocol/bytes.js';
import { decodeTxnRecord, isReversal } from '../../../protocol/record/index.js';
import type { QaStack } from '../qa-types.js';
import { moneyToMinor } from '../engine/money.js';

/**
 * What the money invariants are checked on, read from three places that do not share state: the
 * cards' own applets, the daemon's queue (GET /api/v1/queue, and the signed envelopes of
 * GET /api/v1/queue/export), and the bank's ledger. Read here once; the checks are pure functions.
 */

export interface CardEvidence {
  name: string;
  /** Lower-case hex. */
  cardId: string;
  counter: number;
  balance: number;
  /** The balance it was personalised with (minor units). */
  initialBalance: number;
}

/** A QueuedRecord (docs/host-api.md §6.1), the fields the invariants use. */
export interface QueueEntry {
  seq: number;
  recordId: string;
  cardId: string;
  counter: number;
  amount: number;
  balanceAfter: number;
  status: string;
  storedAt: number;
}

/** A record of the signed export (§6.2), decoded from the envelope the card signed. */
export type ExportEntry =
  | {
      recordId: string;
      status: string;
      decoded: true;
      cardId: string;
      counter: number;
      amount: number;
      balanceAfter: number;
      kind: 'sale' | 'reversal';
      /** Hex of the record's hash and of the hash it names as its predecessor. */
      hash: string;
      prevHash: string;
    }
  | { recordId: string; status: string; decoded: false; why: string };

export interface BankRow {
  cardId: string;
  counter: number;
  amount: number;
  kind: string;
}

/** A top-up (refunds included) the daemon carried onto a card, known by the card's last 4 hex digits. */
export interface LoadEntry {
  topupId: string;
  cardLast4: string;
  amount: number;
  /** loaded: on the card; uncertain: the token is stored and LOAD may have happened, its answer lost. */
  state: 'loaded' | 'uncertain';
}

export interface Evidence {
  cards: CardEvidence[];
  queue: QueueEntry[];
  unsettledCount: number;
  exported: ExportEntry[];
  bank: BankRow[];
  revoked: string[];
  loads: LoadEntry[];
}

const unreadable = (what: string, detail: string) =>
  new CardpostError(
    'QA_INVARIANTS_UNREADABLE',
    `the invariants cannot be checked: ${what} could not be read (${detail})`,
    'the daemon must be running and answering; look at its log lines in the report',
  );

async function apiGet<T>(stack: QaStack, path: string): Promise<T> {
  let res: { status: number; body: T };
  try {
    res = await stack.daemon.api<T>('GET', path, undefined, 30_000);
  } catch (e) {
    throw unreadable(path, (e as Error).message);
  }
  if (res.status !== 200) throw unreadable(path, `HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
  return res.body;
}

interface QueuePage {
  summary: { unsettled: { count: number } };
  records: QueueEntry[];
  next: number | null;
}

async function readQueue(stack: QaStack): Promise<{ records: QueueEntry[]; unsettledCount: number }> {
  const records: QueueEntry[] = [];
  let after = 0;
  let unsettledCount = 0;
  for (;;) {
    const page = await apiGet<QueuePage>(stack, `/api/v1/queue?after=${after}&limit=1000`);
    unsettledCount = page.summary.unsettled.count;
    for (const r of page.records)
      records.push({
        seq: r.seq,
        recordId: r.recordId,
        cardId: r.cardId.toLowerCase(),
        counter: r.counter,
        amount: r.amount,
        balanceAfter: r.balanceAfter,
        status: r.status,
        storedAt: r.storedAt,
      });
    if (page.records.length === 0 || page.next === null) return { records, unsettledCount };
    after = page.next;
  }
}

interface ExportBody {
  encoding: string;
  records: { recordId: string; status: string; envelope: string }[];
}

async function readExport(stack: QaStack): Promise<ExportEntry[]> {
  const body = await apiGet<ExportBody>(stack, '/api/v1/queue/export');
  return body.records.map((r): ExportEntry => {
    try {
      const rec = decodeTxnRecord(Uint8Array.from(Buffer.from(r.envelope, 'base64url')));
      return {
        recordId: r.recordId,
        status: r.status,
        decoded: true,
        cardId: toHex(rec.cardId),
        counter: rec.counter,
        amount: rec.amount,
        balanceAfter: rec.balanceAfter,
        kind: isReversal(rec) ? 'reversal' : 'sale',
        hash: toHex(rec.hash),
        prevHash: toHex(rec.prevHash),
      };
    } catch (e) {
      return { recordId: r.recordId, status: r.status, decoded: false, why: (e as Error).message };
    }
  });
}

interface TopupDay {
  date: string;
  topups: { topupId: string; card: string; amount: number; state: string }[];
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The loads, from the daemon's day lists of top-ups (refunds are top-ups of method `refund`). The
 * days asked are those between the oldest stored record and today, a day either side for the shop's
 * time zone and clock jumps, at most 40.
 */
async function readLoads(stack: QaStack, queue: QueueEntry[]): Promise<LoadEntry[]> {
  const today = await apiGet<TopupDay>(stack, '/api/v1/topups');
  const todayMs = Date.parse(`${today.date}T00:00:00Z`);
  const stored = queue.map((q) => Date.parse(`${dayOf(q.storedAt)}T00:00:00Z`));
  const from = Math.max(Math.min(todayMs - DAY_MS, ...stored) - DAY_MS, todayMs - 40 * DAY_MS);
  const to = Math.min(Math.max(todayMs, ...stored) + DAY_MS, todayMs + 40 * DAY_MS);
  const days = [today];
  for (let d = from; d <= to; d += DAY_MS) {
    if (d !== todayMs) days.push(await apiGet<TopupDay>(stack, `/api/v1/topups?date=${dayOf(d)}`));
  }
  const seen = new Map<string, LoadEntry>();
  for (const t of days.flatMap((d) => d.topups)) {
    if (t.amount <= 0 || seen.has(t.topupId)) continue;
    if (t.state !== 'loaded' && t.state !== 'token_stored') continue;
    seen.set(t.topupId, {
      topupId: t.topupId,
      cardLast4: t.card.slice(-4).toLowerCase(),
      amount: t.amount,
      state: t.state === 'loaded' ? 'loaded' : 'uncertain',
    });
  }
  return [...seen.values()];
}

export async function readEvidence(stack: QaStack): Promise<Evidence> {
  // The cards first: whatever the daemon stores after this moment can only add to the queue.
  const cards = [...stack.cards.values()].map((c) => {
    const s = c.state();
    return {
      name: c.name,
      cardId: c.cardId.toLowerCase(),
      counter: s.counter,
      balance: s.balance,
      initialBalance: moneyToMinor(c.spec.balance),
    };
  });
  const { records, unsettledCount } = await readQueue(stack);
  const exported = await readExport(stack);
  const loads = await readLoads(stack, records);
  const bank = stack.bank.settled().map((r) => ({ ...r, cardId: r.cardId.toLowerCase() }));
  const revoked = stack.bank.revokedCards().map((c) => c.toLowerCase());
  return { cards, queue: records, unsettledCount, exported, bank, revoked, loads };
}
