import { strict as assert } from 'node:assert';
import { toHex } from '../../protocol/bytes.js';
import {
  BANK_DECODE_CODES,
  BankDecodeError,
  MAX_RECORDS_PER_BATCH,
  REJECT_REASONS,
  VERDICTS,
  decodeBatchRequest,
  decodeBatchRequestBytes,
  decodeBatchResponse,
  decodeBlockOrderAnswer,
  decodeTopupAnswer,
  decodeTopupRequest,
  decodeTopupRequestBytes,
  decodeRefundAnswer,
  decodeRefundRequest,
  encodeRefundAnswer,
  encodeRefundRequest,
  encodeBatchRequest,
  encodeBatchResponse,
  encodeBlockOrderAnswer,
  encodeTopupAnswer,
  encodeTopupRequest,
  parseJsonBytes,
  type BatchResponse,
  type RecordResult,
} from '../../protocol/bank/index.js';
import { BLOCK_REASON, signBlockOrder, signTopupToken } from '../../protocol/record/index.js';
import { FUZZ_ROUNDS, attempt, fuzzSeed, hexSeed } from '../support/fuzz.js';
import { TestIssuer } from '../support/issuer.js';
import { Prng } from '../support/prng.js';

/**
 * Seeded fuzzing of the bank API codecs (protocol/bank): valid messages, then random and mutated JSON
 * values and texts, into each decoder. Each gives a value or a BankDecodeError with one of
 * BANK_DECODE_CODES, never another exception; what decodes re-encodes to a message that decodes the
 * same. FUZZ_SEED / FUZZ_ROUNDS explore further.
 */
const SEED = fuzzSeed(0xba4c);
const CASES = 1500 * FUZZ_ROUNDS;
const CODES: readonly string[] = BANK_DECODE_CODES;

const hex = (rng: Prng, n: number): string => toHex(rng.bytes(n));
const json = (v: unknown): string => JSON.stringify(v)?.slice(0, 300) ?? String(v);

/** A value or a typed bank DecodeError; anything else fails the test (attempt). */
function decodeOrError<T>(what: string, input: unknown, fn: () => T): T | BankDecodeError {
  const out = attempt(what, () => json(input), fn);
  if (out instanceof Error) {
    assert.ok(
      out instanceof BankDecodeError,
      `${what}: a DecodeError that is not a BankDecodeError for ${json(input)}: ${out.code} ${out.message}`,
    );
    assert.ok(CODES.includes(out.code), `${what}: code ${out.code} is not one of BANK_DECODE_CODES`);
    assert.ok(out.message.length > 0 && out.hint.length > 0, `${what}: a message and a hint`);
  }
  return out;
}

function randomJson(rng: Prng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 7 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.bool();
    case 2:
      return rng.pick([0, 1, -1, 0.5, 2 ** 53, -(2 ** 53), 1e308, 999, 1000, 4294967295, 4294967296, rng.int(100)]);
    case 3:
      return rng.pick([
        '',
        'a',
        '0'.repeat(32),
        hex(rng, 16),
        hex(rng, 8),
        'MALFORMED',
        'accepted',
        '__proto__',
        '\u0000',
        '中文',
        'x'.repeat(9000),
      ]);
    case 4:
      return hex(rng, rng.int(20));
    case 5:
      return rng.int(1 << 20);
    case 6:
      return `${hex(rng, 8)}:${rng.int(10)}`;
    case 7:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [
          rng.pick(['a', 'index', 'batchId', 'records', 'cardId', '__proto__', 'amount']),
          randomJson(rng, depth + 1),
        ]),
      );
  }
}

/** One random change somewhere in a JSON value (a field dropped, added, retyped; an array cut, grown, emptied). */
function mutate(rng: Prng, v: unknown): unknown {
  if (Array.isArray(v)) {
    const a = [...v];
    const r = rng.int(6);
    if (r === 0 && a.length) a.splice(rng.int(a.length), 1);
    else if (r === 1 && a.length) a.push(a[rng.int(a.length)]);
    else if (r === 2) return [];
    else if (r === 3) a.push(randomJson(rng));
    else if (a.length) {
      const i = rng.int(a.length);
      a[i] = mutate(rng, a[i]);
    }
    return a;
  }
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    const r = rng.int(5);
    if (r === 0 && keys.length) delete o[rng.pick(keys)];
    else if (r === 1) o[rng.pick(['extra', 'reason', 'detail', 'validForPayments', 'token'])] = randomJson(rng);
    else if (r === 2 && keys.length) o[rng.pick(keys)] = randomJson(rng);
    else if (keys.length) {
      const k = rng.pick(keys);
      o[k] = mutate(rng, o[k]);
    }
    return o;
  }
  if (typeof v === 'number') return rng.pick([v + 1, v - 1, -v, v + 0.5, String(v), null]);
  if (typeof v === 'string') {
    if (v.length === 0 || rng.bool(0.3)) return randomJson(rng);
    const i = rng.int(v.length);
    return v.slice(0, i) + rng.pick(['', 'G', 'A', '=', '"', v[i]!.toUpperCase()]) + v.slice(i + 1);
  }
  return randomJson(rng);
}

