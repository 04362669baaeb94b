import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { EscPosDecoder, MAX_LINE_BYTES, SimPrinter, type DecodedEvent } from '../../device-sim/printer/index.js';
import { encodeReceipt, receiptLayout } from '../../host/printer/index.js';
import type { Receipt } from '../../host/sale/sale-types.js';
import { FUZZ_ROUNDS, fuzzSeed } from '../support/fuzz.js';

/**
 * The simulated printer decodes bytes from outside (whatever the host, or anyone on the line, sends):
 * any byte stream, cut anywhere, decodes without a throw, the same however it is cut, with bounded
 * lines; and what the host's encoder sends for any merchant text reads back as that text.
 */
const SEED = fuzzSeed(0x9e5c);
const runs = (n: number) => ({ numRuns: n * FUZZ_ROUNDS, seed: SEED });

function decodeAll(chunks: Uint8Array[]): DecodedEvent[] {
  const events: DecodedEvent[] = [];
  const d = new EscPosDecoder((e) => events.push(e));
  for (const c of chunks) d.feed(c);
  return events;
}

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** Bytes that look like ESC/POS: command prefixes with parameters, text, GB18030 pairs, line feeds. */
const escposish = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 8 }),
      fc
        .constantFrom(
          [0x1b, 0x40],
          [0x1c, 0x26],
          [0x1c, 0x2e],
          [0x1d, 0x21, 0x11],
          [0x1d, 0x56, 0x42, 0x00],
          [0x1d, 0x72, 0x01],
          [0x10, 0x04, 0x04],
          [0x1b, 0x5c, 0xff, 0xff],
          [0x1d, 0x38, 0x4c, 0xff, 0xff, 0xff, 0x7f],
          [0x1d, 0x28, 0x6b],
          [0xc4, 0xe3],
          [0x81, 0x30, 0x84, 0x36],
          [0x0a],
        )
        .map((a) => Uint8Array.from(a)),
    ),
    { maxLength: 200 },
  )
  .map((parts) => Uint8Array.from(parts.flatMap((p) => [...p])));

const RECEIPT: Receipt = {
  saleId: '0f5c2a9e-3b1d-4c47-9a0e-2d7f6b1c8e55',
  recordId: 'a1b2c3d4e5f60718:3',
  amount: 100,
  currency: 156,
  merchantId: 'M',
  terminalId: 'T-01',
  time: 1_765_000_000,
  card: '••••0718',
  counter: 3,
  balanceAfter: 900,
  pinVerified: false,
  online: true,
};

describe('fuzz: the simulated ESC/POS printer', () => {
  it('decodes any bytes, however cut, without a throw, to the same events and bounded lines', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 3000 }), escposish),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, cuts) => {
          const whole = decodeAll([bytes]);
          const pieces = decodeAll(split(bytes, cuts));
          assert.deepEqual(pieces, whole);
          for (const e of whole)
            if (e.kind === 'line') assert.ok(e.line.text.length <= MAX_LINE_BYTES, `line of ${e.line.text.length}`);
        },
      ),
      runs(400),
    );
  });

  it('a printer fed any bytes never throws and never buffers more than its receive buffer', () => {
    fc.assert(
      fc.property(fc.array(escposish, { maxLength: 5 }), fc.boolean(), (chunks, paperOut) => {
        const p = new SimPrinter({ path: '/nonexistent' });
        p.setPaperOut(paperOut);
        for (const c of chunks) p.receive(c);
        p.receive(new Uint8Array(70 * 1024));
        assert.ok(p.overflow > 0 || !paperOut);
        p.setPaperOut(false);
      }),
      runs(200),
    );
  });

  it("what the host's encoder sends for any merchant id reads back as that id, with one cut", () => {
    const text = fc.string({
      unit: fc.constantFrom(...'ab Z09-|_{}^~"`\\=:.#商户金额余额小店€¥'.split('')),
      minLength: 1,
      maxLength: 16,
    });
    fc.assert(
      fc.property(text, fc.constantFrom(32, 48), (merchantId, width) => {
        const lines = receiptLayout({ ...RECEIPT, merchantId }, { chinese: true, timeZone: 'UTC' });
        const events = decodeAll([encodeReceipt(lines, { codepage: 'gb18030', width, copy: false })]);
        const printed = events.flatMap((e) => (e.kind === 'line' ? [e.line.text] : [])).join('\n');
        assert.ok(printed.includes(merchantId.trim()), `${JSON.stringify(merchantId)} not in\n${printed}`);
        assert.equal(events.filter((e) => e.kind === 'cut').length, 1);
      }),
      runs(150),
    );
  });
});
