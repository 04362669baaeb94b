/**
 * The clearing model test (issue #18): `cardpost bank serve` with 4 API processes in front of one
 * throwaway PostgreSQL (fsync on), 50 simulated terminals settling seeded batches with injected
 * duplicates, double spends, forks and dropped answers, while one API process is killed with
 * SIGKILL and PostgreSQL is stopped with `pg_ctl stop -m immediate` and started again mid-run.
 * Terminals retry like the daemon does (same batch id until an answer is heard). Afterwards every
 * invariant is checked in SQL (invariants.ts). CARDPOST_MODEL_SEED picks the seed (printed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../../protocol/crypto/index.js';
import { CERT_KIND, issueCertificate, type Certificate, type SigningKey } from '../../../protocol/record/index.js';
import { BankTerminalClient } from '../../../device-sim/bank/terminal-client.js';
import { initIssuerDir } from '../../../host/issuer/issuer-dir.js';
import { CliProcess } from '../../support/cli.js';
import { ThrowawayPostgres, requirePostgres } from '../../support/postgres.js';
import { checkInvariants, type Acknowledged } from './invariants.js';
import { buildWorkload, type ModelBatch, type Workload } from './workload.js';

const SEED = Number(process.env.CARDPOST_MODEL_SEED ?? 20261206);
const TERMINALS = 50;
const API_PROCESSES = 4;

function terminalCredentials(
  ca: SigningKey,
  id: string,
  serial: number,
): { key: SigningKey; certificate: Certificate } {
  const key: SigningKey = { algorithm: ca.algorithm, ...generateKeyPair(ca.algorithm) };
  const now = Math.floor(Date.now() / 1000);
  const certificate = issueCertificate(ca, {
    serial: Uint8Array.of(serial >> 8, serial & 0xff),
    kind: CERT_KIND.TERMINAL,
    subjectId: new TextEncoder().encode(id),
    algorithm: SIGNATURE_ALGORITHM_CODES[ca.algorithm],
    publicKey: key.publicKey,
    notBefore: now - 3600,
    notAfter: now + 86400,
  });
  return { key, certificate };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The API processes of a `bank serve` primary (its cluster workers). */
