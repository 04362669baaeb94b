import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CARDPOST_BIN } from '../support/cli.js';
import { spawn } from 'node:child_process';
import { PcscdEnv, missingPcscParts } from '../support/pcscd.js';
import { requireSystem } from '../support/system.js';
import { CounterProcesses } from '../support/counter-processes.js';
import { FINAL_STATES, type SaleSnapshot } from '../../host/sale/sale-types.js';

/** Run the cardpost CLI against the counter's data dir. */
function cli(
  c: CounterProcesses,
  args: string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CARDPOST_BIN, ...args, '--data-dir', c.dataDir], {
      env: { ...process.env, CARDPOST_LANG: 'en' }, // its assertions read the English words
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

describe('daemon end to end through real pcscd + vpcd + simulated card + simulated bank', function () {
  this.timeout(120_000);
  let env: PcscdEnv;
  let c: CounterProcesses;

  before(async function () {
    requireSystem(this, missingPcscParts(), 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev');
    env = await PcscdEnv.get();
    // A short PC/SC watchdog, so the hung-card test below waits seconds, not the default 30 s.
    c = await CounterProcesses.create(env, 0, { readers: { pcsc: true, pcscTransmitTimeoutS: 3 } });
    await c.startCard();
    await c.startDaemon();
    await c.waitForReader();
  });
  after(async () => {
    await c?.stop();
  });

  it('cardpost sale: receipt after the durable store; cardpost queue; cardpost settle; cardpost reconcile', async () => {
    const sale = await cli(c, ['sale', '--amount', '12.50']);
    assert.equal(sale.code, 0, sale.stdout + sale.stderr);
    assert.match(sale.stdout, /receipt: ¥12\.50 paid by card .*record [0-9a-f]{16}:1/);
    const pin = await cli(c, ['sale', '--amount', '150.00'], '1234\n');
    assert.equal(pin.code, 0, pin.stdout + pin.stderr);
    assert.match(pin.stdout, /waiting for the PIN \(3 tries left\)/);
    const queue = await cli(c, ['queue', '--json']);
    const q = JSON.parse(queue.stdout) as { records: { recordId: string; status: string }[] };
    assert.equal(q.records.length, 2, queue.stdout);
    const settle = await cli(c, ['settle']);
    assert.equal(settle.code, 0, settle.stdout + settle.stderr);
    assert.match(settle.stdout, /nothing waiting to settle/);
    const rec = await cli(c, ['reconcile', '--json']);
    assert.equal(rec.code, 0, rec.stdout + rec.stderr);
    const r = JSON.parse(rec.stdout) as {
      match: boolean;
      lines: { currency: number; host: { count: number; amount: number } }[];
    };
    assert.ok(r.match, `host and bank agree: ${rec.stdout}`);
    assert.deepEqual(
      r.lines.map((l) => [l.currency, l.host.count, l.host.amount]),
      [[156, 2, 16_250]],
    );
    const exported = await cli(c, ['queue', 'export']);
    const ex = JSON.parse(exported.stdout) as {
      records: { recordId: string; envelope: string; certificate: string }[];
    };
    assert.equal(ex.records.length, 2);
    assert.ok(
      ex.records.every((x) => x.envelope.length > 100 && x.certificate.length > 100),
      'export carries records and certificates',
    );
  });

  it('cardpost readers, card info and apdu go through the daemon to the PC/SC reader', async () => {
    const readers = await cli(c, ['readers', '--json']);
    const list = JSON.parse(readers.stdout) as { name: string; kind: string; cardPresent: boolean }[];
    assert.ok(
      list.some((r) => r.name === c.readerName && r.kind === 'pcsc' && r.cardPresent),
      readers.stdout,
    );
    const info = await cli(c, ['card', 'info', '--json', '--reader', c.readerName]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { counter: number }).counter, 2);
    const apdu = await cli(c, ['apdu', '00A404000AF043415244504F535401', '--reader', c.readerName]);
    assert.equal(apdu.code, 0, apdu.stderr);
    assert.match(apdu.stdout.trim(), /^[0-9A-F]{22}9000$/, 'SELECT answered in full: 61xx followed by GET RESPONSE');
    const raw = await cli(c, ['apdu', '00A404000AF043415244504F535401', '--raw', '--reader', c.readerName]);
    assert.match(raw.stdout.trim(), /^61[0-9A-F]{2}$/, "with --raw the card's first answer comes back as is");
  });

  it('survives pcscd restarting: the reader comes back and the next sale works', async function () {
    if (!env.owned) this.skip(); // only a pcscd these tests started may be restarted
    await env.restart();
    await c.waitForReader(30_000);
    const res = await c.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 700 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const done = await c.saleOutcome(res.body.saleId);
    assert.equal(done?.state, 'done', JSON.stringify(done));
  });

  const cardNow = async () =>
    (
      await c.api<{ cardId: string; counter: number }>(
        'GET',
        `/api/v1/readers/${encodeURIComponent(c.readerName)}/card`,
      )
    ).body;

  /** Start a sale and poll until it waits for the card again after its SIGN_TXN answer was lost (never ending, within 15 s). */
  async function saleBackToWaiting(amount: number): Promise<{ id: string; back: SaleSnapshot; startedAt: number }> {
    const startedAt = Date.now();
    const res = await c.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.saleId;
    for (let i = 0; ; i++) {
      const s = (await c.api<SaleSnapshot>('GET', `/api/v1/sales/${id}`)).body;
      if (s.state === 'waiting_card' && s.notice) return { id, back: s, startedAt };
      assert.ok(!FINAL_STATES.has(s.state), `the sale must wait for the card again, not end: ${JSON.stringify(s)}`);
      assert.ok(i < 300, `the lost answer is given up within 15 s (no hang): ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('the card pulled mid-command through pcscd (after it signed, before its answer): a typed error, no hang; put back, its journal gives the record, charged once', async () => {
    const card = cardNow;
    const before = await card();
    const seen = c.card!.lines.length;
    c.card!.send('pull-during SIGN_TXN');
    await c.card!.waitFor(/will be pulled during the next SIGN_TXN/);
    const { id, back, startedAt: started } = await saleBackToWaiting(450);
    // The card may have paid (it was pulled during SIGN_TXN): only it can finish the sale; the cause is the typed CARD_REMOVED.
    assert.equal(back.notice!.code, 'SALE_UNCONFIRMED', JSON.stringify(back.notice));
    assert.match(back.notice!.message, /CARD_REMOVED/, JSON.stringify(back.notice));
    assert.match(back.notice!.hint, /\S/, 'the counter is told what to do');
    assert.ok(
      c.card!.lines.slice(seen).some((l) => /card 0: removed/.test(l)),
      'the card left the reader during SIGN_TXN',
    );
    const noticedMs = Date.now() - started;
    c.card!.send('insert');
    const done = await c.saleOutcome(id);
    assert.equal(done?.state, 'done', JSON.stringify(done));
    assert.equal(
      done!.receipt!.recordId,
      `${before.cardId}:${before.counter + 1}`,
      'the record the card signed before the pull, not a second one',
    );
    const after = await card();
    assert.equal(after.counter, before.counter + 1, 'the card was charged once');
    const q = (
      await c.api<{ records: { recordId: string; origin: string; saleId: string | null }[] }>(
        'GET',
        '/api/v1/queue?limit=1000',
      )
    ).body;
    const mine = q.records.filter((r) => r.saleId === id);
    assert.deepEqual(
      mine.map((r) => [r.recordId, r.origin]),
      [[done!.receipt!.recordId, 'recovered']],
    );
    assert.ok(noticedMs < 15_000, `noticed in ${noticedMs} ms`);
  });

  it('a card that hangs during SIGN_TXN through pcscd: the watchdog ends the wait (TIMEOUT), the sale waits for the same card; out and back in, its journal gives the record, charged once', async () => {
    const card = cardNow;
    const before = await card();
    c.card!.send('stall-during SIGN_TXN');
    await c.card!.waitFor(/will be stalled during the next SIGN_TXN/);
    const { id, back, startedAt } = await saleBackToWaiting(460);
    assert.equal(back.notice!.code, 'SALE_UNCONFIRMED');
    const waited = Date.now() - startedAt;
    assert.match(
      back.notice!.message,
      /TIMEOUT: .* (did not answer within 3 s|is still busy with a command that never answered)/,
      JSON.stringify(back.notice),
    );
    assert.ok(waited >= 2_500, `the watchdog, not another error, ended the wait (${waited} ms)`);
    c.card!.send('remove');
    await c.card!.waitFor(/card 0: removed/);
    c.card!.send('insert');
    const done = await c.saleOutcome(id);
    assert.equal(done?.state, 'done', JSON.stringify(done));
    assert.equal(
      done!.receipt!.recordId,
      `${before.cardId}:${before.counter + 1}`,
      'the record the card signed before it hung',
    );
    assert.equal((await card()).counter, before.counter + 1, 'the card was charged once');
  });

  it('a card whose answer-to-reset offers only T=0, refusing extended APDUs: a PIN sale works the same', async () => {
    await c.card!.stop();
    for (let i = 0; ; i++) {
      const r = await c.api<{ readers: { name: string; cardPresent: boolean }[] }>('GET', '/api/v1/readers');
      if (!r.body.readers.some((x) => x.name === c.readerName && x.cardPresent)) break;
      assert.ok(i < 100, 'the daemon sees the card leave');
      await new Promise((res) => setTimeout(res, 100));
    }
    await new Promise((res) => setTimeout(res, 1500)); // pcscd 1.9.9 + vpcd: let the slot settle (architecture.md §7)
    await c.startCard('5000.00', ['--t0', '--no-extended']);
    await c.waitForReader(30_000);
    const res = await c.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 15_000 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    for (let i = 0; (await c.api<SaleSnapshot>('GET', `/api/v1/sales/${res.body.saleId}`)).body.state !== 'pin'; i++) {
      assert.ok(i < 200, 'the sale asks for the PIN');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await c.api('POST', `/api/v1/sales/${res.body.saleId}/pin`, { pin: '1234' })).status, 202);
    const done = await c.saleOutcome(res.body.saleId);
    assert.equal(done?.state, 'done', JSON.stringify(done));
    assert.equal(done?.receipt?.pinVerified, true);
    if (env.owned)
      assert.match(
        readFileSync(env.logFile, 'utf8'),
        /Card ATR: 3B 08 43 41 52 44 50 4F 53 54/,
        'pcscd saw the T=0-only ATR',
      );
  });

  it('the token is required and its file is private', async () => {
    const res = await fetch(c.url + '/api/v1/status');
    assert.equal(res.status, 401);
    const mode = (await import('node:fs')).statSync(join(c.dataDir, 'api-token')).mode & 0o777;
    assert.equal(mode, 0o600);
    assert.equal(readFileSync(join(c.dataDir, 'api-token'), 'utf8').trim(), c.token);
  });
});
