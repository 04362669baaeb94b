/** Runs every benchmark in turn, each in its own process (`npm run bench`). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = ['crypto.ts', 'cbor.ts', 'apdu-exchange.ts'];
let failed = 0;
for (const b of benches) {
  console.log(`\n== bench/${b}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(b, import.meta.url))], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
