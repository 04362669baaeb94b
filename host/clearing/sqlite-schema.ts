/**
 * The clearing ledger's SQLite schema: the tables of pg-schema.ts with the same names, keys and
 * columns (SQLite types), so both backends answer the same reads from the same shape.
 */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS cards (
  card_id        TEXT    NOT NULL PRIMARY KEY CHECK (length(card_id) = 16),
  certificate    BLOB,
  certificate_at INTEGER,
  certificate_not_after INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS settled_records (
  card_id     TEXT    NOT NULL,
  counter     INTEGER NOT NULL CHECK (counter >= 1),
  envelope    BLOB    NOT NULL,
  hash        BLOB    NOT NULL,
  prev_hash   BLOB    NOT NULL,
  amount      INTEGER NOT NULL CHECK (amount >= 0),
  currency    INTEGER NOT NULL,
  merchant_id TEXT    NOT NULL,
  terminal_id TEXT    NOT NULL,
  record_time INTEGER NOT NULL,
  batch_id    TEXT    NOT NULL,
  settled_at  INTEGER NOT NULL,
  reverses    INTEGER,
  PRIMARY KEY (card_id, counter)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS settled_records_by_terminal_id_settled_at ON settled_records (terminal_id, settled_at);

CREATE TABLE IF NOT EXISTS evidence (
  card_id              TEXT    NOT NULL,
  counter              INTEGER NOT NULL,
  kind                 TEXT    NOT NULL CHECK (kind IN ('double-spend', 'chain-broken')),
  conflicting_hash     BLOB    NOT NULL,
  settled_envelope     BLOB    NOT NULL,
  conflicting_envelope BLOB    NOT NULL,
  terminal_id          TEXT    NOT NULL,
  batch_id             TEXT    NOT NULL,
  detected_at          INTEGER NOT NULL,
  detail               TEXT    NOT NULL,
  PRIMARY KEY (card_id, counter, kind, conflicting_hash)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS revocations (
  card_id              TEXT    NOT NULL PRIMARY KEY,
  reason               TEXT    NOT NULL,
  revoked_at           INTEGER NOT NULL,
  settles_signed_until INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS batch_keys (
  terminal_id TEXT    NOT NULL,
  batch_id    TEXT    NOT NULL CHECK (length(batch_id) = 32),
  body_hash   BLOB    NOT NULL CHECK (length(body_hash) = 32),
  answer      TEXT,
  records     INTEGER,
  accepted    INTEGER,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (terminal_id, batch_id)
) WITHOUT ROWID;
`;
