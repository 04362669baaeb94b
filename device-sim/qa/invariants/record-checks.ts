import type { Evidence, ExportEntry, QueueEntry } from './evidence.js';
import { INVARIANT, type InvariantFinding } from './finding.js';

/** Statuses of a record the bank accepted (docs/host-api.md §6.1): `duplicate` is one it had settled before. */
const AT_BANK = new Set(['settled', 'duplicate']);

const key = (cardId: string, counter: number) => `${cardId}:${counter}`;

/** "5", "5–7": contiguous counters as ranges, so a gap of 300 records is one finding, not 300. */
function ranges(counters: number[]): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (const c of counters) {
    const last = out[out.length - 1];
    if (last && last.to === c - 1) last.to = c;
    else out.push({ from: c, to: c });
  }
  return out;
}

/** Card → queue: counters 1…card.counter each stored exactly once, nothing beyond. */
export function checkStored(ev: Evidence): InvariantFinding[] {
  const findings: InvariantFinding[] = [];
  const byKey = new Map<string, QueueEntry[]>();
  for (const q of ev.queue) byKey.set(key(q.cardId, q.counter), [...(byKey.get(key(q.cardId, q.counter)) ?? []), q]);
  const known = new Set(ev.cards.map((c) => c.cardId));
  for (const card of ev.cards) {
    const missing: number[] = [];
    for (let n = 1; n <= card.counter; n++) if (!byKey.has(key(card.cardId, n))) missing.push(n);
    for (const r of ranges(missing)) {
      const span = r.from === r.to ? `counter ${r.from}` : `counters ${r.from}–${r.to}`;
      findings.push({
        invariant: INVARIANT.stored,
        card: card.cardId,
        counter: r.from,
        message: `card ${card.cardId} (${card.name}) signed ${span} (its counter is ${card.counter}), but the daemon's queue has no record of it`,
        expected: { counters: [r.from, r.to], inQueue: true },
        actual: { counters: [r.from, r.to], inQueue: false },
      });
    }
  }
  for (const [k, entries] of byKey) {
    const { cardId, counter } = entries[0]!;
    if (entries.length > 1)
      findings.push({
        invariant: INVARIANT.once,
        card: cardId,
        counter,
        message: `record ${k} is in the daemon's queue ${entries.length} times (queue seq ${entries.map((e) => e.seq).join(', ')})`,
        expected: 1,
        actual: entries.length,
      });
    const card = ev.cards.find((c) => c.cardId === cardId);
    if (!known.has(cardId))
      findings.push({
        invariant: INVARIANT.signed,
        card: cardId,
        counter,
        message: `the daemon's queue holds record ${k} of card ${cardId}, which is none of the run's cards`,
        expected: [...known],
        actual: cardId,
      });
    else if (card && counter > card.counter)
      findings.push({
        invariant: INVARIANT.signed,
        card: cardId,
        counter,
        message: `the daemon's queue holds record ${k}, but card ${cardId} (${card.name}) has signed only up to counter ${card.counter}`,
        expected: { maxCounter: card.counter },
        actual: { counter },
      });
  }
  return findings;
}

type Decoded = Extract<ExportEntry, { decoded: true }>;

/** The queue and its signed export agree record by record; each envelope continues its card's hash chain. */
export function checkExport(ev: Evidence): InvariantFinding[] {
  const findings: InvariantFinding[] = [];
  const exported = new Map(ev.exported.map((e) => [e.recordId, e]));
  const queued = new Set(ev.queue.map((q) => q.recordId));
  for (const q of ev.queue) {
    const e = exported.get(q.recordId);
    const where = { card: q.cardId, counter: q.counter };
    if (!e) {
      findings.push({
        invariant: INVARIANT.export,
        ...where,
        message: `record ${q.recordId} is in the queue but not in its signed export`,
        expected: 'in export',
        actual: 'missing',
      });
      continue;
    }
    if (!e.decoded) {
      findings.push({
        invariant: INVARIANT.export,
        ...where,
        message: `the signed envelope of record ${q.recordId} does not decode: ${e.why}`,
        expected: 'a transaction record',
        actual: e.why,
      });
      continue;
    }
    const queueSays = { cardId: q.cardId, counter: q.counter, amount: q.amount, balanceAfter: q.balanceAfter };
    const cardSigned = { cardId: e.cardId, counter: e.counter, amount: e.amount, balanceAfter: e.balanceAfter };
    for (const f of ['cardId', 'counter', 'amount', 'balanceAfter'] as const) {
      if (queueSays[f] !== cardSigned[f])
        findings.push({
          invariant: INVARIANT.export,
          ...where,
          message: `record ${q.recordId}: the queue says ${f} ${queueSays[f]}, the envelope the card signed says ${cardSigned[f]}`,
          expected: cardSigned[f],
          actual: queueSays[f],
        });
    }
  }
  for (const e of ev.exported)
    if (!queued.has(e.recordId))
      findings.push({
        invariant: INVARIANT.export,
        message: `record ${e.recordId} is in the signed export but not in the queue`,
        expected: 'in queue',
        actual: 'missing',
      });
  findings.push(...checkChain(ev.exported.filter((e): e is Decoded => e.decoded)));
  return findings;
}

