import { daemonAnswer } from '../qa-errors.js';
import { must, pause, type StepContext, type StepExecutor } from './context.js';

/** wait and settle: pauses and waiting for the daemon to reach a state, with a time limit. */

interface SettlementView {
  online: boolean;
  state: string;
  unsettled: { count: number };
}

const POLL_MS = 250;

async function settlement(ctx: StepContext): Promise<SettlementView | undefined> {
  try {
    const r = await ctx.stack.daemon.api<SettlementView>('GET', '/api/v1/settlement', undefined, 5_000);
    return r.status === 200 ? r.body : undefined;
  } catch {
    return undefined; // the daemon is restarting: ask again
  }
}

async function readerHasCard(ctx: StepContext, daemonName: string): Promise<boolean> {
  try {
    const r = await ctx.stack.daemon.api<{ readers: { name: string; cardPresent: boolean }[] }>(
      'GET',
      '/api/v1/readers',
      undefined,
      5_000,
    );
    return r.status === 200 && r.body.readers.some((x) => x.name === daemonName && x.cardPresent);
  } catch {
    return false;
  }
}

/** Poll `test` until it holds or `timeoutS` runs out; returns whether it held. */
async function until(ctx: StepContext, timeoutS: number, test: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + timeoutS * 1000;
  for (;;) {
    if (await test()) return true;
    if (Date.now() >= end) return false;
    await pause(POLL_MS, ctx.signal);
  }
}

const wait: StepExecutor = async (ctx, p) => {
  if (typeof p.ms === 'number') {
    await pause(p.ms, ctx.signal);
    return { result: { waited: `${p.ms} ms` } };
  }
  const what = p.for as 'online' | 'offline' | 'settled' | 'card';
  const timeoutS = (p.timeoutS as number | undefined) ?? 30;
  let test: () => Promise<boolean>;
  if (what === 'card') {
    const reader = must(ctx.stack.readers.get(p.reader as string), `reader ${String(p.reader)}`);
    test = () => readerHasCard(ctx, reader.daemonName);
  } else
    test = async () => {
      const s = await settlement(ctx);
      if (!s) return false;
      return what === 'online' ? s.online : what === 'offline' ? !s.online : s.unsettled.count === 0;
    };
  const held = await until(ctx, timeoutS, test);
  if (held) return { result: { reached: what } };
  return {
    result: { reached: null },
    differences: [
      `expected ${what === 'card' ? `a card in ${String(p.reader)}` : what} within ${timeoutS} s, got none`,
    ],
    expected: what,
  };
};

const settle: StepExecutor = async (ctx, p) => {
  const timeoutS = (p.timeoutS as number | undefined) ?? 60;
  const all = p.expectAllSettled !== false;
  const r = await ctx.stack.daemon.api('POST', '/api/v1/settlement', undefined, 10_000);
  if (r.status !== 202 && r.status !== 200) throw daemonAnswer('POST /api/v1/settlement', r.status, undefined);
  let last: SettlementView | undefined;
  const held = await until(ctx, timeoutS, async () => {
    last = (await settlement(ctx)) ?? last;
    return all ? last?.unsettled.count === 0 : last !== undefined && last.state !== 'sending';
  });
  const left = last?.unsettled.count ?? null;
  if (held || !all) return { result: { unsettled: left } };
  return {
    result: { unsettled: left },
    differences: [`expected the queue settled within ${timeoutS} s, got ${left ?? 'no answer'} unsettled`],
    expected: { unsettled: 0 },
    actual: { unsettled: left, state: last?.state ?? null },
  };
};

export const WAIT_STEPS: Record<string, StepExecutor> = { wait, settle };
