import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { TransportError } from '../../../protocol/transport.js';
import type { ReaderSource, ReaderSourceEvents } from '../../readers/reader-source.js';
import { PcscReaderSource, type PcscCardReader } from './pcsc-reader.js';

const PCSCD_SOCKET = () => process.env.PCSCLITE_CSOCK_NAME || '/run/pcscd/pcscd.comm';

export interface PcscSourceOptions {
  extendedLength: boolean;
  transmitTimeoutMs?: number;
  /** How often to look for pcscd (its socket) while it is away or the context is up. Default 1000 ms. */
  retryMs?: number;
  /** For the life-cycle notes (service and readers connected). Failures are 'error' events. */
  log?: { info(o: object, m: string): void };
}

/**
 * The PC/SC readers as a ReaderSource, kept while pcscd comes and goes. pcsclite reports a stopped
 * service as an error on its context and does not come back by itself, so on that error (or when
 * pcscd's socket disappears) the context is dropped, its readers are reported lost, and a new
 * context is opened once the service is back. (This was `host/readers/pcsc-supervisor.ts`.)
 */
export class PcscSource extends EventEmitter<ReaderSourceEvents> implements ReaderSource {
  readonly medium = 'pcsc';
  private source: PcscReaderSource | undefined;
  private readers: PcscCardReader[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private warned = false;

  constructor(private readonly o: PcscSourceOptions) {
    super();
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.drop();
  }

  private report(e: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.o.retryMs ?? 1000);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.source && !existsSync(PCSCD_SOCKET())) {
      this.report(
        new TransportError(
          'READER_GONE',
          'pcscd stopped; PC/SC readers unavailable until it is back',
          'start pcscd; cardpost reconnects by itself',
        ),
      );
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
      const source = await PcscReaderSource.open({
        extendedLength: this.o.extendedLength,
        ...(this.o.transmitTimeoutMs !== undefined ? { transmitTimeoutMs: this.o.transmitTimeoutMs } : {}),
      });
      if (this.stopped) {
        source.close();
        return;
      }
      this.source = source;
      this.warned = false;
      source.on('reader', (reader) => {
        this.readers.push(reader);
        reader.on('end', () => {
          const had = this.readers.includes(reader);
          this.readers = this.readers.filter((r) => r !== reader);
          if (had) this.emit('lost', reader);
        });
        this.emit('reader', reader, 'pcsc');
        this.o.log?.info({ reader: reader.name }, 'PC/SC reader connected');
        // The PIN pad is asked for with the first card (SCardControl needs a connected card).
        reader.once('card', () => {
          const f = reader.pinPadFeature;
          this.o.log?.info(
            { reader: reader.name, pinPad: f?.kind ?? 'unknown', ...(f && f.kind !== 'pin-pad' ? { why: f.why } : {}) },
            f?.kind === 'pin-pad'
              ? 'PC/SC reader has a PIN pad (FEATURE_VERIFY_PIN_DIRECT): customers type the PIN on it'
              : 'PC/SC reader has no PIN pad: customers type the PIN on the customer display',
          );
        });
      });
      source.on('error', (e) => {
        this.report(e); // the service stopped or failed: the context is dropped and reopened
        if (e.transportCode === 'READER_GONE') this.drop();
      });
      this.o.log?.info({}, 'PC/SC service connected');
    } catch (e) {
      if (!this.warned) this.report(e instanceof Error ? e : new Error(String(e))); // retried every retryMs; said once
      this.warned = true;
    }
    this.schedule();
  }

  private drop(): void {
    const readers = this.readers;
    this.readers = [];
    for (const r of readers) this.emit('lost', r);
    try {
      this.source?.close();
    } catch {
      /* the context is already dead */
    }
    this.source = undefined;
  }
}
