import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { decodeCommandApdu } from '../../protocol/apdu/index.js';
import {
  CLA_PROPRIETARY,
  CMD,
  INS,
  decodeResponseData,
  encodeCardInfo,
  encodeResponseData,
  readCardInfo,
} from '../../protocol/commands/index.js';
import type { CardApplet } from '../../device-sim/card/applet.js';
import type { VirtualCard } from '../../device-sim/reader/vpcd-link.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';

/**
 * Issue #12, hole 3: the host moved a card's chain head on GET_INFO's counter and last hash, which
 * nothing signs. An emulator showing a genuine card's public certificate with a huge counter made the
 * genuine card fail CARD_CHAIN_DIVERGED for good. Only verified records may ground a refusal.
 */

const WRONG_STATE = 0x05;

/**
 * A card emulator that replays a genuine card's certificate (everything it cannot forge is forwarded
 * to the genuine applet) but claims another counter and last hash, and signs nothing.
 */
function emulatorOf(genuine: CardApplet, claim: { counter: number; lastRecordHash: Uint8Array }): VirtualCard {
  return {
    atr: () => genuine.atr(),
    powerOn: () => genuine.powerOn(),
    powerOff: () => genuine.powerOff(),
    reset: () => genuine.reset(),
    transmit(apdu: Uint8Array): Uint8Array {
      const cmd = decodeCommandApdu(apdu);
      const cbor = cmd.cla === CLA_PROPRIETARY && cmd.ins === INS.CBOR ? cmd.data?.[0] : undefined;
      if (cbor === CMD.SIGN_TXN) return Uint8Array.from([...encodeResponseData(WRONG_STATE), 0x90, 0x00]);
      const answer = genuine.transmit(apdu);
      if (cbor !== CMD.GET_INFO) return answer;
      const res = decodeResponseData(answer.subarray(0, -2));
      const info = readCardInfo(res.result!);
      return Uint8Array.from([...encodeResponseData(0, encodeCardInfo({ ...info, ...claim })), 0x90, 0x00]);
    },
  };
}

describe("security: only signed records move a card's chain head (issue #12, hole 3)", function () {
  this.timeout(30_000);
  let f: DaemonFixture;
  afterEach(async () => {
    await f?.stop();
  });

  const sale = async (amount = 1250): Promise<SaleSnapshot> => {
    const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount })).body;
    return f.waitForSale(s.saleId);
  };
  /** The emulator shown to the counter, then the genuine card back in the reader. */
  const showEmulator = async (claim: { counter: number; lastRecordHash: Uint8Array }): Promise<void> => {
    f.reader.insert(emulatorOf(f.applet, claim));
    const tried = await sale(); // a payment attempt with it: it cannot sign
    assert.notEqual(tried.state, 'done', 'the emulator paid nothing');
    f.reader.remove();
  };

  it('an emulator seen first with a made-up counter does not lock out the genuine card', async () => {
    f = await DaemonFixture.start({ insert: false });
    await showEmulator({ counter: 1_000_000, lastRecordHash: Uint8Array.from(randomBytes(32)) });
    assert.equal(
      f.daemon.store.cardHead(f.cardId)?.counter,
      1_000_000,
      'the emulator was seen (as an unsigned observation)',
    );
    f.reader.insert(f.applet);
    const done = await sale();
    assert.equal(done.state, 'done', `the genuine card pays: ${JSON.stringify(done.error)}`);
    assert.equal(done.receipt?.counter, 1);
    const head = f.daemon.store.cardHead(f.cardId)!;
    assert.deepEqual([head.counter, head.source], [1, 'record'], "the head is the genuine card's signed record");
  });

  it('an emulator seen after genuine sales does not lock out the genuine card, whose chain goes on', async () => {
    f = await DaemonFixture.start();
    assert.equal((await sale()).state, 'done');
    f.reader.remove();
    await showEmulator({ counter: 1_000_000, lastRecordHash: Uint8Array.from(randomBytes(32)) });
    f.reader.insert(f.applet);
    const done = await sale();
    assert.equal(done.state, 'done', `the genuine card pays: ${JSON.stringify(done.error)}`);
    assert.equal(done.receipt?.counter, 2, 'and continues its own chain');
    assert.equal(f.daemon.store.records({ afterSeq: 0, limit: 10 }).length, 2);
  });

  it('a card behind a record this counter holds (a restored copy) is still refused CARD_CHAIN_DIVERGED', async () => {
    f = await DaemonFixture.start();
    assert.equal((await sale()).state, 'done');
    f.reader.remove();
    // A copy of the card from before its first payment: counter 0, no last record.
    f.reader.insert(emulatorOf(f.applet, { counter: 0, lastRecordHash: new Uint8Array(32) }));
    const refused = await sale();
    assert.equal(refused.state, 'failed');
    assert.equal(refused.error?.code, 'CARD_CHAIN_DIVERGED');
  });
});
