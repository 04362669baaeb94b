import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { DecodeError } from '../../protocol/errors.js';
import * as iso from '../../protocol/iso8583/index.js';

/**
 * Fuzzing the ISO 8583 decoders (outside bytes from an acquirer or a terminal). Invariants:
 *  1. decodeMessage / decodeFrame / decodeTlv either return or throw DecodeError with an ISO8583_* or
 *     TLV_* code: never another exception (no RangeError, no read past the end);
 *  2. whatever they accept is canonical: encoding it again gives the same bytes;
 *  3. decode(encode(m)) deep-equals m for random valid messages of every dialect, and likewise for TLV.
 * FUZZ_SEED and FUZZ_RUNS change the exploration; a failure prints fast-check's seed and the input.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x8583);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const OPTIONS = { seed: SEED, numRuns: RUNS };
const DIALECTS: iso.Iso8583Dialect[] = [
  iso.PLAIN_BCD_DIALECT,
  iso.PLAIN_ASCII_DIALECT,
  iso.CUP_TERMINAL_DIALECT,
  { ...iso.PLAIN_BCD_DIALECT, name: 'plain-bcd, secondary bitmap always', secondaryBitmap: 'always' },
];
const CODES = new Set(Object.keys(iso.ISO8583_ERRORS));
const VECTORS = JSON.parse(readFileSync(new URL('../vectors/iso8583.json', import.meta.url), 'utf8')) as {
  messages: { message: string; frame: string }[];
  codec: { dialect: string; message: string }[];
  tlv: { hex: string }[];
};

function onlyTypedErrors<T>(fn: () => T, input: Uint8Array): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) assert.fail(`${String(e)} (not a DecodeError) for ${toHex(input)}`);
    assert.ok(CODES.has(e.code), `unexpected code ${e.code} for ${toHex(input)}`);
    return undefined;
  }
}

function checkMessage(dialect: iso.Iso8583Dialect, bytes: Uint8Array): void {
  const m = onlyTypedErrors(() => iso.decodeMessage(dialect, bytes), bytes);
  if (m) assert.equal(toHex(iso.encodeMessage(dialect, m)), toHex(bytes), `accepted a non-canonical message`);
}

function checkFrame(dialect: iso.Iso8583Dialect, bytes: Uint8Array): void {
  const f = onlyTypedErrors(() => iso.decodeFrame(dialect, bytes), bytes);
  if (f) assert.equal(toHex(iso.encodeFrame(dialect, f)), toHex(bytes));
}

function checkTlv(bytes: Uint8Array): void {
  const items = onlyTypedErrors(() => iso.decodeTlv(bytes), bytes);
  if (items) assert.equal(toHex(iso.encodeTlv(items)), toHex(bytes));
}

/** A valid value for one field definition. */
function fieldValue(def: iso.FieldDef): fc.Arbitrary<iso.FieldValue> {
  const len = def.prefix === 0 ? fc.constant(def.length) : fc.integer({ min: 0, max: def.length });
  const chars = (alphabet: string) =>
    len.chain((n) => fc.array(fc.constantFrom(...alphabet), { minLength: n, maxLength: n }).map((a) => a.join('')));
  switch (def.format) {
    case 'b':
      return len.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
    case 'n':
      return chars('0123456789');
    case 'z':
      return chars('0123456789=');
    case 'an':
      return chars('ABCXYZabcxyz0123456789 ');
    default:
      return chars(' !"#$%&()*+,-./09:;<=>?@AZ[\\]^_`az{|}~');
  }
}

function message(dialect: iso.Iso8583Dialect): fc.Arbitrary<iso.Iso8583Message> {
  const entries = [...dialect.fields].map(([n, def]) =>
    fc.option(
      fieldValue(def).map((v) => [n, v] as const),
      { nil: undefined },
    ),
  );
  const mti = fc.array(fc.constantFrom(...'0123456789'), { minLength: 4, maxLength: 4 }).map((a) => a.join(''));
  return fc.tuple(mti, fc.tuple(...entries)).map(([m, es]) => ({
    mti: m,
    fields: new Map(es.filter((e): e is readonly [number, iso.FieldValue] => e !== undefined)),
  }));
}

