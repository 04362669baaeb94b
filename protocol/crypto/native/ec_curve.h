/*
 * Short-Weierstrass curves y^2 = x^3 - 3x + b over a 256-bit prime field with prime order n
 * (cofactor 1): sm2p256v1 and NIST P-256. Curve constants are const structs in .rodata
 * (ec_sm2p256.c, ec_p256.c), including a generated fixed-base table of the generator.
 *
 * Points: affine (x, y) and homogeneous projective (X : Y : Z), coordinates in Montgomery form.
 */
#ifndef CP_EC_CURVE_H
#define CP_EC_CURVE_H

#include "ec_field.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* see ec_field.h */
#endif

/*
 * Fixed-base comb. Scalars are recoded into 65 signed radix-16 digits d_i (i = 0..64); the full
 * table has 65 rows, row i = {j * 16^i * G : j = 1..8}. A build keeps every EC_COMB_SPACING-th
 * row and makes up for the missing ones with 4 doublings per skipped row position:
 * spacing 1 = 65 rows, 33 KB per curve, no doublings (64-bit host default);
 * spacing 2 = 33 rows, 16.9 KB, 4 doublings; spacing 4 = 17 rows, 8.7 KB, 12 doublings.
 */
#ifndef EC_COMB_SPACING
#ifdef CP_LIMB32
#define EC_COMB_SPACING 2
#else
#define EC_COMB_SPACING 1
#endif
#endif
#if EC_COMB_SPACING != 1 && EC_COMB_SPACING != 2 && EC_COMB_SPACING != 4
#error "EC_COMB_SPACING must be 1, 2 or 4"
#endif
#define EC_DIGITS 65
#define EC_TABLE_COLS 8
#define EC_COMB_ROWS ((EC_DIGITS - 1) / EC_COMB_SPACING + 1)
#define EC_COMB_HAS_ROW(i) ((i) % EC_COMB_SPACING == 0)

typedef struct {
  ec_fe x, y;
} ec_affine;

typedef struct {
  ec_fe X, Y, Z; /* x = X/Z, y = Y/Z; the identity is (0 : 1 : 0) */
} ec_proj;

typedef struct {
  ec_mod p;                                        /* field */
  ec_mod n;                                        /* group order */
  ec_fe b;                                         /* curve b, Montgomery form */
  const ec_affine (*g_table)[EC_TABLE_COLS];       /* EC_COMB_ROWS rows of multiples of G */
} ec_curve;

/* Per-key table for verification on the host (every row, 33 KB): row i = j * 16^i * P. */
typedef struct {
  ec_affine p[EC_DIGITS][EC_TABLE_COLS];
} ec_table;

/* Scratch space ec_table_build needs (caller-owned: no heap in this code). */
typedef struct {
  ec_fe z[EC_DIGITS * EC_TABLE_COLS];
  ec_fe prefix[EC_DIGITS * EC_TABLE_COLS];
} ec_table_scratch;

/* Random source: fills buf with n bytes, returns 1 on success. */
typedef int (*ec_rng_fn)(void *ctx, uint8_t *buf, size_t n);

const ec_curve *ec_sm2p256(void);
const ec_curve *ec_p256(void);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
