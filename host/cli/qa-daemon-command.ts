import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import type { CardReader, CardReaderEvents } from '../../protocol/transport.js';
import { TransportError } from '../../protocol/transport.js';
// Simulator wiring (test/unit/layering.test.ts lists this file): QA's in-process readers (docs/qa.md).
import { openSimCard } from '../../device-sim/card/sim-card.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { FaultableCard } from '../../device-sim/qa/stack/card-faults.js';
import { loadConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import type { CliIo } from './crypto-command.js';
import { runUntilSignalled } from './daemon-command.js';

/**
 * `cardpost qa daemon` (hidden, for the QA runner only): `cardpost daemon` with simulated cards in
 * in-process readers, so a scenario needs no pcscd. The runner drives the readers over stdin, one line
 * each (insert NAME, remove NAME, pull-during NAME COMMAND, stall-during NAME COMMAND) and reads one
 * answer line per request: "qa-reader: ok <line>" or "qa-reader: error <why>". The card's NVM is its
 * state file: a killed daemon is a power cut, and the next start opens the card again from the file.
 */

interface ReaderArg {
  name: string;
  stateFile: string;
  t0: boolean;
}

export function parseReader(text: string, previous: ReaderArg[]): ReaderArg[] {
  const m = /^([A-Za-z0-9_-]+)=([^,]+)(,t0)?$/.exec(text);
  if (!m)
    throw new CardpostError(
      'CLI_QA_READER',
      `--reader "${text}" is not NAME=STATEFILE[,t0]`,
      'give e.g. --reader r1=/tmp/stack/card-alice.nvm (add ,t0 for a T=0 short-APDU card)',
    );
  return [...previous, { name: m[1]!, stateFile: m[2]!, t0: m[3] !== undefined }];
}

/**
 * An in-process reader with QA's faults: the card can be pulled during a command (InProcessReader turns a
 * card that throws into CARD_REMOVED) or stall after acting on one: then the command's answer never comes
 * until the card is removed, as a hung reader.
 */
export class QaSlot extends EventEmitter<CardReaderEvents> implements CardReader {
  readonly inner: InProcessReader;
  readonly card: FaultableCard;
  private stalled = false;

  constructor(arg: ReaderArg, onPulled: () => void) {
    super();
    this.inner = new InProcessReader({ name: `in-process ${arg.name}`, extendedLength: !arg.t0 });
    const applet = openSimCard(arg.stateFile, { extendedLength: !arg.t0, atrProtocols: arg.t0 ? 'T0' : 'T0+T1' });
    this.card = new FaultableCard(applet, { onPull: onPulled, onStall: () => (this.stalled = true) });
    this.inner.on('card', (...a) => this.emit('card', ...a));
    this.inner.on('removed', () => {
      this.stalled = false;
      this.emit('removed');
    });
    this.inner.on('error', (...a) => this.emit('error', ...a));
    this.inner.on('end', () => this.emit('end'));
  }

  get name(): string {
    return this.inner.name;
  }
  get extendedLength(): boolean {
    return this.inner.extendedLength;
  }
  get cardPresent(): boolean {
    return this.inner.cardPresent;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.stalled) return this.untilRemoved();
    const reply = await this.inner.transmit(apdu);
    return this.stalled ? this.untilRemoved() : reply;
  }

  private untilRemoved(): Promise<never> {
    return new Promise((_, reject) =>
      this.inner.once('removed', () =>
        reject(new TransportError('CARD_REMOVED', 'the card was removed during the command', 'insert it again')),
      ),
    );
  }
}

/** One stdin line → what it did, or throws with why not. */
export function control(slots: Map<string, QaSlot>, line: string): void {
  const [verb, name, command, ...rest] = line.split(' ');
  const slot = slots.get(name ?? '');
  if (!slot) throw new Error(`no reader "${name ?? ''}" (readers: ${[...slots.keys()].join(', ')})`);
  const needsCommand = verb === 'pull-during' || verb === 'stall-during';
  if (rest.length > 0 || (needsCommand ? command === undefined : command !== undefined))
    throw new Error(
      `"${line}" is not insert NAME | remove NAME | pull-during NAME COMMAND | stall-during NAME COMMAND`,
    );
  if (verb === 'insert') {
    if (!slot.cardPresent) slot.inner.insert(slot.card);
  } else if (verb === 'remove') slot.inner.remove();
  else if (verb === 'pull-during') slot.card.pullDuring(command!);
  else if (verb === 'stall-during') slot.card.stallDuring(command!);
  else throw new Error(`unknown request "${verb}": insert | remove | pull-during | stall-during`);
}

export function qaDaemonCommand(io: CliIo): Command {
  return new Command('daemon')
    .description('QA only: the daemon with simulated cards in in-process readers, driven on stdin')
    .requiredOption('--config <file>', 'the daemon config file (as cardpost daemon --config)')
    .option('--reader <NAME=STATEFILE[,t0]>', 'an in-process reader and its card (repeatable)', parseReader, [])
    .action(async (o: { config: string; reader: ReaderArg[] }) => {
      const config = loadConfig({ file: o.config });
      // The runner learns of a pull fault from this line (the card is out until it asks to insert it).
      const slots = new Map(o.reader.map((r) => [r.name, new QaSlot(r, () => io.out(`qa-reader: pulled ${r.name}`))]));
      const daemon = await Daemon.start({
        config,
        readers: [...slots.values()].map((reader) => ({ reader, kind: 'simulated' as const })),
      });
      io.out(
        `cardpost daemon for terminal ${daemon.terminalId}: API ${daemon.url} (token in ${config.dataDir}/api-token)`,
      );
      const rl = createInterface({ input: process.stdin });
      rl.on('line', (raw) => {
        const line = raw.trim().replace(/\s+/g, ' ');
        if (!line) return;
        try {
          control(slots, line);
          io.out(`qa-reader: ok ${line}`);
        } catch (e) {
          io.out(`qa-reader: error ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      await runUntilSignalled(async () => {
        rl.close();
        await daemon.stop();
      });
    });
}
