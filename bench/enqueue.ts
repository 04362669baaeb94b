/**
 * Durable enqueue (issue 4, Performance): records/s of HostStore.storeRecord — the call a sale
 * makes before its receipt, one transaction committed with fsync (WAL, synchronous=FULL) per
 * record — against the floor of the same disk: the record's envelope bytes appended to a file with
 * fs.writeSync + fs.fdatasyncSync, one sync per record. Target: ≥ 0.8× of the raw rate.
 *
 * Both write in one directory on the repo's device. Interleaved rounds (median reported) so
 * background load on a shared machine hits both alike. Records are signed beforehand (SM2, proper
 * chains), so only the store is timed.
 *
 *   node --import tsx bench/enqueue.ts [records per round and contender, default 1000] [rounds, default 7]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateKeyPair } from '../protocol/crypto/index.js';
import { CVM, ZERO_HASH, signTxnRecord, type SignedTxnRecord } from '../protocol/record/index.js';
import { toHex } from '../protocol/bytes.js';
import { HostStore } from '../host/store/host-store.js';

const perRound = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 7);
const CARDS = 4;

const REPO = fileURLToPath(new URL('..', import.meta.url));
const base = statSync(tmpdir()).dev === statSync(REPO).dev ? tmpdir() : join(REPO, 'test-artifacts');
mkdirSync(base, { recursive: true });
const dir = mkdtempSync(join(base, 'cardpost-bench-enqueue-'));
const dev = statSync(dir).dev;
const df = spawnSync('df', ['-PT', dir], { encoding: 'utf8' }).stdout.trim().split('\n').at(-1)?.split(/\s+/) ?? [];
console.log(
  `Durable enqueue: ${perRound} records per round and contender, ${rounds} interleaved rounds, median; node ${process.version}`,
);
console.log(
  `directory ${dir} on ${df[0] ?? '?'} (${df[1] ?? '?'}, mounted at ${df[6] ?? '?'}; st_dev ${dev}, same device as the repo: ${dev === statSync(REPO).dev})`,
);

// ---- records, signed up front (their chains continue from round to round)
const now = Math.floor(Date.now() / 1000);
const cards = Array.from({ length: CARDS }, (_, i) => ({
  key: generateKeyPair('sm2-sm3'),
  cardId: Uint8Array.from([0xe0, 0, 0, 0, 0, 0, 0, i]),
  counter: 0,
  hash: ZERO_HASH as Uint8Array,
  balance: 1e9,
}));
const total = perRound * rounds;
const records: SignedTxnRecord[] = [];
for (let i = 0; i < total; i++) {
  const c = cards[i % CARDS]!;
  const nonce = new Uint8Array(16);
  new DataView(nonce.buffer).setUint32(0, i);
  const r = signTxnRecord('sm2-sm3', c.key.privateKey, {
    cardId: c.cardId,
    counter: c.counter + 1,
    amount: 1250,
    currency: 156,
    merchantId: 'M-BENCH',
    terminalId: 'T-BENCH-01',
    time: now,
    hostNonce: nonce,
    balanceAfter: c.balance - 1250,
    prevHash: c.hash,
    algorithm: 1,
    cvm: CVM.NONE,
  });
  c.counter = r.counter;
  c.hash = r.hash;
  c.balance -= 1250;
  records.push(r);
}
const avgBytes = records.reduce((n, r) => n + r.envelope.length, 0) / records.length;

const store = HostStore.open(join(dir, 'queue.sqlite'));
// Diagnostic only: the same SQL with synchronous=OFF shows what the commit costs without its sync.
const unsynced = HostStore.open(join(dir, 'unsynced.sqlite'));
unsynced.db.pragma('synchronous = OFF');
for (const s of [store, unsynced])
  for (const c of cards) s.observeCard(toHex(c.cardId), 0, ZERO_HASH, new Uint8Array(64));
const fd = openSync(join(dir, 'raw.log'), 'a');

const storeRates: number[] = [];
const rawRates: number[] = [];
const unsyncedRates: number[] = [];
let next = 0;
for (let round = 0; round < rounds; round++) {
  const batch = records.slice(next, next + perRound);
  next += perRound;

  let t0 = performance.now();
  for (const r of batch) store.storeRecord(r, { origin: 'sale' });
  storeRates.push(batch.length / ((performance.now() - t0) / 1000));

  t0 = performance.now();
  for (const r of batch) {
    writeSync(fd, r.envelope);
    fdatasyncSync(fd);
  }
  rawRates.push(batch.length / ((performance.now() - t0) / 1000));

  t0 = performance.now();
  for (const r of batch) unsynced.storeRecord(r, { origin: 'sale' });
  unsyncedRates.push(batch.length / ((performance.now() - t0) / 1000));
}
closeSync(fd);
const stored = store.unsettled().count;
store.close();
unsynced.close();
rmSync(dir, { recursive: true, force: true });
if (stored !== total) throw new Error(`bench: ${stored} records stored, expected ${total}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = median(storeRates);
const w = median(rawRates);
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
console.log(
  `HostStore.storeRecord (one fsync'd commit each): ${s.toFixed(0).padStart(6)} records/s, ${(1000 / s).toFixed(2)} ms each   (rounds: ${fmt(storeRates)})`,
);
console.log(
  `raw write + fdatasync of the envelope (${avgBytes.toFixed(0)} B):  ${w.toFixed(0).padStart(6)} records/s, ${(1000 / w).toFixed(2)} ms each   (rounds: ${fmt(rawRates)})`,
);
const u = median(unsyncedRates);
console.log(
  `diagnostic: the same storeRecord with synchronous=OFF: ${u.toFixed(0).padStart(6)} records/s, ${(1000 / u).toFixed(2)} ms each   (rounds: ${fmt(unsyncedRates)})`,
);
console.log(
  `  → per record: SQL work ${(1000 / u).toFixed(2)} ms + sync ${Math.max(0, 1000 / s - 1000 / u).toFixed(2)} ms, against the raw path's ${(1000 / w).toFixed(2)} ms`,
);
console.log(`ratio storeRecord / raw: ${(s / w).toFixed(2)}× (target ≥ 0.8×: ${s / w >= 0.8 ? 'met' : 'NOT MET'})`);
