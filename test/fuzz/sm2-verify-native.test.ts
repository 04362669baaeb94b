import assert from 'node:assert/strict';
import { toHex } from '../../protocol/bytes.js';
import { createJsBackend } from '../../protocol/crypto/sm2-js.js';
import { loadNativeBackend } from '../../protocol/crypto/sm2-native.js';
import { SM2_CURVE, computeZa } from '../../protocol/crypto/sm2-core.js';
import { createSm2Api } from '../../protocol/crypto/sm2-api.js';
import { sm3Concat } from '../../protocol/crypto/sm3.js';
import { DecodeError } from '../../protocol/errors.js';
import { bigIntToBytes, bytesToBigInt } from '../../protocol/crypto/random.js';
import type { Sm2Backend, Sm2KeyHandle } from '../../protocol/crypto/sm2-backend.js';
import { Prng } from '../support/prng.js';

/**
 * Differential fuzzing of the native SM2 verification (protocol/crypto/native/ec_verify_sm2.c: the
 * variable-time wNAF/Shamir path, and the per-key-table path) against the pure-JS backend
 * (@noble/curves), which shares no code with it. Seeded: a failure prints the seed and the case.
 *  - valid signatures from random keys, verified with and without the key's table;
 *  - the same signatures mutated (one bit of r, s or e flipped, r or s replaced by an edge value);
 *  - signatures built for chosen scalars (s, t = r + s) at the edges of the wNAF recoding, the
 *    comb digits and the group order, including P = G and small multiples of G, whose additions
 *    hit the doubling and cancelling branches of the Jacobian formulas;
 *  - s*G + t*P itself (the mulAdd hook) for edge and random s, t, for P = kG with the sum or a
 *    partial sum at the identity or a doubling, and for scalars whose recoding crosses limbs.
 * FUZZ_SEED changes the seed; FUZZ_ROUNDS multiplies the number of random cases.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_5a2f);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1);
const N = SM2_CURVE.params.n;
const P = SM2_CURVE.params.p;
const G = SM2_CURVE.Point.BASE;

const js = createJsBackend(SM2_CURVE);
const loaded = loadNativeBackend();

const b32 = (x: bigint): Uint8Array => bigIntToBytes(((x % (1n << 256n)) + (1n << 256n)) % (1n << 256n), 32);
const mod = (x: bigint, m: bigint): bigint => ((x % m) + m) % m;
const sigOf = (r: bigint, s: bigint): Uint8Array => new Uint8Array([...b32(r), ...b32(s)]);

/** Scalars where recodings carry, digits saturate or the group order wraps. */
const EDGE_SCALARS: bigint[] = [
  1n,
  2n,
  3n,
  7n,
  8n,
  15n,
  16n,
  17n,
  255n,
  511n,
  512n,
  N - 1n,
  N - 2n,
  N - 8n,
  N - 16n,
  N - 511n,
  (N - 1n) / 2n,
  (N + 1n) / 2n,
  1n << 128n,
  (1n << 255n) - 1n,
  1n << 255n,
  BigInt(`0x${'88'.repeat(32)}`) % N,
  BigInt(`0x${'f'.repeat(60)}`),
  BigInt(`0x${'5'.repeat(64)}`) % N,
];

interface Key {
  pub: Uint8Array;
  native: Sm2KeyHandle;
  nativeTabled: Sm2KeyHandle;
  js: Sm2KeyHandle;
}

function importKey(native: Sm2Backend, pub: Uint8Array): Key {
  const n1 = native.importPublicKey(pub);
  const n2 = native.importPublicKey(pub);
  const j = js.importPublicKey(pub);
  assert.ok(n1 && n2 && j, `key ${toHex(pub)} refused`);
  native.precompute(n2);
  return { pub, native: n1, nativeTabled: n2, js: j };
}

/** native without and with the table must both agree with JS; returns the common answer */
function agree(native: Sm2Backend, k: Key, e: Uint8Array, sig: Uint8Array, what: string): boolean {
  const want = js.verifyDigest(k.js, e, sig);
  const got = native.verifyDigest(k.native, e, sig);
  const gotTabled = native.verifyDigest(k.nativeTabled, e, sig);
  const gotFresh = native.verifyFresh!(k.pub, null, e, sig);
  const info = `${what} (seed ${SEED}) key ${toHex(k.pub)} e ${toHex(e)} sig ${toHex(sig)}`;
  assert.equal(got, want, `native (new key) != JS: ${info}`);
  assert.equal(gotFresh, want ? 1 : 0, `native (one-call verifyFresh) != JS: ${info}`);
  assert.equal(gotTabled, want, `native (table) != JS: ${info}`);
  return want;
}

