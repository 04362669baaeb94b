/**
 * Settlement of a large queue to the simulated bank (issue 4, Performance):
 *
 *  - records/s of the real SettlementWorker + BankClient + HostStore settling N queued records
 *    (default 100,000) to SimBank over loopback HTTP, in batches of 500 (the daemon's default);
 *  - peak RSS of the settling (host) process with 1,000 vs N queued (target: ≤ 1.2×);
 *  - where the time goes: host batch build (SQLite read + JSON body), the HTTP round trip, the
 *    bank's own work (of which SM2 verification), and applying the verdicts (SQLite write);
 *  - the pipeline's records/s as a ratio to the raw SM2 verify rate of this machine (same suite,
 *    protocol/crypto), per core and on all cores.
 *
 * Three processes per size, so each side has its own core and the RSS is the host's alone:
 * this one prepares the queue (records signed with protocol/record under card keys certified by
 * the issuer CA, proper hash chains, inserted through HostStore.storeRecord inside one outer
 * transaction for setup speed), a child runs SimBank, another child runs the host side and samples
 * its own RSS.
 *
 *   node --import tsx bench/settlement.ts [records, default 100000]
 *   BENCH_SQLITE_CACHE_KB=16000 …  the host's SQLite page cache set to 16 MB, better-sqlite3's default (diagnostic: the daemon uses 2 MB, database.ts)
 *   BENCH_GC_EACH_BATCH=1 …        a full GC after every batch in the host (diagnostic: garbage vs retained memory)
 *   BENCH_CPU_PROFILE=DIR …        V8 CPU profiles of the bank and host processes
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateKeyPair, verify, SIGNATURE_ALGORITHM_CODES } from '../protocol/crypto/index.js';
import {
  CERT_KIND,
  CVM,
  ZERO_HASH,
  issueCertificate,
  signTxnRecord,
  type Certificate,
  type SignedTxnRecord,
  type SigningKey,
} from '../protocol/record/index.js';
import { toHex } from '../protocol/bytes.js';
import { initIssuerDir, issueTerminal, openIssuerDir } from '../host/issuer/issuer-dir.js';
import { HostStore } from '../host/store/host-store.js';
import { BankClient } from '../host/settlement/bank-client.js';
import { SettlementWorker } from '../host/settlement/settlement-worker.js';
import { loadTerminalCredentials } from '../host/daemon/daemon.js';
import { SimBank } from '../device-sim/bank/index.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const TERMINAL_ID = 'T-BENCH-01';
const CARDS = 16;
const BATCH = 500;

// ------------------------------------------------------------------------------------ helpers

/** BENCH_CPU_PROFILE=DIR writes a V8 CPU profile of every child (bank, host) to DIR. */
function child(args: string[]): ChildProcess {
  const prof = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];
  // --expose-gc: the host side forces one GC after settling, to tell garbage from retained memory.
  return spawn(process.execPath, [...prof, '--expose-gc', '--import', 'tsx', SELF, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** The next JSON line a child prints on stdout. */
function nextJson<T>(c: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: c.stdout! });
    const onExit = (code: number | null) => reject(new Error(`bench child exited (${code}) before answering`));
    c.once('exit', onExit);
    rl.once('line', (line) => {
      rl.close();
      c.off('exit', onExit);
      resolve(JSON.parse(line) as T);
    });
  });
}

const exited = (c: ChildProcess) =>
  new Promise<void>((r) => {
    if (c.exitCode !== null) r();
    else c.once('exit', () => r());
  });

/** A temp dir on the same device as the repo (the queue's disk in production is the data dir's). */
function benchDir(prefix: string): string {
  const base = statSync(tmpdir()).dev === statSync(REPO).dev ? tmpdir() : join(REPO, 'test-artifacts');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, prefix));
}

function cardKeys(issuerKey: SigningKey, now: number): { key: SigningKey; cert: Certificate; cardId: Uint8Array }[] {
  return Array.from({ length: CARDS }, (_, i) => {
    const key: SigningKey = { algorithm: 'sm2-sm3', ...generateKeyPair('sm2-sm3') };
    const cardId = Uint8Array.from([0xbe, 0xcc, 0, 0, 0, 0, (i >> 8) & 0xff, i & 0xff]);
    const cert = issueCertificate(issuerKey, {
      serial: Uint8Array.of(0x10, i),
      kind: CERT_KIND.CARD,
      subjectId: cardId,
      algorithm: SIGNATURE_ALGORITHM_CODES['sm2-sm3'],
      publicKey: key.publicKey,
      notBefore: now - 86400,
      notAfter: now + 365 * 86400,
      currency: 156,
      limits: {
        perTransaction: 1_000_000,
        noPin: 1_000_000,
        offlineAmount: 1e12,
        offlineCount: 1_000_000,
        maxBalance: 1e12,
      },
    });
    return { key, cert, cardId };
  });
}

