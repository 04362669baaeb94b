import { strict as assert } from 'node:assert';
import {
  ChainAssembler,
  ApduStatusError,
  decodeCommandApdu,
  decodeResponseApdu,
  describeStatusWord,
  encodeCommandApdu,
  encodeResponseApdu,
  exchange,
  retriesFromStatusWord,
  splitForChaining,
  type ApduTransport,
  type CommandApdu,
} from '../../protocol/apdu/index.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';

const hex = (b: Uint8Array) => toHex(b).toUpperCase();
const range = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

describe('APDU command codec (ISO 7816-4 §5.1)', () => {
  const cases: Array<[string, CommandApdu, 'short' | 'extended' | undefined, string]> = [
    ['case 1', { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00 }, undefined, '00A40400'],
    ['case 2S, Le=256 as 00', { cla: 0x00, ins: 0xc0, p1: 0, p2: 0, le: 256 }, undefined, '00C0000000'],
    ['case 2S, Le=16', { cla: 0x80, ins: 0xca, p1: 0, p2: 0, le: 16 }, undefined, '80CA000010'],
    [
      'case 3S',
      { cla: 0x00, ins: 0x20, p1: 0, p2: 0x80, data: fromHex('2412 34FF FFFF FFFF') },
      undefined,
      '0020008008241234FFFFFFFFFF',
    ],
    [
      'case 4S (SELECT by AID)',
      { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: fromHex('F043415244504F535401'), le: 256 },
      undefined,
      '00A404000AF043415244504F53540100',
    ],
    ['case 2E, Le=65536 as 0000', { cla: 0x80, ins: 0x10, p1: 0, p2: 0, le: 65536 }, undefined, '80100000000000'],
    ['case 2E forced', { cla: 0x80, ins: 0x10, p1: 0, p2: 0, le: 5 }, 'extended', '80100000000005'],
    ['case 3E forced', { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: fromHex('0102') }, 'extended', '801000000000020102'],
    [
      'case 4E forced, Le max',
      { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: fromHex('01'), le: 65536 },
      'extended',
      '80100000000001010000',
    ],
    ['case 1 in extended form has no length field', { cla: 0x00, ins: 0x44, p1: 0, p2: 0 }, 'extended', '00440000'],
  ];
  for (const [name, cmd, form, expected] of cases) {
    it(`encodes ${name}`, () => {
      assert.equal(hex(encodeCommandApdu(cmd, form)), expected);
      const back = decodeCommandApdu(fromHex(expected));
      assert.equal(back.cla, cmd.cla);
      assert.equal(back.ins, cmd.ins);
      assert.equal(back.p1, cmd.p1);
      assert.equal(back.p2, cmd.p2);
      assert.deepEqual(back.data ?? new Uint8Array(0), cmd.data ?? new Uint8Array(0));
      assert.equal(back.le, cmd.le);
    });
  }

  it('chooses the extended form automatically for 256+ data bytes', () => {
    const apdu = encodeCommandApdu({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: range(300), le: 65536 });
    assert.equal(apdu.length, 4 + 3 + 300 + 2);
    assert.equal(hex(apdu.subarray(4, 7)), '00012C');
    assert.equal(decodeCommandApdu(apdu).form, 'extended');
  });

  it('refuses what does not fit the chosen form, with a hint', () => {
    assert.throws(
      () => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, data: range(256) }, 'short'),
      (e: unknown) => e instanceof EncodeError && e.code === 'APDU_TOO_LONG' && /chaining/.test(e.hint),
    );
    assert.throws(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, le: 0 }), EncodeError);
    assert.throws(() => encodeCommandApdu({ cla: 0x100, ins: 0, p1: 0, p2: 0 }), EncodeError);
    assert.throws(() => encodeCommandApdu({ cla: 0xff, ins: 0, p1: 0, p2: 0 }), EncodeError);
  });

  const bad = [
    '',
    '00',
    '00A404',
    '00A4040002AA',
    '00A4040003AABB',
    '00A404000001',
    '00A40400000003AABB',
    '00A40400000002AABB00',
  ];
  for (const b of bad) {
    it(`rejects malformed command "${b}"`, () => {
      assert.throws(
        () => decodeCommandApdu(fromHex(b)),
        (e: unknown) => e instanceof DecodeError && e.code === 'APDU_MALFORMED',
      );
    });
  }
});

describe('APDU responses and status words', () => {
  it('splits data and SW', () => {
    const r = decodeResponseApdu(fromHex('01029000'));
    assert.equal(hex(r.data), '0102');
    assert.equal(r.sw, 0x9000);
    assert.equal(hex(encodeResponseApdu(r.data, r.sw)), '01029000');
  });
  it('refuses a response without SW', () => {
    assert.throws(
      () => decodeResponseApdu(fromHex('90')),
      (e: unknown) => e instanceof DecodeError && e.code === 'APDU_RESPONSE_SHORT',
    );
  });
  it('describes parameterised SWs', () => {
    assert.match(describeStatusWord(0x6110), /16 response bytes/);
    assert.match(describeStatusWord(0x6c08), /exactly 8/);
    assert.match(describeStatusWord(0x63c2), /2 tries left/);
    assert.equal(describeStatusWord(0x6983), 'authentication method blocked (PIN blocked)');
    assert.equal(retriesFromStatusWord(0x63c1), 1);
    assert.equal(retriesFromStatusWord(0x6300), undefined);
    const e = new ApduStatusError(0x6982, 'SIGN_TXN');
    assert.equal(e.code, 'APDU_STATUS');
    assert.equal(e.sw, 0x6982);
    assert.match(e.message, /6982/);
  });
});

