// Voids and refunds on the counter page (docs/ui.md "Voids and refunds"; docs/host-api.md §5.10). Each paid
// sale of the history (counter-history.js, through its row hook) gets "撤销 / Void" and "退款 / Refund":
// - Void asks first, saying that the card must be in the reader and what happens (the whole amount back,
//   at once), then POST /api/v1/sales/{id}/void; VOID_TOO_LATE (the card paid or loaded since) offers Refund;
// - Refund is a small form: the amount (by default all that is left; a part is allowed) and what is left,
//   then POST /api/v1/refunds; a queued refund says it will be credited at the card's next tap.
// Below the history: the day's voids and refunds (GET /api/v1/refunds?date=) and where each stands.
import { api, errorOf, minorDigits, money, parseAmount, refusalParts, show } from './common.js';
import { lang, onLang, putParts, t } from './counter-i18n.js';
import { has } from './i18n.js';
import { onHistoryLoad, onHistoryRow, redrawHistory, reloadHistory } from './counter-history.js';

const $ = (id) => document.getElementById(id);
const PENDING = new Set(['queued', 'requested', 'authorised']);
let bySale = new Map(); // saleId → {void, refunds}: what was given back of each sale (the day shown and today)
let day = null; // the day's list shown: {date, timeZone, voids, refunds}
let shownDate = null;
let current = null; // {sale, mode: 'void' | 'refund'}: the panel open
let outcome = null; // {kind, what: () => parts, todo: () => string, instead: boolean}
let retry = null; // {saleId, amount, key}: a refund that got no answer, sent again with the same key

const back = (saleId) => bySale.get(saleId) ?? { void: null, refunds: [] };
const refunded = (saleId) =>
  back(saleId)
    .refunds.filter((r) => r.state !== 'failed')
    .reduce((n, r) => n + r.amount, 0);
const when = (s) => s.shopTime.slice(11);
/** '••a0f9' (the API's mask) → '…A0F9', as the history shows a card. */
const cardOf = (masked) => '…' + String(masked).replace(/^•+/, '').toUpperCase();

/** The day's voids and refunds, and today's (a sale of an earlier day may be refunded today). */
async function loadDay(date) {
  shownDate = date;
  const today = await api('GET', '/api/v1/refunds');
  const asked =
    today.status === 200 && today.body.date === date ? today : await api('GET', '/api/v1/refunds?date=' + date);
  if (date !== shownDate) return; // another day was asked for meanwhile
  const map = new Map();
  for (const a of [asked, today]) {
    if (a.status !== 200) continue;
    for (const v of a.body.voids) map.set(v.saleId, { refunds: [], ...map.get(v.saleId), void: v });
    for (const r of a.body.refunds) {
      const m = { void: null, refunds: [], ...map.get(r.saleId) };
      if (!m.refunds.some((x) => x.refundId === r.refundId)) m.refunds = [...m.refunds, r];
      map.set(r.saleId, m);
    }
  }
  bySale = map;
  day = asked.status === 200 ? asked.body : null;
  redrawHistory();
  drawDay();
}

