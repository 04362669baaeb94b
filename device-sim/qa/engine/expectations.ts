import type { Expectations } from '../scenario-schema.js';
import { daemonAnswer } from '../qa-errors.js';
import { compareFields } from './compare.js';
import type { StepContext, StepOutcome } from './context.js';
import { minorToMoney } from './money.js';
import { pause } from './pause.js';

/**
 * `check` steps and the scenario's final `expect`: each expectation given is compared with what the
 * stack holds now, read from the source of truth for it — the daemon's queue (its API), the bank's
 * ledger, the simulated cards' own state (never through the daemon), the printer, the daemon's
 * event stream, and the invariants (invariants.ts). One line per difference, named by its field.
 */

type Counts = Record<string, { count: number } | undefined>;

const n = (c: Counts, ...keys: string[]): number => keys.reduce((sum, k) => sum + (c[k]?.count ?? 0), 0);

async function queueCounts(ctx: StepContext): Promise<Record<string, number>> {
  const r = await ctx.stack.daemon.api<{ summary: { counts: Counts } }>(
    'GET',
    '/api/v1/queue?limit=1',
    undefined,
    10_000,
  );
  if (r.status !== 200) throw daemonAnswer('GET /api/v1/queue', r.status, undefined);
  const c = r.body.summary.counts;
  return {
    // "pending": stored and not yet answered by the bank (pending + sending)
    pending: n(c, 'pending', 'sending'),
    // "settled": the bank has it, once (settled, or duplicate: it had it before)
    settled: n(c, 'settled', 'duplicate'),
    rejected: n(c, 'rejected'),
    total: Object.values(c).reduce((sum, v) => sum + (v?.count ?? 0), 0),
  };
}

/** Reversals (voids) take money back: the bank's amount is sales minus them. */
const signedAmount = (row: { amount: number; kind: string }): number =>
  /revers|void/i.test(row.kind) ? -Math.abs(row.amount) : row.amount;

/** `sale:done` → a `sale` event in state done; `batch` → any `batch` event. */
function eventSeen(ctx: StepContext, spec: string): boolean {
  const [name, state] = spec.split(':');
  return ctx.stack.daemon.events.some(
    (e) => e.event === name && (state === undefined || (e.data as { state?: unknown } | null)?.state === state),
  );
}

/** How long `receipts.printed` waits for receipts still being printed. */
const RECEIPT_WAIT_MS = 5000;

/** Differences between `e` and the stack now, each line prefixed (`expect.` or nothing for a check step). */
export async function evaluate(
  ctx: StepContext,
  e: Expectations,
  prefix: string,
): Promise<{ differences: string[]; actual: Record<string, unknown> }> {
  const differences: string[] = [];
  const actual: Record<string, unknown> = {};
  if (e.queue) {
    const q = await queueCounts(ctx);
    actual.queue = q;
    differences.push(...compareFields(e.queue, q, `${prefix}queue.`));
  }
  if (e.bank) {
    const rows = ctx.stack.bank.settled();
    const revokedIds = new Set(ctx.stack.bank.revokedCards());
    const revoked = [...ctx.stack.cards.values()].filter((c) => revokedIds.has(c.cardId)).map((c) => c.name);
    const b = { records: rows.length, amount: minorToMoney(rows.reduce((s, r) => s + signedAmount(r), 0)), revoked };
    actual.bank = b;
    differences.push(
      ...compareFields(
        { ...e.bank, revoked: e.bank.revoked ? [...e.bank.revoked].sort() : undefined },
        { ...b, revoked: [...revoked].sort() },
        `${prefix}bank.`,
      ),
    );
  }
  if (e.cards) {
    const cards: Record<string, unknown> = {};
    for (const [name, want] of Object.entries(e.cards)) {
      const card = ctx.stack.cards.get(name);
      if (!card) throw new Error(`card ${name} is not part of this run`);
      const s = card.state();
      const got = { balance: minorToMoney(s.balance), counter: s.counter, pinTriesLeft: s.pinTriesLeft };
      cards[name] = got;
      differences.push(...compareFields(want, got, `${prefix}cards.${name}.`));
    }
    actual.cards = cards;
  }
  if (e.receipts) {
    // Receipts print after the sale, in the printer's own queue (security.md D7): a sale that just ended
    // may not be on paper yet. Wait a little for the count to come up, never for it to go down.
    const until = Date.now() + RECEIPT_WAIT_MS;
    while (ctx.stack.receipts().length < e.receipts.printed && Date.now() < until) await pause(100, ctx.signal);
    const printed = ctx.stack.receipts().length;
    actual.receipts = { printed };
    differences.push(...compareFields(e.receipts, { printed }, `${prefix}receipts.`));
  }
  if (e.events) {
    const seen: string[] = [];
    for (const spec of e.events.seen ?? []) {
      const ok = eventSeen(ctx, spec);
      if (ok) seen.push(spec);
      else differences.push(`${prefix}events.seen: expected ${spec}, got none`);
    }
    for (const spec of e.events.notSeen ?? [])
      if (eventSeen(ctx, spec)) differences.push(`${prefix}events.notSeen: expected no ${spec}, got one`);
    actual.events = { seen };
  }
  if (e.nothingLostOrDoubled) {
    const findings = await ctx.deps.checkInvariants(ctx.stack);
    actual.nothingLostOrDoubled = findings.length === 0;
    for (const f of findings) differences.push(`${prefix}nothingLostOrDoubled: ${f.invariant}: ${f.message}`);
  }
  return { differences, actual };
}

/** A `check` step. */
export async function checkStep(ctx: StepContext, params: Record<string, unknown>): Promise<StepOutcome> {
  const { differences, actual } = await evaluate(ctx, params as Expectations, '');
  return { result: actual, differences, expected: params, actual };
}
