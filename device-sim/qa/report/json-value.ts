/**
 * Step params and results are `unknown` (each step kind has its own shape). The reports turn them
 * into plain JSON values first, so that bytes, bigints, Maps, errors and cycles neither throw nor
 * disappear silently, and the same value always gives the same text.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deeper than any step's params; a cycle or a runaway structure stops here. */
const MAX_DEPTH = 32;

export function toJsonValue(value: unknown): JsonValue {
  return convert(value, 0, new Set());
}

function convert(value: unknown, depth: number, seen: Set<object>): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      // JSON has no NaN or Infinity; JSON.stringify would write null and lose what it was.
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'symbol':
    case 'function':
      return `[${typeof value}]`;
  }
  const obj = value as object;
  if (seen.has(obj)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(obj);
  try {
    if (obj instanceof Uint8Array) return Buffer.from(obj).toString('hex');
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
    if (obj instanceof Error) {
      const code = (obj as { code?: unknown }).code;
      return typeof code === 'string' ? { code, message: obj.message } : { message: obj.message };
    }
    if (Array.isArray(obj)) return obj.map((v) => convert(v, depth + 1, seen));
    if (obj instanceof Map)
      return Object.fromEntries([...obj].map(([k, v]) => [String(k), convert(v, depth + 1, seen)]));
    if (obj instanceof Set) return [...obj].map((v) => convert(v, depth + 1, seen));
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = convert(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(obj);
  }
}

/** A plain string is written bare when it reads unambiguously, quoted otherwise. */
const BARE = /^[\p{L}\p{N}_.:+\-/@#]+$/u;

/**
 * One line for a table cell: `reader=r1 amount=12.50 pins=[1234]`. At most `max` characters (an
 * ellipsis marks a cut); the full value is in steps.json.
 */
export function shortForm(value: unknown, max = 160): string {
  const v = toJsonValue(value);
  const text =
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.entries(v)
          .map(([k, x]) => `${k}=${inline(x)}`)
          .join(' ')
      : inline(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function inline(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${k}=${inline(x)}`)
    .join(' ')}}`;
}

/** Indented JSON for expected/actual blocks. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(toJsonValue(value), null, 2);
}
