import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ZERO_HASH, type SignedTxnRecord } from '../../protocol/record/index.js';
import type { HostStore } from '../../host/store/host-store.js';
import type { DaemonFixture } from './daemon-fixture.js';
import { ForgedCard } from './record-forge.js';

/** Cards issued by the fixture's own issuer CA, known to the host (certificate stored) and so settleable. */
export function forgeCards(f: DaemonFixture, n: number): ForgedCard[] {
  return Array.from({ length: n }, () => {
    const card = ForgedCard.issue(f.issuer.ca.key);
    f.daemon.store.observeCard(card.cardId, 0, ZERO_HASH, card.certificate.envelope);
    return card;
  });
}

/** Store many records in one transaction (one fsync): a fast way to fill the queue. */
export function storeAll(store: HostStore, records: SignedTxnRecord[]): void {
  store.db.transaction(() => {
    for (const r of records) store.storeRecord(r, { origin: 'sale' });
  })();
}

/** The simulated bank's ledger, opened read-only beside the running bank. */
export function bankLedger(f: DaemonFixture): {
  settled: { recordId: string; batchId: string; amount: number }[];
  batches: string[];
} {
  const db = new Database(join(f.dir, 'bank.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const settled = db
      .prepare(
        "SELECT card_id || ':' || counter AS recordId, batch_id AS batchId, amount FROM settled_records ORDER BY card_id, counter",
      )
      .all() as { recordId: string; batchId: string; amount: number }[];
    const batches = (
      db.prepare('SELECT batch_id AS b FROM batches ORDER BY received_at, batch_id').all() as { b: string }[]
    ).map((r) => r.b);
    return { settled, batches };
  } finally {
    db.close();
  }
}

/** Poll until `cond` holds (or fail with `what` after `timeoutMs`). */
export async function until(cond: () => boolean, what: string, timeoutMs = 20_000, everyMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
