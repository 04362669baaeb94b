import { daemonAnswer } from '../qa-errors.js';
import type { QaReader } from '../qa-types.js';
import { answerCode, must, type StepContext, type StepExecutor, type StepOutcome } from './context.js';
import { minorToMoney, moneyToMinor } from './money.js';

/**
 * topup, void, refund, reportLost: the card services of docs/host-api.md §5.5–5.10, judged by
 * moneyBackExpect: done, waiting (stored, finished later), failed, or refused (the API said no).
 */

type Outcome = 'done' | 'refused' | 'failed' | 'waiting';
interface MoneyBackResult {
  outcome: Outcome;
  code?: string;
  balance?: string;
}
interface MoneyBackExpect {
  outcome: Outcome;
  code?: string;
}

function judge(result: MoneyBackResult, expect: unknown): StepOutcome {
  const e = expect as MoneyBackExpect | undefined;
  if (!e) return { result };
  const differences =
    result.outcome !== e.outcome || (e.code !== undefined && result.code !== e.code)
      ? [
          `expected outcome ${e.code ? `${e.outcome} ${e.code}` : e.outcome}, got ${result.code ? `${result.outcome} ${result.code}` : result.outcome}`,
        ]
      : [];
  return { result, differences, expected: e, actual: result };
}

/** An answer that is no: a refusal with its code (4xx, or a 502/503 the route documents with a code). */
function refusal(what: string, status: number, body: unknown): MoneyBackResult {
  const code = answerCode(body);
  if (status === 401 || status === 500 || !code) throw daemonAnswer(what, status, code);
  return { outcome: 'refused', code };
}

function withCode(r: MoneyBackResult, error: unknown): MoneyBackResult {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') r.code = code;
  return r;
}

const topup: StepExecutor = async (ctx, p) => {
  const reader = must(ctx.stack.readers.get(p.reader as string), `reader ${String(p.reader)}`);
  const amount = moneyToMinor(p.amount as string);
  const body: Record<string, unknown> = { amount, reader: reader.daemonName };
  if (amount > 0) body.method = 'cash';
  const r = await ctx.stack.daemon.api<{ state: string; balance: number | null; error: unknown }>(
    'POST',
    '/api/v1/topups',
    body,
    120_000,
  );
  if (r.status !== 201 && r.status !== 200) return judge(refusal('POST /api/v1/topups', r.status, r.body), p.expect);
  const outcome: Outcome = r.body.state === 'loaded' ? 'done' : r.body.state === 'failed' ? 'failed' : 'waiting';
  const result = withCode({ outcome }, r.body.error);
  if (outcome === 'done' && typeof r.body.balance === 'number') result.balance = minorToMoney(r.body.balance);
  return judge(result, p.expect);
};

/** The reader that holds the sale's card now (the void is signed by that card), if the runner knows it. */
function readerHolding(ctx: StepContext, card: string | undefined): QaReader | undefined {
  if (card === undefined) return undefined;
  return [...ctx.stack.readers.values()].find((r) => r.cardIn === card);
}

function saleIdOf(ctx: StepContext, label: string): { saleId: string; card: string | undefined } {
  const s = must(ctx.sales.get(label), `sale "${label}"`);
  if (!s.saleId) throw new Error(`sale "${label}" was refused when it was started: there is nothing to give back`);
  return { saleId: s.saleId, card: s.card };
}

const voidSale: StepExecutor = async (ctx, p) => {
  const { saleId, card } = saleIdOf(ctx, p.sale as string);
  const holder = readerHolding(ctx, card);
  const r = await ctx.stack.daemon.api<{ state: string; error: unknown }>(
    'POST',
    `/api/v1/sales/${saleId}/void`,
    holder ? { reader: holder.daemonName } : {},
    60_000,
  );
  if (r.status !== 200 && r.status !== 201) return judge(refusal('POST …/void', r.status, r.body), p.expect);
  const outcome: Outcome = r.body.state === 'voided' ? 'done' : r.body.state === 'failed' ? 'failed' : 'waiting';
  return judge(withCode({ outcome }, r.body.error), p.expect);
};

const refund: StepExecutor = async (ctx, p) => {
  const { saleId } = saleIdOf(ctx, p.sale as string);
  const body: Record<string, unknown> = { saleId };
  if (typeof p.amount === 'string') body.amount = moneyToMinor(p.amount);
  const r = await ctx.stack.daemon.api<{ state: string; error: unknown; balance: number | null }>(
    'POST',
    '/api/v1/refunds',
    body,
    120_000,
  );
  if (r.status !== 201 && r.status !== 200) return judge(refusal('POST /api/v1/refunds', r.status, r.body), p.expect);
  const outcome: Outcome = r.body.state === 'credited' ? 'done' : r.body.state === 'failed' ? 'failed' : 'waiting';
  return judge(withCode({ outcome }, r.body.error), p.expect);
};

const reportLost: StepExecutor = async (ctx, p) => {
  const card = must(ctx.stack.cards.get(p.card as string), `card ${String(p.card)}`);
  const r = await ctx.stack.daemon.api<{ alreadyReported: boolean; refusedHere: boolean }>(
    'POST',
    `/api/v1/cards/${card.cardId}/lost`,
    { reason: 'lost' },
    60_000,
  );
  if (r.status !== 200) return judge(refusal('POST /api/v1/cards/…/lost', r.status, r.body), p.expect);
  return judge({ outcome: 'done' }, p.expect);
};

export const MONEY_BACK_STEPS: Record<string, StepExecutor> = { topup, void: voidSale, refund, reportLost };
