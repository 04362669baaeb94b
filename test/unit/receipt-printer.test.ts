import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { EscPosDecoder, type PrintedLine } from '../../device-sim/printer/index.js';
import { loadConfig, ConfigError } from '../../host/daemon/config.js';
import {
  PAPER_SENSOR_REQUEST,
  STATUS_REQUESTS,
  isPaperSensorAnswer,
  isRealtimeAnswer,
  readPaperSensor,
  readStatus,
} from '../../host/printer/escpos-status.js';
import { columns, escapeMarkup } from '../../host/printer/escpos-encoder.js';
import {
  attachReceiptPrinter,
  encodeReceipt,
  printedMoney,
  receiptLayout,
  shopTime,
  type ReceiptPrinter,
} from '../../host/printer/index.js';
import type { Receipt, SaleSnapshot } from '../../host/sale/sale-types.js';

/**
 * The receipt printer's pure parts: the status bytes, the zh-CN/English layout, the ESC/POS encoding
 * (receiptline) read back by the simulated printer's decoder, and the config.
 */
const RECEIPT: Receipt = {
  saleId: '0f5c2a9e-3b1d-4c47-9a0e-2d7f6b1c8e55',
  recordId: 'a1b2c3d4e5f60718:17',
  amount: 123_456,
  currency: 156,
  merchantId: 'M-0001',
  terminalId: 'T-01',
  time: 1_765_000_000, // 2025-12-06 05:46:40 UTC
  card: '••••••••••••0718',
  counter: 17,
  balanceAfter: 48_766,
  pinVerified: true,
  online: true,
};

function decode(bytes: Uint8Array): { lines: PrintedLine[]; cuts: number; statusRequests: number } {
  const out = { lines: [] as PrintedLine[], cuts: 0, statusRequests: 0 };
  new EscPosDecoder((e) => {
    if (e.kind === 'line') out.lines.push(e.line);
    else if (e.kind === 'cut') out.cuts++;
    else if (e.kind === 'status') out.statusRequests++;
  }).feed(bytes);
  return out;
}

const text = (lines: PrintedLine[]) => lines.map((l) => l.text).join('\n');

