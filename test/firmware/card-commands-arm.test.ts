import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from '../support/cc.js';
import { requireSystem, which } from '../support/system.js';
import { COMMAND_SOURCES } from './card-commands-driver.js';

/**
 * The command layer builds for a Cortex-M4 (C99, -Os, every warning an error) and stays within its
 * share of the card: code size, and stack per function (-fstack-usage; every frame "static", none
 * depending on run-time sizes). The deepest chain is printed: the dispatcher, a command, its
 * helpers; the crypto's own frames under sign/verify come on top (measured by the crypto work).
 */

const FLAGS = ['-mcpu=cortex-m4', '-mthumb', '-Os', '-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];
const OUT = join(ROOT, 'build', 'c-tests', 'arm-commands');

describe('C card commands on a Cortex-M4', function () {
  this.timeout(120_000);
  before(function () {
    requireSystem(this, which('arm-none-eabi-gcc') ? [] : ['arm-none-eabi-gcc'], 'apt-get install gcc-arm-none-eabi');
  });

  it('compiles clean with -Werror, in under 20 KB of code, no frame above 2 KB', () => {
    mkdirSync(OUT, { recursive: true });
    let text = 0;
    const frames: Array<[string, number]> = [];
    for (const src of COMMAND_SOURCES) {
      const obj = join(OUT, basename(src).replace(/\.c$/, '.o'));
      execFileSync(
        'arm-none-eabi-gcc',
        [
          ...FLAGS,
          '-ffunction-sections',
          '-fstack-usage',
          `-I${join(ROOT, 'firmware-bindings/core/include')}`,
          '-c',
          join(ROOT, src),
          '-o',
          obj,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const size = execFileSync('arm-none-eabi-size', [obj], { encoding: 'utf8' }).split('\n')[1]!.trim().split(/\s+/);
      assert.equal(Number(size[1]) + Number(size[2]), 0, `${src}: no data or bss (no mutable globals)`);
      text += Number(size[0]);
      for (const line of readFileSync(obj.replace(/\.o$/, '.su'), 'utf8').split('\n').filter(Boolean)) {
        const [where, bytes, kind] = line.split('\t');
        assert.equal(kind, 'static', `${where}: a frame whose size depends on run-time values`);
        frames.push([where!.split(':').pop()!, Number(bytes)]);
      }
    }
    frames.sort((a, b) => b[1] - a[1]);
    console.log(
      `      code ${text} bytes; largest frames: ${frames
        .slice(0, 6)
        .map(([f, b]) => `${f} ${b}`)
        .join(', ')}`,
    );
    assert.ok(text < 20 * 1024, `code ${text} bytes`);
    assert.ok(frames[0]![1] <= 2048, `frame ${frames[0]![0]} ${frames[0]![1]} bytes`);
  });
});