/** A signature (r, s) valid for the digest it returns, with s*G + t*P for the chosen s and t. */
function craft(pubPoint: typeof G, s: bigint, t: bigint): { e: Uint8Array; sig: Uint8Array } | null {
  const R = G.multiply(s).add(pubPoint.multiply(t));
  if (R.is0()) return null;
  const r = mod(t - s, N);
  if (r === 0n) return null;
  const e = mod(r - mod(R.toAffine().x, N), N);
  return { e: b32(e), sig: sigOf(r, s) };
}

describe('SM2 native verification against the JS backend (differential fuzz)', function () {
  this.timeout(300_000);
  let native: Sm2Backend;
  before(function () {
    if (typeof loaded === 'string') this.skip(); // no addon: nothing native to compare
    native = loaded as Sm2Backend;
  });

  it(`random keys and messages: valid signatures accepted, ${60 * ROUNDS} keys x 4 mutations rejected alike`, () => {
    const rng = new Prng(SEED);
    let accepted = 0;
    for (let i = 0; i < 60 * ROUNDS; i++) {
      const d = mod(bytesToBigInt(rng.bytes(32)), N - 2n) + 1n;
      const pub = js.publicFromPrivate(b32(d));
      const k = importKey(native, pub);
      const e = rng.bytes(32);
      const sig = js.signDigest(b32(d), e);
      if (agree(native, k, e, sig, 'valid')) accepted++;
      for (let m = 0; m < 4; m++) {
        const bad = Uint8Array.from(sig);
        const badE = Uint8Array.from(e);
        const bit = rng.int(256);
        if (m === 3) badE[bit >> 3]! ^= 1 << (bit & 7);
        else bad[(m === 0 ? 0 : 32) + (bit >> 3)]! ^= 1 << (bit & 7);
        if (m === 2) bad[rng.int(64)]! ^= 1 << rng.int(8); // a second flip anywhere
        assert.equal(agree(native, k, badE, bad, `mutation ${m}`), false);
      }
    }
    assert.equal(accepted, 60 * ROUNDS);
  });

  it('r and s at and beyond the range limits, r + s = n: rejected like the JS backend', () => {
    const rng = new Prng(SEED + 1);
    const d = 0x1234567n;
    const k = importKey(native, js.publicFromPrivate(b32(d)));
    const e = rng.bytes(32);
    const good = js.signDigest(b32(d), e);
    const r = bytesToBigInt(good.subarray(0, 32));
    const s = bytesToBigInt(good.subarray(32));
    assert.equal(agree(native, k, e, good, 'the unmodified signature'), true);
    const limits = [0n, 1n, N - 1n, N, N + 1n, P, (1n << 256n) - 1n];
    for (const x of limits) {
      assert.equal(agree(native, k, e, sigOf(x, s), `r = ${x.toString(16)}`), false);
      assert.equal(agree(native, k, e, sigOf(r, x), `s = ${x.toString(16)}`), false);
    }
    assert.equal(agree(native, k, e, sigOf(r, N - r), 'r + s = n'), false);
    assert.equal(agree(native, k, e, sigOf(r + N, s), 'r + n'), false);
  });

  it('signatures crafted for edge scalars s and t = r + s, for random keys, P = G and P = 2G, 3G, -G', () => {
    const rng = new Prng(SEED + 2);
    const keys: bigint[] = [1n, 2n, 3n, N - 1n];
    for (let i = 0; i < 2 * ROUNDS; i++) keys.push(mod(bytesToBigInt(rng.bytes(32)), N - 2n) + 1n);
    let checked = 0;
    for (const d of keys) {
      const point = G.multiply(d);
      const k = importKey(native, point.toBytes(false));
      const scalars = [...EDGE_SCALARS, mod(bytesToBigInt(rng.bytes(32)), N)];
      for (const s of scalars) {
        for (const t of [...EDGE_SCALARS.slice(0, 8), mod(N - s, N), s, mod(bytesToBigInt(rng.bytes(32)), N)]) {
          if (s === 0n || t === 0n) continue;
          const c = craft(point, s, t);
          if (c === null) continue; // identity or r = 0: no valid signature with these scalars
          assert.equal(
            agree(native, k, c.e, c.sig, `crafted d=${d.toString(16)} s=${s.toString(16)} t=${t.toString(16)}`),
            true,
          );
          checked++;
        }
      }
    }
    assert.ok(checked > 800, `only ${checked} crafted signatures`);
  });

  it('s*G + t*P (mulAdd) equals the JS backend for edge and random scalars, with and without the table', () => {
    const rng = new Prng(SEED + 3);
    const edge = [0n, ...EDGE_SCALARS, N, N + 1n, (1n << 256n) - 1n, (1n << 256n) - 512n];
    const keys = [1n, 2n, N - 1n, mod(bytesToBigInt(rng.bytes(32)), N - 2n) + 1n];
    for (const d of keys) {
      const k = importKey(native, G.multiply(d).toBytes(false));
      const pairs: [bigint, bigint][] = [];
      for (const s of edge) for (const t of [0n, 1n, 3n, N - 1n, N - s, s, (1n << 256n) - 1n]) pairs.push([s, t]);
      for (let i = 0; i < 30 * ROUNDS; i++) pairs.push([bytesToBigInt(rng.bytes(32)), bytesToBigInt(rng.bytes(32))]);
      for (const [s, t] of pairs) {
        const want = js.mulAdd(b32(s), k.js, b32(t));
        const info = `d=${d.toString(16)} s=${s.toString(16)} t=${t.toString(16)}`;
        const hex = (x: Uint8Array | null): string => (x === null ? 'INF' : toHex(x));
        assert.equal(hex(native.mulAdd(b32(s), k.native, b32(t))), hex(want), `new key: ${info}`);
        assert.equal(hex(native.mulAdd(b32(s), k.nativeTabled, b32(t))), hex(want), `table: ${info}`);
      }
    }
  });

  it('s*G + t*P for P = kG where the sum or a partial sum is the identity or a doubling (t*P = -s*G, s + t k = n)', () => {
    const rng = new Prng(SEED + 6);
    // small k: the odd multiples of P (w = 6, co-Z built) coincide with multiples of G in the
    // generator's table (w = 12), so the chain meets P + P, P - P and the identity mid-way
    const ks = [1n, 2n, 3n, 5n, 31n, 33n, 2047n, N - 1n, N - 2n, N - 31n, N - 2049n];
    const ts = [1n, 2n, 3n, 15n, 16n, 31n, 32n, 33n, 63n, 64n, 511n, 513n, 2047n, 2048n, 2049n, 4095n, 4097n, N - 1n];
    ts.push(mod(bytesToBigInt(rng.bytes(32)), N));
    let identities = 0;
    for (const k of ks) {
      const key = importKey(native, G.multiply(k).toBytes(false));
      for (const t of ts) {
        const tk = mod(t * k, N);
        // -t k: the sum is the identity; t k: both halves equal; the rest one step either side
        for (const s of [mod(-tk, N), tk, mod(tk + 1n, N), mod(-tk - 1n, N), mod(-tk + 1n, N), t, mod(N - t, N)]) {
          const want = js.mulAdd(b32(s), key.js, b32(t));
          if (want === null) identities++;
          const hex = (x: Uint8Array | null): string => (x === null ? 'INF' : toHex(x));
          const info = `k=${k.toString(16)} s=${s.toString(16)} t=${t.toString(16)}`;
          assert.equal(hex(native.mulAdd(b32(s), key.native, b32(t))), hex(want), `new key: ${info}`);
          assert.equal(hex(native.mulAdd(b32(s), key.nativeTabled, b32(t))), hex(want), `table: ${info}`);
        }
      }
    }
    assert.ok(identities >= ks.length * ts.length, `only ${identities} sums were the identity`);
  });

  it('wNAF recoding across limb boundaries: runs of ones and zeros ending at bits 63/64, 127/128, 191/192, 255', () => {
    const rng = new Prng(SEED + 7);
    const scalars: bigint[] = [];
    for (const edge of [64n, 128n, 192n, 256n]) {
      for (const len of [1n, 5n, 6n, 12n, 13n, 40n, 64n]) {
        if (len > edge) continue;
        const ones = ((1n << len) - 1n) << (edge - len); // a run of ones ending at the edge
        scalars.push(ones, ones - 1n, (ones + 1n) % (1n << 256n), ones ^ (1n << (edge - 1n)));
      }
      scalars.push((1n << edge) - 1n, (1n << (edge - 1n)) + 1n, 1n << (edge - 1n));
    }
    scalars.push(BigInt(`0x${'fff0'.repeat(16)}`), BigInt(`0x${'0fff'.repeat(16)}`), BigInt(`0x${'7ff'.repeat(21)}f`));
    const key = importKey(native, G.multiply(mod(bytesToBigInt(rng.bytes(32)), N - 2n) + 1n).toBytes(false));
    const hex = (x: Uint8Array | null): string => (x === null ? 'INF' : toHex(x));
    for (const s of scalars) {
      for (const t of [scalars[(scalars.indexOf(s) * 7) % scalars.length]!, s, 1n]) {
        const want = js.mulAdd(b32(s), key.js, b32(t));
        const info = `s=${s.toString(16)} t=${t.toString(16)}`;
        assert.equal(hex(native.mulAdd(b32(s), key.native, b32(t))), hex(want), `new key: ${info}`);
        assert.equal(hex(native.mulAdd(b32(t), key.native, b32(s))), hex(js.mulAdd(b32(t), key.js, b32(s))), info);
      }
    }
  });

  it('verifyFresh (a key met for the first time): message level, other user ids, keys off the curve', () => {
    const rng = new Prng(SEED + 4);
    for (let i = 0; i < 20 * ROUNDS; i++) {
      const d = b32(mod(bytesToBigInt(rng.bytes(32)), N - 2n) + 1n);
      const pub = js.publicFromPrivate(d);
      // the default id (its Z_A starts from a precomputed SM3 state) and random ones, empty included
      const id = i % 2 === 0 ? new TextEncoder().encode('1234567812345678') : rng.bytes(rng.int(40));
      const msg = rng.bytes(rng.int(300));
      const sig = js.signDigest(d, sm3Concat(computeZa(SM2_CURVE, pub, id), msg));
      assert.equal(native.verifyFresh!(pub, id, msg, sig), 1, `valid, id ${toHex(id)}`);
      const other = Uint8Array.from(msg.length ? msg : [0]);
      other[0]! ^= 1;
      assert.equal(native.verifyFresh!(pub, id, other, sig), 0, `message changed, id ${toHex(id)}`);
      const badKey = Uint8Array.from(pub);
      badKey[64]! ^= 1; // y changed: not on the curve
      assert.equal(native.verifyFresh!(badKey, id, msg, sig), -1);
      assert.equal(native.verifyFresh!(badKey, null, rng.bytes(32), sig), -1);
    }
    assert.throws(() => native.verifyFresh!(new Uint8Array(65), null, new Uint8Array(31), new Uint8Array(64)));
    const g = G.toBytes(false); // a valid key, so the id length is what is refused
    assert.throws(() => native.verifyFresh!(g, new Uint8Array(8192), new Uint8Array(1), new Uint8Array(64)));
    assert.equal(native.verifyFresh!(g, new Uint8Array(8191), new Uint8Array(1), sigOf(1n, 1n)), 0);
  });

  it('the API on new keys: one-call path agrees with the cached path, bad keys throw whatever the signature', () => {
    const api = createSm2Api(native, { maxKeys: 4, maxTables: 1, tableAfterUses: 3, maxSigners: 4 });
    const rng = new Prng(SEED + 5);
    const keys = Array.from({ length: 6 }, () => api.generateKeyPair());
    const msg = rng.bytes(200);
    const sigs = keys.map((k) => api.sign(k.privateKey, msg, { userId: 'ALICE123@YAHOO.COM' }));
    for (let round = 0; round < 4; round++) {
      keys.forEach((k, i) => {
        // first use of a key takes verifyFresh, later ones the handle (and, from the third, the table)
        assert.equal(api.verify(k.publicKey, msg, sigs[i]!, { userId: 'ALICE123@YAHOO.COM' }), true);
        assert.equal(api.verify(k.publicKey, msg, sigs[i]!), false, 'default id');
        assert.equal(api.verify(k.publicKey, msg, sigs[(i + 1) % keys.length]!), false);
        assert.equal(api.verifyDigest(k.publicKey, api.messageDigest(k.publicKey, msg), sigs[i]!), false);
      });
      assert.ok(api.cacheStats().keys <= 4 && api.cacheStats().tables <= 1);
    }
    const bad = Uint8Array.from(keys[0]!.publicKey);
    bad[64]! ^= 1;
    const notOnCurve = (err: unknown): boolean =>
      err instanceof DecodeError && err.code === 'SM2_PUBLIC_KEY_NOT_ON_CURVE';
    assert.throws(() => api.verify(bad, msg, sigs[0]!), notOnCurve);
    assert.throws(() => api.verify(bad, msg, new Uint8Array(70)), notOnCurve, 'signature neither raw nor DER');
    assert.throws(() => api.verifyDigest(bad, new Uint8Array(32), sigs[0]!), notOnCurve);
    const infinity = new Uint8Array(65);
    infinity[0] = 0x04;
    assert.throws(
      () => api.verify(infinity, msg, sigs[0]!),
      (err: unknown) => err instanceof DecodeError && err.code === 'SM2_PUBLIC_KEY_INFINITY',
    );
  });
});
