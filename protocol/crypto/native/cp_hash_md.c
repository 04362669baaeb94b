/* Block buffering and padding shared by SM3 and SHA-256 (cp_hash_md.h). */
#include "cp_hash_md.h"

#include <string.h>

void cp_md_update(cp_hash_ctx *ctx, const uint8_t *data, size_t len, cp_compress_fn compress) {
  if (len == 0) return; /* data may be NULL then */
  ctx->bytes += len;
  if (ctx->buf_len > 0) {
    size_t take = 64 - ctx->buf_len;
    if (take > len) take = len;
    memcpy(ctx->buf + ctx->buf_len, data, take);
    ctx->buf_len += (uint32_t)take;
    data += take;
    len -= take;
    if (ctx->buf_len < 64) return;
    compress(ctx->h, ctx->buf);
    ctx->buf_len = 0;
  }
  for (; len >= 64; data += 64, len -= 64) compress(ctx->h, data);
  memcpy(ctx->buf, data, len);
  ctx->buf_len = (uint32_t)len;
}

void cp_md_final(cp_hash_ctx *ctx, uint8_t out[32], cp_compress_fn compress) {
  uint64_t bits = ctx->bytes * 8;
  ctx->buf[ctx->buf_len++] = 0x80;
  if (ctx->buf_len > 56) { /* no room for the length: one more block */
    memset(ctx->buf + ctx->buf_len, 0, 64 - ctx->buf_len);
    compress(ctx->h, ctx->buf);
    ctx->buf_len = 0;
  }
  memset(ctx->buf + ctx->buf_len, 0, 56 - ctx->buf_len);
  for (int i = 0; i < 8; i++) ctx->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  compress(ctx->h, ctx->buf);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(ctx->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(ctx->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(ctx->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)ctx->h[i];
  }
  volatile uint8_t *p = (volatile uint8_t *)ctx; /* the context may have held secrets (Z_A is not, keys can be) */
  for (size_t i = 0; i < sizeof *ctx; i++) p[i] = 0;
}
