import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { encodeBatchRequest } from '../../protocol/bank/batch.js';
import { verdictsOf } from '../../protocol/bank/verdicts.js';
import { decodeFrame, linkDialectNamed, readTotals } from '../../protocol/iso8583/index.js';
import { signTxnRecord } from '../../protocol/record/index.js';
import { ClearingService } from '../../host/clearing/clearing-service.js';
import { SqliteLedger } from '../../host/clearing/sqlite-ledger.js';
import { TestIssuer } from '../support/issuer.js';
import { ForgedCard } from '../support/record-forge.js';
import { newBatchId, rig, TERMINAL, type Rig } from './link-fixture.js';

/**
 * End to end over the real clearing service (host/clearing/clearing-service.ts) and its SQLite
 * ledger: the link's batch → ISO 8583 advices over TCP → the acquirer front end → ClearingCore.settle
 * (signatures, certificates, chains checked for real) → the verdicts back, the same as the clearing
 * service gives a JSON batch of the same records; nothing settled twice across re-sends and uploads.
 */
describe('ISO 8583 link → acquirer → clearing service (SQLite ledger)', function () {
  this.timeout(60_000);
  const issuer = new TestIssuer();
  let dir: string;
  let r: Rig;
  let service: ClearingService;

  const serviceOn = async (file: string) =>
    new ClearingService({
      ledger: await SqliteLedger.open({ path: join(dir, file) }),
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-iso-e2e-'));
    service = await serviceOn('ledger.sqlite');
    r = await rig(service);
  });
  afterEach(async () => {
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Good sales, a record naming another terminal, a double spend, a void: each reason travels. */
  function mixedBatch() {
    const card = ForgedCard.issue(issuer.key);
    const other = ForgedCard.issue(issuer.key);
    const sales = [card.sign({ terminalId: TERMINAL, amount: 250 }), card.sign({ terminalId: TERMINAL, amount: 120 })];
    const wrong = other.sign({ terminalId: 'T-ELSEWHERE', amount: 50 });
    const twin = card.signAt(1, new Uint8Array(32), { terminalId: TERMINAL, amount: 999 }); // counter 1 again
    const records = [...sales, wrong, twin];
    const batchId = newBatchId();
    const body = encodeBatchRequest({
      batchId,
      records: records.map((x) => x.envelope),
      certificates: [card.certificate.envelope, other.certificate.envelope],
    });
    return { batchId, body, records };
  }

  it('settles a batch with the verdicts the clearing service gives the same records as a JSON batch', async () => {
    const b = mixedBatch();
    const answer = await r.link().submitBatch(b.batchId, b.body, b.records.length);
    assert.deepEqual(
      answer.verdicts.map((v) => `${v.verdict}${v.reason ? ` ${v.reason}` : ''}`),
      ['accepted', 'accepted', 'rejected WRONG_TERMINAL', 'rejected DOUBLE_SPEND'],
    );
    // The same records, as one JSON batch, to a second service on its own ledger: the same verdicts.
    const http = await serviceOn('http.sqlite');
    const json = JSON.parse(Buffer.from(b.body).toString('utf8')) as { records: string[]; certificates: string[] };
    const settled = await http.settle({
      terminalId: TERMINAL,
      batchId: b.batchId,
      bodyHash: new Uint8Array(createHash('sha256').update(b.body).digest()),
      records: json.records,
      certificates: json.certificates,
    });
    const viaHttp = verdictsOf(settled.response);
    assert.deepEqual(
      answer.verdicts.map((v) => [v.recordId, v.verdict, v.reason]),
      viaHttp.map((v) => [v.recordId, v.verdict, v.reason]),
    );
    const totals = await service.totals(TERMINAL, 0, 2 ** 31);
    assert.deepEqual(
      totals.sales.map((t) => [t.currency, t.count, t.amount]),
      [[156, 2, 370]],
    );
  });

  it('a void travels as an advice with processing code 200000 and is counted as a credit in the 0500 totals', async () => {
    const card = ForgedCard.issue(issuer.key);
    const sale = card.sign({ terminalId: TERMINAL, amount: 300 });
    const base = card.signAt(2, sale.hash, { terminalId: TERMINAL, amount: 300 });
    const voidRecord = signTxnRecord(card.key.algorithm, card.key.privateKey, {
      ...base,
      prevHash: sale.hash,
      balanceAfter: base.balanceAfter + 300,
      reverses: 1,
    });
    const batchId = newBatchId();
    const body = encodeBatchRequest({
      batchId,
      records: [sale.envelope, voidRecord.envelope],
      certificates: [card.certificate.envelope],
    });
    const answer = await r.link().submitBatch(batchId, body, 2);
    assert.deepEqual(
      answer.verdicts.map((v) => v.verdict),
      ['accepted', 'accepted'],
    );
    const d = linkDialectNamed('cup-terminal');
    const sent = r.proxy.toAcquirer.map((x) => decodeFrame(d, x).message);
    assert.deepEqual(
      sent.filter((m) => m.mti === '0220').map((m) => m.fields.get(3)),
      ['000000', '200000'],
    );
    const settlement = sent.find((m) => m.mti === '0500')!;
    assert.deepEqual(readTotals(settlement), { debitCount: 1, debitAmount: 300, creditCount: 1, creditAmount: 300 });
    const f510 = r.proxy.toTerminal.map((x) => decodeFrame(d, x).message).find((m) => m.mti === '0510')!;
    assert.equal(readTotals(f510).balanced, true);
  });

  it('a re-sent batch, a lost answer (0221) and an out-of-balance upload settle nothing twice', async () => {
    const b = mixedBatch();
    let dropped = 0;
    r.proxy.dropAnswer = (f) => f.message.mti === '0230' && dropped++ === 1;
    let forgot = false;
    r.proxy.onRequest = (f) => {
      if (f.message.mti === '0500' && !forgot) {
        forgot = true;
        r.acquirer.totals.forgetAll();
      }
    };
    const first = await r.link().submitBatch(b.batchId, b.body, b.records.length);
    assert.ok(r.proxy.mtis('toAcquirer').includes('0221'));
    assert.ok(r.proxy.mtis('toAcquirer').includes('0320'));
    const again = await r.link().submitBatch(b.batchId, b.body, b.records.length);
    assert.deepEqual(again.verdicts, first.verdicts);
    assert.equal(again.replayed, true);
    const totals = await service.totals(TERMINAL, 0, 2 ** 31);
    assert.deepEqual(
      totals.sales.map((t) => [t.count, t.amount]),
      [[2, 370]],
    );
  });
});
