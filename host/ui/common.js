// Shared by the counter page and the customer display: API calls with the paired cookie, the live
// event stream, pairing, and money formatting. Plain ES modules, no dependencies, no build step.
import { has, normLang, t } from './i18n.js';

/** Call the daemon's API. Resolves with {status, body}; never throws for an HTTP error status. */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return {
      status: 0,
      body: {
        error: {
          code: 'DAEMON_UNREACHABLE',
          message: 'the cardpost daemon does not answer',
          hint: 'check that it is running, then reload this page',
        },
      },
    };
  }
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed };
}

/** The error object of an API answer, or a generic one. */
export function errorOf(answer) {
  return answer.body && answer.body.error
    ? answer.body.error
    : {
        code: 'HTTP_' + answer.status,
        message: 'the daemon answered ' + answer.status,
        hint: 'try again; if it persists, check the daemon log',
      };
}

/**
 * A refusal or a failure as parts for the merchant (counter-i18n.js `putParts`): the lead for its kind
 * from the error registry (docs/errors.md), then the catalogue's plain words for its code, what happened
 * and what to do; a code without its own words keeps the daemon's message and hint (English, marked so).
 */
export function refusalParts(e, lang = 'en') {
  const l = normLang(lang);
  const lead = e.kind && has('kind.' + e.kind) ? t('kind.' + e.kind, l) : '';
  if (has('err.' + e.code)) return [lead + t('err.' + e.code, l) + ' — ' + t('err.' + e.code + '.todo', l)];
  const words = e.hint ? e.message + ' — ' + e.hint : e.message;
  return l === 'en' ? [lead + words] : [lead, { text: words, lang: 'en' }];
}

/** A refusal from the API as one line for the merchant: the lead for its kind, what happened, what to do. */
export function refusalText(e, lang = 'en') {
  return refusalParts(e, lang)
    .map((p) => (typeof p === 'string' ? p : p.text))
    .join('');
}

// ISO 4217 numeric → alphabetic for the currencies a counter here is likely to use.
const CURRENCIES = {
  156: 'CNY',
  344: 'HKD',
  446: 'MOP',
  901: 'TWD',
  392: 'JPY',
  410: 'KRW',
  702: 'SGD',
  840: 'USD',
  978: 'EUR',
  826: 'GBP',
};

function currencyFormat(currency) {
  const code = CURRENCIES[currency];
  // zh-CN formatting gives the plain "¥" for yuan, which is what the shop and its customers see.
  return code ? new Intl.NumberFormat('zh-CN', { style: 'currency', currency: code }) : null;
}

/** Digits after the decimal point for this currency (2 for CNY, 0 for JPY). */
export function minorDigits(currency) {
  const f = currencyFormat(currency);
  return f ? f.resolvedOptions().maximumFractionDigits : 2;
}

/** 1250, 156 → "¥12.50". */
export function money(minor, currency) {
  const f = currencyFormat(currency);
  const digits = minorDigits(currency);
  const major = minor / 10 ** digits;
  return f ? f.format(major) : major.toFixed(digits) + ' (' + currency + ')';
}

/** "12.5" → 1250 (for 2 minor digits); null when it is not a plain positive amount. */
export function parseAmount(text, currency) {
  const digits = minorDigits(currency);
  const t = text.trim().replace(/[,\s]/g, '');
  const re = digits > 0 ? new RegExp('^(\\d{1,9})(?:\\.(\\d{0,' + digits + '}))?$') : /^(\d{1,9})$/;
  const m = re.exec(t);
  if (!m) return null;
  const frac = (m[2] || '').padEnd(digits, '0');
  const minor = Number(m[1]) * 10 ** digits + (digits ? Number(frac) : 0);
  return minor > 0 ? minor : null;
}

/** Shows the element (removes `hidden`) or hides it. */
export function show(el, visible) {
  el.hidden = !visible;
}

/**
 * Pairing: a page without the session cookie gets 401 from the API. It then shows the form, and the
 * token typed there goes to POST /api/v1/pair, which sets an HttpOnly cookie (the page never sees
 * or keeps the token itself), for `scope` 'counter' or 'display'. Resolves once the page is paired.
 * `words` gives the page's own texts: {empty, defaultFile, refused(error) → string}.
 */
export function pair(elements, hint, scope, words = {}) {
  const { section, form, input, error, where } = elements;
  // The daemon's 401 names its token file (error.tokenFile).
  where.textContent =
    (hint && typeof hint.tokenFile === 'string' && hint.tokenFile) ||
    words.defaultFile ||
    "the api-token file in the daemon's data folder";
  show(section, true);
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', async function onSubmit(ev) {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) {
        error.textContent = words.empty || 'Paste the token first.';
        show(error, true);
        input.focus();
        return;
      }
      // Each page asks for its own scope: the customer display's cookie can only show the sale and take its PIN.
      const answer = await api('POST', '/api/v1/pair', { token, scope });
      input.value = '';
      if (answer.status === 200) {
        form.removeEventListener('submit', onSubmit);
        show(error, false);
        show(section, false);
        resolve();
        return;
      }
      const e = errorOf(answer);
      error.textContent = words.refused ? words.refused(e) : e.message + ' — ' + e.hint;
      show(error, true);
      input.focus();
    });
  });
}

/**
 * Asks for the status until the page is paired; resolves with the status body. `onNeedsPairing` is
 * called with the 401 error and must resolve once pairing is done.
 */
export async function statusWhenPaired(onNeedsPairing) {
  for (;;) {
    const answer = await api('GET', '/api/v1/status');
    if (answer.status === 200) return answer.body;
    if (answer.status === 401) {
      await onNeedsPairing(errorOf(answer));
      continue;
    }
    await new Promise((r) => setTimeout(r, 2000)); // daemon starting or gone: try again shortly
  }
}

/**
 * The live event stream. EventSource reconnects by itself; `onConnection(false)` is called while it
 * is down, and after a reconnect the daemon sends a fresh `status` first, so no state is stale.
 */
export function connectEvents(handlers, onConnection) {
  const source = new EventSource('/api/v1/events');
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      handler(data);
    });
  }
  source.addEventListener('open', () => onConnection(true));
  source.addEventListener('error', () => onConnection(false));
  return source;
}

export const FINAL_STATES = new Set(['done', 'cancelled', 'timed_out', 'failed', 'unconfirmed']);

/**
 * Keeps the newest snapshot of each sale: events and POST answers can arrive in either order, and
 * an older snapshot must never overwrite a newer one.
 */
export class SaleTracker {
  constructor() {
    this.sales = new Map();
  }
  /** Returns true when `snap` is news (and is kept). */
  take(snap) {
    const old = this.sales.get(snap.saleId);
    if (old && old.updatedAt > snap.updatedAt) return false;
    this.sales.set(snap.saleId, snap);
    if (this.sales.size > 50) this.sales.delete(this.sales.keys().next().value);
    return true;
  }
  get(id) {
    return this.sales.get(id);
  }
}
