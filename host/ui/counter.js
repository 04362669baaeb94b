// The merchant's counter page: amount entry from the keyboard alone, the live sale, the receipt,
// and the always-visible settlement picture (online/offline, what waits to settle, rejections).
import {
  FINAL_STATES,
  SaleTracker,
  api,
  connectEvents,
  errorOf,
  refusalParts,
  money,
  pair,
  parseAmount,
  show,
  statusWhenPaired,
} from './common.js';
import { configuredLang, lang, onLang, putParts, t } from './counter-i18n.js';
import { has } from './i18n.js';
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
  readers: [], // the last list, to draw again in another language
  status: null, // the last status, for the terminal line
  statementMsg: null, // () => parts: the last statement message, to draw again in another language
};
/** The last state each sale was seen live in (a time-out says what it waited for). */
const lastLive = new Map();
const WARN_MS = 20_000; // the PIN time-out warning (WCAG 2.2.1), this long before the sale's deadline
const tracker = new SaleTracker();

const STEP_OF = {
  waiting_card: 'waiting_card',
  reading_card: 'waiting_card',
  pin: 'pin',
  signing: 'signing',
  stored: 'stored',
  done: 'done',
};
const STEP_ORDER = ['waiting_card', 'pin', 'signing', 'stored', 'done'];

// ---------------------------------------------------------------------------- top bar

function renderNet() {
  const net = $('net');
  const s = state.settlement;
  let cls = 'net-unknown';
  let text = t('net.connecting');
  let detail = '';
  if (!document.body.classList.contains('paired')) {
    text = t('net.notPaired');
    detail = t('net.notPairedDetail');
  } else if (!state.connected) {
    cls = 'net-down';
    text = t('net.down');
    detail = t('net.downDetail');
  } else if (s && s.online) {
    cls = 'net-online';
    text = t('net.online');
    detail = t('net.onlineDetail');
  } else if (s) {
    cls = 'net-offline';
    text = t('net.offline');
    detail = t('net.offlineDetail');
  }
  net.className = 'net ' + cls;
  net.dataset.online = s && s.online && state.connected ? 'true' : 'false';
  $('net-state').textContent = text;
  $('net-detail').textContent = detail;
  show($('offline-band'), !!s && !s.online && state.connected);
}

function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t('age.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('age.min', { n: m });
  const h = Math.floor(m / 60);
  if (h < 48) return t('age.h', { h, m: m % 60 });
  return t('age.days', { n: Math.floor(h / 24) });
}

function renderPending() {
  const u = state.unsettled;
  if (!u) return;
  const count = $('pending-count');
  count.textContent = t('pending.records', { n: u.count });
  count.dataset.count = String(u.count);
  $('pending-amount').textContent = u.byCurrency.length
    ? u.byCurrency.map((c) => money(c.amount, c.currency)).join(' + ')
    : money(0, state.currency);
  $('pending-age').textContent = u.oldestStoredAt ? age(Date.now() - u.oldestStoredAt) : t('pending.nothing');
  $('settle').disabled = !state.connected;
}

// ---------------------------------------------------------------------------- settlement

