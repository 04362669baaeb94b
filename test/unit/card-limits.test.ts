import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { CardClient, CardStatusError, LIFECYCLE, type CardStatusName } from '../../protocol/commands/index.js';
import { decodeTxnRecord, verifyTxnRecord, CVM } from '../../protocol/record/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { manufactureFor } from '../../device-sim/card/sim-card.js';
import { TestIssuer, ascii, NOW } from '../support/issuer.js';

async function refused(p: Promise<unknown>, name: CardStatusName) {
  await assert.rejects(p, (e: unknown) => e instanceof CardStatusError && e.statusName === name);
}

function newCard(journalCapacity = 32) {
  const applet = new CardApplet(new Nvm(new MemoryBacking()), { journalCapacity });
  applet.powerOn();
  return new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
}

const sale = (amount: number) => ({
  amount,
  currency: 156,
  merchantId: 'M',
  terminalId: 'T',
  time: NOW(),
  hostNonce: Uint8Array.from(randomBytes(16)),
});

describe('card: offline limits, terminal states, journal wrap', () => {
  const issuer = new TestIssuer();

  it('enforces the cumulative offline count and amount until a top-up syncs it', async () => {
    const client = newCard();
    const cardId = Uint8Array.from(randomBytes(8));
    await issuer.issue(client, {
      cardId,
      limits: { perTransaction: 1000, noPin: 1000, offlineAmount: 2500, offlineCount: 3, maxBalance: 100_000 },
    });
    await client.load({ token: issuer.topup(cardId, 1, 10_000).envelope, authority: issuer.authority.envelope });
    await client.signTxn(sale(1000));
    await client.signTxn(sale(1000));
    await refused(client.signTxn(sale(600)), 'OFFLINE_AMOUNT_LIMIT');
    await client.signTxn(sale(400));
    await refused(client.signTxn(sale(1)), 'OFFLINE_COUNT_LIMIT');
    await client.load({ token: issuer.topup(cardId, 2, 0).envelope, authority: issuer.authority.envelope });
    const rec = decodeTxnRecord(await client.signTxn(sale(1)));
    assert.equal(rec.counter, 4);
    assert.equal(rec.cvm, CVM.NONE);
  });

  it('terminates after ten wrong PUKs, and still gives up its journal', async () => {
    const client = newCard();
    const cardId = Uint8Array.from(randomBytes(8));
    const cert = await issuer.issue(client, { cardId });
    await client.load({ token: issuer.topup(cardId, 1, 1000).envelope, authority: issuer.authority.envelope });
    await client.signTxn(sale(10));
    for (let i = 9; i >= 1; i--) {
      await assert.rejects(
        client.unblockPin(ascii('00000000'), ascii('1111')),
        (e: unknown) => e instanceof CardStatusError && e.statusName === 'PUK_INVALID' && e.retries === i,
      );
    }
    await refused(client.unblockPin(ascii('00000000'), ascii('1111')), 'PUK_BLOCKED');
    const info = await client.getInfo();
    assert.equal(info.lifecycle, LIFECYCLE.TERMINATED);
    await refused(client.signTxn(sale(1)), 'TERMINATED');
    await refused(client.verifyPin(ascii('1234')), 'TERMINATED');
    await refused(client.unblockPin(ascii('12345678'), ascii('1111')), 'TERMINATED');
    const j = await client.readJournalFrom(1);
    assert.equal(j.records.length, 1);
    assert.equal(verifyTxnRecord(decodeTxnRecord(j.records[0]!), cert.publicKey), true);
  });

  it('keeps the last N records; READ_JOURNAL below the oldest starts at the oldest', async () => {
    const client = newCard(4);
    const cardId = Uint8Array.from(randomBytes(8));
    await issuer.issue(client, { cardId });
    await client.load({ token: issuer.topup(cardId, 1, 1000).envelope, authority: issuer.authority.envelope });
    for (let i = 0; i < 7; i++) await client.signTxn(sale(1));
    const page = await client.readJournal(1);
    assert.equal(page.oldestCounter, 4);
    assert.equal(page.lastCounter, 7);
    assert.deepEqual(
      page.records.map((r) => decodeTxnRecord(r).counter),
      [4, 5, 6, 7],
    );
  });

  it('rejects a PIN of the wrong format without spending a try', async () => {
    const client = newCard();
    await issuer.issue(client, { cardId: Uint8Array.from(randomBytes(8)) });
    await refused(client.changePin(ascii('1234'), ascii('12a4')), 'PIN_FORMAT');
    assert.equal((await client.getInfo()).pinRetries, 3);
  });

  it('an ECDSA P-256 card advertises its suite and signs records that name it', async () => {
    const p256 = new TestIssuer('ecdsa-p256-sha256');
    const client = newCard();
    const cardId = Uint8Array.from(randomBytes(8));
    const cert = await p256.issue(client, { cardId, cardAlgorithm: 'ecdsa-p256-sha256' });
    assert.equal((await client.getInfo()).algorithm, 2, 'GET_INFO advertises P-256');
    await client.load({ token: p256.topup(cardId, 1, 1000).envelope, authority: p256.authority.envelope });
    const rec = decodeTxnRecord(await client.signTxn(sale(10)));
    assert.equal(rec.algorithm, 2, 'the record names its suite');
    assert.equal(verifyTxnRecord(rec, cert.publicKey), true, 'verifies under the certified P-256 key');
    assert.equal(rec.hash.length, 32, 'SHA-256 chain hash');
  });

  it('a card bound to an issuer at the factory refuses personalisation by any other issuer', async () => {
    const applet = new CardApplet(new Nvm(new MemoryBacking()));
    applet.powerOn();
    manufactureFor(applet, issuer.certificate.envelope);
    const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
    const rogue = new TestIssuer();
    await client.select();
    await refused(
      client.personalizeBegin({
        cardId: Uint8Array.from(randomBytes(8)),
        algorithm: 1,
        issuer: rogue.certificate.envelope,
      }),
      'CERTIFICATE_INVALID',
    );
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.BLANK, 'still blank');
    await issuer.issue(client, { cardId: Uint8Array.from(randomBytes(8)) });
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.ACTIVE, 'its own issuer personalises it');
    assert.throws(() => manufactureFor(applet, rogue.certificate.envelope), /blank/);
  });
});
