import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../daemon/log.js';
import type { Receipt } from '../sale/sale-types.js';
import type { SerialBinding } from '../transports/serial/port-driver.js';
import { encodeReceipt } from './escpos-encoder.js';
import { STATUS_REQUESTS, readPaperSensor, readStatus, type RawStatus } from './escpos-status.js';
import type { PrinterConfig } from './printer-config.js';
import { PrinterLink, type PrinterConnection } from './printer-link.js';
import { PrinterUsbLink } from './printer-usb-link.js';
import { jobFailure, stateProblem } from './printer-problems.js';
import type { PrintJobView, PrinterProblem, PrinterState, PrinterStatus, ReceiptLine } from './printer-types.js';
import { receiptLayout } from './receipt-layout.js';

export interface ReceiptPrinterOptions {
  config: PrinterConfig;
  /** The shop's time zone (IANA), for the printed time. */
  timeZone: string;
  binding?: SerialBinding;
  log?: Logger;
  /** The clock (ms). */
  now?: () => number;
}

export interface PrintOptions {
  /** A reprint: "副本 / COPY" on top and at the bottom. */
  copy?: boolean;
  saleId?: string;
  recordId?: string;
  amount?: number;
  currency?: number;
}

interface Job extends PrintJobView {
  bytes: Uint8Array;
}

/** How long a receipt sent to a ready printer may take to come out before it counts as not printed. */
const CONFIRM_MS = 15_000;
/** Receipts waiting at most; beyond, the oldest is given up (reprint it). */
const MAX_WAITING = 50;
/** Given-up receipts kept in the status for the merchant. */
const MAX_FAILED = 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * The counter's receipt printer: a queue of receipts and one loop that reads the printer's state (DLE
 * EOT, every `statusIntervalMs`) and prints while it is ready. Printing never blocks or fails anything
 * else: `printReceipt` only queues (and returns at once), the loop's failures end up in the status, and
 * a receipt the printer could not take waits for it (paper out, cover open, offline) until
 * `holdMinutes`, then is given up as "not printed — reprint". A receipt is printed when the printer
 * answers the GS r at its end; paper running out in the middle leaves it `interrupted` until the printer,
 * paper in again, finishes it. Only a printer in state `ready` is sent a receipt, so nothing piles up in
 * a printer that cannot print.
 */
export class ReceiptPrinter extends EventEmitter<{ status: [PrinterStatus] }> {
  private readonly link: PrinterConnection;
  private readonly now: () => number;
  private state: PrinterState = 'offline';
  private problem: PrinterProblem | null;
  private paperLow = false;
  private since: number;
  private readonly queue: Job[] = [];
  private failed: Job[] = [];
  private printed = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private paperAnswer: ((b: number) => void) | undefined;

  constructor(private readonly o: ReceiptPrinterOptions) {
    super();
    this.now = o.now ?? Date.now;
    this.since = this.now();
    this.problem = stateProblem('offline', o.config.path, 'not yet asked');
    this.link =
      o.config.connection === 'usb'
        ? new PrinterUsbLink({ path: o.config.path })
        : new PrinterLink({
            path: o.config.path,
            baudRate: o.config.baudRate,
            ...(o.binding ? { binding: o.binding } : {}),
          });
    this.link.onPaperAnswer = (b) => this.paperAnswer?.(b);
  }

