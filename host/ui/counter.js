// The merchant's counter page: amount entry from the keyboard alone, the live sale, the receipt,
// and the always-visible settlement picture (online/offline, what waits to settle, rejections).
import {
  FINAL_STATES,
  SaleTracker,
  api,
  connectEvents,
  errorOf,
  refusalText,
  money,
  pair,
  parseAmount,
  show,
  statusWhenPaired,
} from './common.js';
import { loadPinService, onPinService, pinReaders } from './counter-pin-service.js';

const $ = (id) => document.getElementById(id);

const state = {
  currency: 156,
  saleId: null, // the sale this page shows (started here, or seen live from elsewhere)
  settlement: null,
  unsettled: null,
  rejectedCount: -1,
  settleRun: null, // {from} while a "settle now" the merchant asked for is in progress
  connected: false,
  // Count the events that bring the queue and the settlement state, so an answer that left the daemon
  // before the latest event is not shown over it (the answer and the events travel on two connections).
  queueUpdates: 0,
  settlementUpdates: 0,
};
const tracker = new SaleTracker();

const SALE_TEXT = {
  idle: 'Ready for a sale',
  waiting_card: 'Waiting for the card',
  reading_card: 'Reading the card',
  pin: 'Waiting for the PIN',
  signing: 'The card is signing — do not remove it',
  stored: 'Stored safely',
  done: 'Paid',
  cancelled: 'Cancelled',
  timed_out: 'Timed out',
  failed: 'Failed',
  unconfirmed: 'NOT CONFIRMED — the card may have paid',
};
const STEP_OF = {
  waiting_card: 'waiting_card',
  reading_card: 'waiting_card',
  pin: 'pin',
  signing: 'signing',
  stored: 'stored',
  done: 'done',
};
const STEP_ORDER = ['waiting_card', 'pin', 'signing', 'stored', 'done'];

const SETTLE_TEXT = {
  offline: 'Bank offline: sales go on and are stored here; they settle when it is back.',
  idle: 'Bank online: up to date.',
  sending: 'Sending a batch to the bank…',
  backing_off: 'The last attempt failed; trying again shortly.',
  blocked: 'The bank refused our batches: settlement is blocked.',
  stopped: 'Settlement is stopped (the daemon is shutting down).',
};

// ---------------------------------------------------------------------------- top bar

function renderNet() {
  const net = $('net');
  const s = state.settlement;
  let cls = 'net-unknown';
  let text = 'Connecting…';
  let detail = '';
  if (!document.body.classList.contains('paired')) {
    text = 'Not paired';
    detail = 'pair this page first';
  } else if (!state.connected) {
    cls = 'net-down';
    text = 'Daemon not reachable';
    detail = 'reconnecting…';
  } else if (s && s.online) {
    cls = 'net-online';
    text = 'Online';
    detail = 'bank reachable';
  } else if (s) {
    cls = 'net-offline';
    text = 'OFFLINE';
    detail = 'sales are stored and settle later';
  }
  net.className = 'net ' + cls;
  net.dataset.online = s && s.online && state.connected ? 'true' : 'false';
  $('net-state').textContent = text;
  $('net-detail').textContent = detail;
  show($('offline-band'), !!s && !s.online && state.connected);
}

function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min';
  const h = Math.floor(m / 60);
  if (h < 48) return h + ' h ' + (m % 60) + ' min';
  return Math.floor(h / 24) + ' days';
}

function renderPending() {
  const u = state.unsettled;
  if (!u) return;
  const count = $('pending-count');
  count.textContent = u.count === 1 ? '1 record' : u.count + ' records';
  count.dataset.count = String(u.count);
  $('pending-amount').textContent = u.byCurrency.length
    ? u.byCurrency.map((c) => money(c.amount, c.currency)).join(' + ')
    : money(0, state.currency);
  $('pending-age').textContent = u.oldestStoredAt ? age(Date.now() - u.oldestStoredAt) : 'nothing waiting';
  $('settle').disabled = !state.connected;
}

