import type { QaStack } from '../qa-types.js';
import { daemonAnswer } from '../qa-errors.js';
import { pause } from './pause.js';

/** The fields of a Sale (docs/host-api.md §3.2) the runner reads. */
export interface SaleView {
  saleId: string;
  state: string;
  pinTriesLeft: number | null;
  pinOnDevice: boolean;
  notice: { code: string } | null;
  error: { code: string } | null;
  receipt: { balanceAfter: number; online: boolean; counter: number } | null;
}

export const FINAL_SALE_STATES: ReadonlySet<string> = new Set([
  'done',
  'cancelled',
  'timed_out',
  'failed',
  'unconfirmed',
]);

/** Often enough that a followed sale is never abandoned (the daemon's follow time-out is 5 s). */
const POLL_MS = 200;
/** A sale the runner has followed this long is given up (the daemon's own card and PIN waits are far shorter). */
const FOLLOW_LIMIT_MS = 10 * 60_000;
/** Failed polls in a row (daemon down and not coming back) before the follower gives up. */
const MAX_UNREACHABLE = 300;

/**
 * Follows one sale the way the counter page does: asks for it every 200 ms (which also keeps it from
 * being abandoned), and at each PIN prompt types the next of the scenario's PINs (POST …/pin), or
 * cancels when none is left. A terminal's own pad got its PINs before the sale (QaReader.queuePins).
 * Survives the daemon going away and coming back (kill9/restart steps while a sale is followed).
 */
export class SaleFollower {
  readonly done: Promise<SaleView>;
  private stopped = false;
  private pinsTyped = 0;
  /** pinTriesLeft when the last PIN went in: a lower count is the next prompt (PIN_WRONG). */
  private triesAtTyping: number | null | undefined;
  private cancelSent = false;
  /** When the prompt now waiting for a PIN was first seen (for pinDelayMs). */
  private promptSeenAt: number | undefined;

  constructor(
    private readonly stack: QaStack,
    readonly saleId: string,
    private readonly pins: readonly string[] | undefined,
    private readonly signal: AbortSignal,
    /** A slow hand: how long the customer takes at each PIN prompt before the PIN goes in. */
    private readonly pinDelayMs = 0,
  ) {
    this.done = this.follow();
    // A background sale's end is awaited by `finish`, or never: its failure must not go unhandled.
    this.done.catch(() => {});
  }

  /** Stop following (the scenario is over); the sale is cancelled first if it still runs. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.stack.daemon.api('POST', `/api/v1/sales/${this.saleId}/cancel`, {}, 6_000);
    } catch {
      /* the daemon is gone: nothing to cancel */
    }
  }

  async cancel(): Promise<number> {
    this.cancelSent = true;
    const r = await this.stack.daemon.api('POST', `/api/v1/sales/${this.saleId}/cancel`, {}, 10_000);
    return r.status;
  }

  private async follow(): Promise<SaleView> {
    const until = Date.now() + FOLLOW_LIMIT_MS;
    let unreachable = 0;
    while (!this.stopped && Date.now() < until) {
      let sale: SaleView | undefined;
      try {
        const r = await this.stack.daemon.api<SaleView>('GET', `/api/v1/sales/${this.saleId}`, undefined, 5_000);
        if (r.status !== 200) throw daemonAnswer(`GET /api/v1/sales/${this.saleId}`, r.status, undefined);
        sale = r.body;
        unreachable = 0;
      } catch (e) {
        if (++unreachable > MAX_UNREACHABLE) throw e;
      }
      if (sale) {
        if (FINAL_SALE_STATES.has(sale.state)) return sale;
        if (sale.state === 'pin') await this.atPinPrompt(sale);
      }
      await pause(POLL_MS, this.signal);
    }
    if (this.stopped) throw new Error('the scenario ended while the sale went on');
    throw new Error(`sale ${this.saleId} did not end within ${FOLLOW_LIMIT_MS / 60_000} minutes`);
  }

  private async atPinPrompt(sale: SaleView): Promise<void> {
    const before = this.triesAtTyping;
    const newPrompt =
      before === undefined || (sale.pinTriesLeft !== null && before !== null && sale.pinTriesLeft < before);
    if (!newPrompt || this.cancelSent) return;
    this.promptSeenAt ??= Date.now();
    if (Date.now() - this.promptSeenAt < this.pinDelayMs) return; // still reading the display, finding the keys
    this.promptSeenAt = undefined;
    if (sale.pinOnDevice) {
      // The pad has its queued PINs; with none, the sale is cancelled at the prompt as the scenario says.
      if (!this.pins?.length) await this.cancel();
      return;
    }
    const pin = this.pins?.[this.pinsTyped];
    if (pin === undefined) {
      await this.cancel();
      return;
    }
    this.triesAtTyping = sale.pinTriesLeft;
    this.pinsTyped++;
    const r = await this.stack.daemon.api('POST', `/api/v1/sales/${this.saleId}/pin`, { pin }, 10_000);
    // 409 SALE_NOT_ASKING_PIN: the prompt ended meanwhile (cancelled, pulled); the next poll says how.
    if (r.status !== 202 && r.status !== 409)
      throw daemonAnswer(`POST /api/v1/sales/${this.saleId}/pin`, r.status, codeOf(r.body));
  }
}

const codeOf = (body: unknown): string | undefined => (body as { error?: { code?: string } } | null)?.error?.code;
