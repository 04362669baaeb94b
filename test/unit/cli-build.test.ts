import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram, runCli } from '../../host/cli/main.js';
import { buildState, listSources, MANIFEST_VERSION } from '../../scripts/build-cli.mjs';

/**
 * The compiled CLI: `npm ci` builds dist/ (scripts/build-cli.mjs) and bin/cardpost.mjs runs it while
 * no source is newer. If it is missing or stale here (sources edited since), this file builds it
 * first and says so: nothing is skipped. Output is compared with the sources run in-process
 * (main.ts's eager tree) and, for --help, with the sources run through tsx by bin/cardpost.mjs.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'cardpost.mjs');

function build(why: string): void {
  console.log(`      (building the CLI: ${why})`);
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `node scripts/build-cli.mjs failed:\n${r.stdout}${r.stderr}`);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** bin/cardpost.mjs with CARDPOST_CLI=build|sources (the build: rebuilt once if a source changed meanwhile). */
function cardpost(from: 'build' | 'sources', args: string[]): Run {
  const run = (): Run => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, CARDPOST_CLI: from },
      timeout: 15_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const r = run();
  if (from === 'build' && r.code === 3 && r.stderr.startsWith('cardpost: CARDPOST_CLI=build but ')) {
    build(r.stderr.trim());
    return run();
  }
  return r;
}

/** The sources' answer, in-process through main.ts's runCli, as the process would print it. */
async function inProcess(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), setExitCode: () => {} }, (l) => err.push(l));
  const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');
  return { code, stdout: text(out), stderr: text(err) };
}

