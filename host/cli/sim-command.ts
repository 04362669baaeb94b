import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import { CMD, type CommandName } from '../../protocol/commands/index.js';
import { decodeCommandApdu } from '../../protocol/apdu/index.js';
// The simulator is wired in here, and only here, in sim-card-setup.ts and in `cardpost demo` (DESIGN:
// host imports device-sim for tests and demo wiring only).
import { manufactureFor, openSimCard } from '../../device-sim/card/sim-card.js';
import { VpcdLink, VPCD_DEFAULT_PORT, type VirtualCard } from '../../device-sim/reader/vpcd-link.js';
import { SimBank, type FaultConfig } from '../../device-sim/bank/index.js';
import { SimTerminal, type LineFaultRates } from '../../device-sim/terminal/index.js';
import { openIssuerDir } from '../issuer/issuer-dir.js';
import type { CliIo } from './crypto-command.js';
import { parseAmount, parseCurrency, parseHostPort } from './parse.js';
import { personaliseFromOptions, prepareSimCard } from './sim-card-setup.js';
import { simPrinterCommand } from './sim-printer-command.js';
import { simHidCommand } from './sim-hid-command.js';

export { prepareSimCard, type SimCardSetup } from './sim-card-setup.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export const FIRMWARES = ['ts', 'native', 'qemu'] as const;
export type Firmware = (typeof FIRMWARES)[number];

/** A simulated card of the chosen firmware, as `sim card` drives it. */
interface FirmwareCard {
  card: VirtualCard;
  /** The factory step (--blank-for): bind the blank card to this issuer CA. */
  manufactureFor(issuerCaEnvelope: Uint8Array): void;
  close(): void;
}

interface CardOpts {
  stateFile: string | undefined;
  extendedLength: boolean;
  atrProtocols: 'T0+T1' | 'T0';
}

const unavailable = (firmware: Firmware, why: string, hint: string) =>
  new CardpostError('CLI_FIRMWARE_UNAVAILABLE', `--firmware ${firmware}: ${why}`, hint);

/*
 * The C card modules are loaded only when asked for: `--firmware ts` (the default) never needs the
 * native addon or QEMU. A module that cannot be imported (not built, or a CLI build without
 * firmware-bindings/) becomes CLI_FIRMWARE_UNAVAILABLE saying what to do.
 */
async function importNativeCard(firmware: Firmware) {
  try {
    return await import('../../firmware-bindings/node/native-card.js');
  } catch (e) {
    throw unavailable(
      firmware,
      `the native card module cannot be loaded (${(e as Error).message.split('\n')[0]})`,
      'run the CLI from the sources (CARDPOST_CLI=sources) or rebuild it (npm run build)',
    );
  }
}

async function openFirmwareCard(firmware: Firmware, opts: CardOpts): Promise<FirmwareCard> {
  if (firmware === 'ts') {
    const applet = openSimCard(opts.stateFile, {
      extendedLength: opts.extendedLength,
      atrProtocols: opts.atrProtocols,
    });
    return { card: applet, manufactureFor: (ca) => manufactureFor(applet, ca), close: () => applet.powerOff() };
  }
  const native = await importNativeCard(firmware);
  const addon = native.loadCardAddon(); // the addon, or why it cannot be loaded
  if (firmware === 'native') {
    if (typeof addon === 'string')
      throw unavailable(
        firmware,
        `the C card addon is not built (${addon})`,
        'build it with `node scripts/build-native.mjs --only card --verbose` (a C compiler and node-gyp), or use --firmware ts',
      );
    const card = new native.NativeCard(opts);
    return { card, manufactureFor: (ca) => card.manufactureFor(ca), close: () => card.powerOff() };
  }
  let qemu: typeof import('../../firmware-bindings/arm/qemu-card.js');
  try {
    qemu = await import('../../firmware-bindings/arm/qemu-card.js');
  } catch (e) {
    throw unavailable(
      firmware,
      `the QEMU card module cannot be loaded (${(e as Error).message.split('\n')[0]})`,
      'run the CLI from the sources (CARDPOST_CLI=sources), or use --firmware native or ts',
    );
  }
  const missing = qemu.qemuCardUnavailable();
  if (missing)
    throw unavailable(
      firmware,
      missing,
      'install qemu-system-arm and gcc-arm-none-eabi and build the ARM image (docs/firmware.md "ARM build and QEMU"), or use --firmware native or ts',
    );
  const handle = qemu.openQemuCard(opts);
  return {
    card: handle.card,
    // The state file is the native card's format: the factory step runs through the native card on it.
    manufactureFor: (ca) => {
      if (!opts.stateFile || typeof addon === 'string')
        throw unavailable(
          firmware,
          '--blank-for needs --state and the native card addon (the factory step writes the flash file)',
          'give --state <file> and build the addon (node scripts/build-native.mjs --only card)',
        );
      handle.card.powerOff();
      new native.NativeCard({ ...opts, stateFile: opts.stateFile }).manufactureFor(ca);
      handle.card.powerOn();
    },
    close: () => handle.close(),
  };
}