function renderSettlement() {
  const s = state.settlement;
  if (!s) return;
  let text = has('settle.' + s.state) ? t('settle.' + s.state) : s.state;
  if (s.state === 'backing_off' && s.nextAttemptAt)
    text += ' ' + t('settle.nextTry', { time: new Date(s.nextAttemptAt).toLocaleTimeString(lang()) });
  $('settle-state').textContent = text;
  $('settle-state').dataset.state = s.state;
  const err = $('settle-error');
  if (s.lastError && s.state !== 'idle') {
    // Plain words for the code where the catalogue has them; the worker's own words (English) for the detail.
    const e = s.lastError;
    const detail = { text: e.message + (e.hint ? ' — ' + e.hint : ''), lang: 'en' };
    putParts(
      err,
      has('err.' + e.code)
        ? [t('err.' + e.code) + ' — ' + t('err.' + e.code + '.todo') + ' ', { ...detail, text: '(' + e.message + ')' }]
        : [detail],
    );
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
  const verdicts = run.batches ? t('settle.verdicts', run) + (run.rejected ? t('settle.seeBelow') : '') : '';
  let msg = t('settle.sent', { done, from: run.from }) + verdicts + (lang() === 'en' ? '.' : '。');
  if (left === 0) {
    msg = t('settle.finished') + ' ' + msg;
    state.settleRun = null;
  } else if (s && !s.online) msg += ' ' + t('settle.restLater');
  $('settle-msg').textContent = msg;
}

async function settleNow() {
  const seen = { queue: state.queueUpdates, settlement: state.settlementUpdates };
  const answer = await api('POST', '/api/v1/settlement');
  if (answer.status !== 202) {
    const e = errorOf(answer);
    putParts($('settle-msg'), [t('settle.couldNot'), ...refusalParts(e, lang())]);
    return;
  }
  if (state.settlementUpdates === seen.settlement) state.settlement = answer.body;
  if (state.queueUpdates === seen.queue) state.unsettled = answer.body.unsettled;
  if (state.unsettled.count === 0) {
    state.settleRun = null;
    $('settle-msg').textContent = t('settle.nothing');
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
        if (i >= 2) td.lang = 'en'; // the bank's reason and the registry's advice are English
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
  state.readers = readers;
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
      const bits = [
        has('reader.kind.' + r.kind) ? t('reader.kind.' + r.kind) : r.kind,
        t(r.cardPresent ? 'reader.cardIn' : 'reader.noCard'),
      ];
      if (r.busy) bits.push(t('reader.busy'));
      if (r.pinPad) bits.push(t('reader.pinPad'));
      info.textContent = bits.join(' · ');
      li.append(name, info);
      if (r.cardPresent) {
        // The holder's statement on the customer display (docs/ui.md): between sales only.
        const st = document.createElement('button');
        st.type = 'button';
        st.className = 'reader-statement';
        st.textContent = t('statement.show');
        st.setAttribute('aria-label', t('statement.showLabel', { reader: r.name }));
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
  const say = (parts) => {
    state.statementMsg = parts;
    putParts(msg, parts());
  };
  say(() => [t('statement.reading', { reader: readerName })]);
  const answer = await api('GET', '/api/v1/readers/' + encodeURIComponent(readerName) + '/statement?show=true');
  if (answer.status !== 200) {
    const e = errorOf(answer);
    msg.classList.add('error');
    say(() => [t('statement.notShown'), ...refusalParts(e, lang())]);
    return;
  }
  const s = answer.body;
  const n = s.entries.length;
  say(() => [
    t('statement.shown', {
      card: s.card,
      balance: money(s.balance, s.currency),
      payments: n === 0 ? t('statement.noPayments') : t('statement.payments', { n }),
    }),
  ]);
}

// ---------------------------------------------------------------------------- the sale

function live() {
  const s = state.saleId && tracker.get(state.saleId);
  return s && !FINAL_STATES.has(s.state) ? s : null;
}

function onSale(snap) {
  if (!tracker.take(snap)) return;
  if (!FINAL_STATES.has(snap.state)) lastLive.set(snap.saleId, { state: snap.state, received: Date.now() });
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
  el.textContent = s ? t('state.' + st) + ' — ' + money(s.amount, s.currency) : t('state.idle');
  let detail = '';
  if (s && st === 'waiting_card')
    detail = s.reader ? t('detail.insertIn', { reader: s.reader }) : t('detail.insertAny');
  // sale.pinEntry (status): on `customer-display` the counter has no PIN field at all.
  const displayOnly = state.status?.pinEntry === 'customer-display';
  if (s && st === 'pin')
    detail = t(s.pinOnDevice ? 'detail.pinOnPad' : displayOnly ? 'detail.pinOnlyOnDisplay' : 'detail.pinOnDisplay');
  $('sale-detail').textContent = detail;
  tick();

  // Steps: done ones ticked, the current one marked for screen readers too.
  const current = STEP_OF[st];
  const idx = STEP_ORDER.indexOf(current);
  const noPin = st === 'done' && s.receipt && !s.receipt.pinVerified;
  for (const li of $('steps').children) {
    const i = STEP_ORDER.indexOf(li.dataset.step);
    const skipped = noPin && li.dataset.step === 'pin';
    li.classList.toggle('step-skipped', skipped);
    li.textContent = t(skipped ? 'step.noPin' : 'step.' + li.dataset.step);
    li.classList.toggle('step-done', !skipped && ((idx >= 0 && i < idx) || st === 'done'));
    if (li.dataset.step === current && st !== 'done') li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }

  const notice = $('sale-notice');
  if (s && s.notice && !FINAL_STATES.has(st)) {
    putParts(notice, noticeParts(s));
    show(notice, true);
  } else show(notice, false);

  const pinForm = $('pin-form');
  const askPin = !!s && st === 'pin' && !s.pinOnDevice && !displayOnly;
  if (askPin) {
    $('pin-tries').textContent = s.pinTriesLeft !== null ? t('pin.tries', { n: s.pinTriesLeft }) : '';
    const wasHidden = pinForm.hidden;
    show(pinForm, true);
    if (wasHidden || s.notice) $('pin').focus();
  } else if (!pinForm.hidden) {
    $('pin').value = '';
    show(pinForm, false);
  }

  const errBox = $('sale-error');
  const why = s && (st === 'failed' || st === 'timed_out' || st === 'unconfirmed') ? failureWords(s) : null;
  if (why) {
    putParts($('sale-error-message'), why[0]);
    putParts($('sale-error-hint'), why[1]);
    $('sale-error').dataset.code = (s.error && s.error.code) || st;
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
  $('receipt-time').textContent = new Date(r.time * 1000).toLocaleString(lang());
  $('receipt-pin').textContent = t(r.pinVerified ? 'receipt.pinVerified' : 'receipt.pinNotNeeded');
  $('receipt-settlement').textContent = t(r.online ? 'receipt.online' : 'receipt.offline');
}

/** The sale's notice: the catalogue's words for its code in Chinese, else the daemon's own (English). */
function noticeParts(s) {
  const n = s.notice;
  if (lang() !== 'en' && has('notice.' + n.code)) return [t('notice.' + n.code, { n: s.pinTriesLeft ?? '' })];
  return [{ text: n.message + (n.hint ? ' — ' + n.hint : ''), lang: 'en' }];
}

/**
 * [what happened, what to do] for a sale that failed, timed out or is unconfirmed: plain words for its
 * code from the catalogue, else the lead for the outcome and the registry's hint; never the card's
 * protocol words ("SIGN_TXN: card answered …"). A time-out says what it waited for.
 */
function failureWords(s) {
  const e = s.error;
  if (s.state === 'timed_out') {
    const was = lastLive.get(s.saleId);
    const waited =
      was && was.state === 'pin'
        ? 'timeout.pin'
        : was && was.state === 'waiting_card'
          ? 'timeout.card'
          : 'timeout.other';
    return [[t(waited)], [t('timeout.todo')]];
  }
  if (e && has('err.' + e.code)) return [[t('err.' + e.code)], [t('err.' + e.code + '.todo')]];
  if (s.state === 'unconfirmed' && e) return [[t('state.unconfirmed')], [{ text: e.hint || e.message, lang: 'en' }]];
  return [
    [t('err.failed')],
    e && e.hint ? [t('err.failed.todo') + ' ', { text: '(' + e.hint + ')', lang: 'en' }] : [t('err.failed.todo')],
  ];
}

/** The warning before a PIN step times out (WCAG 2.2.1), from the sale's deadline; counted from when it came. */
function tick() {
  const s = live();
  const box = $('sale-time');
  const seen = s && lastLive.get(s.saleId);
  const left =
    s && s.state === 'pin' && s.deadline && seen ? s.deadline - s.updatedAt - (Date.now() - seen.received) : Infinity;
  if (!(left <= WARN_MS && left > 0)) {
    show(box, false);
    $('sale-time-say').textContent = '';
    return;
  }
  $('sale-time-left').textContent = t('time.warn', { n: Math.ceil(left / 1000) });
  if (!$('sale-time-say').textContent) $('sale-time-say').textContent = t('time.warnSay');
  show(box, true);
}

async function startSale() {
  const errEl = $('amount-error');
  const amount = parseAmount($('amount').value, state.currency);
  if (amount === null) {
    errEl.textContent = t('sale.badAmount');
    show(errEl, true);
    $('amount').focus();
    return;
  }
  show(errEl, false);
  if (live()) return;
  const answer = await api('POST', '/api/v1/sales', { amount, currency: state.currency });
  if (answer.status !== 201) {
    const e = errorOf(answer);
    putParts(errEl, refusalParts(e, lang()));
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
    putParts($('amount-error'), refusalParts(e, lang()));
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
    $('sale-notice').textContent = t('pin.format');
    show($('sale-notice'), true);
    input.focus();
    return;
  }
  const answer = await api('POST', '/api/v1/sales/' + encodeURIComponent(s.saleId) + '/pin', { pin });
  if (answer.status !== 202) {
    const e = errorOf(answer);
    putParts($('sale-notice'), refusalParts(e, lang()));
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
  state.clock = problem || null;
  if (!problem) putParts($('clock-band'), []);
  else if (lang() === 'en')
    $('clock-band').textContent = t('band.clock', { what: problem.message, todo: problem.hint });
  else
    putParts($('clock-band'), [
      t('band.clock', { what: t('err.CLOCK_WRONG'), todo: t('err.CLOCK_WRONG.todo') }) + ' ',
      { text: '(' + problem.message + ')', lang: 'en' },
    ]);
  show($('clock-band'), !!problem);
}

function renderTerminal() {
  const st = state.status;
  $('terminal').textContent = st
    ? t('bar.terminal', { terminal: st.terminalId, merchant: st.merchantId })
    : t(document.body.classList.contains('paired') ? 'bar.connecting' : 'bar.notPairedYet');
}

function onStatus(st) {
  if (st.ui) configuredLang(st.ui.language);
  state.status = st;
  renderClock(st.clock);
  state.currency = st.currency;
  renderTerminal();
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
    renderTerminal();
    renderNet();
    return pair(pairing, err, 'counter', {
      empty: t('pair.empty'),
      defaultFile: t('pair.defaultFile'),
      refused: (e) =>
        e.code === 'PAIRING_REFUSED' && lang() !== 'en' ? t('pair.refused') : e.message + ' — ' + e.hint,
    });
  });
  show($('app'), true);
  document.body.classList.add('paired');
  state.connected = true;
  onStatus(status);
  renderSale();
  onLang(() => {
    renderTerminal();
    renderNet();
    renderPending();
    renderSettlement();
    renderReaders(state.readers);
    renderClock(state.clock);
    renderSale();
    if (state.statementMsg) putParts($('statement-msg'), state.statementMsg());
  });
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
  setInterval(tick, 1000); // the PIN time-out warning counts down
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
