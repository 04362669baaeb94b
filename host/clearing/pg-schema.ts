/**
 * The clearing ledger's PostgreSQL schema (docs/clearing.md "Schema"). Every card table is keyed by
 * card_id first, so it can be hash-partitioned on card_id: with `partitions` > 1 the tables are created
 * as PARTITION BY HASH (card_id) with that many partitions (batch_keys by terminal_id, the key's owner).
 * A statement of the settlement names one card_id in its WHERE clause and so touches one partition.
 */

/** Bumped when a table changes; stored in clearing_schema. */
export const PG_SCHEMA_VERSION = 2;

interface TableDef {
  name: string;
  /** Column list and primary key. */
  body: string;
  /** The partition key (a prefix of the primary key). */
  partitionBy: string;
  indexes?: string[];
}

const TABLES: TableDef[] = [
  {
    // One row per card the bank has seen: the row each batch locks (SELECT … FOR UPDATE), and the
    // certificate the bank verified for it (a batch may leave it out later).
    name: 'cards',
    body: `card_id text NOT NULL CHECK (card_id ~ '^[0-9a-f]{16}$'),
  certificate bytea,
  certificate_at bigint,
  certificate_not_after bigint,
  PRIMARY KEY (card_id)`,
    partitionBy: 'card_id',
  },
  {
    name: 'settled_records',
    body: `card_id text NOT NULL,
  counter bigint NOT NULL CHECK (counter >= 1),
  envelope bytea NOT NULL,
  hash bytea NOT NULL,
  prev_hash bytea NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0),
  currency integer NOT NULL,
  merchant_id text NOT NULL,
  terminal_id text NOT NULL,
  record_time bigint NOT NULL,
  batch_id text NOT NULL,
  settled_at bigint NOT NULL,
  reverses bigint,
  PRIMARY KEY (card_id, counter)`,
    partitionBy: 'card_id',
    indexes: ['(terminal_id, settled_at)'],
  },
  {
    // Proof of card misbehaviour; the natural key makes a resubmitted conflict one row, with no sequence to share.
    name: 'evidence',
    body: `card_id text NOT NULL,
  counter bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('double-spend', 'chain-broken')),
  conflicting_hash bytea NOT NULL,
  settled_envelope bytea NOT NULL,
  conflicting_envelope bytea NOT NULL,
  terminal_id text NOT NULL,
  batch_id text NOT NULL,
  detected_at bigint NOT NULL,
  detail text NOT NULL,
  PRIMARY KEY (card_id, counter, kind, conflicting_hash)`,
    partitionBy: 'card_id',
  },
  {
    name: 'revocations',
    body: `card_id text NOT NULL,
  reason text NOT NULL,
  revoked_at bigint NOT NULL,
  settles_signed_until bigint,
  PRIMARY KEY (card_id)`,
    partitionBy: 'card_id',
  },
  {
    // The idempotency row: written first in each batch's transaction; answer is set before its commit.
    name: 'batch_keys',
    body: `terminal_id text NOT NULL,
  batch_id text NOT NULL CHECK (batch_id ~ '^[0-9a-f]{32}$'),
  body_hash bytea NOT NULL CHECK (octet_length(body_hash) = 32),
  answer text,
  records integer,
  accepted integer,
  created_at bigint NOT NULL,
  PRIMARY KEY (terminal_id, batch_id)`,
    partitionBy: 'terminal_id',
  },
];

/** The DDL, idempotent (CREATE … IF NOT EXISTS). `partitions` ≤ 1: plain tables. */
export function pgSchemaStatements(partitions = 1): string[] {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024)
    throw new RangeError(`partitions must be an integer 1…1024, not ${partitions}`);
  const out = [
    'CREATE TABLE IF NOT EXISTS clearing_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL, partitions integer NOT NULL)',
  ];
  for (const t of TABLES) {
    const partitioned = partitions > 1 ? ` PARTITION BY HASH (${t.partitionBy})` : '';
    out.push(`CREATE TABLE IF NOT EXISTS ${t.name} (\n  ${t.body}\n)${partitioned}`);
    for (let i = 0; partitions > 1 && i < partitions; i++)
      out.push(
        `CREATE TABLE IF NOT EXISTS ${t.name}_p${i} PARTITION OF ${t.name} FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${i})`,
      );
    for (const cols of t.indexes ?? [])
      out.push(
        `CREATE INDEX IF NOT EXISTS ${t.name}_by_${cols.replace(/\W+/g, '_').replace(/^_|_$/g, '')} ON ${t.name} ${cols}`,
      );
  }
  return out;
}

/**
 * What a database of an older version needs, in order, run once by the process that finds it (under
 * the schema lock). Never run against a current database: ALTER TABLE takes an exclusive lock on the
 * table even when it has nothing to do, which would stall every batch of the running API processes.
 */
export function pgMigrationsFrom(version: number): string[] {
  const out: string[] = [];
  // 1 -> 2: the certificate's notAfter, so a renewed certificate can replace the old one
  if (version < 2) out.push('ALTER TABLE cards ADD COLUMN IF NOT EXISTS certificate_not_after bigint');
  return out;
}
