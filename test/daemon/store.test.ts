import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toHex } from '../../protocol/bytes.js';
import { HostStore, StoreError, type RecordVerdict } from '../../host/store/host-store.js';
import { openDatabase } from '../../host/store/database.js';
import { MIGRATIONS } from '../../host/store/migrations.js';
import { utcDayBounds } from '../../host/settlement/reconcile.js';
import { TestIssuer } from '../support/issuer.js';
import { ForgedCard } from '../support/record-forge.js';

const TERMINAL = 'T-TEST-01';

function expectStoreError(fn: () => unknown, code: string): StoreError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StoreError, `expected a StoreError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(e.message.length > 0 && e.hint.length > 0, 'a StoreError says what happened and what to do');
    return e;
  }
  return assert.fail(`expected StoreError ${code}, nothing was thrown`);
}

describe('daemon: HostStore (SQLite queue)', function () {
  this.timeout(20_000);
  const issuer = new TestIssuer();
  let dir: string;
  let now: number;
  let store: HostStore;
  const open = (file = 'queue.sqlite') => new HostStore(openDatabase(join(dir, file)), () => now);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-store-'));
    now = Date.UTC(2030, 0, 15, 12);
    store = open();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Store records in one outer transaction (one fsync), as a test shortcut. */
  const storeAll = (records: ReturnType<ForgedCard['sign']>[]) =>
    store.db.transaction(() => records.map((r) => store.storeRecord(r, { origin: 'sale' })))();

  describe('opening and migrations', () => {
    it('a fresh file is migrated to the newest schema (user_version) in WAL mode', () => {
      assert.equal(store.db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(
        store.db.pragma('synchronous', { simple: true }),
        2,
        'synchronous=FULL: a commit is on disk when it returns',
      );
    });

    it('reopening keeps the data and does not re-run migrations', () => {
      const card = ForgedCard.issue(issuer.key);
      store.storeRecord(card.sign({ terminalId: TERMINAL }), { origin: 'sale' });
      store.close();
      store = open();
      assert.equal(store.records().length, 1);
      assert.equal(store.cardHead(card.cardId)?.counter, 1);
    });

    it('a version-1 file with records, a batch in flight and a sale is migrated: every row kept, held and sign_card_id usable', () => {
      const file = join(dir, 'v1.sqlite');
      const v1 = openDatabase(
        file,
        MIGRATIONS.filter((m) => m.version === 1),
      );
      // Rows as version 1 wrote them (today's HostStore speaks the newest schema only).
      const card = ForgedCard.issue(issuer.key);
      const insert =
        v1.prepare(`INSERT INTO records (record_id, card_id, counter, amount, currency, merchant_id, terminal_id, record_time, host_nonce,
        balance_after, cvm, hash, prev_hash, envelope, origin, sale_id, status, batch_id, stored_at) VALUES (?, ?, ?, ?, 156, 'M', ?, 1, ?, 0, 0, ?, ?, ?, 'sale', 's1', ?, ?, 1)`);
      [1, 2, 3].forEach((n) => {
        const r = card.sign({ terminalId: TERMINAL, amount: n * 100 });
        insert.run(
          `${card.cardId}:${n}`,
          card.cardId,
          n,
          n * 100,
          TERMINAL,
          r.hostNonce,
          r.hash,
          r.prevHash,
          r.envelope,
          n < 3 ? 'sending' : 'pending',
          n < 3 ? 'b-1' : null,
        );
      });
      v1.prepare(
        `INSERT INTO batches (batch_id, state, body, records, created_at) VALUES ('b-1', 'sending', x'7b7d', 2, 1)`,
      ).run();
      v1.prepare(
        `INSERT INTO sales (sale_id, host_nonce, amount, currency, state, created_at, updated_at) VALUES ('s1', x'07', 100, 156, 'done', 1, 1)`,
      ).run();
      const before = v1.prepare('SELECT * FROM records ORDER BY seq').all();
      v1.close();
      const db = openDatabase(file);
      const store2 = new HostStore(db);
      try {
        assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
        assert.deepEqual(
          // migration 5 adds records.reverses (NULL on every record it finds): every other column compared
          (db.prepare('SELECT * FROM records ORDER BY seq').all() as Record<string, unknown>[]).map(
            ({ reverses: _r, ...rest }) => rest,
          ),
          before,
          'every record row, byte for byte',
        );
        assert.deepEqual(
          store2.records().map((r) => r.status),
          ['sending', 'sending', 'pending'],
        );
        assert.equal(store2.inFlightBatch()?.batchId, 'b-1', 'the batch in flight is still the one to re-send');
        const indexes = (
          db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'").all() as {
            name: string;
          }[]
        )
          .map((r) => r.name)
          .sort();
        assert.ok(
          indexes.includes('records_by_status') && indexes.includes('records_by_settled'),
          `indexes rebuilt: ${indexes.join(', ')}`,
        );
        assert.equal(store2.sale('s1')?.signCardId, null);
        store2.updateSale('s1', { state: 'done', signCardId: card.cardId });
        assert.equal(store2.sale('s1')?.signCardId, card.cardId);
        store2.storeRecord(card.sign({ terminalId: TERMINAL, amount: 50 }), {
          origin: 'recovered',
          hold: { reason: 'RECORD_MISMATCH', detail: 'amount 50 instead of 5' },
        });
        assert.equal(store2.statusCounts().held.count, 1);
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        store2.close();
      }
    });

    it('a database from a newer schema is refused with STORE_TOO_NEW, and left untouched', () => {
      store.db.pragma(`user_version = ${MIGRATIONS.at(-1)!.version + 5}`);
      store.close();
      expectStoreError(() => open(), 'STORE_TOO_NEW');
      const raw = new Database(join(dir, 'queue.sqlite'), { readonly: true });
      assert.equal(
        raw.pragma('user_version', { simple: true }),
        MIGRATIONS.at(-1)!.version + 5,
        'the version was not lowered',
      );
      raw.close();
      store = open('other.sqlite'); // afterEach closes something
    });

    it('a file of garbage bytes gives STORE_CORRUPT, not a crash', () => {
      const file = join(dir, 'garbage.sqlite');
      writeFileSync(file, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) & 0xff)));
      expectStoreError(() => openDatabase(file), 'STORE_CORRUPT');
    });

    it('a SQLite file with a foreign schema at version 0 fails the migration as STORE_CORRUPT', () => {
      const file = join(dir, 'foreign.sqlite');
      const raw = new Database(file);
      raw.exec('CREATE TABLE records (x INTEGER)');
      raw.close();
      expectStoreError(() => openDatabase(file), 'STORE_CORRUPT');
    });
  });

  describe('records and chain heads', () => {
    it('storeRecord is idempotent: the same record twice → already:true, one row', () => {
      const card = ForgedCard.issue(issuer.key);
      const r = card.sign({ terminalId: TERMINAL, amount: 700 });
      const a = store.storeRecord(r, { origin: 'sale', saleId: 's1' });
      const b = store.storeRecord(r, { origin: 'recovered' });
      assert.equal(a.already, false);
      assert.equal(b.already, true);
      assert.equal(b.seq, a.seq);
      assert.equal(store.records().length, 1);
      assert.equal(store.record(a.recordId)?.origin, 'sale', 'the first store wins');
    });

    it('a different record under the same id is RECORD_FORK, with an audit row holding both hashes', () => {
      const card = ForgedCard.issue(issuer.key);
      const first = card.sign({ terminalId: TERMINAL, amount: 100 });
      const fork = card.signAt(1, first.prevHash, { terminalId: TERMINAL, amount: 999 });
      store.storeRecord(first, { origin: 'sale' });
      expectStoreError(() => store.storeRecord(fork, { origin: 'recovered' }), 'RECORD_FORK');
      const audit = store.db.prepare("SELECT subject, detail FROM audit WHERE kind = 'record-fork'").all() as {
        subject: string;
        detail: string;
      }[];
      assert.equal(audit.length, 1, 'the fork is written to the audit log even though the store was refused');
      const detail = JSON.parse(audit[0]!.detail) as { stored: string; offered: string; envelope: string };
      assert.equal(audit[0]!.subject, `${card.cardId}:1`);
      assert.equal(detail.stored, toHex(first.hash));
      assert.equal(detail.offered, toHex(fork.hash));
      assert.equal(store.record(`${card.cardId}:1`)?.amount, 100, 'the stored record is unchanged');
    });

    it('the chain head only moves forward', () => {
      const card = ForgedCard.issue(issuer.key);
      const r1 = card.sign({ terminalId: TERMINAL });
      const r2 = card.sign({ terminalId: TERMINAL });
      const r3 = card.sign({ terminalId: TERMINAL });
      store.storeRecord(r3, { origin: 'sale' });
      store.storeRecord(r1, { origin: 'recovered' });
      assert.equal(store.cardHead(card.cardId)?.counter, 3, 'an older record stored late does not move the head back');
      assert.equal(toHex(store.cardHead(card.cardId)!.hash), toHex(r3.hash));
      store.passOver(r2);
      assert.equal(store.cardHead(card.cardId)?.counter, 3, 'passing over an older record does not either');
      const r4 = card.sign({ terminalId: 'T-OTHER' });
      store.passOver(r4);
      // A passed-over record was verified like any other: it grounds the head (security.md C3), unlike GET_INFO's word.
      assert.deepEqual(
        { ...store.cardHead(card.cardId)!, hash: toHex(store.cardHead(card.cardId)!.hash) },
        { counter: 4, hash: toHex(r4.hash), source: 'record' },
      );
      assert.equal(store.lastStoredCounter(card.cardId), 3, 'a passed-over record is not ours');
    });

    it('observeCard writes the head only on first sight', () => {
      const card = ForgedCard.issue(issuer.key);
      const h1 = new Uint8Array(32).fill(1);
      store.observeCard(card.cardId, 5, h1, card.certificate.envelope);
      store.observeCard(card.cardId, 9, new Uint8Array(32).fill(2), card.certificate.envelope);
      assert.equal(store.cardHead(card.cardId)?.counter, 5);
      assert.equal(toHex(store.cardHead(card.cardId)!.hash), toHex(h1));
      assert.equal(store.cardHead(card.cardId)?.source, 'observed');
    });
  });

  describe('batches', () => {
    const newId = (() => {
      let n = 0;
      return () => (++n).toString(16).padStart(32, '0');
    })();

    it('nextBatch: the in-flight batch again, byte for byte, until answered; then the next, within the limit', () => {
      const card = ForgedCard.issue(issuer.key);
      storeAll(Array.from({ length: 7 }, () => card.sign({ terminalId: TERMINAL })));
      const b1 = store.nextBatch(newId, 3)!;
      assert.equal(b1.records, 3);
      const again = store.nextBatch(() => assert.fail('no new id while one is in flight'), 3)!;
      assert.equal(again.batchId, b1.batchId);
      assert.deepEqual(Buffer.from(again.body), Buffer.from(b1.body), 'identical bytes');
      store.close();
      store = open();
      const afterRestart = store.nextBatch(() => assert.fail('no new id after a restart either'), 3)!;
      assert.equal(afterRestart.batchId, b1.batchId);
      assert.deepEqual(Buffer.from(afterRestart.body), Buffer.from(b1.body));
      const body = JSON.parse(Buffer.from(b1.body).toString()) as {
        batchId: string;
        records: string[];
        certificates: string[];
      };
      assert.equal(body.batchId, b1.batchId);
      assert.equal(body.records.length, 3);
      assert.deepEqual(
        store.records({ status: 'sending' }).map((r) => r.counter),
        [1, 2, 3],
      );
      store.applyVerdicts(
        b1.batchId,
        store.records({ status: 'sending' }).map((r) => ({ verdict: 'accepted', recordId: r.recordId })),
        1_900_000_000,
      );
      const b2 = store.nextBatch(newId, 3)!;
      assert.notEqual(b2.batchId, b1.batchId);
      assert.deepEqual(
        store.records({ status: 'sending' }).map((r) => r.counter),
        [4, 5, 6],
      );
      assert.equal(store.inFlightBatch()?.batchId, b2.batchId);
    });

    it("a card's certificate rides along until a batch carrying its record is answered accepted", () => {
      const a = ForgedCard.issue(issuer.key);
      const b = ForgedCard.issue(issuer.key);
      const recs = [
        a.sign({ terminalId: TERMINAL }),
        b.sign({ terminalId: TERMINAL }),
        a.sign({ terminalId: TERMINAL }),
        b.sign({ terminalId: TERMINAL }),
      ];
      storeAll(recs);
      store.observeCard(a.cardId, 0, new Uint8Array(32), a.certificate.envelope);
      store.observeCard(b.cardId, 0, new Uint8Array(32), b.certificate.envelope);
      const certsOf = (batch: { body: Uint8Array }) =>
        (JSON.parse(Buffer.from(batch.body).toString()) as { certificates: string[] }).certificates.sort();
      const b64 = (c: ForgedCard) => Buffer.from(c.certificate.envelope).toString('base64url');
      const first = store.nextBatch(newId, 2)!;
      assert.deepEqual(certsOf(first), [b64(a), b64(b)].sort(), 'both cards, each once');
      // a accepted, b rejected: only a's certificate is acknowledged
      const rows = store.records({ status: 'sending' });
      store.applyVerdicts(
        first.batchId,
        [
          { verdict: 'accepted', recordId: rows[0]!.recordId },
          { verdict: 'rejected', recordId: rows[1]!.recordId, reason: 'REVOKED' },
        ],
        1_900_000_000,
      );
      const second = store.nextBatch(newId, 2)!;
      assert.deepEqual(certsOf(second), [b64(b)], "a's certificate was acknowledged; b's is still sent");
    });

    it('applyVerdicts refuses an answer that does not match the batch and applies nothing', () => {
      const card = ForgedCard.issue(issuer.key);
      storeAll(Array.from({ length: 3 }, () => card.sign({ terminalId: TERMINAL })));
      const batch = store.nextBatch(newId, 10)!;
      const ids = store.records({ status: 'sending' }).map((r) => r.recordId);
      const ok = ids.map((recordId): RecordVerdict => ({ verdict: 'accepted', recordId }));
      expectStoreError(() => store.applyVerdicts(batch.batchId, ok.slice(0, 2), 1), 'BATCH_ANSWER_MISMATCH');
      expectStoreError(() => store.applyVerdicts(batch.batchId, [...ok, ok[0]!], 1), 'BATCH_ANSWER_MISMATCH');
      // right length, one verdict for another record: the two before it must not be applied either
      const swapped = [ok[0]!, ok[1]!, { verdict: 'accepted' as const, recordId: `${card.cardId}:99` }];
      expectStoreError(() => store.applyVerdicts(batch.batchId, swapped, 1), 'BATCH_ANSWER_MISMATCH');
      assert.equal(store.statusCounts().sending.count, 3, 'nothing applied');
      assert.equal(store.statusCounts().settled.count, 0);
      assert.equal(store.inFlightBatch()?.batchId, batch.batchId, 'the batch stays in flight');
      // a null recordId (undecodable record at the bank) is accepted in place
      store.applyVerdicts(
        batch.batchId,
        [ok[0]!, { verdict: 'rejected', recordId: null, reason: 'MALFORMED' }, ok[2]!],
        1,
      );
      assert.equal(store.statusCounts().settled.count, 2);
    });

    it('a rejected record does not block the others', () => {
      const card = ForgedCard.issue(issuer.key);
      storeAll(Array.from({ length: 5 }, () => card.sign({ terminalId: TERMINAL })));
      const batch = store.nextBatch(newId, 3)!;
      const ids = store.records({ status: 'sending' }).map((r) => r.recordId);
      const counts = store.applyVerdicts(
        batch.batchId,
        [
          { verdict: 'accepted', recordId: ids[0]! },
          { verdict: 'rejected', recordId: ids[1]!, reason: 'BAD_SIGNATURE', detail: 'no' },
          { verdict: 'duplicate', recordId: ids[2]! },
        ],
        1_900_000_000,
      );
      assert.deepEqual(counts, { accepted: 1, duplicate: 1, rejected: 1 });
      const rejected = store.record(ids[1]!)!;
      assert.equal(rejected.status, 'rejected');
      assert.equal(rejected.reason, 'BAD_SIGNATURE');
      assert.equal(rejected.settledAt, null);
      assert.equal(store.record(ids[2]!)!.status, 'duplicate');
      const next = store.nextBatch(newId, 3)!;
      assert.equal(next.records, 2, 'the rest goes on; the rejected record is final and never re-sent');
      assert.deepEqual(
        store.records({ status: 'sending' }).map((r) => r.counter),
        [4, 5],
      );
      const audit = store.db.prepare("SELECT subject FROM audit WHERE kind = 'record-rejected'").all() as {
        subject: string;
      }[];
      assert.deepEqual(
        audit.map((a) => a.subject),
        [ids[1]],
        'the rejection is in the audit log',
      );
    });

    it("settledTotals counts accepted records by the bank's UTC settlement day and currency", () => {
      const cny = ForgedCard.issue(issuer.key, { currency: 156 });
      const usd = ForgedCard.issue(issuer.key, { currency: 840 });
      storeAll([
        cny.sign({ terminalId: TERMINAL, amount: 100 }),
        usd.sign({ terminalId: TERMINAL, amount: 7, currency: 840 }),
        cny.sign({ terminalId: TERMINAL, amount: 250 }),
        cny.sign({ terminalId: TERMINAL, amount: 1000 }),
      ]);
      const [day1] = utcDayBounds('2030-01-15');
      const settleBatch = (n: number, at: number, verdicts: RecordVerdict['verdict'][]) => {
        const b = store.nextBatch(newId, n)!;
        const ids = store.records({ status: 'sending' }).map((r) => r.recordId);
        store.applyVerdicts(
          b.batchId,
          ids.map((recordId, i) => ({
            verdict: verdicts[i]!,
            recordId,
            ...(verdicts[i] === 'rejected' ? { reason: 'X' } : {}),
          })),
          at,
        );
      };
      settleBatch(2, day1 + 86399, ['accepted', 'accepted']); // last second of the 15th
      settleBatch(2, day1 + 86400, ['accepted', 'rejected']); // first second of the 16th; one rejected
      assert.deepEqual(store.settledTotals(...utcDayBounds('2030-01-15')), [
        { currency: 156, count: 1, amount: 100 },
        { currency: 840, count: 1, amount: 7 },
      ]);
      assert.deepEqual(store.settledTotals(...utcDayBounds('2030-01-16')), [{ currency: 156, count: 1, amount: 250 }]);
      assert.deepEqual(store.settledTotals(...utcDayBounds('2030-01-14')), []);
    });
  });

  it('exportRecords streams every row, in queue order, with envelope and card certificate', () => {
    const cards = [ForgedCard.issue(issuer.key), ForgedCard.issue(issuer.key)];
    const recs = Array.from({ length: 60 }, (_, i) => cards[i % 2]!.sign({ terminalId: TERMINAL, amount: i + 1 }));
    storeAll(recs);
    store.observeCard(cards[0]!.cardId, 0, new Uint8Array(32), cards[0]!.certificate.envelope); // only card 0's certificate is known
    const it = store.exportRecords();
    const first = it.next();
    assert.equal(first.done, false, 'a generator: rows come one at a time');
    const rows = [first.value!, ...it];
    assert.equal(rows.length, 60);
    rows.forEach((r, i) => {
      assert.equal(r.recordId, `${toHex(recs[i]!.cardId)}:${recs[i]!.counter}`);
      assert.deepEqual(Buffer.from(r.envelope), Buffer.from(recs[i]!.envelope));
      assert.equal(r.status, 'pending');
    });
    assert.deepEqual(Buffer.from(rows[0]!.certificate!), Buffer.from(cards[0]!.certificate.envelope));
    assert.equal(rows[1]!.certificate, null);
  });
});
