import { randomBytes } from 'node:crypto';
import {
  ChainAssembler,
  CLA_CHAINING_BIT,
  SW,
  decodeCommandApdu,
  encodeResponseApdu,
  type CommandApdu,
} from '../../protocol/apdu/index.js';
import { bytesEqual } from '../../protocol/bytes.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  CARD_AID,
  CLA_ISO,
  CLA_PROPRIETARY,
  INS,
  PIN_REFERENCE,
  PROTOCOL_VERSION,
  decodeCommandData,
  decodePinBlock,
  encodeResponseData,
  encodeSelectInfo,
  CARD_STATUS,
  type Lifecycle,
} from '../../protocol/commands/index.js';
import { PowerLoss } from './nvm.js';
import type { Nvm } from './nvm.js';
import { CardCommands, type CommandOutcome } from './card-commands.js';
import { effectiveLifecycle } from './card-state.js';

export interface AppletOptions {
  /** Accept extended-length APDUs (a reader that cannot send them makes the host chain instead). */
  extendedLength?: boolean;
  /** Transmission protocols the ATR offers (default T=0 and T=1). */
  atrProtocols?: 'T0+T1' | 'T0';
  /** Largest `command || CBOR` message, and largest response, in bytes. */
  maxMessageSize?: number;
  /** Records kept for READ_JOURNAL. */
  journalCapacity?: number;
}

/** ATR for T=1: TS 3B, T0 88 (TD1 follows, 8 historical bytes), TD1 80, TD2 01 (T=1), "CARDPOST", TCK. */
/**
 * The answer-to-reset: historical bytes "CARDPOST", offering T=0 and T=1 (TD1 = 80: T=0, TD2 = 01:
 * T=1, then TCK), or T=0 alone (T0 = 08: no interface bytes, so T=0 by default and no TCK), to
 * exercise both transmission protocols through pcscd.
 */
export function cardAtr(protocols: 'T0+T1' | 'T0' = 'T0+T1'): Uint8Array {
  const hist = [...new TextEncoder().encode('CARDPOST')];
  if (protocols === 'T0') return Uint8Array.from([0x3b, 0x08, ...hist]);
  const body = [0x88, 0x80, 0x01, ...hist];
  const tck = body.reduce((a, b) => a ^ b, 0);
  return Uint8Array.from([0x3b, ...body, tck]);
}

const sw = (code: number) => encodeResponseApdu(new Uint8Array(0), code);

/**
 * The card application, driven only by APDUs (docs/protocol.md), over a transactional NVM.
 * One implementation behind every way a card is reached: the vpcd link into real pcscd, the
 * in-process reader, the serial terminal's slot, the HID key.
 *
 * transmit() never throws for any input, except PowerLoss when a tearing test cuts the power:
 * then the card is dead, exactly as a real card whose field vanished.
 */
export class CardApplet {
  readonly extendedLength: boolean;
  readonly atrProtocols: 'T0+T1' | 'T0';
  readonly maxMessageSize: number;
  readonly journalCapacity: number;

  private powered = false;
  private selected = false;
  private chain: ChainAssembler;
  private pending: Uint8Array | undefined; // response bytes not yet fetched with GET RESPONSE
  private readonly commands: CardCommands;

  constructor(
    readonly nvm: Nvm,
    opts: AppletOptions = {},
  ) {
    this.extendedLength = opts.extendedLength ?? true;
    this.atrProtocols = opts.atrProtocols ?? 'T0+T1';
    this.maxMessageSize = opts.maxMessageSize ?? 2048;
    this.journalCapacity = opts.journalCapacity ?? 32;
    this.chain = new ChainAssembler(this.maxMessageSize);
    this.commands = new CardCommands(nvm, {
      maxMessageSize: this.maxMessageSize,
      journalCapacity: this.journalCapacity,
      random: (n) => Uint8Array.from(randomBytes(n)),
    });
  }

  atr(): Uint8Array {
    return cardAtr(this.atrProtocols);
  }

  powerOn(): void {
    this.powered = true;
    this.clearSession();
  }
  powerOff(): void {
    this.powered = false;
    this.clearSession();
  }
  reset(): void {
    this.clearSession();
    this.powered = true;
  }
  get isPowered(): boolean {
    return this.powered;
  }

  private clearSession(): void {
    this.selected = false;
    this.commands.pinVerified = false;
    this.chain.reset();
    this.pending = undefined;
  }

  transmit(apdu: Uint8Array): Uint8Array {
    if (!this.nvm.alive) throw new PowerLoss();
    try {
      return this.process(apdu);
    } catch (e) {
      if (e instanceof PowerLoss) {
        this.powered = false;
        throw e;
      }
      // A bug must not crash the card or leave a half-done command: NVM transactions roll back.
      return sw(SW.UNKNOWN);
    }
  }

