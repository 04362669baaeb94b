import { CARD_STATUS, type CardStatusName } from '../../protocol/commands/command-codes.js';
import { TERMINAL_LINK_ERRORS, type TerminalLinkErrorCode } from '../../protocol/terminal/errors.js';
import type { CertificateProblem } from '../../protocol/record/index.js';
import type { TransportErrorCode } from '../../protocol/transport.js';
import type { ErrorDef, ErrorEntry, ErrorGroup, ErrorKind } from './types.js';

/**
 * Every error code the host gives a person or a client, grouped by where it comes from, with its
 * HTTP status, kind and advice (types.ts). The single source for the API's statuses, the CLI's exit
 * codes, the settlement worker's and the sale's "try again?" and the serial terminal's "declined";
 * docs/errors.md is generated from it (`npm run docs:errors`) and checked by test/unit/error-registry.test.ts.
 * Where a code comes from a protocol table (card status, certificate problem, transport, serial link),
 * the table here is typed by it, so a new code there does not compile until it is classified here.
 */

const def = (status: number | null, kind: ErrorKind, advice: string): ErrorDef => ({ status, kind, advice });
const group = (title: string, source: string, defs: Readonly<Record<string, ErrorDef>>): ErrorGroup => ({
  title,
  source,
  entries: Object.entries(defs).map(([code, d]) => ({
    code,
    ...d,
    ...(code.endsWith('*') ? { family: 'prefix' as const } : {}),
  })),
});

/** `outlives-issuer` → `OUTLIVES_ISSUER`, at the type level, so the table below must name every problem. */
type Snake<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S;
type CertificateCode = `CARD_${Uppercase<Snake<CertificateProblem | 'revoked'>>}`;
type CardStatusCode = `CARD_${Exclude<CardStatusName, 'OK'>}` | 'CARD_UNKNOWN_STATUS';
type ChainCode = `RECORD_CHAIN_${Uppercase<Snake<'gap' | 'fork' | 'replay' | 'wrong-card'>>}`;

const API: Record<string, ErrorDef> = {
  REQUEST_INVALID: def(
    400,
    'bad-input',
    'correct the body, query or header as docs/host-api.md gives it for this route',
  ),
  REQUEST_TARGET_INVALID: def(400, 'bad-input', 'send the path alone (e.g. GET /api/v1/status) with the Host header'),
  'FST_ERR_*': def(
    null,
    'bad-input',
    "fastify's own codes, passed through with its status (400 not JSON or empty, 413 over 64 KiB, 415 not application/json; the CLI exits 2 for the 400, 1 for the others): send a JSON body under 64 KiB",
  ),
  API_UNAUTHORISED: def(
    401,
    'refused',
    'send "Authorization: Bearer <token>" with the token from <dataDir>/api-token, or pair the page',
  ),
  PAIRING_REFUSED: def(401, 'refused', 'copy the token from <dataDir>/api-token again'),
  API_SCOPE_REFUSED: def(
    403,
    'refused',
    'use the counter page or the cardpost command on the counter PC; the customer display may only show the sale and take its PIN',
  ),
  HOST_NOT_LOOPBACK: def(403, 'refused', 'open the API as http://127.0.0.1:PORT/ (or localhost)'),
  RAW_APDU_REFUSED: def(403, 'refused', 'send only the read commands docs/host-api.md §5.3 lists'),
  NOT_FOUND: def(404, 'not-found', 'check the method and path against docs/host-api.md'),
  INTERNAL: def(500, 'fault', 'report it with the daemon log'),
};

