/**
 * Loader and thin wrapper for the native SM2 backend (build/Release/cardpost_crypto.node, sources
 * in protocol/crypto/native/). The addon does the curve and mod-n arithmetic; this file maps its
 * errors onto CryptoError so callers never see a raw addon exception.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CryptoError } from '../errors.js';
import type { Sm2Backend, Sm2KeyHandle } from './sm2-backend.js';

interface Addon {
  publicFromPrivate(d: Uint8Array): Uint8Array;
  signDigest(d: Uint8Array, e: Uint8Array, k?: Uint8Array): Uint8Array;
  importPublicKey(pub: Uint8Array): object | null;
  precompute(key: object): boolean;
  release(key: object): void;
  verifyDigest(key: object, e: Uint8Array, sig: Uint8Array): boolean;
  verifyFresh(pub: Uint8Array, id: Uint8Array | null, data: Uint8Array, sig: Uint8Array): number;
  mulAdd(s: Uint8Array, key: object, t: Uint8Array): Uint8Array | null;
}

export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../build/Release/cardpost_crypto.node', import.meta.url));

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new CryptoError(
      typeof code === 'string' && code.startsWith('SM2_') ? code : 'SM2_NATIVE_FAILED',
      `native SM2: ${(err as Error).message}`,
      '',
      { cause: err },
    );
  }
}

/** The native backend, or the reason it cannot be loaded. */
export function loadNativeBackend(): Sm2Backend | string {
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Addon;
  } catch (err) {
    return `cannot load ${NATIVE_ADDON_PATH}: ${(err as Error).message.split('\n')[0]}`;
  }
  return {
    name: 'native',
    publicFromPrivate: (d) => wrap(() => addon.publicFromPrivate(d)),
    signDigest: (d, e, k) => wrap(() => addon.signDigest(d, e, k)),
    importPublicKey: (pub) => wrap(() => addon.importPublicKey(pub)),
    precompute: (key: Sm2KeyHandle) => {
      wrap(() => addon.precompute(key));
    },
    release: (key: Sm2KeyHandle) => wrap(() => addon.release(key)),
    verifyDigest: (key, e, sig) => wrap(() => addon.verifyDigest(key, e, sig)),
    verifyFresh: (pub, id, data, sig) => wrap(() => addon.verifyFresh(pub, id, data, sig)),
    mulAdd: (s, key, t) => wrap(() => addon.mulAdd(s, key, t)),
  };
}
