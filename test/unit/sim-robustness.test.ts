import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardpostError } from '../../protocol/errors.js';
import { TransportError } from '../../protocol/transport.js';
import { openSimCard } from '../../device-sim/card/sim-card.js';
import { VpcdLink } from '../../device-sim/reader/vpcd-link.js';
import { PcscReaderSource } from '../../host/transports/pcsc/pcsc-reader.js';
import { runCardpost } from '../support/cli.js';

describe('clear errors where the simulator and the PC/SC transport meet a broken world', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-robust-'));

  for (const [name, text] of [
    ['not JSON', 'garbage'],
    ['no main area', '{"journal":null}'],
    ['non-hex value', '{"main":{"counter":"zz"},"journal":null}'],
    ['damaged journal', '{"main":{},"journal":{"entries":[["k",5]],"committed":true}}'],
  ] as const) {
    it(`a card state file with ${name} is refused with CARD_STATE_CORRUPT and a way out`, () => {
      const file = join(dir, `${name.replace(/\W/g, '_')}.json`);
      writeFileSync(file, text);
      assert.throws(
        () => openSimCard(file),
        (e: unknown) => e instanceof CardpostError && e.code === 'CARD_STATE_CORRUPT' && /delete it/.test(e.hint),
      );
    });
  }

  it('the CLI says so in one line and exits 3', async () => {
    const file = join(dir, 'cli.json');
    writeFileSync(file, '{');
    const r = await runCardpost(['sim', 'card', '--state', file]);
    assert.equal(r.code, 3, `exit code: ${r.stderr}`);
    assert.match(r.stderr, /CARD_STATE_CORRUPT/);
  });

  it('a vpcd port nobody listens on is reported once, and the link keeps trying', async () => {
    const card = openSimCard(undefined);
    const link = new VpcdLink(card, { host: '127.0.0.1', port: 1, reconnectMs: 20 });
    const reasons: string[] = [];
    link.on('unreachable', (why) => reasons.push(why));
    link.insert();
    await new Promise((r) => setTimeout(r, 200));
    await link.remove();
    assert.deepEqual(reasons, ['ECONNREFUSED'], 'reported once, with the reason');
  });

  it('opening PC/SC without a running pcscd fails at once with what to do (no hang)', async () => {
    const saved = process.env.PCSCLITE_CSOCK_NAME;
    process.env.PCSCLITE_CSOCK_NAME = join(dir, 'no-such-pcscd.comm');
    try {
      await assert.rejects(
        PcscReaderSource.open(),
        (e: unknown) => e instanceof TransportError && e.code === 'TRANSPORT_UNAVAILABLE' && /pcscd/.test(e.hint),
      );
    } finally {
      if (saved === undefined) delete process.env.PCSCLITE_CSOCK_NAME;
      else process.env.PCSCLITE_CSOCK_NAME = saved;
    }
  });
});
