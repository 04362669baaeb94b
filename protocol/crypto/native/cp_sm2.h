/*
 * SM2 signatures (GB/T 32918.2-2016) on sm2p256v1 with SM3, docs/protocol.md §9.3.
 * Keys: private 32 bytes big-endian in [1, n-2]; public 65 bytes 04||x||y; signatures r||s.
 * Results: EC_OK, EC_BAD_KEY, EC_BAD_NONCE, EC_RNG_FAILED (ec_point.h).
 * Signing and key derivation are constant time in the private key and the nonce.
 */
#ifndef CP_SM2_H
#define CP_SM2_H

#include "ec_point.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* see ec_field.h */
#endif

/* 1 if d is in [1, n-2]. ct in d (the answer itself is public). */
int cp_sm2_private_key_ok(const uint8_t d[32]);
int cp_sm2_public_from_private(const uint8_t d[32], uint8_t pub[65]);
int cp_sm2_keygen(ec_rng_fn rng, void *rng_ctx, uint8_t d[32], uint8_t pub[65]);

/*
 * GB/T 32918.2 §6.1 A3-A7 on the digest e. With fixed_k == NULL the nonce comes from rng and a
 * nonce that gives r = 0, r + k = n or s = 0 is replaced; with fixed_k (test vectors) such a k,
 * or one outside [1, n-1], gives EC_BAD_NONCE.
 */
int cp_sm2_sign_digest(const uint8_t d[32], const uint8_t e[32], const uint8_t *fixed_k, ec_rng_fn rng,
                       void *rng_ctx, uint8_t sig[64]);

/* 04||x||y -> point: 1 iff a valid public key (§9.5). */
int cp_sm2_decode_public(const uint8_t pub[65], ec_affine *out);
/* GB/T 32918.2 §7.1 B1-B7; table may be NULL. 1 iff valid. vartime (public data). */
int cp_sm2_verify_digest(const ec_affine *p, const ec_table *table, const uint8_t e[32], const uint8_t sig[64]);
void cp_sm2_table_build(const ec_affine *p, ec_table *out, ec_table_scratch *scratch);
/* Test hook: out = s*G + t*P for any 256-bit s, t; 0 for the identity. */
int cp_sm2_mul_add(const uint8_t s[32], const ec_affine *p, const ec_table *table, const uint8_t t[32],
                   uint8_t out[65]);

/* Z_A = SM3(ENTL_A || ID_A || a || b || Gx || Gy || xA || yA); 0 if id is longer than 8191 bytes. */
int cp_sm2_za(const uint8_t pub[65], const uint8_t *id, size_t id_len, uint8_t za[32]);
/* e = SM3(Z_A || M) with the default id "1234567812345678". */
void cp_sm2_digest(const uint8_t pub[65], const uint8_t *msg, size_t len, uint8_t e[32]);
/* Message level, default id. pub must be the key of d (it only enters Z_A). */
int cp_sm2_sign(const uint8_t d[32], const uint8_t pub[65], const uint8_t *msg, size_t len, ec_rng_fn rng,
                void *rng_ctx, uint8_t sig[64]);
/* 1 iff pub is a valid key and sig a valid signature of msg under it. */
int cp_sm2_verify(const uint8_t pub[65], const uint8_t *msg, size_t len, const uint8_t sig[64]);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
