#!/usr/bin/env node
/**
 * The test command's runner (`npm test` type-checks, then runs this): every mocha suite, in two mocha
 * processes at once. The firmware suites (test/firmware: C builds, valgrind, QEMU) are CPU-bound and
 * take one core; the rest (which also runs the conformance suites against the QEMU card) spends most
 * of its time waiting on pcscd, sockets, browsers and timers. Run one
 * after the other they took 14 minutes on 2 cores; side by side, about as long as the longer half.
 *
 * The two halves share nothing a test writes at run time: the ARM image, which both use, is built once
 * here before they start (scripts/build-firmware-arm.mjs; each half then finds it up to date), the C test
 * programs are built by test/firmware only, and pcscd is used by the other half only.
 *
 * The firmware half's output is printed after the other's, then one summary in mocha's words
 * ("N passing", "N failing", "N pending") for .ci/run. Exit status: 0 only when both halves passed.
 *   node scripts/run-tests.mjs                 # everything
 *   node scripts/run-tests.mjs ARGS…           # one mocha process, exactly `mocha ARGS…` (npm test -- ARGS…)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MOCHA = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
const FIRMWARE = 'test/firmware/**/*.test.ts';

const args = process.argv.slice(2);
if (args.length > 0) {
  const r = spawnSync(process.execPath, [MOCHA, ...args], { cwd: ROOT, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

// The firmware half cannot take the config file: mocha adds a positional spec to the config's, never
// replaces it. The same settings, given one by one.
const rc = JSON.parse(readFileSync(path.join(ROOT, '.mocharc.json'), 'utf8'));
const firmwareArgs = [
  '--no-config',
  ...rc['node-option'].flatMap((o) => ['--node-option', o]),
  '--timeout',
  String(rc.timeout),
  '--reporter',
  rc.reporter,
  ...(rc.exit ? ['--exit'] : []),
  FIRMWARE,
];
const restArgs = ['--ignore', FIRMWARE];

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

/** Run one half; resolves with its exit status and its output (echoed as it comes unless `quiet`). */
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
const [rest, firmware] = await Promise.all([half(restArgs, false), half(firmwareArgs, true)]);
process.stdout.write(`\n--- ${FIRMWARE}, run beside the suites above ---\n${firmware.out}`);
const a = counts(rest.out);
const b = counts(firmware.out);
const failing = a.failing + b.failing;
const status = rest.status !== 0 || firmware.status !== 0 ? 1 : 0;
const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
process.stdout.write(`\n--- both halves (${minutes} min) ---\n  ${a.passing + b.passing} passing\n`);
if (failing > 0 || status !== 0) process.stdout.write(`  ${Math.max(failing, status)} failing\n`);
if (a.pending + b.pending > 0) process.stdout.write(`  ${a.pending + b.pending} pending\n`);
process.exit(status);
