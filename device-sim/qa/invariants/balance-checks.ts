import type { CardEvidence, Evidence, LoadEntry, QueueEntry } from './evidence.js';
import { INVARIANT, type InvariantFinding } from './finding.js';

/**
 * Each card's money adds up. Records carry the balance the card signed after each one, so walking a
 * card's records from its personalised balance shows every step: a sale takes its amount, a reversal
 * (a void) gives its sale's amount back, and anything else that raised the balance between two records
 * (or since the newest) can only be a LOAD — a top-up or refund the daemon carried. Nothing may vanish,
 * and what appeared must equal what was loaded.
 */

/** Can `target` be made of some of `amounts`? (LOADs whose answer was lost may or may not have happened.) */
function subsetSum(amounts: number[], target: number): boolean {
  if (target === 0) return true;
  if (amounts.length > 16) return target > 0 && target <= amounts.reduce((a, b) => a + b, 0);
  const sums = new Set([0]);
  for (const a of amounts) for (const s of [...sums]) sums.add(s + a);
  return sums.has(target);
}

interface Step {
  counter: number;
  balance: number;
  amount: number;
}

function loadsOf(card: CardEvidence, all: Evidence): { loaded: number; uncertain: number[]; ambiguous: boolean } {
  const last4 = card.cardId.slice(-4);
  // Top-ups name a card by its last 4 digits only: two run cards sharing them cannot be told apart.
  const ambiguous = all.cards.filter((c) => c.cardId.slice(-4) === last4).length > 1;
  const mine: LoadEntry[] = all.loads.filter((l) => l.cardLast4 === last4);
  if (ambiguous) return { loaded: 0, uncertain: mine.map((l) => l.amount), ambiguous };
  return {
    loaded: mine.filter((l) => l.state === 'loaded').reduce((a, l) => a + l.amount, 0),
    uncertain: mine.filter((l) => l.state === 'uncertain').map((l) => l.amount),
    ambiguous,
  };
}

export function checkBalances(ev: Evidence): InvariantFinding[] {
  const findings: InvariantFinding[] = [];
  const kinds = new Map(ev.exported.flatMap((e) => (e.decoded ? [[e.recordId, e.kind] as const] : [])));
  for (const card of ev.cards) {
    const records = new Map<number, QueueEntry>();
    for (const q of ev.queue) if (q.cardId === card.cardId && !records.has(q.counter)) records.set(q.counter, q);
    const sorted = [...records.values()].sort((a, b) => a.counter - b.counter);
    const appeared: { after: number; amount: number }[] = [];
    // A missing record (found by record-stored) hides what happened across it: the loads sum is then unknowable.
    let complete = true;
    let prev: Step = { counter: 0, balance: card.initialBalance, amount: 0 };
    for (const r of sorted) {
      if (r.counter !== prev.counter + 1) {
        complete = false;
        prev = { counter: r.counter, balance: r.balanceAfter, amount: r.amount };
        continue;
      }
      const reversal = kinds.get(r.recordId) === 'reversal';
      if (reversal && r.amount !== prev.amount)
        findings.push({
          invariant: INVARIANT.balanceChain,
          card: card.cardId,
          counter: r.counter,
          message: `card ${card.cardId} record ${r.counter} is a reversal giving back ${r.amount}, but the sale it voids (counter ${prev.counter}) was ${prev.amount}`,
          expected: prev.amount,
          actual: r.amount,
        });
      const expected = reversal ? prev.balance + r.amount : prev.balance - r.amount;
      const what = reversal ? `+ reversal ${r.amount}` : `− amount ${r.amount}`;
      if (r.balanceAfter < expected)
        findings.push({
          invariant: INVARIANT.balanceChain,
          card: card.cardId,
          counter: r.counter,
          message: `card ${card.cardId} record ${r.counter}: money vanished — the previous balance ${prev.balance} ${what} is ${expected}, the card signed balanceAfter ${r.balanceAfter}`,
          expected,
          actual: r.balanceAfter,
        });
      else if (r.balanceAfter > expected) appeared.push({ after: prev.counter, amount: r.balanceAfter - expected });
      prev = { counter: r.counter, balance: r.balanceAfter, amount: r.amount };
    }
    if (prev.counter !== card.counter) complete = false;
    else if (card.balance < prev.balance)
      findings.push({
        invariant: INVARIANT.balanceNow,
        card: card.cardId,
        counter: card.counter,
        message: `card ${card.cardId} (${card.name}) holds ${card.balance}, less than its newest record's balanceAfter ${prev.balance} (counter ${prev.counter})`,
        expected: prev.balance,
        actual: card.balance,
      });
    else if (card.balance > prev.balance) appeared.push({ after: prev.counter, amount: card.balance - prev.balance });
    if (!complete) continue;
    const rose = appeared.reduce((a, x) => a + x.amount, 0);
    const loads = loadsOf(card, ev);
    if (!subsetSum(loads.uncertain, rose - loads.loaded))
      findings.push({
        invariant: INVARIANT.balanceLoads,
        card: card.cardId,
        counter: appeared[0]?.after ?? prev.counter,
        message:
          `card ${card.cardId} (${card.name}): its balance rose by ${rose} outside its records` +
          (appeared.length
            ? ` (after counter${appeared.length > 1 ? 's' : ''} ${appeared.map((a) => a.after).join(', ')})`
            : '') +
          `, but the daemon loaded ${loads.loaded} onto it` +
          (loads.uncertain.length ? ` (and ${loads.uncertain.join(', ')} may have been loaded)` : ''),
        expected: loads.loaded,
        actual: rose,
      });
  }
  return findings;
}
