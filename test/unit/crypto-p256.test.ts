/**
 * ECDSA P-256/SHA-256 and the algorithm-agnostic signature facade used by records and
 * certificates: RFC 6979 published signatures, cross-checks with @noble/curves, high-S
 * acceptance, range checks, key validation codes and the wire algorithm codes.
 */
import { strict as assert } from 'node:assert';
import { p256 as nobleP256 } from '@noble/curves/nist.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import {
  SIGNATURE_ALGORITHM_CODES,
  generateKeyPair,
  p256GenerateKeyPair,
  p256PublicFromPrivate,
  p256Sign,
  p256SignatureFromDer,
  p256SignatureToDer,
  p256ValidatePublicKey,
  p256Verify,
  sign,
  signatureAlgorithmFromCode,
  sm2MessageDigest,
  validatePublicKey,
  verify,
  type SignatureAlgorithm,
} from '../../protocol/crypto/index.js';
import { bigIntToBytes, bytesToBigInt } from '../../protocol/crypto/random.js';

const N = nobleP256.Point.CURVE().n;
const enc = new TextEncoder();
const throwsCode = (fn: () => unknown, type: new (...a: never[]) => Error, code: string): void => {
  assert.throws(fn, (e: unknown) => e instanceof type && (e as { code?: string }).code === code);
};

describe('ECDSA P-256 / SHA-256', () => {
  // RFC 6979 appendix A.2.5 (P-256, SHA-256)
  const rfc = {
    d: 'C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721',
    pub: '0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299',
    sample:
      'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8',
    test: 'F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083',
  };

  it('verifies the RFC 6979 A.2.5 signatures and derives its public key', () => {
    const pub = fromHex(rfc.pub);
    assert.equal(toHex(p256PublicFromPrivate(fromHex(rfc.d))), rfc.pub.toLowerCase());
    assert.equal(p256Verify(pub, enc.encode('sample'), fromHex(rfc.sample)), true);
    assert.equal(p256Verify(pub, enc.encode('test'), fromHex(rfc.test)), true);
    assert.equal(p256Verify(pub, enc.encode('test'), fromHex(rfc.sample)), false);
    assert.equal(p256Verify(pub, enc.encode('sample'), p256SignatureToDer(fromHex(rfc.sample))), true);
  });

  it('signs raw r||s that noble verifies; noble signatures (low and high S) verify here', () => {
    for (let i = 0; i < 10; i++) {
      const kp = p256GenerateKeyPair();
      const msg = enc.encode(`record ${i}`);
      const sig = p256Sign(kp.privateKey, msg);
      assert.equal(sig.length, 64);
      assert.ok(nobleP256.verify(sig, msg, kp.publicKey, { lowS: false }));
      assert.equal(p256Verify(kp.publicKey, msg, sig), true);
      assert.equal(p256Verify(kp.publicKey, msg, p256SignatureToDer(sig)), true);
      const theirs = nobleP256.sign(msg, kp.privateKey);
      assert.equal(p256Verify(kp.publicKey, msg, theirs), true);
      const s = bytesToBigInt(theirs.subarray(32));
      const high = new Uint8Array([...theirs.subarray(0, 32), ...bigIntToBytes(N - s, 32)]);
      assert.equal(p256Verify(kp.publicKey, msg, high), true, 'high-S accepted');
      assert.equal(p256Verify(kp.publicKey, enc.encode('other'), sig), false);
    }
  });

  it('range checks and malformed signatures give false', () => {
    const kp = p256GenerateKeyPair();
    const msg = enc.encode('x');
    const sig = p256Sign(kp.privateKey, msg);
    const r = bytesToBigInt(sig.subarray(0, 32));
    const s = bytesToBigInt(sig.subarray(32));
    for (const [rr, ss] of [
      [0n, s],
      [r, 0n],
      [r + N < 1n << 256n ? r + N : N, s],
      [N, s],
      [r, N],
    ] as [bigint, bigint][]) {
      assert.equal(
        p256Verify(kp.publicKey, msg, new Uint8Array([...bigIntToBytes(rr, 32), ...bigIntToBytes(ss, 32)])),
        false,
      );
    }
    for (const bad of [new Uint8Array(0), new Uint8Array(63), new Uint8Array(65), Uint8Array.of(0x30, 0x00)]) {
      assert.equal(p256Verify(kp.publicKey, msg, bad), false);
    }
    assert.deepEqual(p256SignatureFromDer(p256SignatureToDer(sig)), sig);
    throwsCode(() => p256SignatureFromDer(new Uint8Array(3)), DecodeError, 'P256_SIGNATURE_DER_INVALID');
  });

  it('validates keys with precise codes', () => {
    const kp = p256GenerateKeyPair();
    const flipped = Uint8Array.from(kp.publicKey);
    flipped[64]! ^= 1;
    for (const [key, code] of [
      [kp.publicKey.subarray(0, 33), 'P256_PUBLIC_KEY_LENGTH'],
      [new Uint8Array([5, ...kp.publicKey.subarray(1)]), 'P256_PUBLIC_KEY_FORMAT'],
      [flipped, 'P256_PUBLIC_KEY_NOT_ON_CURVE'],
      [new Uint8Array([4, ...new Uint8Array(64)]), 'P256_PUBLIC_KEY_NOT_ON_CURVE'],
    ] as [Uint8Array, string][]) {
      throwsCode(() => p256ValidatePublicKey(key), DecodeError, code);
      throwsCode(() => p256Verify(key, new Uint8Array(1), new Uint8Array(64)), DecodeError, code);
    }
    for (const d of [0n, N])
      throwsCode(() => p256Sign(bigIntToBytes(d, 32), new Uint8Array(1)), EncodeError, 'P256_PRIVATE_KEY_INVALID');
    assert.ok(
      bytesToBigInt(kp.privateKey) >= 1n && bytesToBigInt(kp.privateKey) < N,
      'bytesToBigInt(kp.privateKey) >= 1n && bytesToBigInt(kp.privateKey) < N',
    );
  });
});

