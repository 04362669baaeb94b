import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../host/cli/main.js';
import { HostStore } from '../../host/store/host-store.js';
import { BankError, type BankClient } from '../../host/settlement/bank-client.js';
import { SettlementWorker, type SettlementStatus } from '../../host/settlement/settlement-worker.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { until } from '../support/settlement-helpers.js';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Issue 15: a typo'd bank URL or a bank that died was logged nowhere and `lastError` stayed null, so the counter
 * looked "offline" for no reason anyone could read. Now the health check's failure is the settlement's lastError
 * (GET /api/v1/settlement) and one warning per change of reason.
 */
describe('settlement: a bank that cannot be reached says why (issue 15)', function () {
  this.timeout(30_000);
  let f: DaemonFixture | undefined;
  let dir: string | undefined;
  let worker: SettlementWorker | undefined;
  let store: HostStore | undefined;
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    store?.close();
    store = undefined;
    await f?.stop();
    f = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('a typo in bank.url (a port nothing listens on): offline, lastError BANK_UNREACHABLE naming the URL and bank.url, in GET /api/v1/settlement', async () => {
    const port = await closedPort();
    f = await DaemonFixture.start({ config: { bank: { url: `http://127.0.0.1:${port}` } } });
    await until(() => f!.daemon.worker.status().lastError !== null, 'lastError to be set', 10_000);
    const st = (await f.api<SettlementStatus>('GET', '/api/v1/settlement')).body;
    assert.equal(st.online, false);
    assert.equal(st.state, 'offline');
    assert.equal(st.lastError?.code, 'BANK_UNREACHABLE');
    assert.match(st.lastError!.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(st.lastError!.message, /ECONNREFUSED/);
    assert.match(st.lastError!.hint, /check bank\.url/);
    // a sale stored offline, then `cardpost settle`: it says why it cannot settle, and exits 3
    const sale = await f.api<{ saleId: string }>('POST', '/api/v1/sales', { amount: 500 });
    assert.equal((await f.waitForSale(sale.body.saleId)).state, 'done');
    const out: string[] = [];
    const code = await runCli(
      ['settle', '--timeout', '1', '--data-dir', join(f.dir, 'data')],
      { out: (l) => out.push(l), setExitCode: () => {} },
      () => {},
    );
    assert.equal(code, 3);
    assert.ok(
      out.some((l) => /^settled 0\/1 \(offline: bank at .* did not answer/.test(l)),
      `the progress says why at once: ${out.join('\n')}`,
    );
    assert.match(out.at(-1)!, /^not finished: .*ECONNREFUSED.*check bank\.url/);
  });

  it('a wrong path (whatever answers there says 404 to the health check): lastError names the status', async () => {
    const notBank = createHttpServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    });
    await new Promise<void>((r) => notBank.listen(0, '127.0.0.1', r));
    try {
      const port = (notBank.address() as { port: number }).port;
      f = await DaemonFixture.start({ insert: false, config: { bank: { url: `http://127.0.0.1:${port}/bnak` } } });
      await until(() => f!.daemon.worker.status().lastError !== null, 'lastError to be set', 10_000);
      const st = f.daemon.worker.status();
      assert.equal(st.online, false);
      assert.equal(st.lastError?.code, 'BANK_REFUSED_HTTP_404');
      assert.match(st.lastError!.message, /bnak.*404/);
      assert.match(st.lastError!.hint, /check bank\.url/);
    } finally {
      await f?.stop();
      f = undefined;
      notBank.closeAllConnections();
      await new Promise<void>((r) => notBank.close(() => r()));
    }
  });

  it('one warning per change of reason, not one per check; the bank back: one "bank reachable", lastError cleared', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-bank-down-'));
    store = HostStore.open(join(dir, 'q.sqlite'));
    const refused = new BankError(
      'BANK_UNREACHABLE',
      'bank at http://bank.invalid did not answer GET /v1/health: connect ECONNREFUSED',
      'check bank.url',
      'unknown',
    );
    const timedOut = new BankError(
      'BANK_UNREACHABLE',
      'bank at http://bank.invalid did not answer GET /v1/health: no answer in time',
      'check bank.url',
      'unknown',
    );
    const answers: Array<{ ok: boolean; problem?: BankError }> = [
      ...Array.from({ length: 5 }, () => ({ ok: false, problem: refused })),
      ...Array.from({ length: 5 }, () => ({ ok: false, problem: timedOut })),
    ];
    let checks = 0;
    const bank = {
      url: 'http://bank.invalid',
      health: async () => {
        checks++;
        return answers.shift() ?? { ok: true };
      },
      submitBatch: async () => {
        throw new Error('nothing to send');
      },
    } as unknown as BankClient;
    const warnings: string[] = [];
    const infos: string[] = [];
    const log = {
      info: (_o: object, msg: string) => infos.push(msg),
      warn: (o: object, msg: string) => warnings.push(`${msg} ${JSON.stringify(o)}`),
    };
    const seen: (string | null)[] = [];
    worker = new SettlementWorker({ store, bank, healthIntervalMs: 5, log });
    worker.on('status', (s) => seen.push(s.lastError?.message ?? null));
    worker.start();
    await until(() => worker!.status().online, 'the bank to come back', 5000, 5);
    assert.ok(checks >= 11);
    assert.equal(warnings.length, 2, `one warning per reason: ${warnings.join('\n')}`);
    assert.match(warnings[0]!, /bank not reachable.*ECONNREFUSED/);
    assert.match(warnings[1]!, /no answer in time/);
    assert.equal(infos.filter((m) => m === 'bank reachable').length, 1);
    assert.ok(seen.includes(refused.message) && seen.includes(timedOut.message));
    assert.equal(worker.status().lastError, null, 'cleared once the bank answers');
  });
});
