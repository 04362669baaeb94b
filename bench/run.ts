/**
 * Runs the benchmarks in turn, each in its own process: every one (`npm run bench`), or only those
 * named (`npm run bench -- settlement enqueue`, with or without `.ts`). sale-overhead goes last: it
 * needs pcscd and its vpcd ports, which an integration test run may be using.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = [
  'crypto.ts',
  'cbor.ts',
  'apdu-exchange.ts',
  'enqueue.ts',
  'settlement.ts',
  'clearing.ts',
  'cli-startup.ts',
  'firmware.ts',
  'sale-overhead.ts',
];
const wanted = process.argv.slice(2).map((a) => (a.endsWith('.ts') ? a : `${a}.ts`));
const unknown = wanted.filter((w) => !benches.includes(w));
if (unknown.length) {
  console.error(`no bench ${unknown.join(', ')}; there are: ${benches.map((b) => b.replace(/\.ts$/, '')).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const b of wanted.length ? benches.filter((x) => wanted.includes(x)) : benches) {
  console.log(`\n== bench/${b}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(b, import.meta.url))], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
