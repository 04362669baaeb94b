import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCardpost } from '../support/cli.js';
import { PcscdEnv, cardIn, missingPcscParts } from '../support/pcscd.js';
import { requireSystem } from '../support/system.js';
import { pairCookie, readSse } from '../support/raw-http.js';
import { SharedBank, SimCardProcess, type BankCounter } from '../support/shared-bank.js';
import { CardClient, LIFECYCLE, type CardInfo } from '../../protocol/commands/index.js';
import { decodeRevocationList } from '../../protocol/record/index.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';
import { PcscReaderSource } from '../../host/transports/pcsc/pcsc-reader.js';
import { FINAL_STATES, type SaleSnapshot } from '../../host/sale/sale-types.js';
import type { TopupSnapshot } from '../../host/card-services/topup-types.js';
import type { CardSummary } from '../../host/sale/reader-diagnostics.js';
import type { PinServiceView } from '../../host/card-services/pin-service-view.js';
import type { QueuedRecord } from '../../host/store/store-types.js';

/**
 * Issue 14, "Done when": one card through its whole life, through real pcscd + vpcd, with the product
 * doing every step a holder, a merchant and the issuer would: personalise (blank card, transport PIN)
 * → activate on the customer display's keypad → 520 offline payments across a sync that resets the
 * card's offline totals → top-up → wrong PIN ×3 → unblock with the PUK → report lost → refused at a
 * second counter; then the card, the counter and the bank agree to the cent and the record.
 *
 * The card keeps the defaults of `cardpost card personalize` (500 offline payments, ¥100 without PIN,
 * ¥10,000 offline), so the sync in the middle is really needed. Automatic sync is off at counter A so
 * the reset is the explicit sync's. Speed: the card reaches vpcd through test/support/vpcd-relay.py,
 * which takes vpcd's ~40 ms delayed-ACK stall out of every APDU exchange (~20–60 ms a payment instead
 * of ~270 ms); without python3 the card is connected straight to vpcd and the test takes minutes.
 */

const CARD_ID = 'c1a55e0f0badcafe';
const TRANSPORT_PIN = '739164';
const PUK = '50817263';
const HOLDER_PIN = '2580';
const UNBLOCKED_PIN = '8642';
const INITIAL_TOPUP = 1_000_000; // ¥10,000.00
const SECOND_TOPUP = 30_000; // ¥300.00
const NO_PIN_LIMIT = 10_000; // `card personalize --pin-free` default ¥100.00
const OFFLINE_COUNT = 500; // `card personalize --offline-count` default

/** Amounts of the offline payments: varied, all below the no-PIN limit, ¥10,000 offline never reached. */
const amountOf = (i: number) => 500 + ((i * 7919) % 1500); // ¥5.00 … ¥19.99

type ApiError = { error: { code: string; message: string; hint: string } };

/** The simulated bank's ledger of the card, read beside the running bank. */
function bankLedger(dbPath: string, cardId: string) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const records = db
      .prepare(
        'SELECT counter, amount, terminal_id AS terminalId FROM settled_records WHERE card_id = ? ORDER BY counter',
      )
      .all(cardId) as { counter: number; amount: number; terminalId: string }[];
    const distinct = (
      db
        .prepare('SELECT COUNT(*) AS n FROM (SELECT DISTINCT card_id, counter FROM settled_records WHERE card_id = ?)')
        .get(cardId) as { n: number }
    ).n;
    const topups = db
      .prepare('SELECT load_seq AS loadSeq, amount FROM topups WHERE card_id = ? ORDER BY load_seq')
      .all(cardId) as { loadSeq: number; amount: number }[];
    return { records, distinct, topups };
  } finally {
    db.close();
  }
}

/**
 * GET_INFO as any PC/SC application reads it (this test process, no daemon): for a card the counters
 * refuse to read once it is revoked or blocked. Only while no daemon holds the reader.
 */
async function infoOverPcsc(readerName: string): Promise<CardInfo> {
  const source = await PcscReaderSource.open({ extendedLength: true });
  try {
    const reader = await source.waitForReader((n) => n === readerName, 10_000);
    await cardIn(reader);
    const client = new CardClient(reader);
    await client.select();
    return await client.getInfo();
  } finally {
    source.close();
  }
}

