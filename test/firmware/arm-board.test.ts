/**
 * The ARM board itself (firmware-bindings/arm/): the linker enforces the 256 KB / 32 KB budget, the
 * file-backed flash keeps the NOR rules the core relies on, and a power cut ends QEMU at the chosen
 * write leaving that write complete ('after') or half done ('during'), exactly in the host file.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageSources, linkFlags, objectPath } from '../../scripts/build-firmware-arm.mjs';
import { QEMU_SELFTEST_ELF, qemuArgs } from '../../firmware-bindings/arm/qemu-card.js';
import { FRAME, FRAME_STATUS, QEMU_EXIT, readU32, u16, u32 } from '../../firmware-bindings/arm/qemu-frames.js';
import { QemuExited, QemuLink } from '../../firmware-bindings/arm/qemu-link.js';
import { requireArmImages } from './arm-support.js';

const PAGE = 4096;
const HEADER = 24; // bytes before the image in the file, as the QEMU card's state file
const CP_FLASH_FAULT = 2;

const cat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

describe('ARM board: budget, flash rules and power cuts', function () {
  this.timeout(120_000);
  let dir: string;
  before(function () {
    requireArmImages(this);
    dir = mkdtempSync(join(tmpdir(), 'cardpost-arm-board-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A board on a fresh file whose header bytes must stay untouched. */
  function boot(name: string): { link: QemuLink; file: string } {
    const file = join(dir, name);
    writeFileSync(file, Buffer.alloc(HEADER, 0x5a));
    const append = `flash=${file} offset=${HEADER} seed=${randomBytes(32).toString('hex')}`;
    return { file, link: new QemuLink({ command: 'qemu-system-arm', args: qemuArgs(QEMU_SELFTEST_ELF, append) }) };
  }
  const image = (file: string) => readFileSync(file).subarray(HEADER);
  function result(link: QemuLink, type: number, payload: Uint8Array): number {
    const a = link.request(type, payload);
    if (a.status === FRAME_STATUS.OK) return 0;
    assert.equal(a.status, FRAME_STATUS.RESULT, `frame status ${a.status}`);
    return a.payload[0]!;
  }
  const program = (link: QemuLink, addr: number, bytes: Uint8Array) =>
    result(link, FRAME.ST_FLASH_PROGRAM, cat(u32(addr), bytes));
  const erase = (link: QemuLink, page: number) => result(link, FRAME.ST_FLASH_ERASE, u32(page));
  const writes = (link: QemuLink) => readU32(link.request(FRAME.WRITE_COUNT).payload);

  it('the linker refuses an image over 256 KB of flash or one that leaves too little RAM for the stack', () => {
    const objects = imageSources()['cardpost-card'].map(objectPath);
    const link = (extra: string[]) =>
      spawnSync('arm-none-eabi-gcc', [...linkFlags(extra), ...objects, '-o', join(dir, 'over.elf')], {
        encoding: 'utf8',
      });
    const ok = link([]);
    assert.equal(ok.status, 0, `the image links as built: ${ok.stderr}`);
    const flash = link(['-Wl,--defsym=CP_ARM_STORE_BYTES=229376']); // 224 KB of store pages + the code > 256 KB
    assert.notEqual(flash.status, 0);
    assert.match(flash.stderr, /region `FLASH' overflowed/);
    const ram = link(['-Wl,--defsym=CP_ARM_MIN_STACK=40000']);
    assert.notEqual(ram.status, 0);
    assert.match(ram.stderr, /less than CP_ARM_MIN_STACK/);
  });

  it('NOR rules: a new file reads erased; program clears bits only, a 0 -> 1 is refused whole; bad addresses refused', () => {
    const { link, file } = boot('nor.bin');
    try {
      assert.equal(writes(link), 0, 'booted (QEMU is running once it answers)');
      assert.equal(readFileSync(file).length, HEADER + 16 * PAGE, 'the file is extended to the whole flash');
      assert.ok(
        image(file).every((b) => b === 0xff),
        'blank = erased',
      );
      assert.equal(program(link, 8, Uint8Array.of(0xf0, 0xf0, 0x0f, 0x0f)), 0);
      assert.equal(program(link, 8, Uint8Array.of(0xf0, 0x00, 0x0f, 0x00)), 0, '1 -> 0 is fine');
      const w = writes(link);
      assert.equal(program(link, 8, Uint8Array.of(0xff, 0x00, 0x00, 0x00)), CP_FLASH_FAULT, '0 -> 1 refused');
      assert.equal(writes(link), w, 'a refused program is not a physical write');
      assert.deepEqual([...image(file).subarray(8, 12)], [0xf0, 0x00, 0x0f, 0x00], 'nothing of it written');
      assert.equal(program(link, 2, new Uint8Array(4)), CP_FLASH_FAULT, 'misaligned address');
      assert.equal(program(link, 4, new Uint8Array(3)), CP_FLASH_FAULT, 'length not a multiple of the unit');
      assert.equal(program(link, 16 * PAGE - 4, new Uint8Array(8)), CP_FLASH_FAULT, 'past the end');
      assert.equal(erase(link, 16), CP_FLASH_FAULT, 'no page 16');
      const read = link.request(FRAME.ST_FLASH_READ, cat(u32(8), u16(4)));
      assert.deepEqual([...read.payload], [0xf0, 0x00, 0x0f, 0x00], 'read back through the HAL');
      assert.equal(erase(link, 0), 0);
      assert.ok(
        image(file)
          .subarray(0, PAGE)
          .every((b) => b === 0xff),
        'erase sets the page to 0xFF',
      );
      assert.ok(
        readFileSync(file)
          .subarray(0, HEADER)
          .every((b) => b === 0x5a),
        'the header is never touched',
      );
    } finally {
      link.close();
    }
  });

  for (const mode of ['after', 'during'] as const) {
    it(`power cut ${mode} the chosen write: QEMU ends with status 42 at it, and the file holds ${mode === 'after' ? 'all' : 'half'} of that write`, () => {
      const { link, file } = boot(`cut-${mode}.bin`);
      const data = Uint8Array.from(randomBytes(64).map((b) => b & 0x7f));
      try {
        assert.equal(program(link, 0, Uint8Array.of(1, 2, 3, 4)), 0);
        for (let i = 0; i < PAGE; i += 64) assert.equal(program(link, PAGE + i, new Uint8Array(64)), 0); // page 1 all zero
        link.request(FRAME.CUT_AFTER, Uint8Array.of(...u32(2), mode === 'during' ? 1 : 0));
        assert.equal(program(link, 64, data.subarray(0, 16)), 0, 'write 1 of 2 is not cut');
        assert.throws(
          () => program(link, 128, data),
          (e: unknown) => e instanceof QemuExited && e.exitCode === QEMU_EXIT.POWER_CUT,
        );
      } finally {
        link.close();
      }
      const img = image(file);
      assert.deepEqual([...img.subarray(64, 80)], [...data.subarray(0, 16)]);
      const landed = mode === 'after' ? 64 : 32;
      assert.deepEqual([...img.subarray(128, 128 + landed)], [...data.subarray(0, landed)]);
      assert.ok(
        img.subarray(128 + landed, 192).every((b) => b === 0xff),
        'the rest of the cut write never reached the cells',
      );

      // The next power-on: the same file, a fresh QEMU; then a torn/complete erase of page 1.
      const again = new QemuLink({
        command: 'qemu-system-arm',
        args: qemuArgs(QEMU_SELFTEST_ELF, `flash=${file} offset=${HEADER} seed=${randomBytes(32).toString('hex')}`),
      });
      try {
        assert.deepEqual([...again.request(FRAME.ST_FLASH_READ, cat(u32(0), u16(4))).payload], [1, 2, 3, 4]);
        again.request(FRAME.CUT_AFTER, Uint8Array.of(...u32(1), mode === 'during' ? 1 : 0));
        assert.throws(
          () => erase(again, 1),
          (e: unknown) => e instanceof QemuExited && e.exitCode === QEMU_EXIT.POWER_CUT,
        );
      } finally {
        again.close();
      }
      const page1 = image(file).subarray(PAGE, 2 * PAGE);
      const erased = mode === 'after' ? PAGE : PAGE / 2;
      assert.ok(
        page1.subarray(0, erased).every((b) => b === 0xff),
        'erased part',
      );
      assert.ok(
        page1.subarray(erased).every((b) => b === 0),
        'the part the torn erase never reached',
      );
    });
  }
});
