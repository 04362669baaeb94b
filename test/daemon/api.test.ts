import { strict as assert } from 'node:assert';
import { request } from 'node:http';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { CardClient } from '../../protocol/commands/index.js';
import { Daemon, DaemonError, DATA_FILES } from '../../host/daemon/daemon.js';
import { LOCK_KIND } from '../../host/daemon/daemon-lock.js';
import { createLogger } from '../../host/daemon/log.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { Prng } from '../support/prng.js';
import { FUZZ_ROUNDS, fuzzSeed, hexSeed } from '../support/fuzz.js';
import { until } from '../support/settlement-helpers.js';
import { readSse as readEvents } from '../support/raw-http.js';
import { errorInfo } from '../../host/errors/registry.js';

type ErrorBody = { error: { code: string; message: string; hint: string; tokenFile?: string } };

/** A raw HTTP request (fetch will not let a test set Host, or send arbitrary bytes as a body). */
function raw(
  url: string,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    // An explicit Content-Length: Node sends a GET body without framing otherwise, which is a broken request, not an API test.
    const length = o.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(o.body)) } : {};
    const req = request(
      {
        host: u.hostname,
        port: Number(u.port),
        method: o.method ?? 'GET',
        path: o.path,
        headers: { ...length, ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/**
 * Responses the fuzz test tolerates although they break the error contract. Empty: the two findings
 * (an unknown reader answered 503 READER_GONE; fastify router errors in fastify's own shape) are fixed
 * and pinned by the two tests at the end of this file.
 */
const KNOWN_API_BUGS: string[] = [];

describe('daemon: the local HTTP API', function () {
  this.timeout(30_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  it('no token → 401 naming the token file; a wrong token → 401; the token works', async () => {
    f = await DaemonFixture.start();
    const none = await fetch(`${f.url}/api/v1/status`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const body = (await none.json()) as ErrorBody;
    assert.equal(body.error.code, 'API_UNAUTHORISED');
    assert.equal(body.error.tokenFile, join(f.daemon.config.dataDir, 'api-token'));
    assert.ok(body.error.hint.includes(body.error.tokenFile!), 'the hint says where the token is');
    const wrong = await fetch(`${f.url}/api/v1/status`, { headers: { Authorization: `Bearer ${'A'.repeat(43)}` } });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${f.url}/metrics`)).status, 401, '/metrics needs the token too');
    assert.equal((await f.api('GET', '/api/v1/status')).status, 200);
    assert.equal((await fetch(`${f.url}/api/v1/health`)).status, 200, 'health is open');
  });

  it('a Host header that is not loopback is refused 403 (DNS rebinding), even with the token', async () => {
    f = await DaemonFixture.start();
    const auth = { Authorization: `Bearer ${f.token}` };
    for (const host of ['evil.example', 'evil.example:8450', '127.0.0.1.evil.example', '192.168.1.5']) {
      const r = await raw(f.url, { path: '/api/v1/status', headers: { ...auth, Host: host } });
      assert.equal(r.status, 403, host);
      assert.equal((JSON.parse(r.text) as ErrorBody).error.code, 'HOST_NOT_LOOPBACK');
    }
    const port = new URL(f.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      assert.equal((await raw(f.url, { path: '/api/v1/status', headers: { ...auth, Host: host } })).status, 200, host);
    }
  });

  it('the token file is mode 0600 and a second start reuses it', async () => {
    f = await DaemonFixture.start();
    const file = join(f.daemon.config.dataDir, DATA_FILES.token);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    await f.restart();
    assert.equal(readFileSync(file, 'utf8').trim(), f.token, 'the same token after a restart');
    assert.equal((await f.api('GET', '/api/v1/status')).status, 200);
  });

  it('pairing: a wrong token is 401; the right one sets an HttpOnly SameSite=Strict cookie that then authorises', async () => {
    f = await DaemonFixture.start();
    const pair = (token: string) =>
      fetch(`${f!.url}/api/v1/pair`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
      });
    const bad = await pair('not-the-token');
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as ErrorBody).error.code, 'PAIRING_REFUSED');
    assert.equal(bad.headers.get('set-cookie'), null);
    const good = await pair(f.token);
    assert.equal(good.status, 200);
    const cookie = good.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.ok(!cookie.includes(f.token), 'the cookie is derived from the token, not the token');
    const pairCookie = cookie.split(';')[0]!;
    assert.equal((await fetch(`${f.url}/api/v1/status`, { headers: { Cookie: pairCookie } })).status, 200);
    assert.equal((await fetch(`${f.url}/api/v1/status`, { headers: { Cookie: `${pairCookie}x` } })).status, 401);
  });

  it('SSE /api/v1/events: status first, then the sale events of a sale in order', async () => {
    f = await DaemonFixture.start();
    const res = await fetch(`${f.url}/api/v1/events`, { headers: { Authorization: `Bearer ${f.token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    let saleId = '';
    const collecting = readEvents(res, (ev) =>
      ev.some((e) => e.event === 'sale' && (e.data as SaleSnapshot).state === 'done'),
    );
    await until(() => f!.daemon.engine.listenerCount('sale') > 0, 'the stream to be attached', 2000, 5);
    await new Promise((r) => setTimeout(r, 50));
    saleId = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 600 })).body.saleId;
    const events = await collecting;
    assert.equal(events[0]?.event, 'status', 'the first event is the whole picture');
    assert.equal((events[0]!.data as { terminalId: string }).terminalId, 'T-TEST-01');
    const states = events
      .filter((e) => e.event === 'sale' && (e.data as SaleSnapshot).saleId === saleId)
      .map((e) => (e.data as SaleSnapshot).state);
    assert.deepEqual(
      states.filter((s, i) => s !== states[i - 1]),
      ['waiting_card', 'reading_card', 'signing', 'stored', 'done'],
    );
  });

  it('GET /metrics: Prometheus text; queue records and sales_total move after a sale', async () => {
    f = await DaemonFixture.start();
    f.bank.setFaults({ down: true }); // keep the record pending so the gauge is visible before settlement
    const scrape = async () => {
      const r = await fetch(`${f!.url}/metrics`, { headers: { Authorization: `Bearer ${f!.token}` } });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      return r.text();
    };
    const sample = (text: string, name: string) =>
      Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const before = await scrape();
    assert.match(before, /^# TYPE cardpost_queue_records gauge$/m);
    assert.equal(
      sample(before, 'cardpost_queue_records{status="pending"}') +
        sample(before, 'cardpost_queue_records{status="sending"}'),
      0,
    );
    assert.ok(!/^cardpost_sales_total\{/m.test(before), 'no sale yet');
    const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 400 })).body;
    await f.waitForSale(s.saleId);
    const after = await scrape();
    assert.equal(sample(after, 'cardpost_sales_total{state="done"}'), 1);
    assert.equal(
      sample(after, 'cardpost_queue_records{status="pending"}') +
        sample(after, 'cardpost_queue_records{status="sending"}'),
      1,
    );
    assert.equal(sample(after, 'cardpost_unsettled_amount{currency="156"}'), 400);
  });

  it('a second daemon on the same data dir is refused DAEMON_RUNNING; a stale lock file of a dead pid is taken over', async () => {
    f = await DaemonFixture.start();
    const config = f.daemon.config;
    await f.daemon.stop();
    const lock = join(config.dataDir, DATA_FILES.info);
    const start = () =>
      Daemon.start({ config, log: createLogger('silent'), readers: [{ reader: f!.reader, kind: 'simulated' }] });
    // A live process that is not us holds the lock (what a running `cardpost daemon` leaves).
    const lockOf = (pid: number) =>
      JSON.stringify({
        kind: LOCK_KIND,
        nonce: 'other',
        pid,
        procStart: null,
        bootId: null,
        url: 'http://127.0.0.1:1',
        terminalId: 'T',
        startedAt: 0,
      });
    writeFileSync(lock, lockOf(process.ppid));
    await assert.rejects(start(), (e: unknown) => {
      assert.ok(e instanceof DaemonError, String(e));
      assert.equal(e.code, 'DAEMON_RUNNING');
      assert.ok(e.message.includes(String(process.ppid)), 'the message names the pid');
      return true;
    });
    assert.equal(
      JSON.parse(readFileSync(lock, 'utf8')).pid,
      process.ppid,
      "the refused start left the other daemon's file alone",
    );
    // A pid that has exited: stale, taken over.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, lockOf(dead));
    f.daemon = await start();
    const info = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; url: string };
    assert.equal(info.pid, process.pid);
    assert.equal(info.url, f.daemon.url);
  });

  it("fuzz: random paths, query strings and bodies to every route: no 5xx but an unreachable bank's, never a crash, errors always {error:{code,message,hint}}", async () => {
    f = await DaemonFixture.start();
    f.bank.setFaults({ down: true }); // reconciliation then meets a bank that answers 503: the daemon passes on 503 BANK_UNAVAILABLE (upstream), nothing else
    const seed = fuzzSeed(0xa91f);
    const rng = new Prng(seed);
    const auth = { Authorization: `Bearer ${f.token}` };
    const ROUTES: [string, string][] = [
      ['GET', '/api/v1/health'],
      ['POST', '/api/v1/pair'],
      ['GET', '/api/v1/status'],
      ['GET', '/api/v1/readers'],
      ['GET', '/api/v1/readers/:name/card'],
      ['POST', '/api/v1/readers/:name/apdu'],
      ['POST', '/api/v1/sales'],
      ['GET', '/api/v1/sales'],
      ['GET', '/api/v1/sales/:id'],
      ['POST', '/api/v1/sales/:id/pin'],
      ['POST', '/api/v1/sales/:id/cancel'],
      ['GET', '/api/v1/queue'],
      ['GET', '/api/v1/queue/export'],
      ['GET', '/api/v1/settlement'],
      ['POST', '/api/v1/settlement'],
      ['GET', '/api/v1/reconciliation'],
      ['GET', '/metrics'],
      ['GET', '/api/v1/nope'],
      ['DELETE', '/api/v1/sales'],
      ['PUT', '/api/v1/status'],
    ];
    const SEGMENTS = [
      'fixture%20reader',
      'nope',
      '%00',
      '..',
      '%2e%2e',
      'a'.repeat(500),
      '12345678-1234-1234-1234-123456789abc',
      '%ZZ',
      encodeURIComponent('😀'),
      encodeURIComponent("'; DROP TABLE sales;--"),
    ];
    const QUERY = [
      '',
      '?status=pending',
      '?status=bogus',
      '?after=-1',
      '?after=1e99',
      '?limit=0',
      '?limit=100000',
      '?date=2030-02-30',
      '?date=2030-01-01',
      '?date=',
      '?x=1&x=2',
      '?%ZZ',
      '?status[]=a',
      '?limit=5&after=abc',
    ];
    const BODIES: (() => string | Buffer | undefined)[] = [
      () => undefined,
      () => '',
      () => '{',
      () => 'null',
      () => '[]',
      () => '"str"',
      () => '{"amount":0}',
      () => '{"amount":-5}',
      () => '{"amount":1.5}',
      () => '{"amount":"12"}',
      () => `{"amount":${rng.int(30_000) + 1}}`,
      () => '{"amount":1e400}',
      () => '{"amount":100,"currency":0}',
      () => '{"amount":100,"currency":1000}',
      () => '{"amount":100,"extra":1}',
      () => '{"pin":"12"}',
      () => '{"pin":"abcd"}',
      () => '{"pin":"99999999999999999999999999999999999"}',
      () => '{"token":null}',
      () => '{"token":""}',
      () => '{"apdu":"00A4040000"}',
      () => '{"apdu":"zz"}',
      () => '{"apdu":"80"}',
      () => `{"apdu":"${'00'.repeat(rng.int(300) + 4)}"}`,
      () => '{"__proto__":{"amount":1}}',
      () => Buffer.from(rng.bytes(rng.int(200))),
      () => JSON.stringify({ amount: { $gt: 1 } }),
      () => 'x'.repeat(70_000),
    ];
    const CONTENT_TYPES = [
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      '',
    ];
    const saleIds: string[] = [];
    const rounds = 400 * FUZZ_ROUNDS;
    let answered = 0;
    const violations = new Map<string, string>();
    for (let i = 0; i < rounds; i++) {
      const [method, template] = rng.pick(ROUTES);
      const path =
        template
          .replace(':name', () => rng.pick(SEGMENTS))
          .replace(':id', () => (saleIds.length && rng.bool(0.5) ? rng.pick(saleIds) : rng.pick(SEGMENTS))) +
        rng.pick(QUERY);
      const body = method === 'GET' && rng.bool(0.8) ? undefined : rng.pick(BODIES)();
      const headers: Record<string, string> = rng.bool(0.9) ? { ...auth } : {};
      const ct = rng.pick(CONTENT_TYPES);
      if (body !== undefined && ct) headers['Content-Type'] = ct;
      if (rng.bool(0.1)) headers['Idempotency-Key'] = rng.pick(['k', '', 'x'.repeat(300)]);
      const what = () => `seed ${hexSeed(seed)} case ${i}: ${method} ${path} body ${String(body).slice(0, 80)}`;
      const r = await raw(f.url, { method, path, headers, ...(body !== undefined ? { body } : {}) });
      answered++;
      let e: ErrorBody | undefined;
      if (r.status >= 400) {
        try {
          e = JSON.parse(r.text) as ErrorBody;
        } catch {
          /* not JSON: a violation below */
        }
      }
      const shaped =
        e !== undefined &&
        typeof e.error?.code === 'string' &&
        typeof e.error.message === 'string' &&
        typeof e.error.hint === 'string';
      // A 5xx is the daemon failing, except an upstream bank failure passed on as such (502/503 BANK_*).
      const upstream =
        shaped &&
        (r.status === 502 || r.status === 503) &&
        e!.error.code.startsWith('BANK_') &&
        path.startsWith('/api/v1/reconciliation');
      if ((r.status >= 500 && !upstream) || (r.status >= 400 && !shaped)) {
        const code = e as { error?: { code?: unknown } | string; code?: unknown } | undefined;
        const key = `${r.status} ${typeof code?.error === 'object' ? String(code.error.code) : String(code?.code ?? '?')}`;
        if (!violations.has(key))
          violations.set(key, `${what()} headers ${JSON.stringify(headers)} → ${r.text.slice(0, 200)}`);
        continue;
      }
      if (r.status === 201) {
        const s = JSON.parse(r.text) as SaleSnapshot;
        saleIds.push(s.saleId);
        f.daemon.engine.cancel(s.saleId); // keep the reader free (a PIN sale would hold it)
        if (f.daemon.engine.active().length) await f.waitForSale(s.saleId).catch(() => undefined);
      }
    }
    assert.equal(answered, rounds);
    // Known bugs, reported and pinned by the skipped tests below; anything else fails here.
    for (const known of KNOWN_API_BUGS) violations.delete(known);
    assert.deepEqual(
      [...violations].map(([k, v]) => `${k}: ${v}`),
      [],
      "responses that break the API's error contract",
    );
    assert.equal((await fetch(`${f.url}/api/v1/health`)).status, 200, 'the daemon is still up');
    assert.equal((await f.api('GET', '/api/v1/status')).status, 200);
  });

  it('logs never contain a PIN or the API token (a PIN sale with a wrong PIN, pairing, bearer calls, trace level)', async () => {
    f = await DaemonFixture.start();
    const fx = f;
    // A PIN unlikely to occur by chance in a log line (timestamps, ports, ids): set it on the card first.
    const PIN = '73950281';
    const WRONG = '64829173';
    await fx.daemon.stop();
    await new CardClient(fx.reader).select();
    await new CardClient(fx.reader).changePin(new TextEncoder().encode('1234'), new TextEncoder().encode(PIN));
    let logText = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logText += chunk.toString('utf8');
        cb();
      },
    });
    fx.daemon = await Daemon.start({
      config: fx.daemon.config,
      log: createLogger('trace', sink),
      readers: [{ reader: fx.reader, kind: 'simulated' }],
    });
    await fetch(`${fx.url}/api/v1/pair`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: fx.token }),
    });
    await fetch(`${fx.url}/api/v1/pair`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: PIN }),
    });
    const s = (await fx.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 25_000 })).body;
    await until(() => fx.daemon.engine.get(s.saleId)?.state === 'pin', 'the PIN step', 5000, 5);
    await fx.api('POST', `/api/v1/sales/${s.saleId}/pin`, { pin: WRONG });
    await until(() => fx.daemon.engine.get(s.saleId)?.pinTriesLeft === 2, 'the wrong PIN to be counted', 5000, 5);
    await fx.api('POST', `/api/v1/sales/${s.saleId}/pin`, { pin: PIN });
    const done = await fx.waitForSale(s.saleId);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    await fx.api('POST', `/api/v1/sales/${s.saleId}/pin`, { pin: PIN }); // refused: still must not be logged
    fx.daemon.worker.poke();
    await until(() => fx.daemon.store.statusCounts().settled.count === 1, 'settlement (more log lines)', 5000);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      logText.includes('"sale stored"') && logText.includes('"batch settled"'),
      `the logger was used: ${logText}`,
    );
    const hex = (t: string) => Buffer.from(t).toString('hex');
    for (const [name, secret] of [
      ['PIN', PIN],
      ['wrong PIN', WRONG],
      ['PIN as hex', hex(PIN)],
      ['wrong PIN as hex', hex(WRONG)],
      ['token', fx.token],
    ] as const) {
      assert.ok(!logText.includes(secret), `the log contains the ${name}`);
    }
  });

  // Was a bug found by the fuzz test: an unknown reader answered 503 READER_GONE.
  it('an unknown reader name is a 4xx (404), not 503 READER_GONE', async () => {
    f = await DaemonFixture.start();
    const card = await f.api<ErrorBody>('GET', '/api/v1/readers/no-such-reader/card');
    assert.ok(
      card.status >= 400 && card.status < 500,
      `GET card of an unknown reader → ${card.status} ${card.body.error.code}`,
    );
    const apdu = await f.api<ErrorBody>('POST', '/api/v1/readers/no-such-reader/apdu', { apdu: '00A40400' });
    assert.ok(
      apdu.status >= 400 && apdu.status < 500,
      `POST apdu to an unknown reader → ${apdu.status} ${apdu.body.error.code}`,
    );
  });

  // Was a bug found by the fuzz test: router errors answered in fastify's own shape.
  it('router errors (bad percent-encoding, an over-long path parameter) answer {error:{code,message,hint}}', async () => {
    f = await DaemonFixture.start();
    const auth = { Authorization: `Bearer ${f.token}` };
    for (const path of ['/api/v1/sales/%ZZ', `/api/v1/sales/${'a'.repeat(101)}`]) {
      const r = await raw(f.url, { path, headers: auth });
      const e = JSON.parse(r.text) as ErrorBody;
      assert.ok(typeof e.error === 'object' && typeof e.error.hint === 'string', `${path} → ${r.status} ${r.text}`);
    }
  });
});

