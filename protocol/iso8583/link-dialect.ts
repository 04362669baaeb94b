import { CUP_TERMINAL_DIALECT, PLAIN_ASCII_DIALECT, PLAIN_BCD_DIALECT, type Iso8583Dialect } from './dialect.js';
import type { FieldValue, Iso8583Message } from './codec.js';
import { isoDecodeError, isoEncodeError } from './errors.js';
import { fromBase64url } from '../bank/terminal-auth.js';
import type { FieldDef } from './fields.js';

/**
 * The field table of the cardpost acquirer link: ISO8583_1987_FIELDS plus field 59, which
 * carries the card certificate of the advice's record (docs/iso8583.md §7). Why 59: the advice
 * must be verifiable on its own, the certificate (base64url, ~300-600 characters) does not fit
 * field 61 or 63 as CUP sizes them (29 and 163), 62 already holds the record, and 59 is an
 * `ans..999` "reserved national" field in ISO 8583:1987 that Wireshark's table reads as such and
 * that no message of the link otherwise uses.
 */
export const CERTIFICATE_FIELD = 59;
const CERTIFICATE_DEF: FieldDef = Object.freeze({
  name: 'Reserved national (cardpost: card certificate, base64url)',
  format: 'ans',
  length: 999,
  prefix: 3,
});

/** `base` with field 59 added: what the link and the acquirer encode and decode. */
export function linkDialect(base: Iso8583Dialect): Iso8583Dialect {
  const fields = new Map(base.fields);
  fields.set(CERTIFICATE_FIELD, CERTIFICATE_DEF);
  return Object.freeze({ ...base, fields });
}

export const LINK_DIALECT_NAMES = ['cup-terminal', 'plain-bcd', 'plain-ascii'] as const;
export type LinkDialectName = (typeof LINK_DIALECT_NAMES)[number];

const BY_NAME: Readonly<Record<LinkDialectName, Iso8583Dialect>> = {
  'cup-terminal': linkDialect(CUP_TERMINAL_DIALECT),
  'plain-bcd': linkDialect(PLAIN_BCD_DIALECT),
  'plain-ascii': linkDialect(PLAIN_ASCII_DIALECT),
};

/** The link dialect of a configured name (`bank.iso8583.dialect`, the acquirer's `dialect`). */
export function linkDialectNamed(name: string): Iso8583Dialect {
  const d = (BY_NAME as Record<string, Iso8583Dialect | undefined>)[name];
  if (!d)
    throw isoEncodeError('ISO8583_FIELD_UNKNOWN', `dialect "${name}" is not one of ${LINK_DIALECT_NAMES.join(', ')}`);
  return d;
}

/** `msg` with `extra` fields added (or replaced), in field order: the link's fields on top of a builder's. */
export function withFields(
  msg: Iso8583Message,
  extra: readonly (readonly [number, FieldValue | undefined])[],
): Iso8583Message {
  const fields = new Map<number, FieldValue>(msg.fields);
  for (const [n, v] of extra) if (v !== undefined) fields.set(n, v);
  return { mti: msg.mti, fields: new Map([...fields].sort((a, b) => a[0] - b[0])) };
}

/** The card certificate in field 59 of an advice or upload, strictly base64url; undefined when absent. */
export function readCertificate(msg: Iso8583Message): Uint8Array | undefined {
  const v = msg.fields.get(CERTIFICATE_FIELD);
  if (v === undefined) return undefined;
  const bytes = typeof v === 'string' ? fromBase64url(v) : undefined;
  if (!bytes || bytes.length === 0)
    throw isoDecodeError('ISO8583_FIELD_INVALID', `${msg.mti}: field 59 is not base64url of a card certificate`);
  return bytes;
}
