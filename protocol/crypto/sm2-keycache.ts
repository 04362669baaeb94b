/**
 * Bounded caches that make repeated use of the same SM2 key cheap, invisible in behaviour:
 *  - public keys: decoded and validated point (backend handle) plus Z_A per user id, LRU;
 *    after a key's third verification the backend builds a per-key table (a card's records in a
 *    settlement batch, the issuer CA key); tables have their own, smaller LRU bound;
 *  - signing keys: private key -> public key, so signing does not redo d*G each time. Keyed by a
 *    salted SM3 fingerprint of the private key, so no private key is kept; stores public keys only.
 */
import { DecodeError } from '../errors.js';
import type { Sm2Backend, Sm2KeyHandle } from './sm2-backend.js';
import { computeZa, SM2_CURVE } from './sm2-core.js';
import { randomBytes } from './random.js';
import { sm3Concat } from './sm3.js';

export interface Sm2KeyCacheLimits {
  /** public keys kept decoded (default 1024; ~0.3 KB each) */
  maxKeys: number;
  /** per-key tables kept (native: 64 x 33 KB; JS: 16 x ~0.3 MB) */
  maxTables: number;
  /** verifications of a key before its table is built (default 3; a table costs ~2 verifications) */
  tableAfterUses: number;
  /** private -> public mappings kept (default 64) */
  maxSigners: number;
}

export const DEFAULT_SM2_CACHE_LIMITS: Readonly<Sm2KeyCacheLimits> = Object.freeze({
  maxKeys: 1024,
  maxTables: 64,
  tableAfterUses: 3,
  maxSigners: 64,
});

/** The JS backend's tables are ten times bigger, so fewer are kept. */
export const JS_SM2_CACHE_LIMITS: Readonly<Sm2KeyCacheLimits> = Object.freeze({
  ...DEFAULT_SM2_CACHE_LIMITS,
  maxTables: 16,
});

export interface Sm2KeyEntry {
  /** The 65 key bytes as a latin1 string: the map key, and the key itself (immutable, no copy kept) */
  readonly id: string;
  /** null until first needed: a key first met through backend.verifyFresh has no handle yet */
  handle: Sm2KeyHandle | null;
  uses: number;
  tabled: boolean;
  released: boolean;
  /** Z_A per encoded user id; null until first asked (a key met once in a stream of new keys never is) */
  za: Map<string, Uint8Array> | null;
}

const MAX_ZA_PER_KEY = 4;

function keyString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The key bytes of an entry, from its id. */
function keyBytes(entry: Sm2KeyEntry): Uint8Array {
  return Buffer.from(entry.id, 'latin1');
}

/** Throws the DecodeError that says exactly what is wrong with the shape of an SM2 public key. */
export function checkPublicKeyShape(publicKey: unknown): asserts publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array)) {
    throw new DecodeError('SM2_PUBLIC_KEY_TYPE', 'SM2 public key must be a Uint8Array');
  }
  if (publicKey.length === 1 && publicKey[0] === 0) {
    throw new DecodeError('SM2_PUBLIC_KEY_INFINITY', 'SM2 public key is the point at infinity', 'the key is invalid');
  }
  if (publicKey.length !== 65) {
    throw new DecodeError(
      'SM2_PUBLIC_KEY_LENGTH',
      `SM2 public key must be 65 bytes (04||x||y), got ${publicKey.length}`,
      'send the uncompressed point; compressed keys are not accepted on the wire',
    );
  }
  if (publicKey[0] !== 0x04) {
    throw new DecodeError(
      'SM2_PUBLIC_KEY_FORMAT',
      `SM2 public key must start with 04 (uncompressed), got ${publicKey[0]!.toString(16).padStart(2, '0')}`,
      'send the uncompressed point 04||x||y',
    );
  }
  if (publicKey.subarray(1).every((b) => b === 0)) {
    throw new DecodeError(
      'SM2_PUBLIC_KEY_INFINITY',
      'SM2 public key 04||0||0 encodes the point at infinity',
      'the key is invalid',
    );
  }
}

/** The DecodeError for 65 well-shaped bytes that are not a point of the curve. */
export function notOnCurveError(): DecodeError {
  return new DecodeError(
    'SM2_PUBLIC_KEY_NOT_ON_CURVE',
    'SM2 public key is not a point of sm2p256v1 (coordinate >= p or not on the curve)',
    'the key bytes are corrupt or belong to another curve',
  );
}

export class Sm2KeyCache {
  private readonly keys = new Map<string, Sm2KeyEntry>();
  private readonly tables = new Map<string, Sm2KeyEntry>();
  private readonly signers = new Map<string, Uint8Array>();
  private readonly salt = randomBytes(32);

