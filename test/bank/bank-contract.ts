/**
 * The black-box bank contract: what any bank of docs/bank-api.md answers over HTTP for settlement,
 * terminal authentication, idempotency and reconciliation, run unchanged against every target of
 * bank-targets.ts (the simulated bank in test/unit/bank.test.ts, the clearing service on SQLite and
 * PostgreSQL in bank-clearing.test.ts). Card services (record status, top-ups) are checked only where
 * the target serves them; the clearing service must answer them 501 ROUTE_NOT_SERVED instead.
 */
import { strict as assert } from 'node:assert';
import { generateKeyPair } from '../../protocol/crypto/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { signTerminalRequest, canonicalRequestString } from '../../protocol/bank/terminal-auth.js';
import { TestIssuer, NOW } from '../support/issuer.js';
import { DAY, PaperCard, batchId, settleOk, wrap } from './bank-helpers.js';
import { bankFixtures, type Fixture } from './bank-fixture.js';
import { settlementVerdicts } from './bank-contract-verdicts.js';
import type { BankTarget } from './bank-targets.js';

export function bankContract(target: BankTarget): void {
  const { start, stop } = bankFixtures(target);

  describe(`bank contract (${target.name})`, function () {
    before(async function () {
      await target.setUp?.(this);
    });
    after(async () => {
      await target.tearDown?.();
    });

    settlementVerdicts(target, { start, stop });

    describe('terminal authentication', function () {
      let f: Fixture;
      beforeEach(async () => {
        f = await start();
      });
      afterEach(async () => {
        await stop(f);
      });

      const code = async (p: Promise<{ status: number; json(): any }>): Promise<string> => {
        const r = await p;
        return `${r.status} ${r.status >= 400 ? r.json().error.code : ''}`.trim();
      };

      it('builds the canonical string exactly as documented', () => {
        assert.equal(
          canonicalRequestString({
            method: 'post',
            path: '/v1/batches',
            date: 1790000000,
            idempotencyKey: 'k',
            body: '',
          }),
          'POST\n/v1/batches\n1790000000\nk\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        );
        assert.equal(
          canonicalRequestString({
            method: 'GET',
            path: '/v1/reconciliation?date=2026-05-01',
            date: 1,
            body: undefined,
          }).split('\n')[3],
          '',
        );
      });

      it('refuses unauthenticated, forged, tampered, expired-date and replayed-late requests with 401', async () => {
        const day = '/v1/reconciliation?date=2026-01-01';
        assert.equal(await code(f.client.request('GET', day)), '200');
        const unsigned = await f.client.request('GET', day, { unsigned: true });
        assert.equal(unsigned.status, 401);
        assert.equal(unsigned.headers.get('www-authenticate'), 'Cardpost-Terminal');
        assert.deepEqual(Object.keys(unsigned.json().error).sort(), ['code', 'hint', 'message']);
        assert.equal(unsigned.json().error.code, 'AUTH_MISSING');

        // forged: right certificate, signature by another key
        const thief = { algorithm: f.term.key.algorithm, ...generateKeyPair(f.term.key.algorithm) };
        const forger = new BankTerminalClient({ baseUrl: f.url, key: thief, certificate: f.term.certificate });
        assert.equal(await code(forger.request('GET', day)), '401 AUTH_BAD_SIGNATURE');
        // tampered: signed for one path, sent to another
        const h = signTerminalRequest({ method: 'GET', path: day, key: f.term.key, certificate: f.term.certificate });
        assert.equal(
          await code(fetch(`${f.url}/v1/reconciliation?date=2026-01-02`, { headers: h }).then(wrap)),
          '401 AUTH_BAD_SIGNATURE',
        );
        // tampered body
        const key = batchId();
        const signed = signTerminalRequest({
          method: 'POST',
          path: '/v1/batches',
          body: '{"batchId":"x"}',
          idempotencyKey: key,
          key: f.term.key,
          certificate: f.term.certificate,
        });
        const tampered = await fetch(`${f.url}/v1/batches`, {
          method: 'POST',
          headers: { ...signed, 'Content-Type': 'application/json' },
          body: '{"batchId":"y"}',
        }).then(wrap);
        assert.equal(`${tampered.status} ${tampered.json().error.code}`, '401 AUTH_BAD_SIGNATURE');
        // a replay of a captured request after the 300 s window
        assert.equal(await code(f.client.request('GET', day, { date: NOW() - 301 })), '401 AUTH_DATE_SKEW');
        assert.equal(await code(f.client.request('GET', day, { date: NOW() + 301 })), '401 AUTH_DATE_SKEW');
        assert.equal(await code(f.client.request('GET', day, { date: NOW() - 299 })), '200');
        // garbage headers
        assert.equal(
          await code(f.client.request('GET', day, { headers: { 'X-Cardpost-Date': '12abc' } })),
          '401 AUTH_MALFORMED',
        );
        assert.equal(
          await code(f.client.request('GET', day, { headers: { 'X-Cardpost-Signature': 'AAAA' } })),
          '401 AUTH_MALFORMED',
        );
        assert.equal(
          await code(f.client.request('GET', day, { headers: { 'X-Cardpost-Terminal-Cert': 'AAAA' } })),
          '401 AUTH_CERT_INVALID',
        );
      });

      it('refuses terminal certificates of unknown issuers, expired, or of the wrong kind; accepts P-256 terminals', async () => {
        const day = '/v1/reconciliation?date=2026-01-01';
        const stranger = new TestIssuer().terminal('T-01');
        assert.equal(
          await code(new BankTerminalClient({ baseUrl: f.url, ...stranger }).request('GET', day)),
          '401 AUTH_CERT_UNKNOWN_ISSUER',
        );
        const expired = f.issuer.terminal('T-01', { notBefore: NOW() - 100 * DAY, notAfter: NOW() - DAY });
        assert.equal(
          await code(new BankTerminalClient({ baseUrl: f.url, ...expired }).request('GET', day)),
          '401 AUTH_CERT_EXPIRED',
        );
        const card = new PaperCard(f.issuer);
        assert.equal(
          await code(
            new BankTerminalClient({ baseUrl: f.url, key: card.key, certificate: card.certificate }).request(
              'GET',
              day,
            ),
          ),
          '401 AUTH_CERT_INVALID',
        );
        const p256 = f.issuer.terminal('T-p256', { algorithm: 'ecdsa-p256-sha256' });
        const ok = await new BankTerminalClient({ baseUrl: f.url, ...p256 }).request('GET', day);
        assert.equal(ok.status, 200);
        assert.equal(ok.json().terminalId, 'T-p256');
      });

      it('leaves health and the revocation list open', async () => {
        const h = await fetch(`${f.url}/v1/health`);
        assert.equal(h.status, 200);
        const body = (await h.json()) as { status: string; time: number };
        assert.equal(body.status, 'ok');
        assert.ok(Math.abs(body.time - NOW()) < 5, 'Math.abs(body.time - NOW()) < 5');
        assert.equal((await fetch(`${f.url}/v1/revocations`)).status, 200);
        const nf = await fetch(`${f.url}/v1/nothing`);
        assert.equal(nf.status, 404);
        assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
      });
    });

    describe('idempotency and crash safety', function () {
      let f: Fixture | undefined;
      afterEach(async () => {
        await stop(f);
        f = undefined;
      });

      it('replays the stored response byte for byte for the same key and body; 422 for another body; 400 without a key', async () => {
        f = await start();
        const a = new PaperCard(f.issuer);
        const id = batchId();
        const recs = [a.pay(100).envelope, a.pay(200).envelope];
        const first = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
        assert.equal(first.status, 200);
        assert.equal(first.headers.get('idempotent-replayed'), null);
        const second = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
        assert.equal(second.status, 200);
        assert.equal(second.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(second.bytes, first.bytes);
        // the key is case-insensitive hex and may be sent as a structured-field string
        const quoted = await f.client.submitBatch(id, recs, [a.certificate.envelope], {
          idempotencyKey: `"${id.toUpperCase()}"`,
        });
        assert.equal(quoted.status, 200, quoted.text);
        assert.deepEqual(quoted.bytes, first.bytes);

        const other = await f.client.submitBatch(id, [recs[0]!], [a.certificate.envelope]);
        assert.equal(other.status, 422);
        assert.equal(other.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
        assert.equal(await f.bank.settledCount(), 2);

        const noKey = await f.client.request('POST', '/v1/batches', { body: { batchId: id, records: [] } });
        assert.equal(`${noKey.status} ${noKey.json().error.code}`, '400 IDEMPOTENCY_KEY_MISSING');
        const mismatch = await f.client.request('POST', '/v1/batches', {
          idempotencyKey: batchId(),
          body: { batchId: id, records: ['AA'] },
        });
        assert.equal(`${mismatch.status} ${mismatch.json().error.code}`, '400 BATCH_ID_MISMATCH');
        const badKey = await f.client.request('POST', '/v1/batches', {
          idempotencyKey: 'abc',
          body: { batchId: id, records: ['AA'] },
        });
        assert.equal(`${badKey.status} ${badKey.json().error.code}`, '400 IDEMPOTENCY_KEY_INVALID');
      });
    });

    describe('top-ups and reconciliation', function () {
      let f: Fixture;
      beforeEach(async () => {
        f = await start();
      });
      afterEach(async () => {
        await stop(f);
      });

      it('reports per-currency totals of this terminal for a UTC day (by settlement time) and for a range', async () => {
        let now = NOW();
        const issuer = f.issuer;
        await stop(f);
        f = await start({ clock: () => now }, issuer);
        const a = new PaperCard(f.issuer);
        const u = new PaperCard(f.issuer, { currency: 840 });
        await settleOk(f, [a.pay(100), a.pay(250), u.pay(1000, { currency: 840 })], [a.certificate, u.certificate]);
        // another terminal's sales are not ours
        const t2 = f.issuer.terminal('T-02');
        const c2 = new BankTerminalClient({ baseUrl: f.url, ...t2, clock: () => now });
        await settleOk(f, [a.pay(999, { terminalId: 'T-02' })], [], c2);
        const today = new Date(now * 1000).toISOString().slice(0, 10);
        const r = await f.client.request('GET', `/v1/reconciliation?date=${today}`);
        assert.equal(r.status, 200);
        assert.deepEqual(r.json(), {
          date: today,
          terminalId: 'T-01',
          totals: [
            { currency: 156, count: 2, amount: 350 },
            { currency: 840, count: 1, amount: 1000 },
          ],
          reversals: [],
          refunds: [],
        });
        // settled tomorrow: counts for tomorrow only
        now += DAY;
        await settleOk(f, [a.pay(1)], []);
        const tomorrow = new Date(now * 1000).toISOString().slice(0, 10);
        assert.deepEqual((await f.client.request('GET', `/v1/reconciliation?date=${tomorrow}`)).json().totals, [
          { currency: 156, count: 1, amount: 1 },
        ]);
        const range = await f.client.request('GET', `/v1/reconciliation?from=${today}&to=${tomorrow}`);
        assert.deepEqual(range.json().totals, [
          { currency: 156, count: 3, amount: 351 },
          { currency: 840, count: 1, amount: 1000 },
        ]);
        assert.equal(range.json().from, today);
        // a shop's own day, [since, until) in Unix seconds (Asia/Shanghai: 16:00 UTC to 16:00 UTC): the last second out
        const since = now - DAY - 10;
        const shop = await f.client.request('GET', `/v1/reconciliation?since=${since}&until=${now}`);
        assert.deepEqual(shop.json().totals, [
          { currency: 156, count: 2, amount: 350 },
          { currency: 840, count: 1, amount: 1000 },
        ]);
        assert.equal(shop.json().since, String(since));
        const through = await f.client.request('GET', `/v1/reconciliation?since=${since}&until=${now + 1}`);
        assert.equal(through.json().totals[0].count, 3);
        for (const q of [
          '',
          '?date=2026-02-30',
          '?date=yesterday',
          `?date=${today}&from=${today}`,
          `?from=${tomorrow}&to=${today}`,
          '?date=a&date=b',
          `?since=${now}`,
          `?since=${now}&until=${now}`,
          `?since=-1&until=${now}`,
          `?since=1.5&until=${now}`,
          `?since=0&until=${400 * DAY}`,
          `?since=${since}&until=${now}&date=${today}`,
        ]) {
          const bad = await f.client.request('GET', `/v1/reconciliation${q}`);
          assert.equal(`${bad.status} ${bad.json().error.code}`, '400 QUERY_INVALID', q);
        }
      });
    });
  });
}
