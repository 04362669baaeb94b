/**
 * The host database's schema, as an append-only list of migrations. A migration is never edited once
 * released: a change is a new entry. `PRAGMA user_version` records how far a file has been migrated.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'queue of signed records, card chain heads, certificates, batches, sales, audit log',
    sql: `
-- Every signed record the host holds, in queue order (seq). A record is stored before any receipt.
CREATE TABLE records (
  seq          INTEGER PRIMARY KEY,
  record_id    TEXT    NOT NULL UNIQUE,          -- <cardId hex>:<counter>
  card_id      TEXT    NOT NULL,
  counter      INTEGER NOT NULL,
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  merchant_id  TEXT    NOT NULL,
  terminal_id  TEXT    NOT NULL,
  record_time  INTEGER NOT NULL,
  host_nonce   BLOB    NOT NULL,
  balance_after INTEGER NOT NULL,
  cvm          INTEGER NOT NULL,
  hash         BLOB    NOT NULL,
  prev_hash    BLOB    NOT NULL,
  envelope     BLOB    NOT NULL,                 -- exactly as the card signed it
  origin       TEXT    NOT NULL CHECK (origin IN ('sale', 'recovered')),
  sale_id      TEXT,
  status       TEXT    NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'settled', 'duplicate', 'rejected')),
  batch_id     TEXT,
  reason       TEXT,                             -- the bank's rejection reason
  detail       TEXT,
  stored_at    INTEGER NOT NULL,                 -- host clock, ms
  settled_at   INTEGER                           -- the bank's settledAt, s
);
CREATE INDEX records_by_status ON records (status, seq);
CREATE INDEX records_by_settled ON records (settled_at) WHERE status = 'settled';

-- Where each card's hash chain stands, as far as this host knows: the last record it stored, or
-- what GET_INFO said the first time it saw the card (written before any signature is asked for, so
-- a record signed and then lost is always above the head and comes back by journal recovery).
CREATE TABLE card_heads (
  card_id      TEXT    PRIMARY KEY,
  counter      INTEGER NOT NULL,
  hash         BLOB    NOT NULL,
  source       TEXT    NOT NULL CHECK (source IN ('record', 'observed')),
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- Card certificates, sent with a card's records until a batch carrying them is answered.
CREATE TABLE card_certificates (
  card_id      TEXT    PRIMARY KEY,
  envelope     BLOB    NOT NULL,
  acknowledged INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Settlement batches. The body is kept byte for byte: a batch whose answer was lost is re-sent
-- with the same id and the same bytes, and the bank replays its stored answer.
CREATE TABLE batches (
  batch_id     TEXT    PRIMARY KEY,
  state        TEXT    NOT NULL CHECK (state IN ('sending', 'answered')),
  body         BLOB    NOT NULL,
  records      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  answered_at  INTEGER,
  accepted     INTEGER,
  duplicate    INTEGER,
  rejected     INTEGER
) WITHOUT ROWID;
CREATE INDEX batches_in_flight ON batches (state, created_at);

CREATE TABLE sales (
  sale_id      TEXT    PRIMARY KEY,
  request_key  TEXT    UNIQUE,                   -- the caller's idempotency key, if any
  host_nonce   BLOB    NOT NULL UNIQUE,          -- what the card signs: ties a recovered record to its sale
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  reader       TEXT,
  state        TEXT    NOT NULL,
  record_id    TEXT,
  paid_online  INTEGER,                          -- bank reachable when the receipt was given (1/0)
  error_code   TEXT,
  error_text   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- What happened, for the merchant and the auditor. Never a PIN, key or token.
CREATE TABLE audit (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  kind         TEXT    NOT NULL,
  subject      TEXT,
  detail       TEXT
);
`,
  },
  {
    version: 2,
    description: "records the host holds back from settlement ('held'); the card a sale's SIGN_TXN went to",
    sql: `
-- A record the card signed but that does not answer its sale (another amount, currency or merchant
-- under the sale's nonce) is kept as evidence, continues the card's chain here, and is never sent to
-- the bank by the host: status 'held'. SQLite cannot change a CHECK in place, so the table is rebuilt.
CREATE TABLE records_v2 (
  seq          INTEGER PRIMARY KEY,
  record_id    TEXT    NOT NULL UNIQUE,          -- <cardId hex>:<counter>
  card_id      TEXT    NOT NULL,
  counter      INTEGER NOT NULL,
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  merchant_id  TEXT    NOT NULL,
  terminal_id  TEXT    NOT NULL,
  record_time  INTEGER NOT NULL,
  host_nonce   BLOB    NOT NULL,
  balance_after INTEGER NOT NULL,
  cvm          INTEGER NOT NULL,
  hash         BLOB    NOT NULL,
  prev_hash    BLOB    NOT NULL,
  envelope     BLOB    NOT NULL,                 -- exactly as the card signed it
  origin       TEXT    NOT NULL CHECK (origin IN ('sale', 'recovered')),
  sale_id      TEXT,
  status       TEXT    NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'settled', 'duplicate', 'rejected', 'held')),
  batch_id     TEXT,
  reason       TEXT,                             -- the bank's rejection reason, or why the host holds it
  detail       TEXT,
  stored_at    INTEGER NOT NULL,                 -- host clock, ms
  settled_at   INTEGER                           -- the bank's settledAt, s
);
INSERT INTO records_v2 SELECT * FROM records;
DROP TABLE records;
ALTER TABLE records_v2 RENAME TO records;
CREATE INDEX records_by_status ON records (status, seq);
CREATE INDEX records_by_settled ON records (settled_at) WHERE status = 'settled';
-- A sale's record, found whichever card session stored it (the sale engine, and a sale read back after a restart).
CREATE INDEX records_by_sale ON records (sale_id) WHERE sale_id IS NOT NULL;

-- Set once SIGN_TXN is sent: from then on the sale may be paid even if its answer is lost, so it
-- never ends as cancelled, timed out or failed, and only this card may finish it.
ALTER TABLE sales ADD COLUMN sign_card_id TEXT;

-- What the sale asked the card to sign for, besides amount and currency: a record recovered after a
-- configuration change is still matched against its own sale, not against today's settings.
ALTER TABLE sales ADD COLUMN merchant_id TEXT;
ALTER TABLE sales ADD COLUMN terminal_id TEXT;
`,
  },
  {
    version: 3,
    description: "sales.state checked against the sale's states (SALE_STATES in store-types.ts)",
    sql: `
-- Every state column now has a CHECK listing the TypeScript union's values (records.status, records.origin,
-- batches.state and card_heads.source had one; test/unit/store-schema.test.ts compares each with its union).
-- SQLite cannot add a CHECK in place, so sales is rebuilt, its columns in the order migrations 1 and 2 left them.
CREATE TABLE sales_v3 (
  sale_id      TEXT    PRIMARY KEY,
  request_key  TEXT    UNIQUE,                   -- the caller's idempotency key, if any
  host_nonce   BLOB    NOT NULL UNIQUE,          -- what the card signs: ties a recovered record to its sale
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  reader       TEXT,
  state        TEXT    NOT NULL
               CHECK (state IN ('waiting_card', 'reading_card', 'pin', 'signing', 'stored', 'done', 'cancelled', 'timed_out', 'failed', 'unconfirmed')),
  record_id    TEXT,
  paid_online  INTEGER,                          -- bank reachable when the receipt was given (1/0)
  error_code   TEXT,
  error_text   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  sign_card_id TEXT,                             -- the card SIGN_TXN went to (migration 2)
  merchant_id  TEXT,
  terminal_id  TEXT
) WITHOUT ROWID;
INSERT INTO sales_v3 (sale_id, request_key, host_nonce, amount, currency, reader, state, record_id, paid_online, error_code, error_text,
  created_at, updated_at, sign_card_id, merchant_id, terminal_id)
  SELECT sale_id, request_key, host_nonce, amount, currency, reader, state, record_id, paid_online, error_code, error_text,
  created_at, updated_at, sign_card_id, merchant_id, terminal_id FROM sales;
DROP TABLE sales;
ALTER TABLE sales_v3 RENAME TO sales;
`,
  },
  {
    version: 4,
    description: 'top-ups: the bank token stored before LOAD (TOPUP_STATES in host/store/topups.ts)',
    sql: `
-- One row per top-up or sync (host/card-services/topup.ts), written before the bank is asked; the
-- token is stored before the card is asked to LOAD it, so an interrupted top-up is applied at the
-- card's next session or reported, never lost and never applied twice (loadSeq makes LOAD one-shot).
CREATE TABLE topups (
  topup_id        TEXT    PRIMARY KEY,
  request_key     TEXT    UNIQUE,                -- the caller's Idempotency-Key, if any
  card_id         TEXT    NOT NULL,
  reader          TEXT,
  amount          INTEGER NOT NULL,              -- minor units; 0 is a pure sync
  currency        INTEGER NOT NULL,
  method          TEXT    NOT NULL CHECK (method IN ('cash', 'account', 'sync')),
  bank_key        TEXT    NOT NULL UNIQUE,       -- the Idempotency-Key sent to the bank, the same on every retry
  load_seq        INTEGER NOT NULL,              -- the card's loadCounter + 1 when it was asked
  state           TEXT    NOT NULL
                  CHECK (state IN ('requested', 'token_stored', 'loaded', 'failed')),
  token           BLOB,                          -- the top-up token envelope, exactly as the bank sent it
  authority       BLOB,                          -- the authority certificate envelope
  settled_counter INTEGER,                       -- the token's settledCounter
  balance_after   INTEGER,
  offline_count_after  INTEGER,
  offline_amount_after INTEGER,
  error_code      TEXT,
  error_text      TEXT,
  created_at      INTEGER NOT NULL,              -- host clock, ms
  updated_at      INTEGER NOT NULL,
  loaded_at       INTEGER                        -- host clock, ms (the drawer's day)
) WITHOUT ROWID;
CREATE INDEX topups_unfinished ON topups (card_id, load_seq) WHERE state IN ('requested', 'token_stored');
CREATE INDEX topups_by_loaded ON topups (loaded_at) WHERE state = 'loaded';
`,
  },
  {
    version: 5,
    description: 'voids (reversal records) and refunds (a top-up of method refund) (host/store/voids.ts, refunds.ts)',
    sql: `
-- A reversal record (VOID_TXN, docs/protocol.md §4.9) names the sale it gives back; NULL on a sale.
ALTER TABLE records ADD COLUMN reverses INTEGER;
CREATE INDEX records_by_reversal ON records (card_id, reverses) WHERE reverses IS NOT NULL;

-- A refund is credited through a top-up token (method 'refund'): the topups table is rebuilt for the
-- new method (SQLite cannot change a CHECK in place), its columns in the order migration 4 left them.
CREATE TABLE topups_v5 (
  topup_id        TEXT    PRIMARY KEY,
  request_key     TEXT    UNIQUE,
  card_id         TEXT    NOT NULL,
  reader          TEXT,
  amount          INTEGER NOT NULL,
  currency        INTEGER NOT NULL,
  method          TEXT    NOT NULL CHECK (method IN ('cash', 'account', 'sync', 'refund')),
  bank_key        TEXT    NOT NULL UNIQUE,
  load_seq        INTEGER NOT NULL,
  state           TEXT    NOT NULL
                  CHECK (state IN ('requested', 'token_stored', 'loaded', 'failed')),
  token           BLOB,
  authority       BLOB,
  settled_counter INTEGER,
  balance_after   INTEGER,
  offline_count_after  INTEGER,
  offline_amount_after INTEGER,
  error_code      TEXT,
  error_text      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  loaded_at       INTEGER
) WITHOUT ROWID;
INSERT INTO topups_v5 SELECT * FROM topups;
DROP TABLE topups;
ALTER TABLE topups_v5 RENAME TO topups;
CREATE INDEX topups_unfinished ON topups (card_id, load_seq) WHERE state IN ('requested', 'token_stored');
CREATE INDEX topups_by_loaded ON topups (loaded_at) WHERE state = 'loaded';

-- One void per sale (host/sale/void-sale.ts): written with its nonce before VOID_TXN is sent, so a void
-- whose answer was lost is asked again identically (the card answers the same reversal) or found in the
-- card's journal by its nonce; never signed twice.
CREATE TABLE voids (
  void_id      TEXT    PRIMARY KEY,
  sale_id      TEXT    NOT NULL UNIQUE,
  record_id    TEXT    NOT NULL UNIQUE,          -- the sale's record
  card_id      TEXT    NOT NULL,
  counter      INTEGER NOT NULL,                 -- the sale's counter
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  merchant_id  TEXT    NOT NULL,
  terminal_id  TEXT    NOT NULL,
  request_time INTEGER NOT NULL,                 -- VOID_TXN's time: a retry sends the identical request
  host_nonce   BLOB    NOT NULL UNIQUE,
  state        TEXT    NOT NULL CHECK (state IN ('signing', 'voided', 'failed')),
  reversal_id  TEXT,                             -- the reversal record once stored
  error_code   TEXT,
  error_text   TEXT,
  created_at   INTEGER NOT NULL,                 -- host clock, ms
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX voids_by_created ON voids (created_at);

-- A refund of a settled sale (host/card-services/refunds.ts): stored before anything is asked, under its
-- refund id (the bank's idempotency of the refund). While queued it waits for the card and the bank; then
-- it is carried by one top-up row (method 'refund', its bank_key the refund id) through token and LOAD.
CREATE TABLE refunds (
  refund_id    TEXT    PRIMARY KEY,
  request_key  TEXT    UNIQUE,                   -- the caller's Idempotency-Key, if any
  sale_id      TEXT    NOT NULL,
  record_id    TEXT    NOT NULL,                 -- the refunded sale's record
  card_id      TEXT    NOT NULL,
  amount       INTEGER NOT NULL,
  currency     INTEGER NOT NULL,
  reason       TEXT,                             -- the merchant's words (returned goods …)
  state        TEXT    NOT NULL CHECK (state IN ('queued', 'asked', 'failed')),
  topup_id     TEXT    UNIQUE,                   -- the top-up row carrying it, once the card's load was known
  error_code   TEXT,
  error_text   TEXT,
  created_at   INTEGER NOT NULL,                 -- host clock, ms
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX refunds_open ON refunds (card_id, created_at) WHERE state = 'queued';
CREATE INDEX refunds_by_sale ON refunds (sale_id);
CREATE INDEX refunds_by_created ON refunds (created_at);
`,
  },
  {
    version: 6,
    description: 'day closes (Z reports) and what each one counted (host/store/day-closes.ts)',
    sql: `
-- One row per closed shop day: its report exactly as it was printed; never changed after (host/close/).
CREATE TABLE day_closes (
  date         TEXT    PRIMARY KEY,              -- the shop's date, YYYY-MM-DD
  time_zone    TEXT    NOT NULL,                 -- the shop's IANA time zone when it was closed
  from_ms      INTEGER NOT NULL,                 -- [from_ms, to_ms): the day's instants
  to_ms        INTEGER NOT NULL,
  closed_at    INTEGER NOT NULL,                 -- host clock, ms
  report       TEXT    NOT NULL                  -- the Z report, JSON
) WITHOUT ROWID;

-- What the last close that counted an item saw of it: a sale, record, top-up, void or refund whose state changes
-- after that close is counted again, as late, in the first open day after it (docs/daemon.md §9a).
CREATE TABLE close_items (
  kind         TEXT    NOT NULL CHECK (kind IN ('sale', 'record', 'topup', 'void', 'refund')),
  item_id      TEXT    NOT NULL,
  close_date   TEXT    NOT NULL,                 -- the close that counted it last
  state        TEXT    NOT NULL,                 -- its state (a record's status) then
  final        INTEGER NOT NULL,                 -- 1: that state never changes again
  PRIMARY KEY (kind, item_id)
) WITHOUT ROWID;
CREATE INDEX close_items_open ON close_items (kind, close_date) WHERE final = 0;

-- A shop day's items, by the time each belongs to its day by.
CREATE INDEX sales_by_created ON sales (created_at);
CREATE INDEX records_by_stored ON records (stored_at);
CREATE INDEX topups_by_created ON topups (created_at);
`,
  },
];
