// The counter page's PIN service panel (issue 14): activate a new card, change a PIN, or unblock it
// with the PUK. The cashier only starts, watches and cancels: the customer types every digit on the
// customer display (or a terminal's keypad), so this page shows the step, the tries left and the
// outcome with what to do, and never a digit typed. Follows the `pinService` events and, on load,
// GET /api/v1/pin-services/current (counter.js calls onPinService / loadPinService).
import { api, errorOf, refusalParts, show } from './common.js';
import { lang, onLang, putParts, t } from './counter-i18n.js';
import { has } from './i18n.js';

const $ = (id) => document.getElementById(id);
const FINAL = new Set(['done', 'failed', 'cancelled', 'timed_out']);

let view = null; // the PinServiceView shown
const activations = new Set(); // services the cashier started with "Activate new card"
let starting = false;

/** The catalogue key of what happened and of what to do, for a failed service, by error code. */
function failed(e) {
  switch (e.code) {
    case 'CARD_PIN_BLOCKED':
    case 'CARD_REMOVED':
    case 'PIN_UNBLOCK_NOT_ALLOWED':
      return [[t('ps.out.' + e.code)], [t('ps.out.' + e.code + '.todo')]];
    case 'CARD_PUK_BLOCKED':
    case 'CARD_TERMINATED':
      return [[t('ps.out.terminated')], [t('ps.out.terminated.todo')]];
    case 'CARD_REVOKED':
    case 'CARD_BLOCKED':
      return [[t('ps.out.revoked')], [t('ps.out.revoked.todo')]];
    default:
      // The registry's plain words where the catalogue has them, else the daemon's hint (English).
      return has('err.' + e.code)
        ? [[t('err.' + e.code)], [t('err.' + e.code + '.todo')]]
        : [[t('ps.out.other')], e.hint ? [{ text: e.hint, lang: 'en' }] : []];
  }
}

function stepKey(v) {
  switch (v.step) {
    case 'current':
      return v.activation ? 'ps.step.currentLetter' : 'ps.step.current';
    case 'puk':
    case 'new':
    case 'confirm':
      return 'ps.step.' + v.step;
    default:
      return null;
  }
}

function triesText(v) {
  if (v.state !== 'entry' || typeof v.triesLeft !== 'number') return '';
  const puk = v.step === 'puk' || (v.kind === 'unblock' && !v.step && !v.notice);
  const n = v.triesLeft;
  if (n === 1) return t(puk ? 'ps.lastTryPuk' : 'ps.lastTry');
  return t(puk ? 'ps.triesPuk' : 'ps.tries', { n });
}

let refusal = null; // () => [what, todo]: a start or cancel the daemon refused, drawn again in another language

function render() {
  const v = view;
  const running = !!v && !FINAL.has(v.state);
  for (const b of $('ps-start').querySelectorAll('button')) b.disabled = running || starting;
  show($('ps-cancel'), running && v.state !== 'working');
  const stateEl = $('ps-state');
  if (!v) {
    stateEl.dataset.state = 'idle';
    stateEl.textContent = t('ps.state.idle');
    $('ps-detail').replaceChildren();
    $('ps-tries').textContent = '';
    showRefusal();
    return;
  }
  stateEl.dataset.state = v.state;
  const kind = t(v.activation ? 'ps.kind.activation' : 'ps.kind.' + v.kind);
  const key = v.state === 'entry' ? (v.entryOnDevice ? 'device' : 'display') : v.state;
  const head = t(has('ps.state.' + key) ? 'ps.state.' + key : 'ps.state.failed');
  stateEl.textContent = t('ps.head', { kind, state: head });

  const detail = [];
  if (v.state === 'waiting_card' && v.reader) detail.push(t('ps.readerIs', { reader: v.reader }));
  if (v.cardLast4) detail.push(t('ps.cardLast4', { last4: v.cardLast4 }));
  if (v.state === 'entry' && stepKey(v)) detail.push(t(stepKey(v)));
  if (v.state === 'entry' && v.notice)
    detail.push(t(has('ps.notice.' + v.notice.code) ? 'ps.notice.' + v.notice.code : 'ps.notice.other'));
  if (
    activations.has(v.serviceId) &&
    !v.activation &&
    v.kind === 'change' &&
    !FINAL.has(v.state) &&
    v.state !== 'waiting_card'
  )
    detail.push(t('ps.alreadyActive'));
  $('ps-detail').replaceChildren(
    ...detail.map((d) => {
      const line = document.createElement('span');
      line.className = 'ps-line';
      line.textContent = d;
      return line;
    }),
  );
  const tries = triesText(v);
  $('ps-tries').textContent = tries;
  $('ps-tries').dataset.last = tries && v.triesLeft === 1 ? 'true' : 'false';

  const outcome = $('ps-outcome');
  let out = null;
  if (v.state === 'done') out = [[t('ps.out.done')], [t('ps.out.done.todo')]];
  else if (v.state === 'failed') out = failed(v.error || { code: 'UNKNOWN', message: 'unknown', hint: '' });
  else if (v.state === 'timed_out') out = [[t('ps.state.timed_out')], [t('ps.out.again')]];
  else if (v.state === 'cancelled') out = [[t('ps.state.cancelled')], [t('ps.out.again')]];
  if (refusal || !out) return showRefusal();
  show(outcome, true);
  outcome.dataset.kind = v.state === 'done' ? 'ok' : v.state === 'cancelled' ? 'calm' : 'error';
  putParts($('ps-outcome-what'), out[0]);
  putParts($('ps-outcome-todo'), out[1]);
}

