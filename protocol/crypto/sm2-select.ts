/**
 * Picks the SM2 backend once, at module load: the native addon if it loads, else pure JS.
 * CARDPOST_SM2_BACKEND=js forces JS (tests, debugging); =native makes a missing addon an error.
 */
import { CryptoError } from '../errors.js';
import type { Sm2Backend } from './sm2-backend.js';
import { createJsBackend } from './sm2-js.js';
import { loadNativeBackend } from './sm2-native.js';
import { SM2_CURVE } from './sm2-core.js';

const requested = process.env['CARDPOST_SM2_BACKEND'];
if (requested !== undefined && requested !== '' && requested !== 'js' && requested !== 'native') {
  throw new CryptoError(
    'SM2_BACKEND_UNKNOWN',
    `CARDPOST_SM2_BACKEND=${requested} is not a backend`,
    "use 'native' or 'js', or unset it",
  );
}

const jsBackend = createJsBackend(SM2_CURVE);
const native = requested === 'js' ? 'not tried: CARDPOST_SM2_BACKEND=js' : loadNativeBackend();

if (requested === 'native' && typeof native === 'string') {
  throw new CryptoError(
    'SM2_NATIVE_UNAVAILABLE',
    `CARDPOST_SM2_BACKEND=native but ${native}`,
    'run `npm install` (or `node scripts/build-native.mjs`) with a C compiler available',
  );
}

/** The backend every SM2 operation uses. */
export const activeSm2Backend: Sm2Backend = typeof native === 'string' ? jsBackend : native;

/** Why the native backend is not active (undefined when it is). */
export const nativeSm2Unavailable: string | undefined = typeof native === 'string' ? native : undefined;

/** Every backend available in this process (for conformance tests and the benchmark). */
export function availableSm2Backends(): Sm2Backend[] {
  const all: Sm2Backend[] = [];
  const n = typeof native === 'string' ? loadNativeBackend() : native;
  if (typeof n !== 'string') all.push(n);
  all.push(jsBackend);
  return all;
}
