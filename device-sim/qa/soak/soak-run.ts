import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CardpostError } from '../../../protocol/errors.js';
import { checkInvariants, type InvariantFinding } from '../invariants.js';
import type { ProcessRegistry, QaHost, QaReader, QaStack } from '../qa-types.js';
import { startStack } from '../stack/index.js';
import { daemonBack, readCard, settleAll } from './soak-api.js';
import {
  applyBankFaults,
  enabledFaults,
  FaultSchedule,
  killDaemonDuring,
  lineNoiseRates,
  recoverFrom,
  type FaultKind,
} from './soak-faults.js';
import { NO_PIN_LIMIT, SOAK_PIN, soakDevices, WRONG_PIN, type SoakOptions } from './soak-options.js';
import { judgeSale, type SaleVerdict } from './soak-outcome.js';
import { SoakRandom } from './soak-random.js';
import { runSale, type SalePlan } from './soak-sale.js';
import { SoakStats, type SoakSummary } from './soak-summary.js';

export interface SoakDeps {
  host: QaHost;
  registry: ProcessRegistry;
  /** One line of progress (after each invariant check). */
  progress?: (line: string) => void;
  /** Aborted (Ctrl-C): stop drawing sales, settle, check and report. */
  signal?: AbortSignal;
  /** The invariant check (tests put a failing one in to see the soak stop at it): checkInvariants by default. */
  check?: typeof checkInvariants;
}

/** Invariants are checked at least this often, besides after every fault's recovery. */
const CHECK_EVERY_MS = 30_000;
const FINAL_SETTLE_MS = 60_000;

/** A sale's plan, from its reader's stream: mostly small sales without PIN, some above the no-PIN limit, a wrong PIN first now and then. */
function drawPlan(rng: SoakRandom, pull: boolean): SalePlan {
  const amount = rng.chance(0.7) ? rng.int(100, NO_PIN_LIMIT) : rng.int(NO_PIN_LIMIT + 1, 50_000);
  const pins = amount > NO_PIN_LIMIT ? (rng.chance(0.25) ? [WRONG_PIN, SOAK_PIN] : [SOAK_PIN]) : [];
  return { amount, pins, pull };
}

/**
 * `cardpost qa soak`: one stack, random sales on every reader at once, round after round, with faults
 * drawn from the seed; the money invariants checked after each fault's recovery and every 30 s, and
 * with everything settled at the end. Stops at the first broken invariant.
 */
export async function runSoak(opts: SoakOptions, deps: SoakDeps): Promise<SoakSummary> {
  const startedAt = new Date();
  const t0 = Date.now();
  const stats = new SoakStats();
  let stack: QaStack | undefined;
  let error: SoakSummary['error'];
  let recordsSettled = 0;
  let soakStart = t0;
  try {
    stack = await startStack({ devices: soakDevices(opts), seed: opts.seed, host: deps.host, registry: deps.registry });
    // The soak's minutes are the sales' and faults', not the stack's start.
    soakStart = Date.now();
    stats.startupMs = soakStart - t0;
    const held = await soakRounds(stack, opts, stats, deps, soakStart);
    stats.loopMs = Date.now() - soakStart;
    if (held) recordsSettled = await finalCheck(stack, stats, deps.check ?? checkInvariants);
    else recordsSettled = stack.bank.settled().length;
  } catch (e) {
    const ce = e instanceof CardpostError ? e : undefined;
    error = {
      code: ce?.code ?? 'QA_SOAK_FAILED',
      message: e instanceof Error ? e.message : String(e),
      hint: ce?.hint ?? "see the daemon's last lines in soak.json",
    };
  }
  const readers = stack
    ? [...stack.readers.values()].map((r) => ({ name: r.name, medium: r.medium, daemonName: r.daemonName }))
    : [];
  const summary = stats.summary({
    options: opts,
    startedAt,
    durationMs: Date.now() - t0,
    readers,
    recordsSettled,
    error,
  });
  const daemonLog = stack?.daemon?.logLines.slice(-50) ?? [];
  await stack?.close().catch(() => undefined);
  writeSoakJson(opts.out, summary, summary.result === 'held' ? [] : daemonLog);
  return summary;
}

export function writeSoakJson(dir: string, summary: SoakSummary, daemonLog: string[]): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'soak.json');
  writeFileSync(file, JSON.stringify({ ...summary, ...(daemonLog.length ? { daemonLog } : {}) }, null, 2) + '\n');
  return file;
}

