// The counter page's top-up form (docs/ui.md "Top-up and sync"): amount and how the holder pays, or
// a sync of the card; the answer (new balance, or why not and what to do) shown beneath. Each top-up
// is sent with an Idempotency-Key; a top-up that was cut off is finished by sending it again, with
// the same key, as long as the amount and method are unchanged.
import { api, errorOf, money, parseAmount, show } from './common.js';

const $ = (id) => document.getElementById(id);
const RESUMABLE = new Set(['TOPUP_BANK_UNCERTAIN', 'TOPUP_CARD_REMOVED', 'TOPUP_SETTLE_PENDING']);
let pending = null; // {key, amount, method}: the last top-up that was cut off
let currency = null;

async function counterCurrency() {
  if (currency === null) {
    const a = await api('GET', '/api/v1/status');
    currency = a.status === 200 && a.body.currency ? a.body.currency : 156;
  }
  return currency;
}

function say(text, kind) {
  const el = $('topup-msg');
  el.textContent = text;
  el.dataset.kind = kind;
}

async function send(amount, method) {
  const go = [$('topup-go'), $('topup-sync')];
  const same = pending && pending.amount === amount && pending.method === method;
  const key = same ? pending.key : crypto.randomUUID();
  for (const b of go) b.disabled = true;
  say(amount === 0 ? 'Syncing the card — keep it in the reader…' : 'Topping up — keep the card in the reader…', 'busy');
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
    const t = answer.body;
    const what =
      t.method === 'sync'
        ? 'Card ' + t.card + ' synced'
        : 'Topped up ' + money(t.amount, t.currency) + ' (' + t.method + ') on card ' + t.card;
    say(what + '. New balance: ' + money(t.balance, t.currency) + '.', 'ok');
    $('topup-amount').value = '';
    return;
  }
  const e = errorOf(answer);
  pending = RESUMABLE.has(e.code) ? { key, amount, method } : null;
  say(e.message + ' — ' + e.hint + (pending ? ' (press the same button again to finish it)' : ''), 'error');
}

const form = $('topup-form');
if (form) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const amount = parseAmount($('topup-amount').value, await counterCurrency());
    if (amount === null) {
      say('Type the amount to top up, such as 200.00 (or use "Sync card" for no money).', 'error');
      $('topup-amount').focus();
      return;
    }
    const method = form.querySelector('input[name="topup-method"]:checked')?.value ?? 'cash';
    await send(amount, method);
  });
  $('topup-sync').addEventListener('click', () => void send(0, 'sync'));
  show($('topup-msg'), true);
}
