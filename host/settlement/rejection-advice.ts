/**
 * What the merchant should do about a record the bank refused (docs/bank-api.md §4.3), in words for
 * the counter page. The bank's reason codes are stable; an unknown one gets a safe default.
 */
export const REJECTION_ADVICE: Readonly<Record<string, string>> = {
  MALFORMED: 'Keep the record for investigation and report it to cardpost support; do not resend it.',
  WRONG_TERMINAL:
    'The record belongs to another counter or was sent with the wrong terminal credentials; settle it from the terminal it names.',
  CERT_MISSING: 'The card certificate did not reach the bank; report it to cardpost support.',
  CERT_UNKNOWN_ISSUER:
    'Not a card of our scheme: this sale is not paid. Refuse the card in future and contact the issuer.',
  CERT_INVALID:
    'The card certificate is forged or corrupted: this sale is not paid. Keep the card out of service and report it.',
  CERT_EXPIRED:
    'The card was used outside its validity (or the counter clock is wrong): this sale is not paid. The holder must renew the card.',
  CURRENCY_UNSUPPORTED:
    'The counter charged in a currency the card does not hold: this sale is not paid. Fix the counter currency.',
  OVER_LIMIT: "The sale broke the card's limits: it is not paid. Report the card to the issuer.",
  BAD_SIGNATURE: 'The record was altered or forged: it is not paid. Keep it as evidence and report it.',
  DOUBLE_SPEND:
    'The card signed two different payments with the same counter: this one is not paid. Retain the card if presented and report it.',
  REVOKED: 'The card was revoked: this sale is not paid. Refuse the card at the counter.',
  RECORD_EXPIRED:
    'The record reached the bank too late (or the counter clock is wrong): it is not paid. Settle sooner; check the clock.',
  CHAIN_BROKEN:
    "The card's record chain does not link (a cloned or faulty card): this sale is not paid. Report the card.",
  REVERSAL_ORPHAN:
    'The void reached the bank before its sale, or its sale was refused: the sale is not charged either way. Nothing to give back.',
  REVERSAL_INVALID:
    'The void does not match its sale (another amount, merchant or counter): it is not counted. Report the card to the issuer.',
};

export function rejectionAdvice(reason: string | null): string {
  return (
    (reason && REJECTION_ADVICE[reason]) ?? 'The bank refused this record; ask the bank why, quoting the record id.'
  );
}
