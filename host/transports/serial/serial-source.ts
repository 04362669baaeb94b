import { EventEmitter } from 'node:events';
import type { ReaderSource, ReaderSourceEvents } from '../../readers/reader-source.js';
import { SerialTerminal, SerialTerminalError, type SerialTerminalOptions } from './serial-terminal.js';

export interface SerialTerminalSourceOptions extends Omit<SerialTerminalOptions, 'path'> {
  /** The serial ports with a POS terminal on them (explicit paths: nothing is listed or probed). */
  paths: string[];
  /** For the life-cycle notes (terminal connected). Disconnects and warnings are 'error' events. */
  log?: { info(o: object, m: string): void };
}

/**
 * The serial POS terminals as a ReaderSource: one SerialTerminal per configured port, whose card
 * slot is announced at start and stays announced while the link comes and goes (the terminal
 * reconnects by itself; its slot counts as empty meanwhile). The terminals themselves are
 * `terminals`, for what else the owner does with them (sales keyed on the terminal).
 */
export class SerialTerminalSource extends EventEmitter<ReaderSourceEvents> implements ReaderSource {
  readonly medium = 'serial';
  readonly terminals: readonly SerialTerminal[];
  private readonly unsubscribe: (() => void)[] = [];
  private running = false;

  constructor(private readonly opts: SerialTerminalSourceOptions) {
    super();
    const { paths, log: _log, ...terminal } = opts;
    this.terminals = paths.map((path) => new SerialTerminal({ ...terminal, path }));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const terminal of this.terminals) {
      const name = terminal.cardReader.name;
      const onConnected = () =>
        this.opts.log?.info({ terminal: name, info: terminal.info }, 'serial terminal connected');
      const onDisconnected = (e: Error) => this.report(e);
      const onWarning = (w: string) =>
        this.report(
          new SerialTerminalError('TERMINAL_WARNING', `${name}: ${w}`, 'the terminal link retries by itself'),
        );
      terminal.on('connected', onConnected);
      terminal.on('disconnected', onDisconnected);
      terminal.on('warning', onWarning);
      this.unsubscribe.push(() => {
        terminal.off('connected', onConnected);
        terminal.off('disconnected', onDisconnected);
        terminal.off('warning', onWarning);
      });
      terminal.start();
      this.emit('reader', terminal.cardReader, 'serial-terminal');
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const off of this.unsubscribe.splice(0)) off();
    for (const terminal of this.terminals) this.emit('lost', terminal.cardReader);
    await Promise.all(this.terminals.map((t) => t.close()));
  }

  private report(e: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }
}
