import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { issueTerminal } from '../../host/issuer/issuer-dir.js';
import { loadConfig } from '../../host/daemon/config.js';
import { Daemon } from '../../host/daemon/daemon.js';
import { createLogger } from '../../host/daemon/log.js';
import { cardCommand } from '../../host/cli/card-command.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { decodeTxnRecord } from '../../protocol/record/index.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { until } from '../support/settlement-helpers.js';

interface LostAnswer {
  cardId: string;
  reason: string;
  reportedAt: number;
  reportedBy: { kind: string; id: string };
  alreadyReported: boolean;
  revocationSequence: number;
  balance: number | null;
  balanceCounter: number;
  currency: number | null;
  counterListSequence: number | null;
  refusedHere: boolean;
}

/** A second counter on the fixture's bank: its own terminal, reader and data directory. */
async function secondCounter(f: DaemonFixture): Promise<{ daemon: Daemon; reader: InProcessReader; token: string }> {
  issueTerminal(f.issuer, 'T-TEST-02', join(f.dir, 'terminal2'));
  const reader = new InProcessReader({ name: 'second reader' });
  const daemon = await Daemon.start({
    config: loadConfig({
      overrides: {
        dataDir: join(f.dir, 'data2'),
        terminalDir: join(f.dir, 'terminal2'),
        merchantId: 'M-TEST-2',
        currency: 156,
        authorityCertificate: join(f.issuer.dir, 'authority.cert'),
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
  const token = readFileSync(join(f.dir, 'data2', 'api-token'), 'utf8').trim();
  return { daemon, reader, token };
}

async function call<T>(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function pay(
  daemon: Daemon,
  token: string,
  amount: number,
  wait: (id: string) => Promise<SaleSnapshot>,
): Promise<SaleSnapshot> {
  const s = (await call<SaleSnapshot>(daemon.url, token, 'POST', '/api/v1/sales', { amount })).body;
  return wait(s.saleId);
}

describe('daemon: a lost or stolen card (issue 14)', function () {
  this.timeout(60_000);
  let f: DaemonFixture;
  let two: { daemon: Daemon; reader: InProcessReader; token: string } | undefined;

  before(async () => {
    f = await DaemonFixture.start();
  });
  after(async () => {
    await two?.daemon.stop().catch(() => undefined);
    await f?.stop();
  });

  const waitOne = (id: string) => f.waitForSale(id);
  const waitTwo = (id: string) =>
    new Promise<SaleSnapshot>((resolve, reject) => {
      const engine = two!.daemon.engine;
      const timer = setTimeout(() => reject(new Error(`sale ${id} did not end`)), 10_000);
      const check = (s: SaleSnapshot | undefined) => {
        if (s && s.saleId === id && ['done', 'failed', 'cancelled', 'timed_out'].includes(s.state)) {
          clearTimeout(timer);
          engine.off('sale', check);
          resolve(s);
        }
      };
      engine.on('sale', check);
      check(engine.get(id));
    });

  it('is reported at a counter: the bank revokes it and keeps the balance; this counter refuses it at once, the other after its next contact; records signed before the report still settle', async () => {
    // 1. the card pays at counter 1 and the record settles
    const a = await pay(f.daemon, f.token, 700, waitOne);
    assert.equal(a.state, 'done', JSON.stringify(a.error));
    f.daemon.settleNow();
    await until(() => f.bank.settledRecord(f.cardId, 1) !== undefined, 'record 1 to settle', 10_000);

    // 2. a second counter on the same bank, with the current (empty) revocation list
    two = await secondCounter(f);

    // 3. counter 1 is cut off from the bank and takes another payment offline, then stops
    f.bank.setFaults({ down: true });
    const b = await pay(f.daemon, f.token, 300, waitOne);
    assert.equal(b.state, 'done', JSON.stringify(b.error));
    await f.daemon.stop();
    f.bank.setFaults({ down: false });
    assert.equal(f.bank.settledRecord(f.cardId, 2), undefined, 'record 2 is not at the bank yet');

    // 4. the holder reports the card stolen at counter 2 (through the CLI → API → bank)
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
    await cardCommand(io as never).parseAsync(
      ['report-lost', f.cardId, '--reason', 'stolen', '--data-dir', join(f.dir, 'data2'), '--json'],
      { from: 'user' },
    );
    const r = JSON.parse(out.join('\n')) as LostAnswer;
    assert.equal(r.cardId, f.cardId);
    assert.equal(r.reason, 'stolen');
    assert.equal(r.alreadyReported, false);
    assert.deepEqual(r.reportedBy, { kind: 'terminal', id: 'T-TEST-02' });
    const last = decodeTxnRecord(f.bank.settledRecord(f.cardId, 1)!.envelope);
    assert.equal(r.balance, last.balanceAfter, "the recorded balance is the card's last settled balance");
    assert.equal(r.balance, 500_000 - 700);
    assert.equal(r.balanceCounter, 1);
    assert.equal(r.currency, 156);
    assert.ok(f.bank.revokedCards().includes(f.cardId), 'the bank revoked the card');
    assert.equal(r.revocationSequence, f.bank.revocationList().sequence);
    assert.equal(r.refusedHere, true);
    assert.equal(r.counterListSequence, f.bank.revocationList().sequence);
    const audit = f.bank.lostCards();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.reporterId, 'T-TEST-02', 'the report is audited with the terminal id');

    // 5. the same card tapped at this counter (2) is refused at once, with the plain words
    f.reader.remove();
    two.reader.insert(f.applet);
    const refused = await pay(two.daemon, two.token, 500, waitTwo);
    assert.equal(refused.state, 'failed');
    assert.equal(refused.error?.code, 'CARD_REVOKED');
    assert.match(refused.error!.hint, /reported lost or stolen/);
    assert.match(refused.error!.hint, /contacts the card issuer/);
    assert.equal(two.daemon.store.records().length, 0, 'nothing was signed');

    // 6. counter 1 comes back: its offline record (signed before the report) settles, the balance follows it,
    //    and after this contact it refuses the card too
    two.reader.remove();
    f.reader.insert(f.applet);
    await f.restart();
    await until(() => f.bank.settledRecord(f.cardId, 2) !== undefined, 'record 2 (signed before the report) to settle');
    await until(
      () => f.daemon.store.records().find((x) => x.recordId === `${f.cardId}:2`)?.status === 'settled',
      'counter 1 to mark record 2 settled (accepted, not REVOKED)',
    );
    await until(
      () => (f.daemon.revocations.sequence ?? 0) >= r.revocationSequence,
      'counter 1 to fetch the revocation list on its contact',
      10_000,
    );
    const again = await pay(f.daemon, f.token, 200, waitOne);
    assert.equal(again.state, 'failed');
    assert.equal(again.error?.code, 'CARD_REVOKED');

    // 7. reporting again is idempotent: the first report stands, the balance now includes record 2
    const re = await f.api<LostAnswer>('POST', `/api/v1/cards/${f.cardId.toUpperCase()}/lost`, { reason: 'lost' });
    assert.equal(re.status, 200);
    assert.equal(re.body.alreadyReported, true);
    assert.equal(re.body.reason, 'stolen');
    assert.equal(re.body.reportedAt, r.reportedAt);
    assert.deepEqual(re.body.reportedBy, r.reportedBy);
    assert.equal(re.body.revocationSequence, r.revocationSequence, 'no new list for a second report');
    assert.equal(re.body.balance, 500_000 - 1000);
    assert.equal(re.body.balanceCounter, 2);
    assert.equal(f.bank.revocationList().sequence, r.revocationSequence);
    assert.equal(f.bank.lostCards()[0]!.balance, 500_000 - 1000);
  });

  it('refuses an unknown card (404), malformed input (400) and a request without the token (401)', async () => {
    const unknown = await f.api<{ error: { code: string } }>('POST', '/api/v1/cards/0123456789abcdef/lost', {
      reason: 'lost',
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'LOST_CARD_UNKNOWN');
    for (const [path, body] of [
      ['/api/v1/cards/0123/lost', { reason: 'lost' }],
      ['/api/v1/cards/0123456789abcdeg/lost', { reason: 'lost' }],
      [`/api/v1/cards/${f.cardId}/lost`, { reason: 'misplaced' }],
      [`/api/v1/cards/${f.cardId}/lost`, { reason: 'lost', extra: 1 }],
      [`/api/v1/cards/${f.cardId}/lost`, '[1,2'],
    ] as const) {
      const res = await call<{ error: { code: string } }>(f.url, f.token, 'POST', path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.match(res.body.error.code, /^(REQUEST_INVALID|FST_ERR_CTP_INVALID_JSON_BODY|FST_ERR_\w+)$/);
    }
    const anon = await call<{ error: { code: string } }>(f.url, undefined, 'POST', `/api/v1/cards/${f.cardId}/lost`, {
      reason: 'lost',
    });
    assert.equal(anon.status, 401);
  });
});

describe('daemon: the balance kept for a lost card (issue 14)', function () {
  this.timeout(60_000);
  it('counts a top-up made after the card’s last payment: the bank keeps what the card holds', async () => {
    const f = await DaemonFixture.start({ balance: 100_000, config: { cardServices: { autoSyncAt: null } } });
    try {
      const s = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1_000 });
      await f.waitForSale(s.body.saleId);
      f.daemon.settleNow();
      await until(() => f.bank.settledRecord(f.cardId, 1) !== undefined, 'the payment settled');
      const t = await f.api<{ balance: number }>('POST', '/api/v1/topups', { amount: 30_000, method: 'cash' });
      assert.equal(t.body.balance, 129_000, JSON.stringify(t.body));
      const r = await f.api<{ balance: number }>('POST', `/api/v1/cards/${f.cardId}/lost`, { reason: 'lost' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.balance, 129_000, 'the payment’s balance after (99,000) plus the later top-up');
      assert.equal(f.bank.lostCards()[0]?.balance, 129_000);
    } finally {
      await f.stop();
    }
  });
});

describe('daemon: cardpost card report-lost (CLI)', function () {
  this.timeout(60_000);
  let f: DaemonFixture;
  before(async () => {
    f = await DaemonFixture.start();
  });
  after(async () => {
    await f?.stop();
  });
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
    await cardCommand(io as never).parseAsync([...args, '--data-dir', join(f.dir, 'data')], { from: 'user' });
    return out;
  };
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return 'ok';
  };

  it('takes the card id from a reader, prints plain words, refuses bad usage and says when the bank is away', async () => {
    assert.equal(await code(run('report-lost', f.cardId, '--reader', 'fixture reader')), 'CLI_USAGE');
    assert.equal(await code(run('report-lost')), 'CLI_USAGE');
    assert.equal(await code(run('report-lost', f.cardId, '--reason', 'gone')), 'CLI_USAGE');
    assert.equal(await code(run('report-lost', '12345')), 'CLI_USAGE');
    // the bank has not seen the card yet: unknown there
    assert.equal(await code(run('report-lost', f.cardId)), 'LOST_CARD_UNKNOWN');

    const a = await pay(f.daemon, f.token, 1_250, (id) => f.waitForSale(id));
    assert.equal(a.state, 'done');
    f.daemon.settleNow();
    await until(() => f.bank.settledRecord(f.cardId, 1) !== undefined, 'record 1 to settle', 10_000);

    f.bank.setFaults({ down: true });
    assert.match(String(await code(run('report-lost', '--reader', 'fixture reader'))), /^BANK_/);
    assert.deepEqual(f.bank.revokedCards(), [], 'nothing was reported while the bank was down');
    f.bank.setFaults({ down: false });

    const out = await run('report-lost', '--reader', 'fixture reader');
    assert.match(out[0]!, new RegExp(`^card ${f.cardId} reported lost at .*: the bank has blocked it$`));
    assert.match(out[1]!, /balance kept for the holder: .*4,987\.50|balance kept for the holder: .*4987\.50/);
    assert.match(out[2]!, /this counter refuses the card from now on/);
    assert.ok(f.bank.revokedCards().includes(f.cardId));
    // reading the card now says plainly why it is refused
    assert.equal(await code(run('report-lost', '--reader', 'fixture reader')), 'CARD_REVOKED');
    const again = await run('report-lost', f.cardId.toUpperCase());
    assert.match(again[0]!, /was already reported lost .*; it stays blocked/);
  });
});
