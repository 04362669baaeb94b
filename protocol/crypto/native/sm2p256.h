/*
 * SM2 (GB/T 32918) arithmetic on the recommended curve sm2p256v1, no dependencies.
 * See sm2p256.c for the design; cardpost_crypto.c is the Node-API glue.
 */
#ifndef CARDPOST_SM2P256_H
#define CARDPOST_SM2P256_H

#include <stddef.h>
#include <stdint.h>

/* Field element / scalar: 4 little-endian 64-bit limbs, usually in Montgomery form. */
typedef struct {
  uint64_t v[4];
} sm2_fe;

/* Affine point (Montgomery form); never the identity. */
typedef struct {
  sm2_fe x, y;
} sm2_affine;

/* Fixed-base table: row i holds j * 16^i * P for j = 1..8 (65 rows cover 256-bit scalars). */
#define SM2_TABLE_ROWS 65
#define SM2_TABLE_COLS 8
typedef struct {
  sm2_affine p[SM2_TABLE_ROWS][SM2_TABLE_COLS];
} sm2_table;

typedef struct sm2_curve sm2_curve;

/* Allocates the curve constants and the generator table (~33 KB, ~0.3 ms). NULL on OOM. */
sm2_curve *sm2_curve_new(void);
void sm2_curve_free(sm2_curve *c);

/* Random source for nonces: fills buf with n bytes, returns 1 on success. */
typedef int (*sm2_rng)(uint8_t *buf, size_t n);

/* 1 if d (32 bytes big-endian) is a valid private key, i.e. in [1, n-2]. Constant time. */
int sm2_private_key_ok(const sm2_curve *c, const uint8_t d[32]);

/* pub = 04||x||y of d*G. Returns 0 if d is not a valid private key. Constant time in d. */
int sm2_public_from_private(const sm2_curve *c, const uint8_t d[32], uint8_t pub[65]);

/*
 * GB/T 32918.2 section 6.1 A3-A7 on the digest e. With fixed_k == NULL the nonce comes from rng;
 * with fixed_k (test vectors) a k that gives r = 0, r + k = n or s = 0 fails instead of retrying.
 * Returns 1 on success, 0 for a bad private key, -1 for a bad/unusable fixed k, -2 if rng failed.
 */
int sm2_sign_digest(const sm2_curve *c, const uint8_t d[32], const uint8_t e[32],
                    const uint8_t *fixed_k, sm2_rng rng, uint8_t sig[64]);

/* Decodes 04||x||y, checking x, y < p and the curve equation. Returns 1 if valid. */
int sm2_decode_public(const sm2_curve *c, const uint8_t pub[65], sm2_affine *out);

/* Builds the fixed-base table of a (valid) public point. */
int sm2_table_build(const sm2_curve *c, const sm2_affine *p, sm2_table *out);

/* GB/T 32918.2 section 7.1 B1-B7; table may be NULL. Returns 1 iff the signature is valid. */
int sm2_verify_digest(const sm2_curve *c, const sm2_affine *p, const sm2_table *table,
                      const uint8_t e[32], const uint8_t sig[64]);

/* Test hook: out = s*G + t*P for arbitrary 256-bit s, t. Returns 0 for the identity. */
int sm2_mul_add(const sm2_curve *c, const uint8_t s[32], const sm2_affine *p,
                const sm2_table *table, const uint8_t t[32], uint8_t out[65]);

#endif
