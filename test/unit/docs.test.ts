import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CARD_AID, CARD_STATUS, CMD } from '../../protocol/commands/index.js';
import { CBOR_ERRORS } from '../../protocol/cbor/index.js';
import { FRAME_ERRORS, HID_ERRORS } from '../../protocol/framing/index.js';

/**
 * docs/protocol.md is the normative spec: these checks keep its tables in step with the code that
 * defines the same values. Every assert carries a message (assert.ok without one can hang under tsx).
 */

const docsDir = fileURLToPath(new URL('../../docs/', import.meta.url));
const protocolMd = readFileSync(`${docsDir}protocol.md`, 'utf8');

/** The body of the level-2 section `## n. …`, up to the next level-2 heading. */
function section(n: number): string {
  const lines = protocolMd.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`## ${n}. `));
  assert.ok(start >= 0, `docs/protocol.md has no "## ${n}." heading`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** Rows of every markdown table in `text`, as trimmed cells (header and separator rows dropped). */
function tableRows(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('|') || !t.endsWith('|')) continue;
    const cells = t
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    rows.push(cells);
  }
  return rows;
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('docs/protocol.md is in step with the code', () => {
  it('§5 lists every CARD_STATUS with its hex code and meaning', () => {
    const rows = tableRows(section(5));
    for (const [name, info] of Object.entries(CARD_STATUS)) {
      const row = rows.find((r) => unquote(r[0] ?? '') === name);
      assert.ok(row !== undefined, `§5 table has no row for ${name}`);
      const code = `0x${hex2(info.code)}`;
      assert.ok(
        row.some((c) => unquote(c).toLowerCase() === code),
        `§5 row ${name} must give the code ${code}; row: ${row.join(' | ')}`,
      );
      assert.ok(
        row.includes(info.meaning),
        `§5 row ${name} must give the meaning "${info.meaning}"; row: ${row.join(' | ')}`,
      );
    }
    const names = new Set(Object.keys(CARD_STATUS));
    for (const r of rows.slice(1)) {
      assert.ok(names.has(unquote(r[0] ?? '')), `§5 table lists ${r[0]}, which is not in CARD_STATUS`);
    }
  });

  it('§4 lists every command byte of CMD', () => {
    const rows = tableRows(section(4));
    for (const [name, byte] of Object.entries(CMD)) {
      const row = rows.find((r) => unquote(r[1] ?? '') === name);
      assert.ok(row !== undefined, `§4 command table has no row for ${name}`);
      assert.equal(
        unquote(row[0] ?? '').toLowerCase(),
        hex2(byte),
        `§4 gives ${name} the byte ${row[0]}, the code says ${hex2(byte)}`,
      );
    }
  });

  it('names every CBOR, serial frame and HID error code', () => {
    const codes = [...Object.keys(CBOR_ERRORS), ...Object.keys(FRAME_ERRORS), ...Object.keys(HID_ERRORS)];
    assert.ok(codes.length > 30, `expected the three error tables to be non-trivial, got ${codes.length} codes`);
    for (const code of codes) {
      assert.ok(
        new RegExp(`\\b${escapeRe(code)}\\b`).test(protocolMd),
        `docs/protocol.md does not mention the error code ${code}`,
      );
    }
  });

  it('gives the application AID', () => {
    const aid = Buffer.from(CARD_AID).toString('hex').toUpperCase();
    assert.ok(protocolMd.includes(aid), `docs/protocol.md must contain the AID ${aid} (in the SELECT APDU)`);
    const spaced = aid.match(/../g)!.join(' ');
    assert.ok(protocolMd.includes(spaced), `docs/protocol.md must spell out the AID as ${spaced}`);
  });

  it('has the sections its table of contents lists, in order, and no leftover placeholders', () => {
    const toc = tableRows(protocolMd.slice(0, protocolMd.indexOf('\n## ')))
      .map((r) => Number(r[0]))
      .filter((n) => Number.isInteger(n) && n > 0);
    const headings = [...protocolMd.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1]));
    assert.ok(toc.length > 0, 'the table of contents at the top of docs/protocol.md has no numbered rows');
    assert.deepEqual(
      headings,
      toc,
      `section headings ${headings.join(',')} must match the table of contents ${toc.join(',')}`,
    );
    for (const leftover of ['STATUS_TABLE', '<!-- §8', '_draft/']) {
      assert.ok(!protocolMd.includes(leftover), `docs/protocol.md still contains "${leftover}"`);
    }
    assert.ok(
      !existsSync(`${docsDir}_draft`),
      'docs/_draft/ must not exist: its content belongs in protocol.md and architecture.md',
    );
  });
});
