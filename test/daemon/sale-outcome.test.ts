import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeCommandApdu } from '../../protocol/apdu/index.js';
import { CMD, CardClient } from '../../protocol/commands/index.js';
import { TransportError } from '../../protocol/transport.js';
import { TrustStore } from '../../protocol/record/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { initIssuerDir } from '../../host/issuer/issuer-dir.js';
import { prepareSimCard } from '../../host/cli/sim-command.js';
import { HostStore, StoreError } from '../../host/store/host-store.js';
import { ReaderHub } from '../../host/readers/reader-hub.js';
import { SaleEngine } from '../../host/sale/sale-engine.js';
import Database from 'better-sqlite3';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { saleWhere } from '../support/sale-wait.js';

/**
 * What a sale ends as when the card's answer is lost, refused or not the sale asked for: never
 * "cancelled", "timed out" or "failed" while the card may have paid, never "paid" for a record that is
 * not the sale, and never a loop hammering a reader that fails at once.
 */

const MERCHANT = 'M-1';
const TERMINAL = 'T-1';

/** A reader whose every command fails at once with TIMEOUT while its card stays in (a reader gone bad). */
class FailingReader extends InProcessReader {
  transmits = 0;
  override async transmit(): Promise<Uint8Array> {
    this.transmits++;
    throw new TransportError('TIMEOUT', 'the reader did not answer', 'check the reader');
  }
}

interface Counter {
  dir: string;
  issuerDir: string;
  trust: TrustStore;
  store: HostStore;
  hub: ReaderHub;
  reader: InProcessReader;
  /** A second reader of the same counter. */
  readerB: InProcessReader;
  engine: SaleEngine;
  newCard(): Promise<CardApplet>;
  close(): void;
}