/** The sequence of the revocation list a counter holds (null: none yet). */
function listSequence(c: BankCounter): number | null {
  const file = join(c.dataDir, DATA_FILES.revocations);
  return existsSync(file) ? decodeRevocationList(readFileSync(file)).sequence : null;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const ms = (t0: number) => Date.now() - t0;

describe('one card through its whole life, through real pcscd (issue 14)', function () {
  this.timeout(120_000);
  let env: PcscdEnv;
  let shop: SharedBank;
  let a: BankCounter; // the holder's usual shop: personalised card activated, paid, topped up, reported here
  let b: BankCounter; // another merchant's counter, last in touch with the bank before the report
  let card: SimCardProcess;
  let display = ''; // counter A's customer display (paired cookie, scope display)
  const paid: number[] = []; // every amount the card paid, in order
  const loaded: number[] = []; // every top-up amount
  const topups: TopupSnapshot[] = []; // every top-up and sync as counter A answered it
  const timings: [string, number][] = [];
  let broken = false;
  const started = Date.now();

  before(async function () {
    requireSystem(this, missingPcscParts(), 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev');
    const t0 = Date.now();
    env = await PcscdEnv.get();
    shop = await SharedBank.create(env);
    a = shop.counter('counter-a', 'T-LIFE-A', 'M-LIFE-A', { cardServices: { autoSyncAt: null } });
    b = shop.counter('counter-b', 'T-LIFE-B', 'M-LIFE-B');
    // Counter B is in business before the card is lost: it has been in touch with the bank once
    // (clock, revocation list of the day), then is shut for the night.
    await b.startDaemon();
    for (let i = 0; !b.hasRevocationList(); i++) {
      assert.ok(i < 200, 'counter B fetches the revocation list on its first contact');
      await new Promise((r) => setTimeout(r, 50));
    }
    await b.stopDaemon();
    // A new card from the factory, blank and bound to the issuer, in counter A's reader (vpcd slot 0).
    card = new SimCardProcess(env, join(shop.dir, 'card.json'), { fast: true });
    await card.start(0, { blankFor: shop.issuer.dir });
    timings.push(['setup (pcscd, bank, counter B first contact, blank card)', ms(t0)]);
  });
  beforeEach(function () {
    if (broken) this.skip(); // a life story: once a step failed, the later ones tell nothing
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') broken = true;
  });
  after(async () => {
    await a?.stopDaemon();
    await b?.stopDaemon();
    await card?.close();
    await shop?.stop();
    timings.push(['total', ms(started)]);
    console.log(timings.map(([k, v]) => `      ${k}: ${(v / 1000).toFixed(1)} s`).join('\n'));
  });

  const cardAt = async (c: BankCounter) => {
    const r = await c.api<CardSummary>('GET', `/api/v1/readers/${encodeURIComponent(card.readerName)}/card`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  const startSale = async (c: BankCounter, amount: number) => {
    const r = await c.api<SaleSnapshot>('POST', '/api/v1/sales', { amount, reader: card.readerName });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.saleId;
  };

  /** A payment below the no-PIN limit: paid at once, recorded with the card's next counter. */
  const payNoPin = async (c: BankCounter, amount: number, counter: number) => {
    const done = await c.saleWhere(await startSale(c, amount), undefined, 10_000, 2);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(done.receipt!.recordId, `${CARD_ID}:${counter}`);
    paid.push(amount);
  };

  /**
   * A sale followed on the counter's event stream, as the counter page follows it: every state it went
   * through, and its end as the page shows it. (GET /api/v1/sales/:id of a sale that has ended answers
   * from the sale book, which keeps no hint today: host/sale/sale-book.ts gives hint ''.)
   */
  const saleSeenLive = async (c: BankCounter, amount: number) => {
    const ac = new AbortController();
    const stream = await fetch(`${c.url}/api/v1/events`, {
      headers: { Authorization: `Bearer ${c.token}` },
      signal: ac.signal,
    });
    assert.equal(stream.status, 200);
    let id = '';
    const mine = (e: { event: string; data: unknown }) =>
      e.event === 'sale' && (e.data as SaleSnapshot).saleId === id ? (e.data as SaleSnapshot) : undefined;
    const ended = (e: { event: string; data: unknown }) => {
      const st = mine(e)?.state;
      return st !== undefined && FINAL_STATES.has(st);
    };
    const events = readSse(stream, (ev) => ev.some(ended), 20_000);
    id = await startSale(c, amount);
    const seen = (await events).map(mine).filter((s): s is SaleSnapshot => s !== undefined);
    ac.abort();
    const end = seen.at(-1);
    assert.ok(end && FINAL_STATES.has(end.state), `the sale ended on the event stream: ${JSON.stringify(seen)}`);
    return { end, states: seen.map((s) => s.state) };
  };

  /** The PIN service as the customer display sees it, polled until `pred` holds (an unexpected end fails). */
  const pinServiceWhere = async (id: string, pred: (v: PinServiceView) => boolean, what: string) => {
    for (let i = 0; ; i++) {
      const r = await a.asPage<PinServiceView>(display, 'GET', `/api/v1/pin-services/${id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (pred(r.body)) return r.body;
      assert.ok(!r.body.final, `PIN service ended before ${what}: ${JSON.stringify(r.body)}`);
      assert.ok(i < 1000, `PIN service: ${what} within 10 s (now ${JSON.stringify(r.body)})`);
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  const asking = (id: string, step: string, extra: (v: PinServiceView) => boolean = () => true) =>
    pinServiceWhere(id, (v) => v.state === 'entry' && v.step === step && extra(v), `step ${step}`);
  /** The customer types on the display's keypad. */
  const type = async (id: string, step: string, pin: string) => {
    const r = await a.asPage(display, 'POST', `/api/v1/pin-services/${id}/entry`, { step, pin });
    assert.equal(r.status, 202, JSON.stringify(r.body));
  };
  const startPinService = async (kind: 'change' | 'unblock') => {
    const r = await a.api<PinServiceView>('POST', '/api/v1/pin-services', { kind, reader: card.readerName });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.kind, kind);
    return r.body.serviceId;
  };

  const topup = async (amount: number, key: string, method?: 'cash' | 'account') => {
    const r = await a.api<TopupSnapshot>(
      'POST',
      '/api/v1/topups',
      { amount, reader: card.readerName, ...(method ? { method } : {}) },
      { 'Idempotency-Key': key },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.state, 'loaded', JSON.stringify(r.body));
    if (amount > 0) loaded.push(amount);
    topups.push(r.body);
    return r.body;
  };

  it('personalise: `cardpost card personalize` through pcscd leaves the card with its transport PIN; it cannot pay yet', async () => {
    const t0 = Date.now();
    const pinFile = join(shop.dir, 'transport-pin');
    const pukFile = join(shop.dir, 'puk');
    writeFileSync(pinFile, TRANSPORT_PIN + '\n', { mode: 0o600 });
    writeFileSync(pukFile, PUK + '\n', { mode: 0o600 });
    const p = await runCardpost([
      'card',
      'personalize',
      '--issuer',
      shop.issuer.dir,
      '--reader',
      card.readerName,
      '--card-id',
      CARD_ID,
      '--pin-file',
      pinFile,
      '--puk-file',
      pukFile,
    ]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.match(p.stdout, new RegExp(`personalised card ${CARD_ID} in ${card.readerName}.*must change the PIN`));
    assert.doesNotMatch(p.stdout, new RegExp(TRANSPORT_PIN), 'a PIN given in a file is not printed');

    await a.startDaemon();
    await a.waitForReader(card.readerName);
    const c = await cardAt(a);
    assert.equal(c.cardId, CARD_ID);
    assert.equal(c.lifecycle, LIFECYCLE.PERSONALISED);
    assert.deepEqual([c.balance, c.counter, c.offlineCount], [0, 0, 0]);
    assert.equal(c.limits?.offlineCount, OFFLINE_COUNT);
    assert.equal(c.limits?.noPin, NO_PIN_LIMIT);
    // Not yet usable: a payment is refused (and nothing signed) until the holder has chosen a PIN.
    const refused = await a.saleWhere(await startSale(a, 1_000));
    assert.equal(refused.state, 'failed', JSON.stringify(refused));
    // It has no money yet either, but what it needs first is its activation, and that is what it is told.
    assert.equal(refused.error!.code, 'CARD_PIN_CHANGE_REQUIRED', JSON.stringify(refused.error));
    assert.match(refused.error!.hint, /[Aa]ctivate/);
    assert.equal((await cardAt(a)).counter, 0);
    timings.push(['personalise', ms(t0)]);
  });

  it('activate: the holder changes the transport PIN on the customer display (PIN service), never on the counter page', async () => {
    const t0 = Date.now();
    display = (await pairCookie(a.url, a.token, 'display')).cookie;
    const id = await startPinService('change');
    const first = await asking(id, 'current');
    assert.equal(first.activation, true, 'the card still has its transport PIN: an activation');
    assert.equal(first.entryOnDevice, false, "a PC/SC reader has no pad: the display's keypad");
    assert.equal(first.triesLeft, 3);
    assert.equal(first.cardLast4, CARD_ID.slice(-4));
    // The counter page never carries digits: the counter's credential is refused.
    const counterTyping = await a.api<ApiError>('POST', `/api/v1/pin-services/${id}/entry`, {
      step: 'current',
      pin: TRANSPORT_PIN,
    });
    assert.equal(counterTyping.status, 403, JSON.stringify(counterTyping.body));
    await type(id, 'current', TRANSPORT_PIN);
    await asking(id, 'new');
    await type(id, 'new', '1234'); // a run: refused before the card is asked
    const weak = await asking(id, 'new', (v) => v.notice !== undefined);
    assert.equal(weak.notice?.code, 'PIN_TOO_WEAK');
    await type(id, 'new', HOLDER_PIN);
    await asking(id, 'confirm');
    await type(id, 'confirm', HOLDER_PIN);
    const done = await pinServiceWhere(id, (v) => v.final, 'the end');
    assert.equal(done.state, 'done', JSON.stringify(done));
    const c = await cardAt(a);
    assert.equal(c.lifecycle, LIFECYCLE.ACTIVE);
    assert.equal(c.pinRetries, 3);
    timings.push(['activate', ms(t0)]);
  });

  it('first top-up: ¥10,000 in cash, loaded on the card and authorised once by the bank', async () => {
    const t0 = Date.now();
    const t = await topup(INITIAL_TOPUP, 'life-topup-1', 'cash');
    assert.equal(t.balance, INITIAL_TOPUP);
    assert.equal(t.method, 'cash');
    timings.push(['first top-up', ms(t0)]);
  });

  it(`${OFFLINE_COUNT} offline payments below the no-PIN limit; payment ${OFFLINE_COUNT + 1} is refused before any PIN (offline count limit)`, async function () {
    // ~30 ms a payment through the relay; ~270 ms straight to vpcd (its delayed-ACK stall, vpcd-relay.py).
    if (!card.relayed()) this.timeout(400_000);
    const t0 = Date.now();
    for (let i = 1; i <= OFFLINE_COUNT; i++) await payNoPin(a, amountOf(i), i);
    const perSale = ms(t0) / OFFLINE_COUNT;
    timings.push([
      `${OFFLINE_COUNT} payments (${perSale.toFixed(0)} ms each, ${card.relayed() ? 'through vpcd-relay.py' : 'straight to vpcd'})`,
      ms(t0),
    ]);
    const before = await cardAt(a);
    assert.equal(before.counter, OFFLINE_COUNT);
    assert.equal(before.offlineCount, OFFLINE_COUNT);
    assert.equal(before.offlineAmount, sum(paid));
    assert.equal(before.balance, INITIAL_TOPUP - sum(paid));

    const { end: over, states } = await saleSeenLive(a, amountOf(OFFLINE_COUNT + 1));
    assert.equal(over.state, 'failed', JSON.stringify(over));
    assert.ok(!states.includes('pin') && !states.includes('signing'), `no PIN asked, nothing sent to sign: ${states}`);
    assert.equal(over.error?.code, 'CARD_OFFLINE_COUNT_LIMIT', JSON.stringify(over.error));
    assert.match(over.error!.message, /no PIN was asked/);
    assert.match(over.error!.hint, /sync or top up/);
    const after = await cardAt(a);
    assert.equal(after.counter, before.counter, 'nothing signed');
    assert.equal(after.pinRetries, before.pinRetries, 'no PIN try spent');
    assert.equal(after.balance, before.balance);
  });

  it('sync (a top-up of 0): the records are settled first, the offline totals reset to what the bank holds; the next 20 payments go through', async () => {
    const t0 = Date.now();
    const before = await cardAt(a);
    const s = await topup(0, 'life-sync-1');
    assert.equal(s.method, 'sync');
    assert.equal(s.settledCounter, OFFLINE_COUNT, 'the bank holds the whole chain');
    assert.equal(s.balance, before.balance, 'a sync moves no money');
    const after = await cardAt(a);
    assert.deepEqual([after.offlineCount, after.offlineAmount], [0, 0]);
    assert.equal(bankLedger(join(shop.dir, 'bank.sqlite'), CARD_ID).records.length, OFFLINE_COUNT);
    for (let i = OFFLINE_COUNT + 1; i <= 520; i++) await payNoPin(a, amountOf(i), i);
    const now = await cardAt(a);
    assert.equal(now.counter, 520);
    assert.equal(now.offlineCount, 20);
    timings.push(['sync + 20 payments', ms(t0)]);
  });

  it('top-up: ¥300 more, on the card at once', async () => {
    const t0 = Date.now();
    const before = await cardAt(a);
    const t = await topup(SECOND_TOPUP, 'life-topup-2', 'account');
    assert.equal(t.balance, before.balance + SECOND_TOPUP);
    assert.equal((await cardAt(a)).balance, before.balance + SECOND_TOPUP);
    timings.push(['top-up', ms(t0)]);
  });

  it('wrong PIN ×3 on a ¥150 sale: the tries count down on the display, then the card blocks its PIN; nothing paid', async () => {
    const t0 = Date.now();
    display ||= (await pairCookie(a.url, a.token, 'display')).cookie;
    const before = await cardAt(a);
    const id = await startSale(a, 15_000);
    for (let left = 3; left >= 1; left--) {
      const asking = await a.saleWhere(id, (s) => s.state === 'pin' && s.pinTriesLeft === left);
      assert.equal(asking.pinOnDevice, false);
      const r = await a.asPage(display, 'POST', `/api/v1/sales/${id}/pin`, { pin: '0000' });
      assert.equal(r.status, 202, JSON.stringify(r.body));
    }
    const end = await a.saleWhere(id);
    assert.equal(end.state, 'failed', JSON.stringify(end));
    assert.equal(end.error?.code, 'CARD_PIN_BLOCKED', JSON.stringify(end.error));
    const after = await cardAt(a);
    assert.equal(after.lifecycle, LIFECYCLE.PIN_BLOCKED);
    assert.equal(after.pinRetries, 0);
    assert.equal(after.counter, before.counter, 'nothing signed');
    assert.equal(after.balance, before.balance);
    timings.push(['wrong PIN x3', ms(t0)]);
  });

  it('unblock: the holder types the PUK and a new PIN on the customer display (PIN service); a wrong PUK costs one PUK try', async () => {
    const t0 = Date.now();
    // Changing the PIN is no way round a blocked PIN.
    const change = await startPinService('change');
    const refused = await pinServiceWhere(change, (v) => v.final, 'the end');
    assert.equal(refused.state, 'failed', JSON.stringify(refused));
    assert.equal(refused.error?.code, 'CARD_PIN_BLOCKED', JSON.stringify(refused.error));
    assert.match(refused.error!.hint, /PUK/);

    const id = await startPinService('unblock');
    const puk = await asking(id, 'puk');
    const pukTries = puk.triesLeft!;
    assert.ok(pukTries > 1, JSON.stringify(puk));
    // A wrong PUK: the card says so (after the new PIN was chosen), one PUK try fewer, asked again.
    await type(id, 'puk', '11223344');
    await asking(id, 'new');
    await type(id, 'new', UNBLOCKED_PIN);
    await asking(id, 'confirm');
    await type(id, 'confirm', UNBLOCKED_PIN);
    const again = await asking(id, 'puk', (v) => v.notice !== undefined);
    assert.equal(again.notice?.code, 'PUK_WRONG', JSON.stringify(again));
    assert.equal(again.triesLeft, pukTries - 1);
    await type(id, 'puk', PUK);
    await asking(id, 'new');
    await type(id, 'new', UNBLOCKED_PIN);
    await asking(id, 'confirm');
    await type(id, 'confirm', UNBLOCKED_PIN);
    const done = await pinServiceWhere(id, (v) => v.final, 'the end');
    assert.equal(done.state, 'done', JSON.stringify(done));
    const c = await cardAt(a);
    assert.equal(c.lifecycle, LIFECYCLE.ACTIVE);
    assert.equal(c.pinRetries, 3);

    // The new PIN is the card's: a change of PIN accepts it as the current one (then is cancelled; nothing signed).
    const check = await startPinService('change');
    await asking(check, 'current');
    await type(check, 'current', UNBLOCKED_PIN);
    await asking(check, 'new');
    const cancelled = await a.asPage<PinServiceView>(display, 'POST', `/api/v1/pin-services/${check}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.state, 'cancelled');
    assert.equal((await cardAt(a)).pinRetries, 3);
    timings.push(['unblock', ms(t0)]);
  });

  it('report lost: `cardpost card report-lost` at counter A; the bank revokes the card and keeps its balance; A refuses it at once', async () => {
    const t0 = Date.now();
    // Everything the card paid is at the bank before the report (so its balance there is the card's).
    for (let i = 0; ; i++) {
      const q = await a.api<{ summary: { counts: { pending: { count: number } } } }>('GET', '/api/v1/queue?limit=1');
      if (q.body.summary.counts.pending.count === 0 && shop.bank.settledRecord(CARD_ID, 520)) break;
      assert.ok(i < 200, 'counter A settles its records');
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await runCardpost([
      'card',
      'report-lost',
      '--reader',
      card.readerName,
      '--reason',
      'lost',
      '--data-dir',
      a.dataDir,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lost = JSON.parse(r.stdout) as {
      cardId: string;
      alreadyReported: boolean;
      refusedHere: boolean;
      balance: number | null;
      reportedBy: { kind: string; id: string };
    };
    assert.equal(lost.cardId, CARD_ID);
    assert.equal(lost.alreadyReported, false);
    assert.equal(lost.refusedHere, true);
    assert.deepEqual(lost.reportedBy, { kind: 'terminal', id: 'T-LIFE-A' });
    assert.ok(shop.bank.revokedCards().includes(CARD_ID));
    assert.equal(
      typeof lost.balance,
      'number',
      "the bank keeps the card's balance for the refund (checked at the end)",
    );

    // Tapped here again: refused with the plain words; the card is blocked on the card itself on the way.
    const { end: refused } = await saleSeenLive(a, 1_000);
    assert.equal(refused.state, 'failed', JSON.stringify(refused));
    assert.match(refused.error!.code, /^CARD_(REVOKED|BLOCKED)$/, JSON.stringify(refused.error));
    assert.match(refused.error!.hint, /issuer/, JSON.stringify(refused.error));
    assert.equal(refused.receipt, null);
    const q = await a.api<{ records: QueuedRecord[] }>('GET', '/api/v1/queue?limit=1000');
    assert.equal(q.body.records.length, 520, 'nothing signed');
    timings.push(['report lost', ms(t0)]);
  });

  it('refused at a second counter that has not heard of the report (the bank unreachable): the card itself refuses; not paid, nothing signed', async function () {
    const t0 = Date.now();
    await a.stopDaemon();
    await card.stop();
    await new Promise((r) => setTimeout(r, 1500)); // pcscd 1.9.9 + vpcd: let the slot settle (architecture.md §7)
    // The card is carried to another shop; that counter's last contact with the bank was before the report.
    await card.start(1);
    const info = await infoOverPcsc(card.readerName);
    if (info.lifecycle !== LIFECYCLE.BLOCKED) {
      // TODO(card-blocking): the block order is written to the card when a counter that knows of the report sees it.
      console.log(`      pending: the card is not blocked on the card (lifecycle ${info.lifecycle})`);
      this.skip();
    }
    shop.bank.setFaults({ down: 'reset' }); // connections cut: the bank is unreachable
    try {
      await b.startDaemon();
      await b.waitForReader(card.readerName);
      assert.ok((listSequence(b) ?? 0) < shop.bank.revocationList().sequence, "counter B's list predates the report");
      const { end } = await saleSeenLive(b, 1_000);
      assert.equal(end.state, 'failed', JSON.stringify(end));
      assert.equal(end.error?.code, 'CARD_BLOCKED', JSON.stringify(end.error));
      assert.match(end.error!.hint, /\S/, JSON.stringify(end.error));
      assert.equal(end.receipt, null);
      const q = await b.api<{ records: QueuedRecord[] }>('GET', '/api/v1/queue?limit=1000');
      assert.deepEqual(q.body.records, [], 'counter B holds no record of the card');
    } finally {
      shop.bank.setFaults({ down: false });
    }
    timings.push(['second counter, offline', ms(t0)]);
  });

  it('refused at the second counter once it has the revocation list: not paid, nothing signed', async () => {
    const t0 = Date.now();
    if (!b.daemon) {
      await b.startDaemon();
      await b.waitForReader(card.readerName);
    }
    for (let i = 0; (listSequence(b) ?? 0) < shop.bank.revocationList().sequence; i++) {
      assert.ok(i < 200, 'counter B fetches the new revocation list on its next contact');
      await new Promise((r) => setTimeout(r, 50));
    }
    const { end } = await saleSeenLive(b, 1_000);
    assert.equal(end.state, 'failed', JSON.stringify(end));
    assert.match(end.error!.code, /^CARD_(REVOKED|BLOCKED)$/, JSON.stringify(end.error));
    assert.equal(end.receipt, null);
    const q = await b.api<{ records: QueuedRecord[] }>('GET', '/api/v1/queue?limit=1000');
    assert.deepEqual(q.body.records, [], 'counter B holds no record of the card');
    await b.stopDaemon();
    timings.push(['second counter, online', ms(t0)]);
  });

  it('at the end the card, counter A and the bank agree: balance, counters, records and top-ups', async () => {
    const t0 = Date.now();
    await b.stopDaemon();
    const c = await infoOverPcsc(card.readerName);
    const ledger = bankLedger(join(shop.dir, 'bank.sqlite'), CARD_ID);
    // no record lost or doubled
    assert.equal(ledger.distinct, 520);
    assert.deepEqual(
      ledger.records.map((r) => r.counter),
      Array.from({ length: 520 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      ledger.records.map((r) => r.amount),
      paid,
    );
    assert.ok(ledger.records.every((r) => r.terminalId === 'T-LIFE-A'));
    // the card: blocked on the card itself, its counter and balance where the bank has them
    assert.equal(c.lifecycle, LIFECYCLE.BLOCKED);
    assert.equal(c.counter, 520);
    assert.equal(c.balance, sum(loaded) - sum(paid));
    assert.equal(c.balance, sum(ledger.topups.map((t) => t.amount)) - sum(ledger.records.map((r) => r.amount)));
    // the bank's top-ups: the two loads and the sync (amount 0), each once, as counter A has them
    assert.deepEqual(
      ledger.topups.map((t) => [t.loadSeq, t.amount]),
      [
        [1, INITIAL_TOPUP],
        [2, 0],
        [3, SECOND_TOPUP],
      ],
    );
    assert.deepEqual(
      topups.map((t) => [t.loadSeq, t.amount, t.state]),
      ledger.topups.map((t) => [t.loadSeq, t.amount, 'loaded']),
    );
    assert.equal(c.loadCounter, 3);
    // counter A's own queue: the same 520 records, all settled
    await a.startDaemon();
    const q = await a.api<{ records: QueuedRecord[] }>('GET', '/api/v1/queue?limit=1000');
    assert.deepEqual(
      q.body.records.map((r) => [r.counter, r.amount, r.status]),
      ledger.records.map((r) => [r.counter, r.amount, 'settled']),
    );
    const rec = await a.api<{ match: boolean }>(
      'GET',
      `/api/v1/reconciliation?date=${new Date().toISOString().slice(0, 10)}`,
    );
    assert.equal(rec.body.match, true, JSON.stringify(rec.body));
    timings.push(['final checks', ms(t0)]);
    // the holder's balance at the bank for the refund: what the card holds, the last top-up included
    const lost = shop.bank.lostCards().find((l) => l.cardId === CARD_ID);
    assert.equal(
      lost?.balance,
      c.balance,
      "the bank's refund balance is the card's (top-ups after the last record included)",
    );
  });
});
