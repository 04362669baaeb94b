/**
 * The other parts' own C test drivers, compiled for the Cortex-M4 and run under qemu-system-arm
 * (newlib stdio over semihosting, firmware-bindings/arm/hosted_start.c; the whole 4 MB SSRAM, since
 * these drivers malloc big test flashes: this is about the code on the target, not the budget):
 *  - the NVM store's unit, model-based and exhaustive tearing drivers (test/firmware/c/store_*.c);
 *  - the crypto driver (test/firmware/c/crypto_driver.c) on the 32-bit limbs, against published
 *    vectors, and line for line against the same driver on the host (64-bit limbs) for random input.
 * Deterministic drivers must print the same on both: a difference is a portability bug.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildHostedProgram } from '../../scripts/build-firmware-arm.mjs';
import { QEMU_MACHINE } from '../../firmware-bindings/arm/qemu-card.js';
import { ROOT, buildC, runC } from '../support/cc.js';
import { requireArmImages } from './arm-support.js';

const CORE = 'firmware-bindings/core';
const STORE = ['cp_store.c', 'cp_store_format.c', 'cp_store_mount.c', 'cp_store_write.c'].map(
  (f) => `${CORE}/src/${f}`,
);
const HARNESS = ['firmware-bindings/host/flash_sim.c', 'test/firmware/c/store_harness.c'];
const STORE_INCLUDES = [`${CORE}/include`, 'firmware-bindings/host'];
const NATIVE = 'protocol/crypto/native';

function cryptoSources(): string[] {
  return readdirSync(join(ROOT, NATIVE))
    .filter((f) => f.endsWith('.c') && f !== 'cardpost_crypto.c')
    .sort()
    .map((f) => `${NATIVE}/${f}`)
    .concat(`${CORE}/src/cp_soft_crypto.c`);
}

/** Runs a hosted ARM program under QEMU; its arguments go through -append. */
function qemu(elf: string, args: string[], input = '', timeoutMs = 600_000) {
  const r = spawnSync(
    'qemu-system-arm',
    [
      '-M',
      QEMU_MACHINE,
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      'none',
      '-semihosting-config',
      'enable=on,target=native',
      '-kernel',
      elf,
      '-append',
      args.join(' '),
    ],
    { encoding: 'utf8', input, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
  );
  return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function storeDriver(name: string): { arm: string; host: string } {
  const sources = [...STORE, ...HARNESS, `test/firmware/c/store_${name}.c`];
  return {
    arm: buildHostedProgram({ name: `store-${name}`, sources, includes: STORE_INCLUDES }),
    host: buildC({
      name: `arm-ref-store-${name}`,
      sources,
      includes: STORE_INCLUDES,
      headers: [`${CORE}/src/cp_store_internal.h`, 'test/firmware/c/store_harness.h'],
    }),
  };
}

function okRun(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stderr}${r.stdout.slice(-2000)}`);
  assert.match(r.stdout, /^ok /m, `${what} reports success`);
  for (const line of r.stdout.split('\n')) if (/^(ok|figure|script:) /.test(line)) console.log(`      ARM: ${line}`);
  return r.stdout;
}

describe("other parts' C test drivers on the Cortex-M4 under QEMU", function () {
  this.timeout(900_000);
  before(function () {
    requireArmImages(this);
  });

  it('NVM store unit tests (every operation, the contract, limits, write units 1, 4, 8) pass on the M4', () => {
    const { arm } = storeDriver('unit');
    const out = okRun(qemu(arm, []), 'store_unit');
    assert.equal((out.match(/^ok unit/gm) ?? []).length, 4, 'four geometries');
  });

  it('NVM store model-based random test with random power cuts passes on the M4', () => {
    const { arm } = storeDriver('model');
    const out = okRun(qemu(arm, ['2048', '16', '8', '3000', '1']), 'store_model');
    assert.ok(Number(/(\d+) power cuts/.exec(out)?.[1]) > 50, 'power cuts exercised');
  });

  it('NVM store exhaustive tearing (every operation x 5 cut kinds) on the M4 prints exactly what the host build prints', () => {
    const { arm, host } = storeDriver('tear');
    const args = ['256', '72', '4', '70'];
    const onArm = okRun(qemu(arm, args), 'store_tear');
    const onHost = runC(host, args);
    assert.equal(onHost.status, 0, onHost.stderr);
    assert.equal(onArm, onHost.stdout, 'same operations, compactions, cuts and outcomes on both');
  });

  describe('crypto driver (32-bit limbs) on the M4', () => {
    let arm: string;
    let host: string;
    before(() => {
      arm = buildHostedProgram({
        name: 'crypto-driver',
        sources: ['test/firmware/c/crypto_driver.c', ...cryptoSources()],
        includes: [NATIVE, `${CORE}/include`],
      });
      host = buildC({
        name: 'arm-ref-crypto-driver',
        sources: ['test/firmware/c/crypto_driver.c', ...cryptoSources()],
        includes: [NATIVE, `${CORE}/include`],
      });
    });
    const lines = (elf: string, cmds: string[]) => {
      const r = qemu(elf, [], `${cmds.join('\n')}\n`);
      assert.equal(r.status, 0, `driver exited ${r.status}: ${r.stderr}`);
      const out = r.stdout.trimEnd().split('\n');
      assert.equal(out.length, cmds.length, `one answer per command:\n${r.stdout.slice(0, 500)}`);
      return out;
    };

    it('published vectors: SM3, the GB/T 32918 SM2 signature with its k, RFC 6979 P-256 with its k', () => {
      const vectors = JSON.parse(readFileSync(join(ROOT, 'test/vectors/sm2-sm3-sm4.json'), 'utf8')) as Array<{
        algorithm: string;
        inputs: Record<string, string>;
        expected: Record<string, string>;
      }>;
      const sm3 = vectors.filter((v) => v.algorithm === 'SM3');
      const sig = vectors.find((v) => v.algorithm.startsWith('SM2-sign') && v.inputs.curve === 'sm2p256v1')!;
      const d = 'C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721';
      const h = (m: string) => createHash('sha256').update(m).digest('hex');
      const out = lines(arm, [
        ...sm3.map((v) => `sm3 ${v.inputs.message_hex}`),
        `sm2pub ${sig.inputs.private_key_hex}`,
        `sm2sign ${sig.inputs.private_key_hex} ${sig.expected.e_hex} ${sig.inputs.k_hex}`,
        `p256sign ${d} ${h('sample')} A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60`,
      ]);
      sm3.forEach((v, i) => assert.equal(out[i], v.expected.digest_hex!.toLowerCase()));
      assert.equal(out[sm3.length], sig.expected.public_key_hex!.toLowerCase());
      assert.equal(out[sm3.length + 1], sig.expected.signature_raw_hex!.toLowerCase());
      assert.equal(
        out[sm3.length + 2],
        'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
      );
    });

    it('random input: the M4 answers line for line what the host build (64-bit limbs) answers', () => {
      const hex = (n: number) => randomBytes(n).toString('hex') || '.';
      const cmds = [`seed ${hex(32)}`];
      for (let i = 0; i < 12; i++) {
        const d = hex(32);
        cmds.push(
          `sm3 ${hex(i * 23)}`,
          `sha256 ${hex(i * 19)}`,
          `sm2pub ${d}`,
          `p256pub ${d}`,
          `sm2sign ${d} ${hex(32)} -`,
          `p256sign ${d} ${hex(32)} -`,
          `keygen ${1 + (i % 2)}`,
          `sm2muladd ${hex(32)} 04${'00'.repeat(64)} ${hex(32)}`,
        );
      }
      const a = lines(arm, cmds);
      const b = runC(host, [], `${cmds.join('\n')}\n`);
      assert.equal(b.status, 0, b.stderr);
      const hostLines = b.stdout.trimEnd().split('\n');
      for (let i = 0; i < cmds.length; i++) assert.equal(a[i], hostLines[i], `${cmds[i]!.slice(0, 40)}…`);
    });
  });
});
