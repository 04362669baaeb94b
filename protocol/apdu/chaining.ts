import { DecodeError } from '../errors.js';
import { CLA_CHAINING_BIT, SHORT_MAX_DATA, type CommandApdu } from './command.js';

/**
 * Split a command whose data exceeds one short APDU into a chain (ISO 7816-4 §5.4.1): every part
 * but the last carries CLA|0x10 and no Le; the last carries the original CLA and Le.
 */
export function splitForChaining(cmd: CommandApdu, maxChunk: number = SHORT_MAX_DATA): CommandApdu[] {
  const data = cmd.data ?? new Uint8Array(0);
  if (data.length <= maxChunk) return [cmd];
  const parts: CommandApdu[] = [];
  for (let off = 0; off < data.length; off += maxChunk) {
    const last = off + maxChunk >= data.length;
    const part: CommandApdu = {
      cla: last ? cmd.cla : cmd.cla | CLA_CHAINING_BIT,
      ins: cmd.ins,
      p1: cmd.p1,
      p2: cmd.p2,
      data: data.subarray(off, Math.min(off + maxChunk, data.length)),
    };
    if (last && cmd.le !== undefined) part.le = cmd.le;
    parts.push(part);
  }
  return parts;
}

export type ChainStep =
  | { kind: 'more' } // part stored; the card answers 9000 and waits for the rest
  | { kind: 'complete'; command: CommandApdu };

/**
 * Card-side reassembly of chained commands. Bounded: a chain longer than `maxBytes` is refused
 * rather than buffered. A chain interrupted by a different command is dropped (ISO: 6883).
 */
export class ChainAssembler {
  private head: { cla: number; ins: number; p1: number; p2: number } | undefined;
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  get inProgress(): boolean {
    return this.head !== undefined;
  }

  reset(): void {
    this.head = undefined;
    this.parts = [];
    this.size = 0;
  }

  push(cmd: CommandApdu): ChainStep {
    const chained = (cmd.cla & CLA_CHAINING_BIT) !== 0;
    const cla = cmd.cla & ~CLA_CHAINING_BIT;
    if (
      this.head &&
      (this.head.cla !== cla || this.head.ins !== cmd.ins || this.head.p1 !== cmd.p1 || this.head.p2 !== cmd.p2)
    ) {
      this.reset();
      throw new DecodeError(
        'APDU_CHAIN_BROKEN',
        'a different command arrived in the middle of a command chain',
        'send the remaining parts of the chain with the same CLA/INS/P1/P2, or restart the command',
      );
    }
    const data = cmd.data ?? new Uint8Array(0);
    if (!chained && !this.head) {
      // A lone command: nothing to assemble, nothing kept; the same bound applies.
      if (data.length > this.maxBytes) throw tooLong(this.maxBytes);
      return { kind: 'complete', command: cmd };
    }
    this.size += data.length;
    if (this.size > this.maxBytes) {
      this.reset();
      throw tooLong(this.maxBytes);
    }
    if (chained) {
      this.head ??= { cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2 };
      this.parts.push(data.slice());
      return { kind: 'more' };
    }
    this.parts.push(data);
    const whole = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      whole.set(p, off);
      off += p.length;
    }
    const command: CommandApdu = { cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data: whole };
    if (cmd.le !== undefined) command.le = cmd.le;
    this.reset();
    return { kind: 'complete', command };
  }
}

function tooLong(max: number): DecodeError {
  return new DecodeError('APDU_CHAIN_TOO_LONG', `command exceeds ${max} bytes`, 'send a shorter message');
}
