import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { CardClient } from '../../protocol/commands/index.js';
import { TrustStore } from '../../protocol/record/index.js';
import { TransportError } from '../../protocol/transport.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { CardSession, CardSessionError, type ChainHead } from '../../host/session/card-session.js';
import { TestIssuer, NOW } from '../support/issuer.js';

const sale = (amount: number) => ({
  amount,
  currency: 156,
  merchantId: 'M-1',
  terminalId: 'T-1',
  time: NOW(),
  hostNonce: Uint8Array.from(randomBytes(16)),
});

async function issuedCard(issuer: TestIssuer, latencyMs = 0) {
  const applet = new CardApplet(new Nvm(new MemoryBacking()));
  const reader = new InProcessReader({ latencyMs });
  reader.insert(applet);
  const cardId = Uint8Array.from(randomBytes(8));
  const client = new CardClient(reader);
  await issuer.issue(client, { cardId });
  await client.load({ token: issuer.topup(cardId, 1, 100_000).envelope, authority: issuer.authority.envelope });
  return { applet, reader, cardId };
}

const refused = (code: string) => (e: unknown) => e instanceof CardSessionError && e.code === code;

describe('host card session: trust, record checks, journal recovery', () => {
  const issuer = new TestIssuer();
  const trust = new TrustStore();
  trust.addIssuer(issuer.certificate);

  it('opens a trusted card, signs, and chains records', async () => {
    const { reader } = await issuedCard(issuer);
    const s = await CardSession.open(reader, trust, { now: NOW() });
    const r1 = await s.sign(sale(100), undefined);
    const r2 = await s.sign(sale(200), { counter: r1.counter, hash: r1.hash });
    assert.equal(r2.counter, r1.counter + 1, 'consecutive counters');
    await assert.rejects(s.sign(sale(300), { counter: r1.counter, hash: r1.hash }), refused('RECORD_CHAIN_GAP'));
  });

  it('refuses cards from unknown issuers, revoked and expired cards, each with a reason', async () => {
    const stranger = new TestIssuer();
    const { reader } = await issuedCard(stranger);
    await assert.rejects(CardSession.open(reader, trust, { now: NOW() }), refused('CARD_UNKNOWN_ISSUER'));
    const { reader: r2, cardId } = await issuedCard(issuer);
    await assert.rejects(CardSession.open(r2, trust, { now: NOW() + 6 * 365 * 86400 }), refused('CARD_EXPIRED')); // card: 5 years
    await assert.rejects(
      CardSession.open(r2, trust, { now: NOW() + 20 * 365 * 86400 }),
      refused('CARD_ISSUER_EXPIRED'),
    ); // its CA: 10 years
    const revoking = new TrustStore();
    revoking.addIssuer(issuer.certificate);
    revoking.revoke(cardId);
    await assert.rejects(CardSession.open(r2, revoking, { now: NOW() }), refused('CARD_REVOKED'));
  });

  it('recovers a record signed while the card was pulled before the answer arrived', async () => {
    const { reader, applet } = await issuedCard(issuer, 40);
    const s = await CardSession.open(reader, trust, { now: NOW() });
    const r1 = await s.sign(sale(100), undefined);
    const head: ChainHead = { counter: r1.counter, hash: r1.hash };
    const lost = s.sign(sale(250), head);
    setTimeout(() => reader.remove(), 30); // after the card acted (20 ms), before the answer (40 ms)
    await assert.rejects(lost, (e: unknown) => e instanceof TransportError && e.code === 'CARD_REMOVED');
    reader.insert(applet);
    const again = await CardSession.open(reader, trust, { now: NOW() });
    const recovered = await again.recover(head);
    assert.equal(recovered.length, 1, 'one record to recover');
    assert.equal(recovered[0]!.amount, 250, 'the lost sale');
    assert.equal(recovered[0]!.counter, r1.counter + 1, 'continues the chain');
    assert.deepEqual(
      await again.recover({ counter: recovered[0]!.counter, hash: recovered[0]!.hash }),
      [],
      'nothing more',
    );
  });

  it('a forked chain head is refused during recovery', async () => {
    const { reader } = await issuedCard(issuer);
    const s = await CardSession.open(reader, trust, { now: NOW() });
    const r1 = await s.sign(sale(100), undefined);
    await s.sign(sale(100), { counter: r1.counter, hash: r1.hash });
    await assert.rejects(
      s.recover({ counter: r1.counter, hash: new Uint8Array(32).fill(1) }),
      refused('RECORD_CHAIN_FORK'),
    );
  });

  it("says plainly when the card no longer holds the records after the host's head", async () => {
    const applet = new CardApplet(new Nvm(new MemoryBacking()), { journalCapacity: 4 });
    const reader = new InProcessReader();
    reader.insert(applet);
    const cardId = Uint8Array.from(randomBytes(8));
    const client = new CardClient(reader);
    await issuer.issue(client, { cardId });
    await client.load({ token: issuer.topup(cardId, 1, 100_000).envelope, authority: issuer.authority.envelope });
    const s = await CardSession.open(reader, trust, { now: NOW() });
    const r1 = await s.sign(sale(1), undefined);
    for (let i = 0; i < 6; i++) await client.signTxn(sale(1));
    await assert.rejects(s.recover({ counter: r1.counter, hash: r1.hash }), refused('JOURNAL_GAP'));
  });
});
