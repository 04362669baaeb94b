/**
 * Shared pieces of the bank API's JSON codecs (docs/bank-api.md §1): the body as bytes → a JSON value,
 * and strict field readers. Every failure is a DecodeError with a stable code; for requests the codes
 * are the bank's own 400 codes (§10), so the bank answers a DecodeError as is.
 */
import { DecodeError } from '../errors.js';

/** The hint of a request that does not follow the schema. */
export const DOCS = 'see docs/bank-api.md';

/**
 * The DecodeError codes of the bank codecs. Request codes are the bank's 400 codes (§10);
 * `ANSWER_*` are the client's: an answer that is not what §4.2/§6 define (`ANSWER_SCHEMA`), or one
 * that does not answer the request that was sent (`ANSWER_MISMATCH`: another batch id, another count).
 */
export const BANK_DECODE_CODES = [
  'BODY_MISSING',
  'BODY_NOT_JSON',
  'BODY_SCHEMA',
  'BATCH_EMPTY',
  'BATCH_TOO_LARGE',
  'BATCH_ID_MISMATCH',
  'ANSWER_SCHEMA',
  'ANSWER_MISMATCH',
] as const;
export type BankDecodeCode = (typeof BANK_DECODE_CODES)[number];

/** A DecodeError of the bank codecs, its code one of BANK_DECODE_CODES. */
export class BankDecodeError extends DecodeError {
  declare readonly code: BankDecodeCode;
  constructor(code: BankDecodeCode, message: string, hint: string) {
    super(code, message, hint);
  }
}

/** A request body: UTF-8 JSON, never empty. BODY_MISSING, BODY_NOT_JSON. */
export function parseJsonBytes(raw: Uint8Array): unknown {
  if (raw.length === 0)
    throw new BankDecodeError(
      'BODY_MISSING',
      'the request has no body',
      'send a JSON object with Content-Type: application/json',
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new BankDecodeError('BODY_NOT_JSON', 'the body is not valid UTF-8', 'send UTF-8 JSON');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message.slice(0, 200) : 'parse error';
    throw new BankDecodeError('BODY_NOT_JSON', `the body is not valid JSON: ${why}`, 'send a JSON object');
  }
}

export function schemaError(field: string, what: string): BankDecodeError {
  return new BankDecodeError('BODY_SCHEMA', `${field}: ${what}`, DOCS);
}

/** A JSON object with only the fields the API defines: an unknown field is refused, never silently ignored. */
export function requestObject(v: unknown, fields: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw schemaError('body', 'must be a JSON object');
  for (const k of Object.keys(v)) {
    if (!fields.includes(k))
      throw schemaError(
        JSON.stringify(k).slice(0, 40),
        `is not a field of this request (fields: ${fields.join(', ')})`,
      );
  }
  return v as Record<string, unknown>;
}

export function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** An integer request field in min … max; `dflt` when it is absent (then it is optional). */
export function intField(o: Record<string, unknown>, name: string, min: number, max: number, dflt?: number): number {
  const v = o[name];
  if (v === undefined && dflt !== undefined) return dflt;
  if (!isInt(v, min, max)) throw schemaError(name, `must be an integer from ${min} to ${max}`);
  return v + 0; // -0 (JSON "-0") as 0
}

/** An array of strings of at most `maxChars` each; more than `max` entries is `tooMany`. */
export function textArray(
  o: Record<string, unknown>,
  name: string,
  max: number,
  maxChars: number,
  tooMany: BankDecodeCode,
  required: boolean,
): string[] {
  const v = o[name];
  if (v === undefined && !required) return [];
  if (!Array.isArray(v)) throw schemaError(name, 'must be an array of base64url strings');
  if (v.length > max)
    throw new BankDecodeError(tooMany, `${name}: ${v.length} entries, at most ${max} are allowed`, 'split the batch');
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw schemaError(`${name}[${i}]`, 'must be a string');
    if (x.length > maxChars) throw schemaError(`${name}[${i}]`, `longer than ${maxChars} characters`);
  });
  return v as string[];
}

// ------------------------------------------------------------------ answers (read by the client)

/** Reads one answer object; every problem is ANSWER_SCHEMA naming the field. Unknown fields are ignored (an answer may grow). */
export class AnswerReader {
  readonly o: Record<string, unknown>;
  constructor(
    v: unknown,
    readonly what: string,
    private readonly path = '',
  ) {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw this.bad(path || 'the answer', 'is not a JSON object');
    this.o = v as Record<string, unknown>;
  }

  bad(field: string, why: string): BankDecodeError {
    return new BankDecodeError(
      'ANSWER_SCHEMA',
      `${this.what}: ${field} ${why}`,
      'the bank broke its API (docs/bank-api.md); report it to the bank',
    );
  }

  private name(field: string): string {
    return this.path ? `${this.path}.${field}` : field;
  }

  int(field: string, min: number, max: number): number {
    const v = this.o[field];
    if (!isInt(v, min, max)) throw this.bad(this.name(field), `is not an integer from ${min} to ${max}`);
    return v + 0; // -0 (JSON "-0") as 0
  }

  text(field: string, pattern?: RegExp): string {
    const v = this.o[field];
    if (typeof v !== 'string' || (pattern && !pattern.test(v)))
      throw this.bad(this.name(field), pattern ? `does not match ${String(pattern)}` : 'is not a string');
    return v;
  }

  optionalText(field: string): string | undefined {
    return this.o[field] === undefined ? undefined : this.text(field);
  }

  array(field: string): unknown[] {
    const v = this.o[field];
    if (!Array.isArray(v)) throw this.bad(this.name(field), 'is not an array');
    return v;
  }

  object(field: string): AnswerReader {
    return new AnswerReader(this.o[field], this.what, this.name(field));
  }
}
