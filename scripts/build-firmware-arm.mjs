#!/usr/bin/env node
/**
 * Builds the Cortex-M4 images of the card firmware with arm-none-eabi-gcc (Debian packages
 * gcc-arm-none-eabi, libnewlib-arm-none-eabi) into build/firmware-arm/:
 *
 *   cardpost-card.elf      the applet (firmware-bindings/core) behind the board's frame loop
 *   cardpost-selftest.elf  the crypto ops and the NVM store behind frames, for test/firmware/arm-selftest
 *
 * each with its .map, and a .su file gathering the -fstack-usage output of every function.
 * The budget is the linker's: firmware-bindings/arm/cardpost-arm.ld caps flash at 256 KB (store pages
 * included) and RAM at 32 KB, so an image that grows past it fails here. Objects are rebuilt only when
 * a source, a header or a flag changed (a stamp of their hash sits next to each image).
 *
 *   node scripts/build-firmware-arm.mjs [--force] [--quiet]
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OUT_DIR = path.join(ROOT, 'build', 'firmware-arm');
const ARM = 'firmware-bindings/arm';
const CORE = 'firmware-bindings/core';
const CRYPTO = 'protocol/crypto/native';

/** Flash geometry of the store (firmware-bindings/arm/board_flash.h defaults; here for the linker). */
export const FLASH_GEOMETRY = { pageSize: 4096, pageCount: 16, writeUnit: 4 };

const CC = 'arm-none-eabi-gcc';
const CFLAGS = [
  '-mcpu=cortex-m4',
  '-mthumb',
  '-Os',
  '-g',
  '-std=c99',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-pedantic',
  '-ffunction-sections',
  '-fdata-sections',
  '-fstack-usage',
  '-fcallgraph-info=su', // per-object call graph with frame sizes (.ci): bench/firmware.ts's static worst case
  '-DCP_LIMB32=1',
  `-DCP_ARM_PAGE_SIZE=${FLASH_GEOMETRY.pageSize}u`,
  `-DCP_ARM_PAGE_COUNT=${FLASH_GEOMETRY.pageCount}u`,
  `-DCP_ARM_WRITE_UNIT=${FLASH_GEOMETRY.writeUnit}u`,
];
const INCLUDES = [ARM, `${CORE}/include`, `${CORE}/src`, CRYPTO];

/** Crypto sources that are not firmware: the Node addon glue and the old 64-bit-only SM2. */
const CRYPTO_EXCLUDE = new Set(['cardpost_crypto.c', 'sm2p256.c']);
/** Host-only programs (tests, tools, the Node binding's glue) never go into an image. */
const HOST_ONLY = /(^|_)(test|tests|bench|ctgrind|gen|main|node|napi|host)(_|\.c$)/;
const BOARD = [
  'startup.c',
  'semihost.c',
  'board.c',
  'board_args.c',
  'board_clock.c',
  'board_flash.c',
  'board_rng.c',
  'board_stack.c',
  'frame_link.c',
].map((f) => `${ARM}/${f}`);

function cFiles(dir, keep = () => true) {
  const abs = path.join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((f) => f.endsWith('.c') && keep(f))
    .sort()
    .map((f) => `${dir}/${f}`);
}

function cryptoSources() {
  return cFiles(CRYPTO, (f) => !CRYPTO_EXCLUDE.has(f) && !HOST_ONLY.test(f));
}

/** The sources of each image. */
export function imageSources() {
  const core = cFiles(`${CORE}/src`, (f) => !HOST_ONLY.test(f));
  const storeAndCrypto = core.filter((f) => /\/cp_(store|soft_crypto)[^/]*\.c$/.test(f));
  return {
    'cardpost-card': [...BOARD, `${ARM}/main_card.c`, ...core, ...cryptoSources()],
    'cardpost-selftest': [...BOARD, `${ARM}/main_selftest.c`, ...storeAndCrypto, ...cryptoSources()],
  };
}

