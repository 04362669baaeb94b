import { strict as assert } from 'node:assert';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { signTxnRecord, ZERO_HASH, CVM, type SignedTxnRecord } from '../../protocol/record/index.js';
import { checkInvariants, INVARIANT, type InvariantFinding } from '../../device-sim/qa/invariants.js';
import type { QaCard, QaStack } from '../../device-sim/qa/qa-types.js';

/**
 * checkInvariants against a small fake stack: cards whose state is given, a daemon whose queue, export
 * and top-up lists are canned, a bank whose ledger is a list. A consistent world passes; each invariant
 * broken on purpose is found and named, with the card and counter.
 */

interface FakeRecord {
  cardId: string;
  counter: number;
  amount: number;
  balanceAfter: number;
  reverses?: number;
  status: string;
  envelope: Uint8Array;
  signed: SignedTxnRecord;
}

interface World {
  cards: { name: string; cardId: string; counter: number; balance: number; initial: string }[];
  queue: FakeRecord[];
  /** Records in the export (default: the queue's). */
  exported?: FakeRecord[];
  bank: { cardId: string; counter: number; amount: number; kind: string }[];
  topups: { topupId: string; card: string; amount: number; state: string }[];
  revoked: string[];
}

const key = { algorithm: 'sm2-sm3' as const, ...generateKeyPair('sm2-sm3') };
const CARD_A = '8f2a0c11d3e45b70';
const CARD_B = '0011223344556677';

/** A card's chain of genuinely signed records: [amount, kind] in order, from `initial`, with loads between. */
function chain(cardId: string, initial: number, steps: ({ sale: number } | { reversal: number } | { load: number })[]) {
  const out: FakeRecord[] = [];
  let balance = initial;
  let prev: SignedTxnRecord | undefined;
  for (const s of steps) {
    if ('load' in s) {
      balance += s.load;
      continue;
    }
    const counter = (prev?.counter ?? 0) + 1;
    const reversal = 'reversal' in s;
    const amount = reversal ? s.reversal : s.sale;
    balance += reversal ? amount : -amount;
    const signed = signTxnRecord(key.algorithm, key.privateKey, {
      cardId: fromHex(cardId),
      counter,
      amount,
      currency: 156,
      merchantId: 'M-1',
      terminalId: 'T-1',
      time: 1_790_000_000 + counter,
      hostNonce: new Uint8Array(16).fill(counter),
      balanceAfter: balance,
      prevHash: prev?.hash ?? ZERO_HASH,
      algorithm: SIGNATURE_ALGORITHM_CODES['sm2-sm3'],
      cvm: CVM.NONE,
      ...(reversal ? { reverses: counter - 1 } : {}),
    });
    out.push({
      cardId,
      counter,
      amount,
      balanceAfter: balance,
      ...(reversal ? { reverses: counter - 1 } : {}),
      status: 'settled',
      envelope: signed.envelope,
      signed,
    });
    prev = signed;
  }
  return { records: out, balance };
}

/** Card A: two sales, a void of the second, a top-up of 50.00, a sale. Card B: one sale. All settled. */
function consistentWorld(): World {
  const a = chain(CARD_A, 50_000, [{ sale: 1000 }, { sale: 2000 }, { reversal: 2000 }, { load: 5000 }, { sale: 500 }]);
  const b = chain(CARD_B, 20_000, [{ sale: 300 }]);
  const queue = [...a.records, ...b.records];
  return {
    cards: [
      { name: 'alice', cardId: CARD_A, counter: 4, balance: a.balance, initial: '500.00' },
      { name: 'bob', cardId: CARD_B, counter: 1, balance: b.balance, initial: '200.00' },
    ],
    queue,
    bank: queue.map((r) => ({
      cardId: r.cardId,
      counter: r.counter,
      amount: r.amount,
      kind: r.reverses ? 'reversal' : 'sale',
    })),
    topups: [{ topupId: 't1', card: '••5b70', amount: 5000, state: 'loaded' }],
    revoked: [],
  };
}

