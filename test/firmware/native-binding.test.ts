import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CardClient, CardStatusError, LIFECYCLE } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import { PowerLoss } from '../../device-sim/card/nvm.js';
import { openSimCard } from '../../device-sim/card/sim-card.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { NativeCard, loadCardAddon } from '../../firmware-bindings/node/native-card.js';
import { ROOT, buildC, runC } from '../support/cc.js';
import { TestIssuer } from '../support/issuer.js';
import { requireSystem } from '../support/system.js';

/**
 * The Node binding itself (firmware-bindings/node/): its flash model in C, its glue under the
 * project's C flags, and the NativeCard class's state file and power cuts.
 */

const clientOf = (card: { transmit(a: Uint8Array): Uint8Array }) =>
  new CardClient({ extendedLength: true, transmit: async (a) => card.transmit(a) });

describe('native card binding: flash model (cp_node_flash.c)', () => {
  it('keeps NOR rules, counts writes and cuts power after or during the chosen write', () => {
    const exe = buildC({
      name: 'node-flash-driver',
      sources: ['test/firmware/c/node_flash_driver.c', 'firmware-bindings/node/cp_node_flash.c'],
      includes: ['firmware-bindings/core/include', 'firmware-bindings/node'],
    });
    const r = runC(exe);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('ok ')),
      [],
      'every check passes',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lines.length >= 20, `${lines.length} checks ran`);
  });

  it('the N-API glue compiles clean with -std=c99 -Wall -Wextra -Werror -pedantic', function () {
    const nodeInclude = join(dirname(dirname(process.execPath)), 'include', 'node');
    const r = spawnSync(
      'cc',
      [
        '-std=c99',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-pedantic',
        '-fsyntax-only',
        `-I${nodeInclude}`,
        `-I${join(ROOT, 'firmware-bindings/core/include')}`,
        `-I${join(ROOT, 'firmware-bindings/node')}`,
        '-DNAPI_VERSION=8',
        '-DOPENSSL_API_COMPAT=30000',
        join(ROOT, 'firmware-bindings/node/cp_node_card.c'),
      ],
      { encoding: 'utf8' },
    );
    if (r.error) requireSystem(this, ['cc'], 'apt-get install gcc');
    assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
  });
});

describe('native card binding: NativeCard', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    const a = loadCardAddon();
    if (typeof a === 'string') requireSystem(this, [a], 'node scripts/build-native.mjs --only card --verbose');
    dir = mkdtempSync(join(tmpdir(), 'cardpost-native-card-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its flash in the state file across restarts (as `sim card --state`)', async () => {
    const file = join(dir, 'card.flash');
    const issuer = new TestIssuer();
    const cardId = Uint8Array.from(randomBytes(8));
    const first = new NativeCard({ stateFile: file });
    const c1 = clientOf(first);
    await issuer.issue(c1, { cardId });
    await c1.load({ token: issuer.topup(cardId, 1, 1234).envelope, authority: issuer.authority.envelope });
    first.powerOff();
    const bytes = readFileSync(file);
    assert.equal(bytes.subarray(0, 8).toString('latin1'), 'CPFLASH1');
    assert.equal(bytes.length, 24 + 4096 * 16);

    const again = new NativeCard({ stateFile: file });
    const c2 = clientOf(again);
    await c2.select();
    const info = await c2.getInfo();
    assert.equal(info.lifecycle, LIFECYCLE.ACTIVE);
    assert.deepEqual(info.cardId, cardId);
    assert.equal(info.balance, 1234);
    assert.equal(info.pinVerified, false, 'a restart clears the session');
  });

  it("refuses a state file that is not a native card's image, naming the TypeScript card's", () => {
    const tsFile = join(dir, 'ts-card.json');
    openSimCard(tsFile).nvm.transaction((tx) => tx.set('x', Uint8Array.of(1)));
    assert.throws(
      () => new NativeCard({ stateFile: tsFile }),
      (e: unknown) => e instanceof CardpostError && e.code === 'CARD_STATE_CORRUPT' && /--firmware ts/.test(e.hint),
    );
    const short = join(dir, 'short.flash');
    writeFileSync(short, Buffer.concat([Buffer.from('CPFLASH1'), Buffer.alloc(16)]));
    assert.throws(
      () => new NativeCard({ stateFile: short }),
      (e: unknown) => e instanceof CardpostError && e.code === 'CARD_STATE_CORRUPT',
    );
  });

  it('throws the TS card PowerLoss at the cut write, stays dead, and comes back at power-on', async () => {
    const card = new NativeCard();
    const client = clientOf(card);
    await new TestIssuer().issue(client, { cardId: Uint8Array.from(randomBytes(8)) });
    const before = await client.getInfo();
    const w0 = card.writeCount;
    card.cutPowerAfter(1);
    await assert.rejects(
      client.changePin(new TextEncoder().encode('1234'), new TextEncoder().encode('4321')),
      PowerLoss,
    );
    assert.equal(card.writeCount, w0 + 1, 'exactly the cut write happened');
    assert.equal(card.alive, false);
    assert.throws(() => card.transmit(Uint8Array.of(0, 0xa4, 4, 0)), PowerLoss);
    card.powerOn();
    assert.equal(card.alive, true);
    await client.select();
    const after = await client.getInfo();
    assert.equal(after.counter, before.counter);
    assert.equal(after.pinVerified, false);
    assert.throws(() => card.cutPowerAfter(0), CardpostError);
  });

  it('manufactureFor binds a blank card to one issuer: only its CA personalises it, never after personalisation', async () => {
    const mine = new TestIssuer();
    const other = new TestIssuer();
    const card = new NativeCard();
    card.manufactureFor(mine.certificate.envelope);
    card.manufactureFor(mine.certificate.envelope); // the same CA again: nothing to do
    const client = clientOf(card);
    await assert.rejects(other.issue(client, { cardId: Uint8Array.from(randomBytes(8)) }), CardStatusError);
    await client.select();
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.BLANK);
    await mine.issue(client, { cardId: Uint8Array.from(randomBytes(8)) });
    assert.throws(
      () => card.manufactureFor(mine.certificate.envelope),
      (e: unknown) => e instanceof CardpostError && e.code === 'CARD_NOT_BLANK',
    );
  });

  it('refuses options the C card would clamp (journal over 64 records, messages over 2048 bytes)', () => {
    const args = (e: unknown) => e instanceof CardpostError && e.code === 'NATIVE_CARD_ARGS';
    assert.throws(() => new NativeCard({ journalCapacity: 65 }), args);
    assert.throws(() => new NativeCard({ journalCapacity: 0 }), args);
    assert.throws(() => new NativeCard({ maxMessageSize: 4096 }), args);
    assert.equal(new NativeCard({ journalCapacity: 64, maxMessageSize: 1024 }).journalCapacity, 64);
  });

  it('an in-process reader sees a cut as a pulled card, and takes it back', async () => {
    const card = new NativeCard();
    const reader = new InProcessReader();
    reader.insert(card);
    const client = new CardClient(reader);
    await client.select();
    card.cutPowerAfter(1);
    await assert.rejects(
      new TestIssuer().issue(client, { cardId: Uint8Array.from(randomBytes(8)) }),
      (e: unknown) => e instanceof CardpostError && e.code === 'CARD_REMOVED',
    );
    assert.equal(reader.cardPresent, false);
    reader.insert(card);
    assert.equal((await client.select()).lifecycle, LIFECYCLE.BLANK);
  });
});
