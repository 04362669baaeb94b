import {
  ApduStatusError,
  SW,
  exchange,
  type ApduTransport,
  type CommandApdu,
  type ResponseApdu,
} from '../apdu/index.js';
import type { CborMap } from '../cbor/index.js';
import { DecodeError } from '../errors.js';
import { CARD_AID, CLA_ISO, CLA_PROPRIETARY, INS, PIN_REFERENCE } from './application.js';
import { CARD_STATUS, CMD, CardStatusError, type CommandName } from './command-codes.js';
import {
  decodeResponseData,
  encodeChangePinRequest,
  encodeCommandData,
  encodeLoadRequest,
  encodePersonalizeBeginRequest,
  encodePersonalizeCommitRequest,
  encodeReadJournalRequest,
  encodeSignTxnRequest,
  encodeUnblockPinRequest,
  encodeVerifyPinRequest,
  readCardInfo,
  readJournalPage,
  readNoParams,
  readLoadResult,
  readPersonalizeBeginResult,
  readRecordResponse,
  readRetries,
  readSelectInfo,
  type CardInfo,
  type JournalPage,
  type LoadRequest,
  type LoadResult,
  type PersonalizeBeginRequest,
  type PersonalizeBeginResult,
  type PersonalizeCommitRequest,
  type SelectInfo,
  type SignTxnRequest,
} from './messages.js';
import { encodePinBlock } from './pin.js';
import { encodeBlockCardRequest } from './block-card.js';
import { encodeVoidTxnRequest, type VoidTxnRequest } from './void-txn.js';

/**
 * A typed client for the card application over any ApduTransport: what host, issuer tooling and
 * tests use to talk to a card. Refusals become CardStatusError (CBOR status byte) or
 * ApduStatusError (status word); malformed answers become DecodeError.
 */
export class CardClient {
  private extended = false;
  private selectInfo: SelectInfo | undefined;

  constructor(private readonly transport: ApduTransport & { readonly extendedLength?: boolean }) {}

  /** SELECT the application; learns whether extended APDUs can be used (reader AND card). */
  async select(): Promise<SelectInfo> {
    const r = await this.send({ cla: CLA_ISO, ins: INS.SELECT, p1: 0x04, p2: 0x00, data: CARD_AID, le: 256 });
    if (r.sw === SW.FILE_NOT_FOUND)
      throw new ApduStatusError(r.sw, 'SELECT', 'this card has no cardpost application; is it a payment card of ours?');
    if (r.sw !== SW.OK) throw new ApduStatusError(r.sw, 'SELECT');
    this.selectInfo = readSelectInfo(r.data);
    this.extended = this.selectInfo.extendedLength && (this.transport.extendedLength ?? false);
    return this.selectInfo;
  }

  get selected(): SelectInfo | undefined {
    return this.selectInfo;
  }

  private send(cmd: CommandApdu): Promise<ResponseApdu> {
    return exchange(this.transport, cmd, { extendedLength: this.extended });
  }

  /** One CBOR command: returns the result map; a non-zero status throws CardStatusError. */
  async command(name: CommandName, params?: CborMap): Promise<CborMap> {
    const r = await this.send({
      cla: CLA_PROPRIETARY,
      ins: INS.CBOR,
      p1: 0,
      p2: 0,
      data: encodeCommandData(CMD[name], params),
      le: this.extended ? 65536 : 256,
    });
    if (r.sw !== SW.OK) throw new ApduStatusError(r.sw, name);
    const { status, result } = decodeResponseData(r.data);
    if (status !== CARD_STATUS.OK.code) {
      let retries: number | undefined;
      if (
        result &&
        result.has(1) &&
        (status === CARD_STATUS.PIN_INVALID.code ||
          status === CARD_STATUS.PUK_INVALID.code ||
          status === CARD_STATUS.PIN_BLOCKED.code ||
          status === CARD_STATUS.PUK_BLOCKED.code)
      ) {
        retries = readRetries(result, `${name} refusal`);
      }
      throw new CardStatusError(status, name, retries);
    }
    return result ?? new Map();
  }

