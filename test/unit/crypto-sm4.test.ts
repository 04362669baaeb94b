/**
 * SM4 modes beyond the published vectors: differential tests against OpenSSL's native sm4-*
 * ciphers (random keys, ivs and lengths, counter wrap-around), padding, GCM tampering and the
 * error contract (EncodeError for caller mistakes, DecodeError for impossible ciphertexts,
 * CryptoError for failed decryption).
 */
import { strict as assert } from 'node:assert';
import crypto from 'node:crypto';
import { CryptoError, DecodeError, EncodeError } from '../../protocol/errors.js';
import { toHex } from '../../protocol/bytes.js';
import {
  Sm4Key,
  sm4Decrypt,
  sm4DecryptBlock,
  sm4Encrypt,
  sm4EncryptBlock,
  sm4GcmDecrypt,
  sm4GcmEncrypt,
  sm3,
} from '../../protocol/crypto/index.js';
import { sm3Portable } from '../../protocol/crypto/sm3-js.js';
import type { Sm4Mode } from '../../protocol/crypto/sm4.js';

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
const throwsCode = (fn: () => unknown, type: new (...a: never[]) => Error, code: string): void => {
  assert.throws(fn, (e: unknown) => e instanceof type && (e as { code?: string }).code === code);
};

function openssl(
  mode: Sm4Mode,
  key: Uint8Array,
  iv: Uint8Array | null,
  data: Uint8Array,
  encrypt: boolean,
  pad: boolean,
): Uint8Array {
  const c = encrypt ? crypto.createCipheriv(`sm4-${mode}`, key, iv) : crypto.createDecipheriv(`sm4-${mode}`, key, iv);
  c.setAutoPadding(pad);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

describe('SM4 modes against OpenSSL', () => {
  const rnd = prng(4);
  for (const mode of ['ecb', 'cbc', 'ofb', 'cfb', 'ctr'] as Sm4Mode[]) {
    it(`${mode}: random keys, ivs and lengths, with and without PKCS#7`, () => {
      const block = mode === 'ecb' || mode === 'cbc';
      for (let i = 0; i < 60; i++) {
        const key = rnd(16);
        const iv = mode === 'ecb' ? undefined : rnd(16);
        const len = block ? 16 * (i % 7) : i * 3;
        const pt = rnd(len);
        const opts = iv === undefined ? { mode } : { mode, iv };
        const ct = sm4Encrypt(key, pt, opts);
        assert.equal(toHex(ct), toHex(openssl(mode, key, iv ?? null, pt, true, false)), `len ${len}`);
        assert.deepEqual(sm4Decrypt(key, ct, opts), pt);
        // PKCS#7 on top (OpenSSL pads only block modes; pad by hand for the stream modes)
        const plen = pt.length + 16 - (pt.length % 16);
        const padded = new Uint8Array(plen).fill(plen - pt.length);
        padded.set(pt);
        const ctp = sm4Encrypt(key, pt, { ...opts, padding: 'pkcs7' });
        assert.equal(toHex(ctp), toHex(openssl(mode, key, iv ?? null, block ? pt : padded, true, block)));
        assert.deepEqual(sm4Decrypt(new Sm4Key(key), ctp, { ...opts, padding: 'pkcs7' }), pt);
      }
    });
  }

  it('ctr: the 128-bit counter wraps like OpenSSL', () => {
    const key = rnd(16);
    for (const ivHex of [
      'ffffffffffffffffffffffffffffffff',
      '00000000000000000000000000fffffe',
      '0000000000000000ffffffffffffffff',
    ]) {
      const iv = Buffer.from(ivHex, 'hex');
      const pt = rnd(80);
      assert.equal(toHex(sm4Encrypt(key, pt, { mode: 'ctr', iv })), toHex(openssl('ctr', key, iv, pt, true, false)));
    }
  });

  it('block functions accept raw keys and expanded keys', () => {
    const key = rnd(16);
    const k = new Sm4Key(key);
    for (let i = 0; i < 20; i++) {
      const b = rnd(16);
      const c = sm4EncryptBlock(key, b);
      assert.deepEqual(sm4EncryptBlock(k, b), c);
      assert.equal(toHex(c), toHex(openssl('ecb', key, null, b, true, false)));
      assert.deepEqual(sm4DecryptBlock(k, c), b);
    }
  });
});

describe('SM4 error contract', () => {
  const key = new Uint8Array(16);
  const iv = new Uint8Array(16);

  it('caller mistakes are EncodeErrors', () => {
    throwsCode(
      () => sm4Encrypt(new Uint8Array(15), new Uint8Array(16), { mode: 'ecb' }),
      EncodeError,
      'SM4_KEY_LENGTH',
    );
    throwsCode(() => new Sm4Key(new Uint8Array(32)), EncodeError, 'SM4_KEY_LENGTH');
    throwsCode(() => sm4Encrypt(key, new Uint8Array(16), { mode: 'cbc' }), EncodeError, 'SM4_IV_LENGTH');
    throwsCode(
      () => sm4Encrypt(key, new Uint8Array(16), { mode: 'ctr', iv: new Uint8Array(12) }),
      EncodeError,
      'SM4_IV_LENGTH',
    );
    throwsCode(() => sm4Encrypt(key, new Uint8Array(16), { mode: 'ecb', iv }), EncodeError, 'SM4_IV_UNUSED');
    throwsCode(() => sm4Encrypt(key, new Uint8Array(16), { mode: 'xts' as Sm4Mode }), EncodeError, 'SM4_MODE');
    throwsCode(
      () => sm4Encrypt(key, new Uint8Array(16), { mode: 'ecb', padding: 'zero' as 'none' }),
      EncodeError,
      'SM4_PADDING',
    );
    for (const mode of ['ecb', 'cbc'] as Sm4Mode[]) {
      throwsCode(
        () => sm4Encrypt(key, new Uint8Array(17), mode === 'ecb' ? { mode } : { mode, iv }),
        EncodeError,
        'SM4_NOT_BLOCK_ALIGNED',
      );
    }
    throwsCode(() => sm4EncryptBlock(key, new Uint8Array(15)), EncodeError, 'SM4_BLOCK_LENGTH');
    throwsCode(() => sm4GcmEncrypt(key, new Uint8Array(0), new Uint8Array(1)), EncodeError, 'SM4_GCM_IV_LENGTH');
  });

  it('impossible ciphertexts are DecodeErrors, failed decryption is a CryptoError', () => {
    throwsCode(() => sm4Decrypt(key, new Uint8Array(17), { mode: 'cbc', iv }), DecodeError, 'SM4_CIPHERTEXT_LENGTH');
    throwsCode(
      () => sm4Decrypt(key, new Uint8Array(0), { mode: 'cbc', iv, padding: 'pkcs7' }),
      DecodeError,
      'SM4_CIPHERTEXT_LENGTH',
    );
    throwsCode(
      () => sm4Decrypt(key, new Uint8Array(20), { mode: 'ctr', iv, padding: 'pkcs7' }),
      DecodeError,
      'SM4_CIPHERTEXT_LENGTH',
    );
    // a block that decrypts to bad padding
    let badPad = 0;
    for (let i = 0; i < 50; i++) {
      const ct = prng(100 + i)(32);
      try {
        sm4Decrypt(key, ct, { mode: 'cbc', iv, padding: 'pkcs7' });
      } catch (err) {
        assert.ok(
          err instanceof CryptoError && err.code === 'SM4_PADDING_INVALID',
          "err instanceof CryptoError && err.code === 'SM4_PADDING_INVALID'",
        );
        badPad++;
      }
    }
    assert.ok(badPad > 40, 'badPad > 40');
    // padding byte 0 and 17 are invalid
    for (const last of [0, 17]) {
      const plain = new Uint8Array(16).fill(last);
      const ct = sm4Encrypt(key, plain, { mode: 'cbc', iv });
      throwsCode(() => sm4Decrypt(key, ct, { mode: 'cbc', iv, padding: 'pkcs7' }), CryptoError, 'SM4_PADDING_INVALID');
    }
    // a full block of padding is valid
    const full = sm4Encrypt(key, new Uint8Array(16).fill(16), { mode: 'ecb' });
    assert.equal(sm4Decrypt(key, full, { mode: 'ecb', padding: 'pkcs7' }).length, 0);
  });
});

describe('SM4-GCM', () => {
  const rnd = prng(77);

  it('round-trips any length; the ciphertext is CTR from inc32(J0) (checked with OpenSSL)', () => {
    for (let len = 0; len < 70; len += 7) {
      const key = rnd(16);
      const iv = rnd(12);
      const aad = rnd(len % 20);
      const pt = rnd(len);
      const { ciphertext, tag } = sm4GcmEncrypt(key, iv, pt, aad);
      assert.equal(tag.length, 16);
      assert.deepEqual(sm4GcmDecrypt(key, iv, ciphertext, aad, tag), pt);
      const ctr0 = new Uint8Array(16);
      ctr0.set(iv);
      ctr0[15] = 2;
      assert.equal(toHex(ciphertext), toHex(openssl('ctr', key, ctr0, pt, true, false)));
    }
  });

  it('ivs other than 12 bytes go through GHASH and still round-trip', () => {
    for (const ivLen of [1, 8, 16, 60]) {
      const key = rnd(16);
      const iv = rnd(ivLen);
      const pt = rnd(33);
      const r = sm4GcmEncrypt(key, iv, pt);
      assert.deepEqual(sm4GcmDecrypt(key, iv, r.ciphertext, new Uint8Array(0), r.tag), pt);
      const iv2 = Uint8Array.from(iv);
      iv2[0]! ^= 1;
      assert.notDeepEqual(sm4GcmEncrypt(key, iv2, pt).ciphertext, r.ciphertext);
    }
  });

  it('any change to key, iv, aad, ciphertext or tag fails authentication', () => {
    const key = rnd(16);
    const iv = rnd(12);
    const aad = rnd(20);
    const pt = rnd(48);
    const { ciphertext, tag } = sm4GcmEncrypt(key, iv, pt, aad);
    const flip = (b: Uint8Array, i: number): Uint8Array => {
      const c = Uint8Array.from(b);
      c[i]! ^= 1;
      return c;
    };
    const attempts: [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array][] = [
      [flip(key, 0), iv, ciphertext, aad, tag],
      [key, flip(iv, 11), ciphertext, aad, tag],
      [key, iv, flip(ciphertext, 47), aad, tag],
      [key, iv, ciphertext.subarray(0, 47), aad, tag],
      [key, iv, ciphertext, flip(aad, 0), tag],
      [key, iv, ciphertext, aad.subarray(1), tag],
      [key, iv, ciphertext, aad, flip(tag, 15)],
    ];
    for (const [k, v, c, a, t] of attempts)
      throwsCode(() => sm4GcmDecrypt(k, v, c, a, t), CryptoError, 'SM4_GCM_AUTH_FAILED');
    throwsCode(() => sm4GcmDecrypt(key, iv, ciphertext, aad, tag.subarray(0, 12)), DecodeError, 'SM4_GCM_TAG_LENGTH');
  });
});

describe('SM3 implementations agree', () => {
  it('native and portable SM3 give the same digest for every length 0..300', () => {
    const rnd = prng(3);
    for (let len = 0; len <= 300; len++) {
      const m = rnd(len);
      assert.deepEqual(sm3Portable(m), sm3(m), `len ${len}`);
    }
    throwsCode(() => sm3('abc' as unknown as Uint8Array), EncodeError, 'SM3_INPUT_TYPE');
  });
});