// ---------------------------------------------------------------------------- settlement

function renderSettlement() {
  const s = state.settlement;
  if (!s) return;
  let text = SETTLE_TEXT[s.state] || s.state;
  if (s.state === 'backing_off' && s.nextAttemptAt)
    text += ' Next try at ' + new Date(s.nextAttemptAt).toLocaleTimeString() + '.';
  $('settle-state').textContent = text;
  $('settle-state').dataset.state = s.state;
  const err = $('settle-error');
  if (s.lastError && s.state !== 'idle') {
    err.textContent = s.lastError.message + ' — ' + s.lastError.hint;
    show(err, true);
  } else show(err, false);
  renderNet();
  renderSettleRun();
}

function renderSettleRun() {
  const run = state.settleRun;
  const bar = $('settle-progress');
  if (!run || !state.unsettled) {
    show(bar, false);
    show($('settle-progress-label'), false);
    return;
  }
  const left = state.unsettled.count;
  const done = Math.max(0, run.from - left);
  bar.max = Math.max(run.from, 1);
  bar.value = done;
  show(bar, true);
  show($('settle-progress-label'), true);
  const s = state.settlement;
  const verdicts = run.batches
    ? ': ' +
      run.accepted +
      ' accepted, ' +
      run.duplicate +
      ' already known, ' +
      run.rejected +
      ' rejected' +
      (run.rejected ? ' (see below)' : '')
    : '';
  let msg = 'Sent ' + done + ' of ' + run.from + verdicts + '.';
  if (left === 0) {
    msg = 'Settlement finished. ' + msg;
    state.settleRun = null;
  } else if (s && !s.online) msg += ' The bank is offline: the rest settles when it is back.';
  $('settle-msg').textContent = msg;
}

async function settleNow() {
  const seen = { queue: state.queueUpdates, settlement: state.settlementUpdates };
  const answer = await api('POST', '/api/v1/settlement');
  if (answer.status !== 202) {
    const e = errorOf(answer);
    $('settle-msg').textContent = 'Could not start: ' + e.message + ' — ' + e.hint;
    return;
  }
  if (state.settlementUpdates === seen.settlement) state.settlement = answer.body;
  if (state.queueUpdates === seen.queue) state.unsettled = answer.body.unsettled;
  if (state.unsettled.count === 0) {
    state.settleRun = null;
    $('settle-msg').textContent = 'Nothing waits to settle.';
  } else state.settleRun = { from: state.unsettled.count, batches: 0, accepted: 0, duplicate: 0, rejected: 0 };
  renderPending();
  renderSettlement();
}

function onBatch(b) {
  const run = state.settleRun;
  if (!run) return;
  run.batches++;
  run.accepted += b.accepted;
  run.duplicate += b.duplicate;
  run.rejected += b.rejected;
  renderSettleRun();
}

function onQueue(q) {
  state.queueUpdates++;
  state.unsettled = q.unsettled;
  renderPending();
  renderSettleRun();
  if (q.counts && q.counts.rejected.count !== state.rejectedCount) loadRejected(q.counts.rejected.count);
}

// ---------------------------------------------------------------------------- rejected records

async function loadRejected(total) {
  state.rejectedCount = total;
  $('rejected-count').textContent = total ? '(' + total + ')' : '';
  if (!total) {
    show($('rejected-wrap'), false);
    show($('rejected-empty'), true);
    return;
  }
  const answer = await api('GET', '/api/v1/queue?status=rejected&limit=100');
  if (answer.status !== 200) return;
  const body = $('rejected').tBodies[0];
  body.replaceChildren(
    ...answer.body.records.map((r) => {
      const tr = document.createElement('tr');
      const cells = [r.recordId, money(r.amount, r.currency), r.reason + (r.detail ? ': ' + r.detail : ''), r.advice];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        if (i === 0) {
          const c = document.createElement('code');
          c.textContent = text;
          td.append(c);
        } else td.textContent = text;
        tr.append(td);
      });
      return tr;
    }),
  );
  show($('rejected-wrap'), true);
  show($('rejected-empty'), false);
}

