import type { QaCard, QaReader, QaStack } from '../qa-types.js';
import { daemonBack, errorCode, FINAL_STATES, read, readCard, sleep, type Sale } from './soak-api.js';

/** One sale the soak keys: its amount, the PINs typed at its prompts in order, and whether the card is pulled during SIGN_TXN. */
export interface SalePlan {
  amount: number;
  pins: string[];
  pull: boolean;
}

/** What became of one sale, with the card's counter around it (the card says whether it paid). */
export interface SaleRun {
  reader: string;
  card: string;
  plan: SalePlan;
  saleId: string | undefined;
  /** The sale's final state; `refused` when POST /api/v1/sales refused it, `lost` when no sale could be found. */
  state: string;
  code: string | undefined;
  /** The sale's error message, for a finding. */
  message: string | undefined;
  notices: string[];
  /** POST to done, by the daemon's own createdAt/updatedAt (ms). */
  latencyMs: number | undefined;
  counterBefore: number;
  counterAfter: number;
  /** The card was put back (after a pull) or the sale's card read again to let journal recovery finish it. */
  reinserted: boolean;
  recovered: boolean;
}

/** A sale of the soak never waits longer than this for its end (the daemon's own limits are minutes). */
const SALE_DEADLINE_MS = 90_000;
/** Waiting for a card that is in the reader this long: take it out and put it back. */
const NUDGE_AFTER_MS = 6_000;
const POLL_MS = 100;
/** After the cancel, how long the soak still follows a sale that will not end (it then counts as stuck). */
const GIVE_UP_AFTER_CANCEL_MS = 30_000;

/**
 * Run one sale on `reader` through the API as a counter does: start it bound to the reader, follow it,
 * type its PINs (on the terminal's pad when the reader has one, else through the API), put the card
 * back when it was pulled, and when the sale ends without a receipt although the card's counter moved,
 * read the card again so journal recovery turns it `done` (docs/host-api.md §3, §3.1).
 */
export async function runSale(stack: QaStack, reader: QaReader, card: QaCard, plan: SalePlan): Promise<SaleRun> {
  const run: SaleRun = {
    reader: reader.name,
    card: card.name,
    plan,
    saleId: undefined,
    state: 'lost',
    code: undefined,
    message: undefined,
    notices: [],
    latencyMs: undefined,
    counterBefore: card.state().counter,
    counterAfter: 0,
    reinserted: false,
    recovered: false,
  };
  if (plan.pull) await reader.pullDuring('SIGN_TXN');
  const startedAt = Date.now();
  let sale = await startSale(stack, reader, plan.amount, startedAt, run);
  if (sale) sale = await follow(stack, reader, card, plan, sale, run);
  if (sale && sale.state !== 'done' && card.state().counter !== run.counterBefore) {
    // The card signed, the sale has no receipt: its next session finds the record (§3.1).
    await putBack(reader, card, run);
    await readCard(stack, reader);
    run.recovered = true;
    sale = (await read<Sale>(stack, 'GET', `/api/v1/sales/${sale.saleId}`).catch(() => undefined))?.body ?? sale;
  }
  if (sale) {
    run.state = sale.state;
    run.code = sale.error?.code;
    run.message = sale.error?.message;
    if (sale.state === 'done') run.latencyMs = sale.updatedAt - sale.createdAt;
  }
  run.counterAfter = card.state().counter;
  return run;
}

async function startSale(
  stack: QaStack,
  reader: QaReader,
  amount: number,
  startedAt: number,
  run: SaleRun,
): Promise<Sale | undefined> {
  try {
    const res = await stack.daemon.api<Sale>('POST', '/api/v1/sales', { amount, reader: reader.daemonName });
    if (res.status === 201) return res.body;
    run.state = 'refused';
    run.code = errorCode(res.body) ?? `HTTP_${res.status}`;
    return undefined;
  } catch {
    // The daemon went down under the request: whether it made the sale is found in its list once it is back.
    run.code = 'DAEMON_DOWN';
    if (!(await daemonBack(stack))) return undefined;
    const list = await read<{ recent: Sale[] }>(stack, 'GET', '/api/v1/sales').catch(() => undefined);
    return list?.body.recent.find(
      (s) => s.reader === reader.daemonName && s.amount === amount && s.createdAt >= startedAt - 1000,
    );
  }
}

async function putBack(reader: QaReader, card: QaCard, run: SaleRun): Promise<void> {
  if (reader.cardIn !== undefined) return;
  await reader.insert(card);
  run.reinserted = true;
}

async function follow(
  stack: QaStack,
  reader: QaReader,
  card: QaCard,
  plan: SalePlan,
  first: Sale,
  run: SaleRun,
): Promise<Sale> {
  run.saleId = first.saleId;
  let sale = first;
  const typedFor = new Set<string>();
  let pinIndex = 0;
  let waitingSince: number | undefined;
  const end = Date.now() + SALE_DEADLINE_MS;
  while (!FINAL_STATES.has(sale.state)) {
    if (Date.now() > end) {
      // Past the soak's patience: cancel it (a sale at the card's signature refuses, and runs to its end).
      if (Date.now() > end + GIVE_UP_AFTER_CANCEL_MS) return sale;
      const c = await read<Sale>(stack, 'POST', `/api/v1/sales/${sale.saleId}/cancel`).catch(() => undefined);
      if (c && FINAL_STATES.has(c.body.state)) return c.body;
      await sleep(1000);
    }
    if (sale.notice && run.notices.at(-1) !== sale.notice.code) run.notices.push(sale.notice.code);
    if (sale.state === 'pin') {
      // One PIN per prompt: a prompt is known by the tries left it shows (a wrong PIN lowers them).
      const prompt = `${sale.pinTriesLeft}`;
      if (!typedFor.has(prompt)) {
        typedFor.add(prompt);
        const pin = plan.pins[Math.min(pinIndex++, plan.pins.length - 1)] ?? '0000';
        if (sale.pinOnDevice) reader.queuePins?.([pin]);
        else await read(stack, 'POST', `/api/v1/sales/${sale.saleId}/pin`, { pin }).catch(() => undefined);
      }
    }
    if (sale.state === 'waiting_card') {
      waitingSince ??= Date.now();
      if (reader.cardIn === undefined) await putBack(reader, card, run);
      else if (Date.now() - waitingSince > NUDGE_AFTER_MS && sale.notice) {
        // Back to waiting with the card still in: take it out and put it back, as a customer would.
        await reader.remove();
        await putBack(reader, card, run);
        waitingSince = Date.now();
      }
    } else waitingSince = undefined;
    await sleep(POLL_MS);
    const next = await read<Sale>(stack, 'GET', `/api/v1/sales/${sale.saleId}`).catch(() => undefined);
    if (next?.status === 200) sale = next.body;
  }
  if (sale.notice && run.notices.at(-1) !== sale.notice.code) run.notices.push(sale.notice.code);
  return sale;
}
