/**
 * SM4 block cipher (GB/T 32907-2016) and the modes used for secure messaging: ECB, CBC, OFB,
 * CFB (CFB-128), CTR (128-bit big-endian counter) with optional PKCS#7 padding, and SM4-GCM
 * (RFC 8998). Pure JavaScript so every platform behaves the same; the tests cross-check every
 * mode against OpenSSL's native sm4-* ciphers.
 *
 * The block function runs on an expanded key (Sm4Key) with 8-bit T-tables: ~0.3 us per block,
 * so the one-million-iteration vector takes well under a second. Table lookups are indexed by
 * data, as in most software SM4/AES; prefer a hardware path if cache-timing attackers are local.
 */
import { CryptoError, DecodeError, EncodeError } from '../errors.js';
import { bytesEqual } from '../bytes.js';
import { Ghash } from './ghash.js';

const SBOX = Uint8Array.from(
  Buffer.from(
    'd690e9fecce13db716b614c228fb2c052b679a762abe04c3aa441326498606999c4250f491ef987a33540b43edcfac62' +
      'e4b31ca9c908e89580df94fa758f3fa64707a7fcf37317ba83593c19e6854fa8686b81b27164da8bf8eb0f4b70569d35' +
      '1e240e5e6358d1a225227c3b01217887d40046579fd327524c3602e7a0c4c89eeabf8ad240c738b5a3f7f2cef96115a1' +
      'e0ae5da49b341a55ad933230f58cb1e31df6e22e8266ca60c02923ab0d534e6fd5db3745defd8e2f03ff6a726d6c5b51' +
      '8d1baf92bbddbc7f11d95c411f105ad80ac13188a5cd7bbd2d74d012b8e5b4b08969974a0c96777e65b9f109c56ec684' +
      '18f07dec3adc4d2079ee5f3ed7cb3948',
    'hex',
  ),
);

const FK = [0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc];

const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;

// CK[i] bytes are (4i + j) * 7 mod 256, j = 0..3
const CK = new Uint32Array(32);
for (let i = 0; i < 32; i++) {
  let w = 0;
  for (let j = 0; j < 4; j++) w = (w << 8) | (((4 * i + j) * 7) & 0xff);
  CK[i] = w >>> 0;
}

// Round T-tables: T(x) = L(tau(x)) with L(B) = B ^ B<<<2 ^ B<<<10 ^ B<<<18 ^ B<<<24, split per input byte
const T0 = new Uint32Array(256),
  T1 = new Uint32Array(256),
  T2 = new Uint32Array(256),
  T3 = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  const b = (SBOX[i]! << 24) >>> 0;
  const l = (b ^ rotl(b, 2) ^ rotl(b, 10) ^ rotl(b, 18) ^ rotl(b, 24)) >>> 0;
  T0[i] = l;
  T1[i] = rotl(l, 24);
  T2[i] = rotl(l, 16);
  T3[i] = rotl(l, 8);
}

function tauKey(x: number): number {
  const b =
    ((SBOX[x >>> 24]! << 24) | (SBOX[(x >>> 16) & 0xff]! << 16) | (SBOX[(x >>> 8) & 0xff]! << 8) | SBOX[x & 0xff]!) >>>
    0;
  return (b ^ rotl(b, 13) ^ rotl(b, 23)) >>> 0; // L'
}

/** An expanded SM4 key: reuse it to encrypt many blocks with one key schedule. */
export class Sm4Key {
  /** @internal round keys for encryption and (reversed) for decryption */
  readonly enc: Uint32Array;
  /** @internal */
  readonly dec: Uint32Array;

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== 16) {
      throw new EncodeError('SM4_KEY_LENGTH', `SM4 key must be 16 bytes, got ${describe(key)}`);
    }
    const k = new Uint32Array(4);
    for (let i = 0; i < 4; i++) k[i] = (readU32(key, 4 * i) ^ FK[i]!) >>> 0;
    this.enc = new Uint32Array(32);
    for (let i = 0; i < 32; i++) {
      const rk = (k[i % 4]! ^ tauKey((k[(i + 1) % 4]! ^ k[(i + 2) % 4]! ^ k[(i + 3) % 4]! ^ CK[i]!) >>> 0)) >>> 0;
      k[i % 4] = rk;
      this.enc[i] = rk;
    }
    this.dec = this.enc.slice().reverse();
  }
}

export type Sm4KeyInput = Uint8Array | Sm4Key;