// ---------------------------------------------------------------------------- readers

function renderReaders(readers) {
  const list = $('readers');
  list.replaceChildren(
    ...readers.map((r) => {
      const li = document.createElement('li');
      li.className = 'reader';
      li.dataset.card = r.cardPresent ? 'present' : 'absent';
      const name = document.createElement('strong');
      name.textContent = r.name;
      const info = document.createElement('span');
      info.className = 'reader-info';
      const bits = [r.kind, r.cardPresent ? 'card in' : 'no card'];
      if (r.busy) bits.push('busy');
      if (r.pinPad) bits.push('PIN pad');
      info.textContent = bits.join(' · ');
      li.append(name, info);
      if (r.cardPresent) {
        // The holder's statement on the customer display (docs/ui.md): between sales only.
        const st = document.createElement('button');
        st.type = 'button';
        st.className = 'reader-statement';
        st.textContent = 'Show statement on display';
        st.setAttribute('aria-label', 'Show statement on display: the card in ' + r.name);
        st.disabled = r.busy;
        st.addEventListener('click', () => void showStatement(r.name));
        li.append(st);
      }
      return li;
    }),
  );
  show($('readers-empty'), readers.length === 0);
}

/** Read the card's statement and offer it to the customer display (GET …/statement?show=true). */
async function showStatement(readerName) {
  const msg = $('statement-msg');
  msg.classList.remove('error');
  msg.textContent = 'Reading the card in ' + readerName + '…';
  const answer = await api('GET', '/api/v1/readers/' + encodeURIComponent(readerName) + '/statement?show=true');
  if (answer.status !== 200) {
    const e = errorOf(answer);
    msg.classList.add('error');
    msg.textContent = 'Statement not shown: ' + e.message + ' (' + e.code + '). ' + e.hint;
    return;
  }
  const s = answer.body;
  const n = s.entries.length;
  msg.textContent =
    'Statement of card ' +
    s.card +
    ' on the customer display: balance ' +
    money(s.balance, s.currency) +
    ', ' +
    (n === 0 ? 'no payments yet' : n + ' recent payment' + (n === 1 ? '' : 's')) +
    '.';
}

// ---------------------------------------------------------------------------- the sale

function live() {
  const s = state.saleId && tracker.get(state.saleId);
  return s && !FINAL_STATES.has(s.state) ? s : null;
}

function onSale(snap) {
  if (!tracker.take(snap)) return;
  // Show a sale started elsewhere (the CLI, a second counter tab) unless one of ours is running.
  if (snap.saleId !== state.saleId) {
    if (live() || FINAL_STATES.has(snap.state)) return;
    state.saleId = snap.saleId;
  }
  renderSale();
}

