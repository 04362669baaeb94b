import { CardStatusError, type CardClient, type CardInfo } from '../../protocol/commands/index.js';
import type { HostStore } from '../store/host-store.js';
import type { TopupRow } from '../store/topups.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

/** What happened to one stored token at this session. */
export interface PendingOutcome {
  topupId: string;
  outcome: 'loaded' | 'already-applied' | 'failed' | 'kept';
  balance?: number;
}

/** The card's answer that the token was applied before (by this host or a LOAD whose answer was lost). */
export const ALREADY_APPLIED = {
  code: 'TOPUP_ALREADY_APPLIED',
  text: "the card's load counter shows this top-up was applied (its LOAD answer had been lost)",
} as const;

const after = (i: CardInfo) => ({ balance: i.balance, offlineCount: i.offlineCount, offlineAmount: i.offlineAmount });

/**
 * LOAD one stored token on the card in the session, and record what the card says. Safe to repeat:
 * a token is for exactly one load (loadSeq = the card's loadCounter + 1), so a card whose load counter
 * has reached the token's loadSeq has applied it (TOKEN_REPLAYED from the card means the same), and
 * a LOAD whose answer was lost is found applied next time, never applied twice.
 * Throws what the reader throws (card pulled): the row then stays `token_stored` for the next session.
 */
export async function applyStoredToken(
  client: CardClient,
  store: HostStore,
  row: TopupRow,
  log?: Log,
): Promise<PendingOutcome> {
  const { topupId } = row;
  if (!row.token || !row.authority) return { topupId, outcome: 'kept' };
  const before = await client.getInfo();
  if (before.loadCounter >= row.loadSeq) {
    store.topups.markLoaded(topupId, after(before), ALREADY_APPLIED);
    log?.info({ topupId, loadSeq: row.loadSeq }, 'top-up found applied on the card');
    return { topupId, outcome: 'already-applied', balance: before.balance };
  }
  if (before.loadCounter + 1 !== row.loadSeq) {
    store.topups.markFailed(
      topupId,
      'TOPUP_OUT_OF_SEQUENCE',
      `the token is for load ${row.loadSeq}, the card is at load ${before.loadCounter}`,
    );
    return { topupId, outcome: 'failed' };
  }
  try {
    await client.load({ token: row.token, authority: row.authority });
  } catch (e) {
    if (!(e instanceof CardStatusError)) throw e;
    const now = await client.getInfo();
    if (e.code === 'CARD_TOKEN_REPLAYED' && now.loadCounter >= row.loadSeq) {
      store.topups.markLoaded(topupId, after(now), ALREADY_APPLIED);
      return { topupId, outcome: 'already-applied', balance: now.balance };
    }
    // The card will never take this token (expired, balance limit, revoked authority …): nothing was applied.
    store.topups.markFailed(topupId, e.code, e.message);
    log?.warn({ topupId, code: e.code }, 'the card refused a stored top-up token');
    return { topupId, outcome: 'failed' };
  }
  const info = await client.getInfo();
  store.topups.markLoaded(topupId, after(info));
  log?.info({ topupId, loadSeq: row.loadSeq, balance: info.balance }, 'top-up loaded');
  return { topupId, outcome: 'loaded', balance: info.balance };
}

/**
 * The card-session hook (host/sale/card-opening.ts): every stored token of this card not yet known
 * applied is LOADed now, oldest first. Needs no bank. A failure is logged and never stops the session
 * (a sale goes on; the token is tried again at the next one). The session's `info` is refreshed after a
 * load, so what follows (a sale's limit checks) sees the card's new balance and offline totals.
 */
export async function applyPendingTopups(
  session: { cardId: string; client: CardClient; info?: CardInfo },
  store: HostStore,
  log?: Log,
): Promise<PendingOutcome[]> {
  const out: PendingOutcome[] = [];
  for (const row of store.topups.unfinished(session.cardId)) {
    if (row.state !== 'token_stored') continue;
    try {
      out.push(await applyStoredToken(session.client, store, row, log));
    } catch (e) {
      log?.warn(
        { topupId: row.topupId, err: e instanceof Error ? e.message : String(e) },
        'stored top-up not applied yet',
      );
      out.push({ topupId: row.topupId, outcome: 'kept' });
      break;
    }
  }
  // The session goes on (a sale may follow): its view of the card is the card's after the load, not before.
  if (session.info && out.some((o) => o.outcome === 'loaded' || o.outcome === 'already-applied')) {
    try {
      Object.assign(session.info, await session.client.getInfo());
    } catch {
      // the card left: the session's next command fails as it would have
    }
  }
  return out;
}
