// The PIN service on the customer display (issue 14): activation of a new card, a PIN change, or an
// unblock with the PUK, started by the cashier. The holder types every secret on this screen's keypad
// (or on a terminal's own pad: then this screen only says so); each step goes to the daemon in
// POST /api/v1/pin-services/:id/entry and nowhere else. It follows the `pinService` events and
// GET /api/v1/pin-services/current (customer.js calls onPinService / loadPinService).
import { api, errorOf, show } from './common.js';
import { bilingual, both, keypad } from './customer-keypad.js';
import {
  CLOSE,
  KEY_LABEL,
  REFUSED,
  STATE,
  TIME,
  TITLE,
  failedText,
  lastTry,
  noticeText,
  stepNumber,
  stepText,
} from './customer-pin-texts.js';

const $ = (id) => document.getElementById(id);
const FINAL = new Set(['done', 'failed', 'cancelled', 'timed_out']);
const WARN_MS = 20_000; // the time-out warning (WCAG 2.2.1), this long before the step's deadline

let view = null; // the PinServiceView on screen
let received = 0; // Date.now() when it came (the deadline is counted from here: the clocks may differ)
let closed = ''; // a finished service the holder closed
let sent = null; // {serviceId, updatedAt}: the view a step was sent for, until the next view
let openFor = ''; // serviceId + step the keypad is open for
let ticker = null;
let spoken = '';

function saleLive() {
  const s = $('display').dataset.state;
  return !['idle', 'done', 'cancelled', 'timed_out', 'failed', 'unconfirmed'].includes(s);
}

function first() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q) return q.toLowerCase().startsWith('en') ? 'en' : 'zh';
  return localStorage.getItem('cardpost.customer.lang') === 'en' ? 'en' : 'zh';
}

/** A PinServiceView from the event stream or an API answer; an older one never replaces a newer. */
export function onPinService(v) {
  if (!v || typeof v.serviceId !== 'string') return;
  if (view && v.serviceId === view.serviceId && v.updatedAt < view.updatedAt) return;
  if (view && v.serviceId !== view.serviceId && v.createdAt < view.createdAt) return;
  view = v;
  received = Date.now();
  render();
}

/** The live (or just ended) service, on load and after a reconnect. */
export async function loadPinService() {
  const a = await api('GET', '/api/v1/pin-services/current');
  if (a.status === 200 && a.body) onPinService(a.body);
}

/** [instruction, hint, tone] for the view. */
function textFor(v) {
  switch (v.state) {
    case 'waiting_card':
    case 'reading':
    case 'working':
      return [...STATE[v.state], v.state === 'waiting_card' ? 'action' : 'busy'];
    case 'entry':
      if (v.entryOnDevice || !v.step) return [...STATE.onDevice, 'action'];
      return [...stepText(v.step, v.activation), 'action'];
    case 'done':
      return [...STATE.done, 'success'];
    case 'cancelled':
      return [...STATE.cancelled, 'calm'];
    case 'timed_out':
      return [...STATE.timed_out, 'problem'];
    default:
      return [...failedText(v.error ? v.error.code : ''), 'problem'];
  }
}

function render() {
  const v = view;
  const display = $('display');
  const on = !!v && v.serviceId !== closed && !(FINAL.has(v.state) && saleLive());
  show($('ps-screen'), on);
  if (!on) {
    delete display.dataset.pinService;
    keypad.close('service');
    openFor = '';
    stopTicker();
    return;
  }
  display.dataset.pinService = 'on';
  const [say, hint, tone] = textFor(v);
  const screen = $('ps-screen');
  screen.dataset.tone = tone;
  screen.dataset.state = v.state;
  bilingual($('ps-title'), v.activation ? TITLE.activation : TITLE[v.kind] || TITLE.change, 'ps-second');
  const asking = v.state === 'entry' && !v.entryOnDevice && !!v.step;
  const num = asking ? stepNumber(v.step) : null;
  show($('ps-step'), !!num);
  if (num) bilingual($('ps-step'), num, 'ps-second');
  bilingual($('ps-primary'), say, 'ps-second');
  show($('ps-hint'), !!hint);
  if (hint) bilingual($('ps-hint'), hint, 'ps-second');
  renderNotice(v, asking);
  renderKeypad(v, asking);
  const final = FINAL.has(v.state);
  const close = $('ps-close');
  const wasHidden = close.hidden;
  show(close, final);
  if (final) {
    bilingual(close, CLOSE, 'ps-second');
    close.lang = first() === 'en' ? 'en' : 'zh-CN';
    if (wasHidden) close.focus({ preventScroll: true });
  }
  if (v.state === 'entry' && v.deadline) startTicker();
  else stopTicker();
  speak(say);
}

