/**
 * Shared by the C crypto suites (crypto-c.test.ts, crypto-cross.test.ts): the builds of
 * test/firmware/c/crypto_driver.c (one per limb path and comb spacing), the published vectors and
 * curve constants, and the independent references. Not a test file itself.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { p256 as nobleP256 } from '@noble/curves/nist.js';
import { toHex } from '../../protocol/bytes.js';
import { createSm2Api } from '../../protocol/crypto/sm2-api.js';
import { createJsBackend } from '../../protocol/crypto/sm2-js.js';
import { SM2_CURVE } from '../../protocol/crypto/sm2-core.js';
import { bigIntToBytes } from '../../protocol/crypto/random.js';
import { ROOT, buildC, runC } from '../support/cc.js';

export const NATIVE = 'protocol/crypto/native';
export const CASES = Number(process.env.CRYPTO_CASES ?? 200);

/** The crypto's C files (not the Node glue) plus the ops table. */
export function cryptoSources(): string[] {
  return readdirSync(join(ROOT, NATIVE))
    .filter((f) => f.endsWith('.c') && f !== 'cardpost_crypto.c')
    .sort()
    .map((f) => `${NATIVE}/${f}`)
    .concat('firmware-bindings/core/src/cp_soft_crypto.c');
}

export interface Build {
  label: string;
  defines: string[];
}
export const BUILDS: Build[] = [
  { label: '64-bit limbs', defines: [] },
  { label: '32-bit limbs (CP_LIMB32, comb spacing 2)', defines: ['CP_LIMB32=1'] },
  { label: '32-bit limbs (CP_LIMB32, comb spacing 4)', defines: ['CP_LIMB32=1', 'EC_COMB_SPACING=4'] },
];

export function driver(b: Build): (lines: string[]) => string[] {
  const exe = buildC({
    name: `crypto_driver${b.defines.map((d) => `-${d.split('=')[0]}${d.split('=')[1]}`).join('')}`,
    sources: ['test/firmware/c/crypto_driver.c', ...cryptoSources()],
    includes: [NATIVE, 'firmware-bindings/core/include'],
    defines: b.defines,
  });
  return (lines) => {
    const r = runC(exe, [], `${lines.join('\n')}\n`);
    assert.equal(r.status, 0, `driver exited with ${r.status}: ${r.stderr}`);
    const out = r.stdout.trimEnd().split('\n');
    assert.equal(out.length, lines.length, `one answer per command:\n${r.stdout}`);
    return out;
  };
}

export interface Vector {
  name: string;
  algorithm: string;
  inputs: Fields;
  expected: Fields;
}
/** Vector fields this suite reads; a missing one fails the JSON check below. */
export interface Fields {
  [k: string]: string;
}
export const vectors = JSON.parse(readFileSync(join(ROOT, 'test/vectors/sm2-sm3-sm4.json'), 'utf8')) as Vector[];
/** A field that must be present (strings only, as the vector file has them). */
export function need(f: Fields, key: string): string {
  const v = f[key];
  if (typeof v !== 'string') throw new Error(`vector field ${key} missing`);
  return v;
}
export const curveIn = vectors.find((v) => v.algorithm === 'SM2-curve')!.inputs;
export const sm2Curve = {
  p: need(curveIn, 'p'),
  b: need(curveIn, 'b'),
  n: need(curveIn, 'n'),
  Gx: need(curveIn, 'Gx'),
  Gy: need(curveIn, 'Gy'),
};
export const sm2Sig = vectors.find((v) => v.algorithm.startsWith('SM2-sign') && v.inputs.curve === 'sm2p256v1')!;
export const N_SM2 = BigInt(`0x${sm2Curve.n}`);
export const P_SM2 = BigInt(`0x${sm2Curve.p}`);
export const N_P256 = nobleP256.Point.CURVE().n;
export const P_P256 = nobleP256.Point.CURVE().p;
export const hex32 = (x: bigint): string => toHex(bigIntToBytes(x, 32));
export const G_SM2 = `04${sm2Curve.Gx}${sm2Curve.Gy}`.toLowerCase();
export const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex') || '.';

// RFC 6979 A.2.5: P-256, SHA-256, with the deterministic k the RFC lists
export const RFC6979 = {
  d: 'C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721',
  pub: '0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299',
  cases: [
    {
      msg: 'sample',
      k: 'A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60',
      sig: 'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8',
    },
    {
      msg: 'test',
      k: 'D16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0',
      sig: 'F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083',
    },
  ],
};

/** A point (x, y) with x < 2^32, so that x + p still fits in 32 bytes (p = 3 mod 4 for both curves). */
export function smallXPoint(p: bigint, b: bigint): { x: bigint; y: bigint } {
  const pow = (a: bigint, e: bigint): bigint => {
    let r = 1n;
    for (a %= p; e > 0n; e >>= 1n, a = (a * a) % p) if (e & 1n) r = (r * a) % p;
    return r;
  };
  for (let x = 1n; ; x++) {
    const rhs = (((x * x * x - 3n * x + b) % p) + p) % p;
    const y = pow(rhs, (p + 1n) / 4n);
    if ((y * y) % p === rhs) return { x, y };
  }
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const js = createSm2Api(createJsBackend(SM2_CURVE));
export const CP_OK = '0';
export const CP_CRYPTO_FAILED = '9';
