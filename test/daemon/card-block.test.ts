import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { issueTerminal } from '../../host/issuer/issuer-dir.js';
import { loadConfig } from '../../host/daemon/config.js';
import { Daemon } from '../../host/daemon/daemon.js';
import { createLogger } from '../../host/daemon/log.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { RevokedCardBlocker } from '../../host/sale/revoked-card.js';
import { CardSessionError } from '../../host/session/card-session.js';
import { toHex } from '../../protocol/bytes.js';
import { CardClient, LIFECYCLE } from '../../protocol/commands/index.js';
import { BLOCK_REASON, TrustStore, decodeTxnRecord, signBlockOrder } from '../../protocol/record/index.js';
import type { BlockOrderAnswer } from '../../protocol/bank/block-order.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { until } from '../support/settlement-helpers.js';
import { TestIssuer, NOW } from '../support/issuer.js';

/**
 * A second counter on the fixture's bank (its own terminal, reader and data directory) that has no
 * revocation list at all: no authority certificate is configured, so it never takes the bank's list.
 */
async function secondCounter(f: DaemonFixture): Promise<{ daemon: Daemon; reader: InProcessReader; token: string }> {
  issueTerminal(f.issuer, 'T-TEST-03', join(f.dir, 'terminal3'));
  const reader = new InProcessReader({ name: 'counter B reader' });
  const daemon = await Daemon.start({
    config: loadConfig({
      overrides: {
        dataDir: join(f.dir, 'data3'),
        terminalDir: join(f.dir, 'terminal3'),
        merchantId: 'M-TEST-3',
        currency: 156,
        sale: { followTimeoutMs: 60_000 },
        bank: { url: f.bankUrl, healthIntervalMs: 200, backoffBaseMs: 20, backoffMaxMs: 300, timeoutMs: 2000 },
        api: { port: 0 },
        readers: { pcsc: false },
      },
      env: {},
    }),
    log: createLogger('silent'),
    readers: [{ reader, kind: 'simulated' }],
  });
  const token = readFileSync(join(f.dir, 'data3', 'api-token'), 'utf8').trim();
  return { daemon, reader, token };
}

async function pay(daemon: Daemon, token: string, amount: number): Promise<SaleSnapshot> {
  const res = await fetch(`${daemon.url}/api/v1/sales`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ amount }),
  });
  const sale = (await res.json()) as SaleSnapshot;
  return new Promise<SaleSnapshot>((resolve, reject) => {
    const engine = daemon.engine;
    const timer = setTimeout(() => reject(new Error(`sale ${sale.saleId} did not end`)), 10_000);
    const check = (s: SaleSnapshot | undefined) => {
      if (s && s.saleId === sale.saleId && ['done', 'failed', 'cancelled', 'timed_out'].includes(s.state)) {
        clearTimeout(timer);
        engine.off('sale', check);
        resolve(s);
      }
    };
    engine.on('sale', check);
    check(engine.get(sale.saleId));
  });
}

/** The card as it is, read straight from the applet (only between sales: it re-selects the card). */
async function cardState(applet: CardApplet) {
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  await client.select();
  const info = await client.getInfo();
  const journal = await client.readJournalFrom(1);
  return { info, records: journal.records.map(decodeTxnRecord) };
}

