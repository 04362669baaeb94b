import { SimHidKey } from '../../hid/sim-hid-key.js';
import { SimHidEndpoint } from '../../hid/hid-endpoint.js';
import type { QaCard, QaReader } from '../qa-types.js';
import type { LineFaultRatesSpec, ReaderSpec } from '../scenario-schema.js';
import { FaultableCard } from './card-faults.js';
import { QA_ERRORS, qaError } from './stack-errors.js';

/** The product name the simulated key reports (the daemon names the reader "<product> <serial>"). */
const PRODUCT = 'cardpost QA card key';

/**
 * A HID card key of the scenario: the key is its card (SimHidKey carrying the simulated applet), served
 * to the daemon by the stack's SimHidEndpoint (`readers.hidEndpoint`). remove() unplugs it, insert() plugs
 * it in again; a pulled card unplugs the key, as a key yanked out mid-command.
 */
export class HidQaReader implements QaReader {
  readonly medium = 'hid' as const;
  daemonName = '';
  readonly key: SimHidKey;
  private readonly wrapper: FaultableCard;

  constructor(
    readonly name: string,
    private readonly card: QaCard,
    private readonly log: (text: string) => void,
  ) {
    this.wrapper = new FaultableCard(card.card, {
      onPull: () => this.log(`card ${card.name} pulled mid-command: the key is unplugged`),
      onStall: () => {
        this.log(`card ${card.name} hangs: the key answers nothing more until it is unplugged`);
        this.key.faults.toHost = () => false;
      },
    });
    this.key = new SimHidKey(this.wrapper, { serialNumber: `QA-${name}`, product: PRODUCT, plugged: true });
    this.log(`key plugged in (card ${card.name})`);
  }

  static forSpec(spec: ReaderSpec, cards: ReadonlyMap<string, QaCard>, log: (text: string) => void): HidQaReader {
    const card = spec.card ? cards.get(spec.card) : undefined;
    if (!card)
      throw qaError(
        QA_ERRORS.stepInvalid,
        `HID reader ${spec.id} has no card: a HID key is its card`,
        'give the reader a card: {id, medium: hid, card: <a card of the scenario>}',
      );
    return new HidQaReader(spec.id, card, log);
  }

  /** How the daemon's reader name ends for this key. */
  get daemonNameSuffix(): string {
    return ` ${this.key.serialNumber}`;
  }

  get cardIn(): string | undefined {
    return this.key.plugged ? this.card.name : undefined;
  }

  async insert(card: QaCard): Promise<void> {
    if (card !== this.card)
      throw qaError(
        QA_ERRORS.stepInvalid,
        `insert ${card.name} into HID reader ${this.name}: this key carries card ${this.card.name} only`,
        'a HID key is its card: insert it (plug it in again) or use another reader',
      );
    if (this.key.plugged) return;
    delete this.key.faults.toHost;
    this.key.plug();
    this.log(`key plugged in (card ${card.name})`);
  }

  async remove(): Promise<void> {
    if (!this.key.plugged) return;
    this.key.unplug();
    delete this.key.faults.toHost;
    this.log(`key unplugged (card ${this.card.name})`);
  }

  pullDuring(command: string): void {
    this.wrapper.pullDuring(command);
    this.log(`armed: pull the key during ${command}`);
  }

  stallDuring(command: string): void {
    this.wrapper.stallDuring(command);
    this.log(`armed: the key hangs after ${command}`);
  }

  lineNoise(_rates: { send?: LineFaultRatesSpec; receive?: LineFaultRatesSpec }): void {
    throw qaError(
      QA_ERRORS.stepInvalid,
      `lineNoise on reader ${this.name}: a HID key has no serial line`,
      'use lineNoise on a serial reader',
    );
  }
}

/** The stack's HID endpoint: every key of the scenario on one loopback port. */
export async function serveHidKeys(
  readers: HidQaReader[],
  log: (text: string) => void,
): Promise<{ endpoint: SimHidEndpoint; address: string }> {
  const endpoint = new SimHidEndpoint(
    readers.map((r) => r.key),
    { log },
  );
  const { host, port } = await endpoint.listen({ host: '127.0.0.1', port: 0 });
  return { endpoint, address: `${host}:${port}` };
}
