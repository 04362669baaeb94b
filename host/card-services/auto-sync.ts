import type { CardInfo } from '../../protocol/commands/index.js';
import { TransportError } from '../../protocol/transport.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { withCard } from '../sale/card-opening.js';
import type { TopupService } from './topup.js';
import type { TopupSnapshot } from './topup-types.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

/** A card whose offline amount or count has reached `at` (0…1) of its card limits. */
export function nearOfflineLimits(
  info: Pick<CardInfo, 'limits' | 'offlineAmount' | 'offlineCount'>,
  at: number,
): boolean {
  const l = info.limits;
  if (!l) return false;
  return (
    (l.offlineAmount > 0 && info.offlineAmount >= at * l.offlineAmount) ||
    (l.offlineCount > 0 && info.offlineCount >= at * l.offlineCount)
  );
}

export interface AutoSyncOptions {
  topups: TopupService;
  hub: ReaderHub;
  /** cardServices.autoSyncAt (config.ts); null: off. */
  at: number | null;
  /** The bank answers now (the settlement worker's view). */
  online: () => boolean;
  /** A sale may use this reader: then nothing is done on it. */
  saleMayUse: (reader: string) => boolean;
  /** A card synced without getting below the threshold is not synced again for this long (ms). */
  quietMs?: number;
  now?: () => number;
  log?: Log;
  /** Each automatic sync's outcome (tests, the event stream). */
  synced?: (t: TopupSnapshot) => void;
}

/**
 * Automatic sync (issue 14): when a card near its offline limits is in a reader with no sale waiting
 * on it, and the bank answers, the counter syncs it, so a holder never meets the wall. Called on a
 * card insertion and after a sale has ended on a reader; never during a sale's card session (the
 * reader is checked free, and the card session is exclusive).
 */
export class AutoSync {
  private readonly quiet = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly o: AutoSyncOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Look at the card in `reader` and sync it if it is near its limits; never throws. */
  async check(reader: string): Promise<TopupSnapshot | undefined> {
    const { at } = this.o;
    if (at === null || !this.o.online() || this.o.saleMayUse(reader) || !this.o.hub.get(reader)?.cardPresent) return;
    try {
      return await withCard(this.o.hub, reader, async (r) => {
        if (this.o.saleMayUse(reader)) return undefined; // a sale came while we waited for the reader
        const session = await this.o.topups.open(r);
        const info = await session.client.getInfo();
        if (!nearOfflineLimits(info, at)) return undefined;
        if ((this.quiet.get(session.cardId) ?? 0) > this.now()) return undefined;
        const t = await this.o.topups.syncInSession(session, r.name);
        const after = await session.client.getInfo();
        if (nearOfflineLimits(after, at)) this.quiet.set(session.cardId, this.now() + (this.o.quietMs ?? 600_000));
        this.o.log?.info(
          { reader, topupId: t.topupId, offlineCount: after.offlineCount, offlineAmount: after.offlineAmount },
          'card near its offline limits synced automatically',
        );
        this.o.synced?.(t);
        return t;
      });
    } catch (e) {
      if (!(e instanceof TransportError))
        this.o.log?.warn({ reader, err: e instanceof Error ? e.message : String(e) }, 'automatic sync not done');
      return undefined;
    }
  }
}
