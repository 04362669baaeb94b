import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardClient, LIFECYCLE } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import { TestIssuer } from '../support/issuer.js';
import { openSimCard } from '../../device-sim/card/sim-card.js';
import { NativeCard, loadCardAddon } from '../../firmware-bindings/node/native-card.js';
import { qemuCardUnavailable } from '../../firmware-bindings/arm/qemu-card.js';
import { spawn } from 'node:child_process';
import { CARDPOST_BIN, CliProcess } from '../support/cli.js';
import { requireSystem } from '../support/system.js';

/**
 * `cardpost sim card --firmware ts|native|qemu`: the native card personalised by the CLI keeps its
 * flash in the --state file across restarts; a firmware that cannot run here is refused at once with
 * CLI_FIRMWARE_UNAVAILABLE and what to do. The vpcd port is one nobody listens on (no pcscd needed):
 * personalisation happens before the card is inserted.
 *
 * The CLI runs from the sources (CARDPOST_CLI=sources): the compiled CLI (dist/) holds host/,
 * protocol/ and device-sim/ only, and reaches firmware-bindings/ once scripts/build-cli.mjs compiles
 * that folder too (SOURCE_DIRS).
 */
const FROM_SOURCES = { CARDPOST_CLI: 'sources' };

function runCardpost(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CARDPOST_BIN, ...args], { env: { ...process.env, ...FROM_SOURCES } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}
describe('cardpost sim card --firmware', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-firmware-cli-'));
  const issuerDir = join(dir, 'issuer');
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    const init = await runCardpost(['issuer', 'init', '--dir', issuerDir]);
    assert.equal(init.code, 0, init.stderr);
  });

  async function runSim(args: string[], until: RegExp): Promise<string[]> {
    const sim = new CliProcess(['sim', 'card', '--vpcd', '127.0.0.1:1', ...args], FROM_SOURCES);
    try {
      await sim.waitFor(until, 60_000);
      sim.send('quit');
      await sim.waitFor(/cannot reach vpcd|commands:/, 5_000).catch(() => undefined);
    } finally {
      await sim.stop();
    }
    return sim.lines;
  }

  it('--firmware native: personalises a C card whose flash lives in --state, and finds it again after a restart', async function () {
    const a = loadCardAddon();
    if (typeof a === 'string') requireSystem(this, [a], 'node scripts/build-native.mjs --only card');
    const state = join(dir, 'native.flash');
    const first = await runSim(
      ['--firmware', 'native', '--state', state, '--issuer', issuerDir, '--balance', '88.00'],
      /commands:/,
    );
    const made = first.find((l) => /card 0: personalised [0-9a-f]{16}/.test(l));
    assert.ok(made, `personalised line in:\n${first.join('\n')}`);
    const cardId = /personalised ([0-9a-f]{16})/.exec(made)![1]!;
    assert.equal(readFileSync(state).subarray(0, 8).toString('latin1'), 'CPFLASH1');

    const again = await runSim(['--firmware', 'native', '--state', state, '--issuer', issuerDir], /commands:/);
    assert.ok(
      again.some((l) => l.includes(`card 0: card ${cardId}`)),
      `the same card after a restart:\n${again.join('\n')}`,
    );
    assert.ok(!again.some((l) => l.includes('personalised')), 'not personalised twice');

    const card = new NativeCard({ stateFile: state });
    const client = new CardClient({ extendedLength: true, transmit: async (x) => card.transmit(x) });
    await client.select();
    const info = await client.getInfo();
    assert.equal(info.lifecycle, LIFECYCLE.ACTIVE);
    assert.equal(info.balance, 8800);
    assert.equal(Buffer.from(info.cardId!).toString('hex'), cardId);
  });

  it('--firmware native --blank-for binds the blank C card to the issuer at the factory step', async function () {
    const a = loadCardAddon();
    if (typeof a === 'string') requireSystem(this, [a], 'node scripts/build-native.mjs --only card');
    const state = join(dir, 'bound.flash');
    const lines = await runSim(['--firmware', 'native', '--state', state, '--blank-for', issuerDir], /commands:/);
    assert.ok(
      lines.some((l) => l.includes('blank card bound to its issuer')),
      `bound:\n${lines.join('\n')}`,
    );
    const card = new NativeCard({ stateFile: state });
    assert.throws(
      () => card.manufactureFor(new TestIssuer().certificate.envelope),
      (e: unknown) => e instanceof CardpostError && e.code === 'CARD_BOUND',
    );
    const client = new CardClient({ extendedLength: true, transmit: async (x) => card.transmit(x) });
    assert.equal((await client.select()).lifecycle, LIFECYCLE.BLANK);
  });

  it('--firmware native with a TypeScript card state file is refused with CARD_STATE_CORRUPT and the way out', async function () {
    const a = loadCardAddon();
    if (typeof a === 'string') requireSystem(this, [a], 'node scripts/build-native.mjs --only card');
    const ts = join(dir, 'ts.json');
    openSimCard(ts).nvm.transaction((tx) => tx.set('counter', Uint8Array.of(0xa1, 0x01, 0x00)));
    const r = await runCardpost(['sim', 'card', '--vpcd', '127.0.0.1:1', '--firmware', 'native', '--state', ts]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /CARD_STATE_CORRUPT.*--firmware ts/);
  });

  it('--firmware qemu runs the ARM card, or is refused with CLI_FIRMWARE_UNAVAILABLE saying what to do', async () => {
    const why = qemuCardUnavailable();
    if (why) {
      const r = await runCardpost(['sim', 'card', '--vpcd', '127.0.0.1:1', '--firmware', 'qemu']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /CLI_FIRMWARE_UNAVAILABLE/);
      assert.match(r.stderr, /qemu-system-arm|ARM image|--firmware native/);
      return;
    }
    const lines = await runSim(
      ['--firmware', 'qemu', '--state', join(dir, 'qemu.flash'), '--issuer', issuerDir],
      /commands:/,
    );
    assert.ok(
      lines.some((l) => /card 0: personalised [0-9a-f]{16}/.test(l)),
      `personalised through QEMU:\n${lines.join('\n')}`,
    );
  });

  it('--firmware with another name is a usage error', async () => {
    const r = await runCardpost(['sim', 'card', '--firmware', 'java']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ts, native, qemu|choices/i);
  });
});
