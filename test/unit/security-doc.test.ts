import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../../host/cli/main.js';

/**
 * docs/security.md is the threat model, and it must stay true: every test it cites exists (and the
 * named test with it), every route of the local API and every CLI command has its row.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(`${root}docs/security.md`, 'utf8');

/** `test/…` › title part [; `test/…` › title part] in one table cell. */
function citations(text: string): { file: string; title: string | undefined }[] {
  const out: { file: string; title: string | undefined }[] = [];
  const re = /`(test\/[^`]+\.ts)`(?:\s*›\s*([^;|`]+))?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ file: m[1]!, title: m[2]?.trim() });
  return out;
}

/** Source text with escaped quotes as they read in a title. */
const source = (file: string): string => readFileSync(root + file, 'utf8').replace(/\\'/g, "'");

describe('docs/security.md is in step with the code', () => {
  it('cites only tests that exist, and each named test is in its file', () => {
    const cited = citations(doc);
    assert.ok(cited.length >= 40, `the threat model cites its tests (found ${cited.length})`);
    for (const c of cited) {
      assert.ok(existsSync(root + c.file), `docs/security.md cites ${c.file}, which does not exist`);
      if (c.title)
        assert.ok(
          source(c.file).includes(c.title),
          `docs/security.md cites "${c.title}" in ${c.file}, which has no such test`,
        );
    }
  });

  it('every route of the local API has a row in §5.1', () => {
    // The routes are registered in host/api/server.ts and its plugins, one per resource, in host/api/routes/.
    const files = [
      'host/api/server.ts',
      ...readdirSync(`${root}host/api/routes`)
        .filter((n) => n.endsWith('.ts'))
        .map((n) => `host/api/routes/${n}`),
    ];
    const server = files.map((f) => readFileSync(root + f, 'utf8')).join('\n');
    const routes = [...server.matchAll(/app\.(get|post|put|delete|patch)\(\s*'([^']+)'/g)].map(
      (m) => `\`${m[1]!.toUpperCase()} ${m[2]}\``,
    );
    assert.ok(routes.length >= 15, `routes found in host/api: ${routes.length}`);
    for (const r of routes) assert.ok(doc.includes(r), `docs/security.md §5.1 has no row for ${r}`);
    const pages = readFileSync(`${root}host/api/pages.ts`, 'utf8');
    for (const m of pages.matchAll(/^\s+'(\/[^']*)': '[a-z]+\.html'/gm))
      assert.ok(doc.includes(`\`${m[1]}\``), `docs/security.md §5.1 has no row for the page ${m[1]}`);
  });

  it('every cardpost command has a row in §5.3', () => {
    const io = { out: () => undefined, setExitCode: () => undefined };
    const walk = (c: Command, prefix: string): string[] =>
      c.commands.flatMap((s) => [`${prefix}${s.name()}`, ...walk(s, `${prefix}${s.name()} `)]);
    const all = walk(
      buildProgram(io, () => undefined),
      '',
    );
    const leaves = all.filter(
      (name) => !all.some((other) => other.startsWith(`${name} `)) || ['sale', 'queue'].includes(name),
    );
    for (const name of leaves)
      assert.ok(doc.includes(`\`${name}\``), `docs/security.md §5.3 has no row for \`cardpost ${name}\``);
  });
});