function fakeStack(w: World): QaStack {
  const cards = new Map<string, QaCard>(
    w.cards.map((c) => [
      c.name,
      {
        name: c.name,
        cardId: c.cardId,
        puk: '00000000',
        spec: { id: c.name, balance: c.initial, pin: '1234', t0: false },
        card: undefined as never,
        state: () => ({
          cardId: c.cardId,
          balance: c.balance,
          counter: c.counter,
          pinTriesLeft: 3,
          lifecycle: 'active',
        }),
      },
    ]),
  );
  const queued = (r: FakeRecord, i: number) => ({
    seq: i + 1,
    recordId: `${r.cardId}:${r.counter}`,
    cardId: r.cardId,
    counter: r.counter,
    amount: r.amount,
    balanceAfter: r.balanceAfter,
    status: r.status,
    storedAt: Date.parse('2026-12-06T10:00:00Z') + i,
  });
  const api = async <T>(method: string, path: string): Promise<{ status: number; body: T }> => {
    assert.equal(method, 'GET');
    const url = new URL(path, 'http://x');
    let body: unknown;
    if (url.pathname === '/api/v1/queue') {
      // Two pages of at most 3, as the daemon pages with `after`.
      const after = Number(url.searchParams.get('after') ?? 0);
      const all = w.queue.map(queued);
      const page = all.filter((q) => q.seq > after).slice(0, 3);
      const unsettled = w.queue.filter((r) => r.status === 'pending' || r.status === 'sending').length;
      body = {
        summary: { counts: {}, unsettled: { count: unsettled } },
        records: page,
        next: page.at(-1)?.seq ?? null,
      };
    } else if (url.pathname === '/api/v1/queue/export') {
      body = {
        encoding: 'base64url',
        records: (w.exported ?? w.queue).map((r) => ({
          recordId: `${r.cardId}:${r.counter}`,
          status: r.status,
          envelope: Buffer.from(r.envelope).toString('base64url'),
        })),
      };
    } else if (url.pathname === '/api/v1/topups') {
      const date = url.searchParams.get('date') ?? '2026-12-06';
      body = { date, topups: date === '2026-12-06' ? w.topups : [] };
    } else return { status: 404, body: { error: { code: 'NOT_FOUND' } } as T };
    return { status: 200, body: body as T };
  };
  return {
    dir: '/nonexistent',
    cards,
    readers: new Map(),
    bank: { url: '', setFaults: () => {}, settled: () => w.bank.map((b) => ({ ...b })), revokedCards: () => w.revoked },
    daemon: { api, events: [], logLines: [] } as unknown as QaStack['daemon'],
    receipts: () => [],
    screenshot: async () => new Uint8Array(),
    timeline: [],
    close: async () => {},
  };
}

const names = (fs: InvariantFinding[]) => [...new Set(fs.map((f) => f.invariant))].sort();

async function brokenBy(mutate: (w: World) => void, requireSettled = false): Promise<InvariantFinding[]> {
  const w = consistentWorld();
  mutate(w);
  return checkInvariants(fakeStack(w), { requireSettled });
}

