/**
 * The clearing-ledger contract (ledger-contract.ts) on the single-machine backend: SQLite files in a
 * temp directory, one per test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { SqliteLedger } from '../../host/clearing/sqlite-ledger.js';
import { Ledger as SimBankLedger } from '../../device-sim/bank/ledger.js';
import { ledgerContract } from './ledger-contract.js';
import { NOW, batch, cardOf, chain } from './ledger-fixtures.js';

describe('clearing ledger on SQLite (contract)', () => {
  let dir: string;
  let n = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-clearing-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  ledgerContract((hooks) =>
    SqliteLedger.open({ path: join(dir, `ledger-${++n}.sqlite`), ...(hooks ? { hooks } : {}) }),
  );

  it('opens a file from before certificate_not_after: the column is added, and a batch certificate then replaces the undated one', async () => {
    const path = join(dir, 'old-clearing.sqlite');
    const old = new Database(path);
    old.exec(
      'CREATE TABLE cards (card_id TEXT NOT NULL PRIMARY KEY CHECK (length(card_id) = 16), certificate BLOB, certificate_at INTEGER) WITHOUT ROWID',
    );
    const c = cardOf('migrated');
    old.prepare('INSERT INTO cards VALUES (?, ?, ?)').run(c, Buffer.from([9]), NOW);
    old.close();
    const ledger = await SqliteLedger.open({ path });
    try {
      assert.deepEqual(await ledger.cardCertificate(c), Uint8Array.of(9));
      await ledger.settleBatch(
        batch(chain(c, 1, { certificateFromBatch: Uint8Array.of(1), certificateNotAfter: NOW })),
      );
      assert.deepEqual(await ledger.cardCertificate(c), Uint8Array.of(1));
    } finally {
      await ledger.close();
    }
  });

  it('the simulated bank opens a version 2 ledger: card certificates get their notAfter column in place', () => {
    const path = join(dir, 'old-sim-bank.sqlite');
    new SimBankLedger(path).close();
    const raw = new Database(path);
    raw.exec('ALTER TABLE card_certificates DROP COLUMN not_after');
    raw
      .prepare('INSERT INTO card_certificates (card_id, certificate, first_seen) VALUES (?, ?, ?)')
      .run('ab'.repeat(8), Buffer.from([9]), NOW);
    raw.pragma('user_version = 2');
    raw.close();
    const ledger = new SimBankLedger(path);
    try {
      assert.deepEqual(ledger.getCardCertificate('ab'.repeat(8)), Uint8Array.of(9));
      ledger.putCardCertificate('ab'.repeat(8), Uint8Array.of(1), NOW, NOW);
      assert.deepEqual(ledger.getCardCertificate('ab'.repeat(8)), Uint8Array.of(1));
      ledger.putCardCertificate('ab'.repeat(8), Uint8Array.of(2), NOW - 1, NOW);
      assert.deepEqual(ledger.getCardCertificate('ab'.repeat(8)), Uint8Array.of(1)); // ends earlier: kept out
    } finally {
      ledger.close();
    }
  });
});
