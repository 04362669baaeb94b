import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CardpostError, CryptoError, DecodeError } from '../../protocol/errors.js';
import { CARD_STATUS, CardStatusError } from '../../protocol/commands/command-codes.js';
import { TERMINAL_LINK_ERRORS } from '../../protocol/terminal/errors.js';
import { TransportError } from '../../protocol/transport.js';
import {
  ERROR_GROUPS,
  ERROR_KINDS,
  EXIT,
  exitCodeForAnswer,
  exitCodeForError,
  httpStatus,
  isDecline,
  isRegistered,
  isRetry,
} from '../../host/errors/registry.js';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../../host/errors/errors-doc.js';

/**
 * The error registry (host/errors) is the one place a code's HTTP status, kind, advice and exit code
 * are decided: it names every code the host raises, its generated doc is current, and the decisions
 * the API, the CLI, the sale and the settlement worker took on their own sets before are kept.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const entries = ERROR_GROUPS.flatMap((g) => g.entries);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((n) => {
    const rel = join(dir, n);
    return statSync(join(ROOT, rel)).isDirectory() ? sources(rel) : rel.endsWith('.ts') ? [rel] : [];
  });
}

/** The codes host/ raises or sends as literals: `new XError('CODE'`, `sendError(reply, 'CODE'`, `code: 'CODE'` (not a serial ERROR message's). */
function raisedCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of sources('host')) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    // Across lines: a formatter may put the code on the line after the call.
    for (const m of text.matchAll(/(?:Error\(|sendError\(\s*reply,)\s*'([A-Z][A-Z0-9_]{2,})'/g)) found.set(m[1]!, f);
    for (const line of text.split('\n')) {
      if (line.includes("type: 'ERROR'")) continue; // a code the host sends to a serial terminal (protocol.md §13.6)
      for (const m of line.matchAll(/\bcode: '([A-Z][A-Z0-9_]{2,})'/g)) found.set(m[1]!, f);
    }
  }
  return found;
}

