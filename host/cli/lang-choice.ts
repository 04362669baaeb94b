import { CardpostError } from '../../protocol/errors.js';

/**
 * Which language the CLI speaks to a merchant (docs/ui.md "Languages"), decided without loading the
 * catalogue: launch.ts needs this for every run, `cardpost --help` included, and the catalogue's words
 * only when there is something to say (cli-lang.ts). In order: `--lang`, CARDPOST_LANG, the daemon's
 * `ui.language` (api-client.ts `connectFor`), the locale.
 */

export type Lang = 'zh-CN' | 'en';
export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

/** `--lang xx` or CARDPOST_LANG=xx: a usage error (CLI_USAGE, exit 2) naming the languages there are. */
export class UnknownLangError extends CardpostError {
  /** What was given; also how cli-lang.ts knows this error (by its shape: it may hold another copy of this class). */
  readonly unknownLang: string;
  constructor(value: string) {
    super(
      'CLI_USAGE',
      `"${value}" is not a language cardpost speaks`,
      `choose one of: ${LANGS.join(', ')} (--lang or CARDPOST_LANG)`,
    );
    this.unknownLang = value;
  }
}

/** An UnknownLangError, from whichever copy of this module made it. */
export const isUnknownLang = (e: object): e is UnknownLangError =>
  typeof (e as { unknownLang?: unknown }).unknownLang === 'string';

/** "zh-CN", "zh", "zh_CN.UTF-8", "en", "en-US" → a language the CLI speaks; anything else UnknownLangError. */
export function parseLang(value: string): Lang {
  const v = value.trim().toLowerCase();
  if (/^zh([-_](cn|hans))?(\..*)?$/.test(v)) return 'zh-CN';
  if (/^en([-_][a-z]{2})?(\..*)?$/.test(v)) return 'en';
  throw new UnknownLangError(value);
}

/** The locale's language: LC_ALL, else LC_MESSAGES, else LANG; `zh…` is zh-CN, anything else (C, POSIX) English. */
export function localeLang(env: NodeJS.ProcessEnv): Lang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^zh/i.test(locale) ? 'zh-CN' : 'en';
}

/** The language a person chose: --lang, else CARDPOST_LANG (a bad one is a usage error, as --lang's); else none. */
export function chosenLang(option: Lang | undefined, env: NodeJS.ProcessEnv = process.env): Lang | undefined {
  if (option) return option;
  if (env.CARDPOST_LANG) return parseLang(env.CARDPOST_LANG);
  return undefined;
}

/** CARDPOST_LANG, else the locale; never throws: for words said before the daemon is asked, or without it. */
export function envLang(env: NodeJS.ProcessEnv = process.env): Lang {
  try {
    return chosenLang(undefined, env) ?? localeLang(env);
  } catch {
    return localeLang(env);
  }
}

/** A run's language: set by the root program before any command runs (launch.ts), or by connectFor. */
export interface LangHolder {
  lang?: Lang;
}
