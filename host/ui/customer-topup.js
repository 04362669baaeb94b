// The customer display's new-balance screen (docs/ui.md "Top-up and sync"): after a top-up or sync at
// the counter, the amount and the card's new balance in very large type, Chinese first with English
// (or the other way round, as the display's language button says). It stays until Close, the next sale,
// or ui.displayClearS (customer.js puts it on #display as data-clear-s), as a paid sale's balance does.
import { api, money, show } from './common.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
let shown = null; // the topupId on screen (or last closed)
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

function render(t) {
  const first = lang() === 'en' ? 'en' : 'zh';
  const m = money(t.amount, t.currency);
  put(
    'tu-head',
    t.method === 'sync' ? { zh: '卡片已同步', en: 'Card synced' } : { zh: '充值成功 ' + m, en: 'Topped up ' + m },
    first,
  );
  put(
    'tu-balance',
    { zh: '卡内余额 ' + money(t.balance, t.currency), en: 'Balance on the card ' + money(t.balance, t.currency) },
    first,
  );
  put('tu-take', { zh: '请取回卡片', en: 'Please take your card' }, first);
  $('tu-close').textContent = first === 'en' ? 'Close / 关闭' : '关闭 / Close';
  $('display').dataset.topup = 'on';
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
  const a = await api('GET', '/api/v1/topups/latest');
  const t = a.status === 200 ? a.body.topup : null;
  if (!t || t.topupId === shown) return;
  shown = t.topupId;
  render(t);
}

if ($('topup-screen')) {
  $('tu-close').addEventListener('click', close);
  $('lang').addEventListener('click', () => setTimeout(() => shown && $('display').dataset.topup && void refresh(), 0));
  setInterval(() => void poll(), POLL_MS);
  void poll();
}

async function refresh() {
  const a = await api('GET', '/api/v1/topups/latest');
  if (a.status === 200 && a.body.topup && a.body.topup.topupId === shown) render(a.body.topup);
}
