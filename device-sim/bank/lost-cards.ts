/**
 * POST /v1/cards/{cardId}/lost (docs/bank-api.md §13): a card reported lost or stolen, inside the
 * request's ledger transaction. The card is revoked (the caller re-signs the revocation list in the
 * same transaction), the report is kept with who made it (the audit trail against a rogue terminal
 * blocking cards), and the answer gives the holder's remaining balance: the balance after the newest
 * settled record of the card, which moves as offline records signed before the report still arrive,
 * plus what the bank authorised onto the card after that record (top-ups, refunds), loaded or not.
 */
import { decodeTopupToken, decodeTxnRecord, CERT_KIND, type CertKind } from '../../protocol/record/index.js';
import {
  LOST_CARD_ID,
  encodeLostCardAnswer,
  type LostCardAnswer,
  type LostCardRequest,
} from '../../protocol/bank/lost-card.js';
import { HttpError, badRequest } from '../../protocol/bank/http-error.js';
import type { Ledger, LostCardRow } from './ledger.js';

/** Who may report a card lost: any terminal of the issuer (a counter reports for the holder) and the issuer's back office. */
export const LOST_REPORTER_KINDS: readonly CertKind[] = [CERT_KIND.TERMINAL, CERT_KIND.ISSUER_SERVICE];

const USAGE = 'POST /v1/cards/<cardIdHex>/lost';

/** The path's card id in lower case; 400 PATH_INVALID otherwise. */
export function lostCardIdOf(params: unknown): string {
  const cardId = (params as { cardId?: unknown } | undefined)?.cardId;
  if (typeof cardId !== 'string' || !LOST_CARD_ID.test(cardId))
    throw badRequest('PATH_INVALID', 'the card id must be 16 hex digits', USAGE);
  return cardId.toLowerCase();
}

/** The balance the bank knows for the card: after its settled record with the highest counter. */
export function remainingBalance(
  ledger: Ledger,
  cardId: string,
): { balance: number | null; balanceCounter: number; currency: number | null } {
  const newest = ledger.newestSettled(cardId);
  if (!newest) return { balance: null, balanceCounter: 0, currency: null };
  const record = decodeTxnRecord(newest.envelope);
  // The newest record's balance counts every load before it. A load the bank authorised after the card
  // signed that record is the holder's money too, loaded or not: its token's settledCounter reaches the
  // record (the bank held it when it issued the token), or it was issued after the record's time.
  const after = ledger
    .loadsOf(cardId)
    .filter((l) => decodeTopupToken(l.token).settledCounter >= newest.counter || l.issuedAt > record.time);
  return {
    balance: record.balanceAfter + after.reduce((sum, l) => sum + l.amount, 0),
    balanceCounter: newest.counter,
    currency: newest.currency,
  };
}

/**
 * Does a record of a revoked card still settle? Only when the card was revoked by a lost/stolen
 * report (not, say, for a double spend) and the record was signed at or before the report time:
 * the holder paid before telling anyone, so the merchant is paid and the balance follows.
 */
export function settlesDespiteRevocation(ledger: Ledger, cardId: string, recordTime: number): boolean {
  const lost = ledger.getLostCard(cardId);
  return lost !== undefined && lost.revokedByReport && recordTime <= lost.reportedAt;
}

/**
 * Record the report and revoke the card; returns the answer text and whether the revocation list
 * must be re-signed. 404 CARD_NOT_FOUND for a card the bank has never seen (no certificate, no record, no revocation).
 */
export function reportLostCard(
  ctx: { ledger: Ledger; caller: { kind: CertKind; id: string }; now: number; listSequence: () => number },
  cardId: string,
  q: LostCardRequest,
): { text: string; newlyRevoked: boolean } {
  const { ledger, now } = ctx;
  let row = ledger.getLostCard(cardId);
  let newlyRevoked = false;
  const first = row === undefined;
  if (!row) {
    const known =
      ledger.getCardCertificate(cardId) !== undefined ||
      ledger.newestSettled(cardId) !== undefined ||
      ledger.isRevoked(cardId);
    // One answer whoever asks: a terminal learns no more than that the bank does not know the card.
    if (!known)
      throw new HttpError(
        404,
        'CARD_NOT_FOUND',
        `card ${cardId} is not known to the bank`,
        'check the card id; a card that never paid is blocked by its issuer',
      );
    newlyRevoked = ledger.revoke(cardId, `reported ${q.reason}`, now);
    const b = remainingBalance(ledger, cardId);
    const fresh: LostCardRow = {
      cardId,
      reason: q.reason,
      reportedAt: now,
      reporterKind: ctx.caller.kind === CERT_KIND.ISSUER_SERVICE ? 'issuer' : 'terminal',
      reporterId: ctx.caller.id,
      revokedByReport: newlyRevoked,
      balanceAtReport: b.balance,
      counterAtReport: b.balanceCounter,
    };
    ledger.putLostCard(fresh);
    row = fresh;
  }
  const answer: LostCardAnswer = {
    cardId,
    reason: row.reason as LostCardAnswer['reason'],
    reportedAt: row.reportedAt,
    reportedBy: { kind: row.reporterKind, id: row.reporterId },
    alreadyReported: !first,
    // the list is re-signed by the caller after this when newlyRevoked: the next sequence carries the card
    revocationSequence: ctx.listSequence() + (newlyRevoked ? 1 : 0),
    ...remainingBalance(ledger, cardId),
  };
  return { text: encodeLostCardAnswer(answer), newlyRevoked };
}
