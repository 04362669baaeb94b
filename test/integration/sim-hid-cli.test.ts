import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimBank } from '../../device-sim/bank/index.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';
import { initIssuerDir, issueTerminal } from '../../host/issuer/issuer-dir.js';
import { FINAL_STATES, type SaleSnapshot } from '../../host/sale/sale-types.js';
import { CliProcess } from '../support/cli.js';

interface ReaderRow {
  name: string;
  kind: string;
  cardPresent: boolean;
}

/**
 * `cardpost sim hid` and `cardpost daemon` as two processes, the way a QA scenario runs them: the
 * daemon's readers.hidEndpoint points at the simulated keys, a sale is paid through the key over the
 * daemon's HTTP API, and `unplug` typed on the simulator's stdin is seen by the daemon. No pcscd.
 */
describe('cardpost sim hid + cardpost daemon (readers.hidEndpoint)', function () {
  this.timeout(60_000);
  let dir = '';
  let bank: SimBank;
  let sim: CliProcess | undefined;
  let daemon: CliProcess | undefined;
  let url = '';
  let token = '';

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(url + path, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const hidReaders = async () =>
    (await api<{ readers: ReaderRow[] }>('GET', '/api/v1/readers')).body.readers.filter((r) => r.kind === 'hid-key');
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-simhid-'));
    const issuer = initIssuerDir(join(dir, 'issuer'), { name: 'sim hid test issuer' });
    issueTerminal(issuer, 'T-HID-01', join(dir, 'terminal'));
    bank = new SimBank({
      dbPath: join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.ca.certificate,
      authority: issuer.authority,
    });
    const bankUrl = (await bank.listen({ host: '127.0.0.1', port: 0 })).url;
    sim = new CliProcess(['sim', 'hid', '--listen', '127.0.0.1:0', '--issuer', issuer.dir, '--balance', '300.00']);
    const line = await sim.waitFor(/^hid endpoint /, 20_000);
    const endpoint = /^hid endpoint (127\.0\.0\.1:\d+)$/.exec(line)?.[1];
    assert.ok(endpoint, `one parseable line: ${line}`);
    writeFileSync(
      join(dir, 'daemon.json'),
      JSON.stringify({
        dataDir: './data',
        terminalDir: './terminal',
        merchantId: 'M-HID',
        currency: 'CNY',
        authorityCertificate: './issuer/authority.cert',
        bank: { url: bankUrl, healthIntervalMs: 300, backoffBaseMs: 50, backoffMaxMs: 500, timeoutMs: 3000 },
        api: { port: 0 },
        readers: { pcsc: false, hidEndpoint: endpoint },
        log: { level: 'warn' },
      }),
    );
    daemon = new CliProcess(['daemon', '--config', join(dir, 'daemon.json')]);
    await daemon.waitFor(/cardpost daemon for terminal/, 30_000);
    const info = JSON.parse(readFileSync(join(dir, 'data', DATA_FILES.info), 'utf8')) as { url: string };
    url = info.url;
    token = readFileSync(join(dir, 'data', 'api-token'), 'utf8').trim();
  });

  after(async () => {
    await daemon?.stop();
    await sim?.stop();
    await bank?.close().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a sale is paid through the simulated HID key, end to end through the daemon', async () => {
    const key = await until('the HID key in the daemon', async () => (await hidReaders()).find((r) => r.cardPresent));
    assert.match(key.name, /cardpost simulated card key SIMKEY/);
    const res = await api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 2_345 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const done = await until('the sale to end', async () => {
      const s = (await api<SaleSnapshot>('GET', `/api/v1/sales/${res.body.saleId}`)).body;
      return FINAL_STATES.has(s.state) ? s : undefined;
    });
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(done.receipt?.amount, 2_345);
    assert.equal(done.receipt?.balanceAfter, 30_000 - 2_345, 'the card in the key paid');
  });

  it('`unplug` on the simulator stdin is seen by the daemon, `plug` brings the key back', async () => {
    sim!.send('unplug 0');
    await sim!.waitFor(/^key 0: unplugged$/);
    await until('the daemon to see the key leave', async () =>
      (await hidReaders()).some((r) => r.cardPresent) ? undefined : true,
    );
    sim!.send('status');
    await sim!.waitFor(/^key 0: unplugged \(SIMKEY/);
    sim!.send('plug 0');
    await until('the key back in the daemon', async () => (await hidReaders()).find((r) => r.cardPresent));
  });
});