function renderSale() {
  const s = state.saleId ? tracker.get(state.saleId) : null;
  const st = s ? s.state : 'idle';
  const el = $('sale-state');
  el.dataset.state = st;
  el.textContent = s ? SALE_TEXT[st] + ' — ' + money(s.amount, s.currency) : SALE_TEXT.idle;
  let detail = '';
  if (s && st === 'waiting_card')
    detail = s.reader ? 'Insert the card in ' + s.reader + '.' : 'Insert or tap the card on any reader.';
  if (s && st === 'pin')
    detail = s.pinOnDevice
      ? "The customer types the PIN on the reader's own pad."
      : "The customer types the PIN on the customer display's keypad (or in the field below).";
  $('sale-detail').textContent = detail;

  // Steps: done ones ticked, the current one marked for screen readers too.
  const current = STEP_OF[st];
  const idx = STEP_ORDER.indexOf(current);
  const noPin = st === 'done' && s.receipt && !s.receipt.pinVerified;
  for (const li of $('steps').children) {
    const i = STEP_ORDER.indexOf(li.dataset.step);
    const skipped = noPin && li.dataset.step === 'pin';
    li.classList.toggle('step-skipped', skipped);
    li.textContent = skipped ? 'No PIN' : li.dataset.label || (li.dataset.label = li.textContent);
    li.classList.toggle('step-done', !skipped && ((idx >= 0 && i < idx) || st === 'done'));
    if (li.dataset.step === current && st !== 'done') li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }

  const notice = $('sale-notice');
  if (s && s.notice && !FINAL_STATES.has(st)) {
    notice.textContent = s.notice.message + ' — ' + s.notice.hint;
    show(notice, true);
  } else show(notice, false);

  const pinForm = $('pin-form');
  const askPin = !!s && st === 'pin' && !s.pinOnDevice;
  if (askPin) {
    $('pin-tries').textContent =
      s.pinTriesLeft !== null ? '(' + s.pinTriesLeft + (s.pinTriesLeft === 1 ? ' try left' : ' tries left') + ')' : '';
    const wasHidden = pinForm.hidden;
    show(pinForm, true);
    if (wasHidden || s.notice) $('pin').focus();
  } else if (!pinForm.hidden) {
    $('pin').value = '';
    show(pinForm, false);
  }

  const errBox = $('sale-error');
  if (s && s.error && (st === 'failed' || st === 'timed_out' || st === 'unconfirmed')) {
    $('sale-error-message').textContent = s.error.message;
    $('sale-error-hint').textContent = s.error.hint;
    show(errBox, true);
  } else show(errBox, false);

  renderReceipt(s && st === 'done' ? s.receipt : null);

  const running = !!s && !FINAL_STATES.has(st);
  $('cancel').disabled = !running || st === 'signing' || st === 'stored';
  $('start').disabled = running;
  const amount = $('amount');
  const wasRunning = amount.readOnly;
  amount.readOnly = running;
  // Sale over: back to the amount, selected, so the next amount typed replaces it.
  if (wasRunning && !running) {
    amount.focus();
    amount.select();
  }
}

function renderReceipt(r) {
  show($('receipt'), !!r);
  if (!r) return;
  $('receipt-amount').textContent = money(r.amount, r.currency);
  $('receipt-record').textContent = r.recordId;
  $('receipt-card').textContent = r.card;
  $('receipt-balance').textContent = money(r.balanceAfter, r.currency);
  $('receipt-time').textContent = new Date(r.time * 1000).toLocaleString();
  $('receipt-pin').textContent = r.pinVerified ? 'verified by the card' : 'not needed';
  $('receipt-settlement').textContent = r.online
    ? 'bank online: settles now'
    : 'offline: stored, settles when the bank is back';
}

async function startSale() {
  const errEl = $('amount-error');
  const amount = parseAmount($('amount').value, state.currency);
  if (amount === null) {
    errEl.textContent = 'Type an amount such as 12.50 (digits, at most two after the point).';
    show(errEl, true);
    $('amount').focus();
    return;
  }
  show(errEl, false);
  if (live()) return;
  const answer = await api('POST', '/api/v1/sales', { amount, currency: state.currency });
  if (answer.status !== 201) {
    const e = errorOf(answer);
    errEl.textContent = refusalText(e);
    show(errEl, true);
    if (e.code === 'CLOCK_WRONG') renderClock(e);
    return;
  }
  state.saleId = answer.body.saleId;
  tracker.take(answer.body);
  renderSale();
}

async function cancelSale() {
  const s = live();
  if (!s) {
    $('amount').value = '';
    show($('amount-error'), false);
    $('amount').focus();
    return;
  }
  const answer = await api('POST', '/api/v1/sales/' + encodeURIComponent(s.saleId) + '/cancel');
  if (answer.status !== 200) {
    const e = errorOf(answer);
    $('amount-error').textContent = refusalText(e);
    show($('amount-error'), true);
    return;
  }
  onSale(answer.body);
}

