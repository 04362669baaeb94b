import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiptPrinter, type PrinterStatus } from '../../host/printer/index.js';
import { printerConfigSchema } from '../../host/printer/printer-config.js';
import type { Receipt } from '../../host/sale/sale-types.js';
import { CliProcess, runCardpost } from '../support/cli.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';

const RECEIPT: Receipt = {
  saleId: '5d1e8c5a-8c1e-4d8e-9d36-0a4a3e5c7b21',
  recordId: '00112233445566ff:4',
  amount: 4250,
  currency: 156,
  merchantId: 'M-QA',
  terminalId: 'T-QA',
  time: 1_765_000_000,
  card: '••••••••••••66ff',
  counter: 4,
  balanceAfter: 10_000,
  pinVerified: false,
  online: true,
};

describe('cardpost sim printer (CLI) on a socat pty pair', function () {
  this.timeout(60_000);
  let dir: string;
  let pty: PtyPair | undefined;
  let sim: CliProcess | undefined;
  let printer: ReceiptPrinter | undefined;
  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  afterEach(async () => {
    await printer?.stop();
    await sim?.stop();
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const statusWhere = (pred: (s: PrinterStatus) => boolean) =>
    new Promise<PrinterStatus>((resolve) => {
      const check = (s: PrinterStatus) => {
        if (!pred(s)) return;
        printer!.off('status', check);
        resolve(s);
      };
      printer!.on('status', check);
      check(printer!.status());
    });

  it('prints the receipts it decodes (the amount marked 2x2), to stdout and --out, and takes paper-out on stdin', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-simprinter-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'dev'));
    sim = new CliProcess(['sim', 'printer', join(dir, 'dev'), '--out', join(dir, 'paper.txt')]);
    await sim.waitFor(/commands: paper-out/);
    const config = printerConfigSchema.parse({ path: join(dir, 'host'), statusIntervalMs: 100, answerTimeoutMs: 300 });
    printer = new ReceiptPrinter({ config, timeZone: 'Asia/Shanghai' });
    printer.start();
    await statusWhere((s) => s.state === 'ready');
    printer.printReceipt(RECEIPT);
    await sim.waitFor(/-------- cut/);
    assert.ok(
      sim.lines.some((l) => /￥42\.50 +\[2x2\] ￥42\.50/.test(l)),
      sim.lines.join('\n'),
    );
    assert.ok(sim.lines.some((l) => l.includes('消费凭条 RECEIPT')));
    const paper = readFileSync(join(dir, 'paper.txt'), 'utf8');
    assert.ok(paper.includes('****66ff') && paper.includes('2025-12-06 13:46:40'), paper);
    sim.send('paper-out');
    await statusWhere((s) => s.state === 'paper-out');
    sim.send('status');
    await sim.waitFor(/printer: paper out, cover shut, no fault; 1 receipts printed/);
    sim.send('paper');
    await statusWhere((s) => s.state === 'ready');
  });

  it('refuses a malformed --baud with exit 2', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-simprinter-'));
    const r = await runCardpost(['sim', 'printer', join(dir, 'none'), '--baud', 'fast']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /CLI_USAGE: --baud must be a positive whole number/);
  });
});
