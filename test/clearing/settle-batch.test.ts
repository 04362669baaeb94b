/**
 * The order of work inside a batch's transaction (docs/clearing.md §1), seen through a recording
 * LedgerTx: the idempotency row before anything else, the cards locked once, sorted, before any
 * record is read, the answer stored last. Both backends run this same code.
 */
import assert from 'node:assert/strict';
import type { LedgerTx } from '../../host/clearing/settle-batch.js';
import { settleInTransaction } from '../../host/clearing/settle-batch.js';
import { ZERO, batch, cardOf, record } from './ledger-fixtures.js';

function recordingTx(): { tx: LedgerTx; calls: { op: string; args: unknown[] }[] } {
  const calls: { op: string; args: unknown[] }[] = [];
  const answers: Partial<Record<keyof LedgerTx, unknown>> = {
    claimKey: undefined,
    neighbourhood: new Map(),
    settledRecord: undefined,
    revocation: undefined,
    revoke: true,
  };
  const tx = new Proxy({} as LedgerTx, {
    get:
      (_t, op: string) =>
      async (...args: unknown[]) => {
        calls.push({ op, args });
        return answers[op as keyof LedgerTx];
      },
  });
  return { tx, calls };
}

describe('clearing: the order of work in a batch transaction', () => {
  it('claims the key first, locks the cards once in card-id order, then reads records, and stores the answer last', async () => {
    // three cards, met in the batch in descending card-id order
    const [x, y, z] = ['zz', 'aa', 'mm'].map(cardOf).sort().reverse() as [string, string, string];
    const { tx, calls } = recordingTx();
    await settleInTransaction(
      tx,
      batch([record(x, 1, ZERO), record(y, 1, ZERO), record(x, 2, ZERO), record(z, 1, ZERO)]),
    );
    const ops = calls.map((c) => c.op);
    assert.equal(ops[0], 'claimKey');
    assert.equal(ops[1], 'lockCards');
    assert.equal(ops.filter((o) => o === 'lockCards').length, 1);
    assert.deepEqual(calls[1]!.args[0], [z, y, x]);
    assert.equal(ops.at(-1), 'storeAnswer');
    assert.ok(ops.indexOf('neighbourhood') > 1);
  });

  it('does nothing but read the key when the batch was settled before', async () => {
    const calls: string[] = [];
    const b = batch([record(cardOf('replayed'), 1, ZERO)]);
    const tx = new Proxy({} as LedgerTx, {
      get: (_t, op: string) => async () => {
        calls.push(op);
        return op === 'claimKey' ? { bodyHash: b.bodyHash, answer: 'stored', settledAt: 1 } : undefined;
      },
    });
    const out = await settleInTransaction(tx, b);
    assert.deepEqual(out, { kind: 'replayed', answer: 'stored' });
    assert.deepEqual(calls, ['claimKey']);
  });
});
