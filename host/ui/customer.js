// The customer display: the screen that faces the card holder. One instruction at a time, very
// large, Chinese first with English beneath (or the other way round), optional speech. A prompt stays
// until the sale moves on; a finished sale (paid, cancelled, failed) goes back to "Welcome" after
// `ui.displayClearS` (status), so the next customer never sees, or hears, the last one's balance.
import { FINAL_STATES, SaleTracker, api, connectEvents, money, pair, show, statusWhenPaired } from './common.js';
import { loadPinService, onPinService } from './customer-pin-service.js';
import { salePin } from './customer-sale-pin.js';

const $ = (id) => document.getElementById(id);
const LANG_KEY = 'cardpost.customer.lang';
const SPEECH_KEY = 'cardpost.customer.speech';

const tracker = new SaleTracker();
let current = null; // the sale on screen
let lang = pickLang();
let speech = localStorage.getItem(SPEECH_KEY) === 'on' && 'speechSynthesis' in window;

/** Whether this browser can speak at all: speech synthesis and at least one voice (they may load late). */
function hasVoices() {
  return 'speechSynthesis' in window && window.speechSynthesis.getVoices().length > 0;
}
/** Speech is on only where it can be heard. */
function speechOn() {
  return speech && hasVoices();
}
let lastSpoken = '';
let clearAfterMs = 20_000; // status ui.displayClearS
let clearTimer = null;
let clearedBefore = 0; // createdAt of the last sale cleared from the screen: it and older ones stay away
let received = 0; // Date.now() when `current` came (its deadline is counted from here: the clocks may differ)
let ticker = null;
const WARN_MS = 20_000; // the PIN time-out warning (WCAG 2.2.1), this long before the sale's deadline

function pickLang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q) return q.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
  return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh-CN';
}

/** {zh, en} pairs. `m` is a money string ("¥12.50"), `n` a count. */
const T = {
  welcome: { zh: '欢迎光临', en: 'Welcome' },
  timeLeft: (s) => ({ zh: '时间快到了：还剩 ' + s + ' 秒', en: 'Time is nearly up: ' + s + ' s left' }),
  timeSay: {
    zh: '时间快到了，请在 20 秒内输完密码',
    en: 'Time is nearly up — please finish the PIN within 20 seconds',
  },
  speechOn: { zh: '语音提示：开', en: 'Spoken prompts: on' },
  speechOff: { zh: '语音提示：关', en: 'Spoken prompts: off' },
  speechNone: { zh: '语音提示不可用', en: 'Spoken prompts: not available' },
  speechNoVoices: {
    zh: '语音提示不可用：本机没有语音',
    en: 'Spoken prompts not available: no voices on this computer',
  },
  pairEmpty: { zh: '请先粘贴密钥', en: 'Paste the key first' },
  pairRefused: { zh: '这不是本收银服务的密钥，请重新复制', en: "That is not the counter service's key: copy it again" },
  pairFile: {
    zh: '收银服务数据文件夹中的 api-token 文件',
    en: "the api-token file in the counter service's data folder",
  },
  insert: { zh: '请插入卡片', en: 'Please insert your card' },
  insertAgain: { zh: '请重新插入卡片', en: 'Please insert your card again' },
  insertSameCard: { zh: '请重新插入刚才付款的卡片', en: 'Please insert the card you were paying with again' },
  unconfirmed: {
    zh: '付款未确认，请重新插入同一张卡片',
    en: 'Payment not confirmed — please insert the same card again',
  },
  processing: { zh: '正在处理，请勿拔卡', en: 'Processing — do not remove the card' },
  pin: { zh: '请输入密码', en: 'Please enter your PIN' },
  pinPad: { zh: '请在密码键盘上输入密码', en: 'Please enter your PIN on the keypad' },
  pinWrong: { zh: '密码错误，请重新输入', en: 'Wrong PIN — please try again' },
  paid: (m) => ({ zh: '已付款 ' + m, en: 'Paid ' + m }),
  paidOffline: (m) => ({
    zh: '已付款 ' + m + ' — 网络恢复后自动结算',
    en: 'Paid ' + m + ' — will settle when back online',
  }),
  cancelled: { zh: '付款已取消', en: 'Payment cancelled' },
  timedOut: { zh: '等待超时，请询问收银员', en: 'Time ran out — please ask the cashier' },
  failed: { zh: '付款未成功，请询问收银员', en: 'Payment did not go through — please ask the cashier' },
  pinBlocked: { zh: '卡片密码已锁定', en: "The card's PIN is locked" },
  noFunds: { zh: '卡内余额不足', en: 'Not enough money on the card' },
  overLimit: { zh: '超出卡片限额', en: "Over the card's limit" },
  cardRefused: { zh: '此卡不能使用', en: 'This card cannot be used' },
  // details (the line beneath)
  toPay: (m) => ({ zh: '应付 ' + m, en: 'To pay ' + m }),
  tries: (m, n) => ({
    zh: '应付 ' + m + ' · 剩余 ' + n + ' 次',
    en: 'To pay ' + m + ' · ' + n + (n === 1 ? ' try left' : ' tries left'),
  }),
  lastTry: (n) => ({ zh: '剩余 ' + n + ' 次 — 再错将锁卡', en: n + ' try left — one more wrong PIN locks the card' }),
  triesLeft: (n) => ({ zh: '剩余 ' + n + ' 次', en: n + (n === 1 ? ' try left' : ' tries left') }),
  takeCard: (m) => ({ zh: '请取回卡片 · 余额 ' + m, en: 'Please take your card · balance ' + m }),
  askCashier: { zh: '请询问收银员', en: 'Please ask the cashier' },
  askIssuer: { zh: '请到发卡机构解锁', en: 'Please ask the card issuer to unlock it' },
  topUp: { zh: '请充值或用其他方式付款', en: 'Please top up the card, or pay another way' },
  smaller: { zh: '请用较小金额或其他方式付款', en: 'Please pay a smaller amount, or pay another way' },
  offlineFull: { zh: '卡片需要联网同步', en: 'The card needs to go online' },
  // the holder's statement (docs/ui.md)
  stTitle: { zh: '余额和最近交易', en: 'Balance and recent payments' },
  stBalance: (m) => ({ zh: '卡内余额 ' + m, en: 'Balance on the card ' + m }),
  stEmpty: { zh: '卡内还没有交易记录', en: 'No payments on the card yet' },
  stCaption: (n) => ({ zh: '最近 ' + n + ' 笔交易，最新的在前', en: 'The last ' + n + ' payments, newest first' }),
  stDate: { zh: '日期', en: 'Date' },
  stMerchant: { zh: '商户', en: 'Shop' },
  stAmount: { zh: '金额', en: 'Amount' },
  stAfter: { zh: '交易后余额', en: 'Balance after' },
  stClose: { zh: '关闭', en: 'Close' },
  sync: { zh: '请先充值或同步卡片，再付款', en: 'Please top up or sync the card first, then pay' },
};

