// The counter page's top-up form (docs/ui.md "Top-up and sync"): amount and how the holder pays, or
// a sync of the card; the answer (new balance, or why not and what to do) shown beneath. Each top-up
// is sent with an Idempotency-Key; a top-up that was cut off is finished by sending it again, with
// the same key, as long as the amount and method are unchanged.
import { api, errorOf, money, parseAmount, refusalParts, show } from './common.js';
import { lang, onLang, putParts, t } from './counter-i18n.js';

const $ = (id) => document.getElementById(id);
const RESUMABLE = new Set(['TOPUP_BANK_UNCERTAIN', 'TOPUP_CARD_REMOVED', 'TOPUP_SETTLE_PENDING']);
let pending = null; // {key, amount, method}: the last top-up that was cut off
let currency = null;
let said = null; // {parts: () => parts, kind}: the last line, drawn again when the language changes

async function counterCurrency() {
  if (currency === null) {
    const a = await api('GET', '/api/v1/status');
    currency = a.status === 200 && a.body.currency ? a.body.currency : 156;
  }
  return currency;
}

/** The line beneath the form; `parts` is called again when the page's language changes. */
function say(parts, kind) {
  said = { parts, kind };
  const el = $('topup-msg');
  putParts(el, parts());
  el.dataset.kind = kind;
}

async function send(amount, method) {
  const go = [$('topup-go'), $('topup-sync')];
  const same = pending && pending.amount === amount && pending.method === method;
  const key = same ? pending.key : crypto.randomUUID();
  for (const b of go) b.disabled = true;
  say(() => [t(amount === 0 ? 'topup.syncing' : 'topup.busy')], 'busy');
  let answer;
  try {
    const res = await fetch('/api/v1/topups', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(amount === 0 ? { amount } : { amount, method }),
    });
    const text = await res.text();
    answer = { status: res.status, body: text ? JSON.parse(text) : null };
  } catch {
    answer = { status: 0, body: null };
  } finally {
    for (const b of go) b.disabled = false;
  }
  if (answer.status === 201) {
    pending = null;
    const r = answer.body;
    say(
      () => [
        (r.method === 'sync'
          ? t('topup.synced', { card: r.card })
          : t('topup.done', {
              amount: money(r.amount, r.currency),
              method: t('topup.method.' + r.method),
              card: r.card,
            })) + t('topup.newBalance', { balance: money(r.balance, r.currency) }),
      ],
      'ok',
    );
    $('topup-amount').value = '';
    return;
  }
  const e = errorOf(answer);
  pending = RESUMABLE.has(e.code) ? { key, amount, method } : null;
  const again = !!pending;
  say(() => [...refusalParts(e, lang()), again ? t('topup.again') : ''], 'error');
}

const form = $('topup-form');
if (form) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const amount = parseAmount($('topup-amount').value, await counterCurrency());
    if (amount === null) {
      say(() => [t('topup.badAmount')], 'error');
      $('topup-amount').focus();
      return;
    }
    const method = form.querySelector('input[name="topup-method"]:checked')?.value ?? 'cash';
    await send(amount, method);
  });
  $('topup-sync').addEventListener('click', () => void send(0, 'sync'));
  show($('topup-msg'), true);
  onLang(() => {
    if (said) say(said.parts, said.kind);
  });
}
