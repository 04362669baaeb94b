import { existsSync } from 'node:fs';
import { PcscReaderSource, type PcscCardReader } from '../transports/pcsc/pcsc-reader.js';
import type { ReaderHub } from './reader-hub.js';

const PCSCD_SOCKET = () => process.env.PCSCLITE_CSOCK_NAME || '/run/pcscd/pcscd.comm';

/**
 * Keeps the PC/SC readers in the hub while pcscd comes and goes. pcsclite reports a stopped
 * service as an error on its context and does not come back by itself, so on that error (or when
 * pcscd's socket disappears) the context is dropped, its readers leave the hub, and a new context
 * is opened once the service is back.
 */
export class PcscSupervisor {
  private source: PcscReaderSource | undefined;
  private readers: PcscCardReader[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private warned = false;

  constructor(private readonly hub: ReaderHub, private readonly o: {
    extendedLength: boolean; transmitTimeoutMs?: number; retryMs?: number; log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
  }) {}

  start(): void {
    this.stopped = false;
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.drop();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.o.retryMs ?? 1000);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.source && !existsSync(PCSCD_SOCKET())) {
      this.o.log?.warn({}, 'pcscd stopped; PC/SC readers unavailable until it is back');
      this.drop();
    }
    if (!this.source && existsSync(PCSCD_SOCKET())) {
      void this.open();
      return;
    }
    this.schedule();
  }

  private async open(): Promise<void> {
    try {
      const source = await PcscReaderSource.open({ extendedLength: this.o.extendedLength, ...(this.o.transmitTimeoutMs !== undefined ? { transmitTimeoutMs: this.o.transmitTimeoutMs } : {}) });
      if (this.stopped) { source.close(); return; }
      this.source = source;
      this.warned = false;
      source.on('reader', (reader) => {
        this.readers.push(reader);
        reader.on('end', () => { this.readers = this.readers.filter((r) => r !== reader); });
        this.hub.add(reader, 'pcsc');
        this.o.log?.info({ reader: reader.name }, 'PC/SC reader connected');
      });
      source.on('error', (e) => {
        this.o.log?.warn({ err: e.message }, 'PC/SC service error; reconnecting');
        if (e.transportCode === 'READER_GONE') this.drop();
      });
      this.o.log?.info({}, 'PC/SC service connected');
    } catch (e) {
      if (!this.warned) this.o.log?.warn({ err: (e as Error).message }, 'PC/SC unavailable; retrying');
      this.warned = true;
    }
    this.schedule();
  }

  private drop(): void {
    for (const r of this.readers) this.hub.remove(r.name);
    this.readers = [];
    try { this.source?.close(); } catch { /* the context is already dead */ }
    this.source = undefined;
  }
}
