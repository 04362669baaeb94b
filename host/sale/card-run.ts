import { CARD_STATUS, CardStatusError, LIFECYCLE, type SignTxnRequest } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import { recordAnswersRequest, type SignedTxnRecord } from '../../protocol/record/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import { CardSessionError, SignedAnswerRefusedError, recordMismatchError } from '../session/card-session.js';
import type { HostStore } from '../store/host-store.js';
import { retryStore } from '../store/retry-store.js';
import { formatMoney } from '../daemon/money.js';
import type { CardOpener, SaleAsked } from './card-opening.js';
import { cardLimitRefusal } from './card-limits.js';
import type { LiveSale } from './live-sale.js';
import { SaleRefusedError } from './offline-limits.js';
import { askPin, type PinEntryContext } from './pin-entry.js';
import { outcomeUnreadable, payingCard } from './sale-machine.js';
import { describe } from './sale-book.js';
import { Interrupted, UnclearAnswer } from './step-errors.js';
import { blockedCardError } from './revoked-card.js';

/** How long a signed record is retried against a locked or failing queue database before the sale ends unconfirmed. */
const STORE_RETRY_MS = 30_000;

export interface CardRunContext extends PinEntryContext {
  store: HostStore;
  opener: CardOpener;
  merchantId: string;
  terminalId: string;
  /** Called after the card signed and the record checked out, before the SQLite commit (fault tests only). */
  afterSign?: (record: SignedTxnRecord) => void;
  log?: { warn(o: object, msg: string): void };
  /** The record is durable: the sale is stored, then done with its receipt. */
  complete: (
    sale: LiveSale,
    record: SignedTxnRecord,
    fromJournal: boolean,
    stored?: { recordId: string; already: boolean },
  ) => void;
  /** The record stored for this sale by another card session, if any. */
  storedRecordOf: (sale: LiveSale) => { record: SignedTxnRecord; mismatch: string | undefined } | undefined;
}

/** What the card is asked to sign for a live sale (what its record must say). */
export function saleAsked(c: { merchantId: string; terminalId: string }, sale: LiveSale): SaleAsked {
  const request: SignTxnRequest = {
    amount: sale.amount,
    currency: sale.currency,
    merchantId: c.merchantId,
    terminalId: c.terminalId,
    time: sale.time,
    hostNonce: sale.nonce,
  };
  return { saleId: sale.saleId, nonce: sale.nonce, request };
}

const throwIfAborted = (sale: LiveSale) => {
  if (sale.abort.signal.aborted) throw sale.abort.signal.reason;
};

/**
 * The sale's conversation with one card, the reader held: open and recover, find an answer already
 * given, check the chain, the PIN, SIGN_TXN, and the record made durable before any receipt. Every
 * step is told to the state machine; a failure is thrown for the engine to read (step-errors.ts).
 */