// ------------------------------------------------------------------------------------ child: raw verify rate

function verifyRate(seconds: number): number {
  const now = Math.floor(Date.now() / 1000);
  const keys = Array.from({ length: CARDS }, () => generateKeyPair('sm2-sm3'));
  const samples = keys.map((k, i) =>
    signTxnRecord('sm2-sm3', k.privateKey, {
      cardId: new Uint8Array(8).fill(i),
      counter: 1,
      amount: 1250,
      currency: 156,
      merchantId: 'M-BENCH',
      terminalId: TERMINAL_ID,
      time: now,
      hostNonce: new Uint8Array(16).fill(i),
      balanceAfter: 10_000,
      prevHash: ZERO_HASH,
      algorithm: 1,
      cvm: CVM.NONE,
    }),
  );
  let i = 0;
  const one = () => {
    const j = i++ % CARDS;
    if (!verify('sm2-sm3', keys[j]!.publicKey, samples[j]!.body, samples[j]!.signature))
      throw new Error('verify failed');
  };
  for (let w = 0; w < 200; w++) one();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    for (let k = 0; k < 50; k++) one();
    n += 50;
  }
  return n / ((performance.now() - t0) / 1000);
}

// ------------------------------------------------------------------------------------ child: the bank

async function runBank(dir: string): Promise<void> {
  const issuer = openIssuerDir(join(dir, 'issuer'));
  const bank = new SimBank({
    dbPath: join(dir, 'bank.sqlite'),
    issuerCertificate: issuer.ca.certificate,
    authority: issuer.authority,
  });
  const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
  let elu = performance.eventLoopUtilization();
  let cpu = process.cpuUsage();
  console.log(JSON.stringify({ url }));
  // stdin: "mark" resets the baseline, "stats" answers the bank's busy time since the mark.
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'mark') {
      elu = performance.eventLoopUtilization();
      cpu = process.cpuUsage();
      console.log(JSON.stringify({ ok: true }));
    }
    if (line === 'stats') {
      const e = performance.eventLoopUtilization(elu);
      const c = process.cpuUsage(cpu);
      console.log(JSON.stringify({ activeMs: e.active, cpuMs: (c.user + c.system) / 1000 }));
    }
    if (line === 'quit') void bank.close().then(() => process.exit(0));
  });
}

// ------------------------------------------------------------------------------------ child: the host (settling process)

interface HostResult {
  records: number;
  wallMs: number;
  rssStartMb: number;
  rssPeakMb: number;
  maxRssMb: number;
  batches: number;
  buildMs: number;
  submitMs: number;
  applyMs: number;
  noteMs: number;
  settled: number;
  rejected: number;
  heapPeakMb: number;
  heapEndMb: number;
  heapAfterGcMb: number;
  externalPeakMb: number;
}

