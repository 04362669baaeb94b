import { join } from 'node:path';
import { SimTerminal } from '../../terminal/sim-terminal.js';
import type { LineFaultRates } from '../../terminal/line-faults.js';
import type { ProcessRegistry, QaCard, QaReader } from '../qa-types.js';
import type { LineFaultRatesSpec, ReaderSpec } from '../scenario-schema.js';
import { FaultableCard } from './card-faults.js';
import { PtyPair } from './ptys.js';
import { QA_ERRORS, qaError, until } from './stack-errors.js';

const RATE_KEYS = ['flip', 'drop', 'dup', 'garbage', 'split', 'merge'] as const;

/** Set every rate: the ones given, 0 for the rest (a lineNoise step describes the whole line). */
function setRates(target: LineFaultRates, to: LineFaultRatesSpec): void {
  for (const k of RATE_KEYS) target[k] = to[k] ?? 0;
}

/**
 * A serial POS terminal of the scenario: a socat pty pair, the simulated terminal on one end (its slot
 * holds the card, its pad types the queued PINs), the daemon's `readers.serial` on the other.
 */
export class SerialQaReader implements QaReader {
  readonly medium = 'serial' as const;
  daemonName = '';
  private current: { card: QaCard; wrapper: FaultableCard } | undefined;
  /** The send rates before a stall took the line down (restored when the card is taken out). */
  private beforeStall: LineFaultRates | undefined;

  private constructor(
    readonly name: string,
    readonly terminal: SimTerminal,
    private readonly pair: PtyPair,
    private readonly log: (text: string) => void,
  ) {}

  /** The daemon's end of the line. */
  get hostPath(): string {
    return this.pair.a;
  }

  static async start(
    spec: ReaderSpec,
    o: { dir: string; seed: number; registry: ProcessRegistry; log: (text: string) => void },
  ): Promise<SerialQaReader> {
    const pair = await PtyPair.start(
      join(o.dir, `tty-${spec.id}-host`),
      join(o.dir, `tty-${spec.id}-terminal`),
      o.registry,
      `terminal ${spec.id}`,
    );
    try {
      const terminal = new SimTerminal({
        path: pair.b,
        serial: `QA-${spec.id}`,
        currency: 156,
        faults: {
          send: { ...(spec.lineFaults?.send ?? {}) },
          receive: { ...(spec.lineFaults?.receive ?? {}) },
          seed: o.seed,
        },
        log: (line) => {
          // Display lines are what a tester reads in the timeline; the link's chatter is not.
          if (line.startsWith('display: ') || line.startsWith('printed') || line.startsWith('beep')) o.log(line);
        },
      });
      const r = new SerialQaReader(spec.id, terminal, pair, o.log);
      terminal.on('connected', () => o.log('host connected (HELLO)'));
      terminal.on('disconnected', (why) => o.log(`line lost: ${why}`));
      terminal.start();
      return r;
    } catch (e) {
      await pair.close(); // not yet the stack's to close: nobody else would
      throw e;
    }
  }

  get cardIn(): string | undefined {
    return this.current?.card.name;
  }

  async insert(card: QaCard): Promise<void> {
    if (this.current) await this.remove();
    const wrapper = new FaultableCard(card.card, {
      onPull: () => {
        this.log(`card ${card.name} pulled mid-command`);
        this.current = undefined;
      },
      onStall: () => {
        this.log(`card ${card.name} hangs: the terminal answers nothing more until it is taken out`);
        this.beforeStall = { ...this.terminal.sendFaults.rates };
        setRates(this.terminal.sendFaults.rates, { drop: 1 });
      },
    });
    this.current = { card, wrapper };
    this.terminal.insert(wrapper);
    this.log(`card ${card.name} inserted`);
  }

  async remove(): Promise<void> {
    this.restoreAfterStall();
    const c = this.current;
    this.current = undefined;
    if (!c) return;
    this.terminal.remove();
    this.log(`card ${c.card.name} removed`);
  }

  pullDuring(command: string): void {
    this.needCard('pullDuring').pullDuring(command);
    this.log(`armed: pull the card during ${command}`);
  }

  stallDuring(command: string): void {
    this.needCard('stallDuring').stallDuring(command);
    this.log(`armed: the card hangs after ${command}`);
  }

  lineNoise(rates: { send?: LineFaultRatesSpec; receive?: LineFaultRatesSpec }): void {
    if (rates.send) setRates(this.beforeStall ?? this.terminal.sendFaults.rates, rates.send);
    if (rates.receive) setRates(this.terminal.receiveFaults.rates, rates.receive);
    this.log(
      `line noise: send ${JSON.stringify(rates.send ?? 'unchanged')}, receive ${JSON.stringify(rates.receive ?? 'unchanged')}`,
    );
  }

  queuePins(pins: string[]): void {
    this.terminal.pressPin(...pins);
  }

  /** Wait until the daemon has opened its end (HELLO answered). */
  async waitConnected(timeoutMs: number): Promise<boolean> {
    return (await until(() => (this.terminal.connected ? true : undefined), timeoutMs)) === true;
  }

  async close(): Promise<void> {
    await this.terminal.stop();
    await this.pair.close();
  }

  private restoreAfterStall(): void {
    if (!this.beforeStall) return;
    setRates(this.terminal.sendFaults.rates, this.beforeStall);
    this.beforeStall = undefined;
  }

  private needCard(step: string): FaultableCard {
    if (!this.current)
      throw qaError(QA_ERRORS.stepInvalid, `${step} on reader ${this.name}: no card in it`, 'insert a card first');
    return this.current.wrapper;
  }
}
