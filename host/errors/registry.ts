import { CardpostError, CryptoError, DecodeError, EncodeError } from '../../protocol/errors.js';
import { TerminalLinkError } from '../../protocol/terminal/errors.js';
import { CLASS_FAMILIES, ERROR_GROUPS, UNKNOWN } from './codes.js';
import { EXIT, type ExitCode } from './exit.js';
import type { ErrorDef, ErrorEntry, ErrorKind } from './types.js';

export { ERROR_GROUPS, CLASS_FAMILIES } from './codes.js';
export {
  ERROR_KINDS,
  KIND_MEANINGS,
  type ErrorDef,
  type ErrorEntry,
  type ErrorGroup,
  type ErrorKind,
} from './types.js';
export { EXIT, type ExitCode } from './exit.js';

/**
 * The one place the host decides what an error code means (docs/errors.md): its HTTP status, its
 * kind and its advice. Callers ask here instead of keeping their own sets of codes:
 * the API's status (`httpStatus`), the CLI's exit code (`exitCodeForAnswer`, `exitCodeForError`),
 * the settlement worker's "resend or stop" and the sale's "wait for the card again" (`isRetry`),
 * the serial terminal's "declined" (`isDecline`).
 */

/** The queue database is (for now) locked or failing: retried, shown as the settlement's lastError. */
export const STORE_UNAVAILABLE = 'STORE_UNAVAILABLE';

const EXACT = new Map<string, ErrorEntry>();
const PREFIXES: ErrorEntry[] = [];
for (const g of ERROR_GROUPS) {
  for (const e of g.entries) {
    if (e.family === 'prefix') PREFIXES.push(e);
    else if (EXACT.has(e.code)) throw new Error(`error registry: ${e.code} is listed twice`);
    else EXACT.set(e.code, e);
  }
}
// The longest prefix first (`STORE_*` before a shorter one, should one come).
PREFIXES.sort((a, b) => b.code.length - a.code.length);

const CLASSES: readonly [abstract new (...a: never[]) => CardpostError, string][] = [
  [DecodeError, 'DecodeError'],
  [EncodeError, 'EncodeError'],
  [CryptoError, 'CryptoError'],
  [TerminalLinkError, 'TerminalLinkError'],
];
const CLASS_ENTRY = new Map(CLASS_FAMILIES.map((f) => [f.code, f]));

/**
 * What `code` means: its own entry, else (with the error at hand) its protocol class's, else the
 * family its prefix names (`BANK_REFUSED_*`, `CLI_*`…), else UNKNOWN (a 4xx fault).
 */
export function errorInfo(codeOrError: string | CardpostError): ErrorDef & { code: string } {
  const code = typeof codeOrError === 'string' ? codeOrError : codeOrError.code;
  const exact = EXACT.get(code);
  if (exact) return exact;
  if (typeof codeOrError !== 'string') {
    for (const [cls, name] of CLASSES) if (codeOrError instanceof cls) return { ...CLASS_ENTRY.get(name)!, code };
  }
  const family = PREFIXES.find((p) => code.startsWith(p.code.slice(0, -1)));
  return { ...(family ?? UNKNOWN), code };
}

/** Whether the registry names `code` (exactly or by its prefix family). */
export function isRegistered(code: string): boolean {
  return EXACT.has(code) || PREFIXES.some((p) => code.startsWith(p.code.slice(0, -1)));
}

export const kindOf = (codeOrError: string | CardpostError): ErrorKind => errorInfo(codeOrError).kind;

/** The local API's HTTP status for one of our errors: refusals are 4xx, the machine failing 5xx. */
export function httpStatus(codeOrError: string | CardpostError): number {
  return errorInfo(codeOrError).status ?? 500;
}

/** A passing failure: the same again is safe and will likely work (a sale waits for the card again, the worker re-sends). */
export const isRetry = (codeOrError: string | CardpostError): boolean => kindOf(codeOrError) === 'retry';

/** The card cannot pay this sale (funds, limits, PIN blocked, revoked, expired…): a serial terminal shows "declined". */
export const isDecline = (code: string): boolean => kindOf(code) === 'decline';

/**
 * The CLI's exit code for an error the daemon answered, by its HTTP status (the wire's contract, so a
 * daemon of another version is understood too): 400 is bad input (2); 401 (this CLI's token is not
 * the daemon's) and 5xx unavailable (3); any other 4xx the answer "no" (1).
 */
export function exitCodeForAnswer(status: number): ExitCode {
  if (status === 400) return EXIT.USAGE;
  if (status === 401 || status >= 500) return EXIT.UNAVAILABLE;
  return EXIT.NEGATIVE;
}

/** The CLI's exit code for an error raised in its own process: bad input 2, anything else 3. */
export function exitCodeForError(e: CardpostError): ExitCode {
  return kindOf(e) === 'bad-input' ? EXIT.USAGE : EXIT.UNAVAILABLE;
}

/** The exit code docs/errors.md gives a code: by its status when the API sends it, else as the CLI's own. */
export function exitCodeOf(entry: ErrorDef): ExitCode {
  return entry.status !== null
    ? exitCodeForAnswer(entry.status)
    : entry.kind === 'bad-input'
      ? EXIT.USAGE
      : EXIT.UNAVAILABLE;
}