describe('receipt printer: status bytes, layout, encoding, config', () => {
  it('reads DLE EOT answers: cover before paper before faults; paper low apart', () => {
    const base = { printer: 0x12, offline: 0x12, error: 0x12, paper: 0x12 };
    assert.deepEqual(readStatus(base), { state: 'ready', paperLow: false });
    assert.deepEqual(readStatus({ ...base, paper: 0x12 | 0x60 }), { state: 'paper-out', paperLow: false });
    assert.deepEqual(readStatus({ ...base, offline: 0x12 | 0x20 }), { state: 'paper-out', paperLow: false });
    assert.deepEqual(readStatus({ ...base, offline: 0x12 | 0x24, paper: 0x7e }), {
      state: 'cover-open',
      paperLow: true,
    });
    assert.deepEqual(readStatus({ ...base, error: 0x12 | 0x08 }), { state: 'error', paperLow: false });
    assert.deepEqual(readStatus({ ...base, paper: 0x12 | 0x0c }), { state: 'ready', paperLow: true });
    assert.deepEqual([...STATUS_REQUESTS.paper], [0x10, 0x04, 0x04]);
    assert.deepEqual([...PAPER_SENSOR_REQUEST], [0x1d, 0x72, 0x01]);
  });

  it('tells a DLE EOT answer from a GS r answer and from XON/XOFF', () => {
    for (let b = 0; b < 256; b++) assert.ok(!(isRealtimeAnswer(b) && isPaperSensorAnswer(b)), `byte ${b} is both`);
    assert.ok(isRealtimeAnswer(0x12) && isRealtimeAnswer(0x7e));
    assert.ok(isPaperSensorAnswer(0x00) && isPaperSensorAnswer(0x0c));
    for (const b of [0x11, 0x13]) assert.ok(!isRealtimeAnswer(b) && !isPaperSensorAnswer(b), 'XON/XOFF are neither');
    assert.deepEqual(readPaperSensor(0x0c), { paperOut: true, paperLow: false });
  });

  it('lays out a receipt in Chinese and English, in the shop time zone, the card by its last 4 only', () => {
    const lines = receiptLayout(RECEIPT, { chinese: true, timeZone: 'Asia/Shanghai', header: '小店' });
    const all = lines.map((l) => `${l.text} ${l.value ?? ''}`).join('\n');
    for (const want of [
      '小店',
      '消费凭条 RECEIPT',
      '商户 Merchant',
      '2025-12-06 13:46:40',
      '****0718',
      '已验证',
      '￥487.66',
    ])
      assert.ok(all.includes(want), `${want} in\n${all}`);
    assert.ok(!all.includes('a1b2c3d4e5f60718'), 'never the whole card id (it is enough to report the card lost)');
    const amount = lines.find((l) => l.text === '￥1234.56');
    assert.equal(amount?.size, 'large');
    assert.equal(shopTime(RECEIPT.time, 'Europe/Berlin'), '2025-12-06 06:46:40');
    assert.equal(printedMoney(-150, 156, false), '-CNY 1.50');
    assert.equal(printedMoney(150, 840, false), '$1.50');
  });

  it('encodes Chinese in GB18030 in Chinese mode; the amount in double width and height; a cut; GS r 1 last', () => {
    const lines = receiptLayout(RECEIPT, { chinese: true, timeZone: 'Asia/Shanghai' });
    const bytes = encodeReceipt(lines, { codepage: 'gb18030', width: 48, copy: false });
    assert.deepEqual([...bytes.subarray(-3)], [...PAPER_SENSOR_REQUEST]);
    const d = decode(bytes);
    assert.equal(d.cuts, 1);
    assert.equal(d.statusRequests, 1);
    assert.ok(text(d.lines).includes('消费凭条 RECEIPT'), text(d.lines));
    const seg = d.lines.flatMap((l) => l.segments).find((s) => s.text.includes('￥1234.56'));
    assert.deepEqual([seg?.width, seg?.height, seg?.bold], [2, 2, true]);
    for (const l of d.lines) assert.ok(l.text.length <= 48, `line over 48 columns: ${l.text}`);
  });

  it('a copy says 副本 / COPY at the top and the bottom; plain text lines are accepted', () => {
    const bytes = encodeReceipt([{ text: '金额 Amount' }], { codepage: 'gbk', width: 32, copy: true });
    const lines = decode(bytes)
      .lines.map((l) => l.text.trim())
      .filter((l) => l !== '');
    assert.deepEqual(lines, ['副本 / COPY', '金额 Amount', '副本 / COPY']);
  });

  it('GBK never sends a 4-byte GB18030 sequence: what GBK lacks prints as "?"', () => {
    const bytes = Buffer.from(encodeReceipt([{ text: '¥ 𠀀 €' }], { codepage: 'gbk', width: 32, copy: false }));
    for (let i = 0; i + 1 < bytes.length; i++)
      assert.ok(!(bytes[i]! >= 0x81 && bytes[i + 1]! >= 0x30 && bytes[i + 1]! <= 0x39), `4-byte sequence at ${i}`);
  });

  it('an English-only printer (cp437) gets English only and no byte above 0x7f in its text', () => {
    const lines = receiptLayout({ ...RECEIPT, online: false }, { chinese: false, timeZone: 'UTC' });
    const bytes = encodeReceipt(lines, { codepage: 'cp437', width: 32, copy: true });
    const d = decode(bytes);
    const t = text(d.lines);
    assert.ok(t.includes('CNY 1234.56') && t.includes('COPY') && t.includes('Paid offline'), t);
    assert.ok(!/[^\x00-\x7f]/.test(t), `non-ASCII on an English-only printer: ${t}`);
  });

  it('text from config or a record (merchant id, header) prints literally: no markup, no control bytes', () => {
    const nasty = 'M|x_{y}^~"`\\-=\x1b@\x1dV';
    assert.ok(!/[|{}^~"`_]/.test(escapeMarkup(nasty).replace(/\\x[0-9a-f]{2}/g, '')));
    const lines = receiptLayout({ ...RECEIPT, merchantId: nasty }, { chinese: true, timeZone: 'UTC' });
    const d = decode(encodeReceipt(lines, { codepage: 'gb18030', width: 48, copy: false }));
    assert.ok(text(d.lines).includes('M|x_{y}^~"`\\-=@V'), text(d.lines));
    assert.equal(d.cuts, 1, 'no cut smuggled in');
    assert.equal(columns('金额 A', true), 6);
  });

  it('config: no printer by default; a bad baud rate, connection or a header with control characters is refused by name', () => {
    assert.equal(loadConfig({ env: {} }).printer, null);
    const p = loadConfig({ env: {}, overrides: { printer: { path: '/dev/ttyUSB1' } } }).printer;
    assert.deepEqual(
      { baudRate: p?.baudRate, codepage: p?.codepage, width: p?.width, connection: p?.connection },
      { baudRate: 9600, codepage: 'gb18030', width: 48, connection: 'serial' },
    );
    assert.throws(
      // a value the schema does not know, as a hand-written config file could hold it
      () => loadConfig({ env: {}, overrides: { printer: { path: '/dev/usb/lp0', connection: 'parallel' as 'usb' } } }),
      (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && /printer\.connection/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ env: {}, overrides: { printer: { path: '/dev/ttyUSB1', baudRate: 9601 } } }),
      (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && /printer\.baudRate/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ env: {}, overrides: { printer: { path: '/dev/x', header: 'a\x1bb' } } }),
      (e: unknown) => e instanceof ConfigError && /printer\.header/.test(e.message),
    );
  });

  it('the daemon glue queues each paid sale once, after the event, and leaves serial-terminal sales to their own printer', async () => {
    const engine = new EventEmitter<{ sale: [SaleSnapshot] }>();
    const printed: string[] = [];
    const printer = { printReceipt: (r: Receipt) => printed.push(r.saleId) } as unknown as ReceiptPrinter;
    const kinds: Record<string, 'simulated' | 'serial-terminal'> = { pc: 'simulated', term: 'serial-terminal' };
    const detach = attachReceiptPrinter({
      engine,
      printer,
      readerInfo: (n) => ({
        name: n,
        kind: kinds[n]!,
        cardPresent: true,
        extendedLength: true,
        pinPad: false,
        busy: false,
      }),
    });
    const snap = (saleId: string, reader: string, state: SaleSnapshot['state']) =>
      ({ saleId, reader, state, receipt: state === 'done' ? { ...RECEIPT, saleId } : null }) as SaleSnapshot;
    engine.emit('sale', snap('a', 'pc', 'signing'));
    engine.emit('sale', snap('a', 'pc', 'done'));
    engine.emit('sale', snap('a', 'pc', 'done'));
    engine.emit('sale', snap('b', 'term', 'done'));
    assert.deepEqual(printed, [], 'never inside the sale event itself');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(printed, ['a']);
    detach();
    engine.emit('sale', snap('c', 'pc', 'done'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(printed, ['a']);
  });
});