describe('daemon: a revoked card is blocked on the card itself (issue 14, BLOCK_CARD)', function () {
  this.timeout(90_000);
  let f: DaemonFixture;
  let b: { daemon: Daemon; reader: InProcessReader; token: string } | undefined;

  before(async () => {
    f = await DaemonFixture.start();
  });
  after(async () => {
    await b?.daemon.stop().catch(() => undefined);
    await f?.stop();
  });

  it('reported lost: an offline counter refuses it by its list only; online, the counter blocks the card; a counter without the list then refuses it too, and its journal stays readable', async () => {
    // 1. the card pays at counter A and the record settles: the bank knows the card
    const first = await pay(f.daemon, f.token, 700);
    assert.equal(first.state, 'done', JSON.stringify(first.error));
    f.daemon.settleNow();
    await until(() => f.bank.settledRecord(f.cardId, 1) !== undefined, 'record 1 to settle', 10_000);

    // 2. counter B: online, but without a revocation list
    b = await secondCounter(f);
    const listBefore = f.bank.revocationList().sequence;

    // 3. the holder reports the card lost at counter A
    const rep = await f.api<{ revocationSequence: number }>('POST', `/api/v1/cards/${f.cardId}/lost`, {
      reason: 'lost',
    });
    assert.equal(rep.status, 200, JSON.stringify(rep.body));
    assert.ok(rep.body.revocationSequence > listBefore);

    // 4. counter A offline: refused by its list, the card is not blocked (nothing to fetch the order from)
    f.bank.setFaults({ down: true });
    await until(() => !f.daemon.worker.status().online, 'counter A to see the bank down', 10_000);
    const offline = await pay(f.daemon, f.token, 200);
    assert.equal(offline.state, 'failed');
    assert.equal(offline.error?.code, 'CARD_REVOKED');
    assert.doesNotMatch(offline.error!.message, /blocked on the card/);
    assert.equal((await cardState(f.applet)).info.lifecycle, LIFECYCLE.ACTIVE, 'offline: the card is not blocked');

    // 5. the bank is back: the card is tapped again, refused CARD_REVOKED, and now blocked on the card
    f.bank.setFaults({ down: false });
    await until(() => f.daemon.worker.status().online, 'counter A to see the bank again', 10_000);
    const refused = await pay(f.daemon, f.token, 300);
    assert.equal(refused.state, 'failed');
    assert.equal(refused.error?.code, 'CARD_REVOKED');
    assert.match(refused.error!.message, /reported lost and is now blocked on the card itself/);
    assert.match(refused.error!.hint, /reported lost or stolen/);
    const blocked = await cardState(f.applet);
    assert.equal(blocked.info.lifecycle, LIFECYCLE.BLOCKED, 'the card reports itself blocked');
    assert.equal(blocked.info.counter, 1, 'nothing was signed');
    assert.equal(blocked.records.length, 1, 'the journal is still readable');
    assert.equal(toHex(blocked.records[0]!.cardId), f.cardId);
    assert.equal(blocked.info.balance, 500_000 - 700, 'the purse is kept for the issuer');

    // 6. counter B never fetched the new list, yet refuses the card: the card refuses to sign (CARD_BLOCKED)
    assert.equal(b.daemon.revocations.sequence, null, 'counter B has no revocation list');
    assert.equal(b.daemon.trust.isRevoked(Buffer.from(f.cardId, 'hex')), false);
    f.reader.remove();
    b.reader.insert(f.applet);
    const atB = await pay(b.daemon, b.token, 400);
    assert.equal(atB.state, 'failed');
    assert.equal(atB.error?.code, 'CARD_BLOCKED');
    assert.match(
      atB.error!.hint,
      /reported lost or stolen: take no payment with it, keep it and send the holder to the issuer/,
    );
    assert.equal(b.daemon.store.records().length, 0, 'counter B holds no record of it');
    // `cardpost card info` at counter B shows the life cycle
    const info = await fetch(`${b.daemon.url}/api/v1/readers/${encodeURIComponent('counter B reader')}/card`, {
      headers: { Authorization: `Bearer ${b.token}` },
    });
    assert.equal(info.status, 200);
    assert.equal(((await info.json()) as { lifecycle: number }).lifecycle, LIFECYCLE.BLOCKED);
    b.reader.remove();
    f.reader.insert(f.applet);
  });
});

describe('host: a forged block order never blocks a card (revoked-card.ts)', function () {
  this.timeout(30_000);
  const issuer = new TestIssuer();

  it('the host refuses an order whose signer it does not trust; the card refuses one from another issuer the host trusts; the refusal stays CARD_REVOKED', async () => {
    const applet = new CardApplet(new Nvm(new MemoryBacking()));
    const reader = new InProcessReader({ name: 'r' });
    reader.insert(applet);
    const client = new CardClient(reader);
    const cardId = Uint8Array.from(randomBytes(8));
    await issuer.issue(client, { cardId });
    const refusal = new CardSessionError('CARD_REVOKED', 'card refused: on the list', 'the holder contacts the issuer');
    const forger = new TestIssuer();
    const forged: BlockOrderAnswer = {
      cardId: toHex(cardId),
      reason: 'stolen',
      issuedAt: NOW(),
      revocationSequence: 2,
      order: signBlockOrder(forger.authorityKey, {
        cardId,
        reason: BLOCK_REASON.STOLEN,
        issuedAt: NOW(),
        listSequence: 2,
      }),
      authority: forger.authority,
    };
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (o: object, m: string) => warnings.push(`${m} ${JSON.stringify(o)}`) };
    const trust = new TrustStore();
    trust.addIssuer(issuer.certificate);
    const blocker = (t: TrustStore) =>
      new RevokedCardBlocker({
        bank: { blockOrder: async () => forged },
        trust: t,
        online: () => true,
        now: Date.now,
        log,
      });

    // the forger's authority does not chain to a CA this counter trusts: never sent to the card
    const out = await blocker(trust).refuse(reader, refusal);
    assert.equal(out, refusal, 'the refusal is unchanged');
    assert.match(warnings.join('\n'), /BLOCK_ORDER_REFUSED|not valid/);
    // a counter that trusts the forger's CA too sends it; the card checks it against its own issuer and refuses
    const both = new TrustStore();
    both.addIssuer(issuer.certificate);
    both.addIssuer(forger.certificate);
    const again = await blocker(both).refuse(reader, refusal);
    assert.equal(again, refusal);
    assert.match(warnings.join('\n'), /AUTHORITY_INVALID/);
    await client.select();
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.ACTIVE, 'the card is not blocked');

    // offline: nothing is asked of the bank
    let asked = 0;
    const offline = new RevokedCardBlocker({
      bank: {
        blockOrder: async () => {
          asked++;
          return forged;
        },
      },
      trust,
      online: () => false,
      now: Date.now,
    });
    assert.equal(await offline.refuse(reader, refusal), refusal);
    assert.equal(asked, 0);
  });
});
