import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';
import * as iso from '../../protocol/iso8583/index.js';

/**
 * The ISO 8583 codec (docs/iso8583.md): golden vectors byte for byte (test/vectors/iso8583.json),
 * BCD odd lengths, bitmaps, the CUP frame, the link's message builders, and every error code on
 * a crafted bad message. BER-TLV: iso8583-tlv.test.ts.
 */
interface JsonFields {
  [n: string]: string | { hex: string };
}
interface Vectors {
  tpdu: iso.Tpdu;
  header: string;
  messages: {
    name: string;
    builder: string;
    input: Record<string, unknown>;
    mti: string;
    fields: JsonFields;
    message: string;
    frame: string;
  }[];
  codec: { name: string; dialect: string; mti: string; fields: JsonFields; message: string }[];
  tlv: { name: string; hex: string }[];
}
const V = JSON.parse(readFileSync(new URL('../vectors/iso8583.json', import.meta.url), 'utf8')) as Vectors;
const DIALECTS: Record<string, iso.Iso8583Dialect> = {
  'plain-bcd': iso.PLAIN_BCD_DIALECT,
  'plain-ascii': iso.PLAIN_ASCII_DIALECT,
};
const BUILDERS = iso as unknown as Record<string, (input: unknown) => iso.Iso8583Message>;

function fieldsOf(json: JsonFields): Map<number, iso.FieldValue> {
  return new Map(Object.entries(json).map(([n, v]) => [Number(n), typeof v === 'string' ? v : fromHex(v.hex)]));
}

function withRecord(input: Record<string, unknown>): Record<string, unknown> {
  return typeof input.record === 'string' ? { ...input, record: fromHex(input.record) } : input;
}

function expectError(fn: () => unknown, cls: typeof DecodeError | typeof EncodeError, code: string, text?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (text) assert.match(e.message, text);
    assert.ok(e.hint.length > 0, 'every error has a hint');
    return true;
  });
}

const plain = iso.PLAIN_BCD_DIALECT;
const msg = (mti: string, entries: [number, iso.FieldValue][]): iso.Iso8583Message => ({
  mti,
  fields: new Map(entries),
});

