import { bytesEqual, toHex } from '../../protocol/bytes.js';
import type { CardpostError } from '../../protocol/errors.js';
import { CardClient, type SignTxnRequest } from '../../protocol/commands/index.js';
import { recordAnswersRequest, type SignedTxnRecord, type TrustStore } from '../../protocol/record/index.js';
import type { CardReader } from '../../protocol/transport.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { applyPendingTopups } from '../card-services/pending-topups.js';
import { CardSession, CardSessionError, recordMismatchError, type ChainHead } from '../session/card-session.js';
import type { HostStore, SaleRow } from '../store/host-store.js';
import { RECOVERED_NOTICE } from './sale-machine.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

/**
 * One card session: the reader held exclusively, and at its end the card re-selected, which clears
 * a verified PIN (docs/protocol.md §2): nothing verified for one sale outlives it, whether the next
 * command comes from another sale or from anywhere else.
 */
export function withCard<T>(hub: ReaderHub, readerName: string, work: (reader: CardReader) => Promise<T>): Promise<T> {
  return hub.exclusive(readerName, async (reader) => {
    try {
      return await work(reader);
    } finally {
      // A card taken out has lost power, and with it the verified state.
      if (reader.cardPresent) await new CardClient(reader).select().catch(() => undefined);
    }
  });
}

/** The sale a card session is for: what its record must answer. */
export interface SaleAsked {
  saleId: string;
  nonce: Uint8Array;
  request: SignTxnRequest;
}

export interface OpenedCard {
  session: CardSession;
  head: ChainHead | undefined;
  recovered: SignedTxnRecord[];
  /** This sale's record, if the journal held it (with why it does not answer the sale, if it does not). */
  mine: { record: SignedTxnRecord; mismatch: string | undefined } | undefined;
  /** The card's journal no longer reached back to the head: records were lost from view. */
  gap: boolean;
  /** Earlier sales (ended unpaid or unconfirmed) that this session's recovery has just shown paid. */
  confirmed: { saleId: string; amount: number; currency: number }[];
}

/** What recovery tells the engine: records found, rows settled, live sales that learn their outcome. */
export interface RecoveryHooks {
  recovered(e: { recordId: string; cardId: string; saleId: string | null }): void;
  stored(e: { recordId: string; saleId: string | null; amount: number; currency: number }): void;
  isLive(saleId: string): boolean;
  /** The row of a sale that is not live was settled by its record. */
  rowSettled(saleId: string): void;
  /** A live sale's record came from the card's journal in another card session (its answer was lost where it runs). */
  liveSaleRecord(saleId: string, record: SignedTxnRecord, mismatch: string | undefined): void;
  /** Records of this card were skipped: a sale awaiting its answer can no longer learn it from the card. */
  journalGap(cardId: string): void;
}

export interface CardOpenerOptions {
  store: HostStore;
  trust: TrustStore;
  merchantId: string;
  terminalId: string;
  online: () => boolean;
  now: () => number;
  hooks: RecoveryHooks;
  log?: Log;
  /** Stored top-up tokens of this card not yet applied are LOADed at its session's opening (default: host/card-services/pending-topups.ts). */
  pendingTopups?: (session: CardSession) => Promise<unknown>;
  /** A card refused as revoked is blocked on the card when the bank is reachable (revoked-card.ts); the refusal stays. */
  revoked?: { refuse(reader: CardReader, refusal: CardpostError): Promise<CardpostError> };
}

/** Opening a card: certificate checks, the chain head this host trusts, and journal recovery. */
export class CardOpener {
  constructor(private readonly o: CardOpenerOptions) {}

