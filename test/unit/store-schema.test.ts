import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../host/store/database.js';
import { MIGRATIONS } from '../../host/store/migrations.js';
import { HostStore, StoreError } from '../../host/store/host-store.js';
import {
  BATCH_STATES,
  HEAD_SOURCES,
  RECORD_ORIGINS,
  RECORD_STATUSES,
  SALE_STATES,
  SALE_STATES_COMPLETE,
  type RecordStatus,
} from '../../host/store/store-types.js';
import { FINAL_STATES, type SaleState } from '../../host/sale/sale-types.js';
import { TOPUP_METHODS, TOPUP_STATES } from '../../host/store/topups.js';
import { VOID_STATES } from '../../host/store/voids.js';
import { REFUND_STATES } from '../../host/store/refunds.js';
import { CLOSE_ITEM_KINDS } from '../../host/store/day-closes.js';

/** The values of `CHECK (<column> IN (…))` in a table's CREATE statement. */
function checkValues(db: Db, table: string, column: string): string[] {
  const { sql } = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as {
    sql: string;
  };
  const m = new RegExp(`CHECK \\(${column} IN \\(([^)]*)\\)\\)`).exec(sql);
  assert.ok(m, `${table}.${column} has a CHECK (${column} IN (…))`);
  return [...m[1]!.matchAll(/'([^']*)'/g)].map((x) => x[1]!);
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('queue database: state columns and their TypeScript unions', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-schema-'));
    db = openDatabase(join(dir, 'q.sqlite'));
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const columns: [string, string, readonly string[]][] = [
    ['records', 'status', RECORD_STATUSES],
    ['records', 'origin', RECORD_ORIGINS],
    ['batches', 'state', BATCH_STATES],
    ['card_heads', 'source', HEAD_SOURCES],
    ['sales', 'state', SALE_STATES],
    ['topups', 'state', TOPUP_STATES],
    ['topups', 'method', TOPUP_METHODS],
    ['close_items', 'kind', CLOSE_ITEM_KINDS],
  ];

  for (const [table, column, values] of columns) {
    it(`${table}.${column}: the CHECK lists exactly the union's values`, () => {
      assert.deepEqual(sorted(checkValues(db, table, column)), sorted(values));
    });
  }

  it('the CHECKs are enforced: a value outside a union is refused by SQLite', () => {
    db.prepare(
      `INSERT INTO sales (sale_id, host_nonce, amount, currency, state, created_at, updated_at) VALUES ('s', x'01', 1, 156, 'done', 1, 1)`,
    ).run();
    assert.throws(
      () => db.prepare("UPDATE sales SET state = 'paid' WHERE sale_id = 's'").run(),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_CHECK',
    );
    assert.throws(
      () =>
        db
          .prepare(`INSERT INTO batches (batch_id, state, body, records, created_at) VALUES ('b', 'lost', x'00', 1, 1)`)
          .run(),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_CHECK',
    );
    assert.throws(
      () =>
        db
          .prepare(
            `INSERT INTO card_heads (card_id, counter, hash, source, updated_at) VALUES ('c', 1, x'00', 'guessed', 1)`,
          )
          .run(),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_CHECK',
    );
    for (const state of SALE_STATES) db.prepare("UPDATE sales SET state = ? WHERE sale_id = 's'").run(state);
  });

  it('the TypeScript side: SALE_STATES is SaleState exactly, RecordStatus is what statusCounts reports', () => {
    // Compile-time: `satisfies readonly SaleState[]` (no extra value) and SALE_STATES_COMPLETE (no missing one).
    assert.equal(SALE_STATES_COMPLETE, true);
    const asUnion: readonly SaleState[] = SALE_STATES;
    for (const s of FINAL_STATES) assert.ok(asUnion.includes(s), `final state ${s} is a SALE_STATE`);
    assert.equal(new Set(SALE_STATES).size, SALE_STATES.length, 'no state twice');
    const store = new HostStore(db);
    assert.deepEqual(
      sorted(Object.keys(store.statusCounts())),
      sorted(RECORD_STATUSES satisfies readonly RecordStatus[]),
    );
  });
});