describe('ISO 8583 codec (protocol/iso8583)', () => {
  describe('golden vectors', () => {
    for (const v of V.messages) {
      it(`${v.name}: the builder, the message and the CUP frame byte for byte, and back`, () => {
        const built = BUILDERS[v.builder]!(withRecord(v.input));
        assert.equal(built.mti, v.mti);
        assert.deepEqual(built.fields, fieldsOf(v.fields));
        assert.equal(toHex(iso.encodeMessage(iso.CUP_TERMINAL_DIALECT, built)), v.message);
        const frame = iso.encodeFrame(iso.CUP_TERMINAL_DIALECT, {
          tpdu: V.tpdu,
          header: fromHex(V.header),
          message: built,
        });
        assert.equal(toHex(frame), v.frame);
        const back = iso.decodeFrame(iso.CUP_TERMINAL_DIALECT, fromHex(v.frame));
        assert.deepEqual(back.tpdu, V.tpdu);
        assert.equal(toHex(back.header), V.header);
        assert.deepEqual(back.message, built);
      });
    }
    for (const v of V.codec) {
      it(`${v.name}: encodes to the vector and decodes back`, () => {
        const dialect = DIALECTS[v.dialect]!;
        const m = { mti: v.mti, fields: fieldsOf(v.fields) };
        assert.equal(toHex(iso.encodeMessage(dialect, m)), v.message);
        assert.deepEqual(iso.decodeMessage(dialect, fromHex(v.message)), m);
      });
    }
    it('the 0800 vector is the bytes the CUP profile spells out (hand-assembled)', () => {
      const expected =
        '0041' + // length of what follows: 65
        '6000030000' + // TPDU: 60, destination 0003, source 0000
        '603100311301' + // header: application 60, version 31, status/request 00, sub-version 311301
        '0800' + // MTI, BCD
        '0020000000c00012' + // bitmap: 11, 41, 42, 60, 63
        '000123' + // 11 n6
        toHex(new TextEncoder().encode('CP000001')) +
        toHex(new TextEncoder().encode('898310058120001')) +
        '0011' + // 60 LLL = 011 (BCD)
        toHex(new TextEncoder().encode('00000007001')) +
        '0003' + // 63 LLL = 003
        toHex(new TextEncoder().encode('001'));
      assert.equal(V.messages[0]!.frame, expected);
    });
  });

  describe('BCD, bitmaps and lengths', () => {
    it('odd-length numbers: fixed fields right-justified, PAN and track 2 left-justified (CUP), pad nibble 0', () => {
      const bytes = iso.encodeMessage(
        plain,
        msg('0200', [
          [2, '123'],
          [22, '051'],
          [35, '12=3'],
        ]),
      );
      // MTI 0200, bitmap (2, 22, 35), then 03 1230 | 0051 | 04 12d3
      assert.equal(toHex(bytes.subarray(10)), '0312300051' + '0412d3');
    });

    it('a non-zero pad nibble, or a non-digit nibble, is refused (one value, one encoding)', () => {
      const good = iso.encodeMessage(plain, msg('0200', [[22, '051']]));
      const padded = good.slice();
      padded[10] = 0x10; // pad nibble 1
      expectError(() => iso.decodeMessage(plain, padded), DecodeError, 'ISO8583_FIELD_INVALID', /field 22.*pad nibble/);
      const hex = good.slice();
      hex[11] = 0x5a; // nibble A
      expectError(() => iso.decodeMessage(plain, hex), DecodeError, 'ISO8583_FIELD_INVALID', /field 22.*nibble A/);
    });

    it('the secondary bitmap is present exactly when a field over 64 is', () => {
      const only64 = iso.encodeMessage(plain, msg('0800', [[64, new Uint8Array(8)]]));
      assert.equal(only64[2]! & 0x80, 0, 'no bit 1 without fields 65-128');
      assert.equal(only64.length, 2 + 8 + 8);
      const with70 = iso.encodeMessage(plain, msg('0800', [[70, '301']]));
      assert.equal(with70[2]! & 0x80, 0x80);
      assert.equal(with70.length, 2 + 16 + 2);
      assert.deepEqual(iso.decodeMessage(plain, with70), msg('0800', [[70, '301']]));
    });

    it('a secondary bitmap that is all zero is refused (not canonical)', () => {
      const bytes = fromHex('0800' + '8020000000000000' + '0000000000000000' + '000001');
      expectError(() => iso.decodeMessage(plain, bytes), DecodeError, 'ISO8583_MALFORMED', /secondary bitmap/);
      const always: iso.Iso8583Dialect = { ...plain, secondaryBitmap: 'always' };
      assert.deepEqual(
        iso.decodeMessage(always, bytes),
        msg('0800', [[11, '000001']]),
        'a dialect may always send one',
      );
      expectError(
        () => iso.decodeMessage(always, fromHex('0800' + '0020000000000000' + '000001')),
        DecodeError,
        'ISO8583_MALFORMED',
        /always has a secondary bitmap/,
      );
    });

    it('LLVAR/LLLVAR lengths: maximum enforced both ways, prefixes in BCD or ASCII', () => {
      const max = 'x'.repeat(999);
      const ok = iso.encodeMessage(plain, msg('0220', [[62, max]]));
      assert.equal(toHex(ok.subarray(10, 12)), '0999');
      assert.equal(iso.decodeMessage(plain, ok).fields.get(62), max);
      expectError(
        () => iso.encodeMessage(plain, msg('0220', [[62, max + 'x']])),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /field 62.*over the maximum 999/,
      );
      const ascii = iso.encodeMessage(iso.PLAIN_ASCII_DIALECT, msg('0220', [[63, 'abc']]));
      assert.equal(new TextDecoder().decode(ascii.subarray(12)), '003abc');
    });
  });

  describe('every error code on a crafted bad message', () => {
    const good = iso.encodeMessage(
      plain,
      msg('0800', [
        [11, '000001'],
        [41, 'CP000001'],
        [60, '00000001001'],
      ]),
    );

    it('ISO8583_MALFORMED: the message ends inside a field, naming the field and offset', () => {
      expectError(
        () => iso.decodeMessage(plain, good.subarray(0, good.length - 3)),
        DecodeError,
        'ISO8583_MALFORMED',
        /field 60 .* at offset 23 needs 11 byte\(s\), 8 left/,
      );
      expectError(
        () => iso.decodeMessage(plain, good.subarray(0, 6)),
        DecodeError,
        'ISO8583_MALFORMED',
        /primary bitmap/,
      );
      expectError(() => iso.decodeMessage(plain, new Uint8Array(0)), DecodeError, 'ISO8583_MALFORMED', /MTI/);
    });

    it('ISO8583_MALFORMED: a length prefix over the maximum or not BCD, an MTI not BCD, trailing bytes', () => {
      const over = good.slice();
      over.set([0x00, 0x18], 21); // 60's LLL = 018 > 17
      expectError(
        () => iso.decodeMessage(plain, over),
        DecodeError,
        'ISO8583_MALFORMED',
        /field 60 .*length 18 is over the maximum 17/,
      );
      const notBcd = good.slice();
      notBcd.set([0x0a, 0x11], 21);
      expectError(
        () => iso.decodeMessage(plain, notBcd),
        DecodeError,
        'ISO8583_MALFORMED',
        /length prefix at offset 21/,
      );
      const mti = good.slice();
      mti[0] = 0xf8;
      expectError(() => iso.decodeMessage(plain, mti), DecodeError, 'ISO8583_MALFORMED', /MTI at offset 0/);
      const trailing = Uint8Array.of(...good, 0);
      expectError(
        () => iso.decodeMessage(plain, trailing),
        DecodeError,
        'ISO8583_MALFORMED',
        /1 byte\(s\) after the last field/,
      );
    });

    it('ISO8583_FIELD_INVALID: non-ASCII (GBK) text, letters in an n field, a wrong fixed length, a wrong type', () => {
      const gbk = good.slice();
      gbk.set([0xc9, 0xcc], 13); // 商 in GBK inside field 41
      expectError(
        () => iso.decodeMessage(plain, gbk),
        DecodeError,
        'ISO8583_FIELD_INVALID',
        /field 41 .* printable ASCII/,
      );
      expectError(
        () => iso.encodeMessage(plain, msg('0800', [[41, '商户终端0001']])),
        EncodeError,
        'ISO8583_FIELD_INVALID',
      );
      expectError(
        () => iso.encodeMessage(plain, msg('0800', [[11, '00000A']])),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /field 11/,
      );
      expectError(
        () => iso.encodeMessage(plain, msg('0800', [[11, '1']])),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /fixed at 6/,
      );
      expectError(
        () => iso.encodeMessage(plain, msg('0800', [[52, '11223344']])),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /bytes/,
      );
      expectError(() => iso.encodeMessage(plain, msg('08000', [])), EncodeError, 'ISO8583_FIELD_INVALID', /MTI/);
    });

    it('ISO8583_FIELD_UNKNOWN: a bitmap bit for a field the dialect does not define is refused, not skipped', () => {
      const unknown = good.slice();
      unknown[3]! |= 0x40; // field 10
      expectError(() => iso.decodeMessage(plain, unknown), DecodeError, 'ISO8583_FIELD_UNKNOWN', /field 10\b/);
      const third = fromHex('0800' + '8000000000000000' + '8000000000000000'); // bit 65: a third bitmap
      expectError(() => iso.decodeMessage(plain, third), DecodeError, 'ISO8583_FIELD_UNKNOWN', /field 65/);
      expectError(
        () => iso.encodeMessage(plain, msg('0800', [[1, new Uint8Array(8)]])),
        EncodeError,
        'ISO8583_FIELD_UNKNOWN',
      );
    });

    it('ISO8583_TOO_LONG: a message over the dialect limit, a frame over it announced in its prefix', () => {
      expectError(() => iso.decodeMessage(plain, new Uint8Array(8193)), DecodeError, 'ISO8583_TOO_LONG');
      expectError(() => iso.frameLength(iso.CUP_TERMINAL_DIALECT, fromHex('ffff')), DecodeError, 'ISO8583_TOO_LONG');
    });

    it('ISO8583_FRAME_INVALID: length prefix disagreeing with the bytes, a TPDU without 0x60, a frame shorter than its header', () => {
      const frame = fromHex(V.messages[0]!.frame);
      expectError(
        () => iso.decodeFrame(iso.CUP_TERMINAL_DIALECT, frame.subarray(0, frame.length - 1)),
        DecodeError,
        'ISO8583_FRAME_INVALID',
        /length prefix says 65/,
      );
      const tpdu = frame.slice();
      tpdu[2] = 0x61;
      expectError(() => iso.decodeFrame(iso.CUP_TERMINAL_DIALECT, tpdu), DecodeError, 'ISO8583_FRAME_INVALID', /TPDU/);
      expectError(
        () => iso.decodeFrame(iso.CUP_TERMINAL_DIALECT, fromHex('0003600003')),
        DecodeError,
        'ISO8583_FRAME_INVALID',
        /shorter/,
      );
      expectError(
        () => iso.encodeFrame(iso.CUP_TERMINAL_DIALECT, { header: fromHex(V.header), message: msg('0800', []) }),
        EncodeError,
        'ISO8583_FRAME_INVALID',
        /needs a TPDU/,
      );
    });

    it('frameLength waits for a whole frame and says how long it is', () => {
      const frame = fromHex(V.messages[0]!.frame);
      assert.equal(iso.frameLength(iso.CUP_TERMINAL_DIALECT, frame.subarray(0, 1)), undefined);
      assert.equal(iso.frameLength(iso.CUP_TERMINAL_DIALECT, frame.subarray(0, 30)), undefined);
      assert.equal(iso.frameLength(iso.CUP_TERMINAL_DIALECT, Uint8Array.of(...frame, 0, 1)), frame.length);
    });
  });

  describe('docs/iso8583.md', () => {
    const doc = readFileSync(new URL('../../docs/iso8583.md', import.meta.url), 'utf8');

    it('lists every error code and every field of the dialect', () => {
      for (const code of Object.keys(iso.ISO8583_ERRORS))
        assert.ok(doc.includes(`| \`${code}\` |`), `no row for ${code}`);
      for (const [n, def] of iso.ISO8583_1987_FIELDS) {
        const row = doc.split('\n').find((l) => l.startsWith(`| ${n} |`) && l.split('|').length === 7);
        assert.ok(row, `no row for field ${n}`);
        const format = `${def.format}${def.prefix ? `, ${'L'.repeat(def.prefix)}` : ''}`;
        const length = def.prefix ? `..${def.length}` : String(def.length);
        assert.ok(row.includes(`| ${format} | ${length} |`), `field ${n}: ${row} (expected ${format} ${length})`);
      }
    });
  });

  describe('link messages', () => {
    const h = { stan: 9, terminalId: 'CP000001', merchantId: '898310058120001', batch: 12 };

    it('the record in field 62 comes back byte for byte; a record too long for the field is refused by the builder', () => {
      const record = Uint8Array.from({ length: iso.MAX_RECORD_BYTES }, (_, i) => i & 0xff);
      const advice = iso.offlineAdvice({
        ...h,
        date: '0101',
        time: '000000',
        amount: 1,
        currency: '156',
        entry: 'contact',
        record,
      });
      const back = iso.decodeMessage(plain, iso.encodeMessage(plain, advice));
      assert.deepEqual(iso.readRecord(back), record);
      expectError(
        () =>
          iso.offlineAdvice({
            ...h,
            date: '0101',
            time: '000000',
            amount: 1,
            currency: '156',
            entry: 'contact',
            record: new Uint8Array(750),
          }),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /field 62 carries 1\.\.749/,
      );
    });

    it('answers are read back: STAN, response code, batch, totals and the reconciliation code', () => {
      const totals = { debitCount: 999, debitAmount: 999999999999, creditCount: 0, creditAmount: 0 };
      const answer = iso.settlementResponse({
        ...h,
        responseCode: '95',
        settlementDate: '1231',
        totals,
        balanced: false,
      });
      const back = iso.decodeMessage(plain, iso.encodeMessage(plain, answer));
      assert.deepEqual(iso.readResponse(back), { stan: 9, responseCode: '95', approved: false, batch: 12 });
      assert.deepEqual(iso.readTotals(back), { ...totals, balanced: false });
      assert.equal(iso.responseMti('0221'), '0230');
    });

    it('builders refuse what the fields cannot carry', () => {
      expectError(() => iso.signOn({ ...h, stan: 0, operator: '001' }), EncodeError, 'ISO8583_FIELD_INVALID', /STAN/);
      expectError(
        () => iso.signOn({ ...h, terminalId: 'CP1', operator: '001' }),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /terminal id/,
      );
      expectError(
        () =>
          iso.settlement({
            ...h,
            currency: '156',
            operator: '001',
            totals: { debitCount: 1000, debitAmount: 1, creditCount: 0, creditAmount: 0 },
          }),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /debit count 1000/,
      );
      expectError(
        () =>
          iso.batchUpload({
            ...h,
            date: '1301',
            time: '000000',
            amount: 1,
            currency: '156',
            record: new Uint8Array(1),
          }),
        EncodeError,
        'ISO8583_FIELD_INVALID',
        /local date/,
      );
    });

    it('a field 62 that is not canonical base64url is refused when read', () => {
      const m = msg('0220', [[62, 'AB=']]);
      expectError(() => iso.readRecord(m), DecodeError, 'ISO8583_FIELD_INVALID', /base64url/);
    });
  });
});
