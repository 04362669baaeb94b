import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { BankError } from '../../host/settlement/bank-client.js';
import { fromHex } from '../../protocol/bytes.js';
import * as iso from '../../protocol/iso8583/index.js';
import { TestIssuer } from '../support/issuer.js';
import { Prng } from '../support/prng.js';
import { FakeClearingCore } from './fake-core.js';
import { batchOf, DIALECT, ISO_TERMINAL, MERCHANT, TERMINAL, newBatchId, rig, type Rig } from './link-fixture.js';
import { ForgedCard } from '../support/record-forge.js';
import { encodeBatchRequest } from '../../protocol/bank/index.js';

/**
 * The ISO 8583 link (host/settlement/iso8583-link.ts) against the acquirer front end
 * (host/clearing/acquirer/) over real TCP on 127.0.0.1, with a relay between them that sees every
 * frame and can lose one. The clearing core is a small fake here; clearing-e2e.test.ts uses the real one.
 */
describe('ISO 8583 link ↔ acquirer over TCP', function () {
  this.timeout(30_000);
  const issuer = new TestIssuer();
  let core: FakeClearingCore;
  let r: Rig;

  beforeEach(async () => {
    core = new FakeClearingCore();
    r = await rig(core);
  });
  afterEach(async () => {
    await r.close();
  });

  const verdictWords = (a: { verdicts: { verdict: string; reason?: string }[] }) =>
    a.verdicts.map((v) => v.verdict + (v.reason ? ` ${v.reason}` : ''));

  it('signs on, settles one advice per record, balances the batch, and gives the verdicts as the HTTP API does', async () => {
    const b = batchOf(issuer, { records: 3, otherTerminal: 1 });
    const answer = await r.link().submitBatch(b.batchId, b.body, 4);
    assert.deepEqual(verdictWords(answer), ['accepted', 'accepted', 'accepted', 'rejected WRONG_TERMINAL']);
    assert.deepEqual(
      answer.verdicts.map((v) => v.recordId),
      b.records.map((x) => `${Buffer.from(x.cardId).toString('hex')}:${x.counter}`),
    );
    assert.equal(answer.batchId, b.batchId);
    assert.equal(answer.settledAt, 1_790_000_000);
    assert.equal(answer.replayed, false);
    assert.deepEqual(r.proxy.mtis('toAcquirer'), ['0800', '0220', '0220', '0220', '0220', '0500']);
    assert.deepEqual(r.proxy.mtis('toTerminal'), ['0810', '0230', '0230', '0230', '0230', '0510']);
    const f510 = iso.decodeFrame(iso.linkDialectNamed(DIALECT), r.proxy.toTerminal.at(-1)!).message;
    assert.deepEqual(iso.readTotals(f510), {
      debitCount: 3,
      debitAmount: 100 + 101 + 102,
      creditCount: 0,
      creditAmount: 0,
      balanced: true,
    });
    assert.equal(core.settledRecords.size, 3);
  });

  it('a batch re-sent (a daemon restart before the verdicts were stored) gets the same answers, replayed, and settles nothing again', async () => {
    const b = batchOf(issuer, { records: 2 });
    const first = await r.link().submitBatch(b.batchId, b.body, 2);
    const again = await r.link().submitBatch(b.batchId, b.body, 2);
    assert.deepEqual(again.verdicts, first.verdicts);
    assert.equal(again.replayed, true);
    assert.equal(core.settledRecords.size, 2);
    const keys = new Set(core.settleCalls.map((c) => c.batchId));
    assert.equal(keys.size, 2, 'the same two derived clearing batch ids both times');
  });

  it('a lost 0230 is followed by a 0221 with the same STAN, answered from the store: settled once, accepted', async () => {
    const b = batchOf(issuer, { records: 2 });
    let dropped = 0;
    r.proxy.dropAnswer = (f) => f.message.mti === '0230' && dropped++ === 0;
    const answer = await r.link().submitBatch(b.batchId, b.body, 2);
    assert.deepEqual(verdictWords(answer), ['accepted', 'accepted']);
    const sent = r.proxy.toAcquirer.map((x) => iso.decodeFrame(iso.linkDialectNamed(DIALECT), x).message);
    const advices = sent.filter((m) => m.mti === '0220' || m.mti === '0221');
    assert.deepEqual(
      advices.map((m) => `${m.mti}/${m.fields.get(11)}`),
      ['0220/000001', '0221/000001', '0220/000002'],
    );
    assert.equal(core.settledRecords.size, 2);
    assert.equal(core.settleCalls.length, 3, 'the repeat reached the core and got the stored answer');
  });

  it('out of balance (the front end lost its totals) → 0320 upload of every record → balanced, nothing settled twice', async () => {
    const b = batchOf(issuer, { records: 3, otherTerminal: 1 });
    let forgot = false;
    r.proxy.onRequest = (f) => {
      if (f.message.mti === '0500' && !forgot) {
        forgot = true;
        r.acquirer.totals.forgetAll(); // as a restart of the front end would
      }
    };
    const answer = await r.link().submitBatch(b.batchId, b.body, 4);
    assert.deepEqual(verdictWords(answer), ['accepted', 'accepted', 'accepted', 'rejected WRONG_TERMINAL']);
    assert.deepEqual(r.proxy.mtis('toAcquirer'), [
      '0800',
      ...Array(4).fill('0220'),
      '0500',
      ...Array(4).fill('0320'),
      '0500',
    ]);
    const answers = r.proxy.toTerminal.map((x) => iso.decodeFrame(iso.linkDialectNamed(DIALECT), x).message);
    const f510 = answers.filter((m) => m.mti === '0510').map((m) => iso.readTotals(m).balanced);
    assert.deepEqual(f510, [false, true]);
    assert.equal(core.settledRecords.size, 3);
  });

  it('the line dropping mid-batch: the link reconnects, signs on again and carries on', async () => {
    const b = batchOf(issuer, { records: 4 });
    let answered = 0;
    r.proxy.dropAnswer = (f) => {
      if (f.message.mti === '0230' && ++answered === 2) {
        setImmediate(() => r.proxy.cut());
        return true;
      }
      return false;
    };
    const answer = await r.link().submitBatch(b.batchId, b.body, 4);
    assert.deepEqual(verdictWords(answer), Array(4).fill('accepted'));
    assert.equal(r.proxy.mtis('toAcquirer').filter((m) => m === '0800').length, 2);
    assert.equal(core.settledRecords.size, 4);
  });

  it('a captured run replayed byte for byte on a new connection gets the stored answers and settles nothing again', async () => {
    const b = batchOf(issuer, { records: 3 });
    await r.link().submitBatch(b.batchId, b.body, 3);
    const d = iso.linkDialectNamed(DIALECT);
    const captured = r.proxy.toAcquirer.map((x) => iso.decodeFrame(d, x).message);
    const firstAnswers = r.proxy.toTerminal.map((x) => iso.decodeFrame(d, x).message);
    const settled = core.settledRecords.size;
    const replayedAnswers = await rawExchange(r.acquirer.port, d, captured);
    assert.deepEqual(
      replayedAnswers.map((m) => `${m.mti} ${m.fields.get(39)}`),
      firstAnswers.map((m) => `${m.mti} ${m.fields.get(39)}`),
    );
    const verdicts = replayedAnswers.filter((m) => m.mti === '0230').map((m) => String(m.fields.get(63)).split(';')[1]);
    assert.deepEqual(verdicts, ['1', '1', '1'], 'every advice answered from the store (replayed)');
    assert.equal(core.settledRecords.size, settled);
  });

  it('a wrong MAC key is refused (A0) and nothing reaches the clearing core', async () => {
    const b = batchOf(issuer, { records: 1 });
    const link = r.link({ macKey: fromHex('00112233445566778899aabbccddeeff') });
    await assert.rejects(link.submitBatch(b.batchId, b.body, 1), (e: unknown) => {
      assert.ok(e instanceof BankError);
      assert.equal(e.code, 'BANK_REFUSED_ISO8583_A0');
      assert.equal(e.outcome, 'refused');
      return true;
    });
    const health = await link.health();
    assert.equal(health.ok, false);
    assert.equal(health.problem?.code, 'BANK_REFUSED_ISO8583_A0');
    assert.equal(core.settleCalls.length, 0);
    assert.ok(r.problems.some((p) => p.code === 'ACQUIRER_MAC_INVALID'));
  });

  it('a forged advice (field 4 changed after MACing) is refused with A0', async () => {
    const b = batchOf(issuer, { records: 1 });
    const d = iso.linkDialectNamed(DIALECT);
    const good = await r.link().health();
    assert.equal(good.ok, true);
    // Sign on properly, then send an advice whose field 4 was changed after the MAC was computed.
    const key = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    const h = { stan: 5, batch: 9, terminalId: ISO_TERMINAL, merchantId: MERCHANT };
    const advice = iso.withMac(
      d,
      iso.offlineAdvice({
        ...h,
        date: '0101',
        time: '120000',
        amount: 100,
        currency: '156',
        entry: 'contact',
        record: b.records[0]!.envelope,
      }),
      key,
    );
    const tampered = iso.withFields(advice, [[4, '000000009999']]);
    const answers = await rawExchange(r.acquirer.port, d, [
      iso.withMac(d, iso.signOn({ ...h, operator: '001' }), key),
      tampered,
    ]);
    assert.deepEqual(
      answers.map((m) => `${m.mti} ${m.fields.get(39)}`),
      ['0810 00', '0230 A0'],
    );
    assert.equal(core.settleCalls.length, 0);
  });

  it('an unknown terminal is refused (03), answered without a MAC', async () => {
    const b = batchOf(issuer, { records: 1 });
    const link = r.link({ terminalId: 'CP999999' });
    await assert.rejects(link.submitBatch(b.batchId, b.body, 1), { code: 'BANK_REFUSED_ISO8583_03' });
    assert.ok(r.problems.some((p) => p.code === 'ACQUIRER_TERMINAL_UNKNOWN'));
    assert.equal(core.settleCalls.length, 0);
  });

  it('an advice before any sign-on is answered 77, and a 0320 outside an upload 12', async () => {
    const b = batchOf(issuer, { records: 1 });
    const d = iso.linkDialectNamed(DIALECT);
    const key = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    const h = { stan: 1, batch: 9, terminalId: ISO_TERMINAL, merchantId: MERCHANT };
    const local = { date: '0101', time: '120000', amount: 100, currency: '156', record: b.records[0]!.envelope };
    const answers = await rawExchange(r.acquirer.port, d, [
      iso.withMac(d, iso.offlineAdvice({ ...h, ...local, entry: 'contact' }), key),
      iso.withMac(d, iso.signOn({ ...h, operator: '001' }), key),
      iso.withMac(d, iso.batchUpload({ ...h, ...local }), key),
    ]);
    assert.deepEqual(
      answers.map((m) => `${m.mti} ${m.fields.get(39)}`),
      ['0230 77', '0810 00', '0330 12'],
    );
    assert.equal(core.settleCalls.length, 0);
  });

  it('the clearing service failing is answered 96: the link reports an unknown outcome, and the re-sent batch settles', async () => {
    const b = batchOf(issuer, { records: 2 });
    core.failNext = 1;
    await assert.rejects(r.link().submitBatch(b.batchId, b.body, 2), (e: unknown) => {
      assert.ok(e instanceof BankError);
      assert.equal(e.code, 'BANK_UNAVAILABLE');
      assert.equal(e.outcome, 'unknown');
      return true;
    });
    const answer = await r.link().submitBatch(b.batchId, b.body, 2);
    assert.deepEqual(verdictWords(answer), ['accepted', 'accepted']);
    assert.ok(r.problems.some((p) => p.code === 'ACQUIRER_CLEARING_FAILED'));
  });

  it('a record without its certificate is rejected CERT_MISSING (P1); the certificate travels in field 59 otherwise', async () => {
    const b = batchOf(issuer, { records: 1, withCertificates: false });
    const answer = await r.link().submitBatch(b.batchId, b.body, 1);
    assert.deepEqual(verdictWords(answer), ['rejected CERT_MISSING']);
    const answers = r.proxy.toTerminal.map((x) => iso.decodeFrame(iso.linkDialectNamed(DIALECT), x).message);
    assert.equal(answers.find((m) => m.mti === '0230')!.fields.get(39), 'P1');
    const advice = iso.decodeFrame(iso.linkDialectNamed(DIALECT), r.proxy.toAcquirer[1]!).message;
    assert.equal(advice.fields.has(59), false);
    const withCert = batchOf(issuer, { records: 1 });
    await r.link().submitBatch(withCert.batchId, withCert.body, 1);
    const sent = iso.decodeFrame(iso.linkDialectNamed(DIALECT), r.proxy.toAcquirer.at(-2)!).message;
    assert.equal(sent.mti, '0220');
    assert.deepEqual(iso.readCertificate(sent), withCert.cards[0]!.certificate.envelope);
  });

  it('a record the link cannot carry refuses the whole batch (BANK_REFUSED_ISO8583_UNSENDABLE): no sale is answered rejected', async () => {
    const issuer = new TestIssuer();
    const card = ForgedCard.issue(issuer.key);
    const huge = card.sign({ terminalId: TERMINAL, amount: 10 ** 12 }); // valid on the card, too wide for field 4
    const batchId = newBatchId();
    const body = encodeBatchRequest({ batchId, records: [huge.envelope], certificates: [card.certificate.envelope] });
    await assert.rejects(
      r.link({ port: r.acquirer.port }).submitBatch(batchId, body, 1),
      (e: unknown) => e instanceof BankError && e.code === 'BANK_REFUSED_ISO8583_UNSENDABLE' && e.outcome === 'refused',
    );
    assert.equal(core.settleCalls.length, 0, 'nothing was sent');
  });

  it('a peer that floods requests and never reads the answers is slowed by backpressure: the server reads a bounded amount', async () => {
    const d = iso.linkDialectNamed(DIALECT);
    // an unknown terminal: answered (03) without any key, so this is what anyone can send
    const one = Buffer.from(
      iso.encodeFrame(d, {
        tpdu: { destination: 3, source: 0 },
        header: fromHex('603100311301'),
        message: iso.signOn({ stan: 1, batch: 1, terminalId: 'XX000009', merchantId: MERCHANT, operator: '001' }),
      }),
    );
    const chunk = Buffer.concat(Array.from({ length: 256 }, () => one));
    // The flooder is another process, as an attacker would be: in this one it would share the event loop.
    const flooder = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:net').connect(${r.acquirer.port}, '127.0.0.1');
         const chunk = Buffer.from('${chunk.toString('hex')}', 'hex');
         let written = 0;
         setTimeout(() => { console.log(written); process.exit(0); }, 4000);
         s.on('connect', () => { s.pause(); (function go() {
           for (;;) { written += chunk.length; if (!s.write(chunk)) return s.once('drain', go); } })(); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    flooder.stdout.on('data', (c: Buffer) => (out += c.toString()));
    let buffered = 0;
    const watch = setInterval(() => (buffered = Math.max(buffered, r.acquirer.bufferedAnswerBytes())), 20);
    await new Promise((res) => flooder.once('exit', res));
    clearInterval(watch);
    const written = Number(out.trim());
    // Without backpressure the unread answers pile up in this process (0.8 MiB in 4 s here, and growing);
    // with it, at most the answers to one read chunk (about 40 KiB).
    assert.ok(buffered < 256 << 10, `${(buffered / 2 ** 20).toFixed(2)} MiB of unread answers held`);
    // Unbounded reading took 26.8 MB in 8 s with RSS growing without end; the kernel's socket
    // buffers on loopback hold a few MB at most, so the server must have stopped reading.
    assert.ok(written < 24 << 20, `the peer pushed ${(written / 2 ** 20).toFixed(1)} MiB in 4 s`);
    const health = await r.link({ port: r.acquirer.port }).health();
    assert.equal(health.ok, true, 'the server still answers others');
  });

  it('garbage bytes, cut frames, oversize lengths and mutated frames never crash the server', async () => {
    const prng = new Prng(0x8583);
    const d = iso.linkDialectNamed(DIALECT);
    const key = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    const good = iso.encodeFrame(d, {
      tpdu: { destination: 3, source: 0 },
      header: fromHex('603100311301'),
      message: iso.withMac(
        d,
        iso.signOn({ stan: 1, batch: 1, terminalId: ISO_TERMINAL, merchantId: MERCHANT, operator: '001' }),
        key,
      ),
    });
    const inputs: Uint8Array[] = [Uint8Array.of(0xff, 0xff, 1, 2, 3), Uint8Array.of(0, 0), good.subarray(0, 20)];
    for (let i = 0; i < 150; i++) {
      if (i % 2 === 0) inputs.push(prng.bytes(1 + prng.int(300)));
      else {
        const m = Uint8Array.from(good);
        for (let k = 0; k < 1 + prng.int(4); k++) m[2 + prng.int(m.length - 2)] = prng.int(256);
        inputs.push(m);
      }
    }
    for (const bytes of inputs) await sendRaw(r.acquirer.port, bytes);
    assert.ok(r.problems.some((p) => p.code === 'ACQUIRER_FRAME_REFUSED'));
    const health = await r.link({ port: r.acquirer.port }).health();
    assert.equal(health.ok, true, 'the server still answers');
    assert.equal(core.settleCalls.length, 0);
  });
});

/** Send frames one by one on one connection, each after the previous answer. */
async function rawExchange(
  port: number,
  d: iso.Iso8583Dialect,
  messages: iso.Iso8583Message[],
): Promise<iso.Iso8583Message[]> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((res) => socket.once('connect', res));
  let buf = Buffer.alloc(0);
  const answers: iso.Iso8583Message[] = [];
  const waiting: (() => void)[] = [];
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      const n = iso.frameLength(d, buf);
      if (n === undefined) break;
      answers.push(iso.decodeFrame(d, buf.subarray(0, n)).message);
      buf = buf.subarray(n);
      waiting.shift()?.();
    }
  });
  for (const m of messages) {
    const got = new Promise<void>((res) => waiting.push(res));
    socket.write(
      iso.encodeFrame(d, { tpdu: { destination: 3, source: 0 }, header: fromHex('603100311301'), message: m }),
    );
    await got;
  }
  socket.destroy();
  return answers;
}

/** Write `bytes`, then wait until the server closes or 50 ms pass. */
async function sendRaw(port: number, bytes: Uint8Array): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise((res) => socket.once('connect', res));
  socket.write(bytes);
  await new Promise<void>((res) => {
    const t = setTimeout(res, 50);
    socket.once('close', () => {
      clearTimeout(t);
      res();
    });
  });
  socket.destroy();
}
