import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/cc.js';
import { requireSystem, which } from '../support/system.js';

/**
 * The APDU layer and the canonical CBOR compile for a Cortex-M4 with the project's warnings as
 * errors, and stay small: code size per file, and the RAM of struct cp_card on the 32-bit target.
 */

const CORE = 'firmware-bindings/core';
const FILES = ['cp_cbor_check', 'cp_cbor_scalar', 'cp_cbor_read', 'cp_cbor_map', 'cp_cbor_write', 'cp_apdu', 'cp_card'];
const ARM = ['-mcpu=cortex-m4', '-mthumb', '-Os', '-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];
const OUT = join(ROOT, 'build', 'c-tests', 'arm-applet');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe('firmware C: the APDU layer and CBOR on ARM Cortex-M4', function () {
  this.timeout(120_000);
  before(function () {
    requireSystem(
      this,
      ['arm-none-eabi-gcc', 'arm-none-eabi-size', 'arm-none-eabi-nm'].filter((t) => !which(t)),
      'apt-get install gcc-arm-none-eabi binutils-arm-none-eabi',
    );
    mkdirSync(OUT, { recursive: true });
  });

  it('compiles clean with -Wall -Wextra -Werror -pedantic and fits 8 KB of flash', () => {
    const objects = FILES.map((f) => {
      const o = join(OUT, `${f}.o`);
      run('arm-none-eabi-gcc', [
        ...ARM,
        `-I${join(ROOT, CORE, 'include')}`,
        '-c',
        join(ROOT, CORE, 'src', `${f}.c`),
        '-o',
        o,
      ]);
      return o;
    });
    const table = run('arm-none-eabi-size', objects);
    let text = 0;
    for (const line of table.split('\n').slice(1).filter(Boolean)) {
      const [t, data, bss] = line.trim().split(/\s+/).map(Number);
      assert.equal(data! + bss!, 0, `no mutable globals: ${line}`);
      text += t!;
    }
    console.log(`      ARM -Os text: ${text} bytes\n${table.replace(/^/gm, '        ')}`);
    assert.ok(text > 2000 && text < 8192, `text ${text}`);
  });

  it('keeps struct cp_card within 8 KB of RAM on the 32-bit target', () => {
    const probe = join(OUT, 'size-probe.c');
    writeFileSync(probe, '#include "cp_card.h"\nchar cp_card_size_probe[sizeof(cp_card)];\n');
    const o = join(OUT, 'size-probe.o');
    run('arm-none-eabi-gcc', [...ARM, `-I${join(ROOT, CORE, 'include')}`, '-c', probe, '-o', o]);
    const m = /^[0-9a-f]+ ([0-9a-f]+) [BC] cp_card_size_probe$/m.exec(run('arm-none-eabi-nm', ['-S', o]));
    assert.ok(m, 'probe symbol');
    const size = parseInt(m[1]!, 16);
    console.log(`      sizeof(cp_card) on Cortex-M4: ${size} bytes`);
    assert.ok(size > 4096 && size <= 8192, `sizeof(cp_card) = ${size}`);
  });
});
