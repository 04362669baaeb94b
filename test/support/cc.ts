import { createHash } from 'node:crypto';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds small C programs for the firmware and crypto tests (host gcc, valgrind, arm-none-eabi-gcc)
 * into build/c-tests/, cached by the hash of the sources, headers and flags, so a suite that runs
 * twice compiles once. A compiler error fails the test with the compiler's own words.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT_DIR = join(ROOT, 'build', 'c-tests');

export interface CProgram {
  /** A short name for the executable (no extension). */
  name: string;
  /** Source files, relative to the repository root. */
  sources: string[];
  /** Include directories, relative to the repository root. */
  includes?: string[];
  /** -D definitions, e.g. 'CP_LIMB32=1'. */
  defines?: string[];
  /** Extra compiler and linker flags. */
  flags?: string[];
  /** The compiler (default: cc). */
  compiler?: string;
  /** Headers the sources include that should also invalidate the cache (relative to the root). */
  headers?: string[];
}

const DEFAULT_FLAGS = ['-std=c99', '-O2', '-g', '-Wall', '-Wextra', '-Werror', '-pedantic'];

/** Compile (or reuse) the program; returns the executable's absolute path. */
export function buildC(p: CProgram): string {
  const compiler = p.compiler ?? 'cc';
  const args = [
    ...DEFAULT_FLAGS,
    ...(p.flags ?? []),
    ...(p.includes ?? []).map((i) => `-I${join(ROOT, i)}`),
    ...(p.defines ?? []).map((d) => `-D${d}`),
  ];
  const h = createHash('sha256');
  h.update(JSON.stringify([compiler, args, p.sources, p.headers ?? []]));
  for (const f of [...p.sources, ...(p.headers ?? []), ...headersIn(p.includes ?? [])])
    h.update(readFileSync(join(ROOT, f)));
  const exe = join(OUT_DIR, `${p.name}-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(exe)) return exe;
  mkdirSync(OUT_DIR, { recursive: true });
  const r = spawnSync(compiler, [...args, ...p.sources.map((s) => join(ROOT, s)), '-o', exe], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${compiler} failed for ${p.name}:\n${r.stderr}${r.stdout}`);
  return exe;
}

/** Every .h file directly inside the include directories (relative paths), for the cache key. */
function headersIn(dirs: string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    const abs = join(ROOT, d);
    if (!existsSync(abs)) continue;
    const list = execFileSync('find', [abs, '-maxdepth', '1', '-name', '*.h'], { encoding: 'utf8' });
    for (const f of list.split('\n').filter(Boolean).sort()) out.push(f.slice(ROOT.length + 1));
  }
  return out;
}

/** Run a built program; returns its status and output (never throws on a non-zero exit). */
export function runC(exe: string, args: string[] = [], input?: Uint8Array | string): SpawnSyncReturns<string> {
  return spawnSync(exe, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
}
