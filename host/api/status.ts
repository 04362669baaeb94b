import type { Daemon } from '../daemon/daemon.js';

/** The whole picture of the counter: GET /api/v1/status and the first event of every SSE stream. */
export function statusBody(d: Daemon) {
  return {
    terminalId: d.terminalId,
    merchantId: d.config.merchantId,
    currency: d.config.currency,
    settlement: d.worker.status(),
    unsettled: d.store.unsettled(),
    counts: d.store.statusCounts(),
    limits: d.config.limits,
    readers: d.hub.list(),
    activeSales: d.engine.active(),
    /** null when the clock is fit to date sales; else why not and what to do (sales are refused CLOCK_WRONG). */
    clock: d.clockProblem() ?? null,
  };
}

/**
 * What the customer display may know (scope `display`): the sale at the counter and the currency,
 * nothing of the queue, the readers or the merchant's figures.
 */
export function displayStatusBody(d: Daemon) {
  return { currency: d.config.currency, activeSales: d.engine.active() };
}