function apiProcessPids(primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

describe(`clearing model: ${API_PROCESSES} API processes x ${TERMINALS} terminals on PostgreSQL (seed ${SEED})`, function () {
  this.timeout(240_000);
  let server: ThrowawayPostgres | undefined;
  let bank: CliProcess | undefined;
  let admin: pg.Pool | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-model-'));

  before(async function () {
    server = await ThrowawayPostgres.start(requirePostgres(this), { durable: true });
    admin = new pg.Pool({ ...server.poolConfig, max: 2 });
    admin.on('error', () => {}); // its idle connections die with the immediate stop
  });
  after(async () => {
    await bank?.stop();
    await admin?.end().catch(() => {});
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged batch through kill -9 and pg_ctl stop -m immediate; every invariant holds in SQL', async () => {
    const issuer = initIssuerDir(join(dir, 'issuer'));
    const work: Workload = buildWorkload(issuer.ca.key, {
      seed: SEED,
      terminals: TERMINALS,
      batchesPerTerminal: 4,
      recordsPerBatch: 8,
      cards: 120,
      rates: { duplicate: 0.05, doubleSpend: 0.02, fork: 0.02, dropAnswer: 0.15 },
    });
    bank = new CliProcess([
      'bank',
      'serve',
      '--issuer',
      join(dir, 'issuer'),
      '--listen',
      '127.0.0.1:0',
      '--postgres',
      server!.connectionString,
      '--processes',
      String(API_PROCESSES),
      '--pool-size',
      '3',
    ]);
    const line = await bank.waitFor(/API process\(es\) listening on/, 90_000);
    const url = /(http:\/\/[^ ]+)/.exec(line)![1]!;

    const total = work.terminals.reduce((n, t) => n + t.batches.length, 0);
    const acks: Acknowledged[] = [];
    const retries = { network: 0, busy: 0, unavailable: 0 };
    const chaos: string[] = [];
    let chaosDone: Promise<void> = Promise.resolve();
    const onAck = (): void => {
      if (acks.length === Math.floor(total * 0.25)) {
        const victim = apiProcessPids(bank!.child.pid!)[0];
        assert.ok(victim, 'an API process to kill');
        process.kill(victim, 'SIGKILL');
        chaos.push(`kill -9 API process ${victim} after ${acks.length} acknowledged batches`);
      }
      if (acks.length === Math.floor(total * 0.55)) {
        chaos.push(`pg_ctl stop -m immediate after ${acks.length} acknowledged batches`);
        chaosDone = (async () => {
          await server!.stop('immediate');
          await pause(300);
          await server!.startServer();
        })();
      }
    };

    const settleBatch = async (client: BankTerminalClient, terminalId: string, b: ModelBatch): Promise<void> => {
      let drops = b.dropAnswers;
      let last = '';
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 400, `${terminalId}/${b.batchId}: no answer after 400 attempts; last: ${last}`);
        const dropping = drops > 0;
        try {
          const res = await client.submitBatch(
            b.batchId,
            b.records.map((r) => r.envelope),
            b.certificates,
            // a dropped answer: the terminal gives up while the bank may still be working on it
            dropping ? { timeoutMs: 2 + ((attempt * 7) % 30) } : { timeoutMs: 20_000 },
          );
          if (dropping) {
            drops--;
            continue; // the answer is "lost": ask again with the same batch id
          }
          if (res.status === 200) {
            acks.push({ terminalId, batchId: b.batchId, answer: res.text, records: b.records });
            onAck();
            return;
          }
          assert.ok([409, 500, 503].includes(res.status), `${terminalId}: unexpected ${res.status} ${res.text}`);
          last = `${res.status} ${res.text.slice(0, 200)}`;
          if (res.status === 409) retries.busy++;
          else retries.unavailable++;
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          if (dropping) drops--;
          last = String((e as Error).cause ?? e);
          retries.network++; // refused or cut: a killed process, or the answer dropped on purpose
        }
        await pause(20 + (attempt % 10) * 20);
      }
    };

    const started = Date.now();
    await Promise.all(
      work.terminals.map(async (t, i) => {
        const client = new BankTerminalClient({
          baseUrl: url,
          ...terminalCredentials(issuer.ca.key, t.id, 0x2000 + i),
        });
        for (const b of t.batches) await settleBatch(client, t.id, b);
      }),
    );
    await chaosDone;
    const seconds = (Date.now() - started) / 1000;
    assert.equal(chaos.length, 2, `both faults happened: ${chaos.join('; ')}`);
    assert.ok(
      bank.lines.some((l) => /ended \(SIGKILL\); starting another/.test(l)),
      `the killed process was replaced: ${bank.lines.join(' | ')}`,
    );

    const violations = await checkInvariants(admin!, acks, work);
    const records = acks.reduce((n, a) => n + a.records.length, 0);
    console.log(
      `      seed ${SEED}: ${acks.length} batches, ${records} records in ${seconds.toFixed(1)} s; injected ${JSON.stringify(work.injected)}; ` +
        `retries ${JSON.stringify(retries)}; ${chaos.join('; ')}`,
    );
    assert.deepEqual(violations, []);
    assert.equal(acks.length, total, 'every batch was acknowledged in the end');
    const evidence = await admin!.query<{ kind: string; n: string }>(
      'SELECT kind, count(*)::text AS n FROM evidence GROUP BY kind',
    );
    const kinds = Object.fromEntries(evidence.rows.map((r) => [r.kind, Number(r.n)]));
    assert.ok((kinds['double-spend'] ?? 0) > 0, 'the injected double spends were caught');
  });
});