  start(): void {
    this.running = true;
    // The first encoding loads iconv-lite's GB18030 tables (~75 ms): here at start, not after the first sale.
    try {
      encodeReceipt([{ text: '金额 Amount' }], {
        codepage: this.o.config.codepage,
        width: this.o.config.width,
        copy: false,
      });
    } catch {
      /* a receipt that cannot be encoded is reported when it is queued */
    }
    this.kick(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.paperAnswer?.(-1);
    await this.pumping;
    await this.link.close();
  }

  /** Queue the receipt of a sale; returns at once, never throws. */
  printReceipt(receipt: Receipt, o: { copy?: boolean } = {}): PrintJobView {
    const c = this.o.config;
    if (!o.copy) {
      const same = this.queue.find((j) => j.saleId === receipt.saleId && !j.copy);
      if (same) return view(same);
    }
    let lines: ReceiptLine[];
    try {
      lines = receiptLayout(receipt, {
        chinese: c.codepage !== 'cp437',
        timeZone: this.o.timeZone,
        ...(c.header ? { header: c.header } : {}),
      });
    } catch (e) {
      lines = [{ text: `Sale ${receipt.saleId}` }];
      this.o.log?.warn({ err: (e as Error).message }, 'receipt layout failed');
    }
    const { saleId, recordId, amount, currency } = receipt;
    return this.printLines(lines, { ...o, saleId, recordId, amount, currency });
  }

  /**
   * Queue receipt lines, laid out (ReceiptLine) or plain text lines; `copy` adds "副本 / COPY" at the top and
   * the bottom itself. Returns at once, never throws. With a sale's Receipt at hand, printReceipt lays it out
   * as the original was (the amount large).
   */
  printLines(given: readonly (ReceiptLine | string)[], o: PrintOptions = {}): PrintJobView {
    const lines = given.map((l) => (typeof l === 'string' ? { text: l } : l));
    const c = this.o.config;
    const at = this.now();
    const job: Job = {
      jobId: randomUUID(),
      saleId: o.saleId ?? null,
      recordId: o.recordId ?? null,
      amount: o.amount ?? null,
      currency: o.currency ?? null,
      copy: o.copy === true,
      state: 'queued',
      queuedAt: at,
      updatedAt: at,
      problem: this.state === 'ready' ? null : this.problem,
      bytes: new Uint8Array(0),
    };
    try {
      job.bytes = encodeReceipt(lines, { codepage: c.codepage, width: c.width, copy: job.copy });
    } catch (e) {
      this.fail(job, jobFailure('encode', (e as Error).message));
      return view(job);
    }
    this.queue.push(job);
    while (this.queue.filter((j) => j.state === 'queued').length > MAX_WAITING) {
      const oldest = this.queue.find((j) => j.state === 'queued')!;
      this.queue.splice(this.queue.indexOf(oldest), 1);
      this.fail(oldest, jobFailure('full', String(MAX_WAITING)));
    }
    this.changed();
    this.kick(0);
    return view(job);
  }

  status(): PrinterStatus {
    const jobs = [...this.queue, ...this.failed].sort((a, b) => b.updatedAt - a.updatedAt).map(view);
    return {
      path: this.o.config.path,
      state: this.state,
      paperLow: this.paperLow,
      since: this.since,
      problem: this.problem,
      waiting: this.queue.length,
      jobs: jobs.slice(0, MAX_WAITING + MAX_FAILED),
      printed: this.printed,
    };
  }

  private kick(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.pumping) this.pumping = this.pump().finally(() => (this.pumping = undefined));
    }, delayMs);
    this.timer.unref();
  }

  /** Read the state; print while ready; again after `statusIntervalMs` (at once when a receipt came meanwhile). */
  private async pump(): Promise<void> {
    try {
      await this.readState();
      this.expire();
      while (this.running && this.state === 'ready' && this.queue.length > 0) await this.printNext();
    } catch (e) {
      this.o.log?.warn({ printer: this.o.config.path, err: (e as Error).message }, 'receipt printer loop failed');
    }
    const more = this.state === 'ready' && this.queue.length > 0;
    setImmediate(() => this.kick(more ? 0 : this.o.config.statusIntervalMs));
  }

  /** DLE EOT 1, 2, 3, 4: one unanswered means offline (the port is closed, and opened again next time). */
  private async readState(): Promise<void> {
    const c = this.o.config;
    try {
      await this.link.open();
    } catch (e) {
      this.setState('offline', false, (e as Error).message);
      return;
    }
    const raw: Partial<RawStatus> = {};
    for (const key of ['printer', 'offline', 'error', 'paper'] as const) {
      const a = await this.link.ask(STATUS_REQUESTS[key], c.answerTimeoutMs);
      if (a === undefined) {
        await this.link.close();
        this.setState('offline', false, `no answer within ${c.answerTimeoutMs} ms`);
        return;
      }
      raw[key] = a;
    }
    const s = readStatus(raw as RawStatus);
    this.setState(s.state, s.paperLow);
  }

  private setState(state: PrinterState, paperLow: boolean, detail?: string): void {
    const problem = stateProblem(state, this.o.config.path, detail);
    if (state === this.state && paperLow === this.paperLow && problem?.message === this.problem?.message) return;
    const was = this.state;
    this.state = state;
    this.paperLow = paperLow;
    this.problem = problem;
    if (state !== was) {
      this.since = this.now();
      this.o.log?.[state === 'ready' ? 'info' : 'warn'](
        { printer: this.o.config.path, state, was, detail },
        `receipt printer ${state}`,
      );
    }
    for (const j of this.queue) if (j.state === 'queued') j.problem = this.problem;
    this.changed();
  }

  /** Receipts that waited longer than `holdMinutes` for a printer that did not get ready. */
  private expire(): void {
    const limit = this.now() - this.o.config.holdMinutes * 60_000;
    for (const j of this.queue.filter((x) => x.state === 'queued' && x.queuedAt < limit)) {
      this.queue.splice(this.queue.indexOf(j), 1);
      this.fail(j, jobFailure('held', String(this.o.config.holdMinutes), this.problem));
    }
  }

  private async printNext(): Promise<void> {
    const job = this.queue[0]!;
    this.mark(job, 'printing', null);
    let answer: number | undefined;
    const answered = new Promise<number>((resolve) => (this.paperAnswer = resolve));
    try {
      const ms = Math.ceil((job.bytes.length * 10 * 1000) / this.o.config.baudRate) + 5000;
      await this.link.write(job.bytes, ms);
      let deadline = this.now() + CONFIRM_MS;
      while (answer === undefined && this.running) {
        answer = await Promise.race([answered, sleep(this.o.config.statusIntervalMs).then(() => undefined)]);
        if (answer !== undefined || !this.running) break;
        await this.readState();
        if (this.state === 'offline') return this.giveUp(job, jobFailure('lost', '', this.problem));
        if (this.state !== 'ready') {
          if (job.state !== 'interrupted') this.mark(job, 'interrupted', jobFailure('interrupted', '', this.problem));
          deadline = this.now() + CONFIRM_MS;
        } else if (job.state === 'interrupted') this.mark(job, 'printing', null);
        else if (this.now() > deadline) return this.giveUp(job, jobFailure('unconfirmed', String(CONFIRM_MS)));
      }
    } catch (e) {
      await this.link.close();
      this.setState('offline', false, (e as Error).message);
      return this.giveUp(job, jobFailure('lost', '', this.problem));
    } finally {
      this.paperAnswer = undefined;
    }
    if (answer === undefined || answer < 0) {
      // stopping: the receipt stays where it is; a later start will not know of it (the status is in memory)
      if (job.state === 'printing') this.mark(job, 'queued', null);
      return;
    }
    this.queue.splice(this.queue.indexOf(job), 1);
    this.printed++;
    // A copy that came out replaces the receipt given up for the same sale.
    if (job.saleId) this.failed = this.failed.filter((f) => f.saleId !== job.saleId);
    this.mark(job, 'printed', null);
    const sensor = readPaperSensor(answer);
    if (sensor.paperOut) this.setState('paper-out', sensor.paperLow);
    else this.changed();
  }

  private giveUp(job: Job, problem: PrinterProblem): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    this.fail(job, problem);
  }

  private fail(job: Job, problem: PrinterProblem): void {
    this.mark(job, 'failed', problem);
    this.failed = [...this.failed, job].slice(-MAX_FAILED);
    this.o.log?.warn(
      { printer: this.o.config.path, saleId: job.saleId, code: problem.code, err: problem.message },
      'receipt not printed',
    );
    this.changed();
  }

  private mark(job: Job, state: Job['state'], problem: PrinterProblem | null): void {
    job.state = state;
    job.problem = problem;
    job.updatedAt = this.now();
    this.changed();
  }

  private changed(): void {
    this.emit('status', this.status());
  }
}

const view = (j: Job): PrintJobView => ({
  jobId: j.jobId,
  saleId: j.saleId,
  recordId: j.recordId,
  amount: j.amount,
  currency: j.currency,
  copy: j.copy,
  state: j.state,
  queuedAt: j.queuedAt,
  updatedAt: j.updatedAt,
  problem: j.problem,
});
