import type { InvariantFinding } from '../invariants.js';
import type { FaultKind } from './soak-faults.js';
import type { SoakOptions } from './soak-options.js';
import type { SaleVerdict } from './soak-outcome.js';

/** soak.json: what a soak did and whether the money held (docs/qa.md "qa soak"). */
export interface SoakSummary {
  version: 1;
  /**
   * held: every invariant held and every sale ended as its faults explain; findings: the invariants held
   * but some sales ended in a way no fault explains; broken: an invariant broke (the soak stopped there);
   * error: the soak could not run.
   */
  result: 'held' | 'findings' | 'broken' | 'error';
  options: SoakOptions;
  startedAt: string;
  /** Bringing the stack up (not part of the soak's minutes). */
  startupMs: number;
  /** From the stack being up to the end of the final check: the sales, the faults, the final settle. */
  durationMs: number;
  readers: { name: string; medium: string; daemonName: string }[];
  sales: {
    attempted: number;
    paid: number;
    notPaid: number;
    /** Every sale by how it ended: `paid`, `failed:SALE_INTERRUPTED`, … */
    byOutcome: Record<string, number>;
    /** Sales whose end the faults do not explain (each also in `findings`). */
    unexpected: number;
    /** Sales whose card was pulled and put back, and sales finished by journal recovery. */
    reinserted: number;
    recovered: number;
  };
  recordsSettled: number;
  throughputPerMin: number;
  /** Paid sales, POST to done (ms). */
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  faults: Record<string, { injected: number; survived: number }>;
  daemonRestarts: number;
  invariantChecks: { run: number; held: number; broken: number };
  /** Broken invariants (the first check that found any), unexpected sale outcomes, recoveries that failed. */
  findings: InvariantFinding[];
  /** Why the soak could not run or was cut short (result `error`). */
  error?: { code: string; message: string; hint: string };
}

/** The finding of a sale that ended in a way its faults do not explain (not a money invariant). */
export const SALE_OUTCOME = 'sale-outcome';

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The soak's running figures. */
export class SoakStats {
  readonly byOutcome: Record<string, number> = {};
  readonly latencies: number[] = [];
  readonly faults: Record<string, { injected: number; survived: number }> = {};
  readonly findings: InvariantFinding[] = [];
  attempted = 0;
  paid = 0;
  unexpected = 0;
  reinserted = 0;
  recovered = 0;
  daemonRestarts = 0;
  startupMs = 0;
  /** The rounds of sales and faults alone (throughput is counted over these). */
  loopMs = 0;
  checks = { run: 0, held: 0, broken: 0 };

  sale(v: SaleVerdict, o: { latencyMs: number | undefined; reinserted: boolean; recovered: boolean }): void {
    this.attempted++;
    this.byOutcome[v.outcome] = (this.byOutcome[v.outcome] ?? 0) + 1;
    if (v.outcome === 'paid') {
      this.paid++;
      if (o.latencyMs !== undefined) this.latencies.push(o.latencyMs);
    }
    if (o.reinserted) this.reinserted++;
    if (o.recovered) this.recovered++;
    if (!v.expected) {
      this.unexpected++;
      this.findings.push({
        invariant: SALE_OUTCOME,
        message: v.why ?? v.outcome,
        expected: 'paid',
        actual: { outcome: v.outcome, ...v.detail },
      });
    }
  }

  fault(kind: FaultKind, survived: boolean): void {
    const f = (this.faults[kind] ??= { injected: 0, survived: 0 });
    f.injected++;
    if (survived) f.survived++;
  }

  check(findings: InvariantFinding[]): void {
    this.checks.run++;
    if (findings.length === 0) this.checks.held++;
    else {
      this.checks.broken++;
      this.findings.push(...findings);
    }
  }

  summary(o: {
    options: SoakOptions;
    startedAt: Date;
    durationMs: number;
    readers: SoakSummary['readers'];
    recordsSettled: number;
    error?: SoakSummary['error'];
  }): SoakSummary {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const broken = this.findings.some((f) => f.invariant !== SALE_OUTCOME);
    return {
      version: 1,
      result: o.error ? 'error' : broken ? 'broken' : this.findings.length ? 'findings' : 'held',
      options: o.options,
      startedAt: o.startedAt.toISOString(),
      startupMs: this.startupMs,
      durationMs: o.durationMs,
      readers: o.readers,
      sales: {
        attempted: this.attempted,
        paid: this.paid,
        notPaid: this.attempted - this.paid,
        byOutcome: this.byOutcome,
        unexpected: this.unexpected,
        reinserted: this.reinserted,
        recovered: this.recovered,
      },
      recordsSettled: o.recordsSettled,
      throughputPerMin: this.loopMs > 0 ? Math.round((this.paid / (this.loopMs / 60_000)) * 10) / 10 : 0,
      latencyMs: sorted.length
        ? {
            p50: percentile(sorted, 50),
            p90: percentile(sorted, 90),
            p99: percentile(sorted, 99),
            max: sorted[sorted.length - 1]!,
          }
        : null,
      faults: this.faults,
      daemonRestarts: this.daemonRestarts,
      invariantChecks: this.checks,
      findings: this.findings,
      ...(o.error ? { error: o.error } : {}),
    };
  }
}

/** The summary as a person reads it at the end of the run. */
export function summaryLines(s: SoakSummary): string[] {
  const min = (s.durationMs / 60_000).toFixed(1);
  const lat = s.latencyMs
    ? `p50 ${s.latencyMs.p50} ms, p90 ${s.latencyMs.p90} ms, p99 ${s.latencyMs.p99} ms, max ${s.latencyMs.max} ms`
    : 'no paid sale';
  const outcomes = Object.entries(s.sales.byOutcome)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const faults = Object.entries(s.faults)
    .map(([k, f]) => `${k} ${f.survived}/${f.injected}`)
    .join(', ');
  const verdict =
    s.result === 'held'
      ? 'INVARIANTS HELD'
      : s.result === 'findings'
        ? `INVARIANTS HELD, but ${s.sales.unexpected} sale${s.sales.unexpected === 1 ? '' : 's'} ended unexpectedly`
        : s.result === 'broken'
          ? `INVARIANT BROKEN: ${s.findings.length} finding${s.findings.length === 1 ? '' : 's'}`
          : `COULD NOT RUN: ${s.error?.code ?? ''} ${s.error?.message ?? ''}`;
  const lines = [
    `qa soak ${verdict} — ${min} min, seed ${s.options.seed}, faults ${s.options.faults}, readers ${s.options.readers.join(',')}`,
    `  sales: ${s.sales.attempted} attempted, ${s.sales.paid} paid (${outcomes || 'none'})`,
    `  settled at the bank: ${s.recordsSettled} records; throughput ${s.throughputPerMin} paid sales/min`,
    `  latency (POST to done): ${lat}`,
    `  faults survived/injected: ${faults || 'none'}; daemon restarts ${s.daemonRestarts}`,
    `  invariant checks: ${s.invariantChecks.run} run, ${s.invariantChecks.held} held, ${s.invariantChecks.broken} broken`,
  ];
  for (const f of s.findings.slice(0, 20)) lines.push(`  ✗ ${f.invariant}: ${f.message}`);
  if (s.findings.length > 20) lines.push(`  … and ${s.findings.length - 20} more in soak.json`);
  if (s.error?.hint) lines.push(`  what to do: ${s.error.hint}`);
  return lines;
}
