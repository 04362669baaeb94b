import type { BankFaults, LineFaultRatesSpec } from '../scenario-schema.js';
import { must, type StepExecutor } from './context.js';

/**
 * The steps that act on the devices rather than the daemon's API: cards in and out of readers,
 * faults armed on a card command, line noise, bank faults, the daemon's process, its clock, and
 * the customer display's picture. Their results say what was done (no times, no ids).
 */

const readerOf = (ctx: Parameters<StepExecutor>[0], name: unknown) =>
  must(ctx.stack.readers.get(name as string), `reader ${String(name)}`);

const insert: StepExecutor = async (ctx, p) => {
  const card = must(ctx.stack.cards.get(p.card as string), `card ${String(p.card)}`);
  await readerOf(ctx, p.reader).insert(card);
  return { result: { inserted: card.name } };
};

const remove: StepExecutor = async (ctx, p) => {
  const reader = readerOf(ctx, p.reader);
  const was = reader.cardIn;
  await reader.remove();
  return { result: { removed: was ?? null } };
};

const pullDuring: StepExecutor = async (ctx, p) => {
  await readerOf(ctx, p.reader).pullDuring(p.command as string); // in-process: armed once the daemon answers
  return { result: { armed: `pull after ${String(p.command)}` } };
};

const stallDuring: StepExecutor = async (ctx, p) => {
  await readerOf(ctx, p.reader).stallDuring(p.command as string);
  return { result: { armed: `stall after ${String(p.command)}` } };
};

const lineNoise: StepExecutor = async (ctx, p) => {
  const rates: { send?: LineFaultRatesSpec; receive?: LineFaultRatesSpec } = {};
  if (p.send) rates.send = p.send as LineFaultRatesSpec;
  if (p.receive) rates.receive = p.receive as LineFaultRatesSpec;
  readerOf(ctx, p.reader).lineNoise(rates);
  return { result: rates };
};

const bank: StepExecutor = async (ctx, p) => {
  ctx.stack.bank.setFaults(p as BankFaults);
  return { result: p };
};

const daemon: StepExecutor = async (ctx, p) => {
  const d = ctx.stack.daemon;
  const action = p.value as 'kill9' | 'restart' | 'stop' | 'start';
  await d[action]();
  return { result: { daemon: action, running: d.running } };
};

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "+2h" → 7 200 000; "-10m" → −600 000. */
export function jumpMs(text: string): number {
  const m = /^([+-])(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a clock jump like "+2h"`);
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * UNIT_MS[m[3]!]!;
}

const clock: StepExecutor = async (ctx, p) => {
  const jump = p.jump as string;
  ctx.stack.daemon.jumpClock(jumpMs(jump));
  return { result: { jumped: jump } };
};

const screenshot: StepExecutor = async (ctx, p) => {
  const png = await ctx.stack.screenshot();
  ctx.screenshots.push({ label: p.label as string, stepPath: ctx.path, png });
  return { result: { screenshot: p.label } };
};

export const DEVICE_STEPS: Record<string, StepExecutor> = {
  insert,
  remove,
  pullDuring,
  stallDuring,
  lineNoise,
  bank,
  daemon,
  clock,
  screenshot,
};