describe('signature facade', () => {
  it('wire codes are fixed and map both ways', () => {
    assert.deepEqual({ ...SIGNATURE_ALGORITHM_CODES }, { 'sm2-sm3': 1, 'ecdsa-p256-sha256': 2 });
    assert.equal(signatureAlgorithmFromCode(1), 'sm2-sm3');
    assert.equal(signatureAlgorithmFromCode(2), 'ecdsa-p256-sha256');
    for (const c of [0, 3, -1, 1.5, 255, Number.NaN])
      throwsCode(() => signatureAlgorithmFromCode(c), DecodeError, 'SIGNATURE_ALGORITHM_UNKNOWN');
  });

  for (const alg of Object.keys(SIGNATURE_ALGORITHM_CODES) as SignatureAlgorithm[]) {
    it(`${alg}: generate, sign, verify, validate; the user id matters only for SM2`, () => {
      const kp = generateKeyPair(alg);
      validatePublicKey(alg, kp.publicKey);
      const msg = enc.encode('canonical record bytes');
      const sig = sign(alg, kp.privateKey, msg, { userId: 'card-42' });
      assert.equal(sig.length, 64);
      assert.equal(verify(alg, kp.publicKey, msg, sig, { userId: 'card-42' }), true);
      assert.equal(verify(alg, kp.publicKey, msg, sig, { userId: 'card-43' }), alg === 'ecdsa-p256-sha256');
      assert.equal(verify(alg, kp.publicKey, msg, sig), alg === 'ecdsa-p256-sha256');
      assert.equal(verify(alg, kp.publicKey, enc.encode('tampered'), sig, { userId: 'card-42' }), false);
      throwsCode(
        () => validatePublicKey(alg, kp.publicKey.subarray(1)),
        DecodeError,
        alg === 'sm2-sm3' ? 'SM2_PUBLIC_KEY_LENGTH' : 'P256_PUBLIC_KEY_LENGTH',
      );
    });
  }

  it('keys and signatures of one algorithm do not pass as the other', () => {
    const sm2 = generateKeyPair('sm2-sm3');
    const msg = enc.encode('m');
    const sig = sign('sm2-sm3', sm2.privateKey, msg);
    // an SM2 point is (almost surely) not on P-256
    assert.throws(() => validatePublicKey('ecdsa-p256-sha256', sm2.publicKey), DecodeError);
    const p = generateKeyPair('ecdsa-p256-sha256');
    assert.throws(() => verify('sm2-sm3', p.publicKey, msg, sig), DecodeError);
    assert.equal(sm2MessageDigest(sm2.publicKey, msg).length, 32);
  });

  it('unknown algorithms are EncodeErrors', () => {
    const bad = 'rsa' as SignatureAlgorithm;
    throwsCode(() => generateKeyPair(bad), EncodeError, 'SIGNATURE_ALGORITHM_UNKNOWN');
    throwsCode(() => sign(bad, new Uint8Array(32), new Uint8Array(1)), EncodeError, 'SIGNATURE_ALGORITHM_UNKNOWN');
    throwsCode(
      () => verify(bad, new Uint8Array(65), new Uint8Array(1), new Uint8Array(64)),
      EncodeError,
      'SIGNATURE_ALGORITHM_UNKNOWN',
    );
    throwsCode(() => validatePublicKey(bad, new Uint8Array(65)), EncodeError, 'SIGNATURE_ALGORITHM_UNKNOWN');
  });
});
