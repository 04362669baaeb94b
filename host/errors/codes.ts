import type { ErrorDef, ErrorEntry, ErrorGroup } from './types.js';
import { def, group } from './codes-def.js';
import { CARD_SESSION, CARD_STATUSES, TERMINAL, TRANSPORT } from './codes-card.js';
import { PRINTER } from './codes-printer.js';
import { QA } from './codes-qa.js';
import { ACQUIRER, ISO8583 } from './codes-iso8583.js';
import { CLEARING } from './codes-clearing.js';
import { MONEY_BACK } from './codes-money-back.js';
import { PIN_SERVICE } from './codes-pin-service.js';

/**
 * Every error code the host gives a person or a client, grouped by where it comes from, with its
 * HTTP status, kind and advice (types.ts). The single source for the API's statuses, the CLI's exit
 * codes, the settlement worker's and the sale's "try again?" and the serial terminal's "declined";
 * docs/errors.md is generated from it (`npm run docs:errors`) and checked by test/unit/error-registry.test.ts.
 * Where a code comes from a protocol table (card status, certificate problem, transport, serial link),
 * the table here is typed by it, so a new code there does not compile until it is classified here.
 */

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
  SALE_READER_REQUIRED: def(
    409,
    'conflict',
    "the only readers are serial terminals' slots, which a sale takes only when named: key the sale on the terminal, or name its reader (--reader, or `reader` in the request)",
  ),
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
  READER_PIN_PAD_FAILED: def(
    null,
    'fault',
    "nothing was paid: start the sale again; the customer then types the PIN on the customer display. If the reader's pad should work, update its driver or firmware",
  ),
  RECOVERED: def(
    null,
    'notice',
    "nothing: the sale is paid, its record came back from the card's journal after an interruption",
  ),
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
  LOST_CARD_UNKNOWN: def(
    404,
    'not-found',
    'the bank does not know this card: check the 16-digit card id; a card that never paid is blocked by its issuer',
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

/** The holder's statement (host/sale/statement.ts, host/api/routes/statement.ts, `cardpost card statement`). */
const STATEMENT: Record<string, ErrorDef> = {
  STATEMENT_LIMIT_INVALID: def(422, 'bad-input', 'ask for a whole number of transactions from 1 to 50 (default 10)'),
  STATEMENT_NOT_OFFERED: def(
    403,
    'refused',
    'the customer display reads only the statement the counter showed (Show statement on display), of the card still in that reader',
  ),
  STATEMENT_CARD_CHANGED: def(409, 'retry', 'leave one card in the reader and ask for the statement again'),
};

/** Top-up and sync (host/card-services/, host/api/routes/topups.ts, `cardpost card topup|sync`). */
const TOPUP: Record<string, ErrorDef> = {
  TOPUP_INVALID: def(
    400,
    'bad-input',
    'send amount (0 for a sync), method cash|account, optional currency and reader, as docs/host-api.md §5.6 gives them',
  ),
  TOPUP_NOT_FOUND: def(404, 'not-found', "list the day's top-ups with GET /api/v1/topups (cardpost card topups)"),
  TOPUP_KEY_REUSED: def(409, 'conflict', 'use a new Idempotency-Key for each new top-up'),
  TOPUP_NO_CARD: def(409, 'conflict', 'insert or tap the card first, then top up'),
  TOPUP_NOT_POSSIBLE: def(
    422,
    'decline',
    'the card would refuse this load (not activated, full, blocked, other currency): do as the hint says; nothing was charged',
  ),
  TOPUP_READER_REQUIRED: def(422, 'bad-input', 'several readers hold a card: name the reader'),
  TOPUP_WRONG_CARD: def(409, 'conflict', 'put the card the top-up was started with in the reader'),
  TOPUP_OFFLINE: def(
    503,
    'unavailable',
    'nothing was charged: a top-up or sync needs the bank; try again when the counter is online',
  ),
  TOPUP_SETTLE_PENDING: def(
    503,
    'retry',
    "nothing was charged: the card's payments must settle first; try again when the queue has settled",
  ),
  TOPUP_BANK_UNCERTAIN: def(
    503,
    'retry',
    'the top-up is kept: send the same request again (same Idempotency-Key) when the bank answers; it is authorised once',
  ),
  TOPUP_BANK_REFUSED: def(
    502,
    'refused',
    'nothing was loaded or charged: the bank refused the top-up (its reason follows)',
  ),
  TOPUP_CARD_REFUSED: def(
    422,
    'decline',
    'nothing was loaded: the card refused the token (e.g. over its maximum balance); give the cash back',
  ),
  TOPUP_CARD_REMOVED: def(
    409,
    'retry',
    "the token is kept: put the card back; it is loaded (or found loaded) at the card's next tap, never twice",
  ),
  TOPUP_ALREADY_APPLIED: def(
    null,
    'notice',
    "a top-up's LOAD answer had been lost; the card's load counter shows it applied",
  ),
  TOPUP_OUT_OF_SEQUENCE: def(
    null,
    'fault',
    "a stored token is not for the card's next load: nothing was applied; report it",
  ),
};

/** The shop's days: day close, history and reprint (host/close/, host/api/routes/closes.ts, `cardpost close|sales`). */
const DAY_CLOSE: Record<string, ErrorDef> = {
  CLOSE_DAY_NOT_OVER: def(
    409,
    'conflict',
    "close a day only after it has ended in the shop's time zone; its running figures can be read meanwhile",
  ),
  CLOSE_SALE_ACTIVE: def(409, 'conflict', 'let the sale finish or cancel it, then close the day again'),
  SALE_NO_RECEIPT: def(404, 'not-found', 'only a paid sale has a receipt: look at the sale in the day’s history'),
};

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
  group('ISO 8583', 'protocol/iso8583: the acquirer link codec (docs/iso8583.md)', ISO8583),
  group(
    'The clearing service',
    "host/clearing and cardpost bank serve: the issuer's ledger on PostgreSQL or SQLite (docs/clearing.md)",
    CLEARING,
  ),
  group(
    'The ISO 8583 acquirer front end',
    'host/clearing/acquirer: what the clearing service refuses on the ISO 8583 link (docs/iso8583.md §9)',
    ACQUIRER,
  ),
  group('Top-up and sync', 'host/card-services: top-up, sync and automatic sync of the card in a reader', TOPUP),
  group(
    'The PIN service',
    'host/card-services/pin-service*.ts: activation, change and unblock of the PIN at the counter',
    PIN_SERVICE,
  ),
  group('Voids and refunds', 'host/card-services: a void at the counter, a refund through the bank', MONEY_BACK),
  group('The day close', "host/close: a shop day's Z report and close, its history and receipt copies", DAY_CLOSE),
  group("The holder's statement", 'host/sale/statement.ts and its route: reading a card between sales', STATEMENT),
  group('The receipt printer', 'host/printer: its state in the status, and receipts it did not print', PRINTER),
  group('The QA runner', 'device-sim/qa and `cardpost qa`: scenario files, the stack it brings up, its reports', QA),
  group("The cardpost command and the daemon's start", 'host/cli, host/daemon, host/issuer: never an HTTP answer', CLI),
];