const SALES: Record<string, ErrorDef> = {
  SALE_NOT_FOUND: def(404, 'not-found', 'list the sales with GET /api/v1/sales (cardpost sale list)'),
  RECORD_NOT_FOUND: def(404, 'not-found', 'list the records with GET /api/v1/queue'),
  READER_UNKNOWN: def(404, 'not-found', 'list the readers with `cardpost readers` and use one of their names'),
  SALE_IN_PROGRESS: def(409, 'conflict', 'finish or cancel the sale at the counter first'),
  READER_BUSY: def(409, 'conflict', 'finish or cancel the sale using the reader first'),
  SALE_NOT_ASKING_PIN: def(409, 'conflict', 'send the PIN only while the sale is in state `pin`'),
  SALE_CANNOT_CANCEL: def(409, 'conflict', 'the card is signing: wait a moment for the result'),
  SALE_KEY_REUSED: def(409, 'conflict', 'use a new Idempotency-Key for each new sale'),
  PIN_ON_DEVICE: def(409, 'conflict', "the customer types the PIN on the reader's or terminal's own pad"),
  SALE_AMOUNT_INVALID: def(422, 'bad-input', 'enter the amount again as a positive whole number of minor units'),
  SALE_CURRENCY_INVALID: def(422, 'bad-input', 'use an ISO 4217 numeric code, e.g. 156 (CNY)'),
  PIN_FORMAT: def(422, 'bad-input', 'type the PIN again: 4 to 12 digits'),
  OFFLINE_LIMIT_PER_SALE: def(
    422,
    'decline',
    'take a smaller amount, or wait until the bank is reachable (daemon.md §7)',
  ),
  OFFLINE_LIMIT_UNSETTLED_AMOUNT: def(
    422,
    'decline',
    'settle the queue first (cardpost settle) once the bank is reachable',
  ),
  OFFLINE_LIMIT_AGE: def(422, 'decline', 'settle the queue first (cardpost settle) once the bank is reachable'),
  CLOCK_WRONG: def(
    503,
    'unavailable',
    "set the counter's clock (the status's `clock` says how far off it is); sales resume by themselves",
  ),
  SALE_EARLIER_PAID: def(
    422,
    'conflict',
    "the card already paid an earlier sale: look at that sale's receipt before charging again",
  ),
};

const SALE_OBJECT: Record<string, ErrorDef> = {
  SALE_ABANDONED: def(
    null,
    'retry',
    'no card was charged: start the sale again from a page or command that stays to follow it',
  ),
  SALE_UNCONFIRMED: def(
    null,
    'conflict',
    'the card may have paid: insert the same card again so the counter reads its journal; do not charge again',
  ),
  SALE_INTERRUPTED: def(
    null,
    'conflict',
    'the daemon stopped during the sale: if the card was asked to pay, its record comes back the next time the card is used here',
  ),
  CARD_NOT_THE_PAYING_ONE: def(null, 'conflict', 'insert the card that was paying: it may already have paid'),
  PIN_WRONG: def(null, 'retry', 'let the customer type the PIN again; the notice gives the tries left'),
  RECOVERED: def(
    null,
    'notice',
    "nothing: the sale is paid, its record came back from the card's journal after an interruption",
  ),
};

const CARD_SESSION = {
  CARD_BLANK: def(422, 'decline', 'the card must be personalised by its issuer before it can pay'),
  CARD_CERT_MISMATCH: def(422, 'decline', 'do not accept this card; report it to the issuer'),
  CARD_UNKNOWN_ISSUER: def(
    422,
    'decline',
    "this counter does not trust the card's issuer: pay another way, or add the issuer (trustedIssuers)",
  ),
  CARD_REVOKED: def(
    422,
    'decline',
    'the card is on the revocation list: keep it away from payment, the holder asks the issuer',
  ),
  CARD_EXPIRED: def(422, 'decline', "the card's certificate expired: the holder asks the issuer for a new card"),
  CARD_NOT_YET_VALID: def(422, 'refused', "check the counter's clock; otherwise the card is not valid yet"),
  CARD_ISSUER_EXPIRED: def(
    422,
    'refused',
    "the issuer CA this counter holds has expired: install the issuer's current CA certificate",
  ),
  CARD_ISSUER_NOT_YET_VALID: def(422, 'refused', "check the counter's clock; otherwise the issuer CA is not valid yet"),
  CARD_OUTLIVES_ISSUER: def(
    422,
    'fault',
    'the issuer made a card certificate valid beyond its own CA: report it to the issuer',
  ),
  CARD_ISSUER_NOT_CA: def(422, 'fault', 'the certificate chain is wrong: report the card to the issuer'),
  CARD_BAD_SIGNATURE: def(
    422,
    'fault',
    "the card's certificate is not signed by its issuer: do not accept the card; report it",
  ),
  CARD_WRONG_KIND: def(422, 'fault', 'the certificate is not a card certificate: do not accept the card; report it'),
  CARD_CHAIN_DIVERGED: def(
    422,
    'fault',
    "the card's records fork from those held here: keep the card's records for the bank and report the card",
  ),
  RECORD_WRONG_CARD: def(422, 'fault', 'do not accept the record; report the card'),
  RECORD_BAD_SIGNATURE: def(422, 'fault', 'do not accept the record; report the card'),
  RECORD_MISMATCH: def(
    422,
    'fault',
    'no payment was taken and the record is held, not settled: charge again only after checking the card',
  ),
  RECORD_CHAIN_GAP: def(
    422,
    'fault',
    "the card's records have a gap: they are recovered from its journal at its next use",
  ),
  RECORD_CHAIN_FORK: def(
    422,
    'fault',
    "two records claim the same place in the card's chain: keep both for the bank and report the card",
  ),
  RECORD_CHAIN_REPLAY: def(
    422,
    'fault',
    'a record the counter already holds was offered again: nothing is charged twice',
  ),
  RECORD_CHAIN_WRONG_CARD: def(422, 'fault', 'the record is for another card: report the card'),
  JOURNAL_GAP: def(
    422,
    'fault',
    'records are lost from the card; the bank can still settle those another terminal holds',
  ),
  SALE_OUTCOME_LOST: def(
    422,
    'fault',
    "the outcome of the card's last signature could not be read back: report it with the daemon log",
  ),
  'CARD_*': def(422, 'fault', 'a card refusal this host does not know: update the host software'),
} satisfies Record<CertificateCode | ChainCode, ErrorDef> & Record<string, ErrorDef>;

