import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CardClient } from '../../protocol/commands/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { prepareSimCard } from '../../host/cli/sim-command.js';
import { runCli } from '../../host/cli/main.js';
import type { CardStatement } from '../../host/sale/statement.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';

const READER = encodeURIComponent('fixture reader');
const HOUR = 3600;

/** Pay straight on a card (before it is in a reader): the journal the statement reads. */
async function payOnCard(
  applet: CardApplet,
  sales: { amount: number; merchantId: string; time: number }[],
): Promise<void> {
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  applet.powerOn();
  await client.select();
  await client.verifyPin(new TextEncoder().encode(FIXTURE_PIN));
  for (const s of sales)
    await client.signTxn({
      ...s,
      currency: 156,
      terminalId: 'T-SHOP-9',
      hostNonce: Uint8Array.from(randomBytes(16)),
    });
  applet.powerOff();
}

async function cli(f: DaemonFixture, args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    [...args, '--data-dir', join(f.dir, 'data')],
    { out: (l) => out.push(l), setExitCode: () => {} },
    (l) => err.push(l),
  );
  return { code, out, err };
}

async function displayCookie(f: DaemonFixture): Promise<string> {
  const res = await fetch(`${f.url}/api/v1/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: f.token, scope: 'display' }),
  });
  assert.equal(res.status, 200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

async function asDisplay<T>(f: DaemonFixture, cookie: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(f.url + path, { headers: { Cookie: cookie } });
  return { status: res.status, body: (await res.json()) as T };
}

type ErrorBody = { error: { code: string; message: string; hint: string } };

/** A second personalised card of the fixture's issuer. */
async function anotherCard(f: DaemonFixture): Promise<{ applet: CardApplet; cardId: string }> {
  const applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true });
  const made = await prepareSimCard(applet, {
    issuerDir: f.issuer.dir,
    pin: FIXTURE_PIN,
    balance: 7_700,
    currency: 156,
  });
  return { applet, cardId: made.cardId };
}

describe("daemon: the holder's statement (route and CLI, issue 14)", function () {
  this.timeout(30_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  it('a card with several payments: newest first, with amounts, merchants, times, balances after and the balance', async () => {
    f = await DaemonFixture.start({ balance: 100_000, insert: false });
    const now = Math.floor(Date.now() / 1000);
    await payOnCard(f.applet, [
      { amount: 1_250, merchantId: 'M-BAKERY', time: now - 3 * HOUR },
      { amount: 3_000, merchantId: 'M-CANTEEN', time: now - 2 * HOUR },
      { amount: 880, merchantId: 'M-GROCER', time: now - HOUR },
    ]);
    f.reader.insert(f.applet);
    // and one paid here, through the daemon
    const sale = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 500 });
    assert.equal((await f.waitForSale(sale.body.saleId)).state, 'done');

    const res = await f.api<CardStatement>('GET', `/api/v1/readers/${READER}/statement`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const s = res.body;
    assert.equal(s.cardId, f.cardId);
    assert.equal(s.card, '••' + f.cardId.slice(-4));
    assert.equal(s.balance, 100_000 - 1_250 - 3_000 - 880 - 500);
    assert.equal(s.journalHolds, 4);
    assert.deepEqual(
      s.entries.map((e) => [e.amount, e.merchantId, e.balanceAfter, e.counter]),
      [
        [500, 'M-TEST', 94_370, 4],
        [880, 'M-GROCER', 94_870, 3],
        [3_000, 'M-CANTEEN', 95_750, 2],
        [1_250, 'M-BAKERY', 98_750, 1],
      ],
    );
    assert.deepEqual(
      s.entries.slice(1).map((e) => e.time),
      [now - HOUR, now - 2 * HOUR, now - 3 * HOUR],
    );
    assert.equal(s.entries[0]!.recordId, `${f.cardId}:4`);

    const limited = await f.api<CardStatement>('GET', `/api/v1/readers/${READER}/statement?limit=2`);
    assert.deepEqual(
      limited.body.entries.map((e) => e.counter),
      [4, 3],
    );

    const text = await cli(f, ['card', 'statement']);
    assert.equal(text.code, 0, text.err.join('\n'));
    assert.match(text.out[0]!, new RegExp(`card ${f.cardId} in fixture reader: balance ¥943\\.70`));
    assert.match(text.out[1]!, /last 4 payments, newest first/);
    assert.match(text.out[2]!, /¥5\.00 +merchant M-TEST .*balance after ¥943\.70/);
    assert.match(text.out[5]!, /¥12\.50 +merchant M-BAKERY \(terminal T-SHOP-9\) +balance after ¥987\.50 +#1/);
    assert.match(
      text.out[5]!,
      new RegExp(new Date((now - 3 * HOUR) * 1000).toISOString().slice(0, 16).replace('T', ' ')),
    );

    const asJson = await cli(f, ['card', 'statement', '--reader', 'fixture reader', '--limit', '1', '--json']);
    assert.equal(asJson.code, 0, asJson.err.join('\n'));
    const parsed = JSON.parse(asJson.out.join('\n')) as CardStatement;
    assert.equal(parsed.entries.length, 1);
    assert.equal(parsed.entries[0]!.amount, 500);
  });

  it('an empty journal says so', async () => {
    f = await DaemonFixture.start();
    const res = await f.api<CardStatement>('GET', `/api/v1/readers/${READER}/statement`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.entries, []);
    assert.equal(res.body.journalHolds, 0);
    assert.equal(res.body.balance, 500_000);
    const text = await cli(f, ['card', 'statement']);
    assert.equal(text.code, 0);
    assert.match(text.out.join('\n'), /balance ¥5000\.00\nno payments on the card yet/);
  });

  it('a card that cannot be read, an unknown reader, a busy reader: typed errors', async () => {
    f = await DaemonFixture.start({ insert: false });
    const empty = await f.api<ErrorBody>('GET', `/api/v1/readers/${READER}/statement`);
    assert.ok(empty.status >= 400 && empty.status < 500, `status ${empty.status}`);
    assert.match(empty.body.error.code, /^[A-Z][A-Z_]+$/);
    assert.notEqual(empty.body.error.code, 'INTERNAL');
    assert.ok(empty.body.error.hint.length > 0);

    // a blank card: never issued, so there is nothing signed to show
    f.reader.insert(new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true }));
    const blank = await f.api<ErrorBody>('GET', `/api/v1/readers/${READER}/statement`);
    assert.equal(blank.status, 422);
    assert.equal(blank.body.error.code, 'CARD_BLANK');
    const cliBlank = await cli(f, ['card', 'statement']);
    assert.notEqual(cliBlank.code, 0);
    assert.match(cliBlank.err.join('\n'), /CARD_BLANK/);

    const unknown = await f.api<ErrorBody>('GET', '/api/v1/readers/no%20such%20reader/statement');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'READER_UNKNOWN');

    f.reader.insert(f.applet);
    const sale = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 150_000, reader: 'fixture reader' });
    await f.waitForSale(sale.body.saleId, ['pin']);
    const busy = await f.api<ErrorBody>('GET', `/api/v1/readers/${READER}/statement`);
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'READER_BUSY');
  });

  it('malformed input is refused with a typed error (route and CLI)', async () => {
    f = await DaemonFixture.start();
    for (const q of ['limit=0', 'limit=51', 'limit=abc', 'limit=-1', 'show=yes', 'reader=x']) {
      const res = await f.api<ErrorBody>('GET', `/api/v1/readers/${READER}/statement?${q}`);
      assert.ok(res.status === 400 || res.status === 422, `${q}: ${res.status}`);
      assert.match(res.body.error.code, /^(REQUEST_INVALID|STATEMENT_LIMIT_INVALID)$/, q);
    }
    const zero = await f.api<ErrorBody>('GET', `/api/v1/readers/${READER}/statement?limit=0`);
    assert.equal(zero.body.error.code, 'STATEMENT_LIMIT_INVALID');
    const ctl = await f.api<ErrorBody>('GET', `/api/v1/readers/a%01b/statement`);
    assert.equal(ctl.status, 400);
    assert.equal(ctl.body.error.code, 'REQUEST_INVALID');

    for (const bad of [
      ['--limit', '0'],
      ['--limit', 'ten'],
      ['--limit', '51'],
      ['--reader', ''],
    ]) {
      const r = await cli(f, ['card', 'statement', ...bad]);
      assert.equal(r.code, 2, `${bad.join(' ')}: exit ${r.code}`);
      assert.match(r.err.join('\n'), /CLI_USAGE/);
    }
  });

  it('the customer display reads only the statement the counter showed, of the card still in that reader', async () => {
    f = await DaemonFixture.start();
    const display = await displayCookie(f);
    const path = `/api/v1/readers/${READER}/statement`;

    // Nothing shown yet: refused, and no offer.
    const early = await asDisplay<ErrorBody>(f, display, path);
    assert.equal(early.status, 403);
    assert.equal(early.body.error.code, 'STATEMENT_NOT_OFFERED');
    assert.deepEqual((await asDisplay(f, display, '/api/v1/statement/offer')).body, { offer: null });

    // The counter reads it without showing it: still nothing for the display.
    assert.equal((await f.api('GET', path)).status, 200);
    assert.equal((await asDisplay<ErrorBody>(f, display, path)).status, 403);

    // A second reader with another card.
    const other = await anotherCard(f);
    const r2 = new InProcessReader({ name: 'second reader' });
    f.daemon.hub.add(r2, 'simulated');
    r2.insert(other.applet);

    // The counter shows the first reader's statement on the display.
    assert.equal((await f.api('GET', `${path}?show=true`)).status, 200);
    const offer = await asDisplay<{ offer: { reader: string; card: string; until: number } }>(
      f,
      display,
      '/api/v1/statement/offer',
    );
    assert.equal(offer.body.offer.reader, 'fixture reader');
    assert.equal(offer.body.offer.card, '••' + f.cardId.slice(-4));
    const shown = await asDisplay<CardStatement>(f, display, path);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.balance, 500_000);
    assert.equal(shown.body.cardId, undefined, 'the display gets the card id masked only');
    assert.equal(shown.body.card, '••' + f.cardId.slice(-4));

    // Never another reader's card.
    const elsewhere = await asDisplay<ErrorBody>(f, display, '/api/v1/readers/second%20reader/statement');
    assert.equal(elsewhere.status, 403);
    assert.equal(elsewhere.body.error.code, 'STATEMENT_NOT_OFFERED');

    // Nor a card put in the offered reader since.
    f.reader.insert((await anotherCard(f)).applet);
    const swapped = await asDisplay<ErrorBody>(f, display, path);
    assert.equal(swapped.status, 403);
    assert.equal(swapped.body.error.code, 'STATEMENT_NOT_OFFERED');

    // And the display cannot offer a statement itself: `show` is the counter's.
    f.reader.insert(f.applet);
    const before = (await asDisplay<{ offer: { id: string } }>(f, display, '/api/v1/statement/offer')).body.offer.id;
    assert.equal((await asDisplay(f, display, `${path}?show=true`)).status, 200);
    const after = (await asDisplay<{ offer: { id: string } }>(f, display, '/api/v1/statement/offer')).body.offer.id;
    assert.equal(after, before);
  });
});
