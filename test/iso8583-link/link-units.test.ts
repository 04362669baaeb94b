import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import smCrypto from 'sm-crypto';
import { fromHex, toHex } from '../../protocol/bytes.js';
import * as iso from '../../protocol/iso8583/index.js';
import { REJECT_REASONS } from '../../protocol/bank/verdicts.js';
import { afterReconcile, INITIAL_SESSION, step, type SessionState } from '../../host/clearing/acquirer/session.js';
import { BatchTotalsBook } from '../../host/clearing/acquirer/batch-totals.js';
import { adviceBatchId } from '../../host/clearing/acquirer/advice-settler.js';
import { TerminalTable } from '../../host/clearing/acquirer/terminal-table.js';
import { readTerminalFile } from '../../host/clearing/acquirer/terminal-file.js';

/**
 * The pure parts of the ISO 8583 link: the acquirer's session state machine and batch totals, the
 * SM4 CBC-MAC (against sm-crypto, an SM4 nobody here wrote), the response codes and verdict text,
 * the derived numbers. The TCP suites are acquirer-link.test.ts, capture.test.ts, clearing-e2e.test.ts.
 */
const T = 'T-1';
const at = (mti: string, now = 1000, batch = 7, terminal = T) => ({ mti, terminal, batch, now });

describe('ISO 8583 link: acquirer session state machine', () => {
  it('walks sign-on → advices → balanced 0500 → closed → a new sign-on', () => {
    let s: SessionState = INITIAL_SESSION;
    let t = step(s, at('0800'));
    assert.equal(t.action.do, 'sign-on');
    s = t.next;
    assert.deepEqual(s, { kind: 'signed-on', terminal: T, batch: 7, since: 1000 });
    for (const mti of ['0220', '0221']) assert.equal(step(s, at(mti)).action.do, 'settle-advice');
    t = step(s, at('0500'));
    assert.equal(t.action.do, 'reconcile');
    s = afterReconcile(t.next, true);
    assert.equal(s.kind, 'closed');
    assert.deepEqual(step(s, at('0220')).action, {
      do: 'refuse',
      responseCode: '77',
      why: 'batch 7 is settled: sign on for the next',
    });
    assert.equal(step(s, at('0800', 2000, 8)).next.kind, 'signed-on');
  });

  it('out of balance opens the upload: 0320 accepted, advices refused (12), 0500 again', () => {
    const s = afterReconcile(step(INITIAL_SESSION, at('0800')).next, false);
    assert.equal(s.kind, 'uploading');
    assert.equal(step(s, at('0320')).action.do, 'settle-upload');
    assert.deepEqual(step(s, at('0220')).action, {
      do: 'refuse',
      responseCode: '12',
      why: 'the batch is being uploaded (0320)',
    });
    assert.equal(step(s, at('0500')).action.do, 'reconcile');
  });

  it('refuses with 77: no sign-on, another terminal, another batch, an expired sign-on (injected time)', () => {
    const codes = (s: SessionState, r: ReturnType<typeof at>, valid?: number) => {
      const a = step(s, r, valid).action;
      return a.do === 'refuse' ? a.responseCode : a.do;
    };
    assert.equal(codes(INITIAL_SESSION, at('0220')), '77');
    const s = step(INITIAL_SESSION, at('0800')).next;
    assert.equal(codes(s, at('0220', 1000, 7, 'T-2')), '77');
    assert.equal(codes(s, at('0220', 1000, 8)), '77');
    assert.equal(codes(s, at('0220', 1000 + 60_000), 60_000), 'settle-advice');
    assert.equal(codes(s, at('0220', 1001 + 60_000), 60_000), '77');
    assert.equal(step(s, at('0220', 1001 + 60_000), 60_000).next.kind, 'not-signed-on');
    assert.equal(codes(s, at('0220', 999)), '77', 'a clock going back does not extend a sign-on');
    assert.equal(codes(s, at('0320')), '12');
    assert.equal(codes(s, at('0420')), '12');
  });
});