describe('queue database: migration 3 (sales.state CHECK)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-mig3-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const v2File = (): { file: string; v2: Db } => {
    const file = join(dir, 'v2.sqlite');
    return {
      file,
      v2: openDatabase(
        file,
        MIGRATIONS.filter((m) => m.version <= 2),
      ),
    };
  };

  it('a version-2 file with sales in every state, records and a batch migrates: every row byte for byte, indexes kept, the store works', () => {
    const { file, v2 } = v2File();
    assert.equal(v2.pragma('user_version', { simple: true }), 2);
    const sale =
      v2.prepare(`INSERT INTO sales (sale_id, request_key, host_nonce, amount, currency, reader, state, record_id, paid_online, error_code, error_text,
      created_at, updated_at, sign_card_id, merchant_id, terminal_id) VALUES (?, ?, ?, ?, 156, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    SALE_STATES.forEach((state, i) => {
      sale.run(
        `s${i}`,
        i % 2 ? `key-${i}` : null,
        Buffer.from([i, 0xff, 0]),
        100 * i,
        i % 3 ? `reader ${i}` : null,
        state,
        i % 2 ? `0011223344556677:${i}` : null,
        i % 3 === 0 ? null : i % 2,
        i % 4 ? null : 'CARD_REMOVED',
        i % 4 ? null : 'the card was pulled 中文',
        1_000 + i,
        2_000 + i,
        i % 2 ? '0011223344556677' : null,
        i % 5 ? 'M-1' : null,
        i % 5 ? 'T-1' : null,
      );
    });
    v2.prepare(
      `INSERT INTO records (record_id, card_id, counter, amount, currency, merchant_id, terminal_id, record_time, host_nonce, balance_after, cvm, hash,
      prev_hash, envelope, origin, sale_id, status, batch_id, reason, detail, stored_at) VALUES ('0011223344556677:1', '0011223344556677', 1, 100, 156, 'M-1', 'T-1', 1,
      x'01', 0, 0, x'aa', x'bb', x'a1', 'sale', 's1', 'held', NULL, 'RECORD_MISMATCH', 'amount', 5)`,
    ).run();
    v2.prepare(
      `INSERT INTO batches (batch_id, state, body, records, created_at) VALUES ('00000000000000000000000000000001', 'answered', x'7b7d', 1, 1)`,
    ).run();
    v2.prepare(`INSERT INTO audit (at, kind, subject, detail) VALUES (1, 'k', 's', '{}')`).run();
    const dump = (db: Db) => ({
      sales: db.prepare('SELECT * FROM sales ORDER BY sale_id').all(),
      // migration 5 adds records.reverses (NULL on every record it finds): the rest is compared
      records: (db.prepare('SELECT * FROM records ORDER BY seq').all() as Record<string, unknown>[]).map(
        ({ reverses: _r, ...rest }) => rest,
      ),
      batches: db.prepare('SELECT * FROM batches').all(),
      audit: db.prepare('SELECT * FROM audit').all(),
      salesColumns: db.prepare('SELECT name, type, "notnull", pk FROM pragma_table_info(\'sales\')').all(),
    });
    const before = dump(v2);
    v2.close();

    const db = openDatabase(file);
    const store = new HostStore(db);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
      assert.deepEqual(dump(db), before, 'every row and the column layout, byte for byte');
      const indexes = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sales'").all() as {
          name: string;
        }[]
      ).map((i) => i.name);
      // Migration 3 rebuilt the table: its two UNIQUE indexes (autoindexes) must be back; later migrations add their own.
      assert.equal(
        indexes.filter((n) => n.startsWith('sqlite_autoindex_sales')).length,
        2,
        `the UNIQUE request_key and host_nonce indexes are there again: ${indexes.join(', ')}`,
      );
      assert.throws(
        () =>
          store.createSale({
            saleId: 'n',
            requestKey: 'key-1',
            hostNonce: Uint8Array.of(9),
            amount: 1,
            currency: 156,
            state: 'waiting_card',
          }),
        (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_UNIQUE',
        'request_key is still unique',
      );
      assert.equal(store.saleByNonce(Uint8Array.of(1, 0xff, 0))?.saleId, 's1');
      store.updateSale('s0', { state: 'unconfirmed', signCardId: 'ffeeddccbbaa9988' });
      assert.equal(store.sale('s0')?.state, 'unconfirmed');
      assert.throws(
        () => store.updateSale('s0', { state: 'half-paid' }),
        (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_CHECK',
      );
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(db.pragma('foreign_key_check'), []);
    } finally {
      store.close();
    }
  });

  it('a version-2 file holding a sale state outside SaleState is refused as STORE_CORRUPT and left at version 2, unchanged', () => {
    const { file, v2 } = v2File();
    v2.prepare(
      `INSERT INTO sales (sale_id, host_nonce, amount, currency, state, created_at, updated_at) VALUES ('x', x'01', 1, 156, 'exploded', 1, 1)`,
    ).run();
    v2.close();
    assert.throws(
      () => openDatabase(file),
      (e: unknown) => e instanceof StoreError && e.code === 'STORE_CORRUPT',
    );
    const again = openDatabase(
      file,
      MIGRATIONS.filter((m) => m.version <= 2),
    );
    try {
      assert.equal(again.pragma('user_version', { simple: true }), 2, 'the failed migration was rolled back');
      assert.deepEqual(again.prepare('SELECT sale_id, state FROM sales').all(), [{ sale_id: 'x', state: 'exploded' }]);
    } finally {
      again.close();
    }
  });
});

describe('queue database: migration 4 (top-ups)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-m4-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a version-3 file with a sale migrates: the sale kept, an empty topups table, the CHECKs enforced', () => {
    const file = join(dir, 'q.sqlite');
    const v3 = openDatabase(
      file,
      MIGRATIONS.filter((m) => m.version <= 3),
    );
    v3.prepare(
      `INSERT INTO sales (sale_id, host_nonce, amount, currency, state, created_at, updated_at) VALUES ('s', x'01', 1, 156, 'done', 1, 1)`,
    ).run();
    v3.close();
    const db = openDatabase(file);
    const store = new HostStore(db);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
      assert.equal(store.sale('s')?.state, 'done');
      assert.deepEqual(store.topups.recent(5), []);
      const t = store.topups.create({
        topupId: 't',
        cardId: '0011223344556677',
        amount: 5,
        currency: 156,
        method: 'cash',
        bankKey: 'k',
        loadSeq: 2,
      });
      assert.equal(t.state, 'requested');
      assert.throws(
        () => db.prepare("UPDATE topups SET state = 'half-loaded' WHERE topup_id = 't'").run(),
        (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_CHECK',
      );
      assert.throws(
        () => db.prepare("UPDATE topups SET method = 'card' WHERE topup_id = 't'").run(),
        (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_CHECK',
      );
      store.topups.storeToken('t', { token: Uint8Array.of(1), authority: Uint8Array.of(2), settledCounter: 0 });
      assert.deepEqual(
        store.topups.unfinished('0011223344556677').map((r) => [r.state, [...r.token!]]),
        [['token_stored', [1]]],
      );
      store.topups.markLoaded('t', { balance: 5, offlineCount: 0, offlineAmount: 0 });
      assert.equal(store.topups.get('t')!.state, 'loaded');
      store.topups.markFailed('t', 'X', 'a loaded top-up never fails afterwards');
      assert.equal(store.topups.get('t')!.state, 'loaded');
    } finally {
      store.close();
    }
  });
});