describe('command chaining (CLA bit 0x10)', () => {
  it('splits into 255-byte parts with the chaining bit on all but the last', () => {
    const parts = splitForChaining({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: range(600), le: 256 });
    assert.deepEqual(
      parts.map((p) => [p.cla, p.data?.length, p.le]),
      [
        [0x90, 255, undefined],
        [0x90, 255, undefined],
        [0x80, 90, 256],
      ],
    );
  });
  it('reassembles on the card side and refuses a broken chain', () => {
    const asm = new ChainAssembler(4096);
    const parts = splitForChaining({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: range(600), le: 256 });
    assert.equal(asm.push(parts[0]!).kind, 'more');
    assert.equal(asm.push(parts[1]!).kind, 'more');
    const done = asm.push(parts[2]!);
    assert.ok(done.kind === 'complete', "done.kind === 'complete'");
    assert.deepEqual(done.command.data, range(600));
    assert.equal(done.command.cla, 0x80);
    assert.equal(asm.inProgress, false);

    asm.push(parts[0]!);
    assert.throws(
      () => asm.push({ cla: 0x00, ins: 0xa4, p1: 4, p2: 0 }),
      (e: unknown) => e instanceof DecodeError && e.code === 'APDU_CHAIN_BROKEN',
    );
    assert.equal(asm.inProgress, false);
  });
  it('bounds the reassembled size', () => {
    const asm = new ChainAssembler(300);
    const parts = splitForChaining({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: range(600) });
    asm.push(parts[0]!);
    assert.throws(
      () => asm.push(parts[1]!),
      (e: unknown) => e instanceof DecodeError && e.code === 'APDU_CHAIN_TOO_LONG',
    );
  });
});

/** A scripted card: each call checks the APDU it gets and answers with the next response. */
function scripted(steps: Array<[string | RegExp, string]>): ApduTransport & { left: () => number } {
  let i = 0;
  return {
    left: () => steps.length - i,
    async transmit(apdu: Uint8Array) {
      const step = steps[i++];
      if (!step) throw new Error(`unexpected APDU ${hex(apdu)}`);
      const [want, answer] = step;
      if (typeof want === 'string') assert.equal(hex(apdu), want);
      else assert.match(hex(apdu), want);
      return fromHex(answer);
    },
  };
}

describe('exchange(): the transport-agnostic ISO 7816-4 exchange', () => {
  it('follows 61xx with GET RESPONSE in the command class, concatenating data', async () => {
    const t = scripted([
      ['8010000001' + '01' + '00', 'AABB6103'],
      ['80C0000003', 'CCDDEE6100'],
      ['80C0000000', 'FF9000'],
    ]);
    const r = await exchange(
      t,
      { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: fromHex('01'), le: 256 },
      { extendedLength: false },
    );
    assert.equal(hex(r.data), 'AABBCCDDEEFF');
    assert.equal(r.sw, 0x9000);
    assert.equal(t.left(), 0);
  });
  it('follows 61xx even after SELECT with Le=00 (libfido2 #818)', async () => {
    const t = scripted([
      ['00A404000AF043415244504F53540100', '6102'],
      ['00C0000002', '01029000'],
    ]);
    const r = await exchange(
      t,
      { cla: 0, ins: 0xa4, p1: 4, p2: 0, data: fromHex('F043415244504F535401'), le: 256 },
      { extendedLength: false },
    );
    assert.equal(hex(r.data), '0102');
  });
  it('re-sends with the exact Le on 6Cxx', async () => {
    const t = scripted([
      ['80CA000000', '6C05'],
      ['80CA000005', '01020304059000'],
    ]);
    const r = await exchange(t, { cla: 0x80, ins: 0xca, p1: 0, p2: 0, le: 256 }, { extendedLength: false });
    assert.equal(hex(r.data), '0102030405');
  });
  it('chains long commands when the reader has no extended APDUs', async () => {
    const data = range(300);
    const t = scripted([
      [/^9010000[0]FF/, '9000'],
      [/^801000002D.*00$/, '019000'],
    ]);
    const r = await exchange(t, { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data, le: 65536 }, { extendedLength: false });
    assert.equal(hex(r.data), '01');
  });
  it('sends one extended APDU when the reader allows it', async () => {
    const t = scripted([[/^8010000000012C/, '029000']]);
    const r = await exchange(
      t,
      { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: range(300), le: 65536 },
      { extendedLength: true },
    );
    assert.equal(hex(r.data), '02');
  });
  it('stops a chain at the first refused part and returns its status', async () => {
    const t = scripted([[/^90/, '6A84']]);
    const r = await exchange(t, { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: range(600) }, { extendedLength: false });
    assert.equal(r.sw, 0x6a84);
    assert.equal(t.left(), 0);
  });
  it('refuses a card that never stops answering 61xx', async () => {
    const loop: ApduTransport = {
      async transmit() {
        return fromHex('00'.repeat(256) + '6100');
      },
    };
    await assert.rejects(
      exchange(
        loop,
        { cla: 0x80, ins: 0x10, p1: 0, p2: 0, le: 256 },
        { extendedLength: false, maxResponseBytes: 4096 },
      ),
      (e: unknown) => e instanceof DecodeError && e.code === 'APDU_RESPONSE_TOO_LONG',
    );
  });
  it('returns non-success status words to the caller instead of throwing', async () => {
    const t = scripted([['0020008000', '63C2']]);
    const r = await exchange(t, { cla: 0, ins: 0x20, p1: 0, p2: 0x80, le: 256 }, { extendedLength: false });
    assert.equal(r.sw, 0x63c2);
  });
});