function expand(key: Sm4KeyInput): Sm4Key {
  return key instanceof Sm4Key ? key : new Sm4Key(key);
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** One block: out[outOff..+16] = SM4(rk, inp[inOff..+16]); inp and out may be the same array. */
function cryptBlock(rk: Uint32Array, inp: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void {
  let x0 = readU32(inp, inOff),
    x1 = readU32(inp, inOff + 4),
    x2 = readU32(inp, inOff + 8),
    x3 = readU32(inp, inOff + 12);
  for (let i = 0; i < 32; i += 4) {
    let t = x1 ^ x2 ^ x3 ^ rk[i]!;
    x0 ^= T0[t >>> 24]! ^ T1[(t >>> 16) & 0xff]! ^ T2[(t >>> 8) & 0xff]! ^ T3[t & 0xff]!;
    t = x2 ^ x3 ^ x0 ^ rk[i + 1]!;
    x1 ^= T0[t >>> 24]! ^ T1[(t >>> 16) & 0xff]! ^ T2[(t >>> 8) & 0xff]! ^ T3[t & 0xff]!;
    t = x3 ^ x0 ^ x1 ^ rk[i + 2]!;
    x2 ^= T0[t >>> 24]! ^ T1[(t >>> 16) & 0xff]! ^ T2[(t >>> 8) & 0xff]! ^ T3[t & 0xff]!;
    t = x0 ^ x1 ^ x2 ^ rk[i + 3]!;
    x3 ^= T0[t >>> 24]! ^ T1[(t >>> 16) & 0xff]! ^ T2[(t >>> 8) & 0xff]! ^ T3[t & 0xff]!;
  }
  writeU32(out, outOff, x3);
  writeU32(out, outOff + 4, x2);
  writeU32(out, outOff + 8, x1);
  writeU32(out, outOff + 12, x0);
}

function requireBlock(block: Uint8Array): void {
  if (!(block instanceof Uint8Array) || block.length !== 16) {
    throw new EncodeError('SM4_BLOCK_LENGTH', `SM4 block must be 16 bytes, got ${describe(block)}`);
  }
}

/** Encrypts one 16-byte block (the raw cipher; use sm4Encrypt for messages). */
export function sm4EncryptBlock(key: Sm4KeyInput, block: Uint8Array): Uint8Array {
  const k = expand(key);
  requireBlock(block);
  const out = new Uint8Array(16);
  cryptBlock(k.enc, block, 0, out, 0);
  return out;
}

/** Decrypts one 16-byte block. */
export function sm4DecryptBlock(key: Sm4KeyInput, block: Uint8Array): Uint8Array {
  const k = expand(key);
  requireBlock(block);
  const out = new Uint8Array(16);
  cryptBlock(k.dec, block, 0, out, 0);
  return out;
}

export type Sm4Mode = 'ecb' | 'cbc' | 'ofb' | 'cfb' | 'ctr';
export type Sm4Padding = 'none' | 'pkcs7';

export interface Sm4Options {
  mode: Sm4Mode;
  /** 16 bytes; required by every mode except ECB (which rejects it). For CTR: the initial counter block. */
  iv?: Uint8Array;
  /** Default 'none'. */
  padding?: Sm4Padding;
}

const MODES: readonly Sm4Mode[] = ['ecb', 'cbc', 'ofb', 'cfb', 'ctr'];

function checkOptions(opts: Sm4Options): { mode: Sm4Mode; iv: Uint8Array; padding: Sm4Padding } {
  if (opts === null || typeof opts !== 'object' || !MODES.includes(opts.mode)) {
    throw new EncodeError(
      'SM4_MODE',
      `unknown SM4 mode ${JSON.stringify(opts?.mode)}`,
      `use one of ${MODES.join(', ')}`,
    );
  }
  const padding = opts.padding ?? 'none';
  if (padding !== 'none' && padding !== 'pkcs7') {
    throw new EncodeError('SM4_PADDING', `unknown padding ${JSON.stringify(padding)}`, "use 'none' or 'pkcs7'");
  }
  if (opts.mode === 'ecb') {
    if (opts.iv !== undefined)
      throw new EncodeError('SM4_IV_UNUSED', 'ECB takes no IV', 'drop the iv option or pick a chained mode');
    return { mode: opts.mode, iv: new Uint8Array(16), padding };
  }
  if (!(opts.iv instanceof Uint8Array) || opts.iv.length !== 16) {
    throw new EncodeError(
      'SM4_IV_LENGTH',
      `SM4-${opts.mode.toUpperCase()} needs a 16-byte iv, got ${describe(opts.iv)}`,
    );
  }
  return { mode: opts.mode, iv: opts.iv, padding };
}

function pkcs7Pad(data: Uint8Array): Uint8Array {
  const n = 16 - (data.length % 16);
  const out = new Uint8Array(data.length + n);
  out.set(data);
  out.fill(n, data.length);
  return out;
}

function pkcs7Unpad(data: Uint8Array): Uint8Array {
  const n = data.length > 0 ? data[data.length - 1]! : 0;
  let bad = n === 0 || n > 16 || n > data.length ? 1 : 0;
  // check every padding byte without an early exit
  for (let i = 1; i <= 16 && i <= data.length; i++) {
    if (i <= n) bad |= data[data.length - i]! ^ n;
  }
  if (bad !== 0) {
    throw new CryptoError(
      'SM4_PADDING_INVALID',
      'decryption failed: bad PKCS#7 padding',
      'wrong key or iv, or the ciphertext was altered',
    );
  }
  return data.subarray(0, data.length - n);
}

function incrementCounter(ctr: Uint8Array): void {
  for (let i = 15; i >= 0; i--) {
    ctr[i] = (ctr[i]! + 1) & 0xff;
    if (ctr[i] !== 0) break;
  }
}

/** Runs the mode over whole data; dir = encrypt or decrypt. */
function runMode(k: Sm4Key, mode: Sm4Mode, iv: Uint8Array, data: Uint8Array, encrypt: boolean): Uint8Array {
  const out = new Uint8Array(data.length);
  const buf = new Uint8Array(16);
  switch (mode) {
    case 'ecb':
      for (let off = 0; off < data.length; off += 16) cryptBlock(encrypt ? k.enc : k.dec, data, off, out, off);
      return out;
    case 'cbc': {
      const chain = Uint8Array.from(iv);
      for (let off = 0; off < data.length; off += 16) {
        if (encrypt) {
          for (let i = 0; i < 16; i++) buf[i] = data[off + i]! ^ chain[i]!;
          cryptBlock(k.enc, buf, 0, out, off);
          chain.set(out.subarray(off, off + 16));
        } else {
          cryptBlock(k.dec, data, off, buf, 0);
          for (let i = 0; i < 16; i++) out[off + i] = buf[i]! ^ chain[i]!;
          chain.set(data.subarray(off, off + 16));
        }
      }
      return out;
    }
    case 'ofb': {
      buf.set(iv);
      for (let off = 0; off < data.length; off += 16) {
        cryptBlock(k.enc, buf, 0, buf, 0);
        const n = Math.min(16, data.length - off);
        for (let i = 0; i < n; i++) out[off + i] = data[off + i]! ^ buf[i]!;
      }
      return out;
    }
    case 'cfb': {
      const chain = Uint8Array.from(iv);
      for (let off = 0; off < data.length; off += 16) {
        cryptBlock(k.enc, chain, 0, buf, 0);
        const n = Math.min(16, data.length - off);
        for (let i = 0; i < n; i++) out[off + i] = data[off + i]! ^ buf[i]!;
        chain.set((encrypt ? out : data).subarray(off, off + n));
      }
      return out;
    }
    case 'ctr': {
      const ctr = Uint8Array.from(iv);
      for (let off = 0; off < data.length; off += 16) {
        cryptBlock(k.enc, ctr, 0, buf, 0);
        incrementCounter(ctr);
        const n = Math.min(16, data.length - off);
        for (let i = 0; i < n; i++) out[off + i] = data[off + i]! ^ buf[i]!;
      }
      return out;
    }
  }
}

/**
 * Encrypts data. ECB and CBC without padding need a whole number of 16-byte blocks
 * (EncodeError otherwise); OFB, CFB and CTR take any length.
 */
export function sm4Encrypt(key: Sm4KeyInput, data: Uint8Array, opts: Sm4Options): Uint8Array {
  const k = expand(key);
  const { mode, iv, padding } = checkOptions(opts);
  if (!(data instanceof Uint8Array)) throw new EncodeError('SM4_INPUT_TYPE', 'data must be a Uint8Array');
  const input = padding === 'pkcs7' ? pkcs7Pad(data) : data;
  if ((mode === 'ecb' || mode === 'cbc') && input.length % 16 !== 0) {
    throw new EncodeError(
      'SM4_NOT_BLOCK_ALIGNED',
      `SM4-${mode.toUpperCase()} without padding needs a multiple of 16 bytes, got ${data.length}`,
      "pass padding: 'pkcs7' or pad the data yourself",
    );
  }
  return runMode(k, mode, iv, input, true);
}

/**
 * Decrypts data. A ciphertext that cannot be one (ECB/CBC length not a multiple of 16) is a
 * DecodeError; bad PKCS#7 padding after decryption is a CryptoError.
 */
export function sm4Decrypt(key: Sm4KeyInput, data: Uint8Array, opts: Sm4Options): Uint8Array {
  const k = expand(key);
  const { mode, iv, padding } = checkOptions(opts);
  if (!(data instanceof Uint8Array)) throw new EncodeError('SM4_INPUT_TYPE', 'data must be a Uint8Array');
  const blockMode = mode === 'ecb' || mode === 'cbc';
  if ((blockMode && data.length % 16 !== 0) || (padding === 'pkcs7' && (data.length === 0 || data.length % 16 !== 0))) {
    throw new DecodeError(
      'SM4_CIPHERTEXT_LENGTH',
      `SM4-${mode.toUpperCase()} ciphertext of ${data.length} bytes is not whole 16-byte blocks`,
      'the ciphertext was truncated or is not SM4 output',
    );
  }
  const plain = runMode(k, mode, iv, data, false);
  return padding === 'pkcs7' ? pkcs7Unpad(plain) : plain;
}

// ---------------------------------------------------------------------------------------------
// SM4-GCM (RFC 8998; NIST SP 800-38D with SM4 as the block cipher), 16-byte tag
// ---------------------------------------------------------------------------------------------

export interface Sm4GcmResult {
  ciphertext: Uint8Array;
  /** 16 bytes */
  tag: Uint8Array;
}

function gcmSetup(k: Sm4Key, iv: Uint8Array): { h: Uint8Array; j0: Uint8Array } {
  if (!(iv instanceof Uint8Array) || iv.length === 0) {
    throw new EncodeError(
      'SM4_GCM_IV_LENGTH',
      `SM4-GCM needs a non-empty iv (12 bytes recommended), got ${describe(iv)}`,
    );
  }
  const h = new Uint8Array(16);
  cryptBlock(k.enc, h, 0, h, 0);
  let j0: Uint8Array;
  if (iv.length === 12) {
    j0 = new Uint8Array(16);
    j0.set(iv);
    j0[15] = 1;
  } else {
    j0 = new Ghash(h).update(iv).lengths(0, iv.length).digest();
  }
  return { h, j0 };
}

/** GCTR with the 32-bit counter increment of GCM, starting at inc32(j0). */
function gctr(k: Sm4Key, j0: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  const ctr = Uint8Array.from(j0);
  const ks = new Uint8Array(16);
  const dv = new DataView(ctr.buffer);
  for (let off = 0; off < data.length; off += 16) {
    dv.setUint32(12, (dv.getUint32(12) + 1) >>> 0);
    cryptBlock(k.enc, ctr, 0, ks, 0);
    const n = Math.min(16, data.length - off);
    for (let i = 0; i < n; i++) out[off + i] = data[off + i]! ^ ks[i]!;
  }
  return out;
}

function gcmTag(k: Sm4Key, h: Uint8Array, j0: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const s = new Ghash(h).update(aad).update(ciphertext).lengths(aad.length, ciphertext.length).digest();
  const ekj0 = new Uint8Array(16);
  cryptBlock(k.enc, j0, 0, ekj0, 0);
  for (let i = 0; i < 16; i++) s[i] = s[i]! ^ ekj0[i]!;
  return s;
}

function requireBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new EncodeError('SM4_INPUT_TYPE', `${name} must be a Uint8Array`);
  return v;
}

/** SM4-GCM authenticated encryption. Never reuse an iv with the same key. */
export function sm4GcmEncrypt(
  key: Sm4KeyInput,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Sm4GcmResult {
  const k = expand(key);
  const { h, j0 } = gcmSetup(k, iv);
  const ciphertext = gctr(k, j0, requireBytes('plaintext', plaintext));
  return { ciphertext, tag: gcmTag(k, h, j0, requireBytes('aad', aad), ciphertext) };
}

/** SM4-GCM authenticated decryption; CryptoError SM4_GCM_AUTH_FAILED when the tag does not match. */
export function sm4GcmDecrypt(
  key: Sm4KeyInput,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
  tag: Uint8Array,
): Uint8Array {
  const k = expand(key);
  const { h, j0 } = gcmSetup(k, iv);
  requireBytes('ciphertext', ciphertext);
  requireBytes('tag', tag);
  if (tag.length !== 16) {
    throw new DecodeError('SM4_GCM_TAG_LENGTH', `SM4-GCM tag must be 16 bytes, got ${tag.length}`);
  }
  const expected = gcmTag(k, h, j0, requireBytes('aad', aad), ciphertext);
  if (!bytesEqual(expected, tag)) {
    throw new CryptoError(
      'SM4_GCM_AUTH_FAILED',
      'SM4-GCM authentication failed',
      'wrong key, iv or associated data, or the message was altered',
    );
  }
  return gctr(k, j0, ciphertext);
}

function describe(v: unknown): string {
  return v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
}
