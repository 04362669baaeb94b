// The counter page's language (docs/ui.md "Languages"): zh-CN or English, from the catalogue (i18n.js).
// The choice made on the page (the button in the top bar, or ?lang=en) is remembered in localStorage;
// without one, the counter's configuration decides (`ui.language`, sent in the status). Static texts
// carry data-i18n="key" (text), data-i18n-label="key" (aria-label) or data-i18n-title (the page title);
// scripts call t('key', params) and register a redraw with onLang(fn).
import { normLang, t as text } from './i18n.js';

const KEY = 'cardpost.counter.lang';
const listeners = [];

function chosen() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q) return normLang(q);
  const stored = localStorage.getItem(KEY);
  return stored ? normLang(stored) : null;
}

let current = chosen() ?? 'zh-CN';

/** The page's language: 'zh-CN' or 'en'. */
export function lang() {
  return current;
}

/** The text of `key` in the page's language. */
export function t(key, params) {
  return text(key, current, params);
}

/** Calls `fn` (with the new language) each time the language changes. */
export function onLang(fn) {
  listeners.push(fn);
}

/** The configured default (status `ui.language`): used unless the page's own choice was made. */
export function configuredLang(l) {
  if (chosen() === null && normLang(l) !== current) setLang(normLang(l), false);
}

/** Switch the page; `remember` keeps the choice for this browser. */
export function setLang(l, remember = true) {
  current = normLang(l);
  if (remember) {
    localStorage.setItem(KEY, current);
    const url = new URL(location.href);
    if (url.searchParams.has('lang')) {
      url.searchParams.set('lang', current);
      history.replaceState(null, '', url);
    }
  }
  applyStatic();
  for (const fn of listeners) fn(current);
}

/** Fills every data-i18n element of the page (or of `root`) in the page's language. */
export function applyStatic(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  const title = document.querySelector('title[data-i18n-title]');
  if (title) document.title = t(title.dataset.i18nTitle);
  const button = document.getElementById('lang');
  if (button) {
    // The button names the other language, in that language.
    button.textContent = t('lang.switch');
    button.lang = current === 'en' ? 'zh-CN' : 'en';
    button.setAttribute('aria-label', t('lang.switchLabel'));
  }
}

/**
 * Text into `el` from parts: a string in the page's language, or {text, lang} for words in another one
 * (the daemon's and the bank's own messages are English), marked so screen readers use the right voice.
 */
export function putParts(el, parts) {
  el.replaceChildren(
    ...parts
      .filter((p) => p !== '' && p !== null && p !== undefined)
      .map((p) => {
        if (typeof p === 'string') return document.createTextNode(p);
        if (normLang(p.lang) === current) return document.createTextNode(p.text);
        const span = document.createElement('span');
        span.lang = p.lang;
        span.textContent = p.text;
        return span;
      }),
  );
}

if (typeof document !== 'undefined') {
  applyStatic();
  const button = document.getElementById('lang');
  if (button) button.addEventListener('click', () => setLang(current === 'en' ? 'zh-CN' : 'en'));
}
