/**
 * The frame link between Node and the ARM firmware under QEMU (semihosting stdin/stdout), as
 * firmware-bindings/arm/frame_link.h, selftest_frames.h and board_exit.h define it. Keep in step.
 *
 * Host -> card: type (1 byte), length (u16 big-endian), payload.
 * Card -> host: status (1 byte), length (u16 big-endian), payload.
 */

export const FRAME = {
  APDU: 0x01,
  POWER_ON: 0x02,
  POWER_OFF: 0x03,
  RESET: 0x04,
  ATR: 0x05,
  CUT_AFTER: 0x06,
  WRITE_COUNT: 0x07,
  STACK_PAINT: 0x08,
  STACK_HIGH: 0x09,
  LAST_TICKS: 0x0a,
  INFO: 0x0b,
  EXIT: 0x0c,
  // self-test image only
  ST_DIGEST: 0x20,
  ST_KEYGEN: 0x21,
  ST_SIGN: 0x22,
  ST_VERIFY: 0x23,
  ST_PUBLIC: 0x24,
  ST_SIGN_K: 0x25,
  ST_MOUNT: 0x30,
  ST_BEGIN: 0x31,
  ST_PUT: 0x32,
  ST_REMOVE: 0x33,
  ST_COMMIT: 0x34,
  ST_GET: 0x35,
  ST_ABORT: 0x36,
  ST_FLASH_READ: 0x40,
  ST_FLASH_PROGRAM: 0x41,
  ST_FLASH_ERASE: 0x42,
} as const;

export const FRAME_STATUS = {
  OK: 0x00,
  UNKNOWN: 0x01,
  NOT_POWERED: 0x02,
  BAD_PAYLOAD: 0x03,
  /** A cp_result other than CP_OK; the payload is [result]. */
  RESULT: 0x04,
} as const;

/** QEMU's exit status: why the firmware stopped. */
export const QEMU_EXIT = {
  CLEAN: 0,
  /** The chosen flash write was cut: this exit is the power loss. */
  POWER_CUT: 42,
  BAD_FRAME: 43,
  FAULT: 44,
  FLASH_FILE: 45,
  /** The core touched the flash or answered after CP_POWER_LOST. */
  CORE_IGNORED_CUT: 46,
  STACK_OVERFLOW: 47,
} as const;

export function exitReason(code: number | null, signal: string | null): string {
  if (signal) return `killed by ${signal}`;
  const names: Record<number, string> = {
    0: 'ended cleanly',
    42: 'power cut at the chosen flash write',
    43: 'bad frame or command line',
    44: 'CPU fault (HardFault/bus/usage)',
    45: 'flash file could not be opened',
    46: 'the core carried on after CP_POWER_LOST',
    47: 'stack overflow (the painted guard was overwritten)',
  };
  return names[code ?? -1] ?? `exit status ${code}`;
}

/** Flags of FRAME.POWER_ON. */
export const POWER_FLAG = { EXTENDED: 1, T0_ONLY: 2 } as const;

/** Virtual ns per CMSDK timer tick = instructions per tick under `-icount shift=0`. */
export const NS_PER_TICK = 40;

export function u16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

export function u32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function readU32(b: Uint8Array, off = 0): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}
