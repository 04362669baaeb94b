// The counter page's day close (docs/ui.md "History and day close"): a day's Z report (GET
// /api/v1/closes/{date}: the stored one once the day is closed, else the running figures) and the
// close itself (POST /api/v1/closes), after a confirmation. The report is drawn as a table: sales by
// outcome, top-ups, records by where they stand with the bank, voids and refunds given back, host against bank,
// and the late changes counted in this day.
import { api, errorOf, money, refusalParts, show } from './common.js';
import { lang, onLang, putParts, t } from './counter-i18n.js';
import { whenPaired } from './counter-history.js';

const $ = (id) => document.getElementById(id);
let report = null; // the report shown, drawn again when the language changes
let said = null;

function say(parts, kind) {
  said = parts;
  const el = $('close-msg');
  putParts(el, parts());
  el.dataset.kind = kind;
}

const amounts = (tot) =>
  tot.byCurrency.length ? tot.byCurrency.map((c) => money(c.amount, c.currency)).join(' + ') : '—';

function row(body, label, tot, o = {}) {
  const tr = document.createElement('tr');
  if (o.sub) tr.className = 'sub';
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = label;
  const count = document.createElement('td');
  count.textContent = String(tot.count);
  const amount = document.createElement('td');
  amount.textContent = amounts(tot);
  tr.append(th, count, amount);
  body.append(tr);
}

function draw() {
  show($('close-report'), report !== null);
  if (!report) return;
  const r = report;
  $('close-report').dataset.state = r.state;
  $('close-state').textContent =
    r.state === 'closed'
      ? t('close.state.closed', {
          date: r.date,
          zone: r.timeZone,
          at: new Date(r.closedAt).toLocaleString(lang(), { timeZone: r.timeZone }),
        })
      : t('close.state.open', { date: r.date, zone: r.timeZone });
  const body = $('close-table').querySelector('tbody');
  body.replaceChildren();
  for (const o of ['done', 'cancelled', 'unconfirmed', 'failed'])
    row(body, t('close.sales') + ' · ' + t('outcome.' + o), r.sales[o]);
  row(body, t('close.topups') + ' · ' + t('close.loaded'), r.topups.loaded);
  row(body, t('close.cash'), r.topups.byMethod.cash, { sub: true });
  row(body, t('close.accountPaid'), r.topups.byMethod.account, { sub: true });
  row(body, t('close.topups') + ' · ' + t('close.unfinished'), r.topups.unfinished);
  for (const s of ['pending', 'settled', 'rejected', 'held'])
    row(body, t('close.records') + ' · ' + t('close.' + s), r.records[s]);
  row(body, t('close.voids') + ' · ' + t('close.voided'), r.voids.voided);
  row(body, t('close.voids') + ' · ' + t('close.inProgress'), r.voids.signing);
  row(body, t('close.refunds') + ' · ' + t('close.credited'), r.refunds.credited);
  row(body, t('close.refunds') + ' · ' + t('close.inProgress'), r.refunds.pending);
  const bank = $('close-bank');
  if (!r.bank.checked) putParts(bank, [t('close.bankUnchecked'), { text: r.bank.error.message, lang: 'en' }]);
  else if (r.bank.reconciliation.lines.length === 0) putParts(bank, [t('close.bankNothing')]);
  else
    putParts(
      bank,
      r.bank.reconciliation.lines.map((l) =>
        t(l.match ? 'close.bankMatch' : 'close.bankDiff', {
          host: l.host.count + ' / ' + money(l.host.amount, l.currency),
          bank: l.bank.count + ' / ' + money(l.bank.amount, l.currency),
        }),
      ),
    );
  bank.dataset.match = r.bank.checked ? String(r.bank.reconciliation.match) : 'unchecked';
  const late = $('close-late');
  late.replaceChildren(
    ...r.late.map((l) => {
      const li = document.createElement('li');
      li.textContent = t('close.lateItem', {
        from: l.from,
        what: t('close.kind.' + l.kind),
        amount: money(l.amount, l.currency),
        was: l.was ?? t('close.notCounted'),
        state: l.state,
      });
      return li;
    }),
  );
  show($('close-late-h'), r.late.length > 0);
}

async function showDay() {
  const date = $('close-date').value;
  if (!date) return;
  const a = await api('GET', '/api/v1/closes/' + encodeURIComponent(date));
  if (a.status !== 200) {
    report = null;
    draw();
    const e = errorOf(a);
    say(() => refusalParts(e, lang()), 'error');
    return;
  }
  report = a.body;
  said = null;
  $('close-msg').textContent = '';
  draw();
}

async function closeDay() {
  const date = $('close-date').value;
  if (!date || !window.confirm(t('close.confirm', { date }))) return;
  const button = $('close-do');
  button.disabled = true;
  let a;
  try {
    a = await api('POST', '/api/v1/closes', { date });
  } finally {
    button.disabled = false;
  }
  if (a.status === 200 || a.status === 201) {
    report = a.body.report;
    draw();
    say(() => [t(a.body.alreadyClosed ? 'close.already' : 'close.done', { date })], 'ok');
    return;
  }
  const e = errorOf(a);
  say(() => refusalParts(e, lang()), 'error');
}

const form = $('close-form');
if (form) {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void showDay();
  });
  $('close-do').addEventListener('click', () => void closeDay());
  // A void or refund made on this page (counter-money-back.js) changes the day's figures: show them again.
  document.addEventListener('cardpost:money-back', () => {
    if (report) void showDay();
  });
  onLang(() => {
    draw();
    if (said) putParts($('close-msg'), said());
  });
  whenPaired(async () => {
    const a = await api('GET', '/api/v1/closes?limit=1');
    if (a.status === 200) $('close-date').value = a.body.today;
    await showDay();
  });
}
