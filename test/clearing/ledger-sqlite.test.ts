/**
 * The clearing-ledger contract (ledger-contract.ts) on the single-machine backend: SQLite files in a
 * temp directory, one per test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedger } from '../../host/clearing/sqlite-ledger.js';
import { ledgerContract } from './ledger-contract.js';

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
});
