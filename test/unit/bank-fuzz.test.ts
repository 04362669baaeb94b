/**
 * HTTP fuzz of the simulated bank: random and mutated requests, authenticated or not, must get a
 * 4xx (or a 200 with per-record verdicts), never a 5xx, and the bank must keep serving.
 * Reproduce a failure from the seed printed in its message.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import {
  CERT_KIND,
  CVM,
  ZERO_HASH,
  issueCertificate,
  signTxnRecord,
  type SignedTxnRecord,
} from '../../protocol/record/index.js';
import { SimBank, MAX_BODY_BYTES, type BatchResponse } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { toBase64url } from '../../protocol/bank/terminal-auth.js';
import { Prng } from '../support/prng.js';
import { TestIssuer, TEST_LIMITS, NOW } from '../support/issuer.js';

const SEED = Number(process.env['BANK_FUZZ_SEED'] ?? 20260501);

describe('simulated bank: HTTP fuzz', function () {
  this.timeout(20_000);
  let dir: string;
  let bank: SimBank;
  let url: string;
  let port: number;
  let client: BankTerminalClient;
  let records: SignedTxnRecord[];
  let certEnvelope: Uint8Array;
  const issuer = new TestIssuer();

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-fuzz-'));
    bank = new SimBank({
      dbPath: path.join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    });
    ({ url, port } = await bank.listen({ port: 0 }));
    client = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-01') });
    const key = { algorithm: issuer.algorithm, ...generateKeyPair(issuer.algorithm) };
    const cardId = Uint8Array.of(9, 9, 9, 9, 1, 2, 3, 4);
    const cert = issueCertificate(issuer.key, {
      serial: Uint8Array.of(77),
      kind: CERT_KIND.CARD,
      subjectId: cardId,
      algorithm: SIGNATURE_ALGORITHM_CODES[issuer.algorithm],
      publicKey: key.publicKey,
      notBefore: NOW() - 86400,
      notAfter: NOW() + 86400,
      limits: TEST_LIMITS,
      currency: 156,
    });
    certEnvelope = cert.envelope;
    records = [];
    let prev: Uint8Array = ZERO_HASH;
    for (let i = 1; i <= 20; i++) {
      const r = signTxnRecord(key.algorithm, key.privateKey, {
        cardId,
        counter: i,
        amount: 100 + i,
        currency: 156,
        merchantId: 'M',
        terminalId: 'T-01',
        time: NOW(),
        hostNonce: new Uint8Array(16).fill(i),
        balanceAfter: 10_000 - i,
        prevHash: prev,
        algorithm: SIGNATURE_ALGORITHM_CODES[key.algorithm],
        cvm: CVM.NONE,
      });
      prev = r.hash;
      records.push(r);
    }
  });

  after(async () => {
    await bank?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hex32 = (rng: Prng): string => Buffer.from(rng.bytes(16)).toString('hex');

  function mutate(rng: Prng, bytes: Uint8Array): Uint8Array {
    const b = Array.from(bytes);
    const n = 1 + rng.int(4);
    for (let i = 0; i < n; i++) {
      const op = rng.int(4);
      const at = rng.int(Math.max(1, b.length));
      if (op === 0 && b.length) b[at] = rng.int(256);
      else if (op === 1) b.splice(at, 0, rng.int(256));
      else if (op === 2 && b.length) b.splice(at, 1 + rng.int(8));
      else b.length = Math.min(b.length, at);
    }
    return Uint8Array.from(b);
  }

  function randomJsonValue(rng: Prng, depth = 0): unknown {
    switch (rng.int(depth > 3 ? 6 : 8)) {
      case 0:
        return null;
      case 1:
        return rng.bool();
      case 2:
        return rng.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 4294967296, Number.MAX_SAFE_INTEGER]);
      case 3:
        return Buffer.from(rng.bytes(rng.int(40))).toString('base64url');
      case 4:
        return rng.pick(['', 'a'.repeat(9000), '\u0000', '\ud800', '😀', '__proto__', hex32(rng)]);
      case 5:
        return toBase64url(mutate(rng, rng.pick(records).envelope));
      case 6:
        return Array.from({ length: rng.int(5) }, () => randomJsonValue(rng, depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = rng.int(5); i > 0; i--)
          o[
            rng.pick([
              'batchId',
              'records',
              'certificates',
              'cardId',
              'loadSeq',
              'amount',
              'currency',
              'validForPayments',
              '__proto__',
              'x',
            ])
          ] = randomJsonValue(rng, depth + 1);
        return o;
      }
    }
  }

  function randomBody(rng: Prng, key: string): string | Uint8Array | undefined {
    const valid = {
      batchId: key,
      records: records.slice(0, 1 + rng.int(5)).map((r) => toBase64url(r.envelope)),
      certificates: [toBase64url(certEnvelope)],
    };
    switch (rng.int(9)) {
      case 0:
        return undefined;
      case 1:
        return rng.bytes(rng.int(300));
      case 2:
        return mutate(rng, new TextEncoder().encode(JSON.stringify(valid)));
      case 3:
        return JSON.stringify(randomJsonValue(rng));
      case 4:
        return JSON.stringify({
          ...valid,
          records: valid.records.map((r) =>
            rng.bool(0.5) ? toBase64url(mutate(rng, Buffer.from(r, 'base64url'))) : r,
          ),
        });
      case 5:
        return JSON.stringify({ ...valid, [rng.pick(['batchId', 'records', 'certificates'])]: randomJsonValue(rng) });
      case 6:
        return rng.pick([
          '[',
          '{"a":',
          '"'.repeat(3),
          '['.repeat(50_000) + ']'.repeat(50_000),
          '{"__proto__":{"polluted":1},"batchId":"' + key + '","records":["AA"]}',
          'null',
          '1e99999',
          '\ufeff{}',
        ]);
      case 7:
        return JSON.stringify({
          cardId: hex32(rng).slice(0, 16),
          loadSeq: randomJsonValue(rng),
          amount: randomJsonValue(rng),
          currency: randomJsonValue(rng),
        });
      default:
        return JSON.stringify(valid);
    }
  }

  it('never answers 5xx to random and mutated requests, and keeps settling', async () => {
    const rng = new Prng(SEED);
    const paths = [
      '/v1/batches',
      '/v1/topups',
      '/v1/health',
      '/v1/revocations',
      '/v1/records/0909090901020304/1',
      '/v1/records/%zz/1',
      '/v1/records/0909090901020304/99999999999',
      '/v1/reconciliation?date=2026-01-01',
      '/v1/reconciliation?from=x&to=%ff',
      '/v1/_faults',
      '/v1/cards/0909090901020304/block-order',
      '/v1/cards/%zz/block-order',
      '/v1//batches',
      '/',
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const method = rng.pick(['POST', 'POST', 'POST', 'GET', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
      const p = rng.bool(0.3)
        ? rng.pick(paths)
        : method === 'GET'
          ? rng.pick(paths.slice(2, 9))
          : rng.pick(paths.slice(0, 2));
      const key = rng.bool(0.8) ? hex32(rng) : rng.pick(['', 'x', '"' + hex32(rng) + '"', 'a'.repeat(300)]);
      const body = method === 'GET' ? undefined : randomBody(rng, key);
      const contentType = rng.pick([
        'application/json',
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/cbor',
        'garbage/',
        '',
      ]);
      const headers: Record<string, string> = {};
      if (rng.bool(0.1)) headers['X-Cardpost-Signature'] = Buffer.from(rng.bytes(rng.int(80))).toString('base64url');
      if (rng.bool(0.05)) headers['X-Cardpost-Date'] = rng.pick(['-1', '1e9', '99999999999999999999', '']);
      if (rng.bool(0.05))
        headers['X-Cardpost-Terminal-Cert'] = Buffer.from(mutate(rng, client.opts.certificate.envelope)).toString(
          'base64url',
        );
      const res = await client.request(method, p, {
        body,
        idempotencyKey: key,
        contentType,
        headers,
        unsigned: rng.bool(0.1),
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(
        res.status < 500,
        `seed ${SEED} request ${i}: ${method} ${p} → ${res.status} ${res.text.slice(0, 300)}`,
      );
      if (res.status >= 400 && method !== 'HEAD') {
        const e = res.json().error;
        assert.equal(typeof e.code, 'string', `request ${i}`);
        assert.equal(typeof e.message, 'string', `request ${i}`);
        assert.equal(typeof e.hint, 'string', `request ${i}`);
      }
      if (res.status === 200 && p === '/v1/batches' && method === 'POST') {
        const b = res.json<BatchResponse>();
        assert.ok(Array.isArray(b.results), `request ${i}`);
      }
    }
    // the mix must have reached the handlers, not just the 401 gate
    assert.ok(
      (statuses.get(200) ?? 0) > 20 && (statuses.get(400) ?? 0) > 20 && (statuses.get(401) ?? 0) > 3,
      JSON.stringify([...statuses]),
    );
    assert.equal((Object.prototype as Record<string, unknown>)['polluted'], undefined, 'prototype polluted');

    // still serving, and a good batch still settles
    assert.equal((await fetch(`${url}/v1/health`)).status, 200);
    const rest = records.slice(10);
    const ok = await client.submitBatch(
      hex32(rng),
      rest.map((r) => r.envelope),
      [certEnvelope],
    );
    assert.equal(ok.status, 200);
    assert.ok(
      ok.json<BatchResponse>().results.every((r) => r.verdict !== 'rejected' || r.reason === 'CHAIN_BROKEN'),
      ok.text,
    );
  });

  it('refuses an oversize body with 413 and survives raw garbage on the socket', async () => {
    const big = await client.request('POST', '/v1/batches', {
      idempotencyKey: 'b'.repeat(32),
      body: new Uint8Array(MAX_BODY_BYTES + 1).fill(0x20),
    });
    assert.equal(big.status, 413);
    assert.equal(big.json().error.code, 'BODY_TOO_LARGE');
    const rng = new Prng(SEED + 1);
    const garbage = [
      rng.bytes(200),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'),
      Buffer.from(
        'POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"',
      ),
      Buffer.from(
        'POST /v1/batches HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n',
      ),
      Buffer.from(`GET /v1/health HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(2000)}\r\n`),
    ];
    for (const g of garbage) {
      const answer = await new Promise<string>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.write(g);
          setTimeout(() => s.end(), 100);
        });
        let got = '';
        s.on('data', (d) => {
          got += d.toString('latin1');
        });
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
      });
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      assert.ok(status === undefined || Number(status) < 500, answer.slice(0, 200));
    }
    assert.equal((await fetch(`${url}/v1/health`)).status, 200);
  });
});