/** What to show for a sale: [instruction, detail|null, tone]. Tone picks the colour. */
function promptFor(s) {
  if (!s) return [T.welcome, null, 'calm'];
  const m = money(s.amount, s.currency);
  switch (s.state) {
    case 'waiting_card': {
      // The card was pulled while it paid (or another card was put in): only that card can finish the sale.
      const same = s.notice && (s.notice.code === 'SALE_UNCONFIRMED' || s.notice.code === 'CARD_NOT_THE_PAYING_ONE');
      return [same ? T.insertSameCard : s.notice ? T.insertAgain : T.insert, T.toPay(m), 'action'];
    }
    case 'reading_card':
    case 'signing':
    case 'stored':
      return [T.processing, T.toPay(m), 'busy'];
    case 'pin': {
      const wrong = s.notice && s.notice.code === 'PIN_WRONG';
      const n = s.pinTriesLeft;
      const detail = n === null ? T.toPay(m) : n === 1 ? T.lastTry(n) : wrong ? T.triesLeft(n) : T.tries(m, n);
      // The tries left stand out (boxed, coloured, and the words say it) after a wrong PIN or on the last try.
      const warn = n === 1 ? 'last' : wrong ? 'tries' : '';
      return [wrong ? T.pinWrong : s.pinOnDevice ? T.pinPad : T.pin, detail, wrong ? 'problem' : 'action', warn];
    }
    case 'done': {
      const r = s.receipt;
      const paid = money(r ? r.amount : s.amount, s.currency);
      return [
        r && !r.online ? T.paidOffline(paid) : T.paid(paid),
        r ? T.takeCard(money(r.balanceAfter, r.currency)) : null,
        'success',
      ];
    }
    case 'cancelled':
      return [T.cancelled, null, 'calm'];
    case 'timed_out':
      return [T.timedOut, null, 'problem'];
    case 'unconfirmed':
      return [T.unconfirmed, T.askCashier, 'problem'];
    default:
      return failurePrompt(s.error ? s.error.code : '');
  }
}

