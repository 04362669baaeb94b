/**
 * Seeded fuzzing of the PC/SC part 10 parsers (protocol/pcsc/part10.ts): a reader's feature list and
 * its PIN pad answer are outside input.
 *
 * Invariants:
 *  - parsePcscFeatures returns or throws DecodeError (PCSC_FEATURES_INVALID), nothing else;
 *  - what it accepts is 6-byte TLVs of length 4, distinct non-zero tags, non-zero codes, and encodes back
 *    to exactly the input;
 *  - readPinPadAnswer returns or throws DecodeError; it returns only for 2 bytes, and `verified` only for 9000.
 *
 * FUZZ_SEED overrides the seed (printed in the titles), FUZZ_ROUNDS multiplies the case counts.
 */
import { strict as assert } from 'node:assert';
import { parsePcscFeatures, readPinPadAnswer } from '../../protocol/pcsc/part10.js';
import { toHex } from '../../protocol/bytes.js';
import { Prng } from '../support/prng.js';
import { attempt, fuzzSeed, FUZZ_ROUNDS, hexSeed } from '../support/fuzz.js';
import { DecodeError } from '../../protocol/errors.js';

const SEED = fuzzSeed(0x9c5c_0a10);

function encode(features: Map<number, number>): Uint8Array {
  const out: number[] = [];
  for (const [tag, code] of features)
    out.push(tag, 4, code >>> 24, (code >>> 16) & 0xff, (code >>> 8) & 0xff, code & 0xff);
  return Uint8Array.from(out);
}

/** A well-formed list, the way libccid answers (a few features, codes 0x4233xxxx). */
function validList(p: Prng): Uint8Array {
  const m = new Map<number, number>();
  const n = p.int(8);
  for (let i = 0; i < n; i++) m.set(1 + p.int(0x20), (0x42330000 + p.int(0x10000)) >>> 0);
  return encode(m);
}

function mutate(p: Prng, b: Uint8Array): Uint8Array {
  const out = Array.from(b);
  const k = 1 + p.int(3);
  for (let i = 0; i < k; i++) {
    const op = p.int(4);
    if (op === 0 && out.length) out[p.int(out.length)] = p.int(256);
    else if (op === 1) out.splice(p.int(out.length + 1), 0, p.int(256));
    else if (op === 2 && out.length) out.splice(p.int(out.length), 1);
    else if (op === 3 && out.length >= 6) out.push(...out.slice(0, 6)); // a repeated TLV
  }
  return Uint8Array.from(out);
}

describe(`fuzz: PC/SC part 10 feature list and PIN pad answers (seed ${hexSeed(SEED)})`, () => {
  it('feature lists: random, valid and mutated — a Map that re-encodes to the input, or PCSC_FEATURES_INVALID', () => {
    const p = new Prng(SEED);
    let accepted = 0;
    let refused = 0;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < 10_000 * FUZZ_ROUNDS; i++) {
        const kind = i % 3;
        const input = kind === 0 ? p.bytes(p.int(40)) : kind === 1 ? validList(p) : mutate(p, validList(p));
        const r = attempt(
          'parsePcscFeatures',
          () => toHex(input),
          () => parsePcscFeatures(input),
        );
        if (r instanceof DecodeError) {
          assert.equal(r.code, 'PCSC_FEATURES_INVALID');
          refused++;
          continue;
        }
        accepted++;
        assert.equal(r.size * 6, input.length);
        assert.equal(toHex(encode(r)), toHex(input), 'accepted lists are exactly their TLVs');
        for (const [tag, code] of r) assert.ok(tag > 0 && code > 0);
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
    assert.ok(accepted > 500 && refused > 500, `both kinds met: ${accepted} accepted, ${refused} refused`);
  });

  it('PIN pad answers: any bytes give an outcome (2 bytes) or PIN_PAD_ANSWER_INVALID; verified only for 9000', () => {
    const p = new Prng(SEED ^ 0x55);
    for (let i = 0; i < 5000 * FUZZ_ROUNDS; i++) {
      const input = p.bytes(p.bool(0.7) ? 2 : p.int(5));
      const r = attempt(
        'readPinPadAnswer',
        () => toHex(input),
        () => readPinPadAnswer(input),
      );
      if (r instanceof DecodeError) {
        assert.equal(r.code, 'PIN_PAD_ANSWER_INVALID');
        assert.notEqual(input.length, 2);
        continue;
      }
      assert.equal(input.length, 2);
      if (r.result === 'verified') assert.equal(toHex(input), '9000');
      if (r.result === 'wrong') assert.ok(r.triesLeft >= 0 && r.triesLeft <= 15);
    }
  });
});