/** Random edits of valid bytes: flips, insertions, deletions, truncation, length-prefix damage. */
function mutated(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 255 }));
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
    let b = Array.from(bytes);
    for (const [pos, kind, value] of edits) {
      const at = b.length === 0 ? 0 : pos % b.length;
      if (kind === 0) b[at] = value;
      else if (kind === 1) b[at] = (b[at] ?? 0) ^ (1 << (value & 7));
      else if (kind === 2) b.splice(at, 0, value);
      else if (kind === 3) b.splice(at, 1);
      else b = b.slice(0, at);
    }
    return Uint8Array.from(b);
  });
}

function tlvItems(depth: number): fc.Arbitrary<iso.TlvItem[]> {
  const primitiveTag = fc.constantFrom(0x5a, 0x82, 0x95, 0x9a, 0x9f02, 0x9f26, 0x9f36, 0xdf01, 0xdf8101, 0x1f8101);
  const primitive = fc
    .tuple(primitiveTag, fc.uint8Array({ maxLength: 300 }))
    .map(([tag, value]): iso.TlvItem => ({ tag, value }));
  if (depth === 0) return fc.array(primitive, { maxLength: 4 });
  const constructed = fc
    .tuple(fc.constantFrom(0x70, 0x77, 0xbf0c, 0xff8101), tlvItems(depth - 1))
    .map(([tag, children]): iso.TlvItem => ({ tag, children }));
  return fc.array(fc.oneof(primitive, constructed), { maxLength: 4 });
}

describe('ISO 8583 decoder fuzzing (protocol/iso8583): only typed errors, canonical round trips', function () {
  this.timeout(120_000);

  for (const dialect of DIALECTS) {
    it(`${dialect.name}: decodeMessage(encodeMessage(m)) equals m for random valid messages`, () => {
      fc.assert(
        fc.property(message(dialect), (m) => {
          const bytes = iso.encodeMessage(dialect, m);
          const back = iso.decodeMessage(dialect, bytes);
          assert.deepEqual(back, { mti: m.mti, fields: new Map([...m.fields].sort((a, b) => a[0] - b[0])) });
        }),
        { ...OPTIONS, numRuns: Math.ceil(RUNS / 4) },
      );
    });

    it(`${dialect.name}: random and mutated messages get a result or a typed error, never another exception`, () => {
      const valid = message(dialect).map((m) => iso.encodeMessage(dialect, m));
      const seeds = fc.constantFrom(
        ...VECTORS.messages.map((v) => fromHex(v.message)),
        ...VECTORS.codec.map((v) => fromHex(v.message)),
      );
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated(valid), mutated(seeds)), (bytes) =>
          checkMessage(dialect, bytes),
        ),
        OPTIONS,
      );
    });
  }

  it('cup-terminal: random and mutated frames get a result or a typed error', () => {
    const seeds = fc.constantFrom(...VECTORS.messages.map((v) => fromHex(v.frame)));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), mutated(seeds)), (bytes) => {
        checkFrame(iso.CUP_TERMINAL_DIALECT, bytes);
        const length = onlyTypedErrors(() => iso.frameLength(iso.CUP_TERMINAL_DIALECT, bytes), bytes);
        if (length !== undefined) assert.ok(length <= bytes.length);
      }),
      OPTIONS,
    );
  });

  it('BER-TLV: random trees round-trip; random and mutated TLV bytes get a result or a typed error', () => {
    fc.assert(
      fc.property(tlvItems(3), (items) => {
        assert.deepEqual(iso.decodeTlv(iso.encodeTlv(items)), items);
      }),
      { ...OPTIONS, numRuns: Math.ceil(RUNS / 4) },
    );
    const seeds = fc.oneof(
      fc.constantFrom(...VECTORS.tlv.map((v) => fromHex(v.hex))),
      tlvItems(2).map((items) => iso.encodeTlv(items)),
    );
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 48 }), mutated(seeds)), checkTlv), OPTIONS);
  });
});
