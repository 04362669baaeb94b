/**
 * Constant-time check (ctgrind): test/firmware/c/ct_sign.c runs SM2 and ECDSA P-256 key
 * derivation, signing and key generation under valgrind memcheck with private keys and RNG output
 * marked undefined. Any branch or memory index that depends on them is a memcheck error, and the
 * run fails. The 64-bit path is checked at -O3 (the Node addon's level), the 32-bit one at -O2 and
 * -Os (the Cortex-M4 build's level): an optimiser may turn a masked
 * select into a branch, so the check runs on what the builds actually produce. A build with a planted secret-dependent branch, and one
 * with a planted secret table index, must be caught: the check can fail.
 */
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { p256 as nobleP256 } from '@noble/curves/nist.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { p256PublicFromPrivate } from '../../protocol/crypto/index.js';
import { createSm2Api } from '../../protocol/crypto/sm2-api.js';
import { createJsBackend } from '../../protocol/crypto/sm2-js.js';
import { SM2_CURVE } from '../../protocol/crypto/sm2-core.js';
import { ROOT, buildC, runC } from '../support/cc.js';
import { requireSystem, which } from '../support/system.js';

const NATIVE = 'protocol/crypto/native';
const SECRET_BRANCH = 'Conditional jump or move depends on uninitialised value';
const SECRET_INDEX = 'Use of uninitialised value of size';
const js = createSm2Api(createJsBackend(SM2_CURVE));

function sources(): string[] {
  return readdirSync(join(ROOT, NATIVE))
    .filter((f) => f.endsWith('.c') && f !== 'cardpost_crypto.c')
    .sort()
    .map((f) => `${NATIVE}/${f}`);
}

function valgrind(
  name: string,
  defines: string[],
  flags: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  const exe = buildC({
    name,
    sources: ['test/firmware/c/ct_sign.c', ...sources()],
    includes: [NATIVE],
    defines: ['CP_CT_CHECK=1', ...defines],
    flags,
  });
  const r = runC('valgrind', ['--error-exitcode=1', '--track-origins=yes', '-q', exe]);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The private keys ct_sign.c derives (secret_key()), to check its outputs independently. */
function harnessKey(seed: number): Uint8Array {
  const d = new Uint8Array(32);
  for (let i = 0; i < 32; i++) d[i] = (seed * 31 + i * 7 + 1) & 0xff;
  d[0]! &= 0x7f;
  return d;
}

function checkOutputs(stdout: string): void {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 2 * 2 * 5, stdout);
  let i = 0;
  for (let key = 0; key < 2; key++) {
    for (const alg of ['sm2', 'p256'] as const) {
      const d = harnessKey(key + 16 * (alg === 'sm2' ? 1 : 2));
      const pub = fromHex(lines[i++]!.split(' ').pop()!);
      assert.equal(toHex(pub), toHex(alg === 'sm2' ? js.publicFromPrivate(d) : p256PublicFromPrivate(d)));
      for (let s = 0; s < 2; s++) {
        const e = new Uint8Array(32).fill(0xa0 + s);
        const sig = fromHex(lines[i++]!.split(' ').pop()!);
        const ok =
          alg === 'sm2' ? js.verifyDigest(pub, e, sig) : nobleP256.verify(sig, e, pub, { prehash: false, lowS: false });
        assert.ok(ok, `${alg} signature ${s} of key ${key}`);
      }
      const priv = fromHex(lines[i++]!.split(' ').pop()!);
      const kpub = fromHex(lines[i++]!.split(' ').pop()!);
      assert.equal(toHex(kpub), toHex(alg === 'sm2' ? js.publicFromPrivate(priv) : p256PublicFromPrivate(priv)));
    }
  }
}

describe('constant-time check under valgrind (ctgrind)', function () {
  this.timeout(120_000);
  before(function () {
    requireSystem(this, which('valgrind') ? [] : ['valgrind'], 'apt-get install valgrind');
  });

  const builds: [string, string[], string[]][] = [
    // The addon's build (node-gyp: -O3) and the card's (-Os), plus -O2 for a card maker's other choice.
    ['64-bit limbs, -O3 (as node-gyp builds the addon)', [], ['-O3']],
    ['32-bit limbs, -O2', ['CP_LIMB32=1'], []],
    ['32-bit limbs, -Os', ['CP_LIMB32=1'], ['-Os']],
  ];
  for (const [label, defines, flags] of builds) {
    it(`${label}: no branch or index on keys or nonces; outputs check against the references`, () => {
      const r = valgrind(`ct_sign${defines.join('')}${flags.join('')}`, defines, flags);
      assert.ok(!r.stderr.includes(SECRET_BRANCH) && !r.stderr.includes(SECRET_INDEX), r.stderr);
      assert.equal(r.status, 0, r.stderr);
      checkOutputs(r.stdout);
    });
  }

  it('a planted secret-dependent branch (skipping zero digits) is caught, in ec_mul_base_ct', () => {
    const r = valgrind('ct_sign_leak_branch', ['CT_SELFTEST_LEAK=1']);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(SECRET_BRANCH), r.stderr);
    assert.ok(r.stderr.includes('ec_mul_base_ct'), r.stderr);
  });

  it('a planted secret table index is caught, in ec_mul_base_ct', () => {
    const r = valgrind('ct_sign_leak_index', ['CT_SELFTEST_LEAK=2']);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(SECRET_INDEX), r.stderr);
    assert.ok(r.stderr.includes('ec_mul_base_ct'), r.stderr);
  });
});
