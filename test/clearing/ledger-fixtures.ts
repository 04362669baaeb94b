/**
 * Verified records and batches for the clearing-ledger suites. The ledger takes records that a
 * verifier has already checked, so these are plain data: hashes are SHA-256 of a label, chains link
 * by prevHash, and no card or signature is needed.
 */
import { createHash } from 'node:crypto';
import type { BatchItem, BatchToSettle, VerifiedRecord } from '../../host/clearing/ledger.js';

export const T1 = 'T-01';
export const T2 = 'T-02';
/** 2026-12-01T00:00:00Z */
export const NOW = 1_796_083_200;
export const WINDOW = 30 * 86400;
export const ZERO = new Uint8Array(32);

const sha = (s: string): Uint8Array => new Uint8Array(createHash('sha256').update(s).digest());

/** A distinct card id per label: 16 lowercase hex digits. */
export const cardOf = (label: string): string => Buffer.from(sha(`card ${label}`).slice(0, 8)).toString('hex');

export function record(
  cardId: string,
  counter: number,
  prevHash: Uint8Array,
  over: Partial<VerifiedRecord> & { variant?: string } = {},
): VerifiedRecord {
  const { variant = '', ...rest } = over;
  const hash = sha(`${cardId}:${counter}:${variant}:${Buffer.from(prevHash).toString('hex')}:${rest.amount ?? 100}`);
  return {
    cardId,
    counter,
    envelope: new TextEncoder().encode(`envelope ${cardId}:${counter}${variant}`),
    hash,
    prevHash,
    amount: 100,
    currency: 156,
    merchantId: 'M-canteen',
    terminalId: T1,
    time: NOW - 3600,
    ...rest,
  };
}

/** Records 1…n of one card, each linking to the one before. */
export function chain(cardId: string, n: number, over: Partial<VerifiedRecord> = {}): VerifiedRecord[] {
  const out: VerifiedRecord[] = [];
  let prev: Uint8Array = ZERO;
  for (let c = 1; c <= n; c++) {
    const r = record(cardId, c, prev, over);
    out.push(r);
    prev = r.hash;
  }
  return out;
}

let batchSeq = 0;
/** A fresh 32-hex batch id. */
export const newBatchId = (): string =>
  Buffer.from(sha(`batch ${++batchSeq} ${process.pid} ${Math.random()}`).slice(0, 16)).toString('hex');

export function batch(
  records: readonly (VerifiedRecord | BatchItem)[],
  over: Partial<BatchToSettle> & { body?: string } = {},
): BatchToSettle {
  const { body, ...rest } = over;
  const items: BatchItem[] = records.map((r, index) => ('index' in r ? r : { index, record: r as VerifiedRecord }));
  const batchId = rest.batchId ?? newBatchId();
  const bodyText =
    body ??
    `${batchId}|${items.map((i) => ('record' in i ? Buffer.from(i.record.hash).toString('hex') : 'x')).join(',')}`;
  return {
    terminalId: T1,
    batchId,
    bodyHash: sha(bodyText),
    items,
    now: NOW,
    windowSeconds: WINDOW,
    ...rest,
  };
}

/** A pause point a test opens when it wants: `arrived` resolves when the batch is held there. */
export function gate(): { arrived: Promise<void>; open: () => void; hold: () => Promise<void> } {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const arrived = new Promise<void>((r) => (reached = r));
  return {
    arrived,
    open,
    hold: async () => {
      reached();
      await opened;
    },
  };
}