function button(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

/** The row hook: what was given back of a paid sale, and its buttons. */
function row(s, td) {
  if (!s.receipt) return;
  const v = back(s.saleId).void;
  const done = refunded(s.saleId);
  const left = s.amount - done;
  const m = (x) => money(x, s.currency);
  const note = document.createElement('p');
  note.className = 'mb-row-state';
  if (v && v.state === 'voided') note.textContent = t('mb.rowVoided', { amount: m(v.amount) });
  else if (v && v.state === 'signing') note.textContent = t('mb.rowVoiding');
  else if (done > 0)
    note.textContent =
      left > 0 ? t('mb.rowRefunded', { done: m(done), left: m(left) }) : t('mb.rowRefundedAll', { done: m(done) });
  const words = { time: when(s), amount: m(s.amount) };
  if ((!v || v.state === 'signing') && done === 0) {
    const b = button(t('mb.void'), t('mb.voidLabel', words), () => openPanel(s, 'void'));
    b.className = 'mb-void';
    td.append(b);
  }
  if ((!v || v.state === 'failed') && left > 0) {
    const b = button(t('mb.refund'), t('mb.refundLabel', words), () => openPanel(s, 'refund'));
    b.className = 'mb-refund';
    td.append(b);
  }
  if (note.textContent) td.append(note);
}

function openPanel(sale, mode) {
  current = { sale, mode };
  outcome = null;
  drawOutcome();
  $('mb-busy').textContent = '';
  const panel = $('mb-panel');
  panel.dataset.sale = sale.saleId;
  panel.dataset.mode = mode;
  drawPanel();
  if (mode === 'refund') {
    const left = sale.amount - refunded(sale.saleId);
    $('mb-amount').value = (left / 10 ** minorDigits(sale.currency)).toFixed(minorDigits(sale.currency));
  }
  show(panel, true);
  if (mode === 'refund') $('mb-amount').focus();
  else panel.focus();
}

function closePanel() {
  const saleId = current && current.sale.saleId;
  current = null;
  show($('mb-panel'), false);
  const again = saleId && document.querySelector(`#hist-table tr[data-sale="${CSS.escape(saleId)}"] button`);
  if (again) again.focus();
}

function drawPanel() {
  if (!current) return;
  const s = current.sale;
  const m = (x) => money(x, s.currency);
  const words = { time: when(s), amount: m(s.amount) };
  const isVoid = current.mode === 'void';
  $('mb-h').textContent = t(isVoid ? 'mb.voidHeading' : 'mb.refundHeading', words);
  show($('mb-void'), isVoid && !(outcome && outcome.final));
  show($('mb-refund'), !isVoid && !(outcome && outcome.final));
  $('mb-void-what').textContent = t('mb.voidWhat', { amount: m(s.amount), card: s.cardLast4 ?? '----' });
  $('mb-void-card').textContent = t('mb.voidCard');
  const done = refunded(s.saleId);
  $('mb-refund-left').textContent = t('mb.refundLeft', {
    left: m(s.amount - done),
    amount: m(s.amount),
    done: m(done),
  });
}

function say(kind, what, todo, o = {}) {
  outcome = { kind, what, todo, instead: !!o.instead, final: !!o.final };
  drawOutcome();
  drawPanel();
}

function drawOutcome() {
  const box = $('mb-outcome');
  show(box, outcome !== null);
  if (!outcome) return;
  box.dataset.kind = outcome.kind;
  putParts($('mb-outcome-what'), outcome.what());
  $('mb-outcome-todo').textContent = outcome.todo();
  show($('mb-instead'), outcome.instead);
}

function busy(on, text) {
  for (const id of ['mb-void-go', 'mb-refund-go', 'mb-void-back', 'mb-refund-back', 'mb-instead']) $(id).disabled = on;
  $('mb-busy').textContent = on ? t(text) : '';
}

async function doVoid() {
  if (!current) return;
  const s = current.sale;
  busy(true, 'mb.voiding');
  let a;
  try {
    a = await api('POST', '/api/v1/sales/' + encodeURIComponent(s.saleId) + '/void', {});
  } finally {
    busy(false);
  }
  if (a.status === 200 && a.body.state === 'voided') {
    const v = a.body;
    say(
      'ok',
      () => [t('mb.voided', { amount: money(v.amount, v.currency), card: cardOf(v.card) })],
      () => t('mb.voided.todo'),
      {
        final: true,
      },
    );
  } else if (a.status === 200) {
    refused({ code: 'VOID_INTERRUPTED', message: 'the void is not finished' });
  } else {
    const e = errorOf(a);
    const instead = e.code === 'VOID_TOO_LATE' || e.code === 'VOID_REFUSED' || e.code === 'VOID_REFUNDED';
    refused(e, { instead, final: instead });
  }
  if (outcome.final) $('mb-panel').focus();
  document.dispatchEvent(new CustomEvent('cardpost:money-back'));
  await loadDay(shownDate);
}

/** POST /api/v1/refunds with an Idempotency-Key: a refund whose answer was lost is asked again as the same one. */
async function postRefund(saleId, amount) {
  const key = retry && retry.saleId === saleId && retry.amount === amount ? retry.key : crypto.randomUUID();
  try {
    const res = await fetch('/api/v1/refunds', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ saleId, amount }),
    });
    const text = await res.text();
    const answer = { status: res.status, body: text ? JSON.parse(text) : null };
    retry = answer.status >= 500 ? { saleId, amount, key } : null;
    return answer;
  } catch {
    retry = { saleId, amount, key };
    return { status: 0, body: null };
  }
}

/** A refusal: the catalogue's plain words (what happened; what to do) for a void or refund code, else the registry's. */
function refused(e, o = {}) {
  if (has('err.' + e.code) && has('err.' + e.code + '.todo'))
    return say(
      'error',
      () => [t('err.' + e.code) + (lang() === 'en' ? '.' : '。')],
      () => t('err.' + e.code + '.todo'),
      o,
    );
  say(
    'error',
    () => refusalParts(e, lang()),
    () => '',
    o,
  );
}