  async getInfo(): Promise<CardInfo> {
    return readCardInfo(await this.command('GET_INFO'));
  }

  async verifyPin(pin: Uint8Array): Promise<number> {
    return readRetries(await this.command('VERIFY_PIN', encodeVerifyPinRequest(pin)), 'VERIFY_PIN response');
  }

  /** ISO VERIFY with a format 2 PIN block, as a PIN pad sends it; returns the SW (9000, 63Cx, 6983…). */
  async isoVerify(pin?: Uint8Array): Promise<number> {
    const cmd: CommandApdu = { cla: CLA_ISO, ins: INS.VERIFY, p1: 0, p2: PIN_REFERENCE };
    if (pin) cmd.data = encodePinBlock(pin);
    return (await this.send(cmd)).sw;
  }

  async signTxn(q: SignTxnRequest): Promise<Uint8Array> {
    return readRecordResponse(await this.command('SIGN_TXN', encodeSignTxnRequest(q)));
  }

  /** VOID_TXN (docs/protocol.md §4.9): the card's signed reversal of its last sale, as an envelope. */
  async voidTxn(q: VoidTxnRequest): Promise<Uint8Array> {
    return readRecordResponse(await this.command('VOID_TXN', encodeVoidTxnRequest(q)));
  }

  async readJournal(fromCounter: number, maxRecords?: number): Promise<JournalPage> {
    const q = maxRecords === undefined ? { fromCounter } : { fromCounter, maxRecords };
    return readJournalPage(await this.command('READ_JOURNAL', encodeReadJournalRequest(q)));
  }

  /** Every journal record from `fromCounter` on, following pages until the card's last counter. */
  async readJournalFrom(
    fromCounter: number,
  ): Promise<{ records: Uint8Array[]; oldestCounter: number; lastCounter: number }> {
    const all: Uint8Array[] = [];
    let from = fromCounter;
    for (;;) {
      const page = await this.readJournal(from);
      all.push(...page.records);
      const next = Math.max(from, page.oldestCounter) + page.records.length;
      if (page.records.length === 0 || next > page.lastCounter)
        return { records: all, oldestCounter: page.oldestCounter, lastCounter: page.lastCounter };
      if (next <= from)
        throw new DecodeError(
          'JOURNAL_NO_PROGRESS',
          'READ_JOURNAL did not advance',
          'the card does not follow the protocol',
        );
      from = next;
    }
  }

  async load(q: LoadRequest): Promise<LoadResult> {
    return readLoadResult(await this.command('LOAD', encodeLoadRequest(q)));
  }

  async personalizeBegin(q: PersonalizeBeginRequest): Promise<PersonalizeBeginResult> {
    return readPersonalizeBeginResult(await this.command('PERSONALIZE_BEGIN', encodePersonalizeBeginRequest(q)));
  }

  async personalizeCommit(q: PersonalizeCommitRequest): Promise<void> {
    await this.command('PERSONALIZE_COMMIT', encodePersonalizeCommitRequest(q));
  }

  async changePin(oldPin: Uint8Array, newPin: Uint8Array): Promise<number> {
    return readRetries(await this.command('CHANGE_PIN', encodeChangePinRequest(oldPin, newPin)), 'CHANGE_PIN response');
  }

  async unblockPin(puk: Uint8Array, newPin: Uint8Array): Promise<number> {
    return readRetries(await this.command('UNBLOCK_PIN', encodeUnblockPinRequest(puk, newPin)), 'UNBLOCK_PIN response');
  }

  /**
   * BLOCK_CARD (docs/protocol.md §4.8): the issuer's block order envelope, with the certificate of the
   * authority that signed it (absent when the issuer CA signed it). The card answers OK when it is
   * blocked, also when it already was.
   */
  async blockCard(order: Uint8Array, authority?: Uint8Array): Promise<void> {
    readNoParams(
      await this.command('BLOCK_CARD', encodeBlockCardRequest(authority ? { order, authority } : { order })),
      'BLOCK_CARD response',
    );
  }
}