export async function runSaleOnCard(c: CardRunContext, sale: LiveSale, reader: CardReader): Promise<void> {
  throwIfAborted(sale);
  c.apply(sale, { type: 'READING_CARD' });
  const asked = saleAsked(c, sale);
  const opened = await c.opener.openAndRecover(reader, asked);
  const { session } = opened;
  // This sale's record: from this card's journal now, or stored already by another card session
  // (the card taken to another reader, or looked at between sales) while the answer was lost here.
  const mine = opened.mine ?? (payingCard(sale.state) ? c.storedRecordOf(sale) : undefined);
  if (mine) {
    if (mine.mismatch) {
      c.apply(sale, { type: 'NOT_SIGNED' }); // the card's answer is in: it signed something else
      throw recordMismatchError(mine.mismatch);
    }
    c.complete(sale, mine.record, true);
    return;
  }
  const paying = payingCard(sale.state);
  if (paying && session.cardId !== paying.cardId) throw new Interrupted('other_card');
  if (!paying && opened.confirmed.length > 0) {
    // This card has just turned out to have paid an earlier sale the merchant was told was not confirmed
    // (maybe the very purchase now keyed again): never charge it again in the same breath.
    const e = opened.confirmed[0]!;
    throw new SaleRefusedError(
      'SALE_EARLIER_PAID',
      `this card had paid an earlier sale of ${e.amount} (currency ${e.currency}, sale ${e.saleId}) whose answer was lost; it is now confirmed paid, and this sale was not charged`,
      'if this is the same purchase, the customer has already paid; if it is another one, start the sale again',
    );
  }
  const { head, gap } = c.opener.chainToContinue(session, opened.head);
  const stillPaying = payingCard(sale.state); // chainToContinue may have seen a gap of this very card
  if (stillPaying) {
    if (outcomeUnreadable(stillPaying, session.info.counter, gap || opened.gap)) {
      // The card signed since, and its journal no longer reaches back: whether one of those was this
      // sale cannot be read from it. Never sign again on a guess.
      throw new CardSessionError(
        'SALE_OUTCOME_LOST',
        `card ••${session.cardId.slice(-4)} has signed ${session.info.counter - stillPaying.counterAtSign} record(s) since this sale and no longer holds them all: whether it paid this sale cannot be read from it`,
        "do not charge this sale again here; the bank's statement for the card shows whether it was paid",
      );
    }
    // Every record the card signed since SIGN_TXN went out is known here, and none is this sale's: it never signed it.
    c.apply(sale, { type: 'NOT_SIGNED' });
  }
  throwIfAborted(sale);
  const info = session.info;
  // Blocked by its issuer's signed order: refused here even without the revocation list (revoked-card.ts).
  if (info.lifecycle === LIFECYCLE.BLOCKED) throw blockedCardError(session.cardId);
  // A new card still has its issuer's transport PIN: it cannot pay, and "top up" or "smaller amount" would
  // send the holder the wrong way. Say what it needs first (the PIN service activates it).
  if (info.lifecycle === LIFECYCLE.PERSONALISED)
    throw new CardStatusError(CARD_STATUS.PIN_CHANGE_REQUIRED.code, 'SIGN_TXN');
  if (info.currency !== undefined && info.currency !== sale.currency)
    throw new CardStatusError(CARD_STATUS.CURRENCY_MISMATCH.code, 'SIGN_TXN');
  // An amount the card would refuse (per-payment limit, balance, offline totals) ends the sale here,
  // before any PIN prompt: nothing signed, no PIN try spent, the card's own code (card-limits.ts).
  const refusal = cardLimitRefusal(info, sale.amount, session.certificate.limits, (m) => formatMoney(m, sale.currency));
  if (refusal) throw refusal;
  let triesLeft = info.pinRetries;
  let needPin = !info.pinVerified && info.limits !== undefined && sale.amount > info.limits.noPin;
  for (;;) {
    if (needPin) {
      await askPin(c, sale, session, reader, triesLeft);
      needPin = false;
    }
    throwIfAborted(sale);
    // From here until the card answers, the sale may be paid whatever happens to the answer. That is
    // on disk before the card is asked (a write that fails stops the sale here, nothing signed), so the
    // sale never reads back as "not paid" after a crash or power loss.
    c.store.markSigning(sale.saleId, session.cardId);
    c.apply(sale, { type: 'SIGN_SENT', cardId: session.cardId, counter: info.counter });
    let record: SignedTxnRecord;
    try {
      record = await session.sign(asked.request, head);
    } catch (e) {
      if (e instanceof CardStatusError) {
        c.apply(sale, { type: 'NOT_SIGNED' }); // the card refused with a status word: it signed nothing
        if (e.statusName === 'PIN_REQUIRED') {
          needPin = true;
          triesLeft = e.retries ?? triesLeft;
          continue;
        }
      }
      if (e instanceof SignedAnswerRefusedError) keepRefusedAnswer(c, sale, session.cardId, e);
      // An answer that came back but cannot be taken (spoiled bytes, a bad signature, an unknown status
      // word): the card may have signed. Its journal says; read it before anything is said.
      if (payingCard(sale.state) && e instanceof CardpostError && !(e instanceof TransportError))
        throw new UnclearAnswer(e);
      throw e;
    }
    c.afterSign?.(record);
    // The card has paid: the record must reach the disk. A locked or failing queue file is waited out
    // with timers (never a blocked event loop); if it stays so, the record stays in the card's journal
    // and the sale ends unconfirmed, to be made paid by recovery at the card's next use.
    const stored = await retryStore(() => c.store.storeRecord(record, { origin: 'sale', saleId: sale.saleId }), {
      budgetMs: STORE_RETRY_MS,
      onRetry: (e, attempt) => {
        if (attempt === 1)
          c.log?.warn(
            { saleId: sale.saleId, err: e.message },
            'queue database unavailable; retrying the signed record',
          );
      },
    });
    c.complete(sale, record, false, stored);
    return;
  }
}

/**
 * A signed answer the host will not give a receipt for. A verified record for another sale is held
 * (the card's answer is known: it signed something else). Anything else (bad signature, bytes that do
 * not decode, a broken chain) is audited with its bytes, and the sale stays unconfirmed: the answer may
 * have been spoiled on the way, so the card's journal is read before anything is said.
 */
function keepRefusedAnswer(c: CardRunContext, sale: LiveSale, cardId: string, e: SignedAnswerRefusedError): void {
  if (e.record) {
    c.apply(sale, { type: 'NOT_SIGNED' });
    const detail = recordAnswersRequest(e.record, saleAsked(c, sale).request) ?? e.message;
    c.store.storeRecord(e.record, { origin: 'sale', saleId: sale.saleId, hold: { reason: e.code, detail } });
    return;
  }
  const evidence = {
    saleId: sale.saleId,
    code: e.code,
    message: e.message,
    envelope: Buffer.from(e.envelope).toString('base64url'),
  };
  try {
    c.store.audit('signed-answer-refused', cardId, evidence);
  } catch (err) {
    // The journal is still read for the answer; the bytes at least reach the log.
    c.log?.warn({ ...evidence, err: describe(err) }, 'signed answer refused; audit line not written');
  }
}
