/**
 * Randomised cross-checks of the C crypto against the TypeScript reference, for each limb path
 * (builds as in crypto-c.test.ts). The reference side is independent of this C code: SM2 through
 * the pure-JS backend (@noble/curves; the default native backend *is* this C code), P-256 through
 * OpenSSL (node:crypto). CRYPTO_CASES sets the number of keys per algorithm (default 200).
 *
 * Two more 64-bit builds keep the verification paths that x86-64 hosts do not use by default
 * checked too: the portable Jacobian verification (CP_SM2_FAST_VERIFY=0, what other 64-bit hosts
 * run) and the fast one with its portable carry chains (CP_SM2P_PORTABLE, ec_sm2p_fast.h).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { p256GenerateKeyPair, p256PublicFromPrivate, p256Sign, p256Verify } from '../../protocol/crypto/index.js';
import { bigIntToBytes } from '../../protocol/crypto/random.js';
import {
  BUILDS,
  CASES,
  CP_CRYPTO_FAILED,
  CP_OK,
  G_SM2,
  N_SM2,
  driver,
  hex32,
  js,
  type Build,
} from './crypto-driver.js';

const VERIFY_BUILDS: Build[] = [
  { label: '64-bit limbs, portable verification (CP_SM2_FAST_VERIFY=0)', defines: ['CP_SM2_FAST_VERIFY=0'] },
  { label: '64-bit limbs, fast verification with portable carries', defines: ['CP_SM2P_PORTABLE=1'] },
];

for (const build of [...BUILDS, ...VERIFY_BUILDS]) {
  describe(`C crypto, ${build.label}, against the TypeScript reference`, function () {
    this.timeout(120_000);
    let run: (lines: string[]) => string[];
    before(() => {
      run = driver(build);
    });

    it('s*G + t*P with and without the per-key table equals the JS backend (edge scalars and random)', () => {
      const kp = js.generateKeyPair();
      const pub = toHex(kp.publicKey);
      const edge = [0n, 1n, 7n, 8n, 9n, N_SM2 - 6n, N_SM2 - 1n, N_SM2, N_SM2 + 5n, (1n << 256n) - 1n];
      edge.push(BigInt(`0x${'88'.repeat(32)}`), BigInt(`0x${'78'.repeat(32)}`), BigInt(`0x8${'0'.repeat(63)}`));
      const pairs: [bigint, bigint][] = [];
      for (const a of edge) for (const b of [0n, 1n, N_SM2 - 1n, BigInt(`0x${'88'.repeat(32)}`)]) pairs.push([a, b]);
      for (let i = 0; i < 20; i++)
        pairs.push([BigInt(`0x${toHex(randomBytes(32))}`), BigInt(`0x${toHex(randomBytes(32))}`)]);
      const out = run(pairs.map(([a, b]) => `sm2muladd ${hex32(a)} ${pub} ${hex32(b)}`));
      pairs.forEach(([a, b], i) => {
        const want = js.mulAdd(bigIntToBytes(a, 32), kp.publicKey, bigIntToBytes(b, 32));
        assert.equal(out[i], want === null ? 'INF' : toHex(want), `s=${a.toString(16)} t=${b.toString(16)}`);
      });
      // P = G: s*G + t*G hits the doubling and cancelling cases of the Jacobian mixed addition
      const g = run([
        `sm2muladd ${hex32(5n)} ${G_SM2} ${hex32(N_SM2 - 5n)}`,
        `sm2muladd ${hex32(3n)} ${G_SM2} ${hex32(3n)}`,
      ]);
      assert.equal(g[0], 'INF');
      assert.equal(g[1], toHex(js.publicFromPrivate(bigIntToBytes(6n, 32))));
    });

    it(`SM2 randomized: ${CASES} keys, C signs -> JS verifies, JS signs -> C verifies, tampering fails`, () => {
      const cases = Array.from({ length: CASES }, (_, i) => ({ kp: js.generateKeyPair(), msg: randomBytes(i % 230) }));
      const cmds = [`seed ${toHex(randomBytes(32))}`];
      for (const { kp, msg } of cases) {
        const m = toHex(msg) || '.';
        const jsSig = toHex(js.sign(kp.privateKey, msg));
        cmds.push(`sm2pub ${toHex(kp.privateKey)}`, `sign 1 ${toHex(kp.privateKey)} ${toHex(kp.publicKey)} ${m}`);
        cmds.push(
          `verify 1 ${toHex(kp.publicKey)} ${m} ${jsSig}`,
          `verify 1 ${toHex(kp.publicKey)} ${toHex(msg)}ff ${jsSig}`,
        );
      }
      const out = run(cmds);
      cases.forEach(({ kp, msg }, i) => {
        const [pub, sig, ok, tampered] = out.slice(1 + 4 * i, 5 + 4 * i);
        assert.equal(pub, toHex(kp.publicKey));
        assert.equal(js.verify(kp.publicKey, msg, fromHex(sig!)), true, `C signature ${i}`);
        const bad = fromHex(sig!);
        bad[i % 64]! ^= 1 << (i % 8);
        assert.equal(js.verify(kp.publicKey, msg, bad), false);
        assert.equal(ok, CP_OK, `JS signature ${i}`);
        assert.equal(tampered, CP_CRYPTO_FAILED);
      });
    });

    it(`P-256 randomized: ${CASES} keys, C signs -> OpenSSL verifies, OpenSSL signs -> C verifies`, () => {
      const cases = Array.from({ length: CASES }, (_, i) => ({ kp: p256GenerateKeyPair(), msg: randomBytes(i % 230) }));
      const cmds = [`seed ${toHex(randomBytes(32))}`];
      for (const { kp, msg } of cases) {
        const m = toHex(msg) || '.';
        const sslSig = toHex(p256Sign(kp.privateKey, msg));
        cmds.push(`p256pub ${toHex(kp.privateKey)}`, `sign 2 ${toHex(kp.privateKey)} ${toHex(kp.publicKey)} ${m}`);
        cmds.push(
          `verify 2 ${toHex(kp.publicKey)} ${m} ${sslSig}`,
          `verify 2 ${toHex(kp.publicKey)} ${toHex(msg)}ff ${sslSig}`,
        );
      }
      const out = run(cmds);
      cases.forEach(({ kp, msg }, i) => {
        const [pub, sig, ok, tampered] = out.slice(1 + 4 * i, 5 + 4 * i);
        assert.equal(pub, toHex(kp.publicKey));
        assert.equal(p256Verify(kp.publicKey, msg, fromHex(sig!)), true, `C signature ${i}`);
        assert.equal(ok, CP_OK, `OpenSSL signature ${i}`);
        assert.equal(tampered, CP_CRYPTO_FAILED);
      });
    });

    it('key generation through the ops table: keys in range whose public half the references derive', () => {
      const out = run([
        `seed ${toHex(randomBytes(32))}`,
        ...Array.from({ length: 40 }, (_, i) => `keygen ${1 + (i % 2)}`),
      ]);
      const seen = new Set<string>();
      out.slice(1).forEach((line, i) => {
        const [priv, pub] = line.split(' ');
        assert.ok(priv && pub && !seen.has(priv), line);
        seen.add(priv);
        const d = fromHex(priv);
        if (i % 2 === 0) assert.equal(pub, toHex(js.publicFromPrivate(d)));
        else assert.equal(pub, toHex(p256PublicFromPrivate(d)));
      });
    });
  });
}
