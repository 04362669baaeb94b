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
];
