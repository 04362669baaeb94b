#!/usr/bin/env node
/**
 * Compiles the CLI's TypeScript (host/, protocol/, device-sim/) to JavaScript in dist/, so that
 * bin/cardpost.mjs starts without transpiling on every run. Run by `npm install` / `npm ci` after
 * the native build, and by `npm run build`. Also the module bin/cardpost.mjs asks whether dist/ is
 * up to date (`buildState`): it imports nothing heavy at the top for that reason.
 *
 *   node scripts/build-cli.mjs
 *
 * esbuild, not tsc, on purpose: it is the transformer tsx runs the sources through (we use the very
 * copy tsx ships, so no new dependency and no version drift), so dist/ holds the JavaScript tsx
 * would have made, file for file; and it takes well under a second where a tsc emit would type-check
 * the whole tree again (npm test already does that with `tsc -p .`). No bundling: one .js per .ts at
 * the same relative place keeps every `new URL('…', import.meta.url)` and every lazy `import()`
 * meaning what it means in the sources. What lies outside the compiled folders is linked in:
 *   dist/host/ui -> host/ui   the pages' static files (host/api/pages.ts reads ../ui/)
 *   dist/build   -> build     the native addon (protocol/crypto/sm2-native.ts reads ../../build/Release/)
 *   dist/device-sim/qa/*.mjs  the QA runner's reaper and clock preload (plain JavaScript, run by bare node)
 *   dist/bin     -> bin       the entry the QA runner starts the daemon with (host/cli/qa-host.ts)
 * so those resolve to the very same files, and editing the pages needs no rebuild.
 *
 * dist/manifest.json, written last, records the sources compiled, when, and the index of top-level
 * commands that lets `cardpost --help` list every command without loading them (host/cli/launch.ts).
 * The build goes to a fresh folder that then replaces dist/, so no file of a deleted source lingers
 * and a CLI starting meanwhile finds either a complete build or none (then it runs the sources).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Folders whose TypeScript is compiled (test/ and bench/ always run from the sources through tsx). */
export const SOURCE_DIRS = ['host', 'protocol', 'device-sim', 'firmware-bindings'];
/** Other files whose change makes the build out of date: the compiler settings and this script. */
const BUILD_INPUTS = ['tsconfig.json', 'scripts/build-cli.mjs'];
/** Links inside dist/ to what is read at run time relative to a module, and not compiled. */
const LINKS = { 'host/ui': 'host/ui', build: 'build', scripts: 'scripts', bin: 'bin' };
/** Plain JavaScript the compiled modules find beside themselves (the QA runner's reaper and clock preload). */
const FILE_LINKS = ['device-sim/qa/reaper.mjs', 'device-sim/qa/clock-preload.mjs'];
const MANIFEST = 'manifest.json';
export const MANIFEST_VERSION = 1;

/** The .ts files compiled, relative to root with '/' separators, sorted (declaration files have no output). */
export function listSources(root = ROOT) {
  // A plain walk with string paths: bin/cardpost.mjs runs this on every start, so it is kept cheap.
  const base = root.endsWith(path.sep) ? root : root + path.sep;
  const out = [];
  const walk = (rel) => {
    for (const e of readdirSync(base + rel, { withFileTypes: true })) {
      const file = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(file);
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(file);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(base + dir)) walk(dir);
  return out.sort();
}

/**
 * Whether dist/ may run in place of the sources: { fresh: true, manifest } or { fresh: false, reason }.
 * Out of date when a source was added, removed or modified since the build started, or the compiler
 * settings changed. A few milliseconds: one directory walk and a stat per source.
 */
export function buildState(root = ROOT) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(root, 'dist', MANIFEST), 'utf8'));
  } catch {
    return { fresh: false, reason: 'the CLI is not built' };
  }
  if (manifest.version !== MANIFEST_VERSION)
    return { fresh: false, reason: 'the CLI build is from another version of the build script' };
  const sources = listSources(root);
  const built = new Set(manifest.sources);
  const added = sources.find((s) => !built.has(s));
  if (added) return { fresh: false, reason: `the CLI build is older than the sources (${added} is new)` };
  if (sources.length !== built.size) {
    const now = new Set(sources);
    return {
      fresh: false,
      reason: `the CLI build is older than the sources (${manifest.sources.find((s) => !now.has(s))} was removed)`,
    };
  }
  const base = root.endsWith(path.sep) ? root : root + path.sep;
  for (const file of [...sources, ...BUILD_INPUTS]) {
    const mtime = statSync(base + file, { throwIfNoEntry: false })?.mtimeMs ?? 0; // a build input may be absent
    if (mtime >= manifest.startedAt)
      return { fresh: false, reason: `the CLI build is older than the sources (${file} changed)` };
  }
  return { fresh: true, manifest };
}

