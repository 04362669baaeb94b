/*
 * Point arithmetic and scalar multiplication on an ec_curve (a = -3). Internal to the crypto;
 * cp_sm2.h and cp_ecdsa.h are the interfaces the card and the addon use.
 *
 * Constant-time discipline: every function marked "ct" has no branch and no memory index that
 * depends on its secret inputs (scalars, points derived from them). "vartime" functions are for
 * public data only (verification).
 */
#ifndef CP_EC_POINT_H
#define CP_EC_POINT_H

#include "ec_curve.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* see ec_field.h */
#endif

/* ec_point.c: complete formulas (Renes-Costello-Batina 2016, a = -3), ct. */
void ec_proj_identity(const ec_curve *c, ec_proj *r);
void ec_proj_from_affine(const ec_curve *c, ec_proj *r, const ec_affine *a);
void ec_proj_add(const ec_curve *c, ec_proj *r, const ec_proj *a, const ec_proj *b);
void ec_proj_add_affine(const ec_curve *c, ec_proj *r, const ec_proj *a, const ec_affine *b);
void ec_proj_double(const ec_curve *c, ec_proj *r, const ec_proj *a);
void ec_proj_cmov(ec_proj *r, const ec_proj *a, ec_limb mask);
/* x, y (either may be NULL) as plain integers; returns all-ones unless a is the identity. ct. */
ec_limb ec_proj_to_affine(const ec_curve *c, ec_fe *x, ec_fe *y, const ec_proj *a);

/* 04||x||y -> affine (Montgomery form); 1 iff x < p, y < p and on the curve (so not the
 * identity, which has no affine form; cofactor 1 needs no subgroup check). vartime. */
int ec_decode_point(const ec_curve *c, const uint8_t pub[65], ec_affine *out);
void ec_encode_point(uint8_t out[65], const ec_fe *x, const ec_fe *y);

/* ec_mul.c */
/* r = k * G for any 256-bit k, ct in k. */
void ec_mul_base_ct(const ec_curve *c, ec_proj *r, const uint8_t k[32]);
/* r = s*G + t*P (P given by its point, or by its table when not NULL); s, t, P public. */
void ec_mul_add_vartime(const ec_curve *c, ec_proj *r, const uint8_t s[32], const ec_affine *p,
                        const ec_table *table, const uint8_t t[32]);
/* k (any 256-bit value) as EC_DIGITS signed radix-16 digits, k = sum digits[i] 16^i. ct. */
void ec_recode(int8_t digits[EC_DIGITS], const uint8_t k[32]);
/* ec_mul_var.c: r = k * P, k given by its digits; k, P public. */
void ec_mul_point_vartime(const ec_curve *c, ec_proj *r, const ec_affine *p, const int8_t digits[EC_DIGITS]);
/* r = s*G + t*P from digits, for a full generator table (EC_COMB_SPACING 1); public data. */
void ec_mul_add_jacobian(const ec_curve *c, ec_proj *r, const int8_t ds[EC_DIGITS], const ec_affine *p,
                         const ec_table *table, const int8_t dt[EC_DIGITS]);
/* Fills the per-key table of P (public). */
void ec_table_build(const ec_curve *c, const ec_affine *p, ec_table *out, ec_table_scratch *scratch);

/* ec_scalar.c: what SM2 and ECDSA signing share. */
/* Results of key generation and signing (the old sm2p256.c numbers, which the addon maps). */
#define EC_OK 1
#define EC_BAD_KEY 0     /* private key out of range */
#define EC_BAD_NONCE (-1) /* a fixed test k out of range or giving r = 0 / s = 0 */
#define EC_RNG_FAILED (-2)

/* all-ones if 1 <= k <= n - 1 - below (below = 0 for ECDSA keys and nonces, 1 for SM2 keys). ct. */
ec_limb ec_scalar_ok(const ec_curve *c, const ec_fe *k, unsigned below);
/* A uniform k in [1, n - 1 - below] by rejection sampling: EC_OK or EC_RNG_FAILED. ct in k. */
int ec_random_scalar(const ec_curve *c, unsigned below, ec_rng_fn rng, void *rng_ctx, uint8_t kbytes[32]);
/* x = (x-coordinate of k*G) mod n, plain; k in [1, n-1]. ct in k. */
void ec_base_x_mod_n(const ec_curve *c, ec_fe *x, const uint8_t k[32]);
/* pub = 04||x||y of k*G (public output, declassified); 0 if k*G is the identity. ct in k. */
int ec_public_of(const ec_curve *c, const uint8_t k[32], uint8_t pub[65]);
/* Private keys of a curve's signature scheme: d in [1, n - 1 - below] (below as for ec_scalar_ok). */
/* 1 if d is in range; ct in d, the verdict public. */
int ec_private_key_ok(const ec_curve *c, unsigned below, const uint8_t d[32]);
/* pub of d: EC_OK, or EC_BAD_KEY for a d out of range. ct in d. */
int ec_public_from_private(const ec_curve *c, unsigned below, const uint8_t d[32], uint8_t pub[65]);
/* A fresh key pair from rng: EC_OK, EC_RNG_FAILED. ct in d. */
int ec_keygen(const ec_curve *c, unsigned below, ec_rng_fn rng, void *rng_ctx, uint8_t d[32], uint8_t pub[65]);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
