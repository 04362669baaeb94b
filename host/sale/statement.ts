import type { TrustStore } from '../../protocol/record/trust-store.js';
import { recordId, type SignedTxnRecord } from '../../protocol/record/index.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { CardSession, CardSessionError } from '../session/card-session.js';
import { withCard } from './card-opening.js';
import { SaleRefusedError } from './offline-limits.js';
import type { CardSummary } from './reader-diagnostics.js';

/** How many transactions a statement shows unless asked otherwise, and at most. */
export const STATEMENT_DEFAULT = 10;
export const STATEMENT_MAX = 50;

/** One payment in the card's journal, as the holder's statement shows it (all of it signed by the card). */
export interface StatementEntry {
  recordId: string;
  counter: number;
  /** Minor units. */
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  /** Unix seconds (the host's clock when the card signed). */
  time: number;
  /** The balance the card signed as left after this payment. */
  balanceAfter: number;
  /** A void (docs/protocol.md §4.9): the counter of the payment this entry gives back (`amount` went back to the card). */
  reverses?: number;
}

/** The holder's statement: the card's balance now and its newest payments, newest first. */
export interface CardStatement {
  reader: string;
  cardId: string;
  /** The card id with all but its last 4 hex digits masked (what the display shows). */
  card: string;
  /** The balance now (GET_INFO; a top-up since the last payment is in it, not in any record). */
  balance: number;
  currency: number;
  counter: number;
  offlineAmount: number;
  offlineCount: number;
  /** Newest first, at most the limit asked for; empty when the card has made no payment it still holds. */
  entries: StatementEntry[];
  /** How many payments the card's journal still holds (the oldest are overwritten as it fills). */
  journalHolds: number;
  /** When it was read, Unix seconds. */
  readAt: number;
}

export const maskCardId = (cardId: string): string => '••' + cardId.slice(-4);

/** The statement entries of a card's verified journal: newest first, at most `limit`. Pure. */
export function statementEntries(records: readonly SignedTxnRecord[], limit: number): StatementEntry[] {
  return [...records]
    .sort((a, b) => b.counter - a.counter)
    .slice(0, limit)
    .map((r) => ({
      recordId: recordId(r),
      counter: r.counter,
      amount: r.amount,
      currency: r.currency,
      merchantId: r.merchantId,
      terminalId: r.terminalId,
      time: r.time,
      balanceAfter: r.balanceAfter,
      ...(r.reverses !== undefined ? { reverses: r.reverses } : {}),
    }));
}

/** A statement limit from the API or the CLI: a whole number 1..STATEMENT_MAX, or a typed refusal. */
export function statementLimit(value: unknown): number {
  const n = typeof value === 'string' && /^[0-9]{1,3}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > STATEMENT_MAX)
    throw new SaleRefusedError(
      'STATEMENT_LIMIT_INVALID',
      `a statement shows 1 to ${STATEMENT_MAX} transactions, not ${JSON.stringify(value)}`,
      `ask for a whole number of transactions from 1 to ${STATEMENT_MAX} (default ${STATEMENT_DEFAULT})`,
    );
  return n;
}

export interface StatementOptions {
  hub: ReaderHub;
  /**
   * The look at the card that every card session starts with (`ReaderDiagnostics.inspect`): refused
   * while a sale may use the reader, certificate and revocation checks, journal recovery into the queue.
   */
  inspect: (readerName: string) => Promise<CardSummary>;
  /** The daemon's trust store (its issuers and the bank's revocation list): the card read for the statement must pass it. */
  issuers: () => TrustStore;
  now: () => number;
}

/**
 * The holder's statement (`cardpost card statement`, GET /api/v1/readers/:name/statement, the
 * customer display): a reader-diagnostics look at a card between sales. First the card is inspected
 * as every card session is (busy reader refused, certificate and revocation list, journal recovery);
 * then, in a second session on the same reader, READ_JOURNAL: each record checked as the card
 * session checks them (signature under the certified key, this card's id, each record chained to
 * the one before). A card swapped between the two is refused, so the statement is the inspected card's.
 */
export async function readStatement(o: StatementOptions, readerName: string, limit: number): Promise<CardStatement> {
  const seen = await o.inspect(readerName);
  return withCard(o.hub, readerName, async (reader) => {
    const nowS = Math.floor(o.now() / 1000);
    const session = await CardSession.open(reader, o.issuers(), { now: nowS });
    if (session.cardId !== seen.cardId)
      throw new CardSessionError(
        'STATEMENT_CARD_CHANGED',
        `the card in ${reader.name} changed while its statement was read`,
        'leave one card in the reader and ask for the statement again',
      );
    const records = await session.recover(undefined);
    const i = session.info;
    return {
      reader: reader.name,
      cardId: session.cardId,
      card: maskCardId(session.cardId),
      balance: i.balance,
      currency: i.currency ?? seen.currency ?? 0,
      counter: i.counter,
      offlineAmount: i.offlineAmount,
      offlineCount: i.offlineCount,
      entries: statementEntries(records, limit),
      journalHolds: records.length,
      readAt: nowS,
    };
  });
}
