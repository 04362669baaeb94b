/**
 * Every vector of /work/shared/vectors/sm2-sm3-sm4.json (repo-relative ../shared/vectors), run
 * against every implementation that can take it: both SM2 backends, both SM3 implementations,
 * OpenSSL's SM4 where node has the mode, sm-crypto where it applies. A missing vector file, or a
 * vector whose algorithm nothing here understands, FAILS the suite instead of skipping.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import crypto from 'node:crypto';
import smCrypto from 'sm-crypto';
import { fromHex, toHex } from '../../protocol/bytes.js';
import {
  sm3,
  sm4Encrypt,
  sm4Decrypt,
  sm4EncryptBlock,
  sm4DecryptBlock,
  sm4GcmEncrypt,
  sm4GcmDecrypt,
  Sm4Key,
  sm2SignatureToDer,
  sm2SignatureFromDer,
} from '../../protocol/crypto/index.js';
import { sm3Portable } from '../../protocol/crypto/sm3-js.js';
import { SM2P256V1, SM2_CURVE, createSm2Curve } from '../../protocol/crypto/sm2-core.js';
import { createSm2Api } from '../../protocol/crypto/sm2-api.js';
import { availableSm2Backends } from '../../protocol/crypto/sm2-select.js';
import { sm2OnCurve } from '../../protocol/crypto/sm2-any-curve.js';
import type { Sm4Mode } from '../../protocol/crypto/sm4.js';

interface Vector {
  name: string;
  algorithm: string;
  inputs: Record<string, unknown>;
  expected: Record<string, unknown>;
  note?: string;
}

// The published vectors travel with the repository (test/vectors); where the project's shared/
// folder sits beside the clone (as in CI), the copy must still equal the original.
const VECTOR_URL = new URL('../vectors/sm2-sm3-sm4.json', import.meta.url);
const SHARED_URL = new URL('../../../shared/vectors/sm2-sm3-sm4.json', import.meta.url);
let vectors: Vector[] = [];
let loadError: unknown;
try {
  vectors = JSON.parse(readFileSync(VECTOR_URL, 'utf8')) as Vector[];
  if (existsSync(SHARED_URL) && readFileSync(SHARED_URL, 'utf8') !== readFileSync(VECTOR_URL, 'utf8')) {
    throw new Error(
      'test/vectors/sm2-sm3-sm4.json differs from shared/vectors/sm2-sm3-sm4.json: copy the shared file again',
    );
  }
} catch (err) {
  loadError = err;
}

const str = (v: Vector, key: string): string => {
  const x = v.inputs[key];
  assert.equal(typeof x, 'string', `${v.name}: inputs.${key}`);
  return x as string;
};
const exp = (v: Vector, key: string): string => {
  const x = v.expected[key];
  assert.equal(typeof x, 'string', `${v.name}: expected.${key}`);
  return x as string;
};
const big = (hex: string): bigint => BigInt('0x' + hex);
const lower = (hex: string): string => hex.toLowerCase();

const handled = new Set<string>();
const byAlgorithm = (prefix: string): Vector[] => {
  const list = vectors.filter((v) => v.algorithm.startsWith(prefix));
  list.forEach((v) => handled.add(v.name));
  return list;
};

describe('crypto vectors (shared/vectors/sm2-sm3-sm4.json)', () => {
  it('the vector file is present and non-empty', () => {
    assert.equal(loadError, undefined, `cannot read ${VECTOR_URL.pathname}: ${String(loadError)}`);
    assert.ok(Array.isArray(vectors) && vectors.length > 0, 'no vectors');
  });

  describe('SM2 curve parameters', () => {
    for (const v of byAlgorithm('SM2-curve')) {
      it(v.name, () => {
        const { p, a, b, n, Gx, Gy } = Object.fromEntries(
          ['p', 'a', 'b', 'n', 'Gx', 'Gy'].map((k) => [k, big(str(v, k))]),
        );
        assert.deepEqual({ p, a, b, n, Gx, Gy }, { ...SM2P256V1 }, 'our constants match the standard');
        assert.equal(str(v, 'h'), '1');
        const onCurve = (x: bigint, y: bigint): boolean => (y * y - (x * x * x + a! * x + b!)) % p! === 0n;
        assert.equal(onCurve(Gx!, Gy!), v.expected['G_on_curve']);
        // n*G = O  <=>  (n-1)*G = -G
        const G = SM2_CURVE.Point.BASE;
        assert.equal(v.expected['nG_is_infinity'], true);
        assert.ok(G.multiply(n! - 1n).equals(G.negate()), 'G.multiply(n! - 1n).equals(G.negate())');
        // the native backend's compiled-in generator: 1*G
        for (const backend of availableSm2Backends()) {
          const one = new Uint8Array(32);
          one[31] = 1;
          assert.equal(
            toHex(backend.publicFromPrivate(one)),
            '04' + lower(str(v, 'Gx')) + lower(str(v, 'Gy')),
            backend.name,
          );
        }
      });
      it(`${v.name}: the mis-copied Gy in the note is not on the curve`, () => {
        const m = /…([0-9A-F]+), 65 hex digits/.exec(v.note ?? '');
        assert.ok(m, 'note names the mis-copied tail');
        const tail = m![1]!;
        const gy = str(v, 'Gy');
        const prefixLen = gy.indexOf(tail.slice(0, 6));
        assert.ok(prefixLen > 0, 'the mis-copied value starts like the real one');
        const wrong = gy.slice(0, prefixLen) + tail;
        assert.equal(wrong.length, 65);
        assert.notEqual(wrong.slice(0, 64), gy);
        const p = SM2P256V1.p;
        const x = SM2P256V1.Gx;
        for (const y of [big(wrong), big(wrong.slice(0, 64)), big(wrong.slice(1))]) {
          assert.notEqual((((y * y - (x * x * x + SM2P256V1.a * x + SM2P256V1.b)) % p) + p) % p, 0n);
        }
        // and the backends refuse such a "generator" as a public key
        for (const backend of availableSm2Backends()) {
          const pub = fromHex('04' + str(v, 'Gx') + wrong.slice(0, 64));
          assert.equal(backend.importPublicKey(pub), null, backend.name);
        }
      });
    }
  });

  describe('SM3', () => {
    for (const v of byAlgorithm('SM3')) {
      it(v.name, () => {
        const msg = fromHex(str(v, 'message_hex'));
        assert.equal(msg.length, v.inputs['message_len']);
        assert.equal(toHex(sm3(msg)), lower(exp(v, 'digest_hex')));
        assert.equal(toHex(sm3Portable(msg)), lower(exp(v, 'digest_hex')), 'portable SM3');
        assert.equal(crypto.createHash('sm3').update(msg).digest('hex'), lower(exp(v, 'digest_hex')), 'OpenSSL');
      });
    }
  });

  describe('SM4', () => {
    for (const v of byAlgorithm('SM4-ECB (iterated)')) {
      it(v.name, function () {
        this.timeout(10_000);
        const key = new Sm4Key(fromHex(str(v, 'key_hex')));
        const n = v.inputs['iterations'] as number;
        let block = fromHex(str(v, 'plaintext_hex'));
        for (let i = 0; i < n; i++) block = sm4EncryptBlock(key, block);
        assert.equal(toHex(block), lower(exp(v, 'ciphertext_hex')));
        for (let i = 0; i < n; i++) block = sm4DecryptBlock(key, block);
        assert.equal(toHex(block), lower(str(v, 'plaintext_hex')));
      });
    }
    for (const mode of ['ecb', 'cbc', 'ofb', 'cfb', 'ctr'] as Sm4Mode[]) {
      for (const v of byAlgorithm(`SM4-${mode.toUpperCase()}`).filter((x) => !x.algorithm.includes('iterated'))) {
        it(v.name, () => {
          const key = fromHex(str(v, 'key_hex'));
          const pt = fromHex(str(v, 'plaintext_hex'));
          const opts = mode === 'ecb' ? { mode } : { mode, iv: fromHex(str(v, 'iv_hex')) };
          const ct = sm4Encrypt(key, pt, opts);
          assert.equal(toHex(ct), lower(exp(v, 'ciphertext_hex')));
          assert.deepEqual(sm4Decrypt(key, ct, opts), pt);
          // OpenSSL agrees
          const c = crypto.createCipheriv(`sm4-${mode}`, key, mode === 'ecb' ? null : fromHex(str(v, 'iv_hex')));
          c.setAutoPadding(false);
          assert.equal(Buffer.concat([c.update(pt), c.final()]).toString('hex'), lower(exp(v, 'ciphertext_hex')));
        });
      }
    }
    for (const v of byAlgorithm('SM4-GCM')) {
      it(v.name, () => {
        const key = fromHex(str(v, 'key_hex'));
        const iv = fromHex(str(v, 'iv_hex'));
        const aad = fromHex(str(v, 'aad_hex'));
        const pt = fromHex(str(v, 'plaintext_hex'));
        const { ciphertext, tag } = sm4GcmEncrypt(key, iv, pt, aad);
        assert.equal(toHex(ciphertext), lower(exp(v, 'ciphertext_hex')));
        assert.equal(toHex(tag), lower(exp(v, 'tag_hex')));
        assert.deepEqual(sm4GcmDecrypt(key, iv, ciphertext, aad, tag), pt);
      });
    }
  });

  describe('SM2 signatures', () => {
    for (const v of byAlgorithm('SM2-sign')) {
      if (v.inputs['curve'] === 'sm2p256v1') {
        for (const backend of availableSm2Backends()) {
          it(`${v.name} [${backend.name}]`, () => {
            const api = createSm2Api(backend);
            const d = fromHex(str(v, 'private_key_hex'));
            const msg = fromHex(str(v, 'message_hex'));
            assert.equal(new TextDecoder().decode(msg), v.inputs['message']);
            const id = str(v, 'user_id');
            const pub = api.publicFromPrivate(d);
            assert.equal(toHex(pub), lower(exp(v, 'public_key_hex')));
            assert.equal(toHex(api.za(pub, id)), lower(exp(v, 'Z_A_hex')));
            assert.equal(toHex(api.messageDigest(pub, msg, id)), lower(exp(v, 'e_hex')));
            const sig = api.sign(d, msg, { userId: id, testK: big(str(v, 'k_hex')) });
            assert.equal(toHex(sig), lower(exp(v, 'r_hex') + exp(v, 's_hex')));
            assert.equal(toHex(sig), lower(exp(v, 'signature_raw_hex')));
            assert.equal(toHex(sm2SignatureToDer(sig)), lower(exp(v, 'signature_der_hex')));
            assert.deepEqual(sm2SignatureFromDer(fromHex(exp(v, 'signature_der_hex'))), sig);
            const digestSig = api.signDigest(d, fromHex(exp(v, 'e_hex')), { testK: big(str(v, 'k_hex')) });
            assert.deepEqual(digestSig, sig);
            assert.equal(api.verify(pub, msg, sig, { userId: id }), true);
            assert.equal(api.verify(pub, msg, fromHex(exp(v, 'signature_der_hex')), { userId: id }), true);
            assert.equal(api.verifyDigest(pub, fromHex(exp(v, 'e_hex')), sig), true);
            assert.equal(api.verify(pub, msg, sig, { userId: 'ALICE123@YAHOO.COM' }), false);
          });
        }
        it(`${v.name} [sm-crypto]`, () => {
          const msg = fromHex(str(v, 'message_hex'));
          const pubHex = lower(exp(v, 'public_key_hex'));
          // getPublicKeyFromPrivateKey exists at runtime but not in @types/sm-crypto
          const smc = smCrypto.sm2 as unknown as { getPublicKeyFromPrivateKey(d: string): string };
          assert.equal(smc.getPublicKeyFromPrivateKey(lower(str(v, 'private_key_hex'))), pubHex);
          assert.ok(
            smCrypto.sm2.doVerifySignature(Array.from(msg), lower(exp(v, 'signature_raw_hex')), pubHex, {
              hash: true,
              userId: str(v, 'user_id'),
            }),
          );
        });
      } else {
        it(`${v.name} [JS, curve from the vector]`, () => {
          const c = v.inputs['curve'] as Record<string, string>;
          const params = {
            p: big(c['p']!),
            a: big(c['a']!),
            b: big(c['b']!),
            n: big(c['n']!),
            Gx: big(c['Gx']!),
            Gy: big(c['Gy']!),
          };
          const sm2 = sm2OnCurve(params, 'GB/T 32918.2 Fp-256 example');
          const d = fromHex(str(v, 'private_key_hex'));
          const msg = new TextEncoder().encode(str(v, 'message'));
          const id = str(v, 'user_id');
          const k = big(str(v, 'k_hex'));
          const pub = sm2.publicFromPrivate(d);
          assert.equal(toHex(pub), lower(exp(v, 'public_key_hex')));
          assert.equal(toHex(sm2.za(pub, id)), lower(exp(v, 'Z_A_hex')));
          const e = sm3(new Uint8Array([...sm2.za(pub, id), ...msg]));
          assert.equal(toHex(e), lower(exp(v, 'e_hex')));
          const x1 = createSm2Curve(params, 'x').Point.BASE.multiply(k).toAffine().x;
          assert.equal(x1.toString(16).padStart(64, '0'), lower(exp(v, 'x1_hex')));
          const sig = sm2.sign(d, msg, id, k);
          assert.equal(toHex(sig), lower(exp(v, 'r_hex') + exp(v, 's_hex')));
          assert.equal(sm2.verify(pub, msg, sig, id), true);
          assert.equal(sm2.verify(pub, msg, sig, '1234567812345678'), false);
          const bad = Uint8Array.from(sig);
          bad[63]! ^= 1;
          assert.equal(sm2.verify(pub, msg, bad, id), false);
        });
      }
    }
  });

  it('every vector in the file was used by a test above', () => {
    const unused = vectors.filter((v) => !handled.has(v.name)).map((v) => `${v.algorithm}: ${v.name}`);
    assert.deepEqual(unused, []);
  });
});
