#!/usr/bin/env node
// The QA runner's watchdog and its clean-up (docs/qa.md "Processes"). Plain JavaScript so that it
// runs under bare node (no tsx) and starts in a few milliseconds; device-sim/qa/registry.ts imports
// cleanRunFile/cleanStaleRuns from here, so there is one clean-up, not two.
//
//   node reaper.mjs <run file>   poll the runner named in the run file every 200 ms; once it is gone,
//                                clean up what the file lists and exit. SIGTERM: exit, cleaning nothing.
//
// A run file (<tmpdir>/cardpost-qa/runs/<runner pid>.json) is trusted only as far as it must be: it is
// read only if this user owns it; a process is killed only while its /proc start time is the recorded
// one (a reused pid is never killed); a path is removed only under <tmpdir>/cardpost-*.
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUNS_DIR = join(tmpdir(), 'cardpost-qa', 'runs');

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22), or undefined if it is gone. */
export function startTimeOf(pid) {
  const f = stat(pid);
  return f?.[19];
}

/** Fields of /proc/PID/stat after the command name (field 3 first), or undefined. */
function stat(pid) {
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // A zombie has exited: nothing to kill, and its parent reaps it.
    return f[0] === 'Z' ? undefined : f;
  } catch {
    return undefined;
  }
}

/** The process is the one recorded: alive with the same start time. */
export function sameProcess(pid, startTime) {
  return startTime !== undefined && startTimeOf(pid) === startTime;
}

/** A regular file this user owns (a run file anyone else could have written is never acted on). */
function ours(file) {
  try {
    const st = lstatSync(file);
    return st.isFile() && (!process.getuid || st.uid === process.getuid());
  } catch {
    return false;
  }
}

function readRunFile(file) {
  if (!ours(file)) return undefined;
  try {
    const run = JSON.parse(readFileSync(file, 'utf8'));
    if (run?.version !== 1 || !run.runner || !Array.isArray(run.processes) || !Array.isArray(run.paths))
      return undefined;
    return run;
  } catch {
    return undefined;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function signal(pid, sig) {
  const f = stat(pid);
  // A group leader (pgid = pid, as the stack spawns every child) takes its whole tree with it.
  try {
    if (f && Number(f[2]) === pid) process.kill(-pid, sig);
  } catch {
    /* the group is gone */
  }
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/**
 * Paths the clean-up may delete: inside the temporary directory under a cardpost-* entry, also once
 * symbolic links in its parents are followed (a link planted on the way never leads the removal elsewhere).
 */
function removable(path) {
  if (typeof path !== 'string' || path.length === 0) return false;
  const inside = (p, root) =>
    p.startsWith(root) && basename(p.slice(root.length).split(sep)[0] ?? '').startsWith('cardpost-');
  const p = resolve(path);
  if (!inside(p, resolve(tmpdir()) + sep)) return false;
  try {
    const realRoot = realpathSync(tmpdir()) + sep;
    return inside(join(realpathSync(dirname(p)), basename(p)), realRoot);
  } catch {
    return false; // its parent is gone: nothing there to remove
  }
}

/**
 * Kill the processes a run file lists (SIGTERM, then SIGKILL after a second) whose start time still
 * matches, remove its paths, delete the file. Returns what was done.
 */
export async function cleanRunFile(file) {
  const run = readRunFile(file);
  const out = { file, runnerPid: run?.runner?.pid, killed: [], removed: [] };
  if (!ours(file)) return out;
  if (!run) {
    // Ours but not a run file (torn by a crash mid-write is impossible with rename; a stray file): drop it.
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
    return out;
  }
  const live = run.processes.filter((p) => p.pid !== process.pid && sameProcess(p.pid, p.startTime));
  for (const p of live) signal(p.pid, 'SIGTERM');
  for (let i = 0; i < 20 && live.some((p) => sameProcess(p.pid, p.startTime)); i++) await sleep(50);
  for (const p of live) {
    if (sameProcess(p.pid, p.startTime)) signal(p.pid, 'SIGKILL');
    out.killed.push({ pid: p.pid, what: String(p.what) });
  }
  for (const path of run.paths) {
    if (!removable(path)) continue;
    try {
      if (existsSync(path) || lstatSync(path, { throwIfNoEntry: false })) {
        rmSync(path, { recursive: true, force: true });
        out.removed.push(path);
      }
    } catch {
      /* best effort: the next clean-up tries again only if the file stays; it does not */
    }
  }
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
  return out;
}

/** Whether the run file's runner is gone (dead, or its pid now belongs to another process). */
export function runnerGone(run) {
  return !sameProcess(run.runner.pid, run.runner.startTime);
}

/** Clean every run file in `dir` whose runner is gone. */
export async function cleanStaleRuns(dir = RUNS_DIR) {
  let names;
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const cleaned = [];
  for (const n of names) {
    const file = join(dir, n);
    const run = readRunFile(file);
    if (run && !runnerGone(run)) continue;
    cleaned.push(await cleanRunFile(file));
  }
  return cleaned;
}

async function watch(file) {
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
  });
  process.on('SIGINT', () => undefined); // a Ctrl-C at the terminal is the runner's to handle
  process.on('SIGHUP', () => undefined); // the terminal closing is no reason to leave the ptys behind
  for (;;) {
    if (stopping) process.exit(0);
    const run = readRunFile(file);
    if (!run) process.exit(0); // the runner ended normally and deleted it
    if (runnerGone(run)) {
      await cleanRunFile(file);
      process.exit(0);
    }
    await sleep(200);
  }
}

// Run as a script (not imported by registry.ts)? Compared as real paths: started through dist/ the path
// given is dist's link to this file, while import.meta.url names the file itself.
const invoked =
  process.argv[1] !== undefined && realpathSync(resolve(process.argv[1])) === fileURLToPath(import.meta.url);
if (invoked) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node reaper.mjs <run file>');
    process.exit(2);
  }
  await watch(resolve(file));
}
