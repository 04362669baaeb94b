import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCommandApdu } from '../../protocol/apdu/index.js';
import { CMD, CardClient } from '../../protocol/commands/index.js';
import { TrustStore, decodeRevocationList } from '../../protocol/record/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { initIssuerDir } from '../../host/issuer/issuer-dir.js';
import { prepareSimCard } from '../../host/cli/sim-command.js';
import { HostStore } from '../../host/store/host-store.js';
import { ReaderHub } from '../../host/readers/reader-hub.js';
import { SaleEngine } from '../../host/sale/sale-engine.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { saleWhere } from '../support/sale-wait.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { sleep, until } from '../support/settlement-helpers.js';

type ErrorBody = { error: { code: string; message: string; hint: string } };

const READER = encodeURIComponent('fixture reader');

describe('daemon: the sale engine through the API', function () {
  this.timeout(30_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  const cardCounter = async (fx: DaemonFixture) =>
    (await fx.api<{ counter: number }>('GET', `/api/v1/readers/${READER}/card`)).body.counter;

  it('a PIN sale (above the no-PIN limit) with one wrong PIN: tries left 2, then the right PIN completes it', async () => {
    f = await DaemonFixture.start();
    const res = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 15_000 });
    assert.equal(res.status, 201);
    const id = res.body.saleId;
    const asking = await saleWhere(f.daemon.engine, id, (s) => s.state === 'pin');
    assert.equal(asking.pinTriesLeft, 3);
    assert.equal(asking.pinOnDevice, false);
    assert.equal((await f.api('POST', `/api/v1/sales/${id}/pin`, { pin: '9999' })).status, 202);
    const wrong = await saleWhere(f.daemon.engine, id, (s) => s.notice?.code === 'PIN_WRONG');
    assert.equal(wrong.state, 'pin');
    assert.equal(wrong.pinTriesLeft, 2);
    assert.equal((await f.api('POST', `/api/v1/sales/${id}/pin`, { pin: FIXTURE_PIN })).status, 202);
    const done = await f.waitForSale(id);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.receipt!.pinVerified, true);
    assert.equal(done.receipt!.amount, 15_000);
  });

  it('three wrong PINs block the card: the sale fails with CARD_PIN_BLOCKED', async () => {
    f = await DaemonFixture.start();
    const id = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 12_000 })).body.saleId;
    for (const left of [2, 1]) {
      await saleWhere(f.daemon.engine, id, (s) => s.state === 'pin' && s.pinTriesLeft === left + 1);
      await f.api('POST', `/api/v1/sales/${id}/pin`, { pin: '0000' });
      await saleWhere(f.daemon.engine, id, (s) => s.pinTriesLeft === left);
    }
    await f.api('POST', `/api/v1/sales/${id}/pin`, { pin: '0000' });
    const end = await f.waitForSale(id);
    assert.equal(end.state, 'failed');
    assert.equal(end.error?.code, 'CARD_PIN_BLOCKED');
    assert.ok(end.error!.hint.length > 0, 'the merchant is told what to do');
    const api = await f.api<SaleSnapshot>('GET', `/api/v1/sales/${id}`);
    assert.equal(api.body.error?.code, 'CARD_PIN_BLOCKED');
  });

  it('the card pulled after it signed but before the answer arrived: back to waiting_card, then the record comes back from the journal', async () => {
    f = await DaemonFixture.start({ readerLatencyMs: 20 });
    const fx = f;
    // Pull the card during the second half of the SIGN_TXN round trip: the card has signed, the host never hears it.
    const applet = fx.applet;
    const transmit = applet.transmit.bind(applet);
    let pulled = false;
    applet.transmit = (apdu: Uint8Array) => {
      const out = transmit(apdu);
      if (!pulled && decodeCommandApdu(apdu).data?.[0] === CMD.SIGN_TXN) {
        pulled = true;
        setImmediate(() => fx.reader.remove());
      }
      return out;
    };
    const id = (await fx.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 800 })).body.saleId;
    const back = await saleWhere(fx.daemon.engine, id, (s) => s.state === 'waiting_card' && s.notice !== null);
    assert.ok(pulled, 'the pull happened during SIGN_TXN');
    assert.equal(back.notice?.code, 'SALE_UNCONFIRMED', 'the card may have paid: only it can finish the sale');
    assert.equal(fx.daemon.store.records().length, 0, 'the host has no record yet');
    fx.reader.insert(applet);
    const done = await fx.waitForSale(id);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.receipt!.recordId, `${fx.cardId}:1`, 'the record the card signed before the pull, not a new one');
    const row = fx.daemon.store.record(done.receipt!.recordId)!;
    assert.equal(row.origin, 'recovered');
    assert.equal(row.saleId, id);
    assert.equal(fx.daemon.store.records().length, 1);
    assert.equal(await cardCounter(fx), 1, 'the card counter advanced once');
  });

  it('a crash between the signature and the commit: after restart the next card session recovers the record, and it settles', async () => {
    f = await DaemonFixture.start({
      faults: {
        afterSign: () => {
          throw new Error('simulated process death before the SQLite commit');
        },
      },
    });
    const id = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 900 })).body.saleId;
    const end = await f.waitForSale(id);
    assert.notEqual(end.state, 'done', 'no receipt without a durable record');
    assert.equal(f.daemon.store.records().length, 0);
    await f.restart({ faults: {} });
    const card = await f.api<{ counter: number; recovered: string[] }>('GET', `/api/v1/readers/${READER}/card`);
    assert.equal(card.status, 200, JSON.stringify(card.body));
    assert.equal(card.body.counter, 1);
    const row = f.daemon.store.record(`${f.cardId}:1`);
    assert.ok(row, 'the record is back from the card journal');
    assert.equal(row.origin, 'recovered');
    assert.equal(row.amount, 900);
    f.daemon.worker.poke();
    await until(
      () => f!.daemon.store.record(`${f!.cardId}:1`)?.status === 'settled',
      'the recovered record to settle',
      10_000,
    );
    assert.ok(f.bank.settledRecord(f.cardId, 1), 'the bank has it');
  });

  it('cancel while waiting for the card, and during PIN entry', async () => {
    f = await DaemonFixture.start({ insert: false });
    const a = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 500 })).body;
    assert.equal(a.state, 'waiting_card');
    const c = await f.api<SaleSnapshot>('POST', `/api/v1/sales/${a.saleId}/cancel`);
    assert.equal(c.status, 200);
    assert.equal(c.body.state, 'cancelled');
    f.reader.insert(f.applet);
    const b = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 20_000 })).body;
    await saleWhere(f.daemon.engine, b.saleId, (s) => s.state === 'pin');
    await f.api('POST', `/api/v1/sales/${b.saleId}/cancel`);
    const end = await f.waitForSale(b.saleId);
    assert.equal(end.state, 'cancelled');
    assert.equal(
      (await f.api<ErrorBody>('POST', `/api/v1/sales/${b.saleId}/pin`, { pin: FIXTURE_PIN })).status,
      404,
      'a PIN for an ended sale is refused',
    );
    assert.equal(await cardCounter(f), 0, 'nothing was signed');
    assert.equal(f.daemon.store.records().length, 0);
  });

  it('offline limits (per sale, unsettled amount, unsettled age) refuse with their codes and show in GET /api/v1/status', async () => {
    f = await DaemonFixture.start({
      config: { limits: { perSale: 20_000, unsettledAmount: 5_000, unsettledAgeHours: 0.0002 } },
    });
    f.bank.setFaults({ down: true });
    const st = await f.api<{ limits: unknown; unsettled: { byCurrency: { currency: number; amount: number }[] } }>(
      'GET',
      '/api/v1/status',
    );
    assert.deepEqual(st.body.limits, { perSale: 20_000, unsettledAmount: 5_000, unsettledAgeHours: 0.0002 });
    const over = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 20_001 });
    assert.equal(over.status, 422);
    assert.equal(over.body.error.code, 'OFFLINE_LIMIT_PER_SALE');
    const first = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 3_000 })).body;
    assert.equal((await f.waitForSale(first.saleId)).state, 'done');
    const sum = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 3_000 });
    assert.equal(sum.status, 422);
    assert.equal(sum.body.error.code, 'OFFLINE_LIMIT_UNSETTLED_AMOUNT');
    const st2 = await f.api<{ unsettled: { byCurrency: { currency: number; amount: number }[] } }>(
      'GET',
      '/api/v1/status',
    );
    assert.deepEqual(
      st2.body.unsettled.byCurrency.map((c) => [c.currency, c.amount]),
      [[156, 3_000]],
      'the amount waiting is shown',
    );
    await sleep(800); // the limit is 0.72 s
    const age = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 1_000 });
    assert.equal(age.status, 422);
    assert.equal(age.body.error.code, 'OFFLINE_LIMIT_AGE');
    assert.ok(age.body.error.hint.length > 0);
  });

  it('Idempotency-Key: the same key returns the same sale; another amount under it is 409 SALE_KEY_REUSED', async () => {
    f = await DaemonFixture.start();
    const key = { 'Idempotency-Key': 'till-3/receipt-0042' };
    const a = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1_000 }, key);
    assert.equal(a.status, 201);
    await f.waitForSale(a.body.saleId);
    const b = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1_000 }, key);
    assert.equal(b.body.saleId, a.body.saleId);
    assert.equal(b.body.state, 'done');
    assert.equal(f.daemon.store.records().length, 1, 'charged once');
    const c = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 1_001 }, key);
    assert.equal(c.status, 409);
    assert.equal(c.body.error.code, 'SALE_KEY_REUSED');
    const d = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 1_000, reader: 'another reader' }, key);
    assert.equal(d.status, 409, 'the same key for a sale at another reader is refused');
    assert.equal(d.body.error.code, 'SALE_KEY_REUSED');
  });

  it("a sale in another currency than the card's fails with CARD_CURRENCY_MISMATCH, nothing signed", async () => {
    f = await DaemonFixture.start();
    const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1_000, currency: 840 })).body;
    const end = await f.waitForSale(s.saleId);
    assert.equal(end.state, 'failed');
    assert.equal(end.error?.code, 'CARD_CURRENCY_MISMATCH');
    assert.equal(await cardCounter(f), 0);
  });

  it('a card revoked at the bank is refused at the counter with CARD_REVOKED once the list is fetched', async () => {
    f = await DaemonFixture.start();
    f.bank.revokeCard(f.cardId);
    // The keeper fetches at most once a minute; a restart fetches at once (there is no "refresh now" to poke).
    await f.restart();
    const saved = join(f.daemon.config.dataDir, DATA_FILES.revocations);
    const savedSequence = () => (existsSync(saved) ? decodeRevocationList(readFileSync(saved)).sequence : 0);
    await until(
      () => savedSequence() >= f!.bank.revocationList().sequence,
      'the daemon to fetch (and keep) the new revocation list',
      10_000,
    );
    const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 700 })).body;
    const end = await f.waitForSale(s.saleId);
    assert.equal(end.state, 'failed');
    assert.equal(end.error?.code, 'CARD_REVOKED');
    assert.equal(f.daemon.store.records().length, 0);
  });
});

