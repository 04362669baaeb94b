// A QA runner in miniature for test/qa/cleanup.test.ts: opens a run registry (with its reaper), brings a
// stack up, prints what it made as one JSON line, then waits to be killed.
import { RunRegistry } from '../../device-sim/qa/registry.js';
import { devicesSchema } from '../../device-sim/qa/scenario-schema.js';
import { startStack } from '../../device-sim/qa/stack/index.js';
import { qaHost } from '../../host/cli/qa-host.js';

const runsDir = process.argv[2]!;
const withPcsc = process.argv[3] === 'pcsc';
const registry = await RunRegistry.open({ dir: runsDir });
const stack = await startStack({
  devices: devicesSchema.parse({
    cards: [{ id: 'alice' }, { id: 'bob' }],
    readers: [
      { id: 'pos', medium: 'serial', card: 'alice' },
      ...(withPcsc ? [{ id: 'counter', medium: 'pcsc', card: 'bob' }] : []),
    ],
    printer: true,
  }),
  seed: 3,
  host: qaHost(),
  registry,
});
const run = registry.snapshot();
console.log(
  JSON.stringify({
    dir: stack.dir,
    runFile: registry.file,
    reaper: run.reaper,
    processes: run.processes,
    paths: run.paths,
  }),
);
setInterval(() => undefined, 60_000);
