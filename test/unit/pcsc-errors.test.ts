import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { PcscCardReader, mapPcscError } from '../../host/transports/pcsc/pcsc-reader.js';
import { TransportError } from '../../protocol/transport.js';
import type { NfcPcscReader } from '../../host/transports/pcsc/nfc-pcsc-types.js';

/** nfc-pcsc wraps pcsclite's errors: TransmitError("An error occurred while transmitting.") with the pcsclite error as `previous`. */
function nfcError(pcsc: string): Error {
  return Object.assign(new Error('An error occurred while transmitting.'), { previous: new Error(pcsc) });
}

/** An nfc-pcsc Reader stand-in whose transmit answers what the test says (the library's own boundary). */
function stubReader(
  transmit: () => Promise<Buffer>,
  transmitTimeoutMs?: number,
): { reader: PcscCardReader; raw: EventEmitter } {
  const raw = Object.assign(new EventEmitter(), {
    name: 'stub reader',
    autoProcessing: true,
    card: null,
    connection: null,
    transmit,
    close() {},
  });
  const reader = new PcscCardReader(
    raw as unknown as NfcPcscReader,
    transmitTimeoutMs !== undefined ? { transmitTimeoutMs } : {},
  );
  raw.emit('card', { atr: Buffer.from([0x3b, 0x00]) });
  return { reader, raw };
}

describe('PC/SC transport: what pcsclite reports becomes a typed error the sale knows how to handle', () => {
  const cases: [string, string][] = [
    ['SCardTransmit error: Card was removed.(0x80100069)', 'CARD_REMOVED'],
    ['SCardTransmit error: Card was reset.(0x80100068)', 'CARD_REMOVED'],
    ['SCardTransmit error: Transaction failed.(0x80100016)', 'CARD_REMOVED'],
    ['SCardTransmit error: An internal communications error has been detected.(0x80100013)', 'CARD_REMOVED'],
    ['SCardTransmit error: Service was stopped.(0x8010001e)', 'READER_GONE'],
    ['SCardTransmit error: No service.(0x8010001d)', 'READER_GONE'],
    ['SCardTransmit error: something new.(0x80100099)', 'READER_GONE'],
  ];
  for (const [text, code] of cases) {
    it(`${text} → ${code}, with a hint`, () => {
      const e = mapPcscError(nfcError(text), 'transmit');
      assert.ok(e instanceof TransportError);
      assert.equal(e.code, code);
      assert.match(e.hint, /\S/);
      assert.ok(
        e.message.includes(text.split('(')[1]!.slice(0, 10)),
        'the pcsclite code is kept in the message for the log',
      );
    });
  }

  it('on the reader context (not a transmit) a broken exchange is the service going away: READER_GONE, so the supervisor reconnects', () => {
    for (const text of [
      'SCardGetStatusChange error: Transaction failed.(0x80100016)',
      'SCardGetStatusChange error: An internal communications error has been detected.(0x80100013)',
    ]) {
      assert.equal(mapPcscError(nfcError(text)).code, 'READER_GONE');
    }
  });

  it('a response without a status word (vpcd when the card is pulled mid-command) is CARD_REMOVED, not a decode failure', async () => {
    for (const bytes of [[], [0x90]]) {
      const { reader } = stubReader(async () => Buffer.from(bytes));
      await assert.rejects(
        reader.transmit(Uint8Array.of(0x00, 0xa4, 0x04, 0x00)),
        (e: unknown) => e instanceof TransportError && e.code === 'CARD_REMOVED',
      );
    }
  });

  it('a rejected transmit is mapped; a full answer comes back as is; with no card there is no transmit at all', async () => {
    const { reader, raw } = stubReader(async () => {
      throw nfcError('SCardTransmit error: Card was removed.(0x80100069)');
    });
    await assert.rejects(
      reader.transmit(Uint8Array.of(0, 0xb0, 0, 0)),
      (e: unknown) => e instanceof TransportError && e.code === 'CARD_REMOVED',
    );
    const ok = stubReader(async () => Buffer.from([0x01, 0x90, 0x00]));
    assert.deepEqual([...(await ok.reader.transmit(Uint8Array.of(0, 0xb0, 0, 0)))], [0x01, 0x90, 0x00]);
    raw.emit('card.off', {});
    await assert.rejects(
      reader.transmit(Uint8Array.of(0, 0xb0, 0, 0)),
      (e: unknown) => e instanceof TransportError && e.code === 'NO_CARD',
    );
  });

  it('a command that never returns: TIMEOUT after the watchdog; while it hangs, further commands fail at once instead of piling up; after it returns, commands go through', async () => {
    let calls = 0;
    let release: ((b: Buffer) => void) | undefined;
    const { reader } = stubReader(() => {
      calls++;
      if (calls === 1)
        return new Promise<Buffer>((resolve) => {
          release = resolve;
        }); // hung in pcsclite
      return Promise.resolve(Buffer.from([0x90, 0x00]));
    }, 100);
    const t0 = Date.now();
    await assert.rejects(
      reader.transmit(Uint8Array.of(0, 0xa4, 4, 0)),
      (e: unknown) => e instanceof TransportError && e.code === 'TIMEOUT' && /did not answer within/.test(e.message),
    );
    assert.ok(Date.now() - t0 >= 90, 'after the watchdog');
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        reader.transmit(Uint8Array.of(0, 0xa4, 4, 0)),
        (e: unknown) => e instanceof TransportError && e.code === 'TIMEOUT' && /still busy/.test(e.message),
      );
    }
    assert.equal(calls, 1, 'no second native call while the first hangs');
    release!(Buffer.from([0x90, 0x00])); // its late answer is dropped
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...(await reader.transmit(Uint8Array.of(0, 0xa4, 4, 0)))], [0x90, 0x00]);
    assert.equal(calls, 2);
  });
});
