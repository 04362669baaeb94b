/**
 * Writes scenarios/scenario.schema.json from the scenario zod schema (device-sim/qa/scenario-schema.ts):
 *   node --import tsx scripts/gen-qa-schema.ts           write it
 *   node --import tsx scripts/gen-qa-schema.ts --check   write nothing; exit 1 if the committed file differs
 * test/qa/load.test.ts fails when the committed file is not what the schema gives.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderScenarioJsonSchema, SCENARIO_JSON_SCHEMA_PATH } from '../device-sim/qa/scenario-json-schema.js';

const path = fileURLToPath(new URL(`../${SCENARIO_JSON_SCHEMA_PATH}`, import.meta.url));
const text = renderScenarioJsonSchema();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    /* missing: not current */
  }
  if (current !== text) {
    process.stderr.write(
      `${SCENARIO_JSON_SCHEMA_PATH} is out of date: run node --import tsx scripts/gen-qa-schema.ts\n`,
    );
    process.exit(1);
  }
} else {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${SCENARIO_JSON_SCHEMA_PATH}\n`);
}
