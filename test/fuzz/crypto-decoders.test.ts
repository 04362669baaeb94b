/**
 * Fuzz every crypto decoder of outside bytes: DER signatures, SPKI, PKCS#8, public keys,
 * signatures handed to verify (both SM2 backends and P-256), SM4 ciphertexts and GCM messages.
 * Random and mutated inputs from a fixed seed; the only things allowed to come out are a result,
 * a boolean, DecodeError or CryptoError. Whatever a strict DER decoder accepts must re-encode to
 * exactly the same bytes.
 */
import { strict as assert } from 'node:assert';
import { CryptoError, DecodeError } from '../../protocol/errors.js';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import {
  p256GenerateKeyPair,
  p256Sign,
  p256SignatureFromDer,
  p256SignatureToDer,
  p256Verify,
  signatureAlgorithmFromCode,
  sm2PrivateKeyFromPkcs8,
  sm2PrivateKeyToPkcs8,
  sm2PublicKeyFromSpki,
  sm2PublicKeyToSpki,
  sm2SignatureFromDer,
  sm2SignatureToDer,
  sm2ValidatePublicKey,
  sm4Decrypt,
  sm4Encrypt,
  sm4GcmDecrypt,
  sm4GcmEncrypt,
} from '../../protocol/crypto/index.js';
import { createSm2Api } from '../../protocol/crypto/sm2-api.js';
import { availableSm2Backends } from '../../protocol/crypto/sm2-select.js';
import { SM2_CURVE } from '../../protocol/crypto/sm2-core.js';

const SEED = 0xc0ffee;

/** Deterministic random source (xorshift32). */
class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  u32(): number {
    let x = this.x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.x = x;
    return x;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }

  /** A random mutation of a valid input: the kinds of damage a decoder meets in the wild. */
  mutate(valid: Uint8Array): Uint8Array {
    const b = Array.from(valid);
    const rounds = 1 + this.int(3);
    for (let k = 0; k < rounds; k++) {
      const i = b.length ? this.int(b.length) : 0;
      switch (this.int(9)) {
        case 0:
          if (b.length) b[i]! ^= 1 << this.int(8);
          break; // bit flip
        case 1:
          if (b.length) b[i] = this.int(256);
          break; // byte replace
        case 2:
          b.splice(i, 0, this.int(256));
          break; // insert
        case 3:
          b.splice(i, 1);
          break; // delete
        case 4:
          b.length = this.int(b.length + 1);
          break; // truncate
        case 5:
          b.push(...this.bytes(1 + this.int(4)));
          break; // trailing junk
        case 6:
          if (b.length) b[i] = [0x00, 0x7f, 0x80, 0x81, 0x82, 0xff][this.int(6)]!;
          break; // boundary values
        case 7:
          b.splice(i, 0, ...b.slice(this.int(b.length + 1), this.int(b.length + 1)));
          break; // duplicate a span
        default:
          if (b.length > 1) {
            const j = this.int(b.length);
            [b[i], b[j]] = [b[j]!, b[i]!];
          } // swap
      }
    }
    return Uint8Array.from(b);
  }

  /** Half random bytes, half mutations of one of the valid samples. */
  input(valid: Uint8Array[]): Uint8Array {
    return this.int(2) === 0 ? this.bytes(this.int(160)) : this.mutate(valid[this.int(valid.length)]!);
  }
}

/** Runs fn on `cases` inputs; anything thrown must be DecodeError or CryptoError. Returns how many were accepted. */
function fuzz(rng: Rng, cases: number, valid: Uint8Array[], fn: (input: Uint8Array) => void): number {
  let accepted = 0;
  for (let i = 0; i < cases; i++) {
    const input = rng.input(valid);
    try {
      fn(input);
      accepted++;
    } catch (err) {
      if (!(err instanceof DecodeError || err instanceof CryptoError)) {
        assert.fail(`case ${i} (${toHex(input)}) threw ${String(err)}${err instanceof Error ? `\n${err.stack}` : ''}`);
      }
    }
  }
  return accepted;
}

