import type { RecordVerdict } from '../../protocol/bank/index.js';
import { LINK_CODES, type BatchTotals, type VerdictText } from '../../protocol/iso8583/index.js';
import { BankError, type BatchAnswer } from './bank-client.js';
import type { LinkRecord } from './iso8583-batch.js';

/**
 * What the ISO 8583 link makes of the acquirer's answers (docs/iso8583.md §7, §8): the totals it
 * sends in 0500, the BatchAnswer the worker applies, and the errors for codes about the message.
 */

/** The acquirer asked for a new sign-on (77): reconnect and carry on. */
export class SignOnAgain extends Error {}

/** What the terminal counts in its 0500: the records the acquirer approved, sales as debits, voids as credits. */
export function totalsOf(items: readonly LinkRecord[], verdicts: ReadonlyMap<number, VerdictText>): BatchTotals {
  const t = { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 };
  for (const item of items) {
    const v = verdicts.get(item.index);
    if ('unsendable' in item || !v || v.verdict === 'rejected') continue;
    if (item.processing === 'void') {
      t.creditCount++;
      t.creditAmount += item.amount;
    } else {
      t.debitCount++;
      t.debitAmount += item.amount;
    }
  }
  return t;
}

/** The verdicts in the shape the HTTP bank API gives them (bank-api.md §4.2), one per record in order. */
export function answerOf(
  batchId: string,
  items: readonly LinkRecord[],
  verdicts: ReadonlyMap<number, VerdictText>,
): BatchAnswer {
  let settledAt = 0;
  let replayed = verdicts.size > 0;
  const out: RecordVerdict[] = items.map((item) => {
    if ('unsendable' in item)
      return {
        recordId: null,
        verdict: 'rejected',
        reason: 'MALFORMED',
        detail: `not sent over ISO 8583: ${item.unsendable}`,
      };
    const v = verdicts.get(item.index)!;
    settledAt = Math.max(settledAt, v.settledAt);
    replayed &&= v.replayed;
    return {
      recordId: item.recordId,
      verdict: v.verdict,
      ...(v.reason ? { reason: v.reason } : {}),
      ...(v.detail ? { detail: v.detail } : {}),
    };
  });
  return { batchId, settledAt: settledAt || Math.floor(Date.now() / 1000), verdicts: out, replayed };
}

const REFUSAL_HINTS: Readonly<Record<string, string>> = {
  [LINK_CODES.UNKNOWN_TERMINAL]: 'check bank.iso8583.terminalId and merchantId against what the acquirer assigned',
  [LINK_CODES.MAC_FAILED]: "check bank.iso8583.macKeyHex: it must be this terminal's key at the acquirer",
  [LINK_CODES.INVALID_TRANSACTION]: 'the acquirer did not take the message; report this with the daemon log',
  [LINK_CODES.DUPLICATE_TRANSMISSION]:
    'the acquirer holds this advice with another certificate: report this to the acquirer',
};

/** A field 39 code about the message (not a record verdict) as the worker's error. */
export function refusal(code: string, what: string): BankError | SignOnAgain {
  if (code === LINK_CODES.SIGN_ON_FIRST) return new SignOnAgain();
  if (code === LINK_CODES.SYSTEM_MALFUNCTION)
    return new BankError(
      'BANK_UNAVAILABLE',
      `${what}: the acquirer answered 96 (system malfunction)`,
      'the batch stays in flight and is re-sent; nothing is settled twice',
      'unknown',
    );
  return new BankError(
    `BANK_REFUSED_ISO8583_${code.replace(/[^0-9A-Z]/g, '_')}`,
    `${what}: the acquirer answered ${code}`,
    REFUSAL_HINTS[code] ?? 'see the response code table in docs/iso8583.md and ask the acquirer',
    'refused',
  );
}

export function asBankError(e: unknown): BankError {
  if (e instanceof BankError) return e;
  if (e instanceof SignOnAgain)
    return new BankError(
      'BANK_UNAVAILABLE',
      'the acquirer asked for a new sign-on (77) again and again',
      'the batch stays in flight and is re-sent later',
      'unknown',
    );
  const err = e as { code?: unknown; message?: unknown };
  return new BankError(
    'BANK_ANSWER_INVALID',
    `the ISO 8583 exchange failed: ${typeof err?.code === 'string' ? `${err.code}: ` : ''}${String(err?.message ?? e)}`,
    'the batch stays in flight and is re-sent; report this to the acquirer if it persists',
    'unknown',
  );
}