function failurePrompt(code) {
  if (code === 'CARD_PIN_BLOCKED' || code === 'CARD_PUK_BLOCKED') return [T.pinBlocked, T.askIssuer, 'problem'];
  if (code === 'CARD_INSUFFICIENT_FUNDS') return [T.noFunds, T.topUp, 'problem'];
  // Refused before any PIN prompt (host/sale/card-limits.ts): say what the holder can do.
  if (code === 'CARD_OVER_TRANSACTION_LIMIT') return [T.overLimit, T.smaller, 'problem'];
  if (code === 'CARD_OFFLINE_AMOUNT_LIMIT' || code === 'CARD_OFFLINE_COUNT_LIMIT')
    return [T.offlineFull, T.sync, 'problem'];
  if (/REVOKED|CERT|EXPIRED|TERMINATED/.test(code)) return [T.cardRefused, T.askCashier, 'problem'];
  return [T.failed, null, 'problem'];
}

// ---------------------------------------------------------------------------- the holder's statement
// The cashier shows it (counter page → GET …/statement?show=true); this screen learns of the offer by
// polling GET /api/v1/statement/offer while no sale is live, then reads the offered reader's statement
// itself (the daemon lets it read only that one, of the card still in the reader). It stays until the
// holder presses Close, or a sale starts.
let statement = null; // the statement on screen
let seenOffer = ''; // the offer already shown (or closed)
const OFFER_POLL_MS = 2000;

const pad2 = (n) => String(n).padStart(2, '0');
function when(t) {
  const d = new Date(t * 1000);
  return (
    d.getFullYear() +
    '-' +
    pad2(d.getMonth() + 1) +
    '-' +
    pad2(d.getDate()) +
    ' ' +
    pad2(d.getHours()) +
    ':' +
    pad2(d.getMinutes())
  );
}

/** Both languages of a pair into two spans of `el`: the display's language first, the other beneath. */
function pairInto(el, pair, first, second, langOf) {
  const a = document.createElement('span');
  a.textContent = pair[first];
  a.lang = langOf(first);
  const b = document.createElement('span');
  b.className = 'st-second';
  b.textContent = pair[second];
  b.lang = langOf(second);
  el.replaceChildren(a, b);
}

function renderStatement() {
  const on = statement !== null;
  show($('statement'), on);
  if (!on) return;
  show($('prompt'), false);
  const first = lang === 'en' ? 'en' : 'zh';
  const second = first === 'en' ? 'zh' : 'en';
  const langOf = (k) => (k === 'zh' ? 'zh-CN' : 'en');
  const s = statement;
  pairInto($('statement-h'), T.stTitle, first, second, langOf);
  pairInto(
    $('statement').querySelector('.st-balance'),
    T.stBalance(money(s.balance, s.currency)),
    first,
    second,
    langOf,
  );
  const empty = s.entries.length === 0;
  show($('st-empty'), empty);
  show($('st-table'), !empty);
  if (empty) pairInto($('st-empty'), T.stEmpty, first, second, langOf);
  const cap = T.stCaption(s.entries.length);
  $('st-caption').textContent = cap[first] + ' / ' + cap[second];
  $('st-head').replaceChildren(
    ...[T.stDate, T.stMerchant, T.stAmount, T.stAfter].map((h) => {
      const th = document.createElement('th');
      th.scope = 'col';
      pairInto(th, h, first, second, langOf);
      return th;
    }),
  );
  $('st-rows').replaceChildren(
    ...s.entries.map((e) => {
      const tr = document.createElement('tr');
      const cells = [when(e.time), e.merchantId, money(e.amount, e.currency), money(e.balanceAfter, e.currency)];
      cells.forEach((text, i) => {
        const td = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) td.scope = 'row';
        td.textContent = text;
        tr.append(td);
      });
      return tr;
    }),
  );
  pairInto($('st-close'), T.stClose, first, second, langOf);
  $('st-close').lang = langOf(first);
}

function closeStatement() {
  if (statement === null) return;
  statement = null;
  renderStatement();
  show($('prompt'), true);
  render();
}

