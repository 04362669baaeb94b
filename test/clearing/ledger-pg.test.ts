/**
 * The clearing-ledger contract on PostgreSQL (plain tables, and hash-partitioned on card_id), and the
 * races only a shared database has: two API processes (two ledgers, two pools) settling at once. One
 * throwaway PostgreSQL serves the whole file; each test gets its own schema. The races are ordered by
 * test-only pause points (a batch held between statements) and by waiting until the other connection
 * is blocked on a lock in pg_stat_activity: no sleeps.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgLedger } from '../../host/clearing/pg-ledger.js';
import type { ClearingLedger, LedgerTestHooks, SettleOutcome } from '../../host/clearing/ledger.js';
import { ThrowawayPostgres, requirePostgres } from '../support/postgres.js';
import { ledgerContract } from './ledger-contract.js';
import { NOW, T1, T2, ZERO, batch, cardOf, chain, gate, record } from './ledger-fixtures.js';

describe('clearing ledger on PostgreSQL', function () {
  this.timeout(60_000);
  let server: ThrowawayPostgres | undefined;
  let admin: pg.Pool;
  let schemas = 0;
  const ledgers: ClearingLedger[] = [];

  before(async function () {
    const bin = requirePostgres(this);
    server = await ThrowawayPostgres.start(bin);
    admin = new pg.Pool({ ...server.poolConfig, max: 2 });
  });
  after(async () => {
    await admin?.end();
    await server?.destroy();
  });

  const newSchema = async (): Promise<string> => {
    const s = `t${++schemas}`;
    await admin.query(`CREATE SCHEMA ${s}`);
    return s;
  };
  const openIn = (schema: string, hooks?: LedgerTestHooks, partitions?: number): Promise<PgLedger> =>
    PgLedger.open({
      pool: { ...server!.poolConfig, options: `-c search_path=${schema}`, max: 4 },
      ...(hooks ? { hooks } : {}),
      ...(partitions ? { partitions } : {}),
    });

  describe('contract, plain tables', () => ledgerContract(async (hooks) => openIn(await newSchema(), hooks)));
  describe('contract, 4 hash partitions on card_id', () =>
    ledgerContract(async (hooks) => openIn(await newSchema(), hooks, 4)));

  it('creates hash-partitioned tables when asked, and the partitions hold the rows', async () => {
    const s = await newSchema();
    const l = await openIn(s, undefined, 4);
    try {
      await l.settleBatch(batch([...chain(cardOf('p1'), 2), ...chain(cardOf('p2'), 1), ...chain(cardOf('p3'), 1)]));
      const parts = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
         JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = $1 AND c.relname = 'settled_records'`,
        [s],
      );
      assert.equal(parts.rows[0]!.n, 4);
      const inParts = await admin.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM ${s}.settled_records_p0) + (SELECT count(*) FROM ${s}.settled_records_p1)
              + (SELECT count(*) FROM ${s}.settled_records_p2) + (SELECT count(*) FROM ${s}.settled_records_p3) AS n`,
      );
      assert.equal(Number(inParts.rows[0]!.n), 4);
    } finally {
      await l.close();
    }
  });

  it('opens a version 1 database: certificate_not_after is added, the version moves to 2, and a batch certificate replaces an undated one', async () => {
    const s = await newSchema();
    const first = await openIn(s);
    await first.close();
    const c = cardOf('pg-migrated');
    await admin.query(`ALTER TABLE ${s}.cards DROP COLUMN certificate_not_after`);
    await admin.query(`UPDATE ${s}.clearing_schema SET version = 1`);
    await admin.query(`INSERT INTO ${s}.cards (card_id, certificate, certificate_at) VALUES ($1, $2, $3)`, [
      c,
      Buffer.from([9]),
      NOW,
    ]);
    const l = await openIn(s);
    try {
      const v = await admin.query<{ version: number }>(`SELECT version FROM ${s}.clearing_schema`);
      assert.equal(v.rows[0]!.version, 2);
      assert.deepEqual(await l.cardCertificate(c), Uint8Array.of(9));
      await l.settleBatch(batch(chain(c, 1, { certificateFromBatch: Uint8Array.of(1), certificateNotAfter: NOW })));
      assert.deepEqual(await l.cardCertificate(c), Uint8Array.of(1));
    } finally {
      await l.close();
    }
  });

  describe('races between two API processes', () => {
    const gates: ReturnType<typeof gate>[] = [];
    const newGate = () => {
      const g = gate();
      gates.push(g);
      return g;
    };
    afterEach(async () => {
      for (const g of gates.splice(0)) g.open(); // a failed test must not leave a batch held (and its ledger unclosable)
      for (const l of ledgers.splice(0)) await l.close().catch(() => {});
    });
    const open = async (schema: string, hooks?: LedgerTestHooks): Promise<PgLedger> => {
      const l = await openIn(schema, hooks);
      ledgers.push(l);
      return l;
    };
    const holdAt = (point: string, g: ReturnType<typeof gate>): LedgerTestHooks => ({
      pause: async (p) => {
        if (p === point) await g.hold();
      },
    });
    /** Holds the batch at `point` until the gate opens, then fails it there (an API process dying half-way). */
    const failAt = (point: string, g: ReturnType<typeof gate>, why: string): LedgerTestHooks => ({
      pause: async (p) => {
        if (p !== point) return;
        await g.hold();
        throw new Error(why);
      },
    });
    /** Resolves once some connection waits on a lock (the other process is blocked behind the held one). */
    const someoneWaits = async (): Promise<void> => {
      for (let i = 0; i < 2000; i++) {
        const r = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        );
        if (r.rows[0]!.n > 0) return;
        await new Promise((r) => setImmediate(r));
      }
      throw new Error('the second connection never blocked on a lock');
    };
    const count = async (sql: string, values: unknown[] = []) =>
      Number((await admin.query<{ n: string }>(sql, values)).rows[0]!.n);

    it("a new card from two terminals at once: the second waits on the first one's insert of the card row", async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, holdAt('cards-locked', g));
      const b = await open(s);
      const c = cardOf('race-new-card');
      const first = a.settleBatch(batch([record(c, 1, ZERO)]));
      await g.arrived;
      const second = b.settleBatch(batch([record(c, 1, ZERO, { terminalId: T2, variant: 'b' })], { terminalId: T2 }));
      await someoneWaits();
      g.open();
      const outs = (await Promise.all([first, second])) as Extract<SettleOutcome, { kind: 'settled' }>[];
      assert.deepEqual(
        outs.map((o) => o.response.results[0]!.reason ?? o.response.results[0]!.verdict),
        ['accepted', 'DOUBLE_SPEND'],
      );
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.settled_records`), 1);
    });

    it('a new card from two terminals at once when the first fails: the second creates the card row itself, with its certificate', async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, failAt('cards-locked', g, 'API process A fails with the card row inserted'));
      const b = await open(s);
      const c = cardOf('race-new-card-fails');
      const first = a.settleBatch(batch([record(c, 1, ZERO, { certificateFromBatch: Uint8Array.of(1) })]));
      await g.arrived; // A holds its uncommitted insert of the card row
      const second = b.settleBatch(
        batch([record(c, 1, ZERO, { terminalId: T2, variant: 'b', certificateFromBatch: Uint8Array.of(2) })], {
          terminalId: T2,
        }),
      );
      await someoneWaits(); // B's insert waits on A's
      g.open();
      await assert.rejects(first, /fails with the card row inserted/);
      const ob = (await second) as Extract<SettleOutcome, { kind: 'settled' }>;
      assert.equal(ob.response.results[0]!.verdict, 'accepted');
      assert.deepEqual(await b.cardCertificate(c), Uint8Array.of(2));
      // the row B created is an ordinary row for the next batch, which locks it
      const next = await b.settleBatch(batch([record(c, 2, ZERO, { variant: 'next' })]));
      assert.equal(next.kind, 'settled');
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.cards`), 1);
    });

    it('the same batch id twice at once: one commits the work, the other returns its stored answer', async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, holdAt('key-claimed', g));
      const b = await open(s);
      const work = batch(chain(cardOf('race-key'), 3));
      const first = a.settleBatch(work);
      await g.arrived; // A holds the uncommitted key row
      const second = b.settleBatch(work);
      await someoneWaits(); // B waits on A's key row
      g.open();
      const [oa, ob] = await Promise.all([first, second]);
      assert.equal(oa.kind, 'settled');
      assert.equal(ob.kind, 'replayed');
      assert.equal(ob.answer, oa.answer);
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.settled_records`), 3);
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.batch_keys`), 1);
    });

    it('the same batch id at once with another body: the second is refused once the first commits', async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, holdAt('key-claimed', g));
      const b = await open(s);
      const work = batch(chain(cardOf('race-reuse'), 1));
      const other = batch(chain(cardOf('race-reuse-other'), 1), { batchId: work.batchId });
      const first = a.settleBatch(work);
      await g.arrived;
      const second = b.settleBatch(other);
      await someoneWaits();
      g.open();
      assert.equal((await first).kind, 'settled');
      await assert.rejects(second, { code: 'IDEMPOTENCY_KEY_REUSED' });
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.settled_records`), 1);
    });

    it('the same batch id at once when the first fails: the waiting one does the work', async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, failAt('cards-locked', g, 'API process A fails half-way'));
      const b = await open(s);
      const work = batch(chain(cardOf('race-fail'), 2));
      const first = a.settleBatch(work);
      await g.arrived;
      const second = b.settleBatch(work);
      await someoneWaits();
      g.open();
      await assert.rejects(first, /fails half-way/);
      const ob = await second;
      assert.equal(ob.kind, 'settled');
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.settled_records`), 2);
    });

    it('the same (card, counter) from two terminals at once: one accepted, the other a double spend, one row', async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, holdAt('cards-locked', g));
      const b = await open(s);
      const c = cardOf('race-counter');
      const [r1] = chain(c, 1);
      await b.settleBatch(batch([r1!])); // the card exists: B must wait on A's row lock (FOR UPDATE), not on an insert
      const fromT1 = record(c, 2, r1!.hash, { terminalId: T1 });
      const fromT2 = record(c, 2, r1!.hash, { terminalId: T2, variant: 'other terminal' });
      const first = a.settleBatch(batch([fromT1]));
      await g.arrived; // A holds the card's row lock
      const second = b.settleBatch(batch([fromT2], { terminalId: T2 }));
      await someoneWaits();
      g.open();
      const [oa, ob] = (await Promise.all([first, second])) as Extract<SettleOutcome, { kind: 'settled' }>[];
      assert.equal(oa!.response.results[0]!.verdict, 'accepted');
      assert.equal(ob!.response.results[0]!.reason, 'DOUBLE_SPEND');
      assert.deepEqual(ob!.newlyRevoked, [c]);
      assert.equal(
        await count(`SELECT count(*) AS n FROM ${s}.settled_records WHERE card_id = $1 AND counter = 2`, [c]),
        1,
      );
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.evidence WHERE card_id = $1`, [c]), 1);
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.revocations WHERE card_id = $1`, [c]), 1);
    });

    it('a fork arriving at two API processes at once: the link is checked under the lock, the later one is CHAIN_BROKEN with evidence', async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, holdAt('cards-locked', g));
      const b = await open(s);
      const c = cardOf('race-fork');
      const [r1] = chain(c, 1);
      await b.settleBatch(batch([r1!]));
      // counter 2 on the chain, and a counter 3 branching off another head: they only conflict as neighbours
      const r2 = record(c, 2, r1!.hash, { terminalId: T1 });
      const r3fork = record(c, 3, new Uint8Array(32).fill(7), { terminalId: T2 });
      const first = a.settleBatch(batch([r2]));
      await g.arrived; // A holds the card: B must read the neighbour only after A commits
      const second = b.settleBatch(batch([r3fork], { terminalId: T2 }));
      await someoneWaits();
      g.open();
      const [oa, ob] = (await Promise.all([first, second])) as Extract<SettleOutcome, { kind: 'settled' }>[];
      assert.equal(oa!.response.results[0]!.verdict, 'accepted');
      assert.equal(ob!.response.results[0]!.reason, 'CHAIN_BROKEN');
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.settled_records WHERE card_id = $1`, [c]), 2);
      assert.equal(
        await count(`SELECT count(*) AS n FROM ${s}.evidence WHERE card_id = $1 AND kind = 'chain-broken'`, [c]),
        1,
      );
    });

    it('the same record in two batches at once (a resent batch under a new id): one accepted, one duplicate', async () => {
      const s = await newSchema();
      const g = newGate();
      const a = await open(s, holdAt('cards-locked', g));
      const b = await open(s);
      const c = cardOf('race-same-record');
      const [r1] = chain(c, 1);
      {
        const first = a.settleBatch(batch([r1!]));
        await g.arrived;
        const second = b.settleBatch(batch([r1!]));
        await someoneWaits();
        g.open();
        const outs = (await Promise.all([first, second])) as Extract<SettleOutcome, { kind: 'settled' }>[];
        assert.deepEqual(
          outs.map((o) => o.response.results[0]!.verdict),
          ['accepted', 'duplicate'],
        );
      }
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.settled_records`), 1);
    });

    it('batches over the same cards in opposite orders, 25 rounds at once: no deadlock, one row per identity', async () => {
      const s = await newSchema();
      // both batches wait for each other after claiming their keys, then go for the locks together
      let barrier = { waiting: 0, release: () => {}, released: Promise.resolve() };
      const together: LedgerTestHooks = {
        pause: async (p) => {
          if (p !== 'key-claimed') return;
          if (++barrier.waiting === 2) barrier.release();
          await barrier.released;
        },
      };
      const a = await open(s, together);
      const b = await open(s, together);
      for (let round = 0; round < 25; round++) {
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        barrier = { waiting: 0, release, released };
        const x = cardOf(`dl-x-${round}`);
        const y = cardOf(`dl-y-${round}`);
        const [oa, ob] = (await Promise.all([
          a.settleBatch(batch([record(x, 1, ZERO), record(y, 1, ZERO)])),
          b.settleBatch(
            batch(
              [
                record(y, 1, ZERO, { terminalId: T2, variant: 'b' }),
                record(x, 1, ZERO, { terminalId: T2, variant: 'b' }),
              ],
              {
                terminalId: T2,
              },
            ),
          ),
        ])) as Extract<SettleOutcome, { kind: 'settled' }>[];
        const verdicts = [...oa!.response.results, ...ob!.response.results].map((r) => r.reason ?? r.verdict).sort();
        assert.deepEqual(verdicts, ['DOUBLE_SPEND', 'DOUBLE_SPEND', 'accepted', 'accepted']);
      }
      assert.equal(a.retriedTransactions + b.retriedTransactions, 0, 'a deadlock was detected and retried');
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.settled_records`), 50);
      assert.equal(await count(`SELECT count(*) AS n FROM ${s}.revocations`), 50);
    });
  });
});