async function runHost(dir: string, expected: number, bankUrl: string): Promise<void> {
  const cred = loadTerminalCredentials(join(dir, 'terminal'), Math.floor(Date.now() / 1000));
  const store = HostStore.open(join(dir, 'data', 'queue.sqlite'));
  // Diagnostic knob: the daemon's page cache is 2 MB per connection (database.ts); better-sqlite3's own default, 16 MB, fills with a large queue.
  if (process.env.BENCH_SQLITE_CACHE_KB) store.db.pragma(`cache_size = -${Number(process.env.BENCH_SQLITE_CACHE_KB)}`);
  const bank = new BankClient({ baseUrl: bankUrl, key: cred.key, certificate: cred.certificate, timeoutMs: 60_000 });
  const worker = new SettlementWorker({
    store,
    bank,
    batchSize: BATCH,
    healthIntervalMs: 5000,
    backoff: { baseMs: 50, maxMs: 1000 },
  });

  // Stage timers, wrapped around the instances' own methods (the worker calls them through these objects).
  const t = { buildMs: 0, submitMs: 0, applyMs: 0, noteMs: 0, batches: 0 };
  const time =
    <A extends unknown[], R>(f: (...a: A) => R, add: (ms: number) => void) =>
    (...a: A): R => {
      const s = performance.now();
      try {
        return f(...a);
      } finally {
        add(performance.now() - s);
      }
    };
  store.nextBatch = time(store.nextBatch.bind(store), (ms) => {
    t.buildMs += ms;
  });
  store.applyVerdicts = time(store.applyVerdicts.bind(store), (ms) => {
    t.applyMs += ms;
    t.batches++;
  });
  store.noteAttempt = time(store.noteAttempt.bind(store), (ms) => {
    t.noteMs += ms;
  });
  const submit = bank.submitBatch.bind(bank);
  bank.submitBatch = async (...a) => {
    const s = performance.now();
    try {
      return await submit(...a);
    } finally {
      t.submitMs += performance.now() - s;
    }
  };

  global.gc?.();
  const rssStart = process.memoryUsage.rss();
  let rssPeak = rssStart;
  let heapPeak = process.memoryUsage().heapTotal;
  let externalPeak = process.memoryUsage().external;
  let tick = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    if (++tick % 20 === 0) {
      const m = process.memoryUsage();
      heapPeak = Math.max(heapPeak, m.heapTotal);
      externalPeak = Math.max(externalPeak, m.external);
    }
  }, 5);

  let done = 0;
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('batch', (b) => {
      done += b.accepted + b.duplicate + b.rejected;
      if (process.env.BENCH_GC_EACH_BATCH) global.gc?.(); // diagnostic: is the peak garbage, or memory kept?
      if (done >= expected) resolve();
    });
    worker.on('attemptFailed', (f) => reject(new Error(`batch failed: ${f.error.code}: ${f.error.message}`)));
  });
  const t0 = performance.now();
  worker.start();
  await finished;
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  await worker.stop();
  const counts = store.statusCounts();
  store.close();
  const mb = (b: number) => b / 1048576;
  const heapEnd = process.memoryUsage().heapUsed;
  global.gc?.();
  const heapAfterGc = process.memoryUsage().heapUsed;
  const out: HostResult = {
    records: expected,
    wallMs,
    rssStartMb: mb(rssStart),
    rssPeakMb: mb(rssPeak),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    ...t,
    settled: counts.settled.count,
    rejected: counts.rejected.count,
    heapPeakMb: mb(heapPeak),
    heapEndMb: mb(heapEnd),
    heapAfterGcMb: mb(heapAfterGc),
    externalPeakMb: mb(externalPeak),
  };
  console.log(JSON.stringify(out));
}

// ------------------------------------------------------------------------------------ orchestrator

/** Fill a fresh counter's queue with `n` signed records, round-robin over the cards, chains intact. */
function prepare(n: number): { dir: string; signMs: number; insertMs: number } {
  const dir = benchDir('cardpost-bench-settle-');
  const now = Math.floor(Date.now() / 1000);
  const issuer = initIssuerDir(join(dir, 'issuer'), { name: 'bench issuer' });
  issueTerminal(issuer, TERMINAL_ID, join(dir, 'terminal'));
  const cards = cardKeys(issuer.ca.key, now);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const store = HostStore.open(join(dir, 'data', 'queue.sqlite'));
  for (const c of cards) store.observeCard(toHex(c.cardId), 0, ZERO_HASH, c.cert.envelope);

  const heads = cards.map(() => ({ counter: 0, hash: ZERO_HASH as Uint8Array, balance: 1e9 }));
  const nonce = new Uint8Array(16);
  let signMs = 0,
    insertMs = 0;
  const CHUNK = 5000;
  for (let start = 0; start < n; start += CHUNK) {
    const s0 = performance.now();
    const chunk: SignedTxnRecord[] = [];
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      const ci = i % CARDS;
      const c = cards[ci]!;
      const h = heads[ci]!;
      const amount = 100 + (i % 5000);
      new DataView(nonce.buffer).setUint32(0, i);
      const r = signTxnRecord('sm2-sm3', c.key.privateKey, {
        cardId: c.cardId,
        counter: h.counter + 1,
        amount,
        currency: 156,
        merchantId: 'M-BENCH',
        terminalId: TERMINAL_ID,
        time: now - 600,
        hostNonce: nonce,
        balanceAfter: h.balance - amount,
        prevHash: h.hash,
        algorithm: 1,
        cvm: CVM.NONE,
      });
      h.counter = r.counter;
      h.hash = r.hash;
      h.balance -= amount;
      chunk.push(r);
    }
    const s1 = performance.now();
    // Setup only: many storeRecord calls (each its own nested savepoint) under one commit.
    store.db.transaction(() => {
      for (const r of chunk) store.storeRecord(r, { origin: 'sale' });
    })();
    signMs += s1 - s0;
    insertMs += performance.now() - s1;
  }
  if (store.unsettled().count !== n)
    throw new Error(`bench setup: ${store.unsettled().count} records queued, expected ${n}`);
  store.close();
  return { dir, signMs, insertMs };
}