async function pollOffer() {
  if (current && !FINAL_STATES.has(current.state)) return; // a sale owns the screen
  const answer = await api('GET', '/api/v1/statement/offer');
  const offer = answer.status === 200 && answer.body ? answer.body.offer : null;
  if (!offer) {
    // The offer lapsed or was replaced: the screen keeps what it shows until Close or a sale.
    return;
  }
  if (offer.id === seenOffer) return;
  seenOffer = offer.id;
  const st = await api('GET', '/api/v1/readers/' + encodeURIComponent(offer.reader) + '/statement');
  if (st.status !== 200 || !st.body) return;
  statement = st.body;
  renderStatement();
  speak(
    T.stBalance(money(statement.balance, statement.currency))[lang === 'en' ? 'en' : 'zh'],
    lang === 'en' ? 'en' : 'zh-CN',
  );
}

function render(quiet = false) {
  const [msg, detail, tone, warn] = promptFor(current);
  const first = lang === 'en' ? 'en' : 'zh';
  const second = first === 'en' ? 'zh' : 'en';
  const langOf = (k) => (k === 'zh' ? 'zh-CN' : 'en');
  const display = $('display');
  display.dataset.state = current ? current.state : 'idle';
  display.dataset.tone = tone;
  setText($('primary'), msg[first], langOf(first));
  setText($('secondary'), msg[second], langOf(second));
  show($('detail'), !!detail);
  $('detail').dataset.warn = warn || '';
  if (detail) {
    setText($('detail-primary'), detail[first], langOf(first));
    setText($('detail-secondary'), detail[second], langOf(second));
  }
  if (statement === null && !quiet) speak(msg[first] + (detail ? '。' + detail[first] : ''), langOf(first));
  salePin(current); // the keypad, while the sale asks for a PIN typed here
  tick();
}

// ---------------------------------------------------------------------------- a finished sale leaves

/** A finished sale (not an unconfirmed one: only the same card can settle that) leaves after ui.displayClearS. */
function scheduleClear() {
  if (clearTimer !== null) clearTimeout(clearTimer);
  clearTimer = null;
  if (!current || !FINAL_STATES.has(current.state) || current.state === 'unconfirmed') return;
  const gone = current;
  clearTimer = setTimeout(() => {
    clearTimer = null;
    if (current !== gone) return;
    clearedBefore = Math.max(clearedBefore, gone.createdAt);
    current = null;
    lastSpoken = '';
    if (speechOn()) window.speechSynthesis.cancel(); // nothing of the last customer is still being said
    render(true); // back to "Welcome", silently
  }, clearAfterMs);
}

// ---------------------------------------------------------------------------- PIN time-out warning

function tick() {
  const s = current;
  const box = $('sale-time');
  const left = s && s.state === 'pin' && s.deadline ? s.deadline - s.updatedAt - (Date.now() - received) : Infinity;
  if (!(left <= WARN_MS && left > 0)) {
    show(box, false);
    $('sale-time-say').textContent = ''; // so the next warning is news to a screen reader
    const waiting = !!s && s.state === 'pin' && !!s.deadline;
    if (waiting && ticker === null) ticker = setInterval(tick, 1000);
    if (!waiting && ticker !== null) {
      clearInterval(ticker);
      ticker = null;
    }
    return;
  }
  if (ticker === null) ticker = setInterval(tick, 1000);
  const first = lang === 'en' ? 'en' : 'zh';
  const second = first === 'en' ? 'zh' : 'en';
  const pair = T.timeLeft(Math.ceil(left / 1000));
  const a = document.createElement('span');
  a.textContent = pair[first];
  a.lang = first === 'en' ? 'en' : 'zh-CN';
  const b = document.createElement('span');
  b.className = 'sale-time-second';
  b.textContent = pair[second];
  b.lang = second === 'en' ? 'en' : 'zh-CN';
  $('sale-time-left').replaceChildren(a, b);
  show(box, true);
  // Said once (not every second), in both languages.
  if (!$('sale-time-say').textContent) $('sale-time-say').textContent = T.timeSay[first] + ' / ' + T.timeSay[second];
}

function setText(el, text, l) {
  el.textContent = text;
  el.lang = l;
}

function speak(text, l) {
  if (!speechOn() || text === lastSpoken) return;
  lastSpoken = text;
  const synth = window.speechSynthesis;
  synth.cancel();
  const u = new SpeechSynthesisUtterance(text);
  u.lang = l;
  u.rate = 0.85; // a little slower than default: easier to follow
  synth.speak(u);
}

