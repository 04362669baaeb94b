/** One broken money invariant: which, in words, and the two figures that disagree. */
export interface InvariantFinding {
  invariant: string;
  message: string;
  expected?: unknown;
  actual?: unknown;
  /** The card (hex id) and record counter it is about, when it is about one. */
  card?: string;
  counter?: number;
}

/** The invariants' names, as findings carry them (docs/qa.md). */
export const INVARIANT = {
  /** Every record a card signed is in the daemon's queue: no gap. */
  stored: 'record-stored',
  /** No (card, counter) twice in the queue. */
  once: 'record-once',
  /** The queue holds nothing the card never signed. */
  signed: 'record-signed',
  /** The queue and its signed export say the same; each envelope decodes and continues its card's hash chain. */
  export: 'queue-export-agree',
  chain: 'record-chain',
  /** Bank rows unique per (card, counter), each equal to the queue's record. */
  settledOnce: 'settled-once',
  bankMatches: 'bank-matches-queue',
  /** A record the queue calls settled is at the bank. */
  settledAtBank: 'settled-at-bank',
  /** requireSettled: nothing pending, every record settled. */
  allSettled: 'all-settled',
  /** previous balanceAfter − amount (+ amount for a reversal) = balanceAfter: no money vanishes. */
  balanceChain: 'balance-chain',
  /** The card's balance now is its newest record's balanceAfter plus what was loaded since. */
  balanceNow: 'balance-now',
  /** Money that appeared on a card outside its records equals what the daemon loaded onto it. */
  balanceLoads: 'balance-loads',
} as const;