/** A few rounds of mutation; also, sometimes, the text with a byte changed (parseJsonBytes first). */
function mutants(rng: Prng, valid: unknown): unknown {
  let v = valid;
  for (let n = 1 + rng.int(3); n > 0; n--) v = mutate(rng, v);
  return v;
}

function mutatedText(rng: Prng, valid: unknown): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(valid));
  const out = bytes.slice(0, rng.bool(0.2) ? rng.int(bytes.length + 1) : bytes.length);
  for (let n = rng.int(3); n >= 0 && out.length; n--)
    out[rng.int(out.length)] = rng.pick([0x22, 0x7b, 0x7d, 0x2c, 0x30, 0xff, 0xc3, rng.int(256)]);
  return out;
}

function randomResponse(rng: Prng): BatchResponse {
  const n = 1 + rng.int(6);
  const results: RecordResult[] = Array.from({ length: n }, (_, index) => {
    const verdict = rng.pick(VERDICTS);
    const recordId = verdict === 'rejected' && rng.bool(0.2) ? null : `${hex(rng, 8)}:${1 + rng.int(5000)}`;
    return {
      index,
      recordId,
      verdict,
      ...(verdict === 'rejected' ? { reason: rng.pick(REJECT_REASONS) } : {}),
      ...(verdict !== 'accepted' || rng.bool(0.1) ? { detail: `detail ${rng.int(100)}` } : {}),
    };
  });
  const counts = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of results) counts[r.verdict]++;
  const amount: Record<string, number | string> = counts.accepted
    ? { 156: 1 + rng.int(10_000), ...(rng.bool(0.2) ? { 840: '9007199254740993' } : {}) }
    : {};
  return {
    batchId: hex(rng, 16),
    terminalId: `T-${rng.int(9)}`,
    settledAt: 1_790_000_000 + rng.int(1000),
    results,
    counts,
    accepted: { count: counts.accepted, amount },
  };
}

