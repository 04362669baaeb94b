/* SM3, GB/T 32905-2016 (section 5). Block framing in cp_hash_md.c. */
#include "cp_hash_md.h"

static uint32_t p0(uint32_t x) { return x ^ cp_rotl32(x, 9) ^ cp_rotl32(x, 17); }
static uint32_t p1(uint32_t x) { return x ^ cp_rotl32(x, 15) ^ cp_rotl32(x, 23); }

static void sm3_compress(uint32_t v[8], const uint8_t block[64]) {
  uint32_t w[68];
  for (int j = 0; j < 16; j++) w[j] = cp_load_be32(block + 4 * j);
  for (int j = 16; j < 68; j++)
    w[j] = p1(w[j - 16] ^ w[j - 9] ^ cp_rotl32(w[j - 3], 15)) ^ cp_rotl32(w[j - 13], 7) ^ w[j - 6];
  uint32_t a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
  for (int j = 0; j < 64; j++) {
    const uint32_t t = j < 16 ? 0x79CC4519u : 0x7A879D8Au;
    const uint32_t a12 = cp_rotl32(a, 12);
    const uint32_t ss1 = cp_rotl32(a12 + e + cp_rotl32(t, (unsigned)j % 32), 7);
    const uint32_t ss2 = ss1 ^ a12;
    const uint32_t ff = j < 16 ? (a ^ b ^ c) : ((a & b) | (a & c) | (b & c));
    const uint32_t gg = j < 16 ? (e ^ f ^ g) : ((e & f) | (~e & g));
    const uint32_t tt1 = ff + d + ss2 + (w[j] ^ w[j + 4]); /* W'_j = W_j ^ W_(j+4) */
    const uint32_t tt2 = gg + h + ss1 + w[j];
    d = c;
    c = cp_rotl32(b, 9);
    b = a;
    a = tt1;
    h = g;
    g = cp_rotl32(f, 19);
    f = e;
    e = p0(tt2);
  }
  v[0] ^= a;
  v[1] ^= b;
  v[2] ^= c;
  v[3] ^= d;
  v[4] ^= e;
  v[5] ^= f;
  v[6] ^= g;
  v[7] ^= h;
}

void cp_sm3_init(cp_hash_ctx *ctx) {
  static const uint32_t IV[8] = {0x7380166Fu, 0x4914B2B9u, 0x172442D7u, 0xDA8A0600u,
                                 0xA96F30BCu, 0x163138AAu, 0xE38DEE4Du, 0xB0FB0E4Eu};
  for (int i = 0; i < 8; i++) ctx->h[i] = IV[i];
  ctx->bytes = 0;
  ctx->buf_len = 0;
}

void cp_sm3_update(cp_hash_ctx *ctx, const uint8_t *data, size_t len) { cp_md_update(ctx, data, len, sm3_compress); }

void cp_sm3_final(cp_hash_ctx *ctx, uint8_t out[32]) { cp_md_final(ctx, out, sm3_compress); }

void cp_sm3(const uint8_t *data, size_t len, uint8_t out[32]) {
  cp_hash_ctx ctx;
  cp_sm3_init(&ctx);
  cp_sm3_update(&ctx, data, len);
  cp_sm3_final(&ctx, out);
}