/** esbuild, resolved through tsx: the same copy (and version) that runs the sources in tests. */
async function loadEsbuild(root) {
  const fromTsx = createRequire(createRequire(path.join(root, 'package.json')).resolve('tsx/package.json'));
  return import(pathToFileURL(fromTsx.resolve('esbuild')).href);
}

/** Compile into a fresh folder, write the manifest, then swap it in for dist/. Throws on a compile error. */
export async function buildCli(root = ROOT) {
  const startedAt = Date.now(); // before the sources are read: an edit during the build leaves it stale
  const sources = listSources(root);
  const esbuild = await loadEsbuild(root);
  const tmp = path.join(root, `dist.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: sources,
      outdir: tmp,
      outbase: '.',
      bundle: false,
      format: 'esm',
      platform: 'node',
      target: 'node20', // package.json engines
      sourcemap: 'linked', // stack traces map back to the .ts with NODE_OPTIONS=--enable-source-maps
      logLevel: 'error',
    });
    for (const [link, target] of Object.entries(LINKS)) {
      const at = path.join(tmp, link);
      mkdirSync(path.dirname(at), { recursive: true });
      symlinkSync(path.relative(path.dirname(at), path.join(root, target)), at, 'dir');
    }
    for (const file of FILE_LINKS) {
      const at = path.join(tmp, file);
      mkdirSync(path.dirname(at), { recursive: true });
      symlinkSync(path.relative(path.dirname(at), path.join(root, file)), at, 'file');
    }
    const commands = commandIndex(path.join(tmp, 'host', 'cli', 'launch.js'));
    writeFileSync(
      path.join(tmp, MANIFEST),
      `${JSON.stringify({ version: MANIFEST_VERSION, startedAt, sources, commands }, null, 1)}\n`,
    );
    swapIn(tmp, path.join(root, 'dist'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { sources: sources.length, ms: Date.now() - startedAt };
}

/** Replace dist/ with the new build; a build finishing meanwhile in another process loses to this one. */
function swapIn(tmp, dist) {
  const old = `${dist}.old-${process.pid}`;
  for (let attempt = 1; ; attempt++) {
    try {
      if (existsSync(dist)) renameSync(dist, old);
      renameSync(tmp, dist);
      break;
    } catch (e) {
      if (attempt >= 3 || !['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(e.code)) throw e;
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  }
}

/** The top-level command index, asked of the compiled CLI in a child process (it loads every command module). */
function commandIndex(launchJs) {
  const code = `const { commandIndex } = await import(${JSON.stringify(pathToFileURL(launchJs).href)});
    process.stdout.write(JSON.stringify(await commandIndex()), () => process.exit(0));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`listing the commands of the build failed: ${r.stderr.trim() || `exit ${r.status}`}`);
  return JSON.parse(r.stdout);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { sources, ms } = await buildCli();
    console.log(`cardpost: CLI built (${sources} modules in dist/, ${ms} ms)`);
  } catch (e) {
    // esbuild has printed the compile errors themselves
    console.error(`cardpost: ERROR: the CLI build failed: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
    process.exit(1);
  }
}