describe('qa invariants: checkInvariants on a fake stack', () => {
  it('a consistent world (sales, a void, a top-up, all settled) holds every invariant, also with requireSettled', async () => {
    assert.deepEqual(await checkInvariants(fakeStack(consistentWorld()), { requireSettled: true }), []);
  });

  it('a signed record missing from the queue: record-stored, naming the card and the counter', async () => {
    const fs = await brokenBy((w) => {
      w.queue = w.queue.filter((r) => !(r.cardId === CARD_A && r.counter === 2));
      w.bank = w.bank.filter((r) => !(r.cardId === CARD_A && r.counter === 2));
    });
    const f = fs.find((x) => x.invariant === INVARIANT.stored);
    assert.ok(f, JSON.stringify(fs));
    assert.equal(f.card, CARD_A);
    assert.equal(f.counter, 2);
    assert.match(f.message, new RegExp(`card ${CARD_A} \\(alice\\) signed counter 2 `));
  });

  it('a card ahead of the queue (a sale signed, never stored): record-stored for the tail', async () => {
    const fs = await brokenBy((w) => {
      w.cards[1]!.counter = 3;
    });
    const f = fs.find((x) => x.invariant === INVARIANT.stored);
    assert.equal(f?.card, CARD_B);
    assert.match(f!.message, /counters 2–3/);
  });

  it('a record twice in the queue: record-once', async () => {
    const fs = await brokenBy((w) => w.queue.push(w.queue[0]!));
    assert.ok(names(fs).includes(INVARIANT.once), JSON.stringify(fs));
    assert.equal(fs.find((f) => f.invariant === INVARIANT.once)!.actual, 2);
  });

  it('a record beyond the card counter: record-signed', async () => {
    const fs = await brokenBy((w) => {
      w.cards[0]!.counter = 3;
    });
    const f = fs.find((x) => x.invariant === INVARIANT.signed);
    assert.equal(f?.counter, 4);
    assert.deepEqual(f?.expected, { maxCounter: 3 });
  });

  it('the queue says another amount than the envelope the card signed: queue-export-agree', async () => {
    const fs = await brokenBy((w) => {
      w.exported = [...w.queue];
      w.queue[0] = { ...w.queue[0]!, amount: 999 };
    });
    const f = fs.find((x) => x.invariant === INVARIANT.export);
    assert.equal(f?.expected, 1000);
    assert.equal(f?.actual, 999);
  });

  it('a record that does not continue its card chain: record-chain', async () => {
    const fork = chain(CARD_A, 50_000, [{ sale: 1000 }, { sale: 7 }]).records[1]!; // another record 2, whose prevHash is the hash of another record 1
    const other = signTxnRecord(key.algorithm, key.privateKey, {
      ...fork.signed,
      counter: 2,
      prevHash: new Uint8Array(32).fill(9),
    });
    const fs = await brokenBy((w) => {
      const i = w.queue.findIndex((r) => r.cardId === CARD_A && r.counter === 2);
      w.queue[i] = { ...w.queue[i]!, envelope: other.envelope, amount: 7, balanceAfter: fork.balanceAfter };
    });
    const f = fs.find((x) => x.invariant === INVARIANT.chain);
    assert.equal(f?.counter, 2);
    assert.equal(f?.actual, toHex(other.prevHash));
  });

  it('a record settled twice at the bank: settled-once', async () => {
    const fs = await brokenBy((w) => w.bank.push({ ...w.bank[1]! }));
    const f = fs.find((x) => x.invariant === INVARIANT.settledOnce);
    assert.equal(f?.card, CARD_A);
    assert.equal(f?.counter, 2);
    assert.equal(f?.actual, 2);
  });

  it('the bank settled another amount than the queue holds: bank-matches-queue', async () => {
    const fs = await brokenBy((w) => {
      w.bank[0]!.amount = 1001;
    });
    const f = fs.find((x) => x.invariant === INVARIANT.bankMatches);
    assert.deepEqual([f?.expected, f?.actual], [1000, 1001]);
  });

  it('a reversal settled as a sale: bank-matches-queue', async () => {
    const fs = await brokenBy((w) => {
      w.bank[2]!.kind = 'sale';
    });
    assert.ok(
      fs.some((f) => f.invariant === INVARIANT.bankMatches && f.expected === 'reversal'),
      JSON.stringify(fs),
    );
  });

  it('a record the queue calls settled that the bank never saw: settled-at-bank', async () => {
    const fs = await brokenBy((w) => {
      w.bank = w.bank.filter((r) => r.cardId !== CARD_B);
    });
    assert.deepEqual(names(fs), [INVARIANT.settledAtBank]);
  });

  it('a pending record is found only with requireSettled: all-settled', async () => {
    const pending = (w: World) => {
      w.queue[4]!.status = 'pending';
      w.bank = w.bank.filter((r) => r.cardId !== CARD_B);
    };
    assert.deepEqual(await brokenBy(pending), []);
    const fs = await brokenBy(pending, true);
    assert.deepEqual(names(fs), [INVARIANT.allSettled]);
    assert.ok(fs.some((f) => f.card === CARD_B && f.actual === 'pending'));
    assert.ok(fs.some((f) => f.actual === 1 && /1 unsettled/.test(f.message)));
  });

  it('a revoked card’s rejected record is not an unsettled one', async () => {
    const fs = await brokenBy((w) => {
      w.queue[4]!.status = 'rejected';
      w.bank = w.bank.filter((r) => r.cardId !== CARD_B);
      w.revoked = [CARD_B];
    }, true);
    assert.deepEqual(fs, []);
  });

  it('money vanishing between two records: balance-chain with both figures', async () => {
    const a = chain(CARD_A, 50_000, [
      { sale: 1000 },
      { sale: 2000 },
      { reversal: 2000 },
      { load: 5000 },
      { sale: 500 },
    ]);
    const fs = await brokenBy((w) => {
      // Record 2 says 47 000 − … : re-signed with 100 less than 49 000 − 2 000.
      const r2 = a.records[1]!;
      const bad = signTxnRecord(key.algorithm, key.privateKey, { ...r2.signed, balanceAfter: 46_900 });
      w.queue[1] = { ...w.queue[1]!, envelope: bad.envelope, balanceAfter: 46_900 };
    });
    const f = fs.find((x) => x.invariant === INVARIANT.balanceChain);
    assert.ok(f, JSON.stringify(fs));
    assert.deepEqual([f.card, f.counter, f.expected, f.actual], [CARD_A, 2, 47_000, 46_900]);
  });

  it('a card holding less than its newest record says: balance-now', async () => {
    const fs = await brokenBy((w) => {
      w.cards[1]!.balance -= 1;
    });
    const f = fs.find((x) => x.invariant === INVARIANT.balanceNow);
    assert.deepEqual([f?.card, f?.expected, f?.actual], [CARD_B, 19_700, 19_699]);
  });

  it('money appearing on a card with no load behind it: balance-loads', async () => {
    const fs = await brokenBy((w) => {
      w.topups = [];
    });
    assert.deepEqual(names(fs), [INVARIANT.balanceLoads]);
    const f = fs[0]!;
    assert.deepEqual([f.card, f.expected, f.actual], [CARD_A, 0, 5000]);
    assert.match(f.message, /rose by 5000 .*after counter 3/);
  });

  it('a load whose answer was lost (token stored) may or may not be on the card', async () => {
    const uncertain = (w: World) => {
      w.topups = [{ topupId: 't1', card: '••5b70', amount: 5000, state: 'token_stored' }];
    };
    assert.deepEqual(await brokenBy(uncertain), []);
    const fs = await brokenBy((w) => {
      uncertain(w);
      w.cards[0]!.balance += 5000;
    });
    assert.deepEqual(names(fs), [INVARIANT.balanceLoads]);
  });

  it('a daemon that does not answer is QA_INVARIANTS_UNREADABLE, not a finding', async () => {
    const stack = fakeStack(consistentWorld());
    (stack.daemon as { api: unknown }).api = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    await assert.rejects(checkInvariants(stack), (e: { code?: string }) => e.code === 'QA_INVARIANTS_UNREADABLE');
  });
});
