import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initIssuerDir, issueTerminal } from '../../host/issuer/issuer-dir.js';
import { ConfigError, loadConfig } from '../../host/daemon/config.js';
import { Daemon, DaemonError, DATA_FILES, findDaemon } from '../../host/daemon/daemon.js';
import { LOCK_KIND, processStartTime } from '../../host/daemon/daemon-lock.js';
import { createLogger } from '../../host/daemon/log.js';
import { CliProcess, runCardpost } from '../support/cli.js';

const TERMINAL = 'T-FILES-01';

/** The docs' layout that used to lose its config: `<dir>/daemon.json` with "dataDir": "." (the config's own folder). */
function counterDir(
  configName = 'daemon.json',
  extra: Record<string, unknown> = {},
): { dir: string; config: string; bytes: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-daemon-files-'));
  const issuer = initIssuerDir(join(dir, 'issuer'), { name: 'daemon files issuer' });
  issueTerminal(issuer, TERMINAL, join(dir, 'terminal'));
  const config = join(dir, configName);
  // Pretty-printed with a trailing newline and a key order of its own: byte-identical means untouched.
  writeFileSync(
    config,
    JSON.stringify(
      {
        dataDir: '.',
        terminalDir: './terminal',
        merchantId: 'M-FILES',
        bank: { url: 'http://127.0.0.1:9', healthIntervalMs: 60_000 },
        api: { port: 0 },
        readers: { pcsc: false },
        log: { level: 'silent' },
        ...extra,
      },
      null,
      4,
    ) + '\n',
    { mode: 0o640 },
  );
  return { dir, config, bytes: readFileSync(config) };
}

const start = (configFile: string) =>
  Daemon.start({ config: loadConfig({ file: configFile, env: {} }), log: createLogger('silent') });

function rejectsWith<E extends Error & { code: string; hint: string }>(
  type: new (...a: never[]) => E,
  code: string,
  mention?: RegExp,
) {
  return (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name} ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (mention) assert.match(`${e.message} ${e.hint}`, mention);
    assert.ok(e.hint.length > 0, 'the error says what to do');
    return true;
  };
}

const lockJson = (o: Record<string, unknown>) =>
  JSON.stringify({
    kind: LOCK_KIND,
    nonce: 'n-other',
    procStart: null,
    bootId: null,
    url: 'http://127.0.0.1:1',
    terminalId: 'T',
    startedAt: 0,
    ...o,
  });