async function measureVerifyRates(): Promise<{ oneCore: number; allCores: number; cores: number }> {
  const cores = cpus().length;
  const one = child(['verify', '2']);
  const oneCore = (await nextJson<{ rate: number }>(one)).rate;
  await exited(one);
  const many = Array.from({ length: cores }, () => child(['verify', '2']));
  const rates = await Promise.all(many.map((c) => nextJson<{ rate: number }>(c)));
  await Promise.all(many.map(exited));
  return { oneCore, allCores: rates.reduce((a, r) => a + r.rate, 0), cores };
}

async function settleOnce(
  n: number,
): Promise<HostResult & { bankActiveMs: number; bankCpuMs: number; setup: { signMs: number; insertMs: number } }> {
  const { dir, signMs, insertMs } = prepare(n);
  const bank = child(['bank', dir]);
  try {
    const { url } = await nextJson<{ url: string }>(bank);
    bank.stdin!.write('mark\n');
    await nextJson(bank);
    const host = child(['host', dir, String(n), url]);
    const res = await nextJson<HostResult>(host);
    await exited(host);
    bank.stdin!.write('stats\n');
    const b = await nextJson<{ activeMs: number; cpuMs: number }>(bank);
    if (res.settled !== n || res.rejected !== 0)
      throw new Error(`settled ${res.settled} of ${n}, rejected ${res.rejected}`);
    return { ...res, bankActiveMs: b.activeMs, bankCpuMs: b.cpuMs, setup: { signMs, insertMs } };
  } finally {
    bank.stdin!.write('quit\n');
    await exited(bank);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  console.log(
    `Settlement of a queued backlog to SimBank (child process), batches of ${BATCH}, ${CARDS} SM2 cards, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}` +
      (process.env.BENCH_SQLITE_CACHE_KB
        ? `, host SQLite cache ${process.env.BENCH_SQLITE_CACHE_KB} KB (diagnostic)`
        : '') +
      (process.env.BENCH_GC_EACH_BATCH ? ', a full GC after every batch (diagnostic)' : ''),
  );
  const before = await measureVerifyRates();
  const rates = { ...before };
  console.log(
    `raw SM2 verify (protocol/crypto, sm2-sm3, 200-byte records, ${CARDS} keys): ${rates.oneCore.toFixed(0)} /s on one core, ${rates.allCores.toFixed(0)} /s on all ${rates.cores} cores`,
  );
  if (rates.cores > 1 && rates.allCores < rates.oneCore * (rates.cores - 0.5)) {
    console.log(
      `  (all cores give less than ${rates.cores - 0.5}× one core: other processes are using this machine's cores now; figures are noisy)`,
    );
  }

  const results = [];
  const hostCapacity: number[] = [];
  // 1k and N for the target; 10k in between shows whether memory still grows with the backlog or has levelled off.
  const sizes = [...new Set([1000, Math.min(10_000, n), n])];
  for (const size of sizes) {
    const r = await settleOnce(size);
    results.push(r);
    const rps = size / (r.wallMs / 1000);
    console.log(
      `\n${size.toLocaleString('en')} queued (setup: signed in ${(r.setup.signMs / 1000).toFixed(1)} s, stored in ${(r.setup.insertMs / 1000).toFixed(1)} s)`,
    );
    console.log(
      `  settled ${r.settled.toLocaleString('en')} in ${(r.wallMs / 1000).toFixed(2)} s: ${rps.toFixed(0)} records/s, ${r.batches} batches`,
    );
    console.log(
      `  host RSS: ${r.rssStartMb.toFixed(1)} MB at start, peak ${r.rssPeakMb.toFixed(1)} MB sampled, maxRSS ${r.maxRssMb.toFixed(1)} MB; V8 heap: peak total ${r.heapPeakMb.toFixed(1)} MB, used ${r.heapEndMb.toFixed(1)} MB at the end, ${r.heapAfterGcMb.toFixed(1)} MB after a full GC; external (Buffers) peak ${r.externalPeakMb.toFixed(1)} MB`,
    );
    const httpMs = Math.max(0, r.submitMs - r.bankActiveMs);
    const verifyMs = (size / rates.oneCore) * 1000;
    const other = Math.max(0, r.wallMs - r.buildMs - r.submitMs - r.applyMs - r.noteMs);
    const pct = (ms: number) => `${((100 * ms) / r.wallMs).toFixed(0).padStart(3)}%`;
    console.log('  time split (wall):');
    console.log(
      `    host batch build (SQLite read, JSON body, mark sending) ${(r.buildMs / 1000).toFixed(2).padStart(7)} s ${pct(r.buildMs)}`,
    );
    console.log(
      `    bank work (event loop busy: HTTP parse, checks, ledger) ${(r.bankActiveMs / 1000).toFixed(2).padStart(7)} s ${pct(r.bankActiveMs)}   (bank CPU ${(r.bankCpuMs / 1000).toFixed(2)} s)`,
    );
    console.log(
      `      of which SM2 record verification (at the raw rate)    ${(verifyMs / 1000).toFixed(2).padStart(7)} s ${pct(verifyMs)}`,
    );
    console.log(
      `    HTTP + request signing + answer parsing (submit − bank) ${(httpMs / 1000).toFixed(2).padStart(7)} s ${pct(httpMs)}   (submit in all ${(r.submitMs / 1000).toFixed(2)} s)`,
    );
    console.log(
      `    verdict apply (SQLite write, one commit per batch)      ${(r.applyMs / 1000).toFixed(2).padStart(7)} s ${pct(r.applyMs)}`,
    );
    console.log(
      `    attempt note + worker loop + health check               ${((r.noteMs + other) / 1000).toFixed(2).padStart(7)} s ${pct(r.noteMs + other)}`,
    );
    console.log(
      `  pipeline / raw verify: ${(rps / rates.oneCore).toFixed(2)}× of one core, ${(rps / rates.allCores).toFixed(2)}× of all ${rates.cores} cores`,
    );
    // What cardpost itself costs: everything but the bank's busy time (HTTP transit counted against the host).
    const hostMs = r.buildMs + r.applyMs + r.noteMs + other + httpMs;
    hostCapacity.push(size / (hostMs / 1000));
    console.log(
      `  the host's own work: ${(hostMs / 1000).toFixed(2)} s (${((1e6 * hostMs) / 1000 / size).toFixed(0)} µs a record): it alone could feed ${(size / (hostMs / 1000)).toFixed(0)} records/s`,
    );
  }
  // This machine's speed drifts (shared cores, frequency): measure the raw rate again and compare with the mean.
  const after = await measureVerifyRates();
  rates.oneCore = (before.oneCore + after.oneCore) / 2;
  rates.allCores = (before.allCores + after.allCores) / 2;
  console.log(
    `\nraw SM2 verify again after the runs: ${after.oneCore.toFixed(0)} /s on one core, ${after.allCores.toFixed(0)} /s on all cores; the ratios below use the mean of both measurements (${rates.oneCore.toFixed(0)} and ${rates.allCores.toFixed(0)} /s)`,
  );
  const small = results[0]!;
  const big = results.at(-1)!;
  const ratio = big.rssPeakMb / small.rssPeakMb;
  console.log(
    `\npeak RSS by backlog: ${results.map((r) => `${r.records.toLocaleString('en')}: ${r.rssPeakMb.toFixed(1)} MB`).join(', ')}; V8 heap after a full GC: ${results.map((r) => `${r.heapAfterGcMb.toFixed(1)} MB`).join(', ')}`,
  );
  console.log(
    `peak RSS of the settling process: ${small.rssPeakMb.toFixed(1)} MB at 1,000 queued vs ${big.rssPeakMb.toFixed(1)} MB at ${n.toLocaleString('en')}: ${ratio.toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'NOT MET'})`,
  );
  console.log(
    `maxRSS (getrusage): ${small.maxRssMb.toFixed(1)} MB vs ${big.maxRssMb.toFixed(1)} MB: ${(big.maxRssMb / small.maxRssMb).toFixed(2)}×`,
  );
  const rps = n / (big.wallMs / 1000);
  console.log(
    `records/s at ${n.toLocaleString('en')}: ${rps.toFixed(0)}; ratio to raw verify ${(rps / rates.oneCore).toFixed(2)}× (one core: the bank verifies on one thread), ${(rps / rates.allCores).toFixed(2)}× (all cores) — target ≥ 0.8× when verification limits`,
  );
  const cap = hostCapacity.at(-1)!;
  console.log(
    `the limit is the simulated bank (one thread: verification and its own checks and ledger); the host side alone could feed ${cap.toFixed(0)} records/s = ${(cap / rates.allCores).toFixed(2)}× the raw verify rate of all cores`,
  );
}

const mode = process.argv[2];
if (mode === 'verify') console.log(JSON.stringify({ rate: verifyRate(Number(process.argv[3] ?? 2)) }));
else if (mode === 'bank') await runBank(process.argv[3]!);
else if (mode === 'host') await runHost(process.argv[3]!, Number(process.argv[4]), process.argv[5]!);
else await main();
