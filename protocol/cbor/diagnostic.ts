import { CborTagged, type CborValue } from './types.js';

/**
 * RFC 8949 §8 diagnostic notation of a value, for logs, CLIs and test failures:
 * `{1: 1500, 3: h'00ff', 4: "caf\u00e9", 5: [true, null]}`. Long byte/text strings are cut to
 * `maxString` characters with "…" (so the output is for humans, not for parsing back).
 */
export function toDiagnostic(v: CborValue, maxString = 64): string {
  switch (typeof v) {
    case 'number':
      if (v !== v) return 'NaN';
      if (v === Infinity) return 'Infinity';
      if (v === -Infinity) return '-Infinity';
      if (Number.isSafeInteger(v)) return String(v === 0 ? 0 : v);
      return Number.isInteger(v) ? v.toFixed(1) : String(v);
    case 'bigint':
      return v.toString();
    case 'string': {
      const s = v.length > maxString ? v.slice(0, maxString) : v;
      return JSON.stringify(s) + (s.length < v.length ? '…' : '');
    }
    case 'boolean':
      return String(v);
    case 'undefined':
      return 'undefined';
    default:
      if (v === null) return 'null';
      if (v instanceof Uint8Array) {
        let h = '';
        const n = Math.min(v.length, Math.ceil(maxString / 2));
        for (let i = 0; i < n; i++) h += v[i]!.toString(16).padStart(2, '0');
        return `h'${h}'${n < v.length ? `…(${v.length} bytes)` : ''}`;
      }
      if (Array.isArray(v)) return `[${v.map((x) => toDiagnostic(x, maxString)).join(', ')}]`;
      if (v instanceof Map) {
        const parts: string[] = [];
        for (const [k, x] of v) parts.push(`${toDiagnostic(k, maxString)}: ${toDiagnostic(x, maxString)}`);
        return `{${parts.join(', ')}}`;
      }
      if (v instanceof CborTagged) return `${v.tag}(${toDiagnostic(v.value, maxString)})`;
      return '<unsupported>';
  }
}
