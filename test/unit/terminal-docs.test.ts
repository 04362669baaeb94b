import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  MSG,
  TERMINAL_ERROR_CODES,
  TERMINAL_LINK_ERRORS,
  messageFields,
  type MessageType,
} from '../../protocol/terminal/index.js';

/** docs/protocol.md §13 stays in step with protocol/terminal: every message type, field and error code. */
const md = readFileSync(fileURLToPath(new URL('../../docs/protocol.md', import.meta.url)), 'utf8');
const start = md.indexOf('\n## 13. ');
const s13 = md.slice(start, md.indexOf('\n## ', start + 5) < 0 ? undefined : md.indexOf('\n## ', start + 5));

describe('docs/protocol.md §13 is in step with protocol/terminal', () => {
  it('has a §13', () => {
    assert.ok(start > 0, 'no "## 13." heading');
  });

  it('lists every message type with its number and every field by key and name', () => {
    for (const [name, code] of Object.entries(MSG)) {
      const row = s13.split('\n').find((l) => l.startsWith(`| ${code} | \`${name}\` |`));
      assert.ok(row, `§13.4 has no row "| ${code} | \`${name}\` |"`);
      for (const [key, field] of Object.entries(messageFields(name as MessageType))) {
        assert.ok(row.includes(`${key}: ${field}`), `§13.4 row ${name} must name field ${key}: ${field}`);
      }
    }
  });

  it('names every terminal error code and link error code with its meaning', () => {
    for (const [code, meaning] of Object.entries(TERMINAL_ERROR_CODES)) {
      assert.ok(s13.includes(`| \`${code}\` | ${meaning} |`), `§13.6 must list ${code} with "${meaning}"`);
    }
    for (const code of Object.keys(TERMINAL_LINK_ERRORS))
      assert.ok(s13.includes(`\`${code}\``), `§13.6 must list ${code}`);
  });
});
