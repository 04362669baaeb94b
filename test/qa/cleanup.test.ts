import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cleanStaleRuns, processStartTime, RunRegistry, type RunFile } from '../../device-sim/qa/registry.js';
import { missingPcscParts } from '../../device-sim/qa/stack/index.js';
import { socatPath } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';

/**
 * "No process or pty is left behind after a run killed with SIGKILL of the runner; a later run cleans up
 * what a killed one left" (issue 17): the reaper cleans at once, cleanStaleRuns() when the reaper died too.
 */
const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};
const gone = (path: string) => lstatSync(path, { throwIfNoEntry: false }) === undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, check: () => boolean, ms = 6000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `${what} within ${ms} ms`);
    await sleep(50);
  }
}

describe('QA clean-up after a killed runner', function () {
  this.timeout(60_000);
  let runsDir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'cardpost-qa-test-runs-'));
  });
  afterEach(() => {
    for (const c of children.splice(0))
      if (c.pid && c.exitCode === null && c.signalCode === null) spawnSync('kill', ['-9', String(c.pid)]);
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('SIGKILL of a runner mid-run: its reaper kills the daemon, socat (and pcscd) and removes the ptys and the directory', async function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
    // pcscd only when none is running already (a pcscd the stack did not start is not the stack's to kill).
    const pcsc = missingPcscParts().length === 0 && !existsSync('/run/pcscd/pcscd.comm');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/qa/stack-child.ts', runsDir, pcsc ? 'pcsc' : ''], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the runner exited (${code}) before its stack was up`)));
    });
    const made = JSON.parse(line) as Pick<RunFile, 'processes' | 'paths' | 'reaper'> & { dir: string; runFile: string };
    const whats = made.processes.map((p) => p.what).join(', ');
    assert.ok(
      made.processes.some((p) => p.what === 'cardpost daemon'),
      whats,
    );
    assert.equal(made.processes.filter((p) => p.what.startsWith('socat')).length, 2, whats);
    if (pcsc)
      assert.ok(
        made.processes.some((p) => p.what === 'pcscd'),
        whats,
      );
    assert.ok(made.reaper && alive(made.reaper.pid), 'the reaper runs');
    const links = made.paths.filter((p) => p.includes('/tty-'));
    assert.equal(links.length, 4, 'two pty pairs, two links each');
    for (const p of [...made.processes.map((x) => x.pid)]) assert.ok(alive(p));

    child.kill('SIGKILL');
    await eventually('the daemon, socat and pcscd are killed', () => made.processes.every((p) => !alive(p.pid)));
    await eventually('the pty links and the directory are removed', () => links.every(gone) && gone(made.dir));
    await eventually(
      'the run file is deleted and the reaper exits',
      () => gone(made.runFile) && !alive(made.reaper!.pid),
    );
  });

  it('cleanStaleRuns(): a run whose runner and reaper both died is cleaned; a reused pid and paths outside tmp are left alone', async () => {
    // The dead runner: a process that has exited (its pid and a start time no process has now).
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    const sleeper = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    const bystander = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    children.push(sleeper, bystander);
    await sleep(50);
    const left = mkdtempSync(join(tmpdir(), 'cardpost-qa-'));
    mkdirSync(join(left, 'data'));
    const outside = mkdtempSync(join(process.cwd(), '.qa-cleanup-outside-'));
    writeFileSync(join(outside, 'victim'), 'keep me');
    // A link planted in tmp whose name looks like ours: removal never follows it out of tmp.
    const planted = join(tmpdir(), `cardpost-qa-planted-${process.pid}`);
    symlinkSync(outside, planted);
    try {
      const stale: RunFile = {
        version: 1,
        runner: { pid: deadPid, startTime: '1' },
        processes: [
          { pid: sleeper.pid!, startTime: (await processStartTime(sleeper.pid!))!, what: 'cardpost daemon' },
          // The recorded process has ended and its pid now belongs to someone else: a different start time.
          { pid: bystander.pid!, startTime: '12345', what: 'socat (terminal pos)' },
        ],
        paths: [left, outside, '/etc/hostname', join(planted, 'victim')],
      };
      writeFileSync(join(runsDir, `${deadPid}.json`), JSON.stringify(stale), { mode: 0o600 });
      // A live runner's file (this process) is not touched.
      const live = await RunRegistry.open({ dir: runsDir, reaper: false });
      live.addPath(join(tmpdir(), 'cardpost-qa-live-marker'));

      const cleaned = await cleanStaleRuns(runsDir);
      assert.equal(cleaned.length, 1);
      assert.equal(cleaned[0]!.runnerPid, deadPid);
      assert.deepEqual(cleaned[0]!.killed, [{ pid: sleeper.pid, what: 'cardpost daemon' }]);
      assert.deepEqual(cleaned[0]!.removed, [left]);
      await eventually('the recorded process is killed', () => !alive(sleeper.pid!));
      assert.ok(alive(bystander.pid!), 'a pid with another start time is never killed');
      assert.ok(gone(left), 'its temp dir is removed');
      assert.ok(existsSync(outside), 'a path outside the temp dir is never removed');
      assert.ok(existsSync('/etc/hostname'));
      assert.ok(existsSync(join(outside, 'victim')), 'nothing is removed through a symbolic link out of tmp');
      assert.ok(gone(join(runsDir, `${deadPid}.json`)), 'the stale run file is deleted');
      assert.ok(existsSync(live.file), "the live runner's file stays");
      assert.deepEqual(await cleanStaleRuns(runsDir), [], 'nothing is cleaned twice');
      await live.close();
      assert.ok(gone(live.file));
    } finally {
      rmSync(planted, { force: true });
      rmSync(outside, { recursive: true, force: true });
      rmSync(left, { recursive: true, force: true });
    }
  });

  it('a run file another user could have written, or one that is not a run file, is not acted on', async function () {
    if (process.getuid?.() !== 0) this.skip(); // handing the file to another user needs root
    const sleeper = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    children.push(sleeper);
    await sleep(50);
    const run = {
      version: 1,
      runner: { pid: 999_999_999, startTime: '1' },
      processes: [{ pid: sleeper.pid!, startTime: (await processStartTime(sleeper.pid!))!, what: 'x' }],
      paths: [],
    };
    const foreign = join(runsDir, '999999999.json');
    writeFileSync(foreign, JSON.stringify(run));
    spawnSync('chown', ['65534', foreign]);
    writeFileSync(join(runsDir, '999999998.json'), '{"version":2}');
    await cleanStaleRuns(runsDir);
    assert.ok(alive(sleeper.pid!), "a process listed in another user's run file is not killed");
    assert.ok(existsSync(foreign), "another user's file is left where it is");
    assert.ok(gone(join(runsDir, '999999998.json')), 'a file of ours that is no run file is dropped');
  });
});
