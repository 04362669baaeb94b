import type { SaleExpect } from '../scenario-schema.js';
import { daemonAnswer } from '../qa-errors.js';
import { answerCode, must, type StepContext, type StepExecutor, type StepOutcome } from './context.js';
import { compareFields } from './compare.js';
import { minorToMoney, moneyToMinor } from './money.js';
import { SaleFollower, type SaleView } from './sale-follower.js';

/**
 * sale, finish, cancel: sales through the daemon's API (docs/host-api.md §4), as the counter page
 * takes them: POST /api/v1/sales bound to the reader, then followed to its end (sale-follower.ts).
 */

/** What a sale ended as, in the scenario's words (saleExpect): never an id or a time. */
export interface SaleResult {
  outcome: 'paid' | 'cancelled' | 'timed_out' | 'failed' | 'unconfirmed' | 'refused';
  code?: string;
  online?: boolean;
  balanceAfter?: string;
}

const OUTCOME_OF_STATE: Record<string, SaleResult['outcome']> = {
  done: 'paid',
  cancelled: 'cancelled',
  timed_out: 'timed_out',
  failed: 'failed',
  unconfirmed: 'unconfirmed',
};

export function saleResult(sale: SaleView): SaleResult {
  const r: SaleResult = { outcome: OUTCOME_OF_STATE[sale.state] ?? 'failed' };
  const code = sale.error?.code ?? sale.notice?.code;
  if (code) r.code = code;
  if (sale.receipt) {
    r.online = sale.receipt.online;
    r.balanceAfter = minorToMoney(sale.receipt.balanceAfter);
  }
  return r;
}

/** "paid", "failed CARD_REMOVED": how a result reads in a failure line. */
const outcomeText = (r: SaleResult): string => (r.code ? `${r.outcome} ${r.code}` : r.outcome);

export function judgeSale(result: SaleResult, expect: SaleExpect | undefined): StepOutcome {
  if (!expect) return { result };
  const differences: string[] = [];
  if (result.outcome !== expect.outcome || (expect.code !== undefined && result.code !== expect.code)) {
    const wanted = expect.code ? `${expect.outcome} ${expect.code}` : expect.outcome;
    differences.push(`expected outcome ${wanted}, got ${outcomeText(result)}`);
  }
  differences.push(
    ...compareFields(
      { online: expect.online, balanceAfter: expect.balanceAfter },
      {
        online: result.online,
        balanceAfter: result.balanceAfter,
      },
    ),
  );
  return { result, differences, expected: expect, actual: result };
}

const sale: StepExecutor = async (ctx, p) => {
  const readerName = p.reader as string | undefined;
  const pins = p.pins as string[] | undefined;
  const reader = readerName === undefined ? undefined : must(ctx.stack.readers.get(readerName), `reader ${readerName}`);
  // A terminal's pad types the PINs itself: they are queued there before the sale asks for them.
  if (reader?.queuePins && reader.medium === 'serial' && pins?.length) reader.queuePins(pins);
  const body: Record<string, unknown> = { amount: moneyToMinor(p.amount as string) };
  if (reader) body.reader = reader.daemonName;
  const r = await ctx.stack.daemon.api<SaleView>('POST', '/api/v1/sales', body, 15_000);
  const label = p.as as string | undefined;
  if (r.status !== 201) {
    const code = answerCode(r.body);
    // A refusal carries its code (4xx, or a documented 503 such as CLOCK_WRONG); 401, 500 or no code is the daemon's fault.
    if (r.status === 401 || r.status === 500 || !code) throw daemonAnswer('POST /api/v1/sales', r.status, code);
    if (label)
      ctx.sales.set(label, { saleId: undefined, reader: readerName, card: reader?.cardIn, follower: undefined });
    return judgeSale({ outcome: 'refused', code }, p.expect as SaleExpect | undefined);
  }
  const follower = new SaleFollower(
    ctx.stack,
    r.body.saleId,
    pins,
    ctx.signal,
    (p.pinDelayMs as number | undefined) ?? 0,
  );
  ctx.followers.add(follower);
  if (label) ctx.sales.set(label, { saleId: r.body.saleId, reader: readerName, card: reader?.cardIn, follower });
  if (p.wait === false) return { result: { started: true } };
  const end = await follower.done;
  ctx.followers.delete(follower);
  return judgeSale(saleResult(end), p.expect as SaleExpect | undefined);
};

function labelled(ctx: StepContext, label: string): { saleId: string; follower: SaleFollower } {
  const s = must(ctx.sales.get(label), `sale "${label}"`);
  if (!s.saleId || !s.follower)
    throw new Error(`sale "${label}" was refused when it was started: it has nothing to finish`);
  return { saleId: s.saleId, follower: s.follower };
}

const finish: StepExecutor = async (ctx, p) => {
  const { follower } = labelled(ctx, p.sale as string);
  const end = await follower.done;
  ctx.followers.delete(follower);
  return judgeSale(saleResult(end), p.expect as SaleExpect | undefined);
};

const cancel: StepExecutor = async (ctx, p) => {
  const { follower } = labelled(ctx, p.sale as string);
  const status = await follower.cancel();
  if (status !== 200 && status !== 202 && status !== 409)
    throw daemonAnswer(`POST /api/v1/sales/…/cancel`, status, undefined);
  const end = await follower.done;
  ctx.followers.delete(follower);
  // Not the cancel's status (200, or 202 when the sale took longer to stop): that is timing, not outcome.
  return { result: saleResult(end) };
};

export const SALE_STEPS: Record<string, StepExecutor> = { sale, finish, cancel };
