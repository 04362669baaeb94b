/**
 * Where the ARM images are, how QEMU runs them, whether it can run here (and building the images
 * when the toolchain is present), and the flash file's format. Used by qemu-card.ts, the tests and
 * the bench.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CardpostError } from '../../protocol/errors.js';

export const ARM_BUILD_DIR = fileURLToPath(new URL('../../build/firmware-arm/', import.meta.url));
export const QEMU_CARD_ELF = join(ARM_BUILD_DIR, 'cardpost-card.elf');
export const QEMU_SELFTEST_ELF = join(ARM_BUILD_DIR, 'cardpost-selftest.elf');
export const QEMU_COMMAND = 'qemu-system-arm';
/** The MPS2 board with a Cortex-M4 (AN386). */
export const QEMU_MACHINE = 'mps2-an386';

/** The ARM build's flash (scripts/build-firmware-arm.mjs FLASH_GEOMETRY): 16 pages of 4 KB, 4-byte writes. */
export const ARM_FLASH_GEOMETRY = { pageSize: 4096, pageCount: 16, writeUnit: 4 } as const;
const STATE_MAGIC = Buffer.from('CPFLASH1', 'latin1');
/** Bytes before the flash image in a state file (the native card's CPFLASH1 header). */
export const STATE_HEADER = 24;

/** The QEMU command line for an image (exported for the bench and the docs). */
export function qemuArgs(elf: string, append: string, icount = true): string[] {
  return [
    '-M',
    QEMU_MACHINE,
    '-nographic',
    '-monitor',
    'none',
    '-serial',
    'none',
    '-semihosting-config',
    'enable=on,target=native',
    ...(icount ? ['-icount', 'shift=0'] : []),
    '-kernel',
    elf,
    '-append',
    append,
  ];
}

/** The script that builds the images (from dist/ too: the compiled CLI links scripts/ beside it). */
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-firmware-arm.mjs', import.meta.url));

let buildOutcome: string | undefined | null = null; // null: not tried in this process

/**
 * Builds the ARM images if arm-none-eabi-gcc is here (cached: nothing is compiled when no source
 * changed); returns why not, or undefined. Once per process.
 */
export function ensureQemuImages(): string | undefined {
  if (buildOutcome !== null) return buildOutcome;
  if (!existsSync(BUILD_SCRIPT)) buildOutcome = existsSync(QEMU_CARD_ELF) ? undefined : `${QEMU_CARD_ELF} is not built`;
  else {
    const r = spawnSync(process.execPath, [BUILD_SCRIPT, '--quiet'], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    buildOutcome =
      r.status === 0
        ? undefined
        : `the ARM image does not build (node scripts/build-firmware-arm.mjs): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 6).join(' | ')}`;
  }
  return buildOutcome;
}

/**
 * Why the QEMU card cannot run here (no qemu-system-arm, no ARM toolchain and no built image, a
 * build error), or undefined. Builds the image first when it can.
 */
export function qemuCardUnavailable(elf = QEMU_CARD_ELF): string | undefined {
  try {
    execFileSync(QEMU_COMMAND, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return `${QEMU_COMMAND} is not installed (Debian: apt-get install qemu-system-arm)`;
  }
  let hasGcc = true;
  try {
    execFileSync('arm-none-eabi-gcc', ['--version'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    hasGcc = false;
  }
  if (hasGcc) {
    const why = ensureQemuImages();
    if (why) return why;
  }
  if (!existsSync(elf))
    return `${elf} is not built and arm-none-eabi-gcc is missing (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)`;
  return undefined;
}

/** Creates a blank state file with the ARM geometry, or checks that an existing one has it. */
export function prepareStateFile(path: string): void {
  const g = ARM_FLASH_GEOMETRY;
  const size = STATE_HEADER + g.pageSize * g.pageCount;
  if (!existsSync(path)) {
    const b = Buffer.alloc(size, 0xff);
    STATE_MAGIC.copy(b, 0);
    b.writeUInt32LE(1, 8);
    b.writeUInt32LE(g.pageSize, 12);
    b.writeUInt32LE(g.pageCount, 16);
    b.writeUInt32LE(g.writeUnit, 20);
    writeFileSync(path, b);
    return;
  }
  const head = readFileSync(path).subarray(0, STATE_HEADER);
  const ok =
    head.length === STATE_HEADER &&
    head.subarray(0, 8).equals(STATE_MAGIC) &&
    head.readUInt32LE(12) === g.pageSize &&
    head.readUInt32LE(16) === g.pageCount &&
    head.readUInt32LE(20) === g.writeUnit;
  if (!ok)
    throw new CardpostError(
      'CARD_STATE_CORRUPT',
      `${path} is not a flash image of the ARM card (${g.pageCount} pages of ${g.pageSize} bytes)`,
      'use a new file for the QEMU card, or the implementation that made this one',
    );
}