function renderNotice(v, asking) {
  let pair = null;
  if (v.state === 'entry' && v.notice) pair = noticeText(v.notice, v.triesLeft);
  else if (asking && v.triesLeft === 1 && (v.step === 'current' || v.step === 'puk')) pair = [lastTry(v.step), null];
  const box = $('ps-notice');
  show(box, !!pair);
  if (!pair) return;
  const last = v.triesLeft === 1 && (v.step === 'current' || v.step === 'puk');
  box.dataset.level = last ? 'last' : 'again';
  bilingual($('ps-notice-what'), pair[0], 'ps-second');
  show($('ps-notice-more'), !!pair[1]);
  if (pair[1]) bilingual($('ps-notice-more'), pair[1], 'ps-second');
}

function renderKeypad(v, asking) {
  if (!asking) {
    keypad.close('service');
    openFor = '';
    return;
  }
  const key = v.serviceId + ':' + v.step;
  if (keypad.owner === 'service' && openFor === key) {
    // Nothing sent yet (keep what is being typed), or still the view the step was sent for ("checking").
    if (!sent || sent.updatedAt >= v.updatedAt) return keypad.relabel();
  }
  sent = null;
  openFor = key;
  const label = v.step === 'current' && v.activation ? KEY_LABEL.activation : KEY_LABEL[v.step];
  const puk = v.step === 'puk';
  keypad.open('service', { min: puk ? 8 : 4, max: 12, label, onSubmit: send });
}

async function send(pin) {
  const v = view;
  if (!v || v.state !== 'entry' || !v.step) return;
  sent = { serviceId: v.serviceId, updatedAt: v.updatedAt };
  const a = await api('POST', '/api/v1/pin-services/' + encodeURIComponent(v.serviceId) + '/entry', {
    step: v.step,
    pin,
  });
  if (a.status === 202) return; // the next view says how it went
  // A newer view came meanwhile and reopened the keypad: that one stands.
  if (!sent || sent.serviceId !== v.serviceId || sent.updatedAt !== v.updatedAt) return;
  sent = null;
  const e = errorOf(a);
  keypad.refused(
    e.code === 'PIN_FORMAT' ? REFUSED.format : e.code === 'PIN_ENTRY_NOT_HERE' ? REFUSED.notHere : REFUSED.other,
  );
  if (e.code === 'PIN_SERVICE_NOT_ASKING' || a.status === 404) void loadPinService();
}

// ---------------------------------------------------------------------------- time-out warning

function remaining() {
  const v = view;
  if (!v || !v.deadline) return Infinity;
  const base = typeof v.updatedAt === 'number' ? v.deadline - v.updatedAt : v.deadline - received;
  return base - (Date.now() - received);
}

function tick() {
  const v = view;
  const left = remaining();
  const box = $('ps-time');
  const warn = !!v && v.state === 'entry' && left <= WARN_MS && left > 0;
  if (!warn) {
    show(box, false);
    $('ps-time-say').textContent = ''; // so the next warning is news to a screen reader
    return;
  }
  const secs = Math.ceil(left / 1000);
  // The seconds count down visibly; the alert itself is said once (not every second).
  bilingual($('ps-time-left'), TIME.left(secs), 'ps-second');
  show(box, true);
  if (!$('ps-time-say').textContent) $('ps-time-say').textContent = both(TIME.say);
}

function startTicker() {
  tick();
  if (ticker === null) ticker = setInterval(tick, 1000);
}

function stopTicker() {
  if (ticker !== null) clearInterval(ticker);
  ticker = null;
  show($('ps-time'), false);
  $('ps-time-say').textContent = '';
}

// ---------------------------------------------------------------------------- speech, controls

function speak(pair) {
  const on = localStorage.getItem('cardpost.customer.speech') === 'on' && 'speechSynthesis' in window;
  const f = first();
  const text = pair[f];
  if (!on || text === spoken) return;
  spoken = text;
  const u = new SpeechSynthesisUtterance(text);
  u.lang = f === 'en' ? 'en' : 'zh-CN';
  u.rate = 0.85;
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(u);
}

if ($('ps-screen')) {
  $('ps-close').addEventListener('click', () => {
    if (view) closed = view.serviceId;
    render();
  });
  // The display's language button (customer.js) changes the order; draw again after it.
  $('lang').addEventListener('click', () =>
    setTimeout(() => {
      if (view) render();
      keypad.relabel();
    }, 0),
  );
  // A sale that starts takes the screen from a finished service.
  new MutationObserver(() => view && FINAL.has(view.state) && render()).observe($('display'), {
    attributes: true,
    attributeFilter: ['data-state'],
  });
}