  constructor(
    private readonly backend: Sm2Backend,
    private readonly limits: Sm2KeyCacheLimits = DEFAULT_SM2_CACHE_LIMITS,
  ) {}

  /** The cache key of a public key (any bytes; only 65-byte ones can be cached). */
  idOf(publicKey: Uint8Array): string | undefined {
    return publicKey instanceof Uint8Array && publicKey.length === 65 ? keyString(publicKey) : undefined;
  }

  /** The cached entry for a cache key from idOf (moved to the most-recent end), or undefined. */
  peek(id: string | undefined): Sm2KeyEntry | undefined {
    const hit = id === undefined ? undefined : this.keys.get(id);
    if (hit !== undefined) {
      // only valid keys are ever cached
      this.keys.delete(hit.id); // move to the most-recent end
      this.keys.set(hit.id, hit);
    }
    return hit;
  }

  /** Validated entry for a public key (DecodeError when it is not a point of sm2p256v1). */
  lookup(publicKey: Uint8Array): Sm2KeyEntry {
    const hit = this.peek(this.idOf(publicKey));
    if (hit !== undefined) return hit;
    checkPublicKeyShape(publicKey);
    const handle = this.backend.importPublicKey(publicKey);
    if (handle === null) throw notOnCurveError();
    return this.insert(keyString(publicKey), handle);
  }

  /** Records a key the backend has just validated (verifyFresh), without a handle yet. */
  remember(id: string): Sm2KeyEntry {
    return this.insert(id, null);
  }

  /** The entry's backend handle, imported on first use. */
  handleOf(entry: Sm2KeyEntry): Sm2KeyHandle {
    if (entry.handle === null) {
      entry.handle = this.backend.importPublicKey(keyBytes(entry));
      if (entry.handle === null) throw notOnCurveError(); // cannot happen: the key was validated
    }
    return entry.handle;
  }

  private insert(id: string, handle: Sm2KeyHandle | null): Sm2KeyEntry {
    const entry: Sm2KeyEntry = { id, handle, uses: 0, tabled: false, released: false, za: null };
    this.keys.set(id, entry);
    if (this.keys.size > this.limits.maxKeys) this.evict(this.keys.keys().next().value as string);
    return entry;
  }

  /** Z_A of the entry's key for an encoded user id, cached. */
  za(entry: Sm2KeyEntry, userId: Uint8Array): Uint8Array {
    const idKey = keyString(userId);
    const zas = (entry.za ??= new Map());
    let z = zas.get(idKey);
    if (z === undefined) {
      z = computeZa(SM2_CURVE, keyBytes(entry), userId);
      if (zas.size >= MAX_ZA_PER_KEY) zas.delete(zas.keys().next().value as string);
      zas.set(idKey, z);
    }
    return z;
  }

  /** Counts a verification and builds the key's table once it has been used often enough. */
  noteUse(entry: Sm2KeyEntry): void {
    entry.uses++;
    if (entry.tabled) {
      this.tables.delete(entry.id);
      this.tables.set(entry.id, entry);
    } else if (entry.uses >= this.limits.tableAfterUses && this.limits.maxTables > 0) {
      this.backend.precompute(this.handleOf(entry));
      entry.tabled = true;
      this.tables.set(entry.id, entry);
      if (this.tables.size > this.limits.maxTables) this.evict(this.tables.keys().next().value as string);
    }
  }

  /** Public key of a private key (derived once per key while it stays in the cache). */
  publicKeyOf(privateKey: Uint8Array): Uint8Array {
    const id = keyString(sm3Concat(this.salt, privateKey));
    let pub = this.signers.get(id);
    if (pub === undefined) {
      pub = this.backend.publicFromPrivate(privateKey);
      this.signers.set(id, pub);
      if (this.signers.size > this.limits.maxSigners) this.signers.delete(this.signers.keys().next().value as string);
    } else {
      this.signers.delete(id);
      this.signers.set(id, pub);
    }
    return pub;
  }

  /** Sizes, for tests and diagnostics. */
  stats(): { keys: number; tables: number; signers: number } {
    return { keys: this.keys.size, tables: this.tables.size, signers: this.signers.size };
  }

  private evict(id: string): void {
    const entry = this.keys.get(id) ?? this.tables.get(id);
    this.keys.delete(id);
    this.tables.delete(id);
    if (entry !== undefined && !entry.released) {
      entry.released = true;
      if (entry.handle !== null) this.backend.release(entry.handle);
    }
  }
}
