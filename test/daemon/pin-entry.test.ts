import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { runCli } from '../../host/cli/main.js';
import { loadConfig } from '../../host/daemon/config.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { pairCookie } from '../support/raw-http.js';

type ApiError = { error: { code: string; hint: string } };

/**
 * Issue 15: the customer's PIN is typed on the customer display, never on the merchant's keyboard or
 * screen (sale.pinEntry, default `customer-display`): the counter page shows no PIN field, the PIN route
 * refuses the counter page and the bearer token, and `cardpost sale` does not ask for it.
 */
describe('daemon: a sale’s PIN only on the customer display (sale.pinEntry, issue 15)', function () {
  this.timeout(30_000);
  let f: DaemonFixture;
  let display: string;
  beforeEach(async () => {
    f = await DaemonFixture.start({ config: { sale: { pinEntry: 'customer-display' } } });
    display = (await pairCookie(f.url, f.token, 'display')).cookie;
  });
  afterEach(async () => {
    await f?.stop();
  });

  const postPin = (saleId: string, headers: Record<string, string>, pin = FIXTURE_PIN) =>
    fetch(`${f.url}/api/v1/sales/${saleId}/pin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ pin }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as ApiError }));

  it('is the default; the status says so; the counter page and the bearer token are refused PIN_ENTRY_NOT_HERE, the display’s PIN pays', async () => {
    assert.equal(loadConfig({ overrides: {}, env: {} }).sale.pinEntry, 'customer-display');
    assert.equal((await f.api<{ pinEntry: string }>('GET', '/api/v1/status')).body.pinEntry, 'customer-display');
    const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 25_000 })).body;
    assert.equal((await f.waitForSale(s.saleId, ['pin', 'failed'])).state, 'pin');
    const bearer = await postPin(s.saleId, { Authorization: `Bearer ${f.token}` });
    assert.equal(bearer.status, 403);
    assert.equal(bearer.body.error.code, 'PIN_ENTRY_NOT_HERE');
    assert.match(bearer.body.error.hint, /customer display/);
    const counter = (await pairCookie(f.url, f.token, 'counter')).cookie;
    const fromCounter = await postPin(s.saleId, { Cookie: counter });
    assert.equal(fromCounter.status, 403);
    assert.equal(fromCounter.body.error.code, 'PIN_ENTRY_NOT_HERE');
    assert.equal((await f.api<SaleSnapshot>('GET', `/api/v1/sales/${s.saleId}`)).body.pinTriesLeft, 3, 'no try spent');
    assert.equal((await postPin(s.saleId, { Cookie: display })).status, 202);
    assert.equal((await f.waitForSale(s.saleId)).state, 'done');
  });

  it('`cardpost sale` asks for no PIN: it says the customer types it on the display, and the sale is paid from there', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const running = runCli(
      ['sale', '--amount', '250.00', '--data-dir', join(f.dir, 'data')],
      { out: (l) => out.push(l), setExitCode: () => {} },
      (l) => err.push(l),
    );
    let saleId: string | undefined;
    for (let i = 0; i < 200 && !saleId; i++) {
      const active = (await f.api<{ active: SaleSnapshot[] }>('GET', '/api/v1/sales')).body.active;
      if (active[0]?.state === 'pin') saleId = active[0].saleId;
      else await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(saleId, 'the sale waits for the PIN');
    for (let i = 0; i < 200 && !out.some((l) => /customer display/.test(l)); i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal((await postPin(saleId, { Cookie: display })).status, 202);
    assert.equal(await running, 0, err.join('\n'));
    assert.ok(
      out.some((l) => /the customer types the PIN on the customer display/.test(l)),
      out.join('\n'),
    );
    assert.ok(!out.some((l) => /PIN for/.test(l)), 'no PIN prompt at the counter');
  });
});