describe('ISO 8583 link: acquirer batch totals', () => {
  it('counts approved records once per STAN, sales as debits and voids as credits', () => {
    const book = new BatchTotalsBook();
    book.signOn(T, 7);
    book.note(T, 7, 1, { kind: 'debit', amount: 100 });
    book.note(T, 7, 1, { kind: 'debit', amount: 100 }); // a 0221 repeat
    book.note(T, 7, 2, null); // rejected
    book.note(T, 7, 3, { kind: 'credit', amount: 40 });
    assert.deepEqual(book.totals(T, 7), { debitCount: 1, debitAmount: 100, creditCount: 1, creditAmount: 40 });
    book.signOn(T, 7); // a reconnect keeps them
    assert.equal(book.totals(T, 7).debitCount, 1);
    book.restart(T, 7);
    assert.equal(book.totals(T, 7).debitCount, 0);
    book.signOn(T, 8); // another batch starts empty
    assert.deepEqual(book.totals(T, 7), { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 });
  });

  it('holds at most 999 records a batch', () => {
    const book = new BatchTotalsBook();
    for (let s = 1; s <= 999; s++) assert.equal(book.note(T, 1, s, { kind: 'debit', amount: 1 }), true);
    assert.equal(book.note(T, 1, 1000, { kind: 'debit', amount: 1 }), false);
    assert.equal(book.note(T, 1, 5, { kind: 'debit', amount: 1 }), true, 'a known STAN is still answered');
  });
});

describe('ISO 8583 link: SM4 CBC-MAC (ISO 9797-1 algorithm 1, padding 2)', () => {
  const key = fromHex('0123456789abcdeffedcba9876543210');
  const reference = (data: Uint8Array): string => {
    const padded = new Uint8Array(Math.floor(data.length / 16) * 16 + 16);
    padded.set(data);
    padded[data.length] = 0x80;
    const out = smCrypto.sm4.encrypt(Array.from(padded), toHex(key), {
      mode: 'cbc',
      iv: '00000000000000000000000000000000',
      padding: 'none',
      output: 'array',
    }) as unknown as number[];
    return toHex(Uint8Array.from(out.slice(-16, -8)));
  };

  it('equals the last CBC block of sm-crypto, cut to 8 bytes, for every length 0..40', () => {
    for (let n = 0; n <= 40; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      assert.equal(toHex(iso.cbcMac(key, data)), reference(data), `length ${n}`);
    }
  });

  it('a MACed message verifies, and any change to a field, the MTI or the key fails it', () => {
    const d = iso.linkDialectNamed('cup-terminal');
    const m = iso.withMac(
      d,
      iso.signOn({ stan: 1, batch: 2, terminalId: 'CP000001', merchantId: '898310058120001', operator: '001' }),
      key,
    );
    assert.equal(iso.macValid(d, m, key), true);
    const decoded = iso.decodeMessage(d, iso.encodeMessage(d, m));
    assert.equal(iso.macValid(d, decoded, key), true, 'verifies after the wire');
    assert.equal(iso.macValid(d, iso.withFields(m, [[11, '000002']]), key), false);
    assert.equal(iso.macValid(d, { ...m, mti: '0820' }, key), false);
    assert.equal(iso.macValid(d, m, fromHex('00'.repeat(16))), false);
    const noMac = new Map(m.fields);
    noMac.delete(64);
    assert.equal(iso.macValid(d, { mti: m.mti, fields: noMac }, key), false);
  });
});

describe('ISO 8583 link: response codes and the verdict field', () => {
  it('gives every rejection reason its own code, none of them a message-level code', () => {
    const codes = REJECT_REASONS.map((r) => iso.REASON_CODES[r]);
    assert.equal(new Set(codes).size, REJECT_REASONS.length);
    for (const c of Object.values(iso.LINK_CODES)) assert.ok(!codes.includes(c), c);
    for (const r of REJECT_REASONS) assert.equal(iso.reasonOfCode(iso.REASON_CODES[r]), r);
  });

  it('round-trips the verdict text, shortens a long detail to field 63, and checks it against field 39', () => {
    const v = {
      settledAt: 1_790_000_000,
      replayed: true,
      verdict: 'rejected' as const,
      reason: 'CHAIN_BROKEN' as const,
    };
    const long = { ...v, detail: 'x'.repeat(400) + '\u00e9' };
    const text = iso.encodeVerdictField(long);
    assert.equal(text.length, iso.VERDICT_FIELD_MAX);
    assert.ok(text.endsWith('...'));
    assert.deepEqual(iso.decodeVerdictField(iso.encodeVerdictField(v), 'P4'), v);
    assert.throws(() => iso.decodeVerdictField(iso.encodeVerdictField(v), '00'), { code: 'ISO8583_FIELD_INVALID' });
    assert.throws(() => iso.decodeVerdictField('1;0;accepted;BAD_SIGNATURE;', '00'), { code: 'ISO8583_FIELD_INVALID' });
    assert.throws(() => iso.decodeVerdictField('1;0;paid;;', '00'), { code: 'ISO8583_FIELD_INVALID' });
    assert.deepEqual(iso.decodeVerdictField('5;0;duplicate;;settled before', '00'), {
      settledAt: 5,
      replayed: false,
      verdict: 'duplicate',
      detail: 'settled before',
    });
  });
});

