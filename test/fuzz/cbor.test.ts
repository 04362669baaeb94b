import assert from 'node:assert/strict';
import { Decoder as CborXDecoder, Encoder as CborXEncoder, Tag as CborXTag } from 'cbor-x';
import { toHex } from '../../protocol/bytes.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  CborTagged,
  decodeCanonical,
  encodeCanonical,
  toDiagnostic,
  type CborKey,
  type CborValue,
  type DecodeLimits,
} from '../../protocol/cbor/index.js';
import { Prng } from '../support/prng.js';

/**
 * Seeded fuzzing of the strict decoder. Invariants, for every input:
 *  1. decodeCanonical either returns or throws DecodeError — nothing else (no RangeError, no stack overflow),
 *     and never the CBOR_INTERNAL safety-net code;
 *  2. whatever it accepts is canonical: encodeCanonical(decodeCanonical(b)) equals b byte for byte.
 * And for every value v of the model: decodeCanonical(encodeCanonical(v)) deep-equals v.
 * Change SEED to explore; a failure message prints the seed and the input hex.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_cb0e);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1);

function check(bytes: Uint8Array, limits?: DecodeLimits): 'accepted' | 'rejected' {
  let v: CborValue;
  try {
    v = decodeCanonical(bytes, limits);
  } catch (e) {
    if (!(e instanceof DecodeError)) assert.fail(`non-DecodeError ${String(e)} for ${toHex(bytes)}`);
    assert.notEqual(e.code, 'CBOR_INTERNAL', `${e.message} for ${toHex(bytes)}`);
    return 'rejected';
  }
  const again = encodeCanonical(v);
  assert.equal(toHex(again), toHex(bytes), `accepted non-canonical input ${toHex(bytes)} → ${toDiagnostic(v)}`);
  return 'accepted';
}

/** Random value of the model, normalised (no −0, bigints only outside the safe range). */
function randomValue(rng: Prng, depth: number, tags: readonly number[] = [0, 1, 23, 24, 32, 1000, 55799]): CborValue {
  const scalar = (): CborValue => {
    switch (rng.int(14)) {
      case 0:
        return rng.int(24);
      case 1:
        return rng.int(0x10000) - 0x8000;
      case 2:
        return (rng.next() + 1) * (rng.bool() ? 1 : -1);
      case 3: {
        const v = rng.next() * 0x200000 + rng.int(0x200000);
        return rng.bool() ? v : -v;
      }
      case 4: {
        const big = BigInt(rng.next()) * BigInt(rng.next() >>> 1);
        return rng.bool() ? 2n ** 53n + big : -(2n ** 53n) - 1n - big;
      }
      case 5:
        return rng.pick([
          0.5,
          -1.5,
          1.1,
          1e300,
          -1e-300,
          Infinity,
          -Infinity,
          NaN,
          65504.5,
          2 ** -24,
          3.4028234663852886e38,
          2 ** 60,
          2 ** -149,
        ]);
      case 6:
        return (rng.float() - 0.5) * 2 ** rng.range(-60, 60);
      case 7:
        return rng.bytes(rng.int(40));
      case 8:
        return String.fromCharCode(...Array.from({ length: rng.int(30) }, () => 0x20 + rng.int(95)));
      case 9:
        return rng.pick(['', 'é', '水', '😀', 'ü水😀', 'x'.repeat(300), '\ufeff', '\u0000', '\u{10FFFF}']);
      case 10:
        return rng.pick([true, false, null, undefined]);
      case 11:
        return Math.fround((rng.float() - 0.5) * 1000);
      case 12:
        return rng.bytes(rng.int(300));
      default:
        return rng.int(1_000_000_000);
    }
  };
  const v = depth <= 0 ? null : rng.int(6);
  switch (v) {
    case 0:
      return Array.from({ length: rng.int(6) }, () => randomValue(rng, depth - 1, tags));
    case 1: {
      const m = new Map<CborKey, CborValue>();
      const n = rng.int(7);
      for (let i = 0; i < n; i++) {
        const k: CborKey = rng.bool(0.7)
          ? rng.int(40) - 10
          : rng.bool(0.9)
            ? rng.pick(['a', 'b', 'id', 'type', 'zz', '水', 'é'])
            : 2n ** 63n + BigInt(rng.next());
        m.set(k, randomValue(rng, depth - 1, tags));
      }
      return m;
    }
    case 2:
      return new CborTagged(rng.pick(tags), randomValue(rng, depth - 1, tags));
    default: {
      const s = scalar();
      return Object.is(s, -0) ? 0 : s;
    }
  }
}

