/**
 * What must hold in the clearing database after the model run, checked in SQL against what the
 * terminals were told (their acknowledged answers) and what the workload injected. Each check returns
 * the violations it found, so a failure names the batch, card or counter.
 */
import type pg from 'pg';
import type { BatchResponse } from '../../../protocol/bank/verdicts.js';
import type { SignedTxnRecord } from '../../../protocol/record/index.js';
import type { Workload } from './workload.js';

export interface Acknowledged {
  terminalId: string;
  batchId: string;
  /** The answer's body exactly as the terminal received it. */
  answer: string;
  records: SignedTxnRecord[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const identity = (r: SignedTxnRecord): string => `${hex(r.cardId)}:${r.counter}`;

export async function checkInvariants(db: pg.Pool, acks: readonly Acknowledged[], w: Workload): Promise<string[]> {
  const bad: string[] = [];
  const q = async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> =>
    (await db.query<T>(sql, values)).rows;

  // 1. No acknowledged batch is lost: its key row holds the very answer the terminal was given.
  const keys = new Map(
    (
      await q<{ terminal_id: string; batch_id: string; answer: string | null }>(
        'SELECT terminal_id, batch_id, answer FROM batch_keys',
      )
    ).map((r) => [`${r.terminal_id}/${r.batch_id}`, r.answer]),
  );
  for (const a of acks) {
    const stored = keys.get(`${a.terminalId}/${a.batchId}`);
    if (stored !== a.answer)
      bad.push(`acknowledged batch ${a.terminalId}/${a.batchId}: stored answer differs or is gone`);
  }

  // 2. Every record answered "accepted" is in the ledger, byte for byte, and accepted exactly once.
  const settled = new Map(
    (
      await q<{
        card_id: string;
        counter: string;
        envelope: Buffer;
        terminal_id: string;
        amount: string;
        currency: number;
      }>('SELECT card_id, counter, envelope, terminal_id, amount, currency FROM settled_records')
    ).map((r) => [`${r.card_id}:${r.counter}`, r]),
  );
  const acceptedOnce = new Map<string, string>();
  const expectedTotals = new Map<string, bigint>();
  const doubleSpendVerdicts: string[] = [];
  const duplicates: { id: string; rec: SignedTxnRecord }[] = [];
  const verdictsOf = new Map<string, string[]>(); // identity → verdicts of each version sent
  for (const a of acks) {
    const res = JSON.parse(a.answer) as BatchResponse;
    for (const r of res.results) {
      const rec = a.records[r.index]!;
      const id = identity(rec);
      verdictsOf.set(id, [...(verdictsOf.get(id) ?? []), `${hex(rec.hash)}=${r.verdict}:${r.reason ?? ''}`]);
      if (r.reason === 'DOUBLE_SPEND') doubleSpendVerdicts.push(id);
      if (r.verdict === 'duplicate') duplicates.push({ id, rec });
      if (r.verdict !== 'accepted') continue;
      if (acceptedOnce.has(id)) bad.push(`${id} accepted twice (${acceptedOnce.get(id)} and ${a.batchId})`);
      acceptedOnce.set(id, a.batchId);
      const row = settled.get(id);
      if (!row) bad.push(`${id} answered accepted in ${a.batchId} but not in settled_records`);
      else if (!Buffer.from(rec.envelope).equals(row.envelope)) bad.push(`${id}: the ledger holds another record`);
      const k = `${a.terminalId}/${rec.currency}`;
      expectedTotals.set(k, (expectedTotals.get(k) ?? 0n) + BigInt(rec.amount));
    }
  }
  // rows = distinct identities: nothing settled that no terminal was told was accepted
  if (settled.size !== acceptedOnce.size)
    bad.push(`settled_records has ${settled.size} rows, ${acceptedOnce.size} distinct records were answered accepted`);

  // A "duplicate" means the ledger holds these very bytes.
  for (const { id, rec } of duplicates) {
    const row = settled.get(id);
    if (!row || !Buffer.from(rec.envelope).equals(row.envelope))
      bad.push(`${id} answered duplicate but the ledger does not hold that record`);
  }
  // The ledger's chains hold: settled neighbours always link (a fork accepted beside its neighbour breaks this).
  const breaks = await q<{ card_id: string; counter: string }>(
    `SELECT b.card_id, b.counter FROM settled_records a
     JOIN settled_records b ON b.card_id = a.card_id AND b.counter = a.counter + 1
     WHERE b.prev_hash <> a.hash`,
  );
  for (const r of breaks)
    bad.push(`${r.card_id}:${r.counter} is settled but does not link to counter ${Number(r.counter) - 1}`);

  // 3. Every double spend has its evidence and a revoked card (same transaction).
  for (const id of doubleSpendVerdicts) {
    const [card, counter] = id.split(':');
    const ev = await q('SELECT 1 FROM evidence WHERE card_id = $1 AND counter = $2 AND kind = $3', [
      card,
      counter,
      'double-spend',
    ]);
    if (ev.length === 0) bad.push(`${id}: DOUBLE_SPEND answered without evidence`);
  }
  const unrevoked = await q<{ card_id: string }>(
    "SELECT DISTINCT card_id FROM evidence WHERE kind = 'double-spend' EXCEPT SELECT card_id FROM revocations",
  );
  for (const r of unrevoked) bad.push(`card ${r.card_id} has double-spend evidence but is not revoked`);
  // Each injected double spend: of its two versions at most one accepted, and if one was, the other is DOUBLE_SPEND.
  for (const [id, versions] of verdictsOf) {
    if (!w.doubleSpentCards.has(id.split(':')[0]!)) continue;
    const hashes = new Set(versions.map((v) => v.split('=')[0]));
    if (hashes.size < 2) continue;
    const accepted = versions.filter((v) => v.endsWith('=accepted:'));
    const acceptedHashes = new Set(accepted.map((v) => v.split('=')[0]));
    if (acceptedHashes.size > 1) bad.push(`${id}: both versions of a double spend accepted`);
    if (acceptedHashes.size === 1) {
      const others = versions.filter((v) => !acceptedHashes.has(v.split('=')[0]!));
      // DOUBLE_SPEND when the accepted one was settled first; CHAIN_BROKEN when the clone came first and
      // its settled successor (chained to the genuine record) exposed it. Either way with evidence.
      for (const o of others) {
        const reason = /:([A-Z_]+)$/.exec(o)?.[1];
        if (reason !== 'DOUBLE_SPEND' && reason !== 'CHAIN_BROKEN')
          bad.push(`${id}: the other version of a double spend got ${o.split('=')[1]}`);
        const [card, counter] = id.split(':');
        const kind = reason === 'DOUBLE_SPEND' ? 'double-spend' : 'chain-broken';
        const ev = await q(
          'SELECT 1 FROM evidence WHERE card_id = $1 AND kind = $2 AND counter IN ($3::bigint, $3::bigint + 1)',
          [card, kind, counter],
        );
        if (ev.length === 0) bad.push(`${id}: ${reason} answered without ${kind} evidence`);
      }
    }
  }

  // 4. Accepted amounts = ledger totals, per terminal and currency.
  const ledgerTotals = await q<{ terminal_id: string; currency: number; total: string }>(
    'SELECT terminal_id, currency, SUM(amount)::text AS total FROM settled_records GROUP BY terminal_id, currency',
  );
  const seen = new Set<string>();
  for (const r of ledgerTotals) {
    const k = `${r.terminal_id}/${r.currency}`;
    seen.add(k);
    if (BigInt(r.total) !== (expectedTotals.get(k) ?? 0n))
      bad.push(`${k}: ledger total ${r.total}, accepted answers add up to ${expectedTotals.get(k) ?? 0n}`);
  }
  for (const k of expectedTotals.keys()) if (!seen.has(k)) bad.push(`${k}: accepted sales missing from the ledger`);

  // 5. Every settled record belongs to a batch whose answer was stored with it.
  const orphans = await q<{ n: string }>(
    `SELECT count(*)::text AS n FROM settled_records s
     WHERE NOT EXISTS (SELECT 1 FROM batch_keys k WHERE k.terminal_id = s.terminal_id AND k.batch_id = s.batch_id AND k.answer IS NOT NULL)`,
  );
  if (orphans[0]!.n !== '0') bad.push(`${orphans[0]!.n} settled records without a stored batch answer`);
  return bad;
}
