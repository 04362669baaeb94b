/**
 * GHASH (NIST SP 800-38D section 6.4) for SM4-GCM: multiplication in GF(2^128) with GCM's
 * bit-reflected convention, bit by bit with masks (no table indexed by secret data). Slow
 * (~1 us per block) but messages in secure messaging are a few hundred bytes.
 */

export class Ghash {
  private readonly h: Uint32Array;
  private readonly y = new Uint32Array(4);

  /** hashKey: E_K(0^128), 16 bytes. */
  constructor(hashKey: Uint8Array) {
    this.h = words(hashKey, 0);
  }

  /** Absorbs data zero-padded to a multiple of 16 bytes. */
  update(data: Uint8Array): this {
    for (let off = 0; off < data.length; off += 16) {
      const block = data.length - off >= 16 ? data.subarray(off, off + 16) : padBlock(data.subarray(off));
      const x = words(block, 0);
      for (let i = 0; i < 4; i++) this.y[i] = (this.y[i]! ^ x[i]!) >>> 0;
      this.multiplyH();
    }
    return this;
  }

  /** Absorbs the final length block: bit lengths of the AAD and of the ciphertext. */
  lengths(aadBytes: number, textBytes: number): this {
    const block = new Uint8Array(16);
    const dv = new DataView(block.buffer);
    dv.setBigUint64(0, BigInt(aadBytes) * 8n);
    dv.setBigUint64(8, BigInt(textBytes) * 8n);
    return this.update(block);
  }

  digest(): Uint8Array {
    const out = new Uint8Array(16);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) dv.setUint32(4 * i, this.y[i]!);
    return out;
  }

  private multiplyH(): void {
    let z0 = 0,
      z1 = 0,
      z2 = 0,
      z3 = 0;
    let v0 = this.h[0]!,
      v1 = this.h[1]!,
      v2 = this.h[2]!,
      v3 = this.h[3]!;
    for (let i = 0; i < 128; i++) {
      const word = this.y[i >>> 5]!;
      const bit = (word >>> (31 - (i & 31))) & 1;
      const m = -bit; // all ones when the bit is set
      z0 ^= v0 & m;
      z1 ^= v1 & m;
      z2 ^= v2 & m;
      z3 ^= v3 & m;
      const lsb = -(v3 & 1);
      v3 = (v3 >>> 1) | (v2 << 31);
      v2 = (v2 >>> 1) | (v1 << 31);
      v1 = (v1 >>> 1) | (v0 << 31);
      v0 = (v0 >>> 1) ^ (0xe1000000 & lsb);
    }
    this.y[0] = z0 >>> 0;
    this.y[1] = z1 >>> 0;
    this.y[2] = z2 >>> 0;
    this.y[3] = z3 >>> 0;
  }
}

function words(block: Uint8Array, off: number): Uint32Array {
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const j = off + 4 * i;
    w[i] = ((block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!) >>> 0;
  }
  return w;
}

function padBlock(partial: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b.set(partial);
  return b;
}