  /** Open the card, remember its chain head, recover journal records; find this sale's record among them. */
  async openAndRecover(reader: CardReader, sale: SaleAsked | null): Promise<OpenedCard> {
    const { store, hooks } = this.o;
    const session = await this.open(reader);
    const cardId = session.cardId;
    store.observeCard(cardId, session.info.counter, session.info.lastRecordHash, session.certificate.envelope);
    let head: ChainHead | undefined = this.trustedHead(session);
    const recovered: SignedTxnRecord[] = [];
    let mine: OpenedCard['mine'];
    let gap = false;
    const confirmed: OpenedCard['confirmed'] = [];
    if (head && session.info.counter > head.counter) {
      let records: SignedTxnRecord[];
      try {
        records = await session.recover(head);
      } catch (e) {
        if (!(e instanceof CardSessionError) || e.code !== 'JOURNAL_GAP') throw e;
        // The card has moved on past its journal's reach since we last saw it: keep what it still holds.
        gap = true;
        this.journalGap(cardId, { from: head.counter + 1, message: e.message });
        records = await session.recover(undefined);
      }
      for (const r of records) {
        const isMine = sale !== null && bytesEqual(r.hostNonce, sale.nonce);
        // A record of an earlier sale that never finished here (daemon killed, card pulled and not
        // brought back): it finds that sale by its nonce, and the sale is marked paid after all,
        // if the record is that sale. One that is not (another amount under the sale's nonce) is held.
        const earlier = isMine ? undefined : store.saleByNonce(r.hostNonce);
        // Another counter's record: that counter settles it. (A record of a sale of ours signed before the
        // terminal id was changed is still ours: its nonce says so.)
        if (!isMine && !earlier && r.terminalId !== this.o.terminalId) {
          store.passOver(r);
          continue;
        }
        const saleId = isMine ? sale.saleId : earlier?.saleId;
        const mismatch = isMine
          ? recordAnswersRequest(r, sale.request)
          : earlier
            ? recordAnswersRequest(r, { ...this.requestOfRow(earlier), time: r.time, hostNonce: r.hostNonce })
            : undefined;
        const res = store.storeRecord(r, {
          origin: 'recovered',
          ...(saleId ? { saleId } : {}),
          ...(mismatch ? { hold: { reason: 'RECORD_MISMATCH', detail: mismatch } } : {}),
        });
        if (!res.already) {
          recovered.push(r);
          this.o.log?.[mismatch ? 'warn' : 'info'](
            { recordId: res.recordId, saleId: saleId ?? null, ...(mismatch ? { held: mismatch } : {}) },
            'record recovered from the card journal',
          );
          hooks.recovered({ recordId: res.recordId, cardId, saleId: saleId ?? null });
          if (!mismatch)
            hooks.stored({ recordId: res.recordId, saleId: saleId ?? null, amount: r.amount, currency: r.currency });
        }
        if (earlier && earlier.state !== 'done' && !hooks.isLive(earlier.saleId)) {
          if (mismatch) {
            store.updateSale(earlier.saleId, {
              state: 'failed',
              errorCode: 'RECORD_MISMATCH',
              errorText: recordMismatchError(mismatch).message,
            });
          } else {
            store.updateSale(earlier.saleId, {
              state: 'done',
              recordId: res.recordId,
              paidOnline: this.o.online(),
              errorCode: RECOVERED_NOTICE.code,
              errorText: RECOVERED_NOTICE.message,
            });
            confirmed.push({ saleId: earlier.saleId, amount: earlier.amount, currency: earlier.currency });
          }
          hooks.rowSettled(earlier.saleId);
        }
        if (earlier && hooks.isLive(earlier.saleId)) hooks.liveSaleRecord(earlier.saleId, r, mismatch);
        if (isMine && (!mine || mine.mismatch)) mine = { record: r, mismatch }; // the record that answers the sale wins
      }
      head = store.cardHead(cardId);
    }
    await (this.o.pendingTopups ?? ((s: CardSession) => applyPendingTopups(s, store, this.o.log)))(session);
    return { session, head, recovered, mine, gap, confirmed };
  }

  /** SELECT, GET_INFO and the certificate checks; a revoked card is handed to `revoked` before it is refused. */
  private async open(reader: CardReader): Promise<CardSession> {
    try {
      return await CardSession.open(reader, this.o.trust, { now: Math.floor(this.o.now() / 1000) });
    } catch (e) {
      if (e instanceof CardSessionError && e.code === 'CARD_REVOKED' && this.o.revoked)
        throw await this.o.revoked.refuse(reader, e);
      throw e;
    }
  }