async function sendPin(ev) {
  ev.preventDefault();
  const s = live();
  const input = $('pin');
  const pin = input.value;
  input.value = ''; // never left in the page longer than the request
  if (!s || s.state !== 'pin') return;
  if (!/^[0-9]{4,12}$/.test(pin)) {
    $('sale-notice').textContent = 'A PIN is 4 to 12 digits — type it again.';
    show($('sale-notice'), true);
    input.focus();
    return;
  }
  const answer = await api('POST', '/api/v1/sales/' + encodeURIComponent(s.saleId) + '/pin', { pin });
  if (answer.status !== 202) {
    const e = errorOf(answer);
    $('sale-notice').textContent = e.message + ' — ' + e.hint;
    show($('sale-notice'), true);
  }
}

// ---------------------------------------------------------------------------- keyboard

function onKey(ev) {
  if (ev.key === 'Escape') {
    ev.preventDefault();
    void cancelSale();
    return;
  }
  if (ev.key === 'F8') {
    ev.preventDefault();
    void settleNow();
    return;
  }
  // Digits typed anywhere go to the amount (the merchant need not click the field first).
  const t = ev.target;
  const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement;
  if (!typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey && /^[0-9.]$/.test(ev.key) && !$('app').hidden && !live()) {
    $('amount').focus();
  }
}

// ---------------------------------------------------------------------------- start

/** The clock band: why no sale can be taken while the computer's clock is wrong, and what to do. */
function renderClock(problem) {
  $('clock-band').textContent = problem ? 'No sales: ' + problem.message + '. ' + problem.hint + '.' : '';
  show($('clock-band'), !!problem);
}

function onStatus(st) {
  renderClock(st.clock);
  state.currency = st.currency;
  $('terminal').textContent = 'Terminal ' + st.terminalId + ' · merchant ' + st.merchantId;
  $('currency-symbol').textContent = money(0, st.currency).replace(/[\d.,\s]/g, '') || String(st.currency);
  state.settlement = st.settlement;
  state.unsettled = st.unsettled;
  renderReaders(st.readers);
  pinReaders(st.readers);
  for (const s of st.activeSales) onSale(s);
  renderPending();
  renderSettlement();
  if (st.counts.rejected.count !== state.rejectedCount) void loadRejected(st.counts.rejected.count);
}

async function main() {
  const pairing = {
    section: $('pair'),
    form: $('pair-form'),
    input: $('pair-token'),
    error: $('pair-error'),
    where: $('pair-where'),
  };
  const status = await statusWhenPaired((err) => {
    show($('app'), false);
    $('terminal').textContent = 'not paired yet';
    renderNet();
    return pair(pairing, err, 'counter');
  });
  show($('app'), true);
  document.body.classList.add('paired');
  state.connected = true;
  onStatus(status);
  renderSale();
  void loadPinService();
  $('amount').focus();

  $('amount-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void startSale();
  });
  $('cancel').addEventListener('click', () => void cancelSale());
  $('pin-form').addEventListener('submit', sendPin);
  $('settle').addEventListener('click', () => void settleNow());
  document.addEventListener('keydown', onKey);
  setInterval(renderPending, 1000); // the age of the oldest record keeps growing
  // The clock can go wrong (or be set right) at any time: look again twice a minute.
  setInterval(async () => {
    const a = await api('GET', '/api/v1/status');
    if (a.status === 200) renderClock(a.body.clock);
  }, 30_000);

  connectEvents(
    {
      status: onStatus,
      sale: onSale,
      readers: (r) => {
        renderReaders(r.readers);
        pinReaders(r.readers);
      },
      settlement: (s) => {
        state.settlementUpdates++;
        state.settlement = s;
        renderSettlement();
      },
      batch: onBatch,
      queue: onQueue,
      pinService: onPinService,
    },
    async (up) => {
      state.connected = up;
      renderNet();
      renderPending();
      if (up) void loadPinService();
      else {
        // Down because the daemon forgot our pairing (a new token)? Then pair again.
        const answer = await api('GET', '/api/v1/status');
        if (answer.status === 401) location.reload();
      }
    },
  );
}

void main();
