#!/usr/bin/env node
/**
 * The test command's runner (`npm test` type-checks, then runs this): every mocha suite, in three mocha
 * processes at once, grouped by what they wait on so that two cores stay busy and no two groups share a
 * device:
 *   firmware  test/firmware (C builds, valgrind, QEMU): CPU-bound;
 *   pcscd     every suite that uses the real pcscd and its vpcd ports (it imports test/support/pcscd.ts,
 *             counter-processes.ts or shared-bank.ts) and the QA runner's suites (test/qa: `cardpost qa run`
 *             brings up pcscd/vpcd itself): one at a time, since vpcd's ports and pcscd's socket are
 *             machine-wide;
 *   rest      everything else (in-process daemons, sockets, ptys, browsers, timers).
 * Run one after the other they took 14 minutes on 2 cores; side by side, about as long as the longest group.
 *
 * The groups share nothing a test writes at run time: the ARM image, which two use, is built once here
 * before they start (scripts/build-firmware-arm.mjs; each then finds it up to date), the C test programs
 * are built by test/firmware only, and pcscd is used by the pcscd group only.
 *
 * The pcscd group's output streams; the others are printed after it, then one summary in mocha's words
 * ("N passing", "N failing", "N pending") for .ci/run. Exit status: 0 only when every group passed.
 *   node scripts/run-tests.mjs                 # everything
 *   node scripts/run-tests.mjs ARGS…           # one mocha process, exactly `mocha ARGS…` (npm test -- ARGS…)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MOCHA = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
const USES_PCSCD = /support\/(pcscd|counter-processes|shared-bank)\.js/;

const args = process.argv.slice(2);
if (args.length > 0) {
  const r = spawnSync(process.execPath, [MOCHA, ...args], { cwd: ROOT, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/** Every test file under test/, relative to the root, sorted. */
function testFiles(dir = 'test') {
  const out = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.posix.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...testFiles(rel));
    else if (name.endsWith('.test.ts')) out.push(rel);
  }
  return out.sort();
}

function groupOf(file) {
  if (file.startsWith('test/firmware/')) return 'firmware';
  if (file.startsWith('test/qa/') || USES_PCSCD.test(readFileSync(path.join(ROOT, file), 'utf8'))) return 'pcscd';
  return 'rest';
}

// Each group names its files, so none can take the config file (mocha adds a positional spec to the
// config's, never replaces it): the same settings, given one by one.
const rc = JSON.parse(readFileSync(path.join(ROOT, '.mocharc.json'), 'utf8'));
const common = [
  '--no-config',
  ...rc['node-option'].flatMap((o) => ['--node-option', o]),
  '--timeout',
  String(rc.timeout),
  '--reporter',
  rc.reporter,
  ...(rc.exit ? ['--exit'] : []),
];
const groups = { pcscd: [], rest: [], firmware: [] };
for (const f of testFiles()) groups[groupOf(f)].push(f);

const hasArmToolchain = (process.env.PATH ?? '')
  .split(path.delimiter)
  .some((d) => d && existsSync(path.join(d, 'arm-none-eabi-gcc')));
if (hasArmToolchain) {
  // Built here so that the two halves never write it at once. A failed build stops the run: the
  // halves would otherwise both try again into the same files.
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-firmware-arm.mjs'), '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (built.status !== 0) {
    process.stdout.write(
      'the ARM card image does not build (node scripts/build-firmware-arm.mjs)\n  0 passing\n  1 failing\n',
    );
    process.exit(1);
  }
}

/** Run one group; resolves with its exit status and its output (echoed as it comes unless `quiet`). */
function half(mochaArgs, quiet) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MOCHA, ...mochaArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (stream) => (b) => {
      out += b;
      if (!quiet) stream.write(b);
    };
    child.stdout.on('data', take(process.stdout));
    child.stderr.on('data', take(process.stderr));
    const stop = (sig) => child.kill(sig);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    child.once('close', () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 1 : 0), out }));
  });
}

/** The counts a mocha spec report ends with (0 when absent). */
function counts(text) {
  const last = (word) => {
    const all = [...text.matchAll(new RegExp(`^ *(\\d+) ${word}\\b`, 'gm'))];
    return all.length ? Number(all[all.length - 1][1]) : 0;
  };
  return { passing: last('passing'), failing: last('failing'), pending: last('pending') };
}

const t0 = Date.now();
const names = Object.keys(groups).filter((g) => groups[g].length > 0);
const results = await Promise.all(names.map((g, i) => half([...common, ...groups[g]], i > 0)));
names.forEach((g, i) => {
  if (i > 0)
    process.stdout.write(
      `\n--- ${g} group (${groups[g].length} files), run beside the suites above ---\n${results[i].out}`,
    );
});
const total = { passing: 0, failing: 0, pending: 0 };
for (const r of results) {
  const c = counts(r.out);
  total.passing += c.passing;
  total.failing += c.failing;
  total.pending += c.pending;
}
const status = results.some((r) => r.status !== 0) ? 1 : 0;
const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
process.stdout.write(`\n--- all groups (${minutes} min) ---\n  ${total.passing} passing\n`);
if (total.failing > 0 || status !== 0) process.stdout.write(`  ${Math.max(total.failing, status)} failing\n`);
if (total.pending > 0) process.stdout.write(`  ${total.pending} pending\n`);
// Not process.exit(): writes to a pipe (CI tees this output) are asynchronous, and exiting at once cut
// the groups printed last (a whole group's report is one large write). With every child gone, nothing
// keeps the process up once the writes are flushed.
process.exitCode = status;
