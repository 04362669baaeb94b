/*
 * SM3 (GB/T 32905-2016) and SHA-256 (FIPS 180-4), incremental, with caller-owned contexts:
 * init, update any number of times with any lengths, final (which leaves the context wiped).
 * Both are 32-byte digests over 64-byte blocks with the same padding, so they share one layout.
 */
#ifndef CP_HASH_H
#define CP_HASH_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* see ec_field.h */
#endif

typedef struct {
  uint32_t h[8];
  uint64_t bytes;    /* message length so far */
  uint8_t buf[64];   /* partial block */
  uint32_t buf_len;  /* bytes in buf, < 64 */
} cp_hash_ctx;

void cp_sm3_init(cp_hash_ctx *ctx);
void cp_sm3_update(cp_hash_ctx *ctx, const uint8_t *data, size_t len);
void cp_sm3_final(cp_hash_ctx *ctx, uint8_t out[32]);
void cp_sm3(const uint8_t *data, size_t len, uint8_t out[32]);

void cp_sha256_init(cp_hash_ctx *ctx);
void cp_sha256_update(cp_hash_ctx *ctx, const uint8_t *data, size_t len);
void cp_sha256_final(cp_hash_ctx *ctx, uint8_t out[32]);
void cp_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
