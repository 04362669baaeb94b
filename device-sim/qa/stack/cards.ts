import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { toHex } from '../../../protocol/bytes.js';
import { LIFECYCLE } from '../../../protocol/commands/index.js';
import type { CardApplet } from '../../card/applet.js';
import { effectiveLifecycle, readIdentity, readPinRetries, readPurse } from '../../card/card-state.js';
import { FileBacking, Nvm, type NvmBacking } from '../../card/nvm.js';
import { openSimCard } from '../../card/sim-card.js';
import type { QaCard, QaCardState, QaHost } from '../qa-types.js';
import type { CardSpec } from '../scenario-schema.js';
import { minorUnits } from './stack-errors.js';

/** Limits of a card whose spec names none: those of `cardpost sim card` (host/cli/sim-card-setup.ts). */
export const DEFAULT_CARD_LIMITS = {
  noPin: 10_000,
  perTransaction: 200_000,
  offlineAmount: 1_000_000,
  offlineCount: 500,
} as const;

const CNY = 156;

const LIFECYCLE_NAMES: Record<number, string> = {
  [LIFECYCLE.BLANK]: 'blank',
  [LIFECYCLE.PERSONALISED]: 'personalised',
  [LIFECYCLE.ACTIVE]: 'active',
  [LIFECYCLE.PIN_BLOCKED]: 'pin-blocked',
  [LIFECYCLE.TERMINATED]: 'terminated',
  [LIFECYCLE.BLOCKED]: 'blocked',
};

/** The card id a scenario's card gets: from the seed and its name, so a replay names the same cards. */
export function seededCardId(seed: number, name: string): Uint8Array {
  return Uint8Array.from(createHash('sha256').update(`cardpost-qa card ${seed} ${name}`).digest().subarray(0, 8));
}

export class StackCard implements QaCard {
  constructor(
    readonly name: string,
    readonly spec: CardSpec,
    readonly cardId: string,
    readonly puk: string,
    readonly card: CardApplet,
    /** Set for a card that lives in the daemon's process (an in-process reader's): its NVM file, read afresh. */
    readonly stateFile?: string,
  ) {}

  /** Read from the applet's own NVM, never through APDUs (a card in a hung reader can still be checked). */
  state(): QaCardState {
    const nvm = this.stateFile ? readOnlyNvm(this.stateFile) : this.card.nvm;
    const identity = readIdentity(nvm);
    const purse = readPurse(nvm);
    const lifecycle = effectiveLifecycle(nvm);
    return {
      cardId: identity ? toHex(identity.cardId) : this.cardId,
      balance: purse.balance,
      counter: purse.counter,
      pinTriesLeft: readPinRetries(nvm),
      lifecycle: LIFECYCLE_NAMES[lifecycle] ?? `lifecycle ${lifecycle}`,
    };
  }
}

/**
 * The card's NVM as its file holds it now, without writing: power-on recovery of a half-done transaction
 * (the daemon killed mid-write) runs in memory only, as the card will do it when it is next powered.
 */
function readOnlyNvm(file: string): Nvm {
  const onDisk = new FileBacking(file);
  const backing: NvmBacking = { load: () => onDisk.load(), store: () => undefined };
  return new Nvm(backing);
}

/** The scenario's cards: simulated applets with their state in `dir`, personalised by this issuer. */
export async function makeCards(
  specs: readonly CardSpec[],
  o: {
    dir: string;
    seed: number;
    host: QaHost;
    issuerDir: string;
    log: (source: string, text: string) => void;
    /** Cards of in-process readers: personalised here, then handed over to the daemon's process. */
    inProcess?: ReadonlySet<string>;
  },
): Promise<Map<string, StackCard>> {
  const cards = new Map<string, StackCard>();
  for (const spec of specs) {
    const stateFile = join(o.dir, `card-${spec.id}.nvm`);
    const applet = openSimCard(
      stateFile,
      spec.t0 ? { atrProtocols: 'T0', extendedLength: false } : { extendedLength: true },
    );
    const limits = {
      noPin: spec.limits?.noPin !== undefined ? minorUnits(spec.limits.noPin) : DEFAULT_CARD_LIMITS.noPin,
      perTransaction:
        spec.limits?.perTransaction !== undefined
          ? minorUnits(spec.limits.perTransaction)
          : DEFAULT_CARD_LIMITS.perTransaction,
      offlineAmount:
        spec.limits?.offlineAmount !== undefined
          ? minorUnits(spec.limits.offlineAmount)
          : DEFAULT_CARD_LIMITS.offlineAmount,
      offlineCount: spec.limits?.offlineCount ?? DEFAULT_CARD_LIMITS.offlineCount,
    };
    const made = await o.host.personalize(applet, {
      issuerDir: o.issuerDir,
      cardId: seededCardId(o.seed, spec.id),
      pin: spec.pin,
      balance: minorUnits(spec.balance),
      currency: CNY,
      limits,
    });
    const handedOver = o.inProcess?.has(spec.id) === true;
    // From now on the daemon's process opens the file: this applet must not write to it again.
    if (handedOver) applet.powerOff();
    cards.set(spec.id, new StackCard(spec.id, spec, made.cardId, made.puk, applet, handedOver ? stateFile : undefined));
    o.log(
      `card:${spec.id}`,
      `personalised ${made.cardId}, balance ${spec.balance}${spec.t0 ? ', T=0 only, short APDUs' : ''}`,
    );
  }
  return cards;
}
