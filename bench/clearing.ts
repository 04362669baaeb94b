/**
 * The clearing service on PostgreSQL (issue 18, part 4):
 *
 *  - records/s settled end to end by `cardpost bank serve` with 1, 2 and 4 API (verifier) processes
 *    in front of one throwaway PostgreSQL (fsync on), from 8 terminals sending batches of 500 records
 *    of distinct cards (the bank's case: a new card key on nearly every record);
 *  - beside it, the raw single-core SM2 verify rate (a new key each call) measured in this run, and
 *    the same loop in 2 processes at once: how far this machine's two cores scale pure CPU work;
 *  - the cost per record in the database alone: the same records settled by PgLedger.settleBatch
 *    with verification already done, one batch at a time, and its share of the 1-process cost.
 *
 *  - the ceiling of the 2-process figure: how many of the cores the 1-process run already keeps busy
 *    (its API process with its other threads, mostly GC, PostgreSQL, the load generator), so
 *    what 2 processes could reach at the same cost per record.
 *
 * Requests are built and signed before the clock starts, so the load generator only sends; one
 * untimed batch per terminal warms each run up. Each run gets a fresh database.
 *
 *   node --import tsx bench/clearing.ts [records, default 20000]
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { generateKeyPair, sign, verify } from '../protocol/crypto/index.js';
import { toBase64url, signTerminalRequest } from '../protocol/bank/terminal-auth.js';
import { CertificateCache, precheck } from '../protocol/bank/verify-records.js';
import { TrustStore, type SignedTxnRecord } from '../protocol/record/index.js';
import { initIssuerDir, issueTerminal, type IssuerMaterial } from '../host/issuer/issuer-dir.js';
import { PgLedger } from '../host/clearing/pg-ledger.js';
import type { BatchItem } from '../host/clearing/ledger.js';
import { batchItemOf } from '../host/clearing/clearing-service.js';
import { ForgedCard } from '../test/support/record-forge.js';
import { ThrowawayPostgres, postgresBinDir } from '../test/support/postgres.js';
import { CliProcess } from '../test/support/cli.js';

const RECORDS = process.argv[2] === '--raw-verify' ? 0 : Number(process.argv[2] ?? 20_000);
const TICK_US = 1e6 / 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** The fields of a /proc stat file after "(comm) ": state=0 … utime=11 stime=12 cutime=13 cstime=14. */
function statFields(path: string): number[] | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    return text
      .slice(text.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
  } catch {
    return undefined; // exited
  }
}

/** A process and its descendants, found through every thread's children. */
function processTree(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    out.push(pid);
    try {
      for (const t of readdirSync(`/proc/${pid}/task`))
        queue.push(...readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      // exited
    }
  }
  return out;
}

/** CPU µs used by a process and its descendants (exited children of the root included, once reaped). */
function cpuMicros(root: number): number {
  const r = statFields(`/proc/${root}/stat`);
  let ticks = r ? r[13]! + r[14]! : 0;
  for (const pid of processTree(root)) {
    const f = statFields(`/proc/${pid}/stat`);
    if (f) ticks += f[11]! + f[12]!;
  }
  return ticks * TICK_US;
}

/** CPU µs of the main threads (tid = pid) of a process and its descendants: the event loops. */
function mainThreadMicros(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const f = statFields(`/proc/${pid}/task/${pid}/stat`);
    if (f) ticks += f[11]! + f[12]!;
  }
  return ticks * TICK_US;
}

function postmasterPid(server: ThrowawayPostgres): number {
  return Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}
/** A full collection of the bench's own heap, so a run is not billed for the garbage of the one before. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const PER_BATCH = 500;
const TERMINALS = 8;
const RECORDS_PER_CARD = 2;

interface Prepared {
  terminalId: string;
  batchId: string;
  body: Uint8Array;
  records: SignedTxnRecord[];
  certificates: Uint8Array[];
}

function prepare(issuer: IssuerMaterial, count = RECORDS): Prepared[] {
  const cards = Array.from({ length: Math.ceil(count / RECORDS_PER_CARD) }, () => ForgedCard.issue(issuer.ca.key));
  const batches: Prepared[] = [];
  let next = 0;
  for (let b = 0; next < count; b++) {
    const terminalId = `BT-${b % TERMINALS}`;
    const records: SignedTxnRecord[] = [];
    const certificates: Uint8Array[] = [];
    for (let i = 0; i < PER_BATCH && next < count; i++, next++) {
      const card = cards[next % cards.length]!;
      certificates.push(card.certificate.envelope); // as the daemon sends them: every card of the batch
      records.push(card.sign({ terminalId, amount: 100 + (next % 900) }));
    }
    const batchId = randomBytes(16).toString('hex');
    const body = new TextEncoder().encode(
      JSON.stringify({
        batchId,
        records: records.map((r) => toBase64url(r.envelope)),
        certificates: certificates.map(toBase64url),
      }),
    );
    batches.push({ terminalId, batchId, body, records, certificates });
  }
  return batches;
}

/** Raw single-core SM2 verification, a new key on every call, for `seconds`. */
function rawVerifyRate(seconds: number): number {
  const msg = new TextEncoder().encode('cardpost clearing bench');
  const samples = Array.from({ length: 2000 }, () => {
    const k = generateKeyPair('sm2-sm3');
    return { pub: k.publicKey, sig: sign('sm2-sm3', k.privateKey, msg) };
  });
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 200; i++, n++) {
      const s = samples[n % samples.length]!;
      if (!verify('sm2-sm3', s.pub, msg, s.sig)) throw new Error('verify failed');
    }
  }
  return n / ((performance.now() - t0) / 1000);
}

