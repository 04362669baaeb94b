/**
 * SM2 conformance: the SAME suite runs against every available backend (native addon, pure JS),
 * then across backends, against sm-crypto and against OpenSSL (node:crypto), and on the public
 * module API. Arithmetic is cross-checked point by point against @noble/curves, including the
 * scalars that hit the exceptional cases of the native variable-base code.
 */
import { strict as assert } from 'node:assert';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import smCrypto from 'sm-crypto';
import { CryptoError, DecodeError, EncodeError } from '../../protocol/errors.js';
import { toHex } from '../../protocol/bytes.js';
import * as pub from '../../protocol/crypto/index.js';
import { createSm2Api, type Sm2Api } from '../../protocol/crypto/sm2-api.js';
import { availableSm2Backends, activeSm2Backend, nativeSm2Unavailable } from '../../protocol/crypto/sm2-select.js';
import { SM2_CURVE } from '../../protocol/crypto/sm2-core.js';
import { bigIntToBytes, bytesToBigInt } from '../../protocol/crypto/random.js';

const N = SM2_CURVE.params.n;
const P = SM2_CURVE.params.p;
const G = SM2_CURVE.Point.BASE;
const enc = new TextEncoder();

/** Deterministic byte source for test inputs (xorshift32). */
function prng(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

const raw = (r: bigint, s: bigint): Uint8Array => new Uint8Array([...bigIntToBytes(r, 32), ...bigIntToBytes(s, 32)]);
const flip = (b: Uint8Array, i: number, bit = 1): Uint8Array => {
  const c = Uint8Array.from(b);
  c[i]! ^= bit;
  return c;
};
const throwsCode = (fn: () => unknown, type: new (...a: never[]) => Error, code: string): void => {
  assert.throws(fn, (e: unknown) => e instanceof type && (e as { code?: string }).code === code);
};

const backends = availableSm2Backends();

for (const backend of backends) {
  describe(`SM2 conformance [${backend.name}]`, function () {
    this.timeout(60_000);
    const api: Sm2Api = createSm2Api(backend);
    const rnd = prng(0x5eed + backend.name.length);
    const kp = api.generateKeyPair();
    const msg = rnd(200);
    const sig = api.sign(kp.privateKey, msg);

    it('signs and verifies, raw and DER, for messages of many lengths', () => {
      for (const len of [0, 1, 31, 32, 33, 64, 200, 1000, 4096]) {
        const k = api.generateKeyPair();
        const m = rnd(len);
        const s = api.sign(k.privateKey, m);
        assert.equal(s.length, 64);
        assert.equal(api.verify(k.publicKey, m, s), true, `len ${len}`);
        assert.equal(api.verify(k.publicKey, m, pub.sm2SignatureToDer(s)), true, `len ${len} DER`);
      }
    });

    it('key generation gives d in [1, n-2] and the matching public key', () => {
      for (let i = 0; i < 10; i++) {
        const k = api.generateKeyPair();
        const d = bytesToBigInt(k.privateKey);
        assert.ok(d >= 1n && d <= N - 2n, 'd >= 1n && d <= N - 2n');
        assert.equal(toHex(k.publicKey), toHex(G.multiply(d).toBytes(false)));
        assert.deepEqual(api.publicFromPrivate(k.privateKey), k.publicKey);
      }
    });

    it('signatures are randomised (fresh k) but all verify', () => {
      const a = api.sign(kp.privateKey, msg);
      const b = api.sign(kp.privateKey, msg);
      assert.notDeepEqual(a, b);
      assert.ok(api.verify(kp.publicKey, msg, a) && api.verify(kp.publicKey, msg, b));
    });

    it('rejects a tampered message, signature, key or user id', () => {
      for (let i = 0; i < msg.length; i += 37) assert.equal(api.verify(kp.publicKey, flip(msg, i), sig), false);
      for (let i = 0; i < 64; i += 5)
        assert.equal(api.verify(kp.publicKey, msg, flip(sig, i, 1 << (i % 8))), false, `sig byte ${i}`);
      assert.equal(api.verify(api.generateKeyPair().publicKey, msg, sig), false);
      assert.equal(api.verify(kp.publicKey, msg, sig, { userId: '1234567812345679' }), false);
      assert.equal(api.verify(kp.publicKey, msg, sig, { userId: '' }), false);
      assert.equal(api.verify(kp.publicKey, new Uint8Array([...msg, 0]), sig), false);
    });

    it('user ids: strings are UTF-8, bytes are taken as is, empty works, too long is refused', () => {
      for (const id of ['', 'a', 'ALICE123@YAHOO.COM', '卡号-0001', 'x'.repeat(8191)]) {
        const s = api.sign(kp.privateKey, msg, { userId: id });
        assert.equal(api.verify(kp.publicKey, msg, s, { userId: id }), true, `id ${id.slice(0, 20)}`);
        assert.equal(api.verify(kp.publicKey, msg, s, { userId: enc.encode(id) }), true);
        assert.equal(api.verify(kp.publicKey, msg, s), id === '1234567812345678');
      }
      throwsCode(() => api.sign(kp.privateKey, msg, { userId: 'x'.repeat(8192) }), EncodeError, 'SM2_USER_ID_TOO_LONG');
      throwsCode(
        () => api.verify(kp.publicKey, msg, sig, { userId: 5 as unknown as string }),
        EncodeError,
        'SM2_USER_ID_TYPE',
      );
    });

    it('range checks: r or s = 0, >= n, and r + s = n are rejected', () => {
      const r = bytesToBigInt(sig.subarray(0, 32));
      const s = bytesToBigInt(sig.subarray(32));
      for (const [rr, ss] of [
        [0n, s],
        [r, 0n],
        [0n, 0n],
        [N, s],
        [r, N],
        [r + N < 1n << 256n ? r + N : N, s],
        [r, s + N < 1n << 256n ? s + N : N],
        [(1n << 256n) - 1n, s],
        [r, (1n << 256n) - 1n],
        [r, N - r],
        [1n, N - 1n],
      ] as [bigint, bigint][]) {
        assert.equal(api.verify(kp.publicKey, msg, raw(rr, ss)), false, `r=${rr.toString(16)} s=${ss.toString(16)}`);
        assert.equal(api.verifyDigest(kp.publicKey, api.messageDigest(kp.publicKey, msg), raw(rr, ss)), false);
      }
    });

    it('malformed signatures make verify return false, never throw', () => {
      for (const bad of [
        new Uint8Array(0),
        new Uint8Array(63),
        new Uint8Array(65),
        rnd(70),
        rnd(72),
        Uint8Array.of(0x30, 0),
        Uint8Array.of(0x30, 0x80, 0, 0),
        flip(pub.sm2SignatureToDer(sig), 0, 0x01),
        new Uint8Array([...pub.sm2SignatureToDer(sig), 0]),
      ]) {
        assert.equal(api.verify(kp.publicKey, msg, bad), false);
      }
      throwsCode(() => api.verify(kp.publicKey, msg, 'abc' as unknown as Uint8Array), EncodeError, 'SM2_ARGUMENT');
    });

    it('malformed public keys throw DecodeError with a precise code, also from verify', () => {
      const good = kp.publicKey;
      const cases: [Uint8Array, string][] = [
        [good.subarray(0, 64), 'SM2_PUBLIC_KEY_LENGTH'],
        [new Uint8Array([...good, 0]), 'SM2_PUBLIC_KEY_LENGTH'],
        [Uint8Array.of(2 + (good[64]! & 1), ...good.subarray(1, 33)), 'SM2_PUBLIC_KEY_LENGTH'], // compressed
        [new Uint8Array(0), 'SM2_PUBLIC_KEY_LENGTH'],
        [Uint8Array.of(0), 'SM2_PUBLIC_KEY_INFINITY'],
        [new Uint8Array([4, ...new Uint8Array(64)]), 'SM2_PUBLIC_KEY_INFINITY'],
        [new Uint8Array([5, ...good.subarray(1)]), 'SM2_PUBLIC_KEY_FORMAT'],
        [new Uint8Array([6, ...good.subarray(1)]), 'SM2_PUBLIC_KEY_FORMAT'], // hybrid
        [flip(good, 64), 'SM2_PUBLIC_KEY_NOT_ON_CURVE'],
        [flip(good, 1), 'SM2_PUBLIC_KEY_NOT_ON_CURVE'],
        [new Uint8Array([4, ...bigIntToBytes(P, 32), ...good.subarray(33)]), 'SM2_PUBLIC_KEY_NOT_ON_CURVE'],
        // x and y replaced by x + p, y (same point mod p, non-canonical) cannot be expressed in 32 bytes for
        // this curve, but y + p can when y < 2^256 - p: use G's y if it fits
        [new Uint8Array([4, ...good.subarray(1, 33), ...new Uint8Array(32).fill(0xff)]), 'SM2_PUBLIC_KEY_NOT_ON_CURVE'],
      ];
      for (const [key, code] of cases) {
        throwsCode(() => api.validatePublicKey(key), DecodeError, code);
        throwsCode(() => api.verify(key, msg, sig), DecodeError, code);
        throwsCode(() => api.verifyDigest(key, new Uint8Array(32), sig), DecodeError, code);
      }
      throwsCode(() => api.validatePublicKey('04' as unknown as Uint8Array), DecodeError, 'SM2_PUBLIC_KEY_TYPE');
    });

    it('coordinates >= p are rejected even when they are congruent to a valid point', () => {
      // a point with a small x, so that x + p still fits in 32 bytes
      for (let x = 0n; x < 200n; x++) {
        const rhs = (((x * x * x - 3n * x + SM2_CURVE.params.b) % P) + P) % P;
        const y = bigIntPowMod(rhs, (P + 1n) / 4n, P); // p = 3 mod 4
        if ((y * y) % P !== rhs) continue;
        const canonical = new Uint8Array([4, ...bigIntToBytes(x, 32), ...bigIntToBytes(y, 32)]);
        api.validatePublicKey(canonical);
        const alias = new Uint8Array([4, ...bigIntToBytes(x + P, 32), ...bigIntToBytes(y, 32)]);
        throwsCode(() => api.validatePublicKey(alias), DecodeError, 'SM2_PUBLIC_KEY_NOT_ON_CURVE');
        return;
      }
      assert.fail('no point with a small x found');
    });

    it('invalid private keys and nonces are EncodeErrors', () => {
      for (const d of [0n, N - 1n, N, (1n << 256n) - 1n]) {
        throwsCode(() => api.sign(bigIntToBytes(d, 32), msg), EncodeError, 'SM2_PRIVATE_KEY_INVALID');
        throwsCode(() => api.publicFromPrivate(bigIntToBytes(d, 32)), EncodeError, 'SM2_PRIVATE_KEY_INVALID');
      }
      throwsCode(() => api.sign(new Uint8Array(31).fill(1), msg), EncodeError, 'SM2_PRIVATE_KEY_INVALID');
      for (const k of [0n, N, -1n])
        throwsCode(() => api.sign(kp.privateKey, msg, { testK: k }), EncodeError, 'SM2_TEST_K_INVALID');
      throwsCode(() => api.signDigest(kp.privateKey, new Uint8Array(31)), EncodeError, 'SM2_ARGUMENT');
      throwsCode(() => api.verifyDigest(kp.publicKey, new Uint8Array(33), sig), EncodeError, 'SM2_ARGUMENT');
    });

    it('edge private keys d = 1 and d = n-2 sign and verify', () => {
      for (const d of [1n, 2n, N - 2n, N - 3n]) {
        const priv = bigIntToBytes(d, 32);
        const pk = api.publicFromPrivate(priv);
        assert.equal(toHex(pk), toHex(G.multiply(d).toBytes(false)));
        assert.equal(api.verify(pk, msg, api.sign(priv, msg)), true);
      }
    });

    it('a fixed test nonce is deterministic and gives the textbook s', () => {
      const k = 0x1234567890abcdefn;
      const a = api.sign(kp.privateKey, msg, { testK: k });
      assert.deepEqual(api.sign(kp.privateKey, msg, { testK: k }), a);
      const d = bytesToBigInt(kp.privateKey);
      const e = bytesToBigInt(api.messageDigest(kp.publicKey, msg));
      const r = (e + G.multiply(k).toAffine().x) % N;
      const dInv = bigIntPowMod(d + 1n, N - 2n, N);
      const s = (((dInv * ((k - r * d) % N)) % N) + N) % N;
      assert.equal(toHex(a), toHex(raw(r, s)));
    });

    it('s*G + t*P matches @noble/curves, incl. the exceptional scalars of the native code', () => {
      const k = api.generateKeyPair();
      const Pt = SM2_CURVE.Point.fromBytes(k.publicKey);
      const check = (s: bigint, t: bigint): void => {
        const want = G.multiplyUnsafe(s % N).add(Pt.multiplyUnsafe(t % N));
        const got = api.mulAdd(bigIntToBytes(s, 32), k.publicKey, bigIntToBytes(t, 32));
        assert.equal(
          got === null ? null : toHex(got),
          want.is0() ? null : toHex(want.toBytes(false)),
          `s=${s.toString(16)} t=${t.toString(16)}`,
        );
      };
      const edge: bigint[] = [0n, 1n, 2n, 8n, 9n, 15n, 16n, 17n, N - 1n, N, N + 1n, (1n << 256n) - 1n, 1n << 255n];
      for (let dt = -40n; dt <= 40n; dt++) edge.push(N + dt); // t = n - 6 doubles inside the native chain, t = n cancels
      for (const t of edge) check(7n, t);
      for (const s of edge) check(s, 3n);
      const r = prng(99);
      for (let i = 0; i < 40; i++) check(bytesToBigInt(r(32)), bytesToBigInt(r(32)));
      // s*G = -t*P: identity; s*G = t*P: the final addition doubles
      const d = bytesToBigInt(k.privateKey);
      check((N - ((5n * d) % N)) % N, 5n);
      check((5n * d) % N, 5n);
      // again with the per-key table built
      for (let i = 0; i < 4; i++) api.verify(k.publicKey, msg, sig);
      for (const t of edge) check(7n, t);
      check((N - ((5n * d) % N)) % N, 5n);
      check((5n * d) % N, 5n);
      for (let i = 0; i < 20; i++) check(bytesToBigInt(r(32)), bytesToBigInt(r(32)));
    });

    it('builds a per-key table after the third verification and keeps results identical', () => {
      const local = createSm2Api(backend, { maxKeys: 8, maxTables: 2, tableAfterUses: 3, maxSigners: 4 });
      const keys = Array.from({ length: 12 }, () => local.generateKeyPair());
      const sigs = keys.map((k) => local.sign(k.privateKey, msg));
      assert.equal(local.cacheStats().tables, 0);
      for (let round = 0; round < 5; round++) {
        keys.forEach((k, i) => {
          assert.equal(local.verify(k.publicKey, msg, sigs[i]!), true);
          assert.equal(local.verify(k.publicKey, msg, sigs[(i + 1) % keys.length]!), false);
        });
        const st = local.cacheStats();
        assert.ok(st.keys <= 8 && st.tables <= 2 && st.signers <= 4, JSON.stringify(st));
      }
      const one = createSm2Api(backend);
      for (let i = 1; i <= 4; i++) {
        assert.equal(one.verify(kp.publicKey, msg, sig), true);
        assert.equal(one.cacheStats().tables, i >= 3 ? 1 : 0);
      }
    });

    it('Z_A and e follow the definition', () => {
      const id = enc.encode('1234567812345678');
      const zPre = new Uint8Array([0, id.length * 8, ...id, ...SM2_CURVE.zaCurveBytes, ...kp.publicKey.subarray(1)]);
      assert.deepEqual(api.za(kp.publicKey), pub.sm3(zPre));
      assert.deepEqual(api.messageDigest(kp.publicKey, msg), pub.sm3(new Uint8Array([...pub.sm3(zPre), ...msg])));
      assert.equal(api.verifyDigest(kp.publicKey, api.messageDigest(kp.publicKey, msg), sig), true);
      assert.deepEqual(
        api.verify(kp.publicKey, msg, api.signDigest(kp.privateKey, api.messageDigest(kp.publicKey, msg))),
        true,
      );
    });
  });
}

describe('SM2 across implementations', function () {
  this.timeout(60_000);
  const apis = backends.map((b) => createSm2Api(b));
  const rnd = prng(42);

  it("every backend verifies every other backend's signatures", () => {
    for (const signer of apis) {
      for (let i = 0; i < 5; i++) {
        const k = signer.generateKeyPair();
        const m = rnd(200);
        const s = signer.sign(k.privateKey, m, { userId: i % 2 ? 'card-7' : undefined });
        for (const verifier of apis) {
          assert.equal(
            verifier.verify(k.publicKey, m, s, { userId: i % 2 ? 'card-7' : undefined }),
            true,
            `${signer.backend} -> ${verifier.backend}`,
          );
        }
      }
    }
  });

  it('sm-crypto signatures (default id, hash: true) verify here, raw and DER', () => {
    for (let i = 0; i < 5; i++) {
      const k = smCrypto.sm2.generateKeyPairHex();
      const m = Array.from(rnd(200));
      const s = smCrypto.sm2.doSignature(m, k.privateKey, { hash: true });
      const sDer = smCrypto.sm2.doSignature(m, k.privateKey, { hash: true, der: true });
      for (const api of apis) {
        const pk = Buffer.from(k.publicKey, 'hex');
        assert.equal(api.verify(pk, Uint8Array.from(m), Buffer.from(s, 'hex')), true);
        assert.equal(api.verify(pk, Uint8Array.from(m), Buffer.from(sDer, 'hex')), true);
        assert.deepEqual(
          api.publicFromPrivate(Buffer.from(k.privateKey.padStart(64, '0'), 'hex')),
          Uint8Array.from(pk),
        );
      }
    }
  });

  it('our signatures verify in sm-crypto, raw and DER', () => {
    for (const api of apis) {
      for (let i = 0; i < 3; i++) {
        const k = api.generateKeyPair();
        const m = rnd(200);
        const s = api.sign(k.privateKey, m);
        assert.ok(smCrypto.sm2.doVerifySignature(Array.from(m), toHex(s), toHex(k.publicKey), { hash: true }));
        assert.ok(
          smCrypto.sm2.doVerifySignature(Array.from(m), toHex(pub.sm2SignatureToDer(s)), toHex(k.publicKey), {
            hash: true,
            der: true,
          }),
        );
      }
    }
  });

  it('OpenSSL (node:crypto, which uses an empty user id) interoperates with userId ""', () => {
    for (const api of apis) {
      const k = api.generateKeyPair();
      const keyObj = crypto.createPublicKey({
        key: Buffer.from(pub.sm2PublicKeyToSpki(k.publicKey)),
        format: 'der',
        type: 'spki',
      });
      const privObj = crypto.createPrivateKey({
        key: Buffer.from(pub.sm2PrivateKeyToPkcs8(k.privateKey)),
        format: 'der',
        type: 'pkcs8',
      });
      const m = rnd(200);
      const ours = api.sign(k.privateKey, m, { userId: '' });
      assert.ok(crypto.verify('sm3', m, keyObj, Buffer.from(pub.sm2SignatureToDer(ours))));
      assert.ok(!crypto.verify('sm3', m, keyObj, Buffer.from(pub.sm2SignatureToDer(api.sign(k.privateKey, m)))));
      const theirs = crypto.sign('sm3', m, privObj);
      assert.equal(api.verify(k.publicKey, m, theirs, { userId: '' }), true);
      assert.equal(api.verify(k.publicKey, m, theirs), false);
    }
  });
});

describe('SM2 key encodings', () => {
  const kp = pub.sm2GenerateKeyPair();

  it('SPKI round-trips and matches OpenSSL byte for byte', () => {
    const spki = pub.sm2PublicKeyToSpki(kp.publicKey);
    assert.deepEqual(pub.sm2PublicKeyFromSpki(spki), kp.publicKey);
    const viaOpenssl = crypto
      .createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
      .export({ type: 'spki', format: 'der' });
    assert.equal(toHex(viaOpenssl), toHex(spki));
    assert.ok(toHex(spki).includes('06082a811ccf5501822d'), 'OID 1.2.156.10197.1.301');
    assert.ok(toHex(spki).includes('06072a8648ce3d0201'), 'id-ecPublicKey');
  });

  it('PKCS#8 round-trips and matches OpenSSL byte for byte', () => {
    const der = pub.sm2PrivateKeyToPkcs8(kp.privateKey);
    assert.deepEqual(pub.sm2PrivateKeyFromPkcs8(der), kp);
    const o = crypto.createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    assert.equal(toHex(o.export({ type: 'pkcs8', format: 'der' })), toHex(der));
    // and keys made by OpenSSL import here
    const gen = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const imported = pub.sm2PrivateKeyFromPkcs8(gen.privateKey.export({ type: 'pkcs8', format: 'der' }));
    assert.deepEqual(
      imported.publicKey,
      pub.sm2PublicKeyFromSpki(gen.publicKey.export({ type: 'spki', format: 'der' })),
    );
  });

  it('rejects SPKI for another curve or with explicit parameters', () => {
    const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    throwsCode(
      () => pub.sm2PublicKeyFromSpki(p256.publicKey.export({ type: 'spki', format: 'der' })),
      DecodeError,
      'SM2_SPKI_INVALID',
    );
    const explicit = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2', paramEncoding: 'explicit' });
    throwsCode(
      () => pub.sm2PublicKeyFromSpki(explicit.publicKey.export({ type: 'spki', format: 'der' })),
      DecodeError,
      'SM2_SPKI_INVALID',
    );
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    throwsCode(
      () => pub.sm2PublicKeyFromSpki(rsa.publicKey.export({ type: 'spki', format: 'der' })),
      DecodeError,
      'SM2_SPKI_INVALID',
    );
    // well-formed SPKI carrying a point that is not on the curve
    const spki = pub.sm2PublicKeyToSpki(kp.publicKey);
    spki[spki.length - 1]! ^= 1;
    throwsCode(() => pub.sm2PublicKeyFromSpki(spki), DecodeError, 'SM2_PUBLIC_KEY_NOT_ON_CURVE');
  });

  it('rejects PKCS#8 with a mismatched public key, a key out of range or another curve', () => {
    const other = pub.sm2GenerateKeyPair();
    const der = pub.sm2PrivateKeyToPkcs8(kp.privateKey);
    const swapped = Buffer.from(toHex(der).replace(toHex(kp.publicKey), toHex(other.publicKey)), 'hex');
    throwsCode(() => pub.sm2PrivateKeyFromPkcs8(swapped), DecodeError, 'SM2_PKCS8_INVALID');
    for (const d of [0n, N - 1n, N]) {
      const bad = Buffer.from(toHex(der).replace(toHex(kp.privateKey), toHex(bigIntToBytes(d, 32))), 'hex');
      throwsCode(() => pub.sm2PrivateKeyFromPkcs8(bad), DecodeError, 'SM2_PKCS8_INVALID');
    }
    const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    throwsCode(
      () => pub.sm2PrivateKeyFromPkcs8(p256.privateKey.export({ type: 'pkcs8', format: 'der' })),
      DecodeError,
      'SM2_PKCS8_INVALID',
    );
    throwsCode(() => pub.sm2PrivateKeyToPkcs8(new Uint8Array(32)), EncodeError, 'SM2_PRIVATE_KEY_INVALID');
  });

  it('DER signatures: round trip for every length of r and s, strict rejection of junk', () => {
    const r = prng(7);
    for (let i = 0; i < 300; i++) {
      const sig = r(64);
      // leading zero bytes and high bits in both halves
      if (i % 3 === 0) sig.fill(0, 0, i % 33);
      if (i % 5 === 0) sig.fill(0, 32, 32 + (i % 33));
      if (i % 7 === 0) sig[0]! |= 0x80;
      const der = pub.sm2SignatureToDer(sig);
      assert.deepEqual(pub.sm2SignatureFromDer(der), sig);
    }
    const good = pub.sm2SignatureToDer(raw(0x80n, 0x7fn)); // 30 07 02 02 00 80 02 01 7f
    assert.equal(toHex(good), '3007020200800201' + '7f');
    const bad = [
      '',
      '30',
      '3000',
      '300602010102',
      '30070202008002017f00', // trailing byte
      '3008020200800201007f', // non-minimal s (leading zero before 0x7f)
      '30070202ff8002017f', // negative r
      '300702020080020000', // zero-length? (length 0 integer)
      '3080020200800201' + '7f0000', // indefinite length
      '308107020200800201' + '7f', // non-minimal sequence length
      '31070202008002017f', // SET instead of SEQUENCE
      '30070302008002017f', // BIT STRING instead of INTEGER
      '3006020200800201', // truncated
      '302702220001' + '00'.repeat(32) + '02017f', // non-minimal 34-byte r
      '3026022101' + '00'.repeat(32) + '02017f', // minimal but 33-byte r (>= 2^256)
      '3009020200800201' + '7f' + '0200', // three INTEGERs
      '3005020200800201', // length says 5
      '1f070202008002017f', // high tag number form
    ];
    for (const hex of bad)
      throwsCode(() => pub.sm2SignatureFromDer(Buffer.from(hex, 'hex')), DecodeError, 'SM2_SIGNATURE_DER_INVALID');
    throwsCode(() => pub.sm2SignatureToDer(new Uint8Array(63)), EncodeError, 'SM2_SIGNATURE_RAW_LENGTH');
  });
});

describe('SM2 public module', () => {
  it('reports its backend; REQUIRE_SYSTEM=1 demands the native one', () => {
    assert.equal(pub.sm2Backend(), activeSm2Backend.name);
    if (process.env['REQUIRE_SYSTEM'] === '1') {
      assert.equal(nativeSm2Unavailable, undefined, `native SM2 backend did not load: ${nativeSm2Unavailable}`);
      assert.equal(pub.sm2Backend(), 'native');
      assert.ok(
        backends.some((b) => b.name === 'native'),
        "backends.some((b) => b.name === 'native')",
      );
    }
  });

  it('CARDPOST_SM2_BACKEND=js forces the JS backend; an unknown value is refused', function () {
    this.timeout(30_000);
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const script =
      "import('./protocol/crypto/index.ts').then((m) => console.log(m.sm2Backend()), (e) => console.log(e.code))";
    const run = (value: string): string =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: root,
        env: { ...process.env, CARDPOST_SM2_BACKEND: value },
        encoding: 'utf8',
      }).trim();
    assert.equal(run('js'), 'js');
    assert.equal(run('nonsense'), 'SM2_BACKEND_UNKNOWN');
  });

  it('exports the documented API', () => {
    assert.equal(pub.SM2_DEFAULT_USER_ID, '1234567812345678');
    const kp = pub.sm2GenerateKeyPair();
    const m = enc.encode('record');
    const s = pub.sm2Sign(kp.privateKey, m);
    assert.ok(pub.sm2Verify(kp.publicKey, m, s));
    assert.ok(pub.sm2VerifyDigest(kp.publicKey, pub.sm2MessageDigest(kp.publicKey, m), s));
    assert.ok(pub.sm2Verify(kp.publicKey, m, pub.sm2SignDigest(kp.privateKey, pub.sm2MessageDigest(kp.publicKey, m))));
    assert.deepEqual(pub.sm2PublicFromPrivate(kp.privateKey), kp.publicKey);
    assert.equal(pub.sm2Za(kp.publicKey).length, 32);
    pub.sm2ValidatePublicKey(kp.publicKey);
    // a native failure surfaces as CryptoError, never as a raw addon error
    assert.ok(CryptoError.prototype instanceof Error, 'CryptoError.prototype instanceof Error');
  });
});

function bigIntPowMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}
