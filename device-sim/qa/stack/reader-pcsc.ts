import { VpcdLink } from '../../reader/vpcd-link.js';
import type { QaCard, QaReader } from '../qa-types.js';
import type { LineFaultRatesSpec } from '../scenario-schema.js';
import { commandMatcher } from './card-faults.js';
import { QA_ERRORS, qaError, until } from './stack-errors.js';

/** How long a vpcd slot needs between one card leaving and the next arriving. */
export const VPCD_SETTLE_MS = 1500;

/**
 * A PC/SC reader of the scenario: one vpcd slot of real pcscd. The daemon sees it through libpcsclite
 * as any reader; inserting a card connects the simulated card to the slot (VpcdLink).
 */
export class PcscQaReader implements QaReader {
  /** When the last card left the slot (ms since epoch), for the slot to settle. */
  private removedAt = 0;
  readonly medium = 'pcsc' as const;
  daemonName = '';
  private link: VpcdLink | undefined;
  private current: QaCard | undefined;
  private armed: string | undefined;

  constructor(
    readonly name: string,
    /** vpcd slot (0 or 1): pcscd names it "… 00 0<slot>". */
    readonly slot: number,
    private readonly port: number,
    private readonly log: (text: string) => void,
  ) {}

  /** How the daemon's reader name ends for this slot. */
  get daemonNameSuffix(): string {
    return ` 00 0${this.slot}`;
  }

  get cardIn(): string | undefined {
    return this.current?.name;
  }

  async insert(card: QaCard): Promise<void> {
    if (this.current) await this.remove();
    // pcscd 1.9.9 + vpcd: a slot whose card just left needs a moment before the next one, or the new
    // card's first command fails NOT_TRANSACTED (architecture.md §7).
    const settle = this.removedAt + VPCD_SETTLE_MS - Date.now();
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));
    const link = new VpcdLink(card.card, { host: '127.0.0.1', port: this.port, reconnectMs: 300 });
    this.link = link;
    this.current = card;
    link.on('disconnected', (why) => {
      // vpcd-link removes the card itself when a pull fault fires: the runner did not ask for it.
      if (why === 'removed' && this.link === link && this.current === card) {
        this.log(`card ${card.name} pulled during ${this.armed ?? 'a command'}`);
        this.armed = undefined;
        this.current = undefined;
        this.link = undefined;
        this.removedAt = Date.now();
      }
    });
    link.on('error', (e) => this.log(`vpcd link: ${e.message}`));
    link.insert();
    const ok = await until(() => (link.connected ? true : undefined), 5000, 20);
    if (!ok) {
      await link.remove();
      this.link = undefined;
      this.current = undefined;
      throw qaError(
        QA_ERRORS.stackFailed,
        `card ${card.name} could not be put in reader ${this.name}: vpcd on 127.0.0.1:${this.port} did not accept it`,
        'is pcscd running with vsmartcard-vpcd, and is no other simulated card using this slot?',
      );
    }
    this.log(`card ${card.name} inserted`);
  }

  async remove(): Promise<void> {
    const link = this.link;
    const card = this.current;
    this.link = undefined;
    this.current = undefined;
    this.armed = undefined;
    if (!link) return;
    await link.remove();
    this.removedAt = Date.now();
    if (card) this.log(`card ${card.name} removed`);
  }

  pullDuring(command: string): void {
    this.needCard('pullDuring').pullDuring(commandMatcher(command));
    this.armed = command;
    this.log(`armed: pull the card during ${command}`);
  }

  stallDuring(command: string): void {
    this.needCard('stallDuring').stallDuring(commandMatcher(command));
    this.log(`armed: the card hangs after ${command}`);
  }

  lineNoise(_rates: { send?: LineFaultRatesSpec; receive?: LineFaultRatesSpec }): void {
    throw qaError(
      QA_ERRORS.stepInvalid,
      `lineNoise on reader ${this.name}: a PC/SC reader has no serial line`,
      'use lineNoise on a serial reader',
    );
  }

  private needCard(step: string): VpcdLink {
    if (!this.link)
      throw qaError(QA_ERRORS.stepInvalid, `${step} on reader ${this.name}: no card in it`, 'insert a card first');
    return this.link;
  }
}