/** prevHash of record n is the hash of record n−1 (where both are here): no fork, no substituted record. */
function checkChain(records: Decoded[]): InvariantFinding[] {
  const findings: InvariantFinding[] = [];
  const byKey = new Map(records.map((r) => [key(r.cardId, r.counter), r]));
  for (const r of records) {
    const prev = byKey.get(key(r.cardId, r.counter - 1));
    if (prev && prev.hash !== r.prevHash)
      findings.push({
        invariant: INVARIANT.chain,
        card: r.cardId,
        counter: r.counter,
        message: `record ${r.recordId} does not continue its card's chain: its prevHash is not the hash of record ${prev.recordId}`,
        expected: prev.hash,
        actual: r.prevHash,
      });
  }
  return findings;
}

/** Queue ↔ bank: nothing settled twice, each bank row equals the queue's record, what is "settled" is at the bank. */
export function checkSettlement(ev: Evidence, requireSettled: boolean): InvariantFinding[] {
  const findings: InvariantFinding[] = [];
  const queue = new Map(ev.queue.map((q) => [key(q.cardId, q.counter), q]));
  const kinds = new Map(
    ev.exported.filter((e): e is Decoded => e.decoded).map((e) => [key(e.cardId, e.counter), e.kind]),
  );
  const bankRows = new Map<string, number>();
  for (const b of ev.bank) {
    const k = key(b.cardId, b.counter);
    bankRows.set(k, (bankRows.get(k) ?? 0) + 1);
    const where = { card: b.cardId, counter: b.counter };
    if (bankRows.get(k) === 2)
      findings.push({
        invariant: INVARIANT.settledOnce,
        ...where,
        message: `the bank settled record ${k} more than once`,
        expected: 1,
        actual: ev.bank.filter((x) => key(x.cardId, x.counter) === k).length,
      });
    const q = queue.get(k);
    if (!q) {
      findings.push({
        invariant: INVARIANT.bankMatches,
        ...where,
        message: `the bank settled record ${k} (amount ${b.amount}), which is not in the daemon's queue`,
        expected: 'in queue',
        actual: 'missing',
      });
      continue;
    }
    if (q.amount !== b.amount)
      findings.push({
        invariant: INVARIANT.bankMatches,
        ...where,
        message: `record ${k}: the bank settled amount ${b.amount}, the queue's record says ${q.amount}`,
        expected: q.amount,
        actual: b.amount,
      });
    const kind = kinds.get(k);
    const bankReversal = /revers|void/i.test(b.kind);
    if (kind && (kind === 'reversal') !== bankReversal)
      findings.push({
        invariant: INVARIANT.bankMatches,
        ...where,
        message: `record ${k}: the card signed a ${kind}, the bank settled it as "${b.kind}"`,
        expected: kind,
        actual: b.kind,
      });
    if (q.status === 'rejected' || q.status === 'held')
      findings.push({
        invariant: INVARIANT.bankMatches,
        ...where,
        message: `record ${k} is "${q.status}" in the queue, yet the bank settled it`,
        expected: 'not at the bank',
        actual: 'settled at the bank',
      });
  }
  for (const q of ev.queue) {
    const k = key(q.cardId, q.counter);
    const where = { card: q.cardId, counter: q.counter };
    if (AT_BANK.has(q.status) && !bankRows.has(k))
      findings.push({
        invariant: INVARIANT.settledAtBank,
        ...where,
        message: `record ${k} is "${q.status}" in the queue, but the bank's ledger has no such row`,
        expected: 'a bank row',
        actual: 'none',
      });
    // A revoked card's records may end rejected: the bank refuses them on purpose.
    const rejectedOnPurpose = q.status === 'rejected' && ev.revoked.includes(q.cardId);
    if (requireSettled && !AT_BANK.has(q.status) && !rejectedOnPurpose)
      findings.push({
        invariant: INVARIANT.allSettled,
        ...where,
        message: `record ${k} is still "${q.status}" after the final settle`,
        expected: 'settled',
        actual: q.status,
      });
  }
  if (requireSettled && ev.unsettledCount !== 0)
    findings.push({
      invariant: INVARIANT.allSettled,
      message: `the queue still counts ${ev.unsettledCount} unsettled records after the final settle`,
      expected: 0,
      actual: ev.unsettledCount,
    });
  return findings;
}