describe(`fuzz: crypto decoders (seed 0x${SEED.toString(16)})`, function () {
  this.timeout(60_000);
  const api = createSm2Api(availableSm2Backends()[0]!);
  const kp = api.generateKeyPair();
  const msg = new TextEncoder().encode('signed transaction record');
  const sigs = Array.from({ length: 4 }, () => api.sign(kp.privateKey, msg));
  const ders = sigs.map((s) => sm2SignatureToDer(s));
  // DER with short r/s and high bits, to reach the padding/sign-byte paths
  ders.push(
    sm2SignatureToDer(new Uint8Array(64).fill(0x80, 0, 1)),
    sm2SignatureToDer(new Uint8Array(64).fill(1, 31, 32).fill(0xff, 32)),
  );

  it('SM2 and P-256 DER signatures: only DecodeError; accepted input re-encodes identically', () => {
    const rng = new Rng(SEED);
    for (const [from, to] of [
      [sm2SignatureFromDer, sm2SignatureToDer],
      [p256SignatureFromDer, p256SignatureToDer],
    ] as const) {
      const ok = fuzz(rng, 4000, ders, (input) => {
        const raw = from(input);
        assert.equal(raw.length, 64);
        assert.ok(bytesEqual(to(raw), input), `accepted non-canonical DER ${toHex(input)}`);
      });
      assert.ok(ok > 0 && ok < 4000, `accepted ${ok}`);
    }
  });

  it('SPKI: only DecodeError; accepted input is a valid key and re-encodes identically', () => {
    const rng = new Rng(SEED + 1);
    const valid = [sm2PublicKeyToSpki(kp.publicKey), sm2PublicKeyToSpki(api.generateKeyPair().publicKey)];
    fuzz(rng, 4000, valid, (input) => {
      const key = sm2PublicKeyFromSpki(input);
      sm2ValidatePublicKey(key);
      assert.ok(bytesEqual(sm2PublicKeyToSpki(key), input));
    });
  });

  it('PKCS#8: only DecodeError; accepted input gives a consistent key pair', () => {
    const rng = new Rng(SEED + 2);
    const valid = [sm2PrivateKeyToPkcs8(kp.privateKey)];
    fuzz(rng, 3000, valid, (input) => {
      const pair = sm2PrivateKeyFromPkcs8(input);
      assert.deepEqual(api.publicFromPrivate(pair.privateKey), pair.publicKey);
    });
  });

  it('public key bytes: only DecodeError, and what passes is on the curve', () => {
    const rng = new Rng(SEED + 3);
    const valid = [kp.publicKey, Uint8Array.of(0), new Uint8Array(65).fill(0, 1).fill(4, 0, 1)];
    fuzz(rng, 4000, valid, (input) => {
      sm2ValidatePublicKey(input);
      assert.ok(SM2_CURVE.Point.fromBytes(input), 'SM2_CURVE.Point.fromBytes(input)'); // noble agrees it is a point
    });
  });

  for (const backend of availableSm2Backends()) {
    it(`SM2 verify [${backend.name}]: mutated signatures and keys give a boolean or DecodeError, never a false accept`, () => {
      const rng = new Rng(SEED + 4);
      const local = createSm2Api(backend);
      const inputs = [...sigs, ...ders];
      const ok = fuzz(rng, 1500, inputs, (sig) => {
        const result = local.verify(kp.publicKey, msg, sig);
        assert.equal(typeof result, 'boolean');
        if (result) {
          // only an unmodified signature (raw or its DER) may verify
          assert.ok(
            sigs.some((s) => bytesEqual(s, sig) || bytesEqual(sm2SignatureToDer(s), sig)),
            `false accept ${toHex(sig)}`,
          );
        }
      });
      assert.equal(ok, 1500, 'signature problems are booleans, not exceptions');
      fuzz(rng, 1500, [kp.publicKey], (key) => {
        assert.equal(typeof local.verify(key, msg, sigs[0]!), 'boolean');
      });
    });
  }

  it('P-256 verify: mutated signatures and keys give a boolean or DecodeError', () => {
    const rng = new Rng(SEED + 5);
    const p = p256GenerateKeyPair();
    const s = p256Sign(p.privateKey, msg);
    const ok = fuzz(rng, 2000, [s, p256SignatureToDer(s)], (sig) => {
      const result = p256Verify(p.publicKey, msg, sig);
      if (result) assert.ok(bytesEqual(sig, s) || bytesEqual(sig, p256SignatureToDer(s)));
    });
    assert.equal(ok, 2000);
    fuzz(rng, 1500, [p.publicKey], (key) => {
      p256Verify(key, msg, s);
    });
  });

  it('SM4 ciphertexts: CBC/PKCS#7 and GCM give plaintext, DecodeError or CryptoError', () => {
    const rng = new Rng(SEED + 6);
    const key = rng.bytes(16);
    const iv = rng.bytes(16);
    const cbc = [sm4Encrypt(key, msg, { mode: 'cbc', iv, padding: 'pkcs7' })];
    fuzz(rng, 3000, cbc, (ct) => {
      sm4Decrypt(key, ct, { mode: 'cbc', iv, padding: 'pkcs7' });
    });
    const nonce = rng.bytes(12);
    const sealed = sm4GcmEncrypt(key, nonce, msg, iv);
    const ok = fuzz(rng, 2000, [sealed.ciphertext], (ct) => {
      const pt = sm4GcmDecrypt(key, nonce, ct, iv, sealed.tag);
      assert.deepEqual(pt, msg); // only the genuine ciphertext authenticates
    });
    assert.ok(ok < 2000, 'ok < 2000');
    fuzz(rng, 2000, [sealed.tag], (tag) => {
      sm4GcmDecrypt(key, nonce, sealed.ciphertext, iv, tag);
    });
  });

  it('algorithm codes from the wire: known or DecodeError', () => {
    const rng = new Rng(SEED + 7);
    for (let i = 0; i < 2000; i++) {
      const code = rng.int(2) ? rng.int(300) - 20 : (rng.u32() | 0) / 7;
      try {
        assert.ok(['sm2-sm3', 'ecdsa-p256-sha256'].includes(signatureAlgorithmFromCode(code)));
      } catch (err) {
        assert.ok(err instanceof DecodeError, String(err));
      }
    }
  });
});
