/**
 * The C crypto (protocol/crypto/native/, and cp_soft_crypto() on top of it) against published
 * vectors and edge cases, for each limb path: the 64-bit host build, the portable 32-bit build
 * (CP_LIMB32, as on Cortex-M4) with its default comb spacing 2, and with spacing 4. The randomised
 * cross-checks against the TypeScript reference are in crypto-cross.test.ts.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { p256 as nobleP256 } from '@noble/curves/nist.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { p256GenerateKeyPair, p256PublicFromPrivate, p256Sign, sm3 } from '../../protocol/crypto/index.js';
import { sm3Portable } from '../../protocol/crypto/sm3-js.js';
import { bigIntToBytes } from '../../protocol/crypto/random.js';
import { ROOT } from '../support/cc.js';
import {
  BUILDS,
  CP_CRYPTO_FAILED,
  CP_OK,
  G_SM2,
  N_P256,
  N_SM2,
  P_P256,
  P_SM2,
  RFC6979,
  ascii,
  driver,
  hex32,
  js,
  need,
  sha256,
  sm2Curve,
  sm2Sig,
  smallXPoint,
  vectors,
} from './crypto-driver.js';

for (const build of BUILDS) {
  describe(`C crypto, ${build.label}`, function () {
    this.timeout(120_000);
    let run: (lines: string[]) => string[];
    before(() => {
      run = driver(build);
    });

    it('SM3: every SM3 vector of test/vectors, in one piece and in 1, 7 and 64-byte pieces', () => {
      const sm3v = vectors.filter((v) => v.algorithm === 'SM3');
      assert.ok(sm3v.length >= 6);
      const cmds = sm3v.flatMap((v) => [
        `sm3 ${need(v.inputs, 'message_hex')}`,
        ...[1, 7, 64].map((n) => `sm3parts ${need(v.inputs, 'message_hex')} ${n}`),
      ]);
      const out = run(cmds);
      sm3v.forEach((v, i) => {
        for (let j = 0; j < 4; j++) assert.equal(out[i * 4 + j], need(v.expected, 'digest_hex').toLowerCase(), v.name);
      });
    });

    it('SHA-256: FIPS 180 examples, and random lengths 0..300 against OpenSSL (one piece and 13-byte pieces)', () => {
      const fixed = [
        ['.', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
        [ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
        [
          ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
          '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
        ],
      ];
      const msgs = Array.from({ length: 60 }, (_, i) => randomBytes((i * 37) % 301));
      const out = run([
        ...fixed.map(([m]) => `sha256 ${m}`),
        ...msgs.flatMap((m) => [`sha256 ${toHex(m) || '.'}`, `sha256parts ${toHex(m) || '.'} 13`]),
      ]);
      fixed.forEach(([, want], i) => assert.equal(out[i], want));
      msgs.forEach((m, i) => {
        assert.equal(out[3 + 2 * i], sha256(m), `length ${m.length}`);
        assert.equal(out[4 + 2 * i], sha256(m), `length ${m.length}, in pieces`);
      });
    });

    it('SM3: random lengths 0..300 against both TypeScript SM3 implementations', () => {
      const msgs = Array.from({ length: 60 }, (_, i) => randomBytes((i * 41) % 301));
      const out = run(msgs.map((m) => `sm3parts ${toHex(m) || '.'} 11`));
      msgs.forEach((m, i) => {
        assert.equal(out[i], toHex(sm3(m)));
        assert.equal(out[i], toHex(sm3Portable(m)));
      });
    });

    it('SM2: the GB/T 32918 recommended-curve vector (public key, Z_A, fixed-k signature, verification)', () => {
      const vi = sm2Sig.inputs;
      const ve = sm2Sig.expected;
      const i = {
        private_key_hex: need(vi, 'private_key_hex'),
        user_id: need(vi, 'user_id'),
        k_hex: need(vi, 'k_hex'),
        message_hex: need(vi, 'message_hex'),
      };
      const e = {
        public_key_hex: need(ve, 'public_key_hex'),
        Z_A_hex: need(ve, 'Z_A_hex'),
        e_hex: need(ve, 'e_hex'),
        signature_raw_hex: need(ve, 'signature_raw_hex'),
      };
      const out = run([
        `sm2pub ${i.private_key_hex}`,
        `sm2za ${e.public_key_hex} ${ascii(i.user_id)}`,
        `sm2sign ${i.private_key_hex} ${e.e_hex} ${i.k_hex}`,
        `sm2verify ${e.public_key_hex} ${e.e_hex} ${e.signature_raw_hex}`,
        `digest 1 ${i.message_hex}`,
        `verify 1 ${e.public_key_hex} ${i.message_hex} ${e.signature_raw_hex}`,
        `verify 1 ${e.public_key_hex} ${i.message_hex}00 ${e.signature_raw_hex}`,
      ]);
      assert.equal(out[0], e.public_key_hex.toLowerCase());
      assert.equal(out[1], e.Z_A_hex.toLowerCase());
      assert.equal(out[2], e.signature_raw_hex.toLowerCase());
      assert.equal(out[3], '1');
      assert.equal(out[4], toHex(sm3(fromHex(i.message_hex)))); // ops digest is plain SM3
      assert.equal(out[5], CP_OK);
      assert.equal(out[6], CP_CRYPTO_FAILED);
    });

    it('sm2p256v1 constants: d = 1 gives G, n*G and (n-1)G + G are the identity, (n-1)G = -G', () => {
      const out = run([
        `sm2pub ${hex32(1n)}`,
        `sm2muladd ${hex32(N_SM2)} ${G_SM2} ${hex32(0n)}`,
        `sm2muladd ${hex32(N_SM2 - 1n)} ${G_SM2} ${hex32(1n)}`,
        `sm2muladd ${hex32(N_SM2 - 1n)} ${G_SM2} ${hex32(0n)}`,
      ]);
      assert.equal(out[0], G_SM2);
      assert.equal(out[1], 'INF');
      assert.equal(out[2], 'INF');
      assert.equal(out[3], `04${sm2Curve.Gx.toLowerCase()}${hex32(P_SM2 - BigInt(`0x${sm2Curve.Gy}`))}`);
    });

    it('P-256: RFC 6979 A.2.5 public key and both signatures with the RFC k, bit for bit; ops verify them', () => {
      const cmds = [`p256pub ${RFC6979.d}`];
      for (const c of RFC6979.cases) {
        const h = sha256(Buffer.from(c.msg));
        cmds.push(`p256sign ${RFC6979.d} ${h} ${c.k}`, `verify 2 ${RFC6979.pub} ${ascii(c.msg)} ${c.sig}`);
      }
      cmds.push(`verify 2 ${RFC6979.pub} ${ascii('test')} ${RFC6979.cases[0]!.sig}`);
      const out = run(cmds);
      assert.equal(out[0], RFC6979.pub.toLowerCase());
      assert.equal(out[1], RFC6979.cases[0]!.sig.toLowerCase());
      assert.equal(out[2], CP_OK);
      assert.equal(out[3], RFC6979.cases[1]!.sig.toLowerCase());
      assert.equal(out[4], CP_OK);
      assert.equal(out[5], CP_CRYPTO_FAILED);
    });

    it('private key ranges: SM2 [1, n-2], P-256 [1, n-1]; out-of-range fixed k refused; RNG failure reported', () => {
      const d = hex32(12345n);
      const e = hex32(777n);
      const out = run([
        `sm2pub ${hex32(0n)}`,
        `sm2pub ${hex32(N_SM2 - 1n)}`,
        `sm2pub ${hex32(N_SM2 - 2n)}`,
        `p256pub ${hex32(0n)}`,
        `p256pub ${hex32(N_P256)}`,
        `p256pub ${hex32(N_P256 - 1n)}`,
        `sm2sign ${hex32(N_SM2 - 1n)} ${e} -`,
        `sm2sign ${d} ${e} ${hex32(0n)}`,
        `sm2sign ${d} ${e} ${hex32(N_SM2)}`,
        `p256sign ${d} ${e} ${hex32(0n)}`,
        `p256sign ${d} ${e} ${hex32(N_P256)}`,
        'rngfail',
        `sm2sign ${d} ${e} -`,
        'rngfail',
        'keygen 1',
        'rngfail',
        `sign 2 ${d} ${RFC6979.pub} ${ascii('x')}`,
        'keygen 3',
        `digest 3 ${ascii('x')}`,
      ]);
      assert.equal(out[0], 'ERR 0');
      assert.equal(out[1], 'ERR 0');
      assert.equal(out[2], toHex(js.publicFromPrivate(bigIntToBytes(N_SM2 - 2n, 32))));
      assert.equal(out[3], 'ERR 0');
      assert.equal(out[4], 'ERR 0');
      assert.equal(out[5], toHex(p256PublicFromPrivate(bigIntToBytes(N_P256 - 1n, 32))));
      assert.equal(out[6], 'ERR 0');
      assert.deepEqual(out.slice(7, 11), ['ERR -1', 'ERR -1', 'ERR -1', 'ERR -1']);
      assert.equal(out[12], 'ERR -2');
      assert.equal(out[14], 'ERR 7'); // CP_RNG_FAILED
      assert.equal(out[16], 'ERR 7');
      assert.equal(out[17], 'ERR 8'); // CP_BAD_ARG: unknown algorithm
      assert.equal(out[18], 'ERR 8');
    });

    it('public keys refused per §9.5 (format, infinity, coordinates >= p even when congruent, off the curve)', () => {
      const sig = need(sm2Sig.expected, 'signature_raw_hex');
      const gy = BigInt(`0x${sm2Curve.Gy}`);
      const small = smallXPoint(P_SM2, BigInt(`0x${sm2Curve.b}`));
      const smallP = smallXPoint(P_P256, nobleP256.Point.CURVE().b);
      const bad = [
        `02${sm2Curve.Gx}${sm2Curve.Gy}`,
        `06${sm2Curve.Gx}${sm2Curve.Gy}`,
        `04${hex32(0n)}${hex32(0n)}`,
        `04${sm2Curve.Gx}${hex32(gy + 1n)}`,
        `04${hex32(P_SM2)}${sm2Curve.Gy}`,
        `04${hex32(small.x + P_SM2)}${hex32(small.y)}`, // x congruent to a valid x
        `04${sm2Curve.Gx}${hex32(P_SM2)}`, // y = p
      ];
      const out = run([
        ...bad.map((k) => `sm2verify ${k} ${hex32(1n)} ${sig}`),
        `sm2verify 04${hex32(small.x)}${hex32(small.y)} ${hex32(1n)} ${sig}`,
        `p256verify 04${hex32(smallP.x + P_P256)}${hex32(smallP.y)} ${hex32(1n)} ${RFC6979.cases[0]!.sig}`,
        `p256verify 04${hex32(smallP.x)}${hex32(smallP.y)} ${hex32(1n)} ${RFC6979.cases[0]!.sig}`,
        `verify 1 04${hex32(0n)}${hex32(0n)} ${ascii('x')} ${sig}`,
        `verify 2 04${hex32(0n)}${hex32(0n)} ${ascii('x')} ${sig}`,
      ]);
      bad.forEach((k, i) => assert.equal(out[i], 'ERR KEY', k));
      // the same points written with coordinates < p are keys: merely signatures that do not verify
      assert.equal(out[bad.length], '0');
      assert.equal(out[bad.length + 1], 'ERR KEY');
      assert.equal(out[bad.length + 2], '0');
      assert.equal(out[bad.length + 3], CP_CRYPTO_FAILED);
      assert.equal(out[bad.length + 4], CP_CRYPTO_FAILED);
    });

    it('r = 0, r + k = n (SM2) and s = 0 (ECDSA): a fixed k is refused, a random k is drawn again', () => {
      // the driver's RNG is SHA-256(seed || counter): the test knows the first nonce it will draw
      const seed = randomBytes(32);
      const firstK = BigInt(`0x${sha256(Buffer.concat([seed, Buffer.from([0, 0, 0, 0])]))}`);
      const big = (b: Uint8Array): bigint => BigInt(`0x${toHex(b)}`);
      const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
      assert.ok(firstK > 0n && firstK < N_SM2 - 1n && firstK < N_P256, 'first nonce in range (fails with p ~ 2^-31)');
      const k = bigIntToBytes(firstK, 32);
      const x1Sm2 = big(js.publicFromPrivate(k).subarray(1, 33)); // x of k*G
      const r1P256 = mod(big(p256PublicFromPrivate(k).subarray(1, 33)), N_P256);
      const kp = js.generateKeyPair();
      const pk = p256GenerateKeyPair();
      const eZeroR = mod(-x1Sm2, N_SM2); // r = e + x1 = 0
      const eRkN = mod(N_SM2 - firstK - x1Sm2, N_SM2); // r + k = n
      const hZeroS = mod(-r1P256 * big(pk.privateKey), N_P256); // h + r d = 0, so s = 0
      const d = toHex(kp.privateKey);
      const out = run([
        `sm2sign ${d} ${hex32(eZeroR)} ${toHex(k)}`,
        `sm2sign ${d} ${hex32(eRkN)} ${toHex(k)}`,
        `p256sign ${toHex(pk.privateKey)} ${hex32(hZeroS)} ${toHex(k)}`,
        `seed ${toHex(seed)}`,
        `sm2sign ${d} ${hex32(eZeroR)} -`,
        `seed ${toHex(seed)}`,
        `sm2sign ${d} ${hex32(eRkN)} -`,
        `seed ${toHex(seed)}`,
        `p256sign ${toHex(pk.privateKey)} ${hex32(hZeroS)} -`,
        `sm2sign ${d} ${hex32(eZeroR + 1n)} ${toHex(k)}`, // control: the same k is fine for another e
      ]);
      assert.deepEqual(out.slice(0, 3), ['ERR -1', 'ERR -1', 'ERR -1']);
      assert.equal(js.verifyDigest(kp.publicKey, bigIntToBytes(eZeroR, 32), fromHex(out[4]!)), true);
      assert.equal(js.verifyDigest(kp.publicKey, bigIntToBytes(eRkN, 32), fromHex(out[6]!)), true);
      const sig = fromHex(out[8]!);
      assert.ok(nobleP256.verify(sig, bigIntToBytes(hZeroS, 32), pk.publicKey, { prehash: false, lowS: false }));
      assert.notEqual(big(sig.subarray(0, 32)), r1P256, 'signed with the second nonce');
      assert.equal(out[9]!.slice(0, 64), hex32(1n));
    });

    it('verification refuses r, s outside [1, n-1] and t = 0; P-256 accepts high S', () => {
      const kp = js.generateKeyPair();
      const e = randomBytes(32);
      const good = js.signDigest(kp.privateKey, e);
      const r = BigInt(`0x${toHex(good.subarray(0, 32))}`);
      const s = BigInt(`0x${toHex(good.subarray(32))}`);
      const pub = toHex(kp.publicKey);
      const eh = toHex(e);
      const pk = p256GenerateKeyPair();
      const msg = randomBytes(50);
      const ps = p256Sign(pk.privateKey, msg);
      const pr = BigInt(`0x${toHex(ps.subarray(0, 32))}`);
      const pss = BigInt(`0x${toHex(ps.subarray(32))}`);
      const h = sha256(msg);
      const out = run([
        `sm2verify ${pub} ${eh} ${toHex(good)}`,
        `sm2verify ${pub} ${eh} ${hex32(0n)}${hex32(s)}`,
        `sm2verify ${pub} ${eh} ${hex32(r)}${hex32(0n)}`,
        `sm2verify ${pub} ${eh} ${hex32(r)}${hex32(N_SM2)}`,
        `sm2verify ${pub} ${eh} ${hex32(r)}${hex32(N_SM2 - r)}`, // t = 0
        `sm2verify ${pub} ${eh} ${hex32(r)}${hex32(N_SM2 - s)}`, // SM2 is not malleable
        `p256verify ${toHex(pk.publicKey)} ${h} ${toHex(ps)}`,
        `p256verify ${toHex(pk.publicKey)} ${h} ${hex32(pr)}${hex32(N_P256 - pss)}`, // high/low S twin
        `p256verify ${toHex(pk.publicKey)} ${h} ${hex32(pr)}${hex32(0n)}`,
        `p256verify ${toHex(pk.publicKey)} ${h} ${hex32(N_P256)}${hex32(pss)}`,
      ]);
      assert.deepEqual(out, ['1', '0', '0', '0', '0', '0', '1', '1', '0', '0']);
    });
  });
}

describe('C crypto: the generated tables', () => {
  it('protocol/crypto/native/ec_*_table.h are what scripts/gen-ec-tables.mjs generates', function () {
    this.timeout(60_000);
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-ec-tables.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});