describe(`fuzz: bank API messages (protocol/bank), seed ${hexSeed(SEED)}`, function () {
  this.timeout(120_000);

  it('batch request: valid ones round-trip; random and mutated JSON give a request or a typed DecodeError', () => {
    const rng = new Prng(SEED);
    for (let i = 0; i < CASES; i++) {
      const batchId = hex(rng, 16);
      const bytes = encodeBatchRequest({
        batchId,
        records: Array.from({ length: 1 + rng.int(4) }, () => rng.bytes(1 + rng.int(200))),
        certificates: Array.from({ length: rng.int(3) }, () => rng.bytes(60)),
      });
      const valid = parseJsonBytes(bytes);
      const v = valid as { records: string[]; certificates: string[] };
      assert.equal(
        Buffer.from(bytes).toString(),
        JSON.stringify({ batchId, records: v.records, certificates: v.certificates }),
        'the bytes of docs/bank-api.md §4.1',
      );
      const ok = decodeBatchRequestBytes(bytes, { idempotencyKey: batchId.toUpperCase() });
      assert.deepEqual(ok, valid, 'a valid request decodes to itself');
      for (const input of [mutants(rng, valid), randomJson(rng)]) {
        const out = decodeOrError('decodeBatchRequest', input, () =>
          decodeBatchRequest(input, rng.bool() ? { idempotencyKey: batchId } : {}),
        );
        if (!(out instanceof Error)) {
          assert.ok(out.records.length >= 1 && out.records.length <= MAX_RECORDS_PER_BATCH);
          assert.deepEqual(
            decodeBatchRequest(JSON.parse(JSON.stringify(out))),
            out,
            'what decodes, decodes again the same',
          );
        }
      }
      const text = mutatedText(rng, valid);
      decodeOrError('decodeBatchRequestBytes', Buffer.from(text).toString('latin1'), () =>
        decodeBatchRequestBytes(text),
      );
    }
  });

  it('batch answer: valid ones round-trip byte for byte; random and mutated JSON give an answer or a typed DecodeError', () => {
    const rng = new Prng(SEED + 1);
    for (let i = 0; i < CASES; i++) {
      const r = randomResponse(rng);
      const text = encodeBatchResponse(r);
      const back = decodeBatchResponse(JSON.parse(text), { batchId: r.batchId, records: r.results.length });
      assert.equal(encodeBatchResponse(back), text, 'decode ∘ encode is the identity, byte for byte');
      const valid = JSON.parse(text) as unknown;
      for (const input of [mutants(rng, valid), randomJson(rng)]) {
        const expect = rng.bool() ? { batchId: r.batchId, records: r.results.length } : {};
        const out = decodeOrError('decodeBatchResponse', input, () => decodeBatchResponse(input, expect));
        if (!(out instanceof Error)) {
          for (const x of out.results)
            assert.equal(x.reason !== undefined, x.verdict === 'rejected', 'a reason exactly for a rejection');
          assert.deepEqual(decodeBatchResponse(JSON.parse(encodeBatchResponse(out))), out);
        }
      }
    }
  });

  it('top-up request: valid ones round-trip; random and mutated JSON give a request or a typed DecodeError', () => {
    const rng = new Prng(SEED + 2);
    for (let i = 0; i < CASES; i++) {
      const req = {
        cardId: hex(rng, 8),
        loadSeq: 1 + rng.int(1000),
        amount: rng.int(1_000_000),
        currency: 1 + rng.int(999),
        ...(rng.bool() ? { validForPayments: 1 + rng.int(5000) } : {}),
      };
      const bytes = encodeTopupRequest(req);
      assert.deepEqual(decodeTopupRequestBytes(bytes), { validForPayments: 1000, ...req });
      const valid = parseJsonBytes(bytes);
      for (const input of [mutants(rng, valid), randomJson(rng)]) {
        const out = decodeOrError('decodeTopupRequest', input, () => decodeTopupRequest(input));
        if (!(out instanceof Error)) assert.deepEqual(decodeTopupRequestBytes(encodeTopupRequest(out)), out);
      }
      const text = mutatedText(rng, valid);
      decodeOrError('decodeTopupRequestBytes', Buffer.from(text).toString('latin1'), () =>
        decodeTopupRequestBytes(text),
      );
    }
  });

  it('top-up answer: a real token round-trips; mutated answers (fields, token and certificate bytes) give an answer or a typed DecodeError', () => {
    const rng = new Prng(SEED + 3);
    const issuer = new TestIssuer();
    const answers = Array.from({ length: 4 }, (_, i) => {
      const f = {
        cardId: rng.bytes(8),
        loadSeq: 1 + i,
        amount: i * 500,
        currency: 156,
        validUntilCounter: 1000 + i,
        issuedAt: 1_790_000_000 + i,
        resetOffline: true,
        settledCounter: i * 3,
      };
      const token = signTopupToken(issuer.authorityKey, f);
      const text = encodeTopupAnswer({
        ...f,
        cardId: toHex(f.cardId),
        token: token.envelope,
        authority: issuer.authority.envelope,
      });
      const back = decodeTopupAnswer(JSON.parse(text));
      assert.equal(back.settledCounter, f.settledCounter);
      assert.deepEqual(back.token.envelope, token.envelope);
      assert.equal(
        encodeTopupAnswer({ ...back, token: back.token.envelope, authority: back.authority.envelope }),
        text,
        'byte for byte',
      );
      return JSON.parse(text) as Record<string, unknown>;
    });
    let decoded = 0;
    for (let i = 0; i < CASES; i++) {
      const valid = rng.pick(answers);
      let input: unknown;
      if (rng.bool(0.4)) {
        // flip, cut or extend the token or certificate bytes, then base64url again
        const field = rng.pick(['token', 'authority']);
        const bytes = Buffer.from(valid[field] as string, 'base64url');
        const cut = bytes.subarray(0, rng.bool(0.3) ? rng.int(bytes.length) : bytes.length);
        const b = Buffer.concat([cut, rng.bool(0.2) ? Buffer.from(rng.bytes(rng.int(4))) : Buffer.alloc(0)]);
        for (let n = rng.int(3); n >= 0 && b.length; n--) b[rng.int(b.length)] = rng.int(256);
        input = { ...valid, [field]: b.toString('base64url') };
      } else {
        input = rng.bool(0.9) ? mutants(rng, valid) : randomJson(rng);
      }
      const out = decodeOrError('decodeTopupAnswer', input, () => decodeTopupAnswer(input));
      if (!(out instanceof Error)) {
        decoded++;
        assert.equal(toHex(out.token.cardId), out.cardId, 'the token and the answer agree');
        assert.equal(out.token.settledCounter, out.settledCounter);
      }
    }
    assert.ok(decoded > 0, 'some mutants still decode (the fuzzer reaches the valid side)');
  });
  it('refund request and answer: valid ones round-trip; random and mutated JSON give a value or a typed DecodeError', () => {
    const rng = new Prng(SEED + 5);
    const issuer = new TestIssuer();
    for (let i = 0; i < CASES; i++) {
      const req = {
        refundId: `r-${hex(rng, 1 + rng.int(20))}`,
        recordId: `${hex(rng, 8)}:${1 + rng.int(100_000)}`,
        amount: 1 + rng.int(1_000_000),
        loadSeq: 1 + rng.int(1000),
      };
      const valid = parseJsonBytes(encodeRefundRequest(req));
      assert.deepEqual(decodeRefundRequest(valid), { ...req, validForPayments: 1000 });
      for (const input of [mutants(rng, valid), randomJson(rng)]) {
        const out = decodeOrError('decodeRefundRequest', input, () => decodeRefundRequest(input));
        if (!(out instanceof Error))
          assert.deepEqual(decodeRefundRequest(parseJsonBytes(encodeRefundRequest(out))), out);
      }
    }
    const cardId = rng.bytes(8);
    const f = {
      cardId,
      loadSeq: 3,
      amount: 400,
      currency: 156,
      validUntilCounter: 1040,
      issuedAt: 1_790_000_000,
      resetOffline: true,
      settledCounter: 40,
      refundOf: 42,
    };
    const token = signTopupToken(issuer.authorityKey, f);
    const text = encodeRefundAnswer(
      { ...f, cardId: toHex(cardId), token: token.envelope, authority: issuer.authority.envelope },
      { refundId: 'r-1', recordId: `${toHex(cardId)}:42`, refundable: 600 },
    );
    const valid = JSON.parse(text) as Record<string, unknown>;
    assert.equal(decodeRefundAnswer(valid).refundable, 600);
    let decoded = 0;
    for (let i = 0; i < CASES; i++) {
      const input = rng.bool(0.9) ? mutants(rng, valid) : randomJson(rng);
      const out = decodeOrError('decodeRefundAnswer', input, () => decodeRefundAnswer(input));
      if (!(out instanceof Error)) {
        decoded++;
        assert.equal(out.recordId.slice(0, 16), out.cardId, 'the refunded record is the token card’s');
      }
    }
    assert.ok(decoded > 0, 'some mutants still decode');
  });

  it('block-order answer: a real order round-trips; mutated answers give an answer or a typed DecodeError', () => {
    const rng = new Prng(SEED + 4);
    const issuer = new TestIssuer();
    const reasons = ['lost', 'stolen', 'fraud', 'withdrawn'] as const;
    const answers = reasons.map((reason, i) => {
      const cardId = rng.bytes(8);
      const order = signBlockOrder(issuer.authorityKey, {
        cardId,
        reason: [BLOCK_REASON.LOST, BLOCK_REASON.STOLEN, BLOCK_REASON.FRAUD, BLOCK_REASON.WITHDRAWN][i]!,
        issuedAt: 1_790_000_000 + i,
        listSequence: 1 + i,
      });
      const text = encodeBlockOrderAnswer({
        cardId: toHex(cardId),
        reason,
        issuedAt: 1_790_000_000 + i,
        revocationSequence: 1 + i,
        order: order.envelope,
        authority: issuer.authority.envelope,
      });
      const back = decodeBlockOrderAnswer(JSON.parse(text), { cardId: toHex(cardId) });
      assert.deepEqual(back.order.envelope, order.envelope);
      return JSON.parse(text) as Record<string, unknown>;
    });
    let decoded = 0;
    for (let i = 0; i < CASES; i++) {
      const valid = rng.pick(answers);
      let input: unknown;
      if (rng.bool(0.4)) {
        const field = rng.pick(['order', 'authority']);
        const b = Buffer.from(valid[field] as string, 'base64url');
        for (let n = rng.int(3); n >= 0 && b.length; n--) b[rng.int(b.length)] = rng.int(256);
        input = {
          ...valid,
          [field]: b.subarray(0, rng.bool(0.3) ? rng.int(b.length) : b.length).toString('base64url'),
        };
      } else {
        input = rng.bool(0.9) ? mutants(rng, valid) : randomJson(rng);
      }
      const cardId = String(valid['cardId']);
      const out = decodeOrError('decodeBlockOrderAnswer', input, () => decodeBlockOrderAnswer(input, { cardId }));
      if (!(out instanceof Error)) {
        decoded++;
        assert.equal(toHex(out.order.cardId), out.cardId, 'the order and the answer agree');
        assert.equal(out.order.listSequence, out.revocationSequence);
      }
    }
    assert.ok(decoded > 0, 'some mutants still decode (the fuzzer reaches the valid side)');
  });
});
