import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../protocol/bytes.js';
import { buildMap } from '../../protocol/cbor/index.js';
import { CardClient, CardStatusError, type CardInfo } from '../../protocol/commands/index.js';
import { BODY_TYPE, decodeTopupToken, signBody, type Certificate } from '../../protocol/record/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { TestIssuer, NOW } from '../support/issuer.js';

/**
 * Security issue #12, hole 7: a top-up resets the card's offline totals only up to the card counter
 * the bank has settled (its contiguous settled chain, carried in the token as settledCounter), so a
 * 1-unit top-up no longer wipes out offline payments the bank has never seen (docs/protocol.md §4.5).
 */

describe('security #12 hole 7: a top-up resets offline totals only up to what the bank has settled', function () {
  this.timeout(60_000);
  const issuer = new TestIssuer();
  let dir: string;
  let bank: SimBank;
  let terminal: BankTerminalClient;
  let other: BankTerminalClient;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cardpost-topup-'));
    bank = new SimBank({
      dbPath: path.join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    });
    const { url } = await bank.listen();
    terminal = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-01') });
    other = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-02') });
  });
  afterEach(async () => {
    await bank.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An active card with a balance that paid `amounts` offline at T-01; its records and certificate. */
  async function paidCard(amounts: number[], journalCapacity = 32) {
    const applet = new CardApplet(new Nvm(new MemoryBacking()), { journalCapacity });
    const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
    const cardId = Uint8Array.from(randomBytes(8));
    const certificate = await issuer.issue(client, { cardId });
    await client.load({ token: issuer.topup(cardId, 1, 100_000).envelope, authority: issuer.authority.envelope });
    const records: Uint8Array[] = [];
    for (const amount of amounts) {
      records.push(
        await client.signTxn({
          amount,
          currency: 156,
          merchantId: 'M',
          terminalId: 'T-01',
          time: NOW(),
          hostNonce: Uint8Array.from(randomBytes(16)),
        }),
      );
    }
    return { client, cardId, hex: toHex(cardId), certificate, records };
  }

  async function settle(records: Uint8Array[], cert: Certificate): Promise<void> {
    const res = await terminal.submitBatch(randomBytes(16).toString('hex'), records, [cert.envelope]);
    assert.equal(res.status, 200, res.text);
    assert.ok(
      res.json().results.every((r: { verdict: string }) => r.verdict === 'accepted'),
      res.text,
    );
  }

  /** Ask the bank for a token (from `by`) and LOAD it; the card's info after. */
  async function topupAndLoad(
    card: Awaited<ReturnType<typeof paidCard>>,
    amount: number,
    by = terminal,
  ): Promise<{ info: CardInfo; settledCounter: number }> {
    await card.client.select();
    const before = await card.client.getInfo();
    const res = await by.topup(`k-${randomBytes(4).toString('hex')}`, {
      cardId: card.hex,
      loadSeq: before.loadCounter + 1,
      amount,
      currency: 156,
    });
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    const token = new Uint8Array(Buffer.from(body.token, 'base64url'));
    assert.equal(
      decodeTopupToken(token).settledCounter,
      body.settledCounter,
      "the answer states the token's settledCounter",
    );
    await card.client.load({ token, authority: new Uint8Array(Buffer.from(body.authority, 'base64url')) });
    return { info: await card.client.getInfo(), settledCounter: body.settledCounter };
  }

  it('a 1-unit top-up from any terminal leaves unsettled offline payments counted', async () => {
    const card = await paidCard([100, 250, 400]);
    const { info, settledCounter } = await topupAndLoad(card, 1, other);
    assert.equal(settledCounter, 0);
    assert.equal(info.offlineCount, 3, 'the bank has seen none of the 3 offline payments');
    assert.equal(info.offlineAmount, 750);
    assert.equal(info.balance, 100_000 - 750 + 1, 'the top-up itself is applied');
  });

  it('resets exactly the settled prefix: records after it stay counted; a gap stops the prefix', async () => {
    const card = await paidCard([100, 250, 400, 800]);
    await settle([card.records[0]!, card.records[1]!, card.records[3]!], card.certificate); // 1, 2 and 4: counter 3 missing
    const first = await topupAndLoad(card, 500);
    assert.equal(first.settledCounter, 2);
    assert.equal(first.info.offlineCount, 2);
    assert.equal(first.info.offlineAmount, 1_200, 'records 3 and 4 (400 + 800) are still unseen as a chain');
    await settle([card.records[2]!], card.certificate);
    const sync = await topupAndLoad(card, 0); // amount 0: a pure sync
    assert.equal(sync.settledCounter, 4);
    assert.equal(sync.info.offlineCount, 0);
    assert.equal(sync.info.offlineAmount, 0);
    assert.equal(sync.info.balance, first.info.balance, 'a sync moves no money');
  });

  it("never raises the totals: a token settled below the card's last sync leaves them as they are", async () => {
    const card = await paidCard([100, 250]);
    await settle(card.records, card.certificate);
    assert.equal((await topupAndLoad(card, 0)).info.offlineCount, 0);
    await card.client.signTxn({
      amount: 70,
      currency: 156,
      merchantId: 'M',
      terminalId: 'T-01',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
    });
    // an authority token that says "nothing settled" must not count the already-synced records again
    const info = await card.client.getInfo();
    await card.client.load({
      token: issuer.topup(card.cardId, info.loadCounter + 1, 0, { settledCounter: 0 }).envelope,
      authority: issuer.authority.envelope,
    });
    const after = await card.client.getInfo();
    assert.equal(after.offlineCount, 1);
    assert.equal(after.offlineAmount, 70);
  });

  it('where the journal no longer reaches back to the settled counter, the amount is kept (the count is provable)', async () => {
    const card = await paidCard(
      Array.from({ length: 20 }, (_, i) => 10 + i),
      16,
    );
    await settle([card.records[0]!], card.certificate);
    const { info, settledCounter } = await topupAndLoad(card, 1);
    assert.equal(settledCounter, 1);
    assert.equal(info.offlineCount, 19, 'records 2..20 are unsettled: counted from the counters alone');
    assert.equal(
      info.offlineAmount,
      Array.from({ length: 20 }, (_, i) => 10 + i).reduce((a, b) => a + b),
      'the journal holds 5..20 only: the amount is not lowered',
    );
  });

  it('a version 1 token (which reset everything) is refused with INVALID_PARAMETER and changes nothing', async () => {
    const card = await paidCard([300]);
    await card.client.select();
    const info = await card.client.getInfo();
    const v1 = signBody(
      issuer.authorityKey.algorithm,
      issuer.authorityKey.privateKey,
      buildMap([
        [0, BODY_TYPE.TOPUP_TOKEN],
        [1, 1],
        [2, card.cardId],
        [3, info.loadCounter + 1],
        [4, 1],
        [5, 156],
        [6, 0xffff_ffff],
        [7, NOW()],
        [8, true],
      ]),
    );
    await assert.rejects(
      card.client.load({ token: v1.envelope, authority: issuer.authority.envelope }),
      (e: unknown) => e instanceof CardStatusError && e.statusName === 'INVALID_PARAMETER',
    );
    assert.deepEqual(await card.client.getInfo(), info);
  });

  it('the bank refuses a negative or fractional amount, and keeps one token per load (same settledCounter on a retry)', async () => {
    const card = await paidCard([100]);
    for (const amount of [-1, 0.5]) {
      const res = await terminal.topup('bad', { cardId: card.hex, loadSeq: 2, amount, currency: 156 });
      assert.equal(res.status, 400);
      assert.equal(res.json().error.code, 'BODY_SCHEMA');
    }
    const a = await terminal.topup('k-a', { cardId: card.hex, loadSeq: 2, amount: 0, currency: 156 });
    await settle(card.records, card.certificate);
    const b = await terminal.topup('k-b', { cardId: card.hex, loadSeq: 2, amount: 0, currency: 156 });
    assert.equal(b.json().token, a.json().token, 'the same load gets the same token');
    assert.equal(b.json().settledCounter, 0);
  });
});
