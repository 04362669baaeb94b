/**
 * CLI start-up (issue 13): wall time of `cardpost --help`, a new process each run, from the build
 * (dist/, made by `npm ci`; CARDPOST_CLI=build) against the TypeScript sources through tsx
 * (CARDPOST_CLI=sources). Runs alternate, so background load on a shared machine hits both alike;
 * medians and their ratio are printed. Target: the build under 300 ms. Builds dist/ first if it is
 * missing or older than the sources.
 *
 *   node --import tsx bench/cli-startup.ts [runs per contender, default 10]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildState } from '../scripts/build-cli.mjs';

const runs = Number(process.argv[2] ?? 10);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/cardpost.mjs', import.meta.url));

function build(why: string): void {
  console.log(`building dist/ first: ${why}`);
  const b = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}

const state = buildState();
if (!state.fresh) build(state.reason);

function once(from: 'build' | 'sources'): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, [BIN, '--help'], {
    encoding: 'utf8',
    env: { ...process.env, CARDPOST_CLI: from },
  });
  const ms = performance.now() - start;
  if (from === 'build' && r.status === 3 && r.stderr.startsWith('cardpost: CARDPOST_CLI=build but ')) {
    build(r.stderr.trim()); // a source was edited during the run: build again, measure again
    return once(from);
  }
  if (r.status !== 0) {
    console.error(`cardpost --help (${from}) exited ${r.status}: ${r.stderr.trim()}`);
    process.exit(1);
  }
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

console.log(`cardpost --help: ${runs} runs per contender, alternating, median wall time; node ${process.version}`);
once('build');
once('sources'); // warm-up: file cache
const times = { build: [] as number[], sources: [] as number[] };
for (let i = 0; i < runs; i++) {
  times.build.push(once('build'));
  times.sources.push(once('sources'));
}
const b = median(times.build);
const s = median(times.sources);
console.log(
  `  build (dist/)      ${b.toFixed(0).padStart(6)} ms   (min ${Math.min(...times.build).toFixed(0)}, max ${Math.max(...times.build).toFixed(0)})`,
);
console.log(
  `  sources (tsx)      ${s.toFixed(0).padStart(6)} ms   (min ${Math.min(...times.sources).toFixed(0)}, max ${Math.max(...times.sources).toFixed(0)})`,
);
console.log(
  `  build/sources      ${(b / s).toFixed(2).padStart(6)}      (${(s / b).toFixed(1)}x faster; target: build under 300 ms)`,
);