function refundOutcome(r) {
  const m = money(r.amount, r.currency);
  if (r.state === 'credited')
    return say(
      'ok',
      () => [t('mb.credited', { amount: m, card: cardOf(r.card), balance: money(r.balance, r.currency) })],
      () => t('mb.credited.todo'),
      { final: true },
    );
  if (PENDING.has(r.state)) {
    const code = r.error && r.error.code;
    const todo =
      r.state === 'authorised'
        ? 'mb.queued.tap'
        : code === 'REFUND_WAITING_CARD'
          ? 'mb.queued.card'
          : code === 'REFUND_WAITING_BANK' || r.state === 'requested'
            ? 'mb.queued.bank'
            : 'mb.queued.tap';
    return say(
      'calm',
      () => [t('mb.queued', { amount: m })],
      () => t(todo),
      { final: true },
    );
  }
  const e = r.error ?? { code: 'REFUND_FAILED', message: '' };
  say(
    'error',
    () => [t('mb.failed'), ...refusalParts(e, lang())],
    () => '',
  );
}

async function doRefund() {
  if (!current) return;
  const s = current.sale;
  const left = s.amount - refunded(s.saleId);
  const m = (x) => money(x, s.currency);
  const amount = parseAmount($('mb-amount').value, s.currency);
  if (amount === null) {
    say(
      'error',
      () => [t('mb.badAmount', { left: m(left) })],
      () => '',
    );
    $('mb-amount').focus();
    return;
  }
  if (amount > left) {
    say(
      'error',
      () => [t(left > 0 ? 'mb.overLeft' : 'mb.nothingLeft', { left: m(left) })],
      () => '',
    );
    $('mb-amount').focus();
    return;
  }
  busy(true, 'mb.refunding');
  let a;
  try {
    a = await postRefund(s.saleId, amount);
  } finally {
    busy(false);
  }
  if (a.status === 201) {
    refundOutcome(a.body);
    if (outcome.final) $('mb-panel').focus();
  } else {
    const e = errorOf(a);
    // The daemon counts what is left (a refund made elsewhere meanwhile): its message gives it in minor units.
    const more = e.code === 'REFUND_OVER_REMAINING' && /(\d+) of the sale's/.exec(e.message || '');
    if (more) {
      const really = Number(more[1]);
      say(
        'error',
        () => [t(really > 0 ? 'mb.overLeft' : 'mb.nothingLeft', { left: m(really) })],
        () => '',
      );
    } else refused(e);
  }
  document.dispatchEvent(new CustomEvent('cardpost:money-back'));
  await loadDay(shownDate);
}

function stateOf(x) {
  if ('voidId' in x) return x.state === 'voided' ? 'voided' : x.state === 'signing' ? 'signing' : 'failed';
  return x.state === 'credited' ? 'credited' : x.state === 'failed' ? 'failed' : 'pending';
}

function drawDay() {
  const items = day ? [...day.voids, ...day.refunds].sort((a, b) => a.createdAt - b.createdAt) : [];
  const body = $('mb-day-table').querySelector('tbody');
  body.replaceChildren(
    ...items.map((x) => {
      const tr = document.createElement('tr');
      const state = stateOf(x);
      tr.dataset.state = state;
      tr.dataset.kind = 'voidId' in x ? 'void' : 'refund';
      const time = new Date(x.createdAt).toLocaleTimeString('en-GB', { timeZone: day.timeZone, hour12: false });
      for (const text of [
        time,
        t('mb.kind.' + tr.dataset.kind),
        money(x.amount, x.currency),
        cardOf(x.card),
        t('mb.state.' + state),
      ]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  show($('mb-day-wrap'), items.length > 0);
  show($('mb-day-none'), items.length === 0);
}

if ($('mb-panel')) {
  onHistoryRow(row);
  onHistoryLoad((date) => void loadDay(date));
  $('mb-void-go').addEventListener('click', () => void doVoid());
  $('mb-refund').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void doRefund();
  });
  for (const id of ['mb-void-back', 'mb-refund-back']) $(id).addEventListener('click', closePanel);
  $('mb-instead').addEventListener('click', () => current && openPanel(current.sale, 'refund'));
  onLang(() => {
    drawPanel();
    drawOutcome();
    drawDay();
  });
  // A refund queued for a card is credited at its next tap: the list follows without a reload of the page.
  setInterval(() => {
    if (shownDate && document.visibilityState === 'visible' && day && day.refunds.some((r) => PENDING.has(r.state)))
      void reloadHistory();
  }, 5000);
}
