import type { PinPad } from '../../protocol/transport.js';
import type { SaleTimers } from '../sale/sale-timers.js';
import { PinServiceError } from './pin-service-io.js';
import type { PinServiceEvent } from './pin-service-machine.js';
import type { PinJob } from './pin-service-view.js';

/**
 * The PIN service on a terminal's own pad (docs/protocol.md §13.4, PIN_ENTRY mode change/unblock):
 * the terminal asks for every entry and talks to the card itself; the host sees outcomes only.
 * A wrong PIN or PUK is asked again on the pad until the card blocks it.
 */
export async function onPad(
  pad: PinPad,
  job: PinJob,
  entryMs: number,
  apply: (e: PinServiceEvent) => void,
  timers: SaleTimers,
): Promise<void> {
  const mode = job.state.kind;
  for (;;) {
    const at = job.state.at;
    if (at.phase !== 'entry') return;
    const outcome = await pad.changePin!({ mode, triesLeft: at.triesLeft, timeoutMs: entryMs }, job.abort.signal);
    if (job.abort.signal.aborted) throw job.abort.signal.reason;
    switch (outcome.result) {
      case 'changed':
        apply({ type: 'CHANGED' });
        return;
      case 'wrong':
        apply({ type: 'SECRET_WRONG', triesLeft: outcome.triesLeft, now: timers.now() });
        continue;
      case 'blocked':
        throw mode === 'unblock'
          ? new PinServiceError(
              'CARD_PUK_BLOCKED',
              'the PUK is blocked: the card is now terminated',
              'the holder must ask the issuer for a new card',
            )
          : new PinServiceError(
              'CARD_PIN_BLOCKED',
              "the card's PIN is blocked",
              'unblock it with the PUK, then choose a new PIN',
            );
      case 'cancelled':
        apply({ type: 'CANCEL', by: 'customer' });
        return;
      case 'timeout':
        apply({ type: 'TIMEOUT' });
        return;
    }
  }
}
