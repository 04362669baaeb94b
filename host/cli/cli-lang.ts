import { CardpostError } from '../../protocol/errors.js';
import { kindOf } from '../errors/registry.js';
import { has, t, type Params } from '../ui/i18n.js';
import { LANGS, envLang, isUnknownLang, type Lang, type LangHolder } from './lang-choice.js';

/**
 * What the CLI says to a merchant, in the language lang-choice.ts decided (docs/ui.md "Languages"),
 * from the one catalogue the counter page uses (host/ui/i18n.js, sections i18n-cli*.js). `--json`
 * output is never translated.
 */

export { chosenLang, envLang, localeLang, parseLang, type Lang, type LangHolder } from './lang-choice.js';

/** Texts of one language: `w('cli.sale.line', { … })`. The catalogue test finds every `w('…')` in host/cli. */
export type Words = ((key: string, params?: Params) => string) & { readonly lang: Lang };

export function wordsIn(lang: Lang): Words {
  return Object.assign((key: string, params?: Params) => t(key, lang, params), { lang });
}

/** The words for `key` + a value the API names (a state, an outcome), else that value as it is. */
export function wordOr(w: Words, prefix: string, value: string): string {
  return has(prefix + value) ? w(prefix + value) : value;
}

/** The words of a run: --lang or CARDPOST_LANG, else the daemon's ui.language once asked, else the locale. */
export const words = (io: LangHolder): Words => wordsIn(io.lang ?? envLang());

/**
 * Marks an error whose message and hint are in the merchant's language already: printed as they are.
 * A registered symbol on the error itself, not a set in this module: launch.ts loads this module late
 * (import()), and under a test runner that loads the commands as CommonJS that is a second copy of it.
 */
const SAID = Symbol.for('cardpost.cli.said');

/** Mark an error as worded for the merchant already (its code stays; only the words are the language's). */
export function said<E extends CardpostError>(e: E): E {
  Object.defineProperty(e, SAID, { value: true });
  return e;
}

const isSaid = (e: object): boolean => SAID in e;

/** A typed error in the catalogue's words: what happened and what to do, in `lang`. */
export function catalogueError(
  code: string,
  lang: Lang,
  what: { key: string; params?: Params },
  todo: { key: string; params?: Params },
): CardpostError {
  return said(new CardpostError(code, t(what.key, lang, what.params), t(todo.key, lang, todo.params)));
}

/** What the merchant reads for an error: { message, hint }. */
export interface ErrorWords {
  message: string;
  hint: string;
}

/**
 * An error (raised here or answered by the daemon) in the merchant's language. English, or an error
 * worded already: unchanged. zh-CN: the CLI's words for its code (`cli.err.CODE`), else the page's
 * (`err.CODE`), else the lead for its kind with the English words (a code nobody has worded yet).
 */
export function errorWords(e: { code: string; message: string; hint?: string }, lang: Lang): ErrorWords {
  if (lang === 'en' || isSaid(e)) return { message: e.message, hint: e.hint ?? '' };
  if (isUnknownLang(e))
    return {
      message: t('cli.lang.bad', lang, { lang: e.unknownLang }),
      hint: t('cli.lang.bad.todo', lang, { langs: LANGS.join(', ') }),
    };
  for (const prefix of ['cli.err.', 'err.'])
    if (has(prefix + e.code) && has(prefix + e.code + '.todo'))
      return { message: t(prefix + e.code, lang), hint: t(prefix + e.code + '.todo', lang) };
  const lead = has('kind.' + kindOf(e.code)) ? t('kind.' + kindOf(e.code), lang) : '';
  return { message: lead + e.message, hint: e.hint ?? '' };
}

/** The CLI's one line for an error: "CODE: what happened — what to do" (CardpostError.describe, in `lang`). */
export function describeError(e: CardpostError, lang: Lang): string {
  const w = errorWords(e, lang);
  return w.hint ? `${e.code}: ${w.message} — ${w.hint}` : `${e.code}: ${w.message}`;
}
