/*
 * ECDSA (FIPS 186-5) on NIST P-256 with SHA-256, docs/protocol.md §9.4.
 * Keys: private 32 bytes big-endian in [1, n-1]; public 65 bytes 04||x||y; signatures r||s.
 * Results: EC_OK, EC_BAD_KEY, EC_BAD_NONCE, EC_RNG_FAILED (ec_point.h).
 * Signing and key derivation are constant time in the private key and the nonce. Verification
 * accepts s and n - s alike (no low-S rule), as OpenSSL and Web Crypto do.
 */
#ifndef CP_ECDSA_H
#define CP_ECDSA_H

#include "ec_point.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* see ec_field.h */
#endif

int cp_p256_private_key_ok(const uint8_t d[32]);
int cp_p256_public_from_private(const uint8_t d[32], uint8_t pub[65]);
int cp_p256_keygen(ec_rng_fn rng, void *rng_ctx, uint8_t d[32], uint8_t pub[65]);

/* Signs the 32-byte hash h (read as a big-endian integer, reduced mod n). fixed_k as cp_sm2.h. */
int cp_p256_sign_digest(const uint8_t d[32], const uint8_t h[32], const uint8_t *fixed_k, ec_rng_fn rng,
                        void *rng_ctx, uint8_t sig[64]);
int cp_p256_decode_public(const uint8_t pub[65], ec_affine *out);
/* 1 iff sig is valid for hash h under p. vartime (public data). */
int cp_p256_verify_digest(const ec_affine *p, const uint8_t h[32], const uint8_t sig[64]);

/* Message level: h = SHA-256(msg). */
int cp_p256_sign(const uint8_t d[32], const uint8_t *msg, size_t len, ec_rng_fn rng, void *rng_ctx,
                 uint8_t sig[64]);
int cp_p256_verify(const uint8_t pub[65], const uint8_t *msg, size_t len, const uint8_t sig[64]);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
