/**
 * The simulated bank (`cardpost sim bank`). Its black-box behaviour (settlement verdicts, terminal
 * authentication, idempotency, reconciliation) is the bank contract, test/bank/bank-contract.ts, run
 * here against the simulated bank and in test/bank/bank-clearing.test.ts against the clearing
 * service; what only the simulator has (fault injection, its process and file, top-ups, its
 * configuration, the documentation of its answers) stays here.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeTopupToken, verifyTopupToken, type Certificate, type SigningKey } from '../../protocol/record/index.js';
import { SimBank, REJECT_REASON, type BatchResponse, type SimBankOptions } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { TestIssuer } from '../support/issuer.js';
import { until } from '../support/settlement-helpers.js';
import { PaperCard, batchId, settleOk, verdicts } from '../bank/bank-helpers.js';
import { bankContract } from '../bank/bank-contract.js';
import { simTarget } from '../bank/bank-targets.js';

bankContract(simTarget);

interface Fixture {
  dir: string;
  issuer: TestIssuer;
  bank: SimBank;
  url: string;
  term: { key: SigningKey; certificate: Certificate };
  client: BankTerminalClient;
  opts: SimBankOptions;
}

async function start(extra: Partial<SimBankOptions> = {}, issuer = new TestIssuer()): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-'));
  const opts: SimBankOptions = {
    dbPath: path.join(dir, 'bank.sqlite'),
    issuerCertificate: issuer.certificate,
    authority: { key: issuer.authorityKey, certificate: issuer.authority },
    ...extra,
  };
  const bank = new SimBank(opts);
  const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
  const term = issuer.terminal('T-01');
  const client = new BankTerminalClient({ baseUrl: url, ...term, ...(extra.clock ? { clock: extra.clock } : {}) });
  return { dir, issuer, bank, url, term, client, opts };
}

async function stop(f: Fixture | undefined): Promise<void> {
  if (!f) return;
  await f.bank.close();
  rmSync(f.dir, { recursive: true, force: true });
}

describe('simulated bank: idempotency and crash safety', function () {
  let f: Fixture | undefined;
  afterEach(async () => {
    await stop(f);
    f = undefined;
  });

  it('answers 409 while the same key is still being processed', async () => {
    f = await start({ faults: { latencyMs: 2000 } });
    const bank = f.bank; // read in the wait below, where TypeScript no longer narrows f
    const a = new PaperCard(f.issuer);
    const id = batchId();
    const recs = [a.pay(100).envelope];
    const slow = f.client.submitBatch(id, recs, [a.certificate.envelope]);
    // Wait until the bank is working on it (not a fixed sleep: a loaded machine may take longer to get there).
    await until(() => bank.inFlightRequests() > 0, 'the first request to reach the bank', 2500, 5);
    f.bank.setFaults({ latencyMs: 0 });
    const busy = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
    assert.equal(busy.status, 409);
    assert.equal(busy.json().error.code, 'IDEMPOTENCY_KEY_IN_USE');
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.equal((await slow).status, 200);
    const after = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
    assert.equal(after.headers.get('idempotent-replayed'), 'true');
  });

  it('commits then drops the connection; the retry with the same key gets the committed answer, each record once — also after a restart', async () => {
    f = await start({ faults: { dropAfterCommitRate: 1, seed: 7 } });
    const a = new PaperCard(f.issuer);
    const id = batchId();
    const recs = [a.pay(100).envelope, a.pay(200).envelope, a.pay(300).envelope];
    await assert.rejects(f.client.submitBatch(id, recs, [a.certificate.envelope]));
    assert.equal(f.bank.settledCount(), 3); // committed although the client never heard
    const retry = await f.client.submitBatch(id, recs, [a.certificate.envelope]); // replays are not dropped
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const body = retry.json<BatchResponse>();
    assert.deepEqual(verdicts(body), ['accepted', 'accepted', 'accepted']);
    assert.deepEqual(body.accepted, { count: 3, amount: { 156: 600 } });

    // durable: a new bank on the same file answers the same bytes
    await f.bank.close();
    const bank2 = new SimBank({ ...f.opts, faults: {} });
    const { url } = await bank2.listen({ port: 0 });
    f.bank = bank2;
    const c2 = new BankTerminalClient({ baseUrl: url, ...f.term });
    const again = await c2.submitBatch(id, recs, [a.certificate.envelope]);
    assert.deepEqual(again.bytes, retry.bytes);
    // a different batch with the same records: duplicates, nothing credited twice
    const dup = await c2.submitBatch(batchId(), recs, []);
    assert.deepEqual(verdicts(dup.json()), ['duplicate', 'duplicate', 'duplicate']);
    assert.equal(bank2.settledCount(), 3);
  });
});

describe('simulated bank: kill -9', function () {
  it('a bank process killed right after a commit loses nothing; a new bank on the same file answers the retry', async function () {
    const issuer = new TestIssuer();
    const dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-kill-'));
    const dbPath = path.join(dir, 'bank.sqlite');
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const child = path.join(dir, 'bank-child.mts');
    const bankModule = new URL('../../device-sim/bank/index.ts', import.meta.url).href;
    const recordModule = new URL('../../protocol/record/index.ts', import.meta.url).href;
    writeFileSync(
      child,
      `
      import { SimBank } from ${JSON.stringify(bankModule)};
      import { decodeCertificate } from ${JSON.stringify(recordModule)};
      const c = JSON.parse(process.argv[2]);
      const h = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
      const bank = new SimBank({ dbPath: c.dbPath, issuerCertificate: decodeCertificate(h(c.ca)),
        authority: { key: { algorithm: c.alg, privateKey: h(c.priv), publicKey: h(c.pub) }, certificate: decodeCertificate(h(c.auth)) },
        faults: { dropAfterCommitRate: 1 } });
      const { port } = await bank.listen({ port: 0 });
      console.log('PORT ' + port);
    `,
    );
    const config = JSON.stringify({
      dbPath,
      ca: hex(issuer.certificate.envelope),
      auth: hex(issuer.authority.envelope),
      alg: issuer.authorityKey.algorithm,
      priv: hex(issuer.authorityKey.privateKey),
      pub: hex(issuer.authorityKey.publicKey),
    });
    const proc = spawn(process.execPath, ['--import', 'tsx', child, config], { stdio: ['ignore', 'pipe', 'inherit'] });
    let f2: SimBank | undefined;
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /PORT (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        proc.once('exit', (code) => reject(new Error(`bank child exited ${code}`)));
      });
      const term = issuer.terminal('T-01');
      const client = new BankTerminalClient({ baseUrl: `http://127.0.0.1:${port}`, ...term });
      const a = new PaperCard(issuer);
      const id = batchId();
      const recs = [a.pay(100).envelope, a.pay(200).envelope];
      await assert.rejects(client.submitBatch(id, recs, [a.certificate.envelope])); // committed, then the socket dropped
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));

      f2 = new SimBank({
        dbPath,
        issuerCertificate: issuer.certificate,
        authority: { key: issuer.authorityKey, certificate: issuer.authority },
      });
      const { url } = await f2.listen({ port: 0 });
      const retry = await new BankTerminalClient({ baseUrl: url, ...term }).submitBatch(id, recs, [
        a.certificate.envelope,
      ]);
      assert.equal(retry.status, 200);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(verdicts(retry.json()), ['accepted', 'accepted']);
      assert.equal(f2.settledCount(), 2);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await f2?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('simulated bank: top-ups', function () {
  let f: Fixture;
  beforeEach(async () => {
    f = await start();
  });
  afterEach(async () => {
    await stop(f);
  });

  it('issues a verifiable top-up token bounded by the settled counter; idempotent; conflicts refused', async () => {
    const a = new PaperCard(f.issuer);
    await settleOk(f, [a.pay(100), a.pay(100), a.pay(100)], [a.certificate]);
    const res = await f.client.topup('topup-1', {
      cardId: a.hex,
      loadSeq: 1,
      amount: 50_000,
      currency: 156,
      validForPayments: 20,
    });
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    const token = decodeTopupToken(new Uint8Array(Buffer.from(body.token, 'base64url')));
    assert.deepEqual(new Uint8Array(Buffer.from(body.authority, 'base64url')), f.issuer.authority.envelope);
    assert.ok(
      verifyTopupToken(token, f.issuer.authority.algorithm, f.issuer.authority.publicKey),
      'verifyTopupToken(token, f.issuer.authority.algorithm, f.issuer.authority.publicKey)',
    );
    assert.equal(token.validUntilCounter, 3 + 20);
    assert.equal(token.amount, 50_000);
    assert.equal(token.loadSeq, 1);
    assert.equal(token.resetOffline, true);
    assert.deepEqual(token.cardId, a.cardId);

    const replay = await f.client.topup('topup-1', {
      cardId: a.hex,
      loadSeq: 1,
      amount: 50_000,
      currency: 156,
      validForPayments: 20,
    });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.bytes, res.bytes);
    // another key, same load: the same token
    const same = await f.client.topup('topup-1-again', { cardId: a.hex, loadSeq: 1, amount: 50_000, currency: 156 });
    assert.equal(same.json().token, body.token);
    const conflict = await f.client.topup('topup-1-other', {
      cardId: a.hex,
      loadSeq: 1,
      amount: 60_000,
      currency: 156,
    });
    assert.equal(`${conflict.status} ${conflict.json().error.code}`, '409 TOPUP_CONFLICT');
    const reuse = await f.client.topup('topup-1', { cardId: a.hex, loadSeq: 2, amount: 1, currency: 156 });
    assert.equal(`${reuse.status} ${reuse.json().error.code}`, '422 IDEMPOTENCY_KEY_REUSED');
    const wrongCur = await f.client.topup('topup-usd', { cardId: a.hex, loadSeq: 2, amount: 1, currency: 840 });
    assert.equal(`${wrongCur.status} ${wrongCur.json().error.code}`, '422 CURRENCY_UNSUPPORTED');
    const unknownCard = await f.client.topup('topup-new', {
      cardId: '00112233445566ff',
      loadSeq: 1,
      amount: 1,
      currency: 156,
    });
    assert.equal(
      decodeTopupToken(new Uint8Array(Buffer.from(unknownCard.json().token, 'base64url'))).validUntilCounter,
      1000,
    );
    const bad = await f.client.topup('topup-bad', { cardId: a.hex, loadSeq: 0, amount: 1, currency: 156 });
    assert.equal(`${bad.status} ${bad.json().error.code}`, '400 BODY_SCHEMA');
    const noKey = await f.client.request('POST', '/v1/topups', {
      body: { cardId: a.hex, loadSeq: 2, amount: 1, currency: 156 },
    });
    assert.equal(`${noKey.status} ${noKey.json().error.code}`, '400 IDEMPOTENCY_KEY_MISSING');
  });
});

describe('simulated bank: fault injection', function () {
  let f: Fixture | undefined;
  afterEach(async () => {
    await stop(f);
    f = undefined;
  });

  it('errorRate answers 500/503 before doing anything, reproducibly from the seed', async () => {
    f = await start({ faults: { errorRate: 0.5, seed: 42 } });
    const a = new PaperCard(f.issuer);
    const run = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 12; i++) out.push((await fetch(`${f!.url}/v1/health`)).status);
      return out;
    };
    const first = await run();
    f.bank.setFaults({ seed: 42 });
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(200) && first.some((s) => s >= 500), first.join());
    assert.ok(
      first.every((s) => [200, 500, 503].includes(s)),
      'first.every((s) => [200, 500, 503].includes(s))',
    );
    f.bank.setFaults({ errorRate: 1 });
    const res = await f.client.submitBatch(batchId(), [a.pay(100).envelope], [a.certificate.envelope]);
    assert.ok(res.status === 500 || res.status === 503, 'res.status === 500 || res.status === 503');
    assert.equal(res.json().error.code, 'FAULT_INJECTED');
    assert.equal(f.bank.settledCount(), 0);
  });

  it('down answers 503 to everything; down "reset" drops connections; both recover', async () => {
    f = await start({ faults: { down: true } });
    const h = await fetch(`${f.url}/v1/health`);
    assert.equal(h.status, 503);
    assert.equal(((await h.json()) as { error: { code: string } }).error.code, 'BANK_DOWN');
    f.bank.setFaults({ down: 'reset' });
    await assert.rejects(fetch(`${f.url}/v1/health`)); // on the kept-alive connection
    await assert.rejects(fetch(`${f.url}/v1/health`, { headers: { connection: 'close' } })); // on a new one
    f.bank.setFaults({ down: false });
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 200);
  });

  it('latencyMs delays answers; timeoutRate holds the socket until the client gives up; close() does not hang', async () => {
    f = await start({ faults: { latencyMs: 150 } });
    let t0 = performance.now();
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 200);
    {
      const waited = performance.now() - t0;
      assert.ok(waited >= 130, `answered after ${waited} ms`);
    }
    f.bank.setFaults({ latencyMs: 0, timeoutRate: 1 });
    t0 = performance.now();
    await assert.rejects(fetch(`${f.url}/v1/health`, { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
    {
      const waited = performance.now() - t0;
      assert.ok(waited >= 250, `gave up after ${waited} ms`);
    }
    // one more left hanging: close() must still finish promptly
    const hanging = fetch(`${f.url}/v1/health`).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    t0 = performance.now();
    await f.bank.close();
    assert.ok(performance.now() - t0 < 2000, 'performance.now() - t0 < 2000');
    assert.ok((await hanging) instanceof Error, '(await hanging) instanceof Error');
  });

  it('the admin endpoint exists only when enabled and changes faults', async () => {
    f = await start({ faults: { adminEndpoint: true } });
    const set = await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ down: true }),
    });
    assert.equal(set.status, 200);
    assert.equal(((await set.json()) as { down: boolean }).down, true);
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 503);
    const bad = await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"errorRate": 2}',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'FAULTS_INVALID');
    const noAdmin = await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"adminEndpoint": false}',
    });
    assert.equal(noAdmin.status, 400);
    await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"down": false}',
    });
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 200);
    await stop(f);
    f = await start();
    assert.equal(
      (
        await fetch(`${f.url}/v1/_faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"down": true}',
        })
      ).status,
      404,
    );
  });

  it('refuses a bad configuration at construction', () => {
    const issuer = new TestIssuer();
    const base = {
      dbPath: ':memory:',
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    };
    assert.throws(() => new SimBank({ ...base, issuerCertificate: issuer.authority }), /TRUST_ANCHOR|issuer CA/);
    assert.throws(
      () => new SimBank({ ...base, authority: { key: issuer.key, certificate: issuer.authority } }),
      /does not match/,
    );
    const t = issuer.terminal('T');
    assert.throws(() => new SimBank({ ...base, authority: t }), /kind/);
    assert.throws(() => new SimBank({ ...base, faults: { errorRate: -1 } }), /errorRate/);
  });
});

describe('simulated bank: documentation', function () {
  it('documents every reason and error code the bank can answer, in docs/bank-api.md and the OpenAPI file', () => {
    const md = readFileSync('docs/bank-api.md', 'utf8');
    const yaml = readFileSync('docs/bank-api.openapi.yaml', 'utf8');
    for (const reason of Object.values(REJECT_REASON)) {
      assert.ok(md.includes(`| \`${reason}\` |`), `${reason} missing from the reasons table of docs/bank-api.md`);
      assert.ok(yaml.includes(`- ${reason}\n`), `${reason} missing from RejectReason in the OpenAPI file`);
    }
    const src = [
      'device-sim/bank/sim-bank.ts',
      'protocol/bank/authenticate.ts',
      'protocol/bank/http-error.ts',
      'host/clearing/http/clearing-http.ts',
    ]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const codes = new Set([
      ...[...src.matchAll(/(?:authError\(\s*|badRequest\(\s*|HttpError\(\s*(?:\d{3}|status),\s*)'([A-Z_]+)'/g)].map(
        (m) => m[1]!,
      ),
      ...[...src.matchAll(/\[\s*'([A-Z_]+)',\s/g)].map((m) => m[1]!),
      'BATCH_TOO_LARGE',
      'FAULTS_INVALID',
    ]);
    assert.ok(codes.size > 25, `${codes.size} codes found`);
    for (const c of codes) {
      assert.ok(md.includes(`\`${c}\``), `${c} missing from docs/bank-api.md §10`);
      assert.ok(yaml.includes(c), `${c} missing from the OpenAPI file`);
    }
  });
});
