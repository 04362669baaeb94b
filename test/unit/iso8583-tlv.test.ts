import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';
import * as iso from '../../protocol/iso8583/index.js';

/** BER-TLV for field 55 (docs/iso8583.md §3): the vectors of test/vectors/iso8583.json and every refusal. */
const V = JSON.parse(readFileSync(new URL('../vectors/iso8583.json', import.meta.url), 'utf8')) as {
  tlv: { name: string; hex: string }[];
};

function expectError(fn: () => unknown, cls: typeof DecodeError | typeof EncodeError, code: string, text: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, text);
    assert.ok(e.hint.length > 0, 'every error has a hint');
    return true;
  });
}

/** `depth` constructed templates (tag 70) inside each other around an empty 5A. */
function deepTlv(depth: number): string {
  let hex = '5a00';
  for (let i = 0; i < depth; i++) hex = '70' + (hex.length / 2).toString(16).padStart(2, '0') + hex;
  return hex;
}

describe('BER-TLV (field 55)', () => {
  for (const v of V.tlv) {
    it(`${v.name}: decodes and re-encodes byte for byte`, () => {
      assert.equal(toHex(iso.encodeTlv(iso.decodeTlv(fromHex(v.hex)))), v.hex);
    });
  }

  it('reads tags of one, two and three bytes, constructed ones as children', () => {
    const items = iso.decodeTlv(fromHex(V.tlv[1]!.hex));
    assert.deepEqual(items, [
      {
        tag: 0x70,
        children: [
          { tag: 0xdf8101, value: fromHex('deadbeef') },
          { tag: 0x5a, value: new Uint8Array(0) },
        ],
      },
    ]);
    assert.equal(toHex(iso.findTlv(items, 0xdf8101)!), 'deadbeef');
    assert.equal(toHex(iso.findTlv(iso.decodeTlv(fromHex(V.tlv[0]!.hex)), 0x9f26)!), 'a1b2c3d4e5f60718');
  });

  it('TLV_MALFORMED: a 4-byte tag, indefinite or non-minimal length, a value past the end, padding, deep nesting', () => {
    for (const [hex, why] of [
      ['df81818101ff', /longer than 3 bytes/],
      ['9f2680', /indefinite/],
      ['9f26810100', /shortest form/],
      ['9f260401', /runs past the end/],
      ['9f', /ends inside a tag/],
      ['009f260100', /padding/],
      ['9f26830000010000', /64 KiB/],
      [deepTlv(10), /deeper than 8/],
    ] as const)
      expectError(() => iso.decodeTlv(fromHex(hex)), DecodeError, 'TLV_MALFORMED', why);
  });

  it('TLV_INVALID: a tag that is not BER, a primitive tag with children', () => {
    expectError(
      () => iso.encodeTlv([{ tag: 0x9f, value: new Uint8Array(1) }]),
      EncodeError,
      'TLV_INVALID',
      /not a 1 to 3-byte/,
    );
    expectError(() => iso.encodeTlv([{ tag: 0x5a, children: [] }]), EncodeError, 'TLV_INVALID', /primitive/);
    expectError(
      () => iso.encodeTlv([{ tag: 0x70, value: new Uint8Array(1) }]),
      EncodeError,
      'TLV_INVALID',
      /constructed/,
    );
  });
});
