/**
 * The portable 32-bit path compiles for Cortex-M4 with arm-none-eabi-gcc (which has no __int128, so
 * ec_field.h picks the 32-bit limbs by itself), warning-free under the project's flags. Objects
 * only: the ARM runtime and QEMU runs belong to the ARM build. Then one link with garbage
 * collection from cp_soft_crypto() gives the footprint a card pays, printed as a figure; the
 * asserted budget is the one the firmware notes set (tables of both curves within 40 KB) and that
 * the crypto has no writable data at all (.data and .bss empty: no mutable globals).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from '../support/cc.js';
import { requireSystem, which } from '../support/system.js';

const NATIVE = 'protocol/crypto/native';
const OUT = join(ROOT, 'build', 'c-tests', 'crypto-arm');
const FLAGS = ['-mcpu=cortex-m4', '-mthumb', '-Os', '-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];

function sources(): string[] {
  return readdirSync(join(ROOT, NATIVE))
    .filter((f) => f.endsWith('.c') && f !== 'cardpost_crypto.c')
    .sort()
    .map((f) => `${NATIVE}/${f}`)
    .concat('firmware-bindings/core/src/cp_soft_crypto.c');
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** section name -> size, from `arm-none-eabi-size -A`. */
function sections(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of sh('arm-none-eabi-size', ['-A', file]).split('\n')) {
    const m = /^(\.\S+)\s+(\d+)/.exec(line);
    if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}

const sum = (s: Map<string, number>, prefix: string): number =>
  [...s].filter(([k]) => k === prefix || k.startsWith(`${prefix}.`)).reduce((a, [, v]) => a + v, 0);

describe('C crypto for Cortex-M4 (arm-none-eabi-gcc, objects and footprint)', function () {
  this.timeout(180_000);
  before(function () {
    requireSystem(
      this,
      which('arm-none-eabi-gcc') ? [] : ['arm-none-eabi-gcc'],
      'apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
    );
  });

  for (const spacing of [2, 4]) {
    it(`compiles with -Werror and fits: comb spacing ${spacing}${spacing === 2 ? ' (the 32-bit default)' : ''}`, () => {
      const dir = join(OUT, `spacing${spacing}`);
      mkdirSync(dir, { recursive: true });
      const objs: string[] = [];
      for (const src of sources()) {
        const obj = join(dir, `${basename(src, '.c')}.o`);
        sh('arm-none-eabi-gcc', [
          ...FLAGS,
          '-ffunction-sections',
          '-fdata-sections',
          `-DEC_COMB_SPACING=${spacing}`,
          `-I${join(ROOT, NATIVE)}`,
          `-I${join(ROOT, 'firmware-bindings/core/include')}`,
          '-c',
          join(ROOT, src),
          '-o',
          obj,
        ]);
        objs.push(obj);
      }
      let text = 0;
      let rodata = 0;
      for (const o of objs) {
        const s = sections(o);
        text += sum(s, '.text');
        rodata += sum(s, '.rodata');
        assert.equal(sum(s, '.data') + sum(s, '.bss'), 0, `${basename(o)} has writable data`);
      }
      // what a card links: everything reachable from the ops table, nothing else
      const elf = join(dir, 'crypto.elf');
      sh('arm-none-eabi-gcc', [
        '-mcpu=cortex-m4',
        '-mthumb',
        '--specs=nano.specs',
        '--specs=nosys.specs',
        '-nostartfiles',
        '-Wl,--gc-sections',
        '-Wl,-e,cp_soft_crypto',
        ...objs,
        '-o',
        elf,
      ]);
      const linked = sections(elf);
      console.log(
        `      objects: .text ${text} B, .rodata ${rodata} B; linked from cp_soft_crypto(): ` +
          `.text ${sum(linked, '.text')} B, .rodata ${sum(linked, '.rodata')} B, .data ${sum(linked, '.data')} B, .bss ${sum(linked, '.bss')} B`,
      );
      const tables = 2 * (64 / spacing + 1) * 8 * 64; // two curves, rows x 8 points x 64 bytes
      assert.ok(sum(linked, '.rodata') >= tables, 'both generator tables are linked in');
      assert.ok(sum(linked, '.rodata') <= 40 * 1024, `.rodata ${sum(linked, '.rodata')} B > 40 KB`);
      assert.equal(sum(linked, '.data') + sum(linked, '.bss'), 0, 'no writable data');
    });
  }
});
