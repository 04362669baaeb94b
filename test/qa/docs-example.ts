import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The worked example of docs/qa.md §2, as the page shows it (the tests load it and run it). */
export function docsExample(): string {
  const page = readFileSync(fileURLToPath(new URL('../../docs/qa.md', import.meta.url)), 'utf8');
  const m = /Save it as `scenarios\/offline-then-settle\.yaml`:\n\n```yaml\n([\s\S]*?)```/.exec(page);
  assert.ok(m, 'docs/qa.md §2 holds the worked example');
  return m[1]!;
}
