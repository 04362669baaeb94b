import { toHex } from '../../protocol/bytes.js';
import { CardpostError } from '../../protocol/errors.js';
import type { ApduTransport } from '../../protocol/apdu/index.js';
import { CardClient, LIFECYCLE, type CardInfo, type SignTxnRequest } from '../../protocol/commands/index.js';
import {
  CERT_KIND,
  checkChainLink,
  decodeCertificate,
  decodeTxnRecord,
  recordAnswersRequest,
  recordId,
  verifyTxnRecord,
  type Certificate,
  type SignedTxnRecord,
  type TrustStore,
} from '../../protocol/record/index.js';

/** The last record of a card the host holds durably: where the card's chain must continue. */
export interface ChainHead {
  counter: number;
  hash: Uint8Array;
}

/** Why the host refuses a card or what it returned. Codes are stable; messages say what to do. */
export class CardSessionError extends CardpostError {}

/**
 * The card answered SIGN_TXN with bytes the host will not give a receipt for. They are kept: the card
 * may have debited its purse, and the bytes are the evidence (`record` is set when the signature and
 * chain are good but the record is for another sale).
 */
export class SignedAnswerRefusedError extends CardSessionError {
  constructor(
    cause: CardpostError,
    readonly envelope: Uint8Array,
    readonly record?: SignedTxnRecord,
  ) {
    super(cause.code, cause.message, cause.hint, { cause });
  }
}

/**
 * One card in one reader, as the host sees it (docs/protocol.md §4, §7): SELECT and GET_INFO,
 * the certificate checked against the trust store and revocation list, and every record the card
 * returns checked before anyone relies on it: signature under the certified key, exactly the sale
 * that was asked, continuing the chain the host last saw.
 */
export class CardSession {
  private constructor(
    readonly client: CardClient,
    readonly info: CardInfo,
    readonly certificate: Certificate,
  ) {}

  get cardId(): string {
    return toHex(this.certificate.subjectId);
  }

  static async open(
    transport: ApduTransport & { readonly extendedLength?: boolean },
    trust: TrustStore,
    opts: { now: number },
  ): Promise<CardSession> {
    const client = new CardClient(transport);
    await client.select();
    const info = await client.getInfo();
    if (info.lifecycle === LIFECYCLE.BLANK || !info.certificate || !info.publicKey || !info.cardId) {
      throw new CardSessionError(
        'CARD_BLANK',
        'this card has not been issued yet',
        'the card must be personalised by its issuer before it can pay',
      );
    }
    const certificate = decodeCertificate(info.certificate);
    const check = trust.check(certificate, { now: opts.now, kind: CERT_KIND.CARD });
    if (!check.ok) {
      const hint =
        check.problem === 'revoked'
          ? 'this card is blocked (reported lost or stolen, or withdrawn by its issuer): take no payment with it; the holder contacts the card issuer, who keeps the balance for a refund or a new card'
          : check.problem === 'expired'
            ? 'the card has expired; the holder needs a new card from the issuer'
            : check.problem === 'outlives-issuer' || check.problem === 'issuer-expired'
              ? "the card's issuer CA has expired or never covered this card; the holder needs a new card from the issuer"
              : 'this card is not from an issuer this counter accepts; ask for another way to pay';
      throw new CardSessionError(
        `CARD_${check.problem.toUpperCase().replace(/-/g, '_')}`,
        `card ${toHex(info.cardId)} refused: ${check.detail}`,
        hint,
      );
    }
    if (
      toHex(certificate.publicKey) !== toHex(info.publicKey) ||
      toHex(certificate.subjectId) !== toHex(info.cardId) ||
      certificate.algorithm !== info.algorithm
    ) {
      throw new CardSessionError(
        'CARD_CERT_MISMATCH',
        "the card's certificate is not for this card or its key",
        'do not accept this card; report it to the issuer',
      );
    }
    return new CardSession(client, info, certificate);
  }

  /** Check one record the card returned (or that READ_JOURNAL gave) against this card and the chain. */
  checkRecord(envelope: Uint8Array, head: ChainHead | undefined): SignedTxnRecord {
    const record = decodeTxnRecord(envelope);
    if (toHex(record.cardId) !== this.cardId) {
      throw new CardSessionError(
        'RECORD_WRONG_CARD',
        `record ${recordId(record)} is not from card ${this.cardId}`,
        'do not accept it; report the card',
      );
    }
    if (record.algorithm !== this.certificate.algorithm || !verifyTxnRecord(record, this.certificate.publicKey)) {
      throw new CardSessionError(
        'RECORD_BAD_SIGNATURE',
        `record ${recordId(record)} is not signed by the card's certified key`,
        'do not accept it; report the card',
      );
    }
    // A card the host has never seen starts its chain here; one it has seen must continue it.
    if (head) {
      const link = checkChainLink({ cardId: record.cardId, counter: head.counter, hash: head.hash }, record);
      if (!link.ok)
        throw new CardSessionError(
          `RECORD_CHAIN_${link.reason.toUpperCase().replace(/-/g, '_')}`,
          `record ${recordId(record)}: ${link.detail}`,
          "keep the card's records for the bank; recover the missing ones with READ_JOURNAL",
        );
    }
    return record;
  }

  /** SIGN_TXN, then the record checked to be exactly this sale, continuing `head`. */
  async sign(request: SignTxnRequest, head: ChainHead | undefined): Promise<SignedTxnRecord> {
    const envelope = await this.client.signTxn(request);
    let record: SignedTxnRecord;
    try {
      record = this.checkRecord(envelope, head);
    } catch (e) {
      if (e instanceof CardpostError) throw new SignedAnswerRefusedError(e, envelope);
      throw e;
    }
    const mismatch = recordAnswersRequest(record, request);
    if (mismatch) throw new SignedAnswerRefusedError(recordMismatchError(mismatch), envelope, record);
    return record;
  }

  /**
   * Journal recovery: the records the card signed after `head` (all it still has when head is
   * unknown), each verified and chained. A record signed but lost (card pulled, host crash before
   * the commit) comes back here at the card's next use.
   */
  async recover(head: ChainHead | undefined): Promise<SignedTxnRecord[]> {
    const from = head ? head.counter + 1 : 1;
    const page = await this.client.readJournalFrom(from);
    if (head && page.records.length > 0 && page.oldestCounter > from) {
      throw new CardSessionError(
        'JOURNAL_GAP',
        `card ${this.cardId} no longer holds records ${from}..${page.oldestCounter - 1}`,
        'those records are lost from this card; the bank can still settle them if another terminal holds them',
      );
    }
    const out: SignedTxnRecord[] = [];
    let prev = head;
    for (const env of page.records) {
      const r = this.checkRecord(env, prev);
      out.push(r);
      prev = { counter: r.counter, hash: r.hash };
    }
    return out;
  }
}

/** A record signed under a sale's nonce that is not that sale: no receipt, and the record is held, never settled. */
export function recordMismatchError(mismatch: string): CardSessionError {
  return new CardSessionError(
    'RECORD_MISMATCH',
    `the card signed a different sale (${mismatch}); no payment is taken and its record is held, not settled`,
    'do not hand over the goods for this sale; ask for another way to pay, and report the card to its issuer',
  );
}
