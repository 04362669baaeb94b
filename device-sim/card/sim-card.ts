import { CardApplet, type AppletOptions } from './applet.js';
import { K, readLifecycle } from './card-state.js';
import { FileBacking, MemoryBacking, Nvm } from './nvm.js';
import { LIFECYCLE } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';

/** A simulated card whose NVM lives in `stateFile` (created blank if missing), or in memory. */
export function openSimCard(stateFile: string | undefined, opts: AppletOptions = {}): CardApplet {
  const nvm = new Nvm(stateFile ? new FileBacking(stateFile) : new MemoryBacking());
  return new CardApplet(nvm, opts);
}

/**
 * The factory step before personalisation: bind a blank card to one issuer by writing that
 * issuer's CA certificate into NVM. PERSONALIZE_BEGIN then accepts only that CA (docs/protocol.md §4.6).
 */
export function manufactureFor(applet: CardApplet, issuerCaEnvelope: Uint8Array): void {
  if (readLifecycle(applet.nvm) !== LIFECYCLE.BLANK) {
    throw new CardpostError(
      'CARD_NOT_BLANK',
      'only a blank card can be bound to an issuer',
      'use a new card state file',
    );
  }
  const existing = applet.nvm.get(K.anchor);
  if (existing && Buffer.compare(Buffer.from(existing), Buffer.from(issuerCaEnvelope)) !== 0) {
    throw new CardpostError(
      'CARD_BOUND',
      'this blank card is already bound to another issuer',
      'use a new card state file',
    );
  }
  applet.nvm.transaction((tx) => tx.set(K.anchor, issuerCaEnvelope));
}