function renderControls() {
  document.documentElement.lang = lang;
  const langBtn = $('lang');
  langBtn.textContent = lang === 'en' ? '中文' : 'English';
  langBtn.lang = lang === 'en' ? 'zh-CN' : 'en';
  langBtn.setAttribute(
    'aria-label',
    lang === 'en' ? '切换到中文 / Switch to Chinese' : 'Switch to English / 切换到英文',
  );
  // The speech button: its words in both languages, each marked with its own language (drawn anew each time).
  const sp = $('speech');
  const can = hasVoices();
  sp.setAttribute('aria-pressed', speech && can ? 'true' : 'false');
  sp.disabled = !can;
  const words = !('speechSynthesis' in window)
    ? T.speechNone
    : !can
      ? T.speechNoVoices
      : speech
        ? T.speechOn
        : T.speechOff;
  const first = lang === 'en' ? 'en' : 'zh';
  const second = first === 'en' ? 'zh' : 'en';
  sp.lang = first === 'en' ? 'en' : 'zh-CN';
  const other = document.createElement('span');
  other.lang = second === 'en' ? 'en' : 'zh-CN';
  other.textContent = ' / ' + words[second];
  sp.replaceChildren(document.createTextNode(words[first]), other);
}

function onSale(snap) {
  if (!tracker.take(snap)) return;
  // The newest sale wins the screen; a final one stays for ui.displayClearS, or until the next sale starts.
  if (current && snap.saleId !== current.saleId && snap.createdAt < current.createdAt) return;
  if (snap.createdAt <= clearedBefore && FINAL_STATES.has(snap.state)) return; // already cleared away
  current = snap;
  received = Date.now();
  if (statement !== null && !FINAL_STATES.has(snap.state)) closeStatement();
  render();
  scheduleClear();
}

async function onStatus(st) {
  if (st.ui && Number.isInteger(st.ui.displayClearS)) {
    clearAfterMs = st.ui.displayClearS * 1000;
    $('display').dataset.clearS = String(st.ui.displayClearS); // for the top-up screen (customer-topup.js)
  }
  if (st.activeSales.length) {
    for (const s of st.activeSales) onSale(s);
  } else if (current && !FINAL_STATES.has(current.state)) {
    // It ended while we were not connected: fetch how.
    const answer = await api('GET', '/api/v1/sales/' + encodeURIComponent(current.saleId));
    if (answer.status === 200) onSale(answer.body);
  }
}

async function main() {
  renderControls();
  $('lang').addEventListener('click', () => {
    lang = lang === 'en' ? 'zh-CN' : 'en';
    localStorage.setItem(LANG_KEY, lang);
    const url = new URL(location.href);
    url.searchParams.set('lang', lang);
    history.replaceState(null, '', url);
    lastSpoken = '';
    renderControls();
    render();
    renderStatement();
  });
  $('st-close').addEventListener('click', closeStatement);
  if ('speechSynthesis' in window)
    window.speechSynthesis.addEventListener('voiceschanged', () => {
      renderControls();
      lastSpoken = '';
    });
  $('speech').addEventListener('click', () => {
    if (!hasVoices()) {
      // No voice to speak with: it stays off, and the button says why.
      renderControls();
      return;
    }
    speech = !speech;
    localStorage.setItem(SPEECH_KEY, speech ? 'on' : 'off');
    if (!speech) window.speechSynthesis.cancel();
    lastSpoken = '';
    renderControls();
    render();
  });

  const pairing = {
    section: $('pair'),
    form: $('pair-form'),
    input: $('pair-token'),
    error: $('pair-error'),
    where: $('pair-where'),
  };
  const status = await statusWhenPaired((err) => {
    show($('prompt'), false);
    return pair(pairing, err, 'display', {
      empty: T.pairEmpty.zh + ' / ' + T.pairEmpty.en,
      defaultFile: T.pairFile.zh + ' / ' + T.pairFile.en,
      refused: (e) =>
        T.pairRefused.zh + ' / ' + (e.code === 'PAIRING_REFUSED' ? T.pairRefused.en : e.message + ' — ' + e.hint),
    });
  });
  show($('prompt'), true);
  await onStatus(status);
  render();
  void pollOffer();
  setInterval(() => void pollOffer(), OFFER_POLL_MS);
  void loadPinService();
  connectEvents({ status: (st) => void onStatus(st), sale: onSale, pinService: onPinService }, async (up) => {
    show($('conn'), !up);
    if (up) void loadPinService();
    else {
      const answer = await api('GET', '/api/v1/status');
      if (answer.status === 401) location.reload();
    }
  });
}

void main();
