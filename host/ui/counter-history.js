// The counter page's history of a day's sales (docs/ui.md "History and day close"): a date and a search
// box, the list (time, amount, card's last 4 digits, outcome) and a "Reprint" button per paid sale,
// which shows the receipt again as the daemon gives it, marked "副本 / COPY" (GET /api/v1/sales/{id}/receipt).
import { api, errorOf, money, refusalParts, show } from './common.js';
import { lang, onLang, putParts, t } from './counter-i18n.js';

const $ = (id) => document.getElementById(id);
const QUERY = /^[0-9A-Za-z.:-]{1,40}$/;
let last = null; // {date, sales}: the list shown, drawn again when the language changes
let said = null; // () => parts: the line above the list
const rowHooks = []; // (sale, cell) => void: more buttons per row (counter-money-back.js)
const loadHooks = []; // (date) => void: told each time a day's list is loaded

/** Adds to each row's last cell (after Reprint): `fn(sale, td)`, called at every draw. */
export function onHistoryRow(fn) {
  rowHooks.push(fn);
}
/** `fn(date)` after each load of a day's list. */
export function onHistoryLoad(fn) {
  loadHooks.push(fn);
}
/** Draws the list shown again (what a row hook shows has changed). */
export function redrawHistory() {
  draw();
}
/** Loads the day's list again from the daemon. */
export function reloadHistory() {
  return load();
}

function say(parts) {
  said = parts;
  putParts($('hist-msg'), parts());
}

function outcomeText(s) {
  return t(s.outcome ? 'outcome.' + s.outcome : 'outcome.going');
}

function draw() {
  const body = $('hist-table').querySelector('tbody');
  body.replaceChildren();
  if (!last) return;
  for (const s of last.sales) {
    const tr = document.createElement('tr');
    tr.dataset.sale = s.saleId;
    tr.dataset.outcome = s.outcome || 'going';
    const cells = [
      s.shopTime.slice(11),
      money(s.amount, s.currency),
      s.cardLast4 ? '…' + s.cardLast4 : '—',
      outcomeText(s),
    ];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement('td');
    if (s.receipt) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'reprint';
      b.textContent = t('hist.reprint');
      b.setAttribute(
        'aria-label',
        t('hist.reprintLabel', { time: s.shopTime.slice(11), amount: money(s.amount, s.currency) }),
      );
      b.addEventListener('click', () => void reprint(s.saleId));
      td.append(b);
    }
    for (const fn of rowHooks) fn(s, td);
    tr.append(td);
    body.append(tr);
  }
  show($('hist-wrap'), last.sales.length > 0);
  say(() => [last.sales.length ? t('hist.count', { date: last.date, n: last.sales.length }) : t('hist.none')]);
}

async function load() {
  const date = $('hist-date').value;
  const q = $('hist-q').value.trim();
  if (q !== '' && !QUERY.test(q)) {
    say(() => [t('hist.badQuery')]);
    $('hist-q').focus();
    return;
  }
  const params = new URLSearchParams();
  if (date) params.set('date', date);
  if (q) params.set('q', q);
  if (!date && !q) params.set('date', await today());
  say(() => [t('hist.loading')]);
  const a = await api('GET', '/api/v1/sales?' + params);
  if (a.status !== 200) {
    last = null;
    draw();
    show($('hist-wrap'), false);
    const e = errorOf(a);
    say(() => refusalParts(e, lang()));
    return;
  }
  last = { date: a.body.date, sales: a.body.sales };
  if (!date) $('hist-date').value = a.body.date;
  draw();
  for (const fn of loadHooks) fn(a.body.date);
}

async function reprint(saleId) {
  const a = await api('GET', '/api/v1/sales/' + encodeURIComponent(saleId) + '/receipt');
  const box = $('hist-copy');
  if (a.status !== 200) {
    const e = errorOf(a);
    say(() => refusalParts(e, lang()));
    show(box, false);
    return;
  }
  // The receipt's own lines (Chinese with English), exactly as the printer gets them.
  $('hist-copy-lines').textContent = a.body.lines.join('\n');
  $('hist-print-said').textContent = '';
  box.dataset.sale = saleId;
  show(box, true);
  box.focus();
}

/** The copy shown, on the receipt printer too (a counter without one is told so in plain words). */
async function printCopy() {
  const saleId = $('hist-copy').dataset.sale;
  if (!saleId) return;
  const a = await api('POST', '/api/v1/sales/' + encodeURIComponent(saleId) + '/receipt/print');
  const said = $('hist-print-said');
  if (a.status === 202) said.textContent = t('hist.printQueued');
  else putParts(said, refusalParts(errorOf(a), lang()));
}

/** The shop's today, as the daemon counts it (its time zone). */
async function today() {
  const a = await api('GET', '/api/v1/closes?limit=1');
  return a.status === 200 ? a.body.today : new Date().toISOString().slice(0, 10);
}

/** Runs `fn` once the page is paired with the daemon (counter.js marks the body). */
export function whenPaired(fn) {
  if (document.body.classList.contains('paired')) return void fn();
  const o = new MutationObserver(() => {
    if (!document.body.classList.contains('paired')) return;
    o.disconnect();
    fn();
  });
  o.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

const form = $('hist-form');
if (form) {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load();
  });
  $('hist-print').addEventListener('click', () => void printCopy());
  onLang(() => {
    draw();
    if (said) putParts($('hist-msg'), said());
  });
  whenPaired(async () => {
    $('hist-date').value = await today();
    await load();
  });
}