describe('security: the daemon never writes or deletes a file it did not make (issue 12 item 11)', function () {
  this.timeout(60_000);
  let dir: string | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop().catch(() => undefined);
    daemon = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('config at <dir>/daemon.json with "dataDir": ".": a start and a clean stop leave the config byte-identical', async () => {
    const c = counterDir();
    dir = c.dir;
    daemon = await start(c.config);
    assert.deepEqual(readFileSync(c.config), c.bytes, 'the running daemon has not touched its config');
    assert.equal(findDaemon(c.dir).info.url, daemon.url, 'the CLI finds the daemon through its own lock file');
    await daemon.stop();
    daemon = undefined;
    assert.ok(existsSync(c.config), 'the config still exists after a clean stop');
    assert.deepEqual(readFileSync(c.config), c.bytes, 'and is byte for byte what it was');
    assert.ok(!existsSync(join(c.dir, DATA_FILES.info)), 'the daemon removed its own lock file, and only that');
    // A second start on the same directory (the shop's next morning) works and still leaves it alone.
    daemon = await start(c.config);
    await daemon.stop();
    daemon = undefined;
    assert.deepEqual(readFileSync(c.config), c.bytes);
  });

  it('`cardpost daemon --config daemon.json` as its own process: the CLI finds it, SIGTERM stops it, the config is untouched', async () => {
    const c = counterDir();
    dir = c.dir;
    const proc = new CliProcess(['daemon', '--config', c.config]);
    try {
      await proc.waitFor(/cardpost daemon for terminal T-FILES-01/, 30_000);
      const queue = await runCardpost(['queue', '--data-dir', c.dir, '--json']);
      assert.equal(queue.code, 0, `the CLI reached the daemon through ${DATA_FILES.info}: ${queue.stderr}`);
      const lock = JSON.parse(readFileSync(join(c.dir, DATA_FILES.info), 'utf8')) as { kind: string; pid: number };
      assert.equal(lock.kind, LOCK_KIND);
      assert.equal(lock.pid, proc.child.pid);
    } finally {
      assert.equal(await proc.stop(), 0, 'a clean stop');
    }
    assert.deepEqual(readFileSync(c.config), c.bytes, 'the config is byte-identical after the process ended');
    assert.ok(!existsSync(join(c.dir, DATA_FILES.info)));
  });

  it('refuses to start when a data file would be the config file (same name, or a symlink to it): CONFIG_DATA_FILE_COLLISION, exit 2, nothing written', async () => {
    const c = counterDir(DATA_FILES.info); // a config named like the lock, in the data directory
    dir = c.dir;
    await assert.rejects(
      start(c.config),
      rejectsWith(ConfigError, 'CONFIG_DATA_FILE_COLLISION', /would be its own config file.*dataDir/s),
    );
    assert.deepEqual(readFileSync(c.config), c.bytes);
    assert.ok(!existsSync(join(c.dir, DATA_FILES.db)), 'refused before anything was created');

    // A data file that is a symlink to the config (real paths are compared).
    const d = counterDir('cardpost.json', { dataDir: './data' });
    mkdirSync(join(d.dir, 'data'));
    symlinkSync(d.config, join(d.dir, 'data', DATA_FILES.token));
    try {
      await assert.rejects(
        start(d.config),
        rejectsWith(ConfigError, 'CONFIG_DATA_FILE_COLLISION', new RegExp(DATA_FILES.token)),
      );
      assert.deepEqual(readFileSync(d.config), d.bytes);
      // The CLI: one line saying what to do, exit 2 (bad input).
      const r = await runCardpost(['daemon', '--config', c.config]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^cardpost: CONFIG_DATA_FILE_COLLISION: .* — give dataDir its own directory/m);
      assert.deepEqual(readFileSync(c.config), c.bytes);
    } finally {
      rmSync(d.dir, { recursive: true, force: true });
    }
  });

  it('a file at the lock path that is not a cardpost lock is never overwritten or deleted: DAEMON_LOCK_FOREIGN, exit 2', async () => {
    const c = counterDir('cardpost.json');
    dir = c.dir;
    const foreign = join(c.dir, DATA_FILES.info);
    for (const content of ['notes of the shop owner\n', '', '{"pid": 1, "url": "http://127.0.0.1:1"}']) {
      writeFileSync(foreign, content);
      await assert.rejects(start(c.config), rejectsWith(DaemonError, 'DAEMON_LOCK_FOREIGN', /move that file/));
      assert.equal(readFileSync(foreign, 'utf8'), content, 'left exactly as it was');
    }
    const r = await runCardpost(['daemon', '--config', c.config]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /DAEMON_LOCK_FOREIGN/);
    assert.equal(readFileSync(foreign, 'utf8'), '{"pid": 1, "url": "http://127.0.0.1:1"}');
  });

  it("at stop the lock is removed only while it is still this daemon's (its nonce)", async () => {
    const c = counterDir('cardpost.json');
    dir = c.dir;
    daemon = await start(c.config);
    const lock = join(c.dir, DATA_FILES.info);
    const mine = JSON.parse(readFileSync(lock, 'utf8')) as { nonce: string; pid: number };
    assert.equal(mine.pid, process.pid);
    assert.match(mine.nonce, /^[0-9a-f]{32}$/);
    const other = lockJson({ pid: process.pid, nonce: 'someone-else' });
    writeFileSync(lock, other); // e.g. an operator's "fix", or another daemon that took it over
    await daemon.stop();
    daemon = undefined;
    assert.equal(readFileSync(lock, 'utf8'), other, 'a lock that is not its own is left alone');
  });

  it('a live pid is the owner only if its start time matches (a pid reused after kill -9 is stale); a live one refuses DAEMON_RUNNING', async () => {
    const c = counterDir('cardpost.json');
    dir = c.dir;
    const lock = join(c.dir, DATA_FILES.info);
    const parentStart = processStartTime(process.ppid);
    if (parentStart !== null) {
      writeFileSync(lock, lockJson({ pid: process.ppid, procStart: parentStart }));
      await assert.rejects(
        start(c.config),
        rejectsWith(DaemonError, 'DAEMON_RUNNING', new RegExp(`pid ${process.ppid}`)),
      );
      // The same live pid, but a process that started at another time: not the daemon that wrote the lock.
      writeFileSync(lock, lockJson({ pid: process.ppid, procStart: String(Number(parentStart) + 1) }));
      daemon = await start(c.config);
      await daemon.stop();
      daemon = undefined;
    }
    // Written before a reboot (another boot id): whatever runs under that pid now is not its owner.
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(lock, lockJson({ pid: process.ppid, bootId: boot.replace(/^./, boot[0] === 'a' ? 'b' : 'a') }));
    daemon = await start(c.config);
    await daemon.stop();
    daemon = undefined;
    // A dead pid: stale, taken over.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, lockJson({ pid: dead }));
    daemon = await start(c.config);
    assert.equal(findDaemon(c.dir).info.pid, process.pid);
  });

  it("an older cardpost daemon's lock (daemon.json {pid, url}) of a live process refuses; a dead one is ignored and never deleted", async () => {
    const c = counterDir('cardpost.json');
    dir = c.dir;
    const legacy = join(c.dir, 'daemon.json');
    const live = JSON.stringify({ pid: process.ppid, url: 'http://127.0.0.1:1', terminalId: 'T', startedAt: 0 });
    writeFileSync(legacy, live);
    await assert.rejects(start(c.config), rejectsWith(DaemonError, 'DAEMON_RUNNING', /older cardpost daemon/));
    const dead = JSON.stringify({
      pid: spawnSync(process.execPath, ['-e', '0']).pid!,
      url: 'http://127.0.0.1:1',
      terminalId: 'T',
      startedAt: 0,
    });
    writeFileSync(legacy, dead);
    daemon = await start(c.config);
    await daemon.stop();
    daemon = undefined;
    assert.equal(readFileSync(legacy, 'utf8'), dead, 'not ours to delete');
    assert.deepEqual(
      readdirSync(c.dir).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary file left behind',
    );
  });
});