describe('error registry (host/errors)', () => {
  it(`${ERRORS_DOC_PATH} is what \`npm run docs:errors\` writes from the registry`, () => {
    const current = readFileSync(join(ROOT, ERRORS_DOC_PATH), 'utf8');
    assert.ok(current === renderErrorsDoc(), `${ERRORS_DOC_PATH} is out of date: run npm run docs:errors`);
    for (const e of entries)
      assert.ok(current.includes(`| \`${e.code}\` |`), `${ERRORS_DOC_PATH} has a row for ${e.code}`);
  });

  it('names every error code host/ raises or sends', () => {
    const codes = raisedCodes();
    assert.ok(codes.size >= 80, `expected the host's error codes, found ${codes.size}`);
    const missing = [...codes].filter(([c]) => !isRegistered(c)).map(([c, f]) => `${c} (${f})`);
    assert.deepEqual(missing, [], 'codes raised in host/ but not in host/errors/codes.ts');
  });

  it('names every card status, transport and serial-link code of the protocol', () => {
    for (const name of Object.keys(CARD_STATUS).filter((n) => n !== 'OK'))
      assert.ok(
        entries.some((e) => e.code === `CARD_${name}`),
        `CARD_${name} has its own row`,
      );
    for (const c of Object.keys(TERMINAL_LINK_ERRORS))
      assert.ok(
        entries.some((e) => e.code === c),
        c,
      );
    for (const c of ['CARD_REMOVED', 'NO_CARD', 'READER_GONE', 'TIMEOUT', 'TRANSPORT_UNAVAILABLE'])
      assert.ok(
        entries.some((e) => e.code === c),
        c,
      );
    for (const c of [
      'CARD_OUTLIVES_ISSUER',
      'CARD_ISSUER_EXPIRED',
      'CARD_ISSUER_NOT_YET_VALID',
      'CLOCK_WRONG',
      'RAW_APDU_REFUSED',
      'API_SCOPE_REFUSED',
      'REQUEST_TARGET_INVALID',
      'STORE_UNAVAILABLE',
    ]) {
      assert.ok(
        entries.some((e) => e.code === c),
        `${c} has its own row`,
      );
    }
  });

  it('each entry is well-formed, and its status fits its kind (refusals 4xx, the machine failing 5xx)', () => {
    const seen = new Set<string>();
    for (const e of entries) {
      assert.match(e.code, /^[A-Z][A-Z0-9_]*\*?$/, e.code);
      assert.ok(!seen.has(e.code), `${e.code} listed twice`);
      seen.add(e.code);
      assert.ok(ERROR_KINDS.includes(e.kind), `${e.code}: kind ${e.kind}`);
      assert.ok(e.advice.length >= 10, `${e.code} says what to do`);
      if (e.status === null) continue;
      assert.ok(e.status >= 400 && e.status < 600, `${e.code}: ${e.status}`);
      if (['bad-input', 'not-found', 'conflict', 'decline'].includes(e.kind))
        assert.ok(e.status < 500, `${e.code} is ${e.kind} but ${e.status}`);
      if (e.kind === 'not-found') assert.equal(e.status, 404, e.code);
      if (e.kind === 'decline') assert.equal(e.status, 422, e.code);
      if (e.status >= 500)
        assert.ok(
          ['retry', 'unavailable', 'fault', 'refused'].includes(e.kind),
          `${e.code}: ${e.status} is the machine failing, not ${e.kind}`,
        );
    }
  });

  it("keeps the API's statuses: not found 404, conflicts 409, scope and raw APDU 403, clock 503, card refusals 422, the bank 502/503", () => {
    const expected: Record<string, number> = {
      SALE_NOT_FOUND: 404,
      RECORD_NOT_FOUND: 404,
      READER_UNKNOWN: 404,
      NOT_FOUND: 404,
      SALE_IN_PROGRESS: 409,
      READER_BUSY: 409,
      SALE_NOT_ASKING_PIN: 409,
      SALE_CANNOT_CANCEL: 409,
      SALE_KEY_REUSED: 409,
      PIN_ON_DEVICE: 409,
      NO_CARD: 409,
      CARD_REMOVED: 409,
      RAW_APDU_REFUSED: 403,
      API_SCOPE_REFUSED: 403,
      HOST_NOT_LOOPBACK: 403,
      API_UNAUTHORISED: 401,
      PAIRING_REFUSED: 401,
      REQUEST_INVALID: 400,
      REQUEST_TARGET_INVALID: 400,
      CLOCK_WRONG: 503,
      READER_GONE: 503,
      TIMEOUT: 503,
      TRANSPORT_UNAVAILABLE: 503,
      SALE_AMOUNT_INVALID: 422,
      PIN_FORMAT: 422,
      OFFLINE_LIMIT_PER_SALE: 422,
      CARD_BLANK: 422,
      CARD_OUTLIVES_ISSUER: 422,
      CARD_ISSUER_EXPIRED: 422,
      JOURNAL_GAP: 422,
      RECORD_CHAIN_FORK: 422,
      STORE_UNAVAILABLE: 503,
      STORE_CORRUPT: 500,
      STORE_SOMETHING_NEW: 500,
      RECORD_FORK: 500,
      BATCH_ANSWER_MISMATCH: 500,
      INTERNAL: 500,
      BANK_UNREACHABLE: 503,
      BANK_UNAVAILABLE: 503,
      BANK_ANSWER_INVALID: 503,
      BANK_REFUSED_TERMINAL_UNKNOWN: 502,
    };
    for (const [code, status] of Object.entries(expected)) assert.equal(httpStatus(code), status, code);
    for (const s of Object.values(CARD_STATUS))
      if (s.code !== 0) assert.equal(httpStatus(new CardStatusError(s.code, 'SIGN_TXN')), 422);
    assert.equal(httpStatus(new CardStatusError(0x6e, 'SIGN_TXN')), 422, 'an unknown card status');
    assert.equal(httpStatus(new DecodeError('APDU_MALFORMED', 'x')), 400, 'a malformed APDU is bad input');
    assert.equal(httpStatus(new CardpostError('SOMETHING_NEW', 'x')), 400, 'an unknown code stays a 4xx, as it was');
  });

  it('a sale waits for the card again after exactly the reader failures it always did', () => {
    const transport = ['CARD_REMOVED', 'NO_CARD', 'READER_GONE', 'TIMEOUT', 'TRANSPORT_UNAVAILABLE'] as const;
    assert.deepEqual(
      transport.filter((c) => isRetry(new TransportError(c, 'm', 'h'))),
      ['CARD_REMOVED', 'NO_CARD', 'READER_GONE', 'TIMEOUT'],
    );
  });

  it('the settlement worker re-sends after no answer or a wrong answer, and stops on a refusal', () => {
    for (const c of [
      'BANK_UNREACHABLE',
      'BANK_UNAVAILABLE',
      'BANK_ANSWER_INVALID',
      'BATCH_ANSWER_MISMATCH',
      'STORE_UNAVAILABLE',
    ])
      assert.ok(isRetry(c), c);
    for (const c of ['BANK_REFUSED_AUTH_INVALID', 'SETTLEMENT_INTERNAL', 'RECORD_FORK']) assert.ok(!isRetry(c), c);
  });

  it('a serial terminal says "declined" for the card refusals it always did, "failed" for the others', () => {
    const declined = [
      'CARD_INSUFFICIENT_FUNDS',
      'CARD_OVER_TRANSACTION_LIMIT',
      'CARD_OFFLINE_AMOUNT_LIMIT',
      'CARD_OFFLINE_COUNT_LIMIT',
      'CARD_CURRENCY_MISMATCH',
      'CARD_PIN_BLOCKED',
      'CARD_TERMINATED',
      'CARD_BLOCKED',
      'CARD_REVOKED',
      'CARD_EXPIRED',
      'CARD_UNKNOWN_ISSUER',
      'CARD_BLANK',
      'CARD_CERT_MISMATCH',
      'CARD_COUNTER_EXHAUSTED',
    ];
    for (const c of declined) assert.ok(isDecline(c), c);
    const cardCodes = entries.map((e) => e.code).filter((c) => c.startsWith('CARD_') && !c.endsWith('*'));
    // CARD_PUK_BLOCKED is a decline too, but only UNBLOCK_PIN meets it, never a sale.
    assert.deepEqual(
      cardCodes.filter((c) => isDecline(c) && !declined.includes(c)),
      ['CARD_PUK_BLOCKED'],
    );
    for (const c of [
      'CARD_NOT_YET_VALID',
      'CARD_BAD_SIGNATURE',
      'CARD_PIN_INVALID',
      'SALE_UNCONFIRMED',
      'READER_GONE',
      'FAILED',
    ])
      assert.ok(!isDecline(c), c);
  });

  it("keeps the CLI's exit codes: by the daemon's status for its answers, bad input 2 and anything else 3 for its own errors", () => {
    const byStatus: [number, number][] = [
      [400, EXIT.USAGE],
      [401, EXIT.UNAVAILABLE],
      [403, EXIT.NEGATIVE],
      [404, EXIT.NEGATIVE],
      [409, EXIT.NEGATIVE],
      [413, EXIT.NEGATIVE],
      [422, EXIT.NEGATIVE],
      [500, EXIT.UNAVAILABLE],
      [502, EXIT.UNAVAILABLE],
      [503, EXIT.UNAVAILABLE],
    ];
    for (const [status, exit] of byStatus) assert.equal(exitCodeForAnswer(status), exit, `HTTP ${status}`);
    const own: [CardpostError, number][] = [
      [new CardpostError('CLI_USAGE', 'x'), EXIT.USAGE],
      [new CardpostError('HEX_ODD', 'x'), EXIT.USAGE],
      [new CardpostError('CONFIG_INVALID', 'x'), EXIT.USAGE],
      [new CardpostError('DAEMON_LOCK_FOREIGN', 'x'), EXIT.USAGE],
      [new DecodeError('CBOR_TRUNCATED', 'x'), EXIT.USAGE],
      [new CryptoError('SM2_NONCE_UNUSABLE', 'x'), EXIT.USAGE],
      [new CryptoError('RANDOM_FAILED', 'x'), EXIT.UNAVAILABLE],
      [new CardpostError('DAEMON_RUNNING', 'x'), EXIT.UNAVAILABLE],
      [new CardpostError('KEY_FILE_INVALID', 'x'), EXIT.UNAVAILABLE],
      [new TransportError('READER_GONE', 'x', 'y'), EXIT.UNAVAILABLE],
      [new CardStatusError(0x20, 'SIGN_TXN'), EXIT.UNAVAILABLE],
      [new CardpostError('SOMETHING_NEW', 'x'), EXIT.UNAVAILABLE],
    ];
    for (const [e, exit] of own) assert.equal(exitCodeForError(e), exit, e.code);
  });
});