describe('daemon: API errors carry their kind from the error registry', function () {
  this.timeout(20_000);
  it('401, 404, 400 and 409 answers name the kind docs/errors.md gives their code', async () => {
    const f = await DaemonFixture.start({ insert: false });
    try {
      const answers = [
        await fetch(`${f.url}/api/v1/status`).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as ErrorBody,
        })),
        await f.api<ErrorBody>('GET', '/api/v1/sales/12345678-1234-1234-1234-123456789abc'),
        await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 'x' }),
      ];
      const started = await f.api<{ saleId: string }>('POST', '/api/v1/sales', { amount: 100 });
      answers.push(await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 100 }));
      f.daemon.engine.cancel(started.body.saleId);
      assert.deepEqual(
        answers.map((a) => [a.status, a.body.error.code]),
        [
          [401, 'API_UNAUTHORISED'],
          [404, 'SALE_NOT_FOUND'],
          [400, 'REQUEST_INVALID'],
          [409, 'SALE_IN_PROGRESS'],
        ],
      );
      for (const a of answers) {
        const kind = (a.body.error as { kind?: string }).kind;
        assert.equal(kind, errorInfo(a.body.error.code).kind, `${a.body.error.code} carries its registry kind`);
      }
    } finally {
      await f.stop();
    }
  });
});

describe('daemon: the local API validates strictly', function () {
  this.timeout(20_000);
  it('refuses unknown fields and numbers sent as strings instead of dropping or converting them', async () => {
    const f = await DaemonFixture.start({ insert: false });
    try {
      const unknown = await f.api<{ error: { code: string } }>('POST', '/api/v1/sales', { amount: 100, tip: 5 });
      assert.equal(unknown.status, 400, 'an unknown field is refused');
      assert.equal(unknown.body.error.code, 'REQUEST_INVALID');
      const text = await f.api<{ error: { code: string } }>('POST', '/api/v1/sales', { amount: '1250' });
      assert.equal(text.status, 400, '"1250" is not a number');
      const q = await f.api<{ error: { code: string } }>('GET', '/api/v1/queue?limit=10&colour=red');
      assert.equal(q.status, 400, 'an unknown query parameter is refused');
      const ok = await f.api<{ records: unknown[] }>('GET', '/api/v1/queue?limit=10&after=0');
      assert.equal(ok.status, 200, 'decimal query parameters are taken');
      assert.equal(f.daemon.engine.active().length, 0, 'no sale was started by a refused request');
    } finally {
      await f.stop();
    }
  });
});
