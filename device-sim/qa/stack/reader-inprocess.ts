import type { QaCard, QaReader } from '../qa-types.js';
import type { LineFaultRatesSpec, ReaderSpec } from '../scenario-schema.js';
import { QA_ERRORS, qaError } from './stack-errors.js';

/** What the reader needs of the daemon process that hosts it (DaemonProcess, started as `qa daemon`). */
export interface InProcessHost {
  readonly running: boolean;
  /** Write one control line to the daemon's stdin; resolves with its answer, throws on "qa-reader: error". */
  send(line: string): Promise<void>;
}

/**
 * An in-process reader of the scenario: an InProcessReader inside the daemon's own process (`cardpost qa
 * daemon`, host/cli/qa-daemon-command.ts), no pcscd. Its card lives there too, opened from its state file
 * at each daemon start; the runner only asks for insert/remove/faults over the daemon's stdin. The card is
 * the reader's for the whole scenario (the loader refuses moving it: device-sim/qa/load-checks.ts).
 */
export class InProcessQaReader implements QaReader {
  readonly medium = 'in-process' as const;
  daemonName: string;
  private inserted: boolean;

  constructor(
    readonly name: string,
    readonly card: QaCard,
    private readonly host: InProcessHost,
    private readonly log: (text: string) => void,
  ) {
    this.daemonName = `in-process ${name}`;
    this.inserted = true; // a spec's card starts in its reader
  }

  static forSpec(
    spec: ReaderSpec,
    cards: ReadonlyMap<string, QaCard>,
    host: InProcessHost,
    log: (text: string) => void,
  ): InProcessQaReader {
    const card = spec.card ? cards.get(spec.card) : undefined;
    if (!card)
      throw qaError(
        QA_ERRORS.devicesInvalid,
        `in-process reader ${spec.id} has no card: its card lives in the daemon with it`,
        'give the reader a card: {id, medium: in-process, card: <a card of the scenario>}',
      );
    return new InProcessQaReader(spec.id, card, host, log);
  }

  /** The `--reader` argument of `qa daemon`. */
  daemonArg(stateFile: string): string {
    return `${this.name}=${stateFile}${this.card.spec.t0 ? ',t0' : ''}`;
  }

  get cardIn(): string | undefined {
    return this.inserted ? this.card.name : undefined;
  }

  /** After a daemon start: the card goes back in if it was in (a killed daemon was a power cut, nothing more). */
  async afterDaemonStart(): Promise<void> {
    if (!this.inserted) return;
    await this.host.send(`insert ${this.name}`);
    this.log(`card ${this.card.name} in (the daemon opened it from its state file)`);
  }

  /** The daemon said a pull fault took the card out. */
  pulled(): void {
    if (!this.inserted) return;
    this.inserted = false;
    this.log(`card ${this.card.name} pulled mid-command`);
  }

  async insert(card: QaCard): Promise<void> {
    if (card !== this.card)
      throw qaError(
        QA_ERRORS.stepInvalid,
        `insert ${card.name} into in-process reader ${this.name}: this reader carries card ${this.card.name} only`,
        'an in-process card lives in the daemon with its reader: use a pcsc or serial reader to move cards',
      );
    if (this.host.running) await this.host.send(`insert ${this.name}`);
    this.inserted = true;
    this.log(`card ${card.name} inserted`);
  }

  async remove(): Promise<void> {
    if (this.host.running) await this.host.send(`remove ${this.name}`);
    if (this.inserted) this.log(`card ${this.card.name} removed`);
    this.inserted = false;
  }

  /** A pull takes the card out: the daemon reports it removed, and so does cardIn (it is not put back). */
  async pullDuring(command: string): Promise<void> {
    await this.needDaemon('pullDuring').send(`pull-during ${this.name} ${command}`);
    this.log(`armed: pull the card during ${command}`);
  }

  async stallDuring(command: string): Promise<void> {
    await this.needDaemon('stallDuring').send(`stall-during ${this.name} ${command}`);
    this.log(`armed: the card hangs after ${command}`);
  }

  lineNoise(_rates: { send?: LineFaultRatesSpec; receive?: LineFaultRatesSpec }): void {
    throw qaError(
      QA_ERRORS.stepInvalid,
      `lineNoise on reader ${this.name}: an in-process reader has no serial line`,
      'use lineNoise on a serial reader',
    );
  }

  private needDaemon(step: string): InProcessHost {
    if (!this.host.running)
      throw qaError(
        QA_ERRORS.stepInvalid,
        `${step} on reader ${this.name}: the daemon it lives in is not running`,
        'start the daemon first (daemon: start)',
      );
    return this.host;
  }
}