async function counter(
  o: { cardMs?: number; reader?: InProcessReader; journalCapacity?: number } = {},
): Promise<Counter> {
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-outcome-'));
  const issuer = initIssuerDir(join(dir, 'issuer'));
  const trust = new TrustStore();
  trust.addIssuer(issuer.ca.certificate);
  const store = HostStore.open(join(dir, 'q.sqlite'));
  const hub = new ReaderHub();
  const reader = o.reader ?? new InProcessReader({ name: 'r', latencyMs: 20 });
  hub.add(reader, 'simulated');
  const readerB = new InProcessReader({ name: 'b', latencyMs: 5 });
  hub.add(readerB, 'simulated');
  const engine = new SaleEngine({
    store,
    trust,
    hub,
    merchantId: MERCHANT,
    terminalId: TERMINAL,
    currency: 156,
    timeouts: { cardMs: o.cardMs ?? 5_000, pinMs: 5_000 },
    limits: { perSale: null, unsettledAmount: null, unsettledAgeMs: null },
    online: () => false,
  });
  return {
    dir,
    issuerDir: issuer.dir,
    trust,
    store,
    hub,
    reader,
    readerB,
    engine,
    async newCard() {
      const applet = new CardApplet(new Nvm(new MemoryBacking()), {
        extendedLength: true,
        ...(o.journalCapacity ? { journalCapacity: o.journalCapacity } : {}),
      });
      await prepareSimCard(applet, { issuerDir: issuer.dir, pin: '2468', balance: 100_000, currency: 156 });
      return applet;
    },
    close() {
      engine.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Pull the card from the reader during the SIGN_TXN round trip: after the card acted (`signed`) or before it saw the command. */
function pullDuringSign(
  reader: InProcessReader,
  applet: CardApplet,
  when: 'signed' | 'before',
): { pulled: () => boolean } {
  let pulled = false;
  const isSign = (apdu: Uint8Array) => decodeCommandApdu(apdu).data?.[0] === CMD.SIGN_TXN;
  if (when === 'signed') {
    const transmit = applet.transmit.bind(applet);
    applet.transmit = (apdu: Uint8Array) => {
      const out = transmit(apdu);
      if (!pulled && isSign(apdu)) {
        pulled = true;
        setImmediate(() => reader.remove());
      }
      return out;
    };
  } else {
    const transmit = reader.transmit.bind(reader);
    reader.transmit = (apdu: Uint8Array) => {
      if (!pulled && isSign(apdu)) {
        pulled = true;
        setImmediate(() => reader.remove());
      }
      return transmit(apdu);
    };
  }
  return { pulled: () => pulled };
}

/** Start a sale on reader r with the card in, and lose the SIGN_TXN answer (card pulled after it signed, or before it saw the command). */
async function saleWithLostAnswer(
  c: Counter,
  applet: CardApplet,
  amount: number,
  when: 'signed' | 'before' = 'signed',
): Promise<SaleSnapshot> {
  pullDuringSign(c.reader, applet, when);
  c.reader.insert(applet);
  const s = c.engine.start({ amount, reader: 'r' });
  return saleWhere(c.engine, s.saleId, (x) => x.notice?.code === 'SALE_UNCONFIRMED');
}

/** Two cards: the one whose SIGN_TXN answer is lost in a sale on reader r, and another one. */
async function lostAnswerAndAnotherCard(
  c: Counter,
  amount: number,
): Promise<{ payer: CardApplet; other: CardApplet; s: SaleSnapshot }> {
  const payer = await c.newCard();
  const other = await c.newCard();
  return { payer, other, s: await saleWithLostAnswer(c, payer, amount) };
}

/** The card signs as asked, but the host gets `spoil(answer)` back for the first SIGN_TXN. */
function spoilSignAnswer(applet: CardApplet, spoil: (answer: Uint8Array) => Uint8Array): { done: () => boolean } {
  const transmit = applet.transmit.bind(applet);
  let spoiled = false;
  applet.transmit = (apdu: Uint8Array) => {
    const out = transmit(apdu);
    if (spoiled || decodeCommandApdu(apdu).data?.[0] !== CMD.SIGN_TXN) return out;
    spoiled = true;
    return spoil(out);
  };
  return { done: () => spoiled };
}

async function cardCounter(applet: CardApplet): Promise<number> {
  const side = new InProcessReader({ name: 'side' });
  side.insert(applet);
  const c = new CardClient(side);
  await c.select();
  const n = (await c.getInfo()).counter;
  side.remove();
  return n;
}

/** The card signs, outside the counter's sale, a record under that sale's nonce (a misbehaving card, or a tampered host). */
async function signBehindTheSale(c: Counter, applet: CardApplet, saleId: string, amount: number): Promise<void> {
  const { nonce } = c.store.db.prepare('SELECT host_nonce AS nonce FROM sales WHERE sale_id = ?').get(saleId) as {
    nonce: Buffer;
  };
  const side = new InProcessReader({ name: 'side' });
  side.insert(applet);
  const client = new CardClient(side);
  await client.select();
  await client.signTxn({
    amount,
    currency: 156,
    merchantId: MERCHANT,
    terminalId: TERMINAL,
    time: Math.floor(Date.now() / 1000),
    hostNonce: new Uint8Array(nonce),
  });
  side.remove();
}

/** The card pays at another terminal (another merchant's counter). */
async function signElsewhere(applet: CardApplet, amount: number): Promise<void> {
  const side = new InProcessReader({ name: 'side' });
  side.insert(applet);
  const client = new CardClient(side);
  await client.select();
  await client.signTxn({
    amount,
    currency: 156,
    merchantId: 'M-2',
    terminalId: 'T-2',
    time: Math.floor(Date.now() / 1000),
    hostNonce: randomBytes(16),
  });
  side.remove();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENDED = ['done', 'failed', 'unconfirmed', 'cancelled', 'timed_out'];

/** What the daemon has after a restart: a new engine on the same queue file (no reader). */
function restartedEngine(c: Counter): SaleEngine {
  return new SaleEngine({
    store: c.store,
    trust: c.trust,
    hub: new ReaderHub(),
    merchantId: MERCHANT,
    terminalId: TERMINAL,
    currency: 156,
    timeouts: { cardMs: 300, pinMs: 300 },
    limits: { perSale: null, unsettledAmount: null, unsettledAgeMs: null },
    online: () => false,
  });
}

/** Collect what escapes as an uncaught exception or unhandled rejection (mocha's own handler set aside meanwhile). */
function catchEscapes(): { seen: unknown[]; restore: () => void } {
  const seen: unknown[] = [];
  const on = (e: unknown) => {
    seen.push(e);
  };
  const mocha = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', on);
  process.on('unhandledRejection', on);
  return {
    seen,
    restore: () => {
      process.off('uncaughtException', on);
      process.off('unhandledRejection', on);
      for (const h of mocha) process.on('uncaughtException', h);
    },
  };
}

const auditKinds = (c: Counter, kind: string) =>
  c.store.db.prepare('SELECT subject, detail FROM audit WHERE kind = ?').all(kind) as {
    subject: string;
    detail: string;
  }[];

describe("daemon: sale outcomes when the card's answer is lost or wrong", function () {
  this.timeout(20_000);
  let c: Counter | undefined;
  afterEach(() => {
    c?.close();
    c = undefined;
  });

  it('card pulled after it signed, then the merchant cancels: unconfirmed (not cancelled); the same card back turns it done, charged once', async () => {
    c = await counter();
    const applet = await c.newCard();
    const pull = pullDuringSign(c.reader, applet, 'signed');
    c.reader.insert(applet);
    const s = c.engine.start({ amount: 800 });
    const back = await saleWhere(c.engine, s.saleId, (x) => x.state === 'waiting_card' && x.notice !== null);
    assert.ok(pull.pulled());
    assert.equal(back.notice?.code, 'SALE_UNCONFIRMED', 'the merchant is told the card may have paid');
    const end = c.engine.cancel(s.saleId);
    assert.equal(end.state, 'unconfirmed', 'a sale the card may have paid is never "cancelled"');
    assert.equal(end.error?.code, 'SALE_UNCONFIRMED');
    assert.match(end.error!.hint, /same card/);
    assert.equal(c.store.sale(s.saleId)?.state, 'unconfirmed', 'stored so');
    assert.equal(c.store.records().length, 0);

    c.reader.insert(applet); // the customer comes back with the card
    const done = await saleWhere(c.engine, s.saleId, (x) => x.state === 'done');
    assert.equal(done.notice?.code, 'RECOVERED');
    assert.equal(done.receipt?.amount, 800);
    assert.deepEqual(
      c.store.records().map((r) => [r.amount, r.status, r.saleId]),
      [[800, 'pending', s.saleId]],
      'one record, to settle',
    );
    assert.equal(await cardCounter(applet), 1, 'charged once');
  });

  it('while unconfirmed, another card is refused (not charged); the paying card then finishes the sale', async () => {
    c = await counter();
    const { payer, other, s } = await lostAnswerAndAnotherCard(c, 900);
    c.reader.insert(other);
    const wrong = await saleWhere(c.engine, s.saleId, (x) => x.notice?.code === 'CARD_NOT_THE_PAYING_ONE');
    assert.equal(wrong.state, 'waiting_card');
    assert.ok(wrong.notice!.hint.length > 0);
    assert.equal(await cardCounter(other), 0, 'the other card signed nothing');
    c.reader.insert(payer);
    const done = await saleWhere(c.engine, s.saleId, (x) => x.state === 'done');
    assert.equal(done.receipt?.amount, 900);
    assert.equal(await cardCounter(payer), 1);
    assert.equal(c.store.records().length, 1);
  });

  it('card pulled after it signed and never brought back: the wait ends unconfirmed, and a restarted engine still says so', async () => {
    c = await counter({ cardMs: 300 });
    const applet = await c.newCard();
    pullDuringSign(c.reader, applet, 'signed');
    c.reader.insert(applet);
    const s = c.engine.start({ amount: 700 });
    const end = await saleWhere(c.engine, s.saleId, (x) => x.state === 'timed_out' || x.state === 'unconfirmed');
    assert.equal(end.state, 'unconfirmed', 'never timed_out');
    const again = restartedEngine(c);
    assert.equal(again.get(s.saleId)?.state, 'unconfirmed');
    assert.equal(again.get(s.saleId)?.error?.code, 'SALE_UNCONFIRMED');
  });

  it('the daemon stops while SIGN_TXN is out: the sale reads back unconfirmed, not failed', async () => {
    c = await counter();
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 600);
    // The process dies here: only the file is left. A new engine reads the sale from it.
    const after = restartedEngine(c);
    c.engine.close();
    const read = after.get(s.saleId)!;
    assert.equal(read.state, 'unconfirmed');
    assert.equal(read.error?.code, 'SALE_UNCONFIRMED');
  });

  it('card pulled before it saw SIGN_TXN: back in, its journal shows nothing, it signs once and the sale is done', async () => {
    c = await counter();
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 500, 'before');
    assert.equal(await cardCounter(applet), 0, 'the card never saw the command');
    c.reader.insert(applet);
    const done = await saleWhere(c.engine, s.saleId, (x) => x.state === 'done');
    assert.equal(done.notice, null, 'signed now, not recovered');
    assert.equal(await cardCounter(applet), 1);
    assert.equal(c.store.records().length, 1);
  });

  it("a record under the live sale's nonce for another amount: no receipt, the record is held (never settled) and the chain goes on", async () => {
    c = await counter();
    const applet = await c.newCard();
    c.reader.insert(applet);
    await c.engine.inspect('r'); // the counter knows the card and where its chain stands
    c.reader.remove();
    const s = c.engine.start({ amount: 100 });
    await signBehindTheSale(c, applet, s.saleId, 1_000);
    c.reader.insert(applet);
    const end = await saleWhere(c.engine, s.saleId, (x) => x.state === 'failed');
    assert.equal(end.error?.code, 'RECORD_MISMATCH');
    assert.match(end.error!.message, /amount 1000 instead of 100/);
    assert.equal(end.receipt, null);
    const rows = c.store.records();
    assert.deepEqual(
      rows.map((r) => [r.amount, r.status, r.reason]),
      [[1_000, 'held', 'RECORD_MISMATCH']],
    );
    assert.equal(c.store.unsettled().count, 0, 'a held record is not waiting to settle');
    assert.equal(
      c.store.nextBatch(() => 'b-1', 10),
      undefined,
      'and never goes into a batch',
    );
    assert.equal(auditKinds(c, 'record-held').length, 1);
    const next = c.engine.start({ amount: 200 });
    const done = await saleWhere(c.engine, next.saleId, (x) => x.state === 'done');
    assert.equal(done.receipt?.counter, 2, 'the next sale continues the chain over the held record');
  });

  it('a record recovered for an earlier sale that does not match it: the sale is not marked paid, the record is held', async () => {
    c = await counter();
    const applet = await c.newCard();
    c.reader.insert(applet);
    await c.engine.inspect('r');
    c.reader.remove();
    const s = c.engine.start({ amount: 300 });
    assert.equal(c.engine.cancel(s.saleId).state, 'cancelled');
    await signBehindTheSale(c, applet, s.saleId, 3_000);
    const recovered = new Promise<void>((resolve) => c!.engine.once('recovered', () => resolve()));
    c.reader.insert(applet); // no sale waits: the insertion's own card session recovers
    await recovered;
    const after = c.engine.get(s.saleId)!;
    assert.equal(after.state, 'failed');
    assert.equal(after.error?.code, 'RECORD_MISMATCH');
    assert.equal(after.receipt, null);
    assert.deepEqual(
      c.store.records().map((r) => [r.amount, r.status]),
      [[3_000, 'held']],
    );
  });

  it("a card at the counter's chain head but with another last record, or behind it: refused before it signs (CARD_CHAIN_DIVERGED)", async () => {
    c = await counter();
    const applet = await c.newCard();
    c.reader.insert(applet);
    const first = c.engine.start({ amount: 100 });
    await saleWhere(c.engine, first.saleId, (x) => x.state === 'done');
    const cardId = c.store.records()[0]!.cardId;
    // What this counter holds no longer matches the card: as if a copy of the card (or a restored one) came in.
    c.store.db.prepare('UPDATE card_heads SET hash = ? WHERE card_id = ?').run(randomBytes(32), cardId);
    const s = c.engine.start({ amount: 200 });
    const end = await saleWhere(c.engine, s.saleId, (x) => x.state === 'failed');
    assert.equal(end.error?.code, 'CARD_CHAIN_DIVERGED');
    assert.ok(end.error!.hint.length > 0);
    assert.equal(await cardCounter(applet), 1, 'nothing signed');
    c.store.db.prepare('UPDATE card_heads SET counter = 5 WHERE card_id = ?').run(cardId);
    const s2 = c.engine.start({ amount: 200 });
    assert.equal(
      (await saleWhere(c.engine, s2.saleId, (x) => x.state === 'failed')).error?.code,
      'CARD_CHAIN_DIVERGED',
    );
    assert.equal(await cardCounter(applet), 1);
    assert.equal(auditKinds(c, 'card-chain-diverged').length, 2);
  });

  it("a signed answer that does not verify: the bytes are audited, the card's journal is read, and its genuine record pays the sale", async () => {
    c = await counter();
    const applet = await c.newCard();
    c.reader.insert(applet);
    await c.engine.inspect('r');
    const spoil = spoilSignAnswer(applet, (out) => {
      const bad = Uint8Array.from(out);
      bad[bad.length - 3]! ^= 0x01; // a bit of the signature, the SW left alone
      return bad;
    });
    const s = c.engine.start({ amount: 400 });
    const checking = await saleWhere(c.engine, s.saleId, (x) => x.notice?.code === 'SALE_UNCONFIRMED');
    assert.ok(spoil.done());
    assert.match(
      checking.notice!.message,
      /RECORD_BAD_SIGNATURE/,
      'never "failed": the answer may have been spoiled on the way',
    );
    const refused = auditKinds(c, 'signed-answer-refused');
    assert.equal(refused.length, 1);
    assert.ok(
      (JSON.parse(refused[0]!.detail) as { envelope: string }).envelope.length > 100,
      'the bytes the card sent are kept',
    );
    // The card is still in: its journal is read, and holds the genuine record.
    const paid = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(paid.notice?.code, 'RECOVERED');
    assert.equal(c.store.records().length, 1);
    assert.equal(await cardCounter(applet), 1);
  });

  it('a reader that fails at once with the card left in is retried with backoff, and the sale still times out at its first deadline', async () => {
    const reader = new FailingReader({ name: 'r' });
    c = await counter({ cardMs: 1_500, reader });
    reader.insert(await c.newCard());
    const deadlines = new Set<unknown>();
    const watch = (x: SaleSnapshot) => {
      if (x.state === 'waiting_card') deadlines.add(x.deadline);
    };
    c.engine.on('sale', watch);
    const t0 = Date.now();
    const s = c.engine.start({ amount: 100 });
    const end = await saleWhere(c.engine, s.saleId, (x) => x.state === 'timed_out', 10_000);
    c.engine.off('sale', watch);
    const took = Date.now() - t0;
    assert.equal(end.state, 'timed_out');
    assert.equal(
      deadlines.size,
      1,
      `one deadline, the one the wait began with, not pushed back by each try (${[...deadlines].join(', ')})`,
    );
    assert.ok(reader.transmits >= 3, `the card was tried again (${reader.transmits})`);
    assert.ok(reader.transmits <= 12, `but not in a loop: ${reader.transmits} commands in ${took} ms`);
  });

  it('answer lost at one reader, the card taken to another reader of the counter (which recovers the record): the sale is paid there and then, charged once', async () => {
    c = await counter();
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 800);
    c.readerB.insert(applet); // the customer puts it in the other reader
    const done = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(done.state, 'done');
    assert.equal(done.receipt?.counter, 1);
    c.readerB.remove();
    c.reader.insert(applet); // and back: nothing more happens to the sale, nothing is signed
    await c.engine.inspect('r'); // waits for the session the insertion began (the reader is held meanwhile)
    assert.equal(c.engine.get(s.saleId)?.state, 'done');
    assert.deepEqual(
      c.store.records().map((r) => [r.counter, r.amount, r.saleId === s.saleId]),
      [[1, 800, true]],
    );
    assert.equal(await cardCounter(applet), 1);
  });

  it('answer lost, the record recovered by another card session while the sale is being read again: paid from the store, never signed twice', async () => {
    c = await counter();
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 800);
    // `cardpost card info` at the other reader while the sale waits: that session stores the record.
    c.readerB.insert(applet);
    await c.engine.inspect('b').catch(() => undefined);
    await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    c.readerB.remove();
    await signElsewhere(applet, 50); // and then it pays at another shop
    c.reader.insert(applet);
    await c.engine.inspect('r'); // waits for the session the insertion began (the reader is held meanwhile)
    assert.equal(c.engine.get(s.saleId)?.state, 'done');
    const mine = c.store.records().filter((r) => r.saleId === s.saleId);
    assert.deepEqual(
      mine.map((r) => [r.counter, r.amount]),
      [[1, 800]],
      'one sale, one charge',
    );
    assert.equal(await cardCounter(applet), 2, "the card: this sale and the other shop's, nothing more");
  });

  it('answer lost, then the card signs elsewhere past what its journal keeps: the outcome cannot be read, so unconfirmed (never signed again)', async () => {
    c = await counter({ journalCapacity: 2 });
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 800);
    for (let i = 0; i < 3; i++) await signElsewhere(applet, 10);
    c.reader.insert(applet);
    const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(end.state, 'unconfirmed');
    assert.match(end.error!.message, /no longer holds them all/);
    assert.equal(await cardCounter(applet), 4, 'not signed a second time (it paid 800 at counter 1)');
    assert.equal(c.store.records().filter((r) => r.saleId === s.saleId).length, 0);
  });

  it('a card that signed nothing since the lost answer (its counter unchanged) is asked again: the nonce makes it the same sale', async () => {
    c = await counter({ journalCapacity: 2 });
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 300, 'before');
    c.reader.insert(applet);
    assert.equal((await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state))).state, 'done');
    assert.equal(await cardCounter(applet), 1);
  });

  it('the engine closed (daemon stopping) while SIGN_TXN is out and the record then committed: read back as done, not unconfirmed', async () => {
    c = await counter();
    const applet = await c.newCard();
    const transmit = applet.transmit.bind(applet);
    let closed = false;
    applet.transmit = (apdu: Uint8Array) => {
      if (!closed && decodeCommandApdu(apdu).data?.[0] === CMD.SIGN_TXN) {
        closed = true;
        c!.engine.close();
      }
      return transmit(apdu);
    };
    c.reader.insert(applet);
    const s = c.engine.start({ amount: 800 });
    for (let i = 0; c.store.records().length === 0; i++) {
      assert.ok(i < 500, 'the record is committed');
      await sleep(20);
    }
    const again = restartedEngine(c);
    const read = again.get(s.saleId)!;
    assert.equal(read.state, 'done');
    assert.equal(read.receipt?.amount, 800);
  });

  it('the queue file locked by another process during a sale: no unhandled rejection, no crash', async () => {
    c = await counter({ cardMs: 400 });
    const escapes = catchEscapes();
    const seen = escapes.seen;
    try {
      c.store.db.pragma('busy_timeout = 20');
      (c.store as unknown as { book: Database.Database }).book.pragma('busy_timeout = 20');
      const applet = await c.newCard();
      const s = c.engine.start({ amount: 800 });
      const lock = new Database(join(c.dir, 'q.sqlite'));
      lock.exec('BEGIN EXCLUSIVE');
      c.reader.insert(applet);
      await sleep(1_000);
      lock.exec('COMMIT');
      lock.close();
      assert.deepEqual(seen.map(String), [], 'nothing escaped');
      const end = c.engine.get(s.saleId)!;
      assert.ok(end.state !== 'done' || c.store.records().length === 1, 'never a receipt without its record');
    } finally {
      escapes.restore();
    }
  });

  it('cancel while a wrong card is being read during an unconfirmed wait: ends unconfirmed at once', async () => {
    c = await counter({ cardMs: 60_000 }); // no deadline in sight: only the cancel can end the sale
    const { payer, other, s } = await lostAnswerAndAnotherCard(c, 900);
    c.reader.insert(other);
    await saleWhere(c.engine, s.saleId, (x) => x.state === 'reading_card');
    c.engine.cancel(s.saleId);
    const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state), 10_000);
    assert.equal(end.state, 'unconfirmed', 'the cancel is not lost');
    assert.equal(await cardCounter(other), 0);
  });

  it("answer lost, the card pays elsewhere past its journal and is then read at the other reader (which skips the gap): back at the sale's reader it is not signed again", async () => {
    c = await counter({ journalCapacity: 2 });
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 800);
    for (let i = 0; i < 3; i++) await signElsewhere(applet, 10);
    c.readerB.insert(applet); // no sale there: that card session meets the journal gap and moves the head past it
    await c.engine.inspect('b').catch(() => undefined);
    c.readerB.remove();
    c.reader.insert(applet);
    const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(end.state, 'unconfirmed');
    assert.equal(end.error?.code, 'SALE_UNCONFIRMED');
    assert.match(end.error!.message, /no longer holds them all/);
    assert.equal(await cardCounter(applet), 4, 'counter 1 was this sale: never a second charge');
  });

  it('the record stored at another reader while the sale reads a wrong card: paid, and the receipt names the paying card', async () => {
    c = await counter();
    const { payer, other, s } = await lostAnswerAndAnotherCard(c, 900);
    c.reader.insert(other); // the sale reads the wrong card at its reader
    c.readerB.insert(payer); // while the paying card's session at the other reader stores the record
    const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(end.state, 'done');
    const rec = c.store.records()[0]!;
    assert.equal(end.receipt?.card.slice(-4), rec.cardId.slice(-4), 'the card that paid, not the one in the reader');
    assert.equal(c.engine.get(s.saleId)?.receipt?.card, end.receipt?.card);
    assert.equal(await cardCounter(other), 0);
  });

  it('the sale states cannot be written from "signing" on (a locked or full queue file) and the answer is lost: it still reads back unconfirmed, never failed', async () => {
    c = await counter({ cardMs: 300 });
    const applet = await c.newCard();
    const store = c.store;
    const write = store.updateSale.bind(store);
    let broken = false;
    store.updateSale = (id, u) => {
      if (u.state === 'signing') broken = true;
      if (broken) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return write(id, u);
    };
    pullDuringSign(c.reader, applet, 'signed');
    c.reader.insert(applet);
    const s = c.engine.start({ amount: 700 });
    const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(end.state, 'unconfirmed');
    broken = false;
    const read = c.engine.get(s.saleId)!;
    assert.equal(read.state, 'unconfirmed', 'the durable signing mark, written before the card was asked, decides');
    assert.equal(store.sale(s.saleId)?.signCardId !== null, true);
  });

  it('the signing mark cannot be written: the card is never asked to pay, and the sale fails saying so', async () => {
    c = await counter();
    const applet = await c.newCard();
    c.store.markSigning = () => {
      throw new StoreError(
        'STORE_WRITE_FAILED',
        'the queue database could not be written before the card was asked to pay (disk full); nothing was charged',
        'check the disk',
      );
    };
    c.reader.insert(applet);
    const s = c.engine.start({ amount: 700 });
    const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(end.state, 'failed');
    assert.equal(end.error?.code, 'STORE_WRITE_FAILED');
    assert.match(end.error!.message, /nothing was charged/);
    assert.equal(await cardCounter(applet), 0);
  });

  it("two records under the sale's nonce (its genuine one, and later one for another amount): the genuine one pays it, the other is held", async () => {
    c = await counter();
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 800); // counter 1: this sale
    await signElsewhere(applet, 10); // 2
    await signBehindTheSale(c, applet, s.saleId, 5); // 3: the same nonce, another amount
    c.reader.insert(applet);
    const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
    assert.equal(end.state, 'done');
    assert.equal(end.receipt?.amount, 800);
    assert.deepEqual(
      c.store
        .records()
        .filter((r) => r.saleId === s.saleId)
        .map((r) => [r.counter, r.amount, r.status]),
      [
        [1, 800, 'pending'],
        [3, 5, 'held'],
      ],
    );
    assert.equal(restartedEngine(c).get(s.saleId)?.state, 'done', 'read back the same');
  });

  it("a record recovered after the terminal id was changed is still its sale's (found by nonce, matched against what the sale asked), never passed over", async () => {
    c = await counter({ cardMs: 300 });
    const applet = await c.newCard();
    const s = await saleWithLostAnswer(c, applet, 700);
    await saleWhere(c.engine, s.saleId, (x) => x.state === 'unconfirmed');
    c.engine.close();
    const hub = new ReaderHub();
    const reader = new InProcessReader({ name: 'r2' });
    hub.add(reader, 'simulated');
    const renamed = new SaleEngine({
      store: c.store,
      trust: c.trust,
      hub,
      merchantId: MERCHANT,
      terminalId: 'T-1-renamed',
      currency: 156,
      timeouts: { cardMs: 300, pinMs: 300 },
      limits: { perSale: null, unsettledAmount: null, unsettledAgeMs: null },
      online: () => false,
    });
    try {
      reader.insert(applet);
      await renamed.inspect('r2');
      assert.equal(renamed.get(s.saleId)?.state, 'done');
      assert.deepEqual(
        c.store.records().map((r) => [r.amount, r.status, r.terminalId]),
        [[700, 'pending', TERMINAL]],
        'stored, to settle',
      );
    } finally {
      renamed.close();
    }
  });

  for (const [what, spoil] of [
    ['an unknown status word (6F00)', () => Uint8Array.of(0x6f, 0x00)],
    [
      'its data cut short (CBOR that does not decode)',
      (out: Uint8Array) => Uint8Array.from([...out.subarray(0, 5), 0x90, 0x00]),
    ],
  ] as const) {
    it(`SIGN_TXN answered with ${what} after the card signed: the journal is read and the sale is paid, not ended at once`, async () => {
      c = await counter();
      const applet = await c.newCard();
      const spoiled = spoilSignAnswer(applet, spoil);
      c.reader.insert(applet);
      const s = c.engine.start({ amount: 300 });
      const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state));
      assert.ok(spoiled.done());
      assert.equal(end.state, 'done', JSON.stringify(end.error));
      assert.equal(end.notice?.code, 'RECOVERED');
      assert.equal(await cardCounter(applet), 1);
    });
  }

  it('paid meanwhile at the other reader while this one reads a wrong card that then fails: done at once; and a timer meeting a locked queue file never throws', async () => {
    c = await counter({ cardMs: 1_500 });
    const escapes = catchEscapes();
    const seen = escapes.seen;
    try {
      const { payer, other, s } = await lostAnswerAndAnotherCard(c, 900);
      // The wrong card at r is read slowly; while it is, the paying card at b stores the record; then the wrong card is pulled.
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let held = false;
      const transmitOther = other.transmit.bind(other);
      other.transmit = (apdu: Uint8Array) => {
        if (!held && decodeCommandApdu(apdu).data?.[0] === CMD.GET_INFO) {
          held = true;
          void gate.then(() => c!.reader.remove());
        }
        return transmitOther(apdu);
      };
      const transmitR = c.reader.transmit.bind(c.reader);
      c.reader.transmit = async (apdu: Uint8Array) => {
        if (held) await gate;
        return transmitR(apdu);
      };
      c.reader.insert(other);
      await saleWhere(c.engine, s.saleId, (x) => x.state === 'reading_card');
      const stored = new Promise<void>((r) => c!.engine.once('recovered', () => r()));
      c.readerB.insert(payer);
      await stored;
      release();
      const end = await saleWhere(c.engine, s.saleId, (x) => ENDED.includes(x.state), 10_000);
      assert.equal(end.state, 'done', 'its record is stored: paid');

      // A second sale left waiting; the queue file locked when its deadline comes.
      const t = c.engine.start({ amount: 5, reader: 'r' });
      c.store.db.pragma('busy_timeout = 20');
      (c.store as unknown as { book: Database.Database }).book.pragma('busy_timeout = 20');
      const lock = new Database(join(c.dir, 'q.sqlite'));
      lock.exec('BEGIN EXCLUSIVE');
      await saleWhere(c.engine, t.saleId, (x) => x.state === 'timed_out', 10_000); // its deadline comes while the file is locked
      await sleep(200);
      lock.exec('COMMIT');
      lock.close();
      assert.deepEqual(seen.map(String), [], 'nothing escaped');
      assert.equal(c.engine.get(t.saleId)?.state, 'timed_out');
      assert.doesNotThrow(() => c!.engine.start({ amount: 6, reader: 'r' }), 'the reader is free for the next sale');
      assert.equal(
        c.store.sale(t.saleId)?.state,
        'timed_out',
        'the state held in memory is written once the file is free',
      );
    } finally {
      escapes.restore();
    }
  });

  it('the engine closed while SIGN_TXN is out and the answer lost, then the queue file closed: no timer touches it afterwards', async () => {
    c = await counter({ cardMs: 300 });
    const escapes = catchEscapes();
    const seen = escapes.seen;
    try {
      const applet = await c.newCard();
      const transmit = applet.transmit.bind(applet);
      applet.transmit = (apdu: Uint8Array) => {
        if (decodeCommandApdu(apdu).data?.[0] === CMD.SIGN_TXN) {
          c!.engine.close();
          setImmediate(() => c!.reader.remove());
        }
        return transmit(apdu);
      };
      c.reader.insert(applet);
      c.engine.start({ amount: 800 });
      await sleep(150);
      c.store.close();
      await sleep(600);
      assert.deepEqual(seen.map(String), []);
    } finally {
      escapes.restore();
    }
  });

  it('a sale keyed again after an unconfirmed one, with the same card: the card turns out to have paid the first, so the second is not charged (SALE_EARLIER_PAID); a third goes through', async () => {
    c = await counter();
    const applet = await c.newCard();
    const first = await saleWithLostAnswer(c, applet, 800);
    assert.equal(c.engine.cancel(first.saleId).state, 'unconfirmed'); // the customer walks off; the operator gives up
    const again = c.engine.start({ amount: 800, reader: 'r' }); // ...and keys the purchase again when they are back
    c.reader.insert(applet);
    const end = await saleWhere(c.engine, again.saleId, (x) => ENDED.includes(x.state));
    assert.equal(end.state, 'failed');
    assert.equal(end.error?.code, 'SALE_EARLIER_PAID');
    assert.match(end.error!.hint, /same purchase/);
    assert.equal(c.engine.get(first.saleId)?.state, 'done', 'the first sale is paid');
    assert.equal(await cardCounter(applet), 1, 'charged once');
    const third = c.engine.start({ amount: 50, reader: 'r' });
    assert.equal(
      (await saleWhere(c.engine, third.saleId, (x) => ENDED.includes(x.state))).state,
      'done',
      'another purchase is charged as usual',
    );
    assert.equal(await cardCounter(applet), 2);
  });
});
