// The merchant's words in zh-CN and English, from one catalogue (docs/ui.md "Languages"): the counter
// page and the CLI messages a merchant reads. Plain ES module with no DOM and no dependency, so the
// pages load it as /ui/i18n.js and Node imports it (host/ui/i18n.d.ts gives its types).
//
// The texts live in one file per area, each a map key → {zh, en} (`en1`: the English for a count of
// exactly 1). To add texts for a new panel: make host/ui/i18n-<area>.js exporting TEXTS, import it
// here and add it to SECTIONS. test/unit/ui-catalogue.test.ts checks that every key has both
// languages, that no key is defined twice, and that every t('…') in host/ui/*.js and every
// data-i18n key in the pages exists here. Placeholders: {name}, filled from the params of t().
import { TEXTS as COUNTER } from './i18n-counter.js';
import { TEXTS as ERRORS } from './i18n-errors.js';
import { TEXTS as PIN_SERVICE } from './i18n-pin-service.js';
import { TEXTS as TOPUP } from './i18n-topup.js';
import { TEXTS as CLOSE } from './i18n-close.js';
import { TEXTS as MONEY_BACK } from './i18n-money-back.js';
import { TEXTS as CLI } from './i18n-cli.js';
import { TEXTS as CLI_DAY } from './i18n-cli-day.js';

/** Every section, in the order they are merged. A key defined in two sections is a mistake (the test finds it). */
export const SECTIONS = {
  counter: COUNTER,
  errors: ERRORS,
  pinService: PIN_SERVICE,
  topup: TOPUP,
  close: CLOSE,
  moneyBack: MONEY_BACK,
  cli: CLI,
  cliDay: CLI_DAY,
};

/** key → {zh, en, en1?}. */
export const CATALOGUE = Object.freeze(Object.assign({}, ...Object.values(SECTIONS)));

export const LANGS = ['zh-CN', 'en'];
export const DEFAULT_LANG = 'zh-CN';

/** 'en', 'en-US', 'EN' → 'en'; anything else (zh, zh-CN, zh-Hans, unknown) → 'zh-CN'. */
export function normLang(lang) {
  return typeof lang === 'string' && lang.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
}

/** Whether the catalogue has this key. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(CATALOGUE, key);
}

/**
 * The text of `key` in `lang`, its {placeholders} filled from `params`. `params.n === 1` picks the
 * English singular (`en1`) where there is one. An unknown key comes back as itself, so a missing text
 * shows as its key (and the catalogue test fails), never as nothing.
 */
export function t(key, lang, params) {
  if (!has(key)) return key;
  const e = CATALOGUE[key];
  const en = normLang(lang) === 'en';
  let s = en ? (params && params.n === 1 && typeof e.en1 === 'string' ? e.en1 : e.en) : e.zh;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/** Both languages of one key, "中文 / English", e.g. for a label that must not depend on the page's choice. */
export function both(key, params) {
  return t(key, 'zh-CN', params) + ' / ' + t(key, 'en', params);
}