/** The card's own status codes (protocol/commands/command-codes.ts), as CardStatusError raises them: `CARD_<name>`. */
const CARD_STATUS_KIND: Record<Exclude<CardStatusName, 'OK'>, ErrorKind> = {
  INVALID_COMMAND: 'fault',
  INVALID_CBOR: 'fault',
  INVALID_PARAMETER: 'fault',
  MESSAGE_TOO_LONG: 'fault',
  WRONG_STATE: 'refused',
  TERMINATED: 'decline',
  PIN_REQUIRED: 'retry',
  PIN_INVALID: 'retry',
  PIN_BLOCKED: 'decline',
  PIN_FORMAT: 'bad-input',
  PUK_INVALID: 'retry',
  PUK_BLOCKED: 'decline',
  PIN_CHANGE_REQUIRED: 'refused',
  INSUFFICIENT_FUNDS: 'decline',
  OVER_TRANSACTION_LIMIT: 'decline',
  OFFLINE_AMOUNT_LIMIT: 'decline',
  OFFLINE_COUNT_LIMIT: 'decline',
  CURRENCY_MISMATCH: 'decline',
  COUNTER_EXHAUSTED: 'decline',
  NONCE_REUSED: 'fault',
  TOKEN_SIGNATURE_INVALID: 'refused',
  TOKEN_REPLAYED: 'refused',
  TOKEN_WRONG_CARD: 'refused',
  TOKEN_EXPIRED: 'refused',
  BALANCE_LIMIT: 'refused',
  AUTHORITY_INVALID: 'refused',
  CERTIFICATE_INVALID: 'refused',
  AUTHORISATION_INVALID: 'refused',
  INTERNAL_ERROR: 'fault',
};
const CARD_STATUSES: Record<CardStatusCode, ErrorDef> = {
  ...(Object.fromEntries(
    Object.entries(CARD_STATUS_KIND).map(([name, kind]) => [
      `CARD_${name}`,
      def(422, kind, CARD_STATUS[name as CardStatusName].hint),
    ]),
  ) as Record<CardStatusCode, ErrorDef>),
  CARD_UNKNOWN_STATUS: def(422, 'fault', 'the card speaks a newer protocol: update the host software'),
};

const TRANSPORT: Record<TransportErrorCode, ErrorDef> = {
  NO_CARD: def(409, 'retry', 'insert or tap the card; a sale waits for it by itself'),
  CARD_REMOVED: def(409, 'retry', 'insert the card again and keep it there until the counter says so'),
  READER_GONE: def(503, 'retry', 'plug the reader in again (or restart pcscd); a sale waits for it by itself'),
  TIMEOUT: def(503, 'retry', 'the card or reader did not answer in time: insert the card again'),
  TRANSPORT_UNAVAILABLE: def(
    503,
    'unavailable',
    "install or start the reader's driver or service (pcscd, the HID or serial library)",
  ),
};

