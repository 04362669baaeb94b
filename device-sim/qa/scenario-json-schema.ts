import { z } from 'zod';
import { scenarioSchema } from './scenario-schema.js';

/** Where the generated schema is committed, relative to the repository (scripts/gen-qa-schema.ts writes it). */
export const SCENARIO_JSON_SCHEMA_PATH = 'scenarios/scenario.schema.json';

/**
 * The JSON Schema of a scenario file, for editors (`# yaml-language-server: $schema=./scenario.schema.json`),
 * generated from the zod schema: the input side (defaults are optional to write), draft 2020-12.
 * Editors check what JSON Schema can say; the loader also checks the cross-references (load-checks.ts).
 */
export function renderScenarioJsonSchema(): string {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
