import type { SaleTimers, TimerHandle } from './sale-timers.js';

/** How often followed sales are checked for a client that went away. */
const FOLLOW_CHECK_MS = 500;
const DEFAULT_FOLLOW_MS = 5000;

/**
 * A sale started by an API client belongs to that client: it lives only while the client (or an open
 * counter page) keeps showing it follows the sale. A killed `cardpost sale` or a closed page must not leave
 * a sale that charges the next card tapped for another purpose. Sales that need no follower (a terminal's
 * own) are never leased. Whether an expired sale may still be cancelled is the state machine's call.
 */
export class FollowLeases {
  /** Sale id → when a client last showed it follows the sale. */
  private readonly lastSeen = new Map<string, number>();
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly o: { timers: SaleTimers; followMs?: number; expired: (saleId: string) => void }) {}

  add(saleId: string): void {
    this.lastSeen.set(saleId, this.o.timers.now());
    this.watch();
  }

  renew(saleId: string): void {
    if (this.lastSeen.has(saleId)) this.lastSeen.set(saleId, this.o.timers.now());
  }

  renewAll(): void {
    const now = this.o.timers.now();
    for (const saleId of this.lastSeen.keys()) this.lastSeen.set(saleId, now);
  }

  /** The sale is over. */
  drop(saleId: string): void {
    this.lastSeen.delete(saleId);
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.o.timers.clearTimer(this.timer);
    this.timer = undefined;
  }

  private watch(): void {
    if (this.timer || this.closed) return;
    this.timer = this.o.timers.setTimer(() => {
      this.timer = undefined;
      const limit = this.o.followMs ?? DEFAULT_FOLLOW_MS;
      for (const [saleId, seen] of [...this.lastSeen]) {
        if (this.o.timers.now() - seen > limit) this.o.expired(saleId);
      }
      if (this.lastSeen.size > 0) this.watch();
    }, FOLLOW_CHECK_MS);
  }
}
