// The customer display's new-balance screen (docs/ui.md "Top-up and sync"): after a top-up, sync, refund
// or void at the counter, the amount and the card's new balance in very large type, Chinese first with English
// (or the other way round, as the display's language button says). It stays until Close, the next sale,
// or ui.displayClearS (customer.js puts it on #display as data-clear-s), as a paid sale's balance does.
import { api, money, show } from './common.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
let shown = null; // the topupId or voidId on screen (or last closed)
let clearTimer = null;

function lang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q) return q.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
  return localStorage.getItem('cardpost.customer.lang') === 'en' ? 'en' : 'zh-CN';
}

function saleLive() {
  const s = $('display').dataset.state;
  return !['idle', 'done', 'cancelled', 'timed_out', 'failed', 'unconfirmed'].includes(s);
}

function put(id, pair, first) {
  const order = first === 'en' ? ['en', 'zh'] : ['zh', 'en'];
  const [a, b] = [$(id + '-1'), $(id + '-2')];
  a.textContent = pair[order[0]];
  a.lang = order[0] === 'zh' ? 'zh-CN' : 'en';
  b.textContent = pair[order[1]];
  b.lang = order[1] === 'zh' ? 'zh-CN' : 'en';
}

// What the screen says on top: a refund or a void is money back, never "topped up".
const heads = (m) => ({
  sync: { zh: '卡片已同步', en: 'Card synced' },
  cash: { zh: '充值成功 ' + m, en: 'Topped up ' + m },
  refund: { zh: '退款 ' + m + ' 已退回卡内', en: 'Refund: ' + m + ' back on the card' },
  void: { zh: '已撤销付款，' + m + ' 已退回卡内', en: 'Payment voided: ' + m + ' back on the card' },
});

function render(t) {
  const first = lang() === 'en' ? 'en' : 'zh';
  const m = money(t.amount, t.currency);
  put('tu-head', heads(m)[t.method] ?? heads(m).cash, first);
  put(
    'tu-balance',
    { zh: '卡内余额 ' + money(t.balance, t.currency), en: 'Balance on the card ' + money(t.balance, t.currency) },
    first,
  );
  put('tu-take', { zh: '请取回卡片', en: 'Please take your card' }, first);
  $('tu-close').textContent = first === 'en' ? 'Close / 关闭' : '关闭 / Close';
  $('display').dataset.topup = 'on';
  $('topup-screen').dataset.kind = t.method;
  show($('topup-screen'), true);
  if (clearTimer !== null) clearTimeout(clearTimer);
  clearTimer = setTimeout(close, (Number($('display').dataset.clearS) || 20) * 1000);
}

function close() {
  if (clearTimer !== null) clearTimeout(clearTimer);
  clearTimer = null;
  delete $('display').dataset.topup;
  show($('topup-screen'), false);
}

async function poll() {
  if (saleLive()) {
    if ($('display').dataset.topup) close();
    return;
  }
  const t = newest(await api('GET', '/api/v1/topups/latest'));
  if (!t || t.id === shown) return;
  shown = t.id;
  render(t);
}

/** The newer of the top-up just loaded and the void just done, as one screen's data (or null). */
function newest(a) {
  if (a.status !== 200 || !a.body) return null;
  const { topup, void: v } = a.body;
  const fromVoid = v ? { ...v, id: v.voidId, method: 'void', at: v.voidedAt } : null;
  const fromTopup = topup ? { ...topup, id: topup.topupId, at: topup.loadedAt ?? 0 } : null;
  if (!fromVoid) return fromTopup;
  return !fromTopup || fromVoid.at > fromTopup.at ? fromVoid : fromTopup;
}

if ($('topup-screen')) {
  $('tu-close').addEventListener('click', close);
  $('lang').addEventListener('click', () => setTimeout(() => shown && $('display').dataset.topup && void refresh(), 0));
  setInterval(() => void poll(), POLL_MS);
  void poll();
}

async function refresh() {
  const t = newest(await api('GET', '/api/v1/topups/latest'));
  if (t && t.id === shown) render(t);
}
