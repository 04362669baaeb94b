import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fromHex, toHex } from '../../protocol/bytes.js';
import * as iso from '../../protocol/iso8583/index.js';
import { ISO8583_PORT as PORT, pcapOfTcpPayloads, tsharkIso8583 as tshark } from '../support/pcap.js';
import { requireSystem, which } from '../support/system.js';

/**
 * Our ISO 8583 messages read by decoders nobody here wrote (docs/iso8583.md §5):
 *  - Wireshark's dissector (`tshark`, Debian package tshark) on a capture of every message the link
 *    sends: each decodes with no malformed field and with exactly our fields and values. The
 *    dissector reads ISO 8583:1987 behind a 2-byte length and knows no TPDU, so the capture holds
 *    the plain framing; it is told BCD numbers, binary bitmaps and a big-endian length.
 *  - the `iso_8583` npm package (dev-only), which reads ASCII numbers only: the same messages in
 *    the ASCII-number dialect, inside the CUP frame (its "static metadata" skips TPDU and header),
 *    and one message it packs, read by our decoder.
 */
const V = JSON.parse(readFileSync(new URL('../vectors/iso8583.json', import.meta.url), 'utf8')) as {
  tpdu: iso.Tpdu;
  header: string;
  messages: { name: string; frame: string }[];
};
const LINK_MESSAGES = V.messages.map((v) => ({
  name: v.name,
  message: iso.decodeFrame(iso.CUP_TERMINAL_DIALECT, fromHex(v.frame)).message,
}));

/** What tshark made of one message: its MTI, its fields, and whether it flagged anything. */
function dissected(layers: Record<string, unknown>): { mti: unknown; fields: Map<number, unknown>; flagged: boolean } {
  const layer = (layers.iso8583 ?? {}) as Record<string, unknown>;
  const fields = new Map<number, unknown>();
  for (const [key, value] of Object.entries(layer)) {
    const m = /^iso8583\.bit(\d+)$/.exec(key);
    if (m) fields.set(Number(m[1]), value);
  }
  const text = JSON.stringify(layers);
  return { mti: layer['iso8583.mti'], fields, flagged: /_ws\.malformed|_ws\.expert|MALFORMED/.test(text) };
}

function expectedText(v: iso.FieldValue): string {
  return typeof v === 'string' ? v : toHex(v).toUpperCase();
}

describe('ISO 8583 messages read by outside decoders', function () {
  this.timeout(60_000);

  describe("Wireshark's ISO 8583 dissector (tshark)", () => {
    before(function () {
      requireSystem(this, which('tshark') ? [] : ['tshark'], 'apt-get install tshark');
    });

    for (const [dialect, charset] of [
      [iso.PLAIN_BCD_DIALECT, 'bcd'],
      [iso.PLAIN_ASCII_DIALECT, 'ascii'],
    ] as const) {
      it(`decodes every message type the link sends (${dialect.name}) with no malformed field and our values`, () => {
        const frames = LINK_MESSAGES.map(({ message }) =>
          iso.encodeFrame(dialect, { header: new Uint8Array(0), message }),
        );
        const packets = tshark(pcapOfTcpPayloads(frames, PORT), charset);
        assert.equal(packets.length, LINK_MESSAGES.length);
        LINK_MESSAGES.forEach(({ name, message }, i) => {
          const got = dissected(packets[i]!);
          assert.equal(got.flagged, false, `${name}: tshark flagged ${JSON.stringify(packets[i]!.iso8583)}`);
          assert.equal(got.mti, message.mti, name);
          assert.deepEqual(
            [...got.fields.keys()].sort((a, b) => a - b),
            [...message.fields.keys()],
            `${name}: the fields tshark found`,
          );
          for (const [n, v] of message.fields) assert.equal(got.fields.get(n), expectedText(v), `${name}: field ${n}`);
        });
      });
    }

    it('flags what it cannot read (the control: binary ICC data in field 55, which its 1987 table reads as ans)', () => {
      const icc = {
        mti: '0220',
        fields: new Map<number, iso.FieldValue>([
          [11, '000001'],
          [55, fromHex('9f260201ff')],
        ]),
      };
      const frame = iso.encodeFrame(iso.PLAIN_BCD_DIALECT, { header: new Uint8Array(0), message: icc });
      const [packet] = tshark(pcapOfTcpPayloads([frame], PORT), 'bcd');
      assert.equal(dissected(packet!).flagged, true, 'the check above can fail');
    });
  });

  describe('the iso_8583 npm package (ASCII numbers)', () => {
    interface Iso8583Js {
      setMetadata(meta: string): void;
      getIsoJSON(buffer: Buffer, config: Record<string, unknown>): Record<string, string> & { error?: unknown };
      getBufferMessage(): Buffer | { error: unknown };
    }
    const Iso8583 = createRequire(import.meta.url)('iso_8583') as new (
      message?: Record<string, string>,
      customFormats?: Record<string, unknown>,
    ) => Iso8583Js;
    const CUP_ASCII: iso.Iso8583Dialect = { ...iso.CUP_TERMINAL_DIALECT, name: 'cup-ascii', numbers: 'ascii' };

    it('decodes every link message in the CUP frame to our MTI and field values', () => {
      const header = fromHex(V.header);
      for (const { name, message } of LINK_MESSAGES) {
        const frame = iso.encodeFrame(CUP_ASCII, { tpdu: V.tpdu, header, message });
        const reader = new Iso8583();
        reader.setMetadata('x'.repeat(5 + header.length)); // only its length is used: TPDU + header
        const json = reader.getIsoJSON(Buffer.from(frame), {});
        assert.equal(json.error, undefined, `${name}: ${JSON.stringify(json)}`);
        const expected: Record<string, string> = { '0': message.mti };
        for (const [n, v] of message.fields) expected[String(n)] = expectedText(v);
        assert.deepEqual({ ...json }, expected, name);
      }
    });

    it('a message it packs is read by our decoder to the same values', () => {
      const fields: Record<string, string> = {
        '0': '0800',
        '11': '000042',
        '41': 'CP000001',
        '42': '898310058120001',
        '60': '00000007001',
        '63': '001',
      };
      const packed = new Iso8583(fields).getBufferMessage();
      assert.ok(packed instanceof Buffer, JSON.stringify(packed));
      // It always sends a secondary bitmap: a dialect setting, refused by the default one.
      const always: iso.Iso8583Dialect = { ...iso.PLAIN_ASCII_DIALECT, secondaryBitmap: 'always' };
      const frame = iso.decodeFrame(always, new Uint8Array(packed));
      const { '0': mti, ...rest } = fields;
      assert.equal(frame.message.mti, mti);
      assert.deepEqual(Object.fromEntries([...frame.message.fields].map(([n, v]) => [String(n), v])), rest);
      assert.equal(
        toHex(iso.encodeFrame(always, frame)),
        toHex(new Uint8Array(packed)),
        'and re-encodes it byte for byte',
      );
    });
  });
});