  /**
   * The head this card must continue. A head that rests only on what a card said (GET_INFO's counter and
   * last hash, which nothing signs) never refuses a card: one that contradicts it is believed over it,
   * back to the newest signed record this host holds (so an emulator that showed a genuine card's
   * certificate with a made-up counter cannot lock the genuine card out). A head set by a verified
   * record stands, and the card must continue it (chainToContinue).
   */
  private trustedHead(session: CardSession): ChainHead | undefined {
    const store = this.o.store;
    const cardId = session.cardId;
    const head = store.cardHead(cardId);
    if (!head || head.source !== 'observed') return head;
    const { counter, lastRecordHash } = session.info;
    if (counter > head.counter || (counter === head.counter && bytesEqual(lastRecordHash, head.hash))) return head;
    // Back to the newest signed record (a card behind that is refused by chainToContinue, as any
    // divergence from signed data); with none, the card's own word replaces the other card's word.
    const signed = store.lastStoredHead(cardId);
    const replacement = signed
      ? { head: signed, source: 'record' as const }
      : { head: { counter, hash: lastRecordHash }, source: 'observed' as const };
    store.audit('card-observation-superseded', cardId, {
      observedCounter: head.counter,
      observedHash: toHex(head.hash),
      cardCounter: counter,
      cardLastHash: toHex(lastRecordHash),
      now: replacement.head.counter,
    });
    this.o.log?.warn(
      { cardId, observedCounter: head.counter, cardCounter: counter },
      'an unsigned chain observation was contradicted by the card; superseded',
    );
    store.replaceObservedHead(cardId, replacement.head, replacement.source);
    return store.cardHead(cardId);
  }

  /**
   * Before asking for a signature: the card must stand where this host's chain for it ends (after
   * recovery). A card behind it, or at the same counter with another last record, is a copy or was
   * restored: refused before it signs, since its record could not be accepted. A card ahead whose
   * journal gave nothing back (it keeps none) is taken from where it stands, and the gap is audited.
   */
  chainToContinue(session: CardSession, head: ChainHead | undefined): { head: ChainHead | undefined; gap: boolean } {
    if (!head) return { head: undefined, gap: false };
    const { counter, lastRecordHash } = session.info;
    if (counter === head.counter && bytesEqual(lastRecordHash, head.hash)) return { head, gap: false };
    const store = this.o.store;
    if (counter > head.counter) {
      this.journalGap(session.cardId, {
        from: head.counter + 1,
        to: counter,
        message: 'the card did not give back these records',
      });
      store.advanceHead(session.cardId, { counter, hash: lastRecordHash });
      return { head: { counter, hash: lastRecordHash }, gap: true };
    }
    store.audit('card-chain-diverged', session.cardId, {
      cardCounter: counter,
      cardLastHash: toHex(lastRecordHash),
      hostCounter: head.counter,
      hostHash: toHex(head.hash),
    });
    throw new CardSessionError(
      'CARD_CHAIN_DIVERGED',
      `card ••${session.cardId.slice(-4)} does not continue the records this counter holds for it (the card is at counter ${counter}, this counter has its records up to ${head.counter})`,
      'do not accept this card: it may be a copy or its memory was restored; the holder must contact the issuer',
    );
  }

  /** A card's records were skipped (its journal no longer reached back): audited, and live sales told. */
  private journalGap(cardId: string, detail: { from: number; to?: number; message: string }): void {
    this.o.store.audit('journal-gap', cardId, detail);
    this.o.log?.warn({ cardId, ...detail }, 'journal gap');
    this.o.hooks.journalGap(cardId);
  }

  /** What a sale from the database asked the card to sign: what it asked then, not today's configuration. */
  private requestOfRow(row: SaleRow): SignTxnRequest {
    return {
      amount: row.amount,
      currency: row.currency,
      merchantId: row.merchantId ?? this.o.merchantId,
      terminalId: row.terminalId ?? this.o.terminalId,
      time: 0,
      hostNonce: new Uint8Array(0),
    };
  }
}
