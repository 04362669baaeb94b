import type { CounterPort } from './port.js';

/** The whole picture of the counter: GET /api/v1/status and the first event of every SSE stream. */
export function statusBody(p: CounterPort) {
  const settings = p.counterSettings();
  const queue = p.queueSummary();
  return {
    terminalId: p.terminalId,
    merchantId: settings.merchantId,
    currency: settings.currency,
    settlement: p.settlementStatus(),
    unsettled: queue.unsettled,
    counts: queue.counts,
    limits: settings.limits,
    /** The page's language until the merchant picks one, and how long the display keeps a finished sale. */
    ui: settings.ui,
    /** Where a sale's PIN is typed on a reader without a pad: `customer-display` (the counter shows no PIN field) or `counter`. */
    pinEntry: settings.pinEntry,
    readers: p.readers(),
    activeSales: p.activeSales(),
    /** null when the clock is fit to date sales; else why not and what to do (sales are refused CLOCK_WRONG). */
    clock: p.clockProblem() ?? null,
    /** The receipt printer (state, paper, receipts not printed); null when the counter has none. */
    printer: p.printerStatus(),
  };
}

/**
 * What the customer display may know (scope `display`): the sale at the counter and the currency,
 * nothing of the queue, the readers or the merchant's figures.
 */
export function displayStatusBody(p: CounterPort) {
  const settings = p.counterSettings();
  // How long a finished sale stays on the display (docs/ui.md): nothing of the merchant's figures.
  return {
    currency: settings.currency,
    activeSales: p.activeSales(),
    ui: { displayClearS: settings.ui.displayClearS },
  };
}