function mutate(rng: Prng, src: Uint8Array): Uint8Array {
  const b = Uint8Array.from(src);
  switch (rng.int(9)) {
    case 0: {
      // bit flips
      const n = 1 + rng.int(3);
      for (let i = 0; i < n && b.length > 0; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(b.length + 1)); // truncation
    case 2: {
      // insertion
      const at = rng.int(b.length + 1);
      const ins = rng.bytes(1 + rng.int(4));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      return out;
    }
    case 3: {
      // deletion
      if (b.length < 2) return b;
      const at = rng.int(b.length);
      const n = 1 + rng.int(Math.min(4, b.length - at));
      const out = new Uint8Array(b.length - n);
      out.set(b.subarray(0, at));
      out.set(b.subarray(at + n), at);
      return out;
    }
    case 4: {
      // length-field inflation: turn some head into a 4- or 8-byte argument claiming a huge count
      if (b.length === 0) return b;
      const at = rng.int(b.length);
      const major = b[at]! & 0xe0;
      const wide = rng.bool() ? [major | 26, 0xff, 0xff, 0xff, rng.int(256)] : [major | 27, 0, 0, 0, 1, 0, 0, 0, 0];
      const out = new Uint8Array(b.length + wide.length - 1);
      out.set(b.subarray(0, at));
      out.set(wide, at);
      out.set(b.subarray(at + 1), at + wide.length);
      return out;
    }
    case 5: {
      // small length tweak: ±1 on an additional-info value
      if (b.length === 0) return b;
      const at = rng.int(b.length);
      b[at] = (b[at]! & 0xe0) | ((b[at]! + (rng.bool() ? 1 : 31)) & 0x1f);
      return b;
    }
    case 6: {
      // interesting bytes
      if (b.length === 0) return b;
      b[rng.int(b.length)] = rng.pick([
        0x00, 0x17, 0x18, 0x1f, 0x5f, 0x7f, 0x9f, 0xbf, 0xff, 0xf8, 0xf9, 0xfa, 0xfb, 0x1c, 0xc2, 0xd8,
      ]);
      return b;
    }
    case 7: {
      // duplicate a slice (creates repeated keys, trailing bytes)
      const at = rng.int(b.length + 1);
      const len = rng.int(Math.min(8, b.length - at) + 1);
      const out = new Uint8Array(b.length + len);
      out.set(b.subarray(0, at + len));
      out.set(b.subarray(at, at + len), at + len);
      out.set(b.subarray(at + len), at + 2 * len);
      return out;
    }
    default: {
      // swap two bytes (reorders keys)
      if (b.length < 2) return b;
      const i = rng.int(b.length);
      const j = rng.int(b.length);
      const t = b[i]!;
      b[i] = b[j]!;
      b[j] = t;
      return b;
    }
  }
}

describe('fuzz: cbor strict decoder', function () {
  this.timeout(120_000);

  it(`random byte strings never escape as anything but DecodeError (seed ${SEED})`, () => {
    const rng = new Prng(SEED);
    let accepted = 0;
    for (let i = 0; i < 20_000 * ROUNDS; i++) {
      const len = rng.bool(0.8) ? rng.int(12) : rng.int(200);
      if (check(rng.bytes(len)) === 'accepted') accepted++;
    }
    assert.ok(accepted > 100, `only ${accepted} random inputs accepted: the generator is too weak`);
  });

  it(`mutated valid encodings: only DecodeError, and anything accepted is canonical (seed ${SEED + 1})`, () => {
    const rng = new Prng(SEED + 1);
    let accepted = 0;
    let total = 0;
    for (let i = 0; i < 3_000 * ROUNDS; i++) {
      const valid = encodeCanonical(randomValue(rng, 4));
      let b = valid;
      for (let j = 0; j < 8; j++) {
        b = mutate(rng, rng.bool(0.5) ? valid : b);
        total++;
        if (check(b) === 'accepted') accepted++;
        // tight limits exercise the limit paths on the same inputs
        check(b, { maxDepth: 1 + rng.int(4), maxItems: 1 + rng.int(20), maxBytes: 1 + rng.int(300) });
      }
    }
    assert.ok(total >= 24_000, 'total >= 24_000');
    assert.ok(accepted > 500, `only ${accepted} mutants accepted`);
  });

  it('deeply nested and huge-claim inputs are bounded (no stack overflow, no big allocation)', () => {
    const rng = new Prng(SEED + 2);
    for (let i = 0; i < 200; i++) {
      const depth = 1 + rng.int(5000);
      const opener = rng.pick([[0x81], [0xa1, 0x01], [0xc1], [0x9f], [0xbf, 0x01]]);
      const b = new Uint8Array(depth * opener.length + 1);
      for (let d = 0; d < depth; d++) b.set(opener, d * opener.length);
      check(b);
    }
    for (const head of [0x5b, 0x7b, 0x9b, 0xbb, 0x5a, 0x7a, 0x9a, 0xba]) {
      for (let i = 0; i < 50; i++) {
        const b = new Uint8Array(9 + rng.int(64));
        b[0] = head;
        b.set(rng.bytes(8), 1);
        check(b);
      }
    }
  });
});

describe('fuzz: cbor properties', function () {
  this.timeout(120_000);

  it(`decode(encode(v)) deep-equals v and encode(decode(b)) === b (5000 random values, seed ${SEED + 3})`, () => {
    const rng = new Prng(SEED + 3);
    for (let i = 0; i < 5_000 * ROUNDS; i++) {
      const v = randomValue(rng, 5);
      const b = encodeCanonical(v);
      const back = decodeCanonical(b);
      assert.deepStrictEqual(back, v, toDiagnostic(v));
      assert.equal(toHex(encodeCanonical(back)), toHex(b));
    }
  });

  it('encoding is independent of map insertion order', () => {
    const rng = new Prng(SEED + 4);
    for (let i = 0; i < 2_000; i++) {
      const v = randomValue(rng, 3);
      if (!(v instanceof Map)) continue;
      const shuffled = new Map(rng.shuffle([...v]));
      assert.equal(toHex(encodeCanonical(shuffled)), toHex(encodeCanonical(v)));
    }
  });

  it('cbor-x decodes what we encode to the same value (2000 random values)', () => {
    const cborx = new CborXDecoder({ mapsAsObjects: false, useRecords: false } as never);
    const fromCborX = (v: unknown): CborValue => {
      if (v instanceof Uint8Array) return new Uint8Array(v);
      if (Array.isArray(v)) return v.map(fromCborX);
      if (v instanceof Map) return new Map([...v].map(([k, x]) => [k as CborKey, fromCborX(x)]));
      if (v instanceof CborXTag) return new CborTagged(v.tag, fromCborX(v.value));
      if (typeof v === 'bigint' && v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n) return Number(v);
      return v as CborValue;
    };
    const rng = new Prng(SEED + 5);
    for (let i = 0; i < 2_000; i++) {
      const v = randomValue(rng, 4, [23, 1000, 100000]); // tags cbor-x leaves as Tag objects
      assert.deepStrictEqual(fromCborX(cborx.decode(Buffer.from(encodeCanonical(v)))), v, toDiagnostic(v));
    }
  });

  it('whatever cbor-x emits is either rejected or accepted as exactly canonical', () => {
    const cborxEnc = new CborXEncoder({
      mapsAsObjects: false,
      useRecords: false,
      variableMapSize: true,
      tagUint8Array: false,
    } as never);
    const rng = new Prng(SEED + 6);
    let accepted = 0;
    for (let i = 0; i < 2_000; i++) {
      const v = randomValue(rng, 3, [23, 1000]);
      let bytes: Uint8Array;
      try {
        bytes = Uint8Array.from(cborxEnc.encode(v));
      } catch {
        continue;
      }
      if (check(bytes) === 'accepted') accepted++;
    }
    assert.ok(accepted > 0, 'accepted > 0');
  });
});