describe('the compiled CLI (npm ci → dist/, run by bin/cardpost.mjs)', function () {
  this.timeout(90_000); // a build, and a few tsx starts on a loaded machine

  before(() => {
    const state = buildState();
    if (!state.fresh) build(state.reason);
  });

  it('is complete: one module per source, the manifest listing them all', () => {
    const state = buildState();
    if (!state.fresh) build(state.reason);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'dist', 'manifest.json'), 'utf8')) as {
      version: number;
      sources: string[];
    };
    assert.equal(manifest.version, MANIFEST_VERSION, 'manifest version');
    assert.deepEqual(manifest.sources, listSources(), 'the build compiled every source');
    for (const s of manifest.sources) {
      const js = join(ROOT, 'dist', s.replace(/\.ts$/, '.js'));
      assert.ok(existsSync(js), `dist/ has no ${relative(ROOT, js)}`);
    }
  });

  it('`cardpost --help` from the build exits 0, lists every command, and prints what the sources print', async () => {
    const built = cardpost('build', ['--help']);
    assert.equal(built.code, 0, `exit code: ${built.stderr}`);
    assert.equal(built.stderr, '', 'nothing on stderr');
    const names = buildProgram({ out: () => {}, setExitCode: () => {} }, () => {}).commands.map((c) => c.name());
    assert.ok(names.length >= 10, `commands: ${names.join(' ')}`);
    for (const name of names) assert.match(built.stdout, new RegExp(`^  ${name}\\b`, 'm'), `--help lists ${name}`);
    assert.deepEqual(built, cardpost('sources', ['--help']), 'build and sources (through tsx) print the same help');
    assert.deepEqual(built, await inProcess(['--help']), 'build and sources (in-process) print the same help');
  });

  it('loading command modules lazily changes no output', async () => {
    const cases = [
      ['sale', '--help'],
      ['help', 'card'],
      ['card', '--help'],
      ['sim', 'card', '--help'],
      ['issues'],
      ['sal'],
      ['--version'],
      [],
      ['--bogus'],
      ['crypto', 'sm3', '616263'],
      ['crypto', 'sm2-verify', '--key', '00', '--msg', '00', '--sig', '00'],
    ];
    for (const args of cases) {
      assert.deepEqual(cardpost('build', args), await inProcess(args), `cardpost ${args.join(' ')}`);
    }
  });

  it('files found relative to a module resolve from dist/ to the same files as from the sources', () => {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(join(ROOT, 'dist', dir), { withFileTypes: true })) {
        const rel = dir ? `${dir}/${e.name}` : e.name;
        if (e.isDirectory()) walk(rel);
        else if (e.name.endsWith('.js')) {
          const text = readFileSync(join(ROOT, 'dist', rel), 'utf8');
          // Any other use of the module's location is one this check cannot follow: look at it, then teach it here.
          const other = text.replace(
            /new URL\(\s*(['"`])[^'"`$]+\1\s*,\s*import\.meta\.url\s*\)|createRequire\(import\.meta\.url\)/g,
            '',
          );
          assert.ok(
            !other.includes('import.meta'),
            `dist/${rel} finds something from import.meta another way: check it resolves from dist/`,
          );
          for (const m of text.matchAll(/new URL\(\s*(['"`])([^'"`$]+)\1\s*,\s*import\.meta\.url\s*\)/g)) {
            const fromDist = join(ROOT, 'dist', dirname(rel), m[2]!);
            const fromSources = join(ROOT, dirname(rel), m[2]!);
            found.push(`${rel}: ${m[2]}`);
            if (existsSync(fromSources)) {
              assert.ok(existsSync(fromDist), `${m[2]} in dist/${rel} does not resolve (${fromDist})`);
              assert.equal(realpathSync(fromDist), realpathSync(fromSources), `${m[2]} in dist/${rel}`);
            } else {
              assert.ok(!existsSync(fromDist), `${m[2]} in dist/${rel} is found from dist/ only`);
            }
          }
        }
      }
    };
    for (const dir of readdirSync(join(ROOT, 'dist'), { withFileTypes: true }))
      if (dir.isDirectory() && !dir.isSymbolicLink()) walk(dir.name);
    assert.ok(
      found.some((f) => f.includes('../ui/')),
      `the pages' folder is among them: ${found.join('; ')}`,
    );
    assert.ok(
      found.some((f) => f.includes('cardpost_crypto.node')),
      `the native addon is among them: ${found.join('; ')}`,
    );
  });

  it('uses the same SM2 backend as the sources (the native addon resolves from dist/)', async () => {
    const line = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('SM2 backend:'));
    const built = cardpost('build', ['selftest']);
    assert.equal(built.code, 0, built.stdout + built.stderr);
    assert.equal(line(built.stdout), line((await inProcess(['selftest'])).stdout), 'the SM2 backend line of selftest');
  });

  it('is out of date when a source is modified, added or removed after it started', () => {
    const root = mkdtempSync(join(tmpdir(), 'cardpost-build-'));
    try {
      mkdirSync(join(root, 'host', 'cli'), { recursive: true });
      mkdirSync(join(root, 'dist'));
      writeFileSync(join(root, 'host', 'cli', 'a.ts'), '');
      writeFileSync(join(root, 'host', 'cli', 'types.d.ts'), ''); // declarations are no source of output
      const past = new Date(Date.now() - 60_000);
      utimesSync(join(root, 'host', 'cli', 'a.ts'), past, past);
      utimesSync(join(root, 'host', 'cli', 'types.d.ts'), past, past);
      assert.deepEqual(buildState(root), { fresh: false, reason: 'the CLI is not built' });
      const manifest = {
        version: MANIFEST_VERSION,
        startedAt: Date.now() - 1_000,
        sources: ['host/cli/a.ts'],
        commands: [],
      };
      writeFileSync(join(root, 'dist', 'manifest.json'), JSON.stringify(manifest));
      assert.equal(buildState(root).fresh, true, 'fresh');
      utimesSync(join(root, 'host', 'cli', 'a.ts'), new Date(), new Date());
      assert.match(
        (buildState(root) as { reason: string }).reason,
        /older than the sources \(host\/cli\/a\.ts changed\)/,
      );
      utimesSync(join(root, 'host', 'cli', 'a.ts'), past, past);
      writeFileSync(join(root, 'host', 'b.ts'), '');
      utimesSync(join(root, 'host', 'b.ts'), past, past);
      assert.match((buildState(root) as { reason: string }).reason, /\(host\/b\.ts is new\)/);
      rmSync(join(root, 'host', 'b.ts'));
      rmSync(join(root, 'host', 'cli', 'a.ts'));
      assert.match((buildState(root) as { reason: string }).reason, /\(host\/cli\/a\.ts was removed\)/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
