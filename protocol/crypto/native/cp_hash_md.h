/*
 * The Merkle-Damgard framing SM3 and SHA-256 share (64-byte blocks, 0x80 then zeros then the
 * 64-bit big-endian bit length), parameterised by the compression function. Internal.
 */
#ifndef CP_HASH_MD_H
#define CP_HASH_MD_H

#include "cp_hash.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* see ec_field.h */
#endif

typedef void (*cp_compress_fn)(uint32_t h[8], const uint8_t block[64]);

void cp_md_update(cp_hash_ctx *ctx, const uint8_t *data, size_t len, cp_compress_fn compress);
void cp_md_final(cp_hash_ctx *ctx, uint8_t out[32], cp_compress_fn compress);

static inline uint32_t cp_load_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint32_t cp_rotl32(uint32_t x, unsigned n) { return (x << (n & 31)) | (x >> ((32 - n) & 31)); }

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
