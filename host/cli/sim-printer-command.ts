import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
// Simulator wiring (as sim-command.ts): the simulated receipt printer, for QA.
import { SimPrinter, type PrintedLine } from '../../device-sim/printer/index.js';
import type { CliIo } from './crypto-command.js';

const COMMANDS = 'paper-out | paper [lines] | cover-open | cover-close | error | clear | off | on | status | quit';

/** A printed line as the console shows it: size marks where the printer prints large (e.g. the amount, [2x2]). */
function shown(l: PrintedLine): string {
  const marks = l.segments
    .filter((s) => s.width > 1 || s.height > 1)
    .map((s) => `[${s.width}x${s.height}] ${s.text.trim()}`);
  return marks.length > 0 ? `${l.text.trimEnd()}   ${marks.join(' ')}` : l.text.trimEnd();
}

/**
 * `cardpost sim printer <port>`: a simulated ESC/POS receipt printer on one end of a serial line (a socat
 * pty pair; the daemon's `printer.path` is the other end). It prints the receipts it decodes, answers the
 * daemon's status requests, and takes paper-out, cover and offline states from stdin.
 */
export function simPrinterCommand(io: CliIo): Command {
  return new Command('printer')
    .description(
      `a simulated ESC/POS receipt printer on one end of a serial line (e.g. a socat pty pair), printing the receipts it decodes; type ${COMMANDS} on stdin`,
    )
    .argument('<port>', "serial device to open (the printer's end of the line)")
    .option('--baud <rate>', 'line speed', '9600')
    .option('--out <file>', 'also append each decoded receipt to this file')
    .option('--paper-lines <n>', 'lines of paper on the roll (default: endless)')
    .action(async (port: string, opts: { baud: string; out?: string; paperLines?: string }) => {
      const number = (v: string, name: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new CardpostError(
            'CLI_USAGE',
            `${name} must be a positive whole number, got "${v}"`,
            'for example 9600',
          );
        return n;
      };
      const printer = new SimPrinter({
        path: port,
        baudRate: number(opts.baud, '--baud'),
        ...(opts.paperLines !== undefined ? { paperLines: number(opts.paperLines, '--paper-lines') } : {}),
        log: (line) => io.out(line),
      });
      printer.on('line', (l) => io.out(`| ${shown(l)}`));
      printer.on('receipt', (r) => {
        if (opts.out) appendFileSync(opts.out, `${r.text}\n${'-'.repeat(24)} cut\n`);
        io.out('|-------- cut --------');
      });
      const state = () =>
        printer.offline
          ? 'off'
          : [
              printer.paperOut ? 'paper out' : 'paper in',
              printer.coverOpen ? 'cover open' : 'cover shut',
              printer.error ? 'fault' : 'no fault',
            ].join(', ');
      await printer.start();
      io.out(`printer on ${port}; commands: ${COMMANDS}`);
      const rl = createInterface({ input: process.stdin });
      await new Promise<void>((resolve) => {
        const stop = async () => {
          rl.close();
          await printer.stop();
          resolve();
        };
        process.once('SIGTERM', () => void stop());
        process.once('SIGINT', () => void stop());
        rl.on('close', () => void stop());
        rl.on('line', (line) => {
          const [cmd, arg] = line.trim().split(/\s+/);
          if (cmd === 'paper-out') printer.setPaperOut(true);
          else if (cmd === 'paper') printer.loadPaper(arg ? Number(arg) || Infinity : Infinity);
          else if (cmd === 'cover-open' || cmd === 'cover-close') printer.setCoverOpen(cmd === 'cover-open');
          else if (cmd === 'error' || cmd === 'clear') printer.setError(cmd === 'error');
          else if (cmd === 'off' || cmd === 'on') printer.setOffline(cmd === 'off');
          else if (cmd === 'quit') return void stop();
          else if (cmd !== 'status') {
            if (cmd) io.out(`unknown command "${cmd}"; use ${COMMANDS}`);
            return;
          }
          io.out(`printer: ${state()}; ${printer.receipts.length} receipts printed`);
        });
      });
    });
}