describe('daemon: the sale engine alone (short time-outs)', function () {
  this.timeout(20_000);
  let dir: string;
  let store: HostStore;
  let engine: SaleEngine;
  let reader: InProcessReader;
  let applet: CardApplet;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-engine-'));
    const issuer = initIssuerDir(join(dir, 'issuer'));
    applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true });
    await prepareSimCard(applet, { issuerDir: issuer.dir, pin: '2468', balance: 100_000, currency: 156 });
    const trust = new TrustStore();
    trust.addIssuer(issuer.ca.certificate);
    store = HostStore.open(join(dir, 'q.sqlite'));
    const hub = new ReaderHub();
    reader = new InProcessReader({ name: 'r' });
    hub.add(reader, 'simulated');
    engine = new SaleEngine({
      store,
      trust,
      hub,
      merchantId: 'M',
      terminalId: 'T-1',
      currency: 156,
      timeouts: { cardMs: 150, pinMs: 150 },
      limits: { perSale: null, unsettledAmount: null, unsettledAgeMs: null },
      online: () => false,
    });
  });
  after(() => {
    engine.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no card within the card time-out: timed_out', async () => {
    const s = engine.start({ amount: 100 });
    assert.equal(s.state, 'waiting_card');
    assert.ok(s.deadline !== null && s.deadline > Date.now(), 'the deadline is shown');
    const end = await saleWhere(engine, s.saleId, (x) => x.state === 'timed_out', 2000);
    assert.equal(end.error, null);
    assert.equal(store.sale(s.saleId)?.state, 'timed_out', 'the end is stored');
  });

  it('no PIN within the PIN time-out: timed_out, nothing signed', async () => {
    reader.insert(applet);
    const s = engine.start({ amount: 50_000 });
    await saleWhere(engine, s.saleId, (x) => x.state === 'pin', 2000);
    const end = await saleWhere(engine, s.saleId, (x) => x.state === 'timed_out', 2000);
    assert.equal(end.receipt, null);
    const info = await new CardClient(reader).getInfo();
    assert.equal(info.counter, 0);
  });
});