const LINK_KIND: Record<TerminalLinkErrorCode, ErrorKind> = {
  LINK_RETRY_LIMIT: 'retry',
  LINK_MESSAGE_TOO_LARGE: 'fault',
  LINK_QUEUE_FULL: 'retry',
  LINK_BAD_FRAGMENT: 'retry',
  LINK_PARTIAL_DROPPED: 'retry',
  LINK_CLOSED: 'retry',
  MSG_INVALID: 'fault',
  REQUEST_TIMEOUT: 'retry',
  REQUEST_REFUSED: 'refused',
};
const TERMINAL: Record<string, ErrorDef> = {
  ...Object.fromEntries(
    Object.entries(LINK_KIND).map(([code, kind]) => [
      code,
      def(400, kind, TERMINAL_LINK_ERRORS[code as TerminalLinkErrorCode].hint),
    ]),
  ),
  TERMINAL_REFUSED: def(400, 'refused', 'the serial terminal refused the request: see its message'),
  TERMINAL_TIMEOUT: def(400, 'retry', 'the serial terminal did not answer in time; check it is powered and plugged in'),
  TERMINAL_DISCONNECTED: def(400, 'retry', 'the serial terminal went away; the host reconnects by itself'),
  TERMINAL_CANCELLED: def(400, 'conflict', 'the request was cancelled at the terminal'),
  TERMINAL_WARNING: def(
    400,
    'retry',
    "the terminal's link had trouble and retries by itself; check the cable if it repeats",
  ),
  APDU_STATUS: def(400, 'fault', 'the card answered an error status word: see docs/protocol.md for it'),
};

const BANK: Record<string, ErrorDef> = {
  BANK_UNREACHABLE: def(
    503,
    'retry',
    'the counter keeps taking card payments offline; records settle when the bank is back',
  ),
  BANK_UNAVAILABLE: def(503, 'retry', 'the bank is busy or down: settlement retries by itself (Retry-After honoured)'),
  BANK_ANSWER_INVALID: def(
    503,
    'retry',
    'the batch stays in flight and is re-sent unchanged; report it to the bank if it persists',
  ),
  'BANK_REFUSED_*': def(
    502,
    'refused',
    "the bank refused the terminal's request (its code follows the prefix): see docs/bank-api.md and ask the bank",
  ),
  BATCH_ANSWER_MISMATCH: def(
    500,
    'retry',
    "the bank's answer does not match the batch: nothing is applied and the batch is re-sent unchanged",
  ),
  SETTLEMENT_INTERNAL: def(
    null,
    'fault',
    'settlement retries by itself; if it persists, report it with the daemon log',
  ),
};

const STORE: Record<string, ErrorDef> = {
  STORE_UNAVAILABLE: def(
    503,
    'retry',
    'the queue database is locked or failing; nothing is lost: check no other process holds the file and the disk has space',
  ),
  STORE_WRITE_FAILED: def(500, 'fault', 'check the disk that holds the data directory; report it with the daemon log'),
  STORE_TOO_NEW: def(500, 'unavailable', 'the queue database is from a newer cardpost: run that version'),
  STORE_OPEN_FAILED: def(500, 'unavailable', "check the data directory's permissions and disk"),
  STORE_NOT_DURABLE: def(
    500,
    'unavailable',
    "put the data directory on a file system where SQLite's WAL and fsync work",
  ),
  STORE_CORRUPT: def(500, 'fault', 'stop the daemon, keep a copy of the queue file, and restore from a backup'),
  'STORE_*': def(500, 'fault', 'the queue database failed: report it with the daemon log'),
  RECORD_FORK: def(
    500,
    'fault',
    'a card signed two records with one counter: both are kept as evidence; report the card',
  ),
};