  private process(apdu: Uint8Array): Uint8Array {
    if (!this.powered) this.powerOn(); // vpcd and readers power the card before use; be lenient for direct callers
    let cmd: CommandApdu & { form: 'short' | 'extended' };
    try {
      cmd = decodeCommandApdu(apdu);
    } catch {
      return sw(SW.WRONG_LENGTH);
    }
    if (cmd.form === 'extended' && !this.extendedLength) return sw(SW.WRONG_LENGTH);
    const cla = cmd.cla & ~CLA_CHAINING_BIT;
    if (cla !== CLA_ISO && cla !== CLA_PROPRIETARY)
      return sw(cmd.cla & 0x03 ? SW.LOGICAL_CHANNEL_NOT_SUPPORTED : SW.CLA_NOT_SUPPORTED);

    if (cmd.ins === INS.GET_RESPONSE) {
      if (!this.pending) return sw(SW.CONDITIONS_NOT_SATISFIED);
      const rest = this.pending;
      this.pending = undefined;
      return this.deliver(rest, cmd.le ?? 256);
    }
    this.pending = undefined;

    // SELECT always gets through: selecting clears an unfinished chain (docs/protocol.md §2.1).
    const isSelect = cmd.ins === INS.SELECT && cmd.cla === CLA_ISO;
    if (isSelect) this.chain.reset();
    if ((cmd.cla & CLA_CHAINING_BIT) !== 0 || this.chain.inProgress) {
      if (cmd.ins !== INS.CBOR) {
        const interrupted = this.chain.inProgress;
        this.chain.reset();
        return sw(interrupted ? SW.LAST_COMMAND_OF_CHAIN_EXPECTED : SW.CHAINING_NOT_SUPPORTED);
      }
      try {
        const step = this.chain.push(cmd);
        if (step.kind === 'more') return sw(SW.OK);
        cmd = { ...step.command, form: cmd.form };
      } catch (e) {
        if (e instanceof DecodeError && e.code === 'APDU_CHAIN_TOO_LONG') return sw(SW.NOT_ENOUGH_MEMORY);
        return sw(SW.LAST_COMMAND_OF_CHAIN_EXPECTED);
      }
    }

    if (cmd.ins === INS.SELECT && cla === CLA_ISO) return this.select(cmd);
    if (!this.selected) return sw(SW.CONDITIONS_NOT_SATISFIED);
    const le = cmd.le ?? 0;
    switch (cmd.ins) {
      case INS.CBOR:
        if (cla !== CLA_PROPRIETARY) return sw(SW.CLA_NOT_SUPPORTED);
        if (cmd.p1 !== 0 || cmd.p2 !== 0) return sw(SW.INCORRECT_P1P2);
        return this.cbor(cmd.data ?? new Uint8Array(0), le);
      case INS.VERIFY:
      case INS.CHANGE_REFERENCE_DATA:
      case INS.RESET_RETRY_COUNTER:
        if (cla !== CLA_ISO) return sw(SW.CLA_NOT_SUPPORTED);
        if (cmd.p1 !== 0 || cmd.p2 !== PIN_REFERENCE) return sw(SW.INCORRECT_P1P2);
        return this.isoPin(cmd.ins, cmd.data);
      default:
        return sw(SW.INS_NOT_SUPPORTED);
    }
  }

  private select(cmd: CommandApdu): Uint8Array {
    if (cmd.p1 !== 0x04 || (cmd.p2 !== 0x00 && cmd.p2 !== 0x0c)) return sw(SW.INCORRECT_P1P2);
    this.clearSession();
    if (!cmd.data || !bytesEqual(cmd.data, CARD_AID)) return sw(SW.FILE_NOT_FOUND);
    this.selected = true;
    if (cmd.p2 === 0x0c) return sw(SW.OK); // "no response data" requested
    const body = encodeSelectInfo({
      protocolVersion: PROTOCOL_VERSION,
      maxMessageSize: this.maxMessageSize,
      extendedLength: this.extendedLength,
      lifecycle: this.lifecycle(),
    });
    return this.deliver(body, cmd.le ?? 0);
  }

  lifecycle(): Lifecycle {
    return effectiveLifecycle(this.nvm);
  }

  private cbor(data: Uint8Array, le: number): Uint8Array {
    let outcome: CommandOutcome;
    if (data.length > this.maxMessageSize)
      return this.deliver(encodeResponseData(CARD_STATUS.MESSAGE_TOO_LONG.code), le);
    try {
      const parsed = decodeCommandData(data);
      outcome = this.commands.run(parsed.command, parsed.params, this.lifecycle());
    } catch (e) {
      if (e instanceof PowerLoss) throw e;
      outcome = this.commands.refusal(e);
    }
    return this.deliver(encodeResponseData(outcome.status, outcome.result), le);
  }

  private isoPin(ins: number, data: Uint8Array | undefined): Uint8Array {
    const blocks: Uint8Array[] = [];
    const n = data?.length ?? 0;
    const expected = ins === INS.VERIFY ? [0, 8] : [16];
    if (!expected.includes(n)) return sw(SW.WRONG_LENGTH);
    try {
      for (let off = 0; off < n; off += 8) blocks.push(decodePinBlock(data!.subarray(off, off + 8), 4, 12));
    } catch {
      return sw(SW.WRONG_DATA);
    }
    return sw(this.commands.isoPin(ins, blocks, this.lifecycle()));
  }

  /** Send `body` with 9000, or as much as Le allows and 61xx for the rest (ISO 7816-4 §5.3.4). */
  private deliver(body: Uint8Array, le: number): Uint8Array {
    if (body.length === 0) return sw(SW.OK);
    const room = le === 0 ? 0 : le;
    if (body.length <= room) return encodeResponseApdu(body, SW.OK);
    const now = body.subarray(0, room);
    this.pending = body.slice(room);
    const left = this.pending.length;
    return encodeResponseApdu(now, 0x6100 | (left >= 256 ? 0 : left));
  }
}
