import assert from 'node:assert/strict';
import { DecodeError, EncodeError } from '../../protocol/errors.js';
import {
  MapReader,
  asBytes,
  asMap,
  asUint,
  buildMap,
  decodeCanonical,
  encodeCanonical,
  utf8Length,
  CborTagged,
  type CborKey,
  type CborValue,
} from '../../protocol/cbor/index.js';

const map = (...entries: [CborKey, CborValue][]): Map<CborKey, CborValue> => new Map(entries);

function schemaError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DecodeError, String(e));
    assert.equal(e.code, 'CBOR_SCHEMA');
    assert.match(e.message, pattern);
    assert.ok(e.hint.length > 0, 'e.hint.length > 0');
    return true;
  });
}

const NAMES = { 1: 'amount', 2: 'currency', 3: 'nonce', 4: 'memo', 5: 'flags', 6: 'lines', 7: 'meta', 8: 'big' };

describe('cbor: MapReader', () => {
  const msg = map(
    [1, 1250],
    [2, 156],
    [3, new Uint8Array(16)],
    [4, '咖啡'],
    [5, true],
    [6, [1, 2, 3]],
    [7, map(['v', 1])],
    [8, 2n ** 60n],
  );

  it('reads every field type of a valid message', () => {
    const r = new MapReader(decodeCanonical(encodeCanonical(msg)), 'SIGN_TXN request', { names: NAMES });
    assert.equal(r.uint(1, { max: 99_999_999 }), 1250);
    assert.equal(r.oneOf(2, [156, 978, 840] as const), 156);
    assert.equal(r.bytes(3, { length: 16 }).length, 16);
    assert.equal(r.text(4, { maxLength: 6 }), '咖啡');
    assert.equal(r.bool(5), true);
    assert.deepStrictEqual(
      r.arrayOf(6, (v, what) => asUint(v, what, { max: 9 }), { maxLength: 3 }),
      [1, 2, 3],
    );
    const meta = r.map(7);
    assert.equal(meta.int('v'), 1);
    meta.done();
    assert.equal(r.uint64(8), 2n ** 60n);
    assert.equal(r.opt.uint(9), undefined);
    assert.equal(r.opt.text(10), undefined);
    r.done();
  });

  it('names the message, the field and what was wrong', () => {
    const r = new MapReader(msg, 'SIGN_TXN request', { names: NAMES });
    schemaError(
      () => r.text(1),
      /^SIGN_TXN request: field 1 \(amount\) must be a text string; got the unsigned integer 1250$/,
    );
    schemaError(
      () => r.bytes(3, { length: 32 }),
      /field 3 \(nonce\) must be a byte string of exactly 32 bytes; got 16 bytes/,
    );
    schemaError(() => r.bytes(3, { maxLength: 8 }), /at most 8 bytes/);
    schemaError(() => r.bytes(3, { minLength: 20 }), /at least 20 bytes/);
    schemaError(() => r.text(4, { maxLength: 5 }), /at most 5 UTF-8 bytes; got 6 UTF-8 bytes/);
    schemaError(() => r.text(4, { pattern: /^[A-Z]+$/ }), /must match/);
    schemaError(() => r.uint(1, { max: 1000 }), /field 1 \(amount\) must be at most 1000; got 1250/);
    schemaError(() => r.uint(1, { min: 2000 }), /must be at least 2000/);
    schemaError(() => r.uint(99), /SIGN_TXN request: field 99 is required but missing/);
    schemaError(() => r.oneOf(2, [978, 840]), /must be one of 978, 840; got the unsigned integer 156/);
    schemaError(() => r.bool(1), /must be true or false/);
    schemaError(() => r.map(6), /field 6 \(lines\) must be a map; got an array of 3 elements/);
    schemaError(() => r.array(7), /must be an array; got a map of 1 entry/);
    schemaError(() => r.array(6, { length: 2 }), /exactly 2 elements/);
    schemaError(
      () => r.arrayOf(6, (v, what) => asUint(v, what, { max: 2 })),
      /field 6 \(lines\)\[2\] must be at most 2; got 3/,
    );
    schemaError(() => r.uint(8), /must be an unsigned integer of at most 2\^53−1; got 1152921504606846976/);
    schemaError(() => r.map(7).text('v'), /SIGN_TXN request: field 7 \(meta\): field "v" must be a text string/);
  });

  it('distinguishes integer kinds', () => {
    const r = new MapReader(map([1, -5], [2, 1.5], [3, -(2n ** 60n)], [4, 0]), 'm');
    schemaError(() => r.uint(1), /must be an unsigned integer; got the negative integer -5/);
    assert.equal(r.int(1, { min: -10 }), -5);
    schemaError(() => r.int(1, { min: 0 }), /at least 0/);
    schemaError(() => r.int(2), /must be an integer; got the float 1.5/);
    schemaError(() => r.int(3), /magnitude at most 2\^53−1/);
    schemaError(() => r.uint64(1), /unsigned 64-bit integer/);
    assert.equal(r.uint64(4), 0n);
    const neg0 = new MapReader(map([1, -0]), 'm');
    schemaError(() => neg0.uint(1), /got the float -0.0/);
  });

  it('rejects unknown fields on done() unless allowed', () => {
    const r = new MapReader(map([1, 1], [2, 2], ['x', 3]), 'GET_INFO response');
    r.uint(1);
    assert.deepStrictEqual(r.unread(), [2, 'x']);
    schemaError(() => r.done(), /^GET_INFO response: has unknown fields 2, "x"$/);
    assert.doesNotThrow(() => r.done({ allowUnknown: true }));
    r.value(2);
    r.opt.value('x');
    assert.doesNotThrow(() => r.done());
  });

  it('counts fields read through opt.* as read', () => {
    const r = new MapReader(map([1, 'a']), 'm');
    assert.equal(r.opt.text(1), 'a');
    r.done();
  });

  it('validates optional fields when present', () => {
    const r = new MapReader(map([4, 5]), 'm', { names: { 4: 'memo' } });
    schemaError(() => r.opt.text(4), /field 4 \(memo\) must be a text string/);
    assert.equal(r.opt.bytes(5), undefined);
    assert.equal(r.opt.map(5), undefined);
    assert.equal(r.opt.arrayOf(5, asUint), undefined);
  });

  it('rejects non-map messages', () => {
    schemaError(
      () => new MapReader([1], 'VERIFY_PIN request'),
      /^VERIFY_PIN request must be a map; got an array of 1 element$/,
    );
    schemaError(() => asMap(null, 'x'), /must be a map; got null/);
    schemaError(() => asMap(new CborTagged(1, 0), 'x'), /got tag 1/);
    schemaError(() => asBytes('ab', 'x'), /must be a byte string; got a text string of 2 bytes/);
  });

  it('reads text length in UTF-8 bytes, as on the wire', () => {
    assert.equal(utf8Length('aé水😀'), 1 + 2 + 3 + 4);
    assert.equal(utf8Length(''), 0);
  });
});

describe('cbor: buildMap', () => {
  it('omits undefined values (optional fields) and rejects duplicate keys', () => {
    const m = buildMap([
      [1, 5],
      [2, undefined],
      [3, 'x'],
    ]);
    assert.deepStrictEqual([...m.keys()], [1, 3]);
    assert.throws(
      () =>
        buildMap([
          [1, 1],
          [1, 2],
        ]),
      (e: unknown) => e instanceof EncodeError && e.code === 'CBOR_DUPLICATE_KEY',
    );
    assert.throws(
      () =>
        buildMap([
          [1, undefined],
          [1, 2],
        ]),
      (e: unknown) => e instanceof EncodeError,
    );
  });
});