export function simCommand(io: CliIo): Command {
  const sim = new Command('sim').description(
    'device simulator: cards on real pcscd (vpcd), a serial POS terminal, USB HID card keys, a receipt printer, and the bank',
  );

  sim
    .command('card')
    .description(
      "connect simulated cards to pcscd's vsmartcard-vpcd driver; type insert/remove/pull-during <command>/stall-during <command>/status/quit on stdin",
    )
    .option(
      '--vpcd <host:port>',
      `vpcd address, once per card (default 127.0.0.1:${VPCD_DEFAULT_PORT})`,
      collect,
      [] as string[],
    )
    .option('--state <file>', 'card NVM file, once per card (created blank if missing)', collect, [] as string[])
    .option('--issuer <dir>', 'personalise blank cards with this issuer (cardpost issuer init)')
    // On argv on purpose, unlike `card personalize`: a simulated card's PIN is QA test data, printed at start
    // anyway; it protects no money. An issuer's real PIN/PUK never goes on a command line (secret-input.ts).
    .option('--pin <digits>', 'holder PIN for simulated cards personalised here (QA test data, not a secret)', '1234')
    .option('--balance <amount>', 'top-up for cards personalised here', '500.00')
    .option('--currency <code>', 'purse currency', 'CNY')
    .addOption(new Option('--no-extended', 'refuse extended-length APDUs (hosts must chain)'))
    .option('--t0', 'the answer-to-reset offers T=0 only (default: T=0 and T=1)')
    .option('--removed', 'start with the cards out of the reader')
    .addOption(
      new Option(
        '--firmware <impl>',
        'which card answers: ts (the TypeScript applet), native (the C applet in-process), qemu (the ARM build under qemu-system-arm)',
      )
        .choices([...FIRMWARES])
        .default('ts'),
    )
    .option(
      '--blank-for <dir>',
      'leave cards blank but bound at the factory to this issuer: only its CA can personalise them',
    )
    .action(
      async (opts: {
        vpcd: string[];
        state: string[];
        issuer?: string;
        blankFor?: string;
        pin: string;
        balance: string;
        currency: string;
        extended: boolean;
        t0?: boolean;
        removed?: boolean;
        firmware: Firmware;
      }) => {
        if (opts.issuer && opts.blankFor)
          throw new CardpostError(
            'CLI_USAGE',
            '--issuer personalises cards, --blank-for leaves them blank',
            'give one of them',
          );
        const count = Math.max(opts.vpcd.length, opts.state.length, 1);
        if (opts.state.length > 1 && opts.state.length !== count)
          throw new CardpostError('CLI_USAGE', 'give one --state per --vpcd', 'pair them in order');
        const links: VpcdLink[] = [];
        const cards: FirmwareCard[] = [];
        for (let i = 0; i < count; i++) {
          const addr = parseHostPort(opts.vpcd[i] ?? `127.0.0.1:${VPCD_DEFAULT_PORT + i}`, '--vpcd');
          const fw = await openFirmwareCard(opts.firmware, {
            stateFile: opts.state[i],
            extendedLength: opts.extended,
            atrProtocols: opts.t0 ? 'T0' : 'T0+T1',
          });
          cards.push(fw);
          const applet = fw.card;
          let label = opts.firmware === 'ts' ? 'blank card' : `blank card (${opts.firmware} firmware)`;
          if (opts.blankFor) {
            fw.manufactureFor(openIssuerDir(opts.blankFor).ca.certificate.envelope);
            label = 'blank card bound to its issuer';
          }
          // prepareSimCard uses transmit/powerOn/powerOff only: any VirtualCard will do (sim-card-setup.ts).
          if (opts.issuer)
            label = await personaliseFromOptions(applet, { ...opts, issuer: opts.issuer }, io.out, `card ${i}`);
          const link = new VpcdLink(applet, { host: addr.host, port: addr.port });
          link.on('connected', () => io.out(`card ${i}: inserted (${label}, vpcd ${addr.host}:${addr.port})`));
          link.on('disconnected', (why) => io.out(`card ${i}: ${why}`));
          link.on('unreachable', (why) =>
            io.out(
              `card ${i}: cannot reach vpcd at ${addr.host}:${addr.port} (${why}): is pcscd running with vsmartcard-vpcd installed? retrying`,
            ),
          );
          if (!opts.removed) link.insert();
          links.push(link);
          io.out(`card ${i}: ${label}${opts.state[i] ? `, state ${opts.state[i]}` : ', state in memory'}`);
        }
        io.out(
          'commands: insert [n] | remove [n] | pull-during <command> [n] | stall-during <command> [n] | status | quit',
        );
        const pick = (arg: string | undefined) =>
          arg === undefined ? links : [links[Number(arg)]].filter((l): l is VpcdLink => l !== undefined);
        const rl = createInterface({ input: process.stdin });
        await new Promise<void>((resolve) => {
          const stop = async () => {
            rl.close();
            await Promise.all(links.map((l) => l.remove()));
            for (const c of cards) c.close();
            resolve();
          };
          process.once('SIGTERM', () => void stop());
          process.once('SIGINT', () => void stop());
          rl.on('line', (line) => {
            const [cmd, arg] = line.trim().split(/\s+/);
            if (cmd === 'insert') pick(arg).forEach((l) => l.insert());
            else if (cmd === 'remove') pick(arg).forEach((l) => void l.remove());
            else if (cmd === 'pull-during' || cmd === 'stall-during') {
              // "pull-during SIGN_TXN": the card does the command, then leaves the reader before answering.
              // "stall-during SIGN_TXN": the card does the command, then hangs (answers nothing) until removed.
              const [, name, n] = line.trim().split(/\s+/);
              const code = name ? CMD[name.toUpperCase() as CommandName] : undefined;
              if (code === undefined)
                io.out(`unknown card command "${name ?? ''}"; use one of ${Object.keys(CMD).join(', ')}`);
              else {
                const isIt = (apdu: Uint8Array) => {
                  try {
                    return decodeCommandApdu(apdu).data?.[0] === code;
                  } catch {
                    return false;
                  }
                };
                pick(n).forEach((l) => (cmd === 'pull-during' ? l.pullDuring(isIt) : l.stallDuring(isIt)));
                io.out(
                  `card ${n ?? 'all'}: will be ${cmd === 'pull-during' ? 'pulled' : 'stalled'} during the next ${name!.toUpperCase()}`,
                );
              }
            } else if (cmd === 'status')
              links.forEach((l, i) => io.out(`card ${i}: ${l.connected ? 'in the reader' : 'out'}`));
            else if (cmd === 'quit') void stop();
            else if (cmd)
              io.out(
                `unknown command "${cmd}"; use insert [n] | remove [n] | pull-during <command> [n] | stall-during <command> [n] | status | quit`,
              );
          });
        });
      },
    );

  sim
    .command('terminal')
    .description(
      'a simulated serial POS terminal (keypad, display, PIN pad, card slot, printer) on one end of a serial line, e.g. a socat pty pair; type sale <amount> | insert | remove | pin <digits> | cancel | status | quit on stdin',
    )
    .requiredOption('--port <path>', "serial device to open (the terminal's end of the line)")
    .option('--card-state <file>', 'NVM file of the card in the slot (created blank if missing; in memory if absent)')
    .option('--issuer <dir>', 'personalise a blank card with this issuer (cardpost issuer init)')
    // A simulated card's test PIN (QA data, as for `sim card`): fine on argv; a real PIN never is.
    .option(
      '--pin <digits>',
      'the simulated holder PIN (QA test data, not a secret): set on cards personalised here, and typed on the PIN pad for a payment when no "pin" line is queued (a PIN change or unblock on the pad takes "pin" lines: current PIN or PUK, new PIN, new PIN again)',
      '1234',
    )
    .option('--balance <amount>', 'top-up for a card personalised here', '500.00')
    .option('--currency <code>', 'currency of the card and of sales keyed here', 'CNY')
    .option('--printer <file>', 'receipt printer output (appended)')
    .option('--serial <id>', 'the terminal serial number it reports in INFO', 'SIM-0001')
    .option('--no-card', 'start with the slot empty')
    .option(
      '--no-pin-modes',
      'act as firmware without PIN change on the pad: PIN_ENTRY modes are refused (BAD_MESSAGE)',
    )
    .option('--fault-flip <rate>', 'line fault, both directions: per byte, flip one bit', '0')
    .option('--fault-drop <rate>', 'line fault: per byte, drop it', '0')
    .option('--fault-dup <rate>', 'line fault: per byte, send it twice', '0')
    .option('--fault-garbage <rate>', 'line fault: per write, a burst of random bytes first', '0')
    .option('--fault-split <rate>', 'line fault: per write, split it in two', '0')
    .option('--fault-merge <rate>', 'line fault: per write, hold it back and merge it with the next', '0')
    .option('--seed <n>', 'seed of the fault generator', '1')
    .action(
      async (opts: {
        port: string;
        cardState?: string;
        issuer?: string;
        pin: string;
        balance: string;
        currency: string;
        printer?: string;
        serial: string;
        card: boolean;
        pinModes: boolean;
        faultFlip: string;
        faultDrop: string;
        faultDup: string;
        faultGarbage: string;
        faultSplit: string;
        faultMerge: string;
        seed: string;
      }) => {
        const rate = (v: string, name: string) => {
          const n = Number(v);
          if (!(n >= 0 && n <= 1))
            throw new CardpostError('CLI_USAGE', `${name} must be between 0 and 1, got "${v}"`, 'for example 0.01');
          return n;
        };
        const rates: LineFaultRates = {
          flip: rate(opts.faultFlip, '--fault-flip'),
          drop: rate(opts.faultDrop, '--fault-drop'),
          dup: rate(opts.faultDup, '--fault-dup'),
          garbage: rate(opts.faultGarbage, '--fault-garbage'),
          split: rate(opts.faultSplit, '--fault-split'),
          merge: rate(opts.faultMerge, '--fault-merge'),
        };
        const seed = Number(opts.seed);
        if (!Number.isInteger(seed))
          throw new CardpostError(
            'CLI_USAGE',
            `--seed must be an integer, got "${opts.seed}"`,
            'for example --seed 42',
          );
        const currency = parseCurrency(opts.currency);
        const applet = openSimCard(opts.cardState);
        if (opts.issuer) {
          const made = await prepareSimCard(applet, {
            issuerDir: opts.issuer,
            pin: opts.pin,
            balance: parseAmount(opts.balance),
            currency,
          });
          if (made.puk)
            io.out(
              `card: personalised ${made.cardId}, PIN ${opts.pin}, PUK ${made.puk} (simulated card: printed for QA)`,
            );
        }
        const terminal = new SimTerminal({
          path: opts.port,
          serial: opts.serial,
          currency,
          defaultPin: opts.pin,
          ...(opts.pinModes ? {} : { noPinModes: true }),
          faults: { send: rates, receive: rates, seed },
          ...(opts.printer ? { printerFile: opts.printer } : {}),
          log: (line) => io.out(line),
        });
        terminal.on('connected', () => io.out('host connected (HELLO)'));
        terminal.on('disconnected', (why) => io.out(`line lost: ${why}; reopening ${opts.port}`));
        terminal.start();
        if (opts.card) terminal.insert(applet);
        io.out(
          `terminal ${opts.serial} on ${opts.port}; commands: sale <amount> | insert | remove | pin <digits> | cancel | status | quit`,
        );
        const rl = createInterface({ input: process.stdin });
        await new Promise<void>((resolve) => {
          const stop = async () => {
            rl.close();
            await terminal.stop();
            resolve();
          };
          process.once('SIGTERM', () => void stop());
          process.once('SIGINT', () => void stop());
          rl.on('close', () => void stop());
          rl.on('line', (line) => {
            const [cmd, arg] = line.trim().split(/\s+/);
            if (cmd === 'sale') {
              let amount: number;
              try {
                amount = parseAmount(arg ?? '');
              } catch (e) {
                io.out(e instanceof CardpostError ? e.describe() : String(e));
                return;
              }
              terminal.sale(amount).then(
                (r) =>
                  io.out(
                    r.type === 'SALE_RESULT'
                      ? `sale ${r.outcome}${r.receiptId ? ` receipt ${r.receiptId}` : ''}${r.message ? `: ${r.message}` : ''}`
                      : `sale error ${r.code}: ${r.message}`,
                  ),
                (e: unknown) => io.out(`sale not answered: ${e instanceof Error ? e.message : String(e)}`),
              );
            } else if (cmd === 'insert') terminal.insert(applet);
            else if (cmd === 'remove') terminal.remove();
            else if (cmd === 'pin' && arg) terminal.pressPin(arg);
            else if (cmd === 'cancel') {
              terminal.pressPin('cancel');
              terminal.cancelSale();
            } else if (cmd === 'status')
              io.out(
                `line ${terminal.connected ? 'open' : 'closed'}, card ${terminal.cardPresent ? 'in the slot' : 'out'}, display: ${terminal.displayLines.join(' | ')}`,
              );
            else if (cmd === 'quit') void stop();
            else if (cmd)
              io.out(
                `unknown command "${cmd}"; use sale <amount> | insert | remove | pin <digits> | cancel | status | quit`,
              );
          });
        });
      },
    );

  sim
    .command('bank')
    .description('run the simulated settlement bank (docs/bank-api.md) on a SQLite ledger')
    .requiredOption('--issuer <dir>', 'issuer directory (its CA is the trust anchor; its authority signs top-ups)')
    .option(
      '--listen <host:port>',
      'address to listen on (loopback by default; port 0 picks a free one)',
      '127.0.0.1:8451',
    )
    .option('--db <file>', 'ledger SQLite file', 'bank.sqlite')
    .option('--error-rate <fraction>', 'fault: share of requests answered 5xx', '0')
    .option('--latency <ms>', 'fault: delay before each request', '0')
    .option('--timeout-rate <fraction>', 'fault: share of requests never answered', '0')
    .option(
      '--drop-after-commit-rate <fraction>',
      'fault: share of batches committed, then the connection dropped',
      '0',
    )
    .option('--faults-endpoint', 'enable POST /v1/_faults to change faults at run time (QA scenarios)')
    .option('--seed <n>', 'seed of the fault generator, for reproducible runs')
    .action(
      async (opts: {
        issuer: string;
        listen: string;
        db: string;
        errorRate: string;
        latency: string;
        timeoutRate: string;
        dropAfterCommitRate: string;
        faultsEndpoint?: boolean;
        seed?: string;
      }) => {
        const addr = parseHostPort(opts.listen, '--listen', { allowAnyPort: true }); // port 0: any free port (printed)
        const issuer = openIssuerDir(opts.issuer);
        const fraction = (v: string, name: string) => {
          const n = Number(v);
          if (!(n >= 0 && n <= 1))
            throw new CardpostError('CLI_USAGE', `${name} must be between 0 and 1, got "${v}"`, 'for example 0.05');
          return n;
        };
        const faults: FaultConfig = {
          errorRate: fraction(opts.errorRate, '--error-rate'),
          timeoutRate: fraction(opts.timeoutRate, '--timeout-rate'),
          dropAfterCommitRate: fraction(opts.dropAfterCommitRate, '--drop-after-commit-rate'),
          latencyMs: Number(opts.latency) || 0,
          adminEndpoint: opts.faultsEndpoint === true,
          ...(opts.seed !== undefined ? { seed: Number(opts.seed) } : {}),
        };
        const bank = new SimBank({
          dbPath: opts.db,
          issuerCertificate: issuer.ca.certificate,
          authority: issuer.authority,
          faults,
        });
        const bound = await bank.listen(addr);
        io.out(`bank listening on ${bound.url} (ledger ${opts.db})`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            void bank.close().then(() => resolve());
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
      },
    );

  sim.addCommand(simPrinterCommand(io));
  sim.addCommand(simHidCommand(io));
  return sim;
}