/** The rounds until the time is up; false when an invariant broke. */
async function soakRounds(
  stack: QaStack,
  opts: SoakOptions,
  stats: SoakStats,
  deps: SoakDeps,
  t0: number,
): Promise<boolean> {
  const rng = new SoakRandom(opts.seed);
  const readers = [...stack.readers.values()];
  const readerRng = new Map(readers.map((r) => [r.name, rng.fork(`reader:${r.name}`)]));
  const faultRng = rng.fork('faults');
  const swapRng = rng.fork('swaps');
  const schedule = new FaultSchedule(faultRng, opts.faults, enabledFaults(opts.faults, readers));
  const endAt = t0 + opts.minutes * 60_000;
  let lastCheck = Date.now();
  while (Date.now() < endAt && !deps.signal?.aborted) {
    const faults = schedule.next(Date.now());
    const withCard = readers.filter((r) => r.cardIn !== undefined);
    const pulled = faults.includes('card-pull') && withCard.length ? faultRng.pick(withCard) : undefined;
    const serial = readers.filter((r) => r.medium === 'serial');
    const noisy = faults.includes('line-noise') && serial.length ? faultRng.pick(serial) : undefined;
    if (noisy) noisy.lineNoise({ send: lineNoiseRates(opts.faults), receive: lineNoiseRates(opts.faults) });
    if (faults.some((f) => f.startsWith('bank') || f === 'drop-after-commit'))
      applyBankFaults(stack, faults, opts.faults);
    const killing = faults.includes('daemon-kill')
      ? killDaemonDuring(stack, faultRng, () => stats.daemonRestarts++)
      : Promise.resolve([]);
    const sales = withCard.map(async (r): Promise<SaleVerdict> => {
      const plan = drawPlan(readerRng.get(r.name)!, r === pulled);
      const run = await runSale(stack, r, stack.cards.get(r.cardIn!)!, plan);
      const verdict = judgeSale(run, faults);
      // What the reader's device said just before: the evidence a finding needs.
      if (!verdict.expected && verdict.detail)
        verdict.detail.timeline = stack.timeline
          .filter((e) => e.source.endsWith(`:${r.name}`))
          .slice(-8)
          .map((e) => `${e.t} ${e.source} ${e.text}`);
      stats.sale(verdict, run);
      return verdict;
    });
    const [killProblems, verdicts] = await Promise.all([killing, Promise.all(sales)]);
    const problems = [...killProblems, ...(faults.length ? await recoverFrom(stack, faults, noisy) : [])];
    if (faults.length || Date.now() - lastCheck > CHECK_EVERY_MS) {
      const findings = await checkpoint(stack, readers, problems, deps.check ?? checkInvariants);
      stats.check(findings);
      lastCheck = Date.now();
      const survived = findings.length === 0 && verdicts.every((v) => v.expected);
      for (const f of faults) stats.fault(f, survived);
      deps.progress?.(progressLine(stats, t0, faults));
      if (findings.length) return false;
    }
    if (!faults.length && swapRng.chance(0.1)) await swapCards(stack, readers, swapRng);
  }
  return true;
}

/**
 * A quiet moment (no sale runs): every card in a reader is read once, so journal recovery has stored
 * whatever the cards signed; then the invariants. A fault that did not recover is a finding too.
 */
async function checkpoint(
  stack: QaStack,
  readers: QaReader[],
  problems: string[],
  check: typeof checkInvariants,
): Promise<InvariantFinding[]> {
  const findings: InvariantFinding[] = problems.map((p) => ({ invariant: 'fault-recovery', message: p }));
  if (!(await daemonBack(stack, 10_000)))
    return [
      ...findings,
      { invariant: 'fault-recovery', message: 'the daemon is not answering (its last lines are in soak.json)' },
    ];
  for (const r of readers) {
    const why = await readCard(stack, r);
    if (why && why !== 'NO_CARD')
      findings.push({
        invariant: 'fault-recovery',
        message: `the card in reader ${r.name} could not be read (${why})`,
      });
  }
  return [...findings, ...(await check(stack))];
}

/** Take a card out of a PC/SC reader or the terminal (read once first) and put a spare one in, or swap two readers' cards. */
async function swapCards(stack: QaStack, readers: QaReader[], rng: SoakRandom): Promise<void> {
  const swappable = readers.filter((r) => r.medium !== 'hid' && r.cardIn !== undefined);
  if (!swappable.length) return;
  const inUse = new Set(readers.map((r) => r.cardIn));
  const spare = [...stack.cards.values()].filter((c) => !inUse.has(c.name));
  const a = rng.pick(swappable);
  await readCard(stack, a);
  if (spare.length) {
    await a.remove();
    await a.insert(rng.pick(spare));
    return;
  }
  const b = rng.pick(swappable.filter((r) => r !== a));
  if (!b) return;
  await readCard(stack, b);
  const [ca, cb] = [stack.cards.get(a.cardIn!)!, stack.cards.get(b.cardIn!)!];
  await a.remove();
  await b.remove();
  await a.insert(cb);
  await b.insert(ca);
}

/** Faults off, every card read, everything settled, then the invariants with requireSettled; returns the bank's row count. */
async function finalCheck(stack: QaStack, stats: SoakStats, check: typeof checkInvariants): Promise<number> {
  stack.bank.setFaults({});
  for (const r of stack.readers.values()) if (r.medium === 'serial') r.lineNoise({ send: {}, receive: {} });
  const problems: string[] = [];
  if (!(await daemonBack(stack))) problems.push('the daemon did not answer for the final settle');
  for (const r of stack.readers.values()) await readCard(stack, r);
  const left = await settleAll(stack, FINAL_SETTLE_MS);
  if (left !== 0) problems.push(`${left} records still unsettled ${FINAL_SETTLE_MS / 1000} s after the final settle`);
  const findings: InvariantFinding[] = [
    ...problems.map((message) => ({ invariant: 'final-settle', message })),
    ...(await check(stack, { requireSettled: true })),
  ];
  const bank = stack.bank.settled();
  const bankSales = bank.filter((r) => r.kind === 'sale').length;
  if (bankSales !== stats.paid)
    findings.push({
      invariant: 'paid-equals-bank',
      message: `the soak counted ${stats.paid} paid sales, the bank settled ${bankSales} sale records`,
      expected: stats.paid,
      actual: bankSales,
    });
  stats.check(findings);
  return bank.length;
}

function progressLine(stats: SoakStats, t0: number, faults: FaultKind[]): string {
  const s = Math.round((Date.now() - t0) / 1000);
  const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  const survived = Object.values(stats.faults).reduce((a, f) => a + f.survived, 0);
  const injected = Object.values(stats.faults).reduce((a, f) => a + f.injected, 0);
  const last = faults.length ? `after ${faults.join(' + ')}` : 'periodic';
  const verdict = stats.checks.broken ? 'BROKEN' : 'held';
  return `[${clock}] ${stats.attempted} sales, ${stats.paid} paid; faults ${survived}/${injected} survived; invariants ${verdict} (${last}, check ${stats.checks.run})`;
}