function headers() {
  return INCLUDES.flatMap((d) => {
    const abs = path.join(ROOT, d);
    return existsSync(abs)
      ? readdirSync(abs)
          .filter((f) => f.endsWith('.h'))
          .sort()
          .map((f) => `${d}/${f}`)
      : [];
  });
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function objectName(src) {
  return src.replace(/[/\\]/g, '__').replace(/\.c$/, '.o');
}

/** Where the object of a source goes (shared by the images). */
export function objectPath(src) {
  return path.join(OUT_DIR, 'obj', objectName(src));
}

/** The linker flags of an image (without the map), for tests that relink with other limits. */
export function linkFlags(extra = []) {
  const storeBytes = FLASH_GEOMETRY.pageSize * FLASH_GEOMETRY.pageCount;
  return [
    '-mcpu=cortex-m4',
    '-mthumb',
    '-nostartfiles',
    '--specs=nano.specs',
    `-T${path.join(ROOT, ARM, 'cardpost-arm.ld')}`,
    '-Wl,--gc-sections',
    `-Wl,--defsym=CP_ARM_STORE_BYTES=${storeBytes}`,
    ...extra,
  ];
}

/**
 * Builds one image (or reuses it when nothing changed). Returns the paths of its outputs.
 * Throws with the compiler's or linker's own words on failure.
 */
export function buildImage(name, sources, { force = false } = {}) {
  const objDir = path.dirname(objectPath(sources[0]));
  const elf = path.join(OUT_DIR, `${name}.elf`);
  const map = path.join(OUT_DIR, `${name}.map`);
  const su = path.join(OUT_DIR, `${name}.su`);
  const stamp = path.join(OUT_DIR, `${name}.stamp`);
  const ldflags = linkFlags([`-Wl,-Map=${map}`]);
  const h = createHash('sha256');
  h.update(JSON.stringify([CC, CFLAGS, ldflags.filter((f) => !f.startsWith('-Wl,-Map')), sources]));
  for (const f of [...sources, ...headers(), `${ARM}/cardpost-arm.ld`]) h.update(readFileSync(path.join(ROOT, f)));
  const digest = h.digest('hex');
  if (!force && existsSync(elf) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest)
    return { elf, map, su, rebuilt: false };

  // Objects are shared between the images and reused while their source, the headers and the flags
  // are unchanged (a .hash file beside each), so the second image compiles only its own files.
  mkdirSync(objDir, { recursive: true });
  const includes = INCLUDES.map((i) => `-I${path.join(ROOT, i)}`);
  const headerDigest = createHash('sha256');
  for (const f of headers()) headerDigest.update(readFileSync(path.join(ROOT, f)));
  const common = headerDigest.update(JSON.stringify([CC, CFLAGS])).digest('hex');
  const objects = [];
  for (const src of sources) {
    const obj = objectPath(src);
    const want = createHash('sha256')
      .update(common)
      .update(readFileSync(path.join(ROOT, src)))
      .digest('hex');
    const hashFile = `${obj}.hash`;
    if (force || !existsSync(obj) || !existsSync(hashFile) || readFileSync(hashFile, 'utf8') !== want) {
      rmSync(hashFile, { force: true });
      run(CC, [...CFLAGS, ...includes, '-c', path.join(ROOT, src), '-o', obj]);
      writeFileSync(hashFile, want);
    }
    objects.push(obj);
  }
  run(CC, [...ldflags, ...objects, '-o', elf]);
  // One .su for the image: "file:line:col:function<TAB>bytes<TAB>static|dynamic|bounded".
  const suLines = objects
    .map((o) => o.replace(/\.o$/, '.su'))
    .filter((f) => existsSync(f))
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean))
    .map((l) => l.replace(`${ROOT}`, ''));
  writeFileSync(su, suLines.join('\n') + '\n');
  writeFileSync(stamp, digest);
  return { elf, map, su, rebuilt: true };
}

/**
 * A hosted C test program (a test driver of another part, test/firmware/c/*.c) for the Cortex-M4 under
 * QEMU: newlib stdio over semihosting (rdimon), main(argc, argv) from -append, the whole 4 MB SSRAM
 * (firmware-bindings/arm/hosted-arm.ld), NOT the card's budget. Same compiler flags as the card.
 * Returns the ELF's path; rebuilt only when an input changed.
 */
export function buildHostedProgram({ name, sources, includes = [], defines = [] }) {
  const dir = path.join(OUT_DIR, 'hosted', name);
  const elf = path.join(OUT_DIR, 'hosted', `${name}.elf`);
  const stamp = `${elf}.stamp`;
  const all = [`${ARM}/hosted_start.c`, `${ARM}/semihost.c`, ...sources];
  const incs = [...includes, ARM].map((i) => `-I${path.join(ROOT, i)}`);
  // -Wno-format: host drivers print uint32_t with %u, which is `long` on arm-none-eabi (same width
  // there, so the output is right; the drivers' owners are told).
  const cflags = [
    ...CFLAGS.filter((f) => !/^-f(stack-usage|callgraph-info)/.test(f)),
    '-Wno-format',
    ...defines.map((d) => `-D${d}`),
  ];
  const ldflags = [
    '-mcpu=cortex-m4',
    '-mthumb',
    '-nostartfiles',
    // full newlib, not nano: the drivers print 64-bit counts with %llu, which nano's printf lacks
    '--specs=rdimon.specs',
    `-T${path.join(ROOT, ARM, 'hosted-arm.ld')}`,
    '-Wl,--gc-sections',
  ];
  const h = createHash('sha256').update(JSON.stringify([CC, cflags, ldflags, all, incs]));
  // Headers beside the sources too (cp_store_internal.h, store_harness.h): a change there rebuilds.
  const dirs = [...new Set([...includes, ARM, ...all.map((f) => path.dirname(f))])];
  const headerFiles = dirs.flatMap((d) => {
    const abs = path.join(ROOT, d);
    return existsSync(abs)
      ? readdirSync(abs)
          .filter((f) => f.endsWith('.h'))
          .sort()
          .map((f) => `${d}/${f}`)
      : [];
  });
  for (const f of [...all, ...headerFiles, `${ARM}/hosted-arm.ld`]) h.update(readFileSync(path.join(ROOT, f)));
  const digest = h.digest('hex');
  if (existsSync(elf) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return elf;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const objects = all.map((src) => {
    const obj = path.join(dir, objectName(src));
    run(CC, [...cflags, ...incs, '-c', path.join(ROOT, src), '-o', obj]);
    return obj;
  });
  run(CC, [...ldflags, ...objects, '-o', elf]);
  writeFileSync(stamp, digest);
  return elf;
}

/** Builds the images named (default: both). */
export function buildFirmwareArm({ force = false, images } = {}) {
  const all = imageSources();
  const names = images ?? Object.keys(all);
  const out = {};
  for (const n of names) {
    if (!all[n]) throw new Error(`no ARM image ${n}; there are ${Object.keys(all).join(', ')}`);
    out[n] = buildImage(n, all[n], { force });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const force = process.argv.includes('--force');
  const quiet = process.argv.includes('--quiet');
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  try {
    const built = buildFirmwareArm({ force, images: wanted.length ? wanted : undefined });
    if (!quiet)
      for (const [n, r] of Object.entries(built)) {
        console.log(`${path.relative(ROOT, r.elf)}${r.rebuilt ? '' : ' (up to date)'}`);
        console.log(run('arm-none-eabi-size', [r.elf]).trimEnd());
        void n;
      }
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
