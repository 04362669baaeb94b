import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CardpostError } from '../../protocol/errors.js';
import type { ProcessRegistry } from './qa-types.js';

/**
 * The processes and files of one QA runner, on disk as they are made, so that a runner killed with
 * SIGKILL leaves a list of what to clean behind: its reaper (reaper.mjs, started here) cleans up at
 * once, and the next run's cleanStaleRuns() cleans what a runner whose reaper died too left.
 *
 * The run file (<tmpdir>/cardpost-qa/runs/<runner pid>.json, mode 0600 in a 0700 directory):
 *   { version: 1, runner: {pid, startTime}, reaper?: {pid, startTime},
 *     processes: [{pid, startTime, what}], paths: [string] }
 * startTime is /proc/PID/stat field 22, so a pid the kernel has reused is never killed.
 */

export interface RunProcess {
  pid: number;
  startTime: string;
  what: string;
}

export interface RunFile {
  version: 1;
  runner: { pid: number; startTime: string };
  reaper?: { pid: number; startTime: string };
  processes: RunProcess[];
  paths: string[];
}

/** What one clean-up did (for the runner's log line). */
export interface CleanedRun {
  file: string;
  runnerPid: number | undefined;
  killed: { pid: number; what: string }[];
  removed: string[];
}

interface ReaperModule {
  RUNS_DIR: string;
  startTimeOf(pid: number): string | undefined;
  cleanRunFile(file: string): Promise<CleanedRun>;
  cleanStaleRuns(dir?: string): Promise<CleanedRun[]>;
}

/**
 * The plain .mjs helpers beside this module (plain so that the reaper and the daemon's preload run on
 * bare node). `npm run build` links them into dist/ (scripts/build-cli.mjs), so these URLs resolve to
 * the same files from the sources and from the build.
 */
const SCRIPTS = {
  'reaper.mjs': new URL('./reaper.mjs', import.meta.url),
  'clock-preload.mjs': new URL('./clock-preload.mjs', import.meta.url),
} as const;

export function qaScript(name: keyof typeof SCRIPTS): string {
  const file = fileURLToPath(SCRIPTS[name]);
  if (!existsSync(file))
    throw new CardpostError(
      'QA_STACK_FAILED',
      `the QA runner's helper ${name} is missing (${file})`,
      'reinstall cardpost (npm ci) or rebuild it (npm run build): device-sim/qa must hold it',
    );
  return file;
}

let reaperModule: Promise<ReaperModule> | undefined;
function reaper(): Promise<ReaperModule> {
  reaperModule ??= import(pathToFileURL(qaScript('reaper.mjs')).href) as Promise<ReaperModule>;
  return reaperModule;
}

/** Clean every run file whose runner is gone: its processes (same start time only), its paths, the file. */
export async function cleanStaleRuns(dir?: string): Promise<CleanedRun[]> {
  return (await reaper()).cleanStaleRuns(dir);
}

/** A process's /proc start time, or undefined when it is gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  return (await reaper()).startTimeOf(pid);
}

/**
 * The runs directory sits in the shared temporary directory: it must be a real directory of this user
 * (not a symbolic link or another user's directory planted there), or run files could be read or placed
 * by someone else.
 */
function ownDirectory(dir: string): void {
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid))
    throw new CardpostError(
      'QA_STACK_FAILED',
      `${dir} is not a directory of this user (${st.isSymbolicLink() ? 'a symbolic link' : `owner uid ${st.uid}`})`,
      `remove it (it holds only the QA runner's run files), or run as its owner`,
    );
}

export class RunRegistry implements ProcessRegistry {
  readonly file: string;
  private readonly run: RunFile;
  private closed = false;

  private constructor(
    private readonly mod: ReaperModule,
    dir: string,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    ownDirectory(dir);
    if (dir === mod.RUNS_DIR) ownDirectory(dirname(dir)); // <tmpdir>/cardpost-qa
    chmodSync(dir, 0o700);
    this.file = join(dir, `${process.pid}.json`);
    const startTime = mod.startTimeOf(process.pid);
    if (!startTime)
      throw new CardpostError(
        'QA_SYSTEM_MISSING',
        'cannot read this process from /proc',
        'run the QA runner on Linux with /proc mounted',
      );
    this.run = { version: 1, runner: { pid: process.pid, startTime }, processes: [], paths: [] };
    this.write();
  }

  /**
   * The registry of this runner (one run file per process), with its reaper started (`reaper: false`
   * for tests that want no watchdog). `dir` defaults to <tmpdir>/cardpost-qa/runs.
   */
  static async open(opts: { dir?: string; reaper?: boolean } = {}): Promise<RunRegistry> {
    const mod = await reaper();
    const r = new RunRegistry(mod, opts.dir ?? mod.RUNS_DIR);
    if (opts.reaper !== false) r.startReaper();
    return r;
  }

  /** What the run file says now (a copy). */
  snapshot(): RunFile {
    return structuredClone(this.run);
  }

  addProcess(pid: number, what: string): void {
    const startTime = this.mod.startTimeOf(pid);
    if (!startTime) return; // already gone: nothing to clean
    this.run.processes.push({ pid, startTime, what });
    this.write();
  }

  removeProcess(pid: number): void {
    const n = this.run.processes.length;
    this.run.processes = this.run.processes.filter((p) => p.pid !== pid);
    if (this.run.processes.length !== n) this.write();
  }

  addPath(path: string): void {
    if (this.run.paths.includes(path)) return;
    this.run.paths.push(path);
    this.write();
  }

  removePath(path: string): void {
    const n = this.run.paths.length;
    this.run.paths = this.run.paths.filter((p) => p !== path);
    if (this.run.paths.length !== n) this.write();
  }

  /**
   * A normal end (everything already taken down by the stacks): stop the reaper and delete the run file.
   * Whatever is still listed is cleaned first, so nothing listed outlives this call.
   */
  async close(): Promise<CleanedRun> {
    if (this.closed) return { file: this.file, runnerPid: process.pid, killed: [], removed: [] };
    this.closed = true;
    const reaperPid = this.run.reaper?.pid;
    if (reaperPid && this.mod.startTimeOf(reaperPid) === this.run.reaper?.startTime) {
      try {
        process.kill(reaperPid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    // The reaper reads the file while it runs: clean with our own hands, then drop the file.
    return this.mod.cleanRunFile(this.file);
  }

  private startReaper(): void {
    const child = spawn(process.execPath, [qaScript('reaper.mjs'), this.file], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    const startTime = child.pid ? this.mod.startTimeOf(child.pid) : undefined;
    if (child.pid && startTime) {
      this.run.reaper = { pid: child.pid, startTime };
      this.write();
    }
  }

  /** Write-then-rename: a reader (the reaper, a later run) sees the old file or the new, never half. */
  private write(): void {
    if (this.closed) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.run), { mode: 0o600 });
    try {
      renameSync(tmp, this.file);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        /* nothing to tidy */
      }
      throw e;
    }
  }
}
