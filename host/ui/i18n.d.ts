/** Types of host/ui/i18n.js (a plain ES module the pages load as it is), for the Node code that imports it. */
export type Lang = 'zh-CN' | 'en';
export interface CatalogueEntry {
  zh: string;
  en: string;
  /** The English for a count of exactly 1 ({n} = 1), where it differs. */
  en1?: string;
}
export type Params = Readonly<Record<string, string | number>>;
export const SECTIONS: Readonly<Record<string, Readonly<Record<string, CatalogueEntry>>>>;
export const CATALOGUE: Readonly<Record<string, CatalogueEntry>>;
export const LANGS: readonly Lang[];
export const DEFAULT_LANG: Lang;
export function normLang(lang: unknown): Lang;
export function has(key: string): boolean;
export function t(key: string, lang: string, params?: Params): string;
export function both(key: string, params?: Params): string;