describe('ISO 8583 link: derived numbers and keys', () => {
  it('derives the same ISO batch number from a batch id every time, 1..999999, case-insensitively', () => {
    const id = '5f0c1a2b3c4d5e6f708192a3b4c5d6e7';
    const n = iso.isoBatchNumber(id);
    assert.equal(iso.isoBatchNumber(id.toUpperCase()), n);
    assert.ok(n >= 1 && n <= 999_999);
    assert.notEqual(iso.isoBatchNumber('5f0c1a2b3c4d5e6f708192a3b4c5d6e8'), n);
    assert.throws(() => iso.isoBatchNumber('nope'), { code: 'ISO8583_FIELD_INVALID' });
    assert.equal(iso.adviceStan(0), 1);
    assert.throws(() => iso.adviceStan(999), { code: 'ISO8583_FIELD_INVALID' });
  });

  it("derives the acquirer's clearing batch id from terminal, batch, STAN and record", () => {
    const rec = Uint8Array.of(1, 2, 3);
    const id = adviceBatchId(T, 7, 1, rec);
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(adviceBatchId(T, 7, 1, rec), id);
    for (const other of [
      adviceBatchId('T-2', 7, 1, rec),
      adviceBatchId(T, 8, 1, rec),
      adviceBatchId(T, 7, 2, rec),
      adviceBatchId(T, 7, 1, Uint8Array.of(1, 2, 4)),
    ])
      assert.notEqual(other, id);
  });

  it('refuses a terminal table with a bad row (ACQUIRER_CONFIG_INVALID)', () => {
    const row = { isoTerminalId: 'CP000001', merchantId: '898310058120001', terminalId: T, macKeyHex: '00'.repeat(16) };
    assert.ok(new TerminalTable([row]).find('CP000001', '898310058120001'));
    assert.equal(new TerminalTable([row]).find('CP000001', '898310058120002'), undefined);
    for (const bad of [{ isoTerminalId: 'CP1' }, { merchantId: 'x' }, { macKeyHex: 'zz' }, { terminalId: '' }])
      assert.throws(() => new TerminalTable([{ ...row, ...bad }]), { code: 'ACQUIRER_CONFIG_INVALID' });
    assert.throws(() => new TerminalTable([row, row]), { code: 'ACQUIRER_CONFIG_INVALID' });
  });
});

describe('ISO 8583 link: the acquirer terminal file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-acq-terminals-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const row = { isoTerminalId: 'CP000001', merchantId: '898310058120001', terminalId: T, macKeyHex: '00'.repeat(16) };
  const file = (content: string, mode = 0o600) => {
    const p = join(dir, 'terminals.json');
    writeFileSync(p, content, { mode });
    chmodSync(p, mode);
    return p;
  };

  it('reads a private JSON array of terminals', () => {
    assert.deepEqual(readTerminalFile(file(JSON.stringify([row]))), [row]);
  });

  it('refuses a file others can read, that is not JSON, not an array, or has unknown fields (ACQUIRER_CONFIG_INVALID)', () => {
    for (const [content, mode] of [
      [JSON.stringify([row]), 0o644],
      ['[', 0o600],
      ['{}', 0o600],
      [JSON.stringify([{ ...row, macKey: 'x' }]), 0o600],
    ] as const)
      assert.throws(() => readTerminalFile(file(content, mode)), { code: 'ACQUIRER_CONFIG_INVALID' }, content);
    assert.throws(() => readTerminalFile(join(dir, 'missing.json')), { code: 'ACQUIRER_CONFIG_INVALID' });
  });
});
