/**
 * Escaping for the reports. Everything a report shows comes from outside the runner (scenario files,
 * device display lines, daemon output, error messages), so every string goes through one of these,
 * never into markup as it is.
 */

/**
 * Characters XML 1.0 does not allow at all (§2.2 Char): C0 controls other than tab/LF/CR, lone
 * surrogates, U+FFFE/U+FFFF. Not even `&#1;` is allowed, so they are replaced, by a visible `\uXXXX`
 * (more use to a reader than U+FFFD: a control byte in a device line is itself evidence).
 * DEL and the C1 controls are allowed but discouraged (§2.2 note); they are made visible too.
 */
const NOT_XML_CHAR = /[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

export function visibleControls(text: string): string {
  return text.replace(NOT_XML_CHAR, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** Text content of an XML element. `>` too, so that `]]>` never appears. */
export function xmlText(text: string): string {
  return visibleControls(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * An XML attribute value (written between double quotes). Tab, LF and CR are written as character
 * references: a parser's attribute-value normalisation (§3.3.3) would turn them into spaces.
 */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/** HTML text and attribute values alike (attributes are always double-quoted here). */
export function html(text: string): string {
  return visibleControls(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Han ideographs (CJK unified, extension A, compatibility): text that should be marked lang="zh". */
const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

/**
 * Escaped text, marked as Chinese when it holds Han characters: the browser then picks Chinese glyph
 * forms (Han unification) and a CJK font, as the customer display does.
 */
export function htmlMaybeChinese(text: string): string {
  return HAN.test(text) ? `<span lang="zh-CN">${html(text)}</span>` : html(text);
}
