import { join } from 'node:path';
import { SimPrinter, receiptFacts } from '../../printer/index.js';
import type { ProcessRegistry } from '../qa-types.js';
import { PtyPair } from './ptys.js';

/**
 * The counter's receipt printer (devices.printer): a socat pty pair, the simulated ESC/POS printer on
 * one end decoding what the daemon sends, the daemon's `printer.path` on the other.
 */
export class StackPrinter {
  private constructor(
    readonly printer: SimPrinter,
    private readonly pair: PtyPair,
  ) {}

  /** The daemon's end of the line. */
  get hostPath(): string {
    return this.pair.a;
  }

  static async start(dir: string, registry: ProcessRegistry, log: (text: string) => void): Promise<StackPrinter> {
    const pair = await PtyPair.start(join(dir, 'tty-printer-host'), join(dir, 'tty-printer'), registry, 'printer');
    const printer = new SimPrinter({ path: pair.b });
    printer.on('receipt', (r) => {
      const facts = receiptFacts(r);
      log(
        `receipt printed${facts.copy ? ' (copy)' : ''}: ${r.lines.length} lines${facts.saleId ? `, sale ${facts.saleId}` : ''}`,
      );
    });
    try {
      await printer.start();
    } catch (e) {
      await pair.close(); // not yet the stack's to close: nobody else would
      throw e;
    }
    return new StackPrinter(printer, pair);
  }

  /** The daemon's printer config: fast status polling so a scenario sees paper states quickly. */
  daemonConfig(): Record<string, unknown> {
    return { path: this.pair.a, statusIntervalMs: 200, answerTimeoutMs: 500 };
  }

  receipts(): { lines: string[]; copy: boolean }[] {
    return this.printer.receipts.map((r) => ({ lines: r.text.split('\n'), copy: receiptFacts(r).copy }));
  }

  async close(): Promise<void> {
    await this.printer.stop();
    await this.pair.close();
  }
}
