/**
 * The seeded workload of the clearing model test: terminals with batches of genuinely signed records,
 * and the misbehaviour a clearing service meets, injected at seeded rates: a record sent again in a
 * later batch (duplicate), a cloned card signing another record at a counter already used (double
 * spend, sent through another terminal so the two race at different API processes), a record whose
 * prevHash is off its card's chain (fork), and answers the terminal never hears (dropped: it sends
 * the same batch id again). Same seed, same records; only their interleaving varies between runs.
 */
import { randomBytes } from 'node:crypto';
import type { SignedTxnRecord, SigningKey } from '../../../protocol/record/index.js';
import { ForgedCard } from '../../support/record-forge.js';
import { Prng } from '../../support/prng.js';

export interface ModelBatch {
  batchId: string;
  records: SignedTxnRecord[];
  /** Certificates of the batch's cards (the first batch of a card at a terminal carries it). */
  certificates: Uint8Array[];
  /** How many times the terminal loses the answer before it listens to one (0 = hears the first). */
  dropAnswers: number;
}

export interface ModelTerminal {
  id: string;
  batches: ModelBatch[];
}

export interface Workload {
  terminals: ModelTerminal[];
  /** Cards that signed two different records at one counter (each such pair reaches two terminals). */
  doubleSpentCards: Set<string>;
  injected: { duplicates: number; doubleSpends: number; forks: number; droppedAnswers: number };
}

export interface WorkloadShape {
  seed: number;
  terminals: number;
  batchesPerTerminal: number;
  recordsPerBatch: number;
  cards: number;
  rates: { duplicate: number; doubleSpend: number; fork: number; dropAnswer: number };
}

const terminalName = (i: number): string => `MT-${String(i).padStart(3, '0')}`;

export function terminalIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => terminalName(i));
}

export function buildWorkload(ca: SigningKey, s: WorkloadShape): Workload {
  const rng = new Prng(s.seed);
  const chance = (p: number): boolean => rng.next() / 2 ** 32 < p;
  const cards = Array.from({ length: s.cards }, (_, i) =>
    ForgedCard.issue(ca, { cardId: Uint8Array.from(randomBytes(8)), serial: 0x1000 + i }),
  );
  const byId = new Map(cards.map((c) => [c.cardId, c]));
  const cardOf = (r: SignedTxnRecord): ForgedCard => byId.get(Buffer.from(r.cardId).toString('hex'))!;
  const ids = terminalIds(s.terminals);
  const terminals: ModelTerminal[] = ids.map((id) => ({ id, batches: [] }));
  const sentBy = new Map<string, SignedTxnRecord[]>(ids.map((id) => [id, []]));
  const certSent = new Set<string>();
  const injected = { duplicates: 0, doubleSpends: 0, forks: 0, droppedAnswers: 0 };
  const doubleSpentCards = new Set<string>();
  // Deferred records: a clone waits for another terminal's next batch.
  const inbox = new Map<string, SignedTxnRecord[]>(ids.map((id) => [id, []]));

  for (let round = 0; round < s.batchesPerTerminal; round++) {
    for (const t of terminals) {
      const records: SignedTxnRecord[] = [...inbox.get(t.id)!.splice(0)];
      const certificates: Uint8Array[] = [];
      while (records.length < s.recordsPerBatch) {
        const card = cards[rng.int(cards.length)]!;
        const amount = 1 + rng.int(5000);
        const earlier = sentBy.get(t.id)!;
        let rec: SignedTxnRecord;
        if (earlier.length > 0 && chance(s.rates.duplicate)) {
          rec = earlier[rng.int(earlier.length)]!; // the same bytes again, in a later batch
          injected.duplicates++;
        } else if (card.lastCounter > 1 && chance(s.rates.fork)) {
          // a branch off a stale head: the next counter, chained to a hash that is not the head's
          rec = card.signAt(card.lastCounter + 1, Uint8Array.from(randomBytes(32)), { terminalId: t.id, amount });
          injected.forks++;
        } else {
          rec = card.sign({ terminalId: t.id, amount, merchantId: `M-${t.id}` });
          if (chance(s.rates.doubleSpend)) {
            // the cloned card pays elsewhere with the same counter: another terminal, another merchant
            const other = ids[(ids.indexOf(t.id) + 1 + rng.int(ids.length - 1)) % ids.length]!;
            const clone = card.signAt(rec.counter, rec.prevHash, {
              terminalId: other,
              amount: 1 + rng.int(5000),
              merchantId: `M-clone`,
            });
            inbox.get(other)!.push(clone); // its certificate goes with that batch (below)
            doubleSpentCards.add(card.cardId);
            injected.doubleSpends++;
          }
        }
        records.push(rec);
        earlier.push(rec);
      }
      for (const r of records) {
        const card = cardOf(r);
        const k = `${t.id}:${card.cardId}`;
        if (!certificates.includes(card.certificate.envelope)) {
          if (!certSent.has(k) || rng.int(4) === 0) certificates.push(card.certificate.envelope);
          certSent.add(k);
        }
      }
      let dropAnswers = 0;
      while (dropAnswers < 2 && chance(s.rates.dropAnswer)) dropAnswers++;
      injected.droppedAnswers += dropAnswers;
      t.batches.push({ batchId: randomBytes(16).toString('hex'), records, certificates, dropAnswers });
    }
  }
  // clones still waiting: one last batch each
  for (const t of terminals) {
    const left = inbox.get(t.id)!.splice(0);
    if (left.length === 0) continue;
    const certificates = [...new Set(left.map((r) => cardOf(r).certificate.envelope))];
    t.batches.push({ batchId: randomBytes(16).toString('hex'), records: left, certificates, dropAnswers: 0 });
  }
  return { terminals, doubleSpentCards, injected };
}