/** The outcome box for a refused start or cancel (or hidden when there is none). */
function showRefusal() {
  const outcome = $('ps-outcome');
  show(outcome, !!refusal);
  if (!refusal) return;
  const [what, todo] = refusal();
  outcome.dataset.kind = 'error';
  putParts($('ps-outcome-what'), what);
  putParts($('ps-outcome-todo'), todo);
}

/** A PinServiceView from the event stream or an API answer; an older one never replaces a newer. */
export function onPinService(v) {
  if (!v || typeof v.serviceId !== 'string') return;
  if (view && v.serviceId === view.serviceId && v.updatedAt < view.updatedAt) return;
  if (view && v.serviceId !== view.serviceId && v.createdAt < view.createdAt) return;
  view = v;
  refusal = null;
  render();
}

/**
 * The readers (from the status and the `readers` events): with two or more, the cashier picks the one
 * holding the card, as the daemon cannot tell which card is meant ("Automatic" lets it pick when it can).
 */
let lastReaders = [];
export function pinReaders(readers) {
  const select = $('ps-reader');
  if (!select || !Array.isArray(readers)) return;
  const names = readers.map((r) => r.name);
  const was = select.value;
  const auto = document.createElement('option');
  auto.value = '';
  auto.textContent = t('ps.auto');
  select.replaceChildren(
    auto,
    ...readers.map((r) => {
      const o = document.createElement('option');
      o.value = r.name;
      o.textContent = t(r.cardPresent ? 'ps.readerCardIn' : 'ps.readerNoCard', { reader: r.name });
      return o;
    }),
  );
  lastReaders = readers;
  select.value = names.includes(was) ? was : '';
  show($('ps-reader-row'), names.length >= 2);
}

/** The live (or just ended) service, on load and after a reconnect. */
export async function loadPinService() {
  const a = await api('GET', '/api/v1/pin-services/current');
  if (a.status === 200 && a.body) onPinService(a.body);
}

async function start(button) {
  if (starting || (view && !FINAL.has(view.state))) return;
  starting = true;
  render();
  const reader = $('ps-reader-row').hidden ? '' : $('ps-reader').value;
  const answer = await api('POST', '/api/v1/pin-services', {
    kind: button.dataset.kind,
    ...(reader ? { reader } : {}),
  });
  starting = false;
  if (answer.status !== 201) {
    const e = errorOf(answer);
    refusal = () => [
      [t(has('ps.refused.' + e.code) ? 'ps.refused.' + e.code : 'ps.couldNotStart')],
      refusalParts(e, lang()),
    ];
    render();
    if (e.code === 'PIN_SERVICE_READER_REQUIRED' && !$('ps-reader-row').hidden) $('ps-reader').focus();
    return;
  }
  if (button.dataset.activate === 'true') activations.add(answer.body.serviceId);
  onPinService(answer.body);
  render();
  $('ps-status').focus({ preventScroll: true });
}

async function cancel() {
  if (!view || FINAL.has(view.state)) return;
  const answer = await api('POST', '/api/v1/pin-services/' + encodeURIComponent(view.serviceId) + '/cancel');
  if (answer.status === 200) onPinService(answer.body);
  else {
    const e = errorOf(answer);
    refusal = () => [[t('ps.couldNotCancel')], refusalParts(e, lang())];
    render();
  }
}

if ($('pin-service')) {
  for (const b of $('ps-start').querySelectorAll('button')) b.addEventListener('click', () => void start(b));
  $('ps-cancel').addEventListener('click', () => void cancel());
  $('ps-status').tabIndex = -1;
  render();
  onLang(() => {
    pinReaders(lastReaders);
    render();
  });
}