const CLI: Record<string, ErrorDef> = {
  'CLI_*': def(null, 'bad-input', 'correct the command line; the message names the option (cardpost COMMAND --help)'),
  'HEX_*': def(null, 'bad-input', 'give the bytes as an even number of hex digits'),
  'CONFIG_*': def(
    null,
    'bad-input',
    'correct the config file or the CARDPOST_* variable the message names (docs/daemon.md)',
  ),
  DAEMON_LOCK_FOREIGN: def(null, 'bad-input', "a file that is not the daemon's lock is in its place: move it away"),
  DAEMON_RUNNING: def(
    null,
    'conflict',
    'a daemon already runs on this data directory: stop it first, or use another --data-dir',
  ),
  DAEMON_NOT_RUNNING: def(
    null,
    'unavailable',
    'start one with `cardpost daemon` (or `cardpost demo`), or pass --data-dir',
  ),
  DAEMON_UNREACHABLE: def(null, 'unavailable', 'the daemon does not answer: check that it is running'),
  DAEMON_LOCK_LOST: def(null, 'unavailable', "another process took the daemon's lock file: stop the other daemon"),
  API_TOKEN_INVALID: def(
    null,
    'unavailable',
    'delete the api-token file; the daemon makes a new one at start (every page must pair again)',
  ),
  API_TOKEN_UNREADABLE: def(null, 'unavailable', "run the CLI as the daemon's user"),
  TERMINAL_CREDENTIALS_MISSING: def(
    null,
    'unavailable',
    'have the issuer make them: cardpost issuer terminal --out TERMINAL_DIR',
  ),
  TERMINAL_CERT_INVALID: def(null, 'unavailable', 'ask the issuer for a new terminal certificate'),
  TERMINAL_KEY_MISMATCH: def(null, 'unavailable', 'put the matching terminal.key and terminal.cert in the directory'),
  KEY_FILE_UNREADABLE: def(null, 'unavailable', "check the key file's path and permissions"),
  KEY_FILE_INVALID: def(
    null,
    'unavailable',
    'give a key file cardpost made (cardpost crypto sm2-keygen, cardpost issuer)',
  ),
  CERT_FILE_UNREADABLE: def(null, 'unavailable', "check the certificate file's path and permissions"),
  CERT_FILE_INVALID: def(null, 'unavailable', 'give a certificate file cardpost made'),
  ISSUER_MISSING: def(null, 'not-found', 'make the issuer first: cardpost issuer init'),
  ISSUER_EXISTS: def(null, 'conflict', 'the issuer directory is in use: choose another, never overwrite an issuer'),
  FILE_EXISTS: def(null, 'conflict', 'choose another output file; cardpost never overwrites one'),
  'HTTP_*': def(
    null,
    'fault',
    'the daemon answered without an error body (HTTP_<status>): check the --data-dir and the daemon log',
  ),
};

/** Errors of the protocol's own classes, whatever their code (a code listed above wins). */
export const CLASS_FAMILIES: readonly (ErrorEntry & { family: 'class' })[] = [
  {
    code: 'DecodeError',
    family: 'class',
    status: 400,
    kind: 'bad-input',
    advice: 'bytes, CBOR, hex or a file from outside do not parse: the message says which field',
  },
  {
    code: 'EncodeError',
    family: 'class',
    status: 400,
    kind: 'bad-input',
    advice: 'a value cannot be encoded as given (length, range): correct it',
  },
  {
    code: 'CryptoError',
    family: 'class',
    status: 400,
    kind: 'bad-input',
    advice: 'a key, signature or padding is not usable as given: check the input',
  },
  {
    code: 'TerminalLinkError',
    family: 'class',
    status: 400,
    kind: 'retry',
    advice:
      "the serial terminal's link failed: the host reconnects by itself; check the cable and power if it persists",
  },
];

const CRYPTO: Record<string, ErrorDef> = {
  RANDOM_FAILED: def(400, 'fault', "the system's random source failed: nothing was signed; report it"),
};

/** A code that no table here names: refusals stay 4xx, as they always were. */
export const UNKNOWN: ErrorDef = def(400, 'fault', 'a code this registry does not know: report it with the daemon log');

export const ERROR_GROUPS: readonly ErrorGroup[] = [
  group('Local API', 'host/api: the request itself, its credential and its route', API),
  group('Sales', 'host/sale: a request to start, follow, key a PIN for or cancel a sale', SALES),
  group(
    "In a sale's error or notice",
    'host/sale: never an HTTP answer, only the `error` or `notice` of a sale object',
    SALE_OBJECT,
  ),
  group('The card session', 'host/session: the card, its certificate and its records', CARD_SESSION),
  group(
    "The card's own status",
    'protocol/commands/command-codes.ts: the card refused a command (`CARD_<status>`)',
    CARD_STATUSES,
  ),
  group('Readers', 'protocol/transport.ts: below the APDU level, for every medium', TRANSPORT),
  group('Serial terminals', "protocol/terminal and host/transports/serial: the terminal's link and requests", TERMINAL),
  group('The bank, as the host passes it on', 'host/settlement: settlement and reconciliation', BANK),
  group('The queue database', 'host/store', STORE),
  group('Crypto', 'protocol/crypto', CRYPTO),
  group("The cardpost command and the daemon's start", 'host/cli, host/daemon, host/issuer: never an HTTP answer', CLI),
];