async function endToEnd(
  server: ThrowawayPostgres,
  issuerDir: string,
  issuer: IssuerMaterial,
  processes: number,
  dir: string,
): Promise<{ rate: number; apiUs: number; apiMainUs: number; dbUs: number; loadUs: number }> {
  const admin = new pg.Pool({ ...server.poolConfig, max: 1 });
  const db = `bench_p${processes}`;
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  // one untimed batch per terminal first, of other cards: every run starts with its JIT warm (the
  // load generator's first batches cost it 4x as much CPU as later ones)
  const warmup = prepare(issuer, TERMINALS * PER_BATCH);
  const batches = prepare(issuer);
  const bank = new CliProcess([
    'bank',
    'serve',
    '--issuer',
    issuerDir,
    '--listen',
    '127.0.0.1:0',
    '--postgres',
    `postgres://${server.user}@${server.host}:${server.port}/${db}`,
    '--processes',
    String(processes),
    '--pool-size',
    '4',
  ]);
  try {
    const line = await bank.waitFor(/listening on/, 120_000);
    const url = /(http:\/\/[^ ,]+)/.exec(line)![1]!;
    const terms = new Map<string, ReturnType<typeof issueTerminal>>();
    for (let t = 0; t < TERMINALS; t++)
      terms.set(`BT-${t}`, issueTerminal(issuer, `BT-${t}`, join(dir, `p${processes}-t${t}`)));
    const signOne = (b: Prepared) => ({
      ...b,
      headers: {
        'Content-Type': 'application/json',
        ...signTerminalRequest({
          method: 'POST',
          path: '/v1/batches',
          body: b.body,
          idempotencyKey: b.batchId,
          ...terms.get(b.terminalId)!,
        }),
      },
    });
    const signed = batches.map(signOne);
    const queues = Array.from({ length: TERMINALS }, (_, t) => signed.filter((b) => b.terminalId === `BT-${t}`));
    let accepted = 0;
    const send = async (b: ReturnType<typeof signOne>): Promise<number> => {
      const res = await fetch(`${url}/v1/batches`, { method: 'POST', headers: b.headers, body: b.body });
      const json = (await res.json()) as { accepted?: { count: number } };
      if (res.status !== 200) throw new Error(`batch refused: ${res.status} ${JSON.stringify(json)}`);
      return json.accepted!.count;
    };
    await Promise.all(warmup.map(signOne).map(send));
    collectGarbage();
    const api0 = cpuMicros(bank.child.pid!);
    const main0 = mainThreadMicros(bank.child.pid!);
    const db0 = cpuMicros(postmasterPid(server));
    const load0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      queues.map(async (q) => {
        for (const b of q) {
          const n = await send(b); // not `accepted += await`: that reads accepted before the wait
          accepted += n;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const load = process.cpuUsage(load0);
    const apiUs = (cpuMicros(bank.child.pid!) - api0) / RECORDS;
    const apiMainUs = (mainThreadMicros(bank.child.pid!) - main0) / RECORDS;
    const dbUs = (cpuMicros(postmasterPid(server)) - db0) / RECORDS;
    if (accepted !== RECORDS) throw new Error(`${accepted} of ${RECORDS} accepted`);
    return { rate: RECORDS / seconds, apiUs, apiMainUs, dbUs, loadUs: (load.user + load.system) / RECORDS };
  } finally {
    await bank.stop();
  }
}

/** µs per record in PostgreSQL alone (wall, and the server's CPU): batches verified beforehand, settled one at a time. */
async function databaseOnly(
  server: ThrowawayPostgres,
  issuer: IssuerMaterial,
): Promise<{ wallUs: number; cpuUs: number }> {
  const admin = new pg.Pool({ ...server.poolConfig, max: 1 });
  await admin.query('CREATE DATABASE bench_db_only');
  await admin.end();
  const ledger = await PgLedger.open({ pool: { ...server.poolConfig, database: 'bench_db_only', max: 2 } });
  const trust = new TrustStore();
  trust.addIssuer(issuer.ca.certificate);
  const certs = new CertificateCache(trust);
  const batches = prepare(issuer).map((b) => {
    const checked = precheck(
      { terminalId: b.terminalId, storedCertificate: () => undefined, certs },
      b.records.map((r) => toBase64url(r.envelope)),
      b.certificates.map(toBase64url),
    );
    const refused = checked.find((p) => 'final' in p);
    if (refused && 'final' in refused) throw new Error(`bench record refused: ${refused.final.reason}`);
    const items: BatchItem[] = checked.map(batchItemOf);
    return { ...b, items };
  });
  const cpu0 = cpuMicros(postmasterPid(server));
  const t0 = performance.now();
  for (const b of batches)
    await ledger.settleBatch({
      terminalId: b.terminalId,
      batchId: b.batchId,
      bodyHash: randomBytes(32),
      items: b.items,
      now: Math.floor(Date.now() / 1000),
      windowSeconds: 30 * 86400,
    });
  const wallUs = ((performance.now() - t0) * 1000) / RECORDS;
  const cpuUs = (cpuMicros(postmasterPid(server)) - cpu0) / RECORDS;
  await ledger.close();
  return { wallUs, cpuUs };
}

/** The same loop in `n` processes at once: what this machine gives two busy cores, whatever the service does. */
async function parallelVerifyRate(n: number, seconds: number): Promise<number> {
  const runs = Array.from({ length: n }, () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--raw-verify', String(seconds)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    return new Promise<number>((res) => child.once('exit', () => res(Number(out.trim()))));
  });
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install postgresql-15');
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-bench-clearing-'));
  const server = await ThrowawayPostgres.start(bin, { durable: true });
  try {
    const issuerDir = join(dir, 'issuer');
    const issuer = initIssuerDir(issuerDir);
    console.log(
      `clearing bench: ${RECORDS} records (${RECORDS_PER_CARD} per card), batches of ${PER_BATCH} from ${TERMINALS} terminals; ` +
        `PostgreSQL fsync on; ${availableParallelism()} cores`,
    );
    const raw = rawVerifyRate(2);
    console.log(`raw SM2 verify, one core, new key each call: ${raw.toFixed(0)} /s`);
    const one = await parallelVerifyRate(1, 3);
    const two = await parallelVerifyRate(2, 3);
    console.log(
      `raw SM2 verify in 2 processes at once: ${two.toFixed(0)} /s = ${(two / one).toFixed(2)}x one process ` +
        `(${one.toFixed(0)} /s): the most any 2-process figure below can scale on this machine`,
    );
    const rates: number[] = [];
    for (const p of [1, 2, 4]) {
      const r = await endToEnd(server, issuerDir, issuer, p, dir);
      rates.push(r.rate);
      console.log(
        `bank serve, ${p} API process(es): ${r.rate.toFixed(0)} records/s = ${(r.rate / rates[0]!).toFixed(2)}x 1 process, ` +
          `${(r.rate / raw).toFixed(2)}x the raw single-core verify rate; CPU per record: API ${r.apiUs.toFixed(0)} µs ` +
          `(event loops ${r.apiMainUs.toFixed(0)}, other threads ${(r.apiUs - r.apiMainUs).toFixed(0)}: mostly GC), ` +
          `PostgreSQL ${r.dbUs.toFixed(0)} µs (database share ${((100 * r.dbUs) / (r.dbUs + r.apiUs)).toFixed(0)}%), ` +
          `load generator ${r.loadUs.toFixed(0)} µs`,
      );
      if (p === 1) {
        // The ceiling of the 2-process figure: at its 1-process cost per record, how many of the
        // cores the whole run already keeps busy, and so what 2 processes could reach at best.
        const busy = (r.rate * (r.apiUs + r.dbUs + r.loadUs)) / 1e6;
        const cores = availableParallelism();
        console.log(
          `  with 1 API process the run already keeps ${busy.toFixed(2)} of ${cores} cores busy (API, its other threads, ` +
            `PostgreSQL, load generator), so 2 processes can reach at most ${(cores / busy).toFixed(2)}x ` +
            `at that cost per record (less, as two busy processes slow each other)`,
        );
      }
    }
    const db = await databaseOnly(server, issuer);
    const oneUs = 1e6 / rates[0]!;
    console.log(
      `database alone (verified batches, one at a time): ${db.wallUs.toFixed(0)} µs/record wall, ${db.cpuUs.toFixed(0)} µs/record ` +
        `PostgreSQL CPU; the wall time is ${((100 * db.wallUs) / oneUs).toFixed(0)}% of the ${oneUs.toFixed(0)} µs/record end to end with 1 process`,
    );
  } finally {
    await server.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--raw-verify') console.log(rawVerifyRate(Number(process.argv[3])).toFixed(0));
else await main();
