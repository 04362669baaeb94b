/*
 * SM2 arithmetic on sm2p256v1 (GB/T 32918.5): p = 2^256 - 2^224 - 2^96 + 2^64 - 1, a = -3.
 *
 * Why our own arithmetic instead of OpenSSL's EC_POINT_* (which node exports): in OpenSSL 3.0
 * sm2p256v1 runs on the generic BIGNUM Montgomery code, and a secret scalar times G always goes
 * through its Montgomery ladder (~400 us here), i.e. exactly what node:crypto pays; signing could
 * never beat native. Dedicated 4x64-bit limbs are ~8x faster and small enough to review.
 *
 * Design, chosen for reviewability over the last few percent:
 *  - Field and scalar arithmetic: Montgomery multiplication (CIOS) with unsigned __int128,
 *    generated once per modulus (p and n) from one macro; final subtractions by masks.
 *  - Points: homogeneous projective coordinates with the complete formulas of Renes, Costello
 *    and Batina 2016 (eprint 2015/1060, Algorithms 4, 5, 6 for a = -3). Complete means no
 *    exceptional cases (P = Q, P = -Q, identity), so secret-scalar loops need no data-dependent
 *    branches and table building needs no special cases.
 *  - k*G (signing, key derivation): signed radix-16 digits, one table row per digit, 65 mixed
 *    additions; every row is scanned in full and selected with masks (no secret-dependent memory
 *    index or branch); zero digits are absorbed with a masked move.
 *  - Verification (public data only): s*G from the same table with direct indexing; t*P from a
 *    per-key table when the caller built one, else by signed radix-16 double-and-add in Jacobian
 *    coordinates (cheaper doublings; its exceptional cases are handled by explicit branches).
 *  - Inversions by Fermat (fixed public exponent, so constant time in the base).
 */
#include "sm2p256.h"

#include <stdlib.h>
#include <string.h>

#if !defined(__SIZEOF_INT128__)
#error "sm2p256.c needs unsigned __int128 (64-bit GCC or Clang); the JS backend is used instead"
#endif

typedef unsigned __int128 u128;

typedef struct {
  sm2_fe m;       /* modulus */
  uint64_t minv;  /* -m^-1 mod 2^64 */
  sm2_fe rr;      /* R^2 mod m, R = 2^256 */
  sm2_fe one;     /* R mod m, i.e. 1 in Montgomery form */
  sm2_fe m_minus_2;
} modulus;

typedef struct {
  sm2_fe X, Y, Z; /* x = X/Z, y = Y/Z; identity is (0 : 1 : 0) */
} proj;

struct sm2_curve {
  modulus p, n;
  sm2_fe b;        /* curve b, Montgomery form mod p */
  sm2_fe n_minus_1; /* plain integer: private keys must be below it */
  sm2_table g;     /* multiples of the generator */
};

static const uint8_t P_BYTES[32] = {
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
static const uint8_t B_BYTES[32] = {
    0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09, 0xA7,
    0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94, 0x0E, 0x93};
static const uint8_t N_BYTES[32] = {
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23};
static const uint8_t GX_BYTES[32] = {
    0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04, 0x46, 0x6A, 0x39, 0xC9, 0x94,
    0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66, 0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C, 0x74, 0xC7};
static const uint8_t GY_BYTES[32] = {
    0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE, 0xE3, 0x6B, 0x69, 0x21, 0x53,
    0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39, 0xF0, 0xA0};

/* ---------------------------------------------------------------------------------------------
 * Limb helpers
 * ------------------------------------------------------------------------------------------- */

static void secure_zero(void *p, size_t n) {
  volatile uint8_t *q = (volatile uint8_t *)p;
  while (n--) *q++ = 0;
}

static void fe_from_be(sm2_fe *r, const uint8_t b[32]) {
  for (int i = 0; i < 4; i++) {
    uint64_t w = 0;
    for (int j = 0; j < 8; j++) w = (w << 8) | b[(3 - i) * 8 + j];
    r->v[i] = w;
  }
}

static void fe_to_be(uint8_t b[32], const sm2_fe *a) {
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) b[(3 - i) * 8 + j] = (uint8_t)(a->v[i] >> (56 - 8 * j));
}

/* all-ones if a == 0 */
static uint64_t fe_is_zero_mask(const sm2_fe *a) {
  uint64_t x = a->v[0] | a->v[1] | a->v[2] | a->v[3];
  return ((x | (0 - x)) >> 63) - 1;
}

/* all-ones if a < b (as integers); constant time */
static uint64_t fe_lt_mask(const sm2_fe *a, const sm2_fe *b) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 t = (u128)a->v[i] - b->v[i] - borrow;
    borrow = (uint64_t)(t >> 64) & 1;
  }
  return 0 - borrow;
}

static int fe_equal(const sm2_fe *a, const sm2_fe *b) {
  return ((a->v[0] ^ b->v[0]) | (a->v[1] ^ b->v[1]) | (a->v[2] ^ b->v[2]) | (a->v[3] ^ b->v[3])) == 0;
}

/* r = mask ? a : r */
static void fe_cmov(sm2_fe *r, const sm2_fe *a, uint64_t mask) {
  for (int i = 0; i < 4; i++) r->v[i] = (a->v[i] & mask) | (r->v[i] & ~mask);
}

/* r = a - m if a >= m (a < 2m); constant time */
static void fe_reduce_once(sm2_fe *r, const sm2_fe *a, const modulus *M) {
  sm2_fe d;
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 t = (u128)a->v[i] - M->m.v[i] - borrow;
    d.v[i] = (uint64_t)t;
    borrow = (uint64_t)(t >> 64) & 1;
  }
  uint64_t keep = 0 - borrow;
  for (int i = 0; i < 4; i++) r->v[i] = (a->v[i] & keep) | (d.v[i] & ~keep);
}

/* ---------------------------------------------------------------------------------------------
 * Modular arithmetic (inputs < m, outputs < m), generated for p and for n with the modulus as
 * compile-time constants and every limb in a scalar, which lets the compiler keep it all in
 * registers (about 1.4x faster than a loop over an array here).
 * ------------------------------------------------------------------------------------------- */

static inline uint64_t mac64(uint64_t t, uint64_t a, uint64_t b, uint64_t *carry) {
  u128 x = (u128)a * b + t + *carry; /* < 2^128 */
  *carry = (uint64_t)(x >> 64);
  return (uint64_t)x;
}

static inline uint64_t adc64(uint64_t a, uint64_t b, uint64_t *carry) {
  u128 x = (u128)a + b + *carry;
  *carry = (uint64_t)(x >> 64);
  return (uint64_t)x;
}

static inline uint64_t sbb64(uint64_t a, uint64_t b, uint64_t *borrow) {
  u128 x = (u128)a - b - *borrow;
  *borrow = (uint64_t)(x >> 64) & 1;
  return (uint64_t)x;
}

/* One CIOS round: t = (t + a * bi + q * m) / 2^64 with q = t0 * minv. */
#define CIOS_ROUND(bi)                                                                            \
  do {                                                                                           \
    uint64_t c = 0, c2 = 0, q;                                                                   \
    t0 = mac64(t0, a0, bi, &c);                                                                  \
    t1 = mac64(t1, a1, bi, &c);                                                                  \
    t2 = mac64(t2, a2, bi, &c);                                                                  \
    t3 = mac64(t3, a3, bi, &c);                                                                  \
    t4 = adc64(t4, c, &c2);                                                                      \
    t5 = c2;                                                                                     \
    q = t0 * MINV;                                                                               \
    c = 0;                                                                                       \
    (void)mac64(t0, q, M0, &c); /* low word is 0 by choice of q */                               \
    t0 = mac64(t1, q, M1, &c);                                                                   \
    t1 = mac64(t2, q, M2, &c);                                                                   \
    t2 = mac64(t3, q, M3, &c);                                                                   \
    c2 = 0;                                                                                      \
    t3 = adc64(t4, c, &c2);                                                                      \
    t4 = t5 + c2;                                                                                \
  } while (0)

/* r = v - m if v >= m, for v = (top:x3:x2:x1:x0) < 2m; masks, no branches */
#define FINAL_SUB(top)                                                                           \
  do {                                                                                           \
    uint64_t bw = 0, d0, d1, d2, d3, keep;                                                       \
    d0 = sbb64(x0, M0, &bw);                                                                     \
    d1 = sbb64(x1, M1, &bw);                                                                     \
    d2 = sbb64(x2, M2, &bw);                                                                     \
    d3 = sbb64(x3, M3, &bw);                                                                     \
    keep = 0 - (((top) - bw) >> 63);                                                             \
    r->v[0] = (x0 & keep) | (d0 & ~keep);                                                        \
    r->v[1] = (x1 & keep) | (d1 & ~keep);                                                        \
    r->v[2] = (x2 & keep) | (d2 & ~keep);                                                        \
    r->v[3] = (x3 & keep) | (d3 & ~keep);                                                        \
  } while (0)

#define MODULAR_OPS(P, M0_, M1_, M2_, M3_, MINV_)                                                \
  /* r = a * b / 2^256 mod m (Montgomery, CIOS); r may alias a or b */                            \
  static void P##_mul(sm2_fe *r, const sm2_fe *a, const sm2_fe *b) {                              \
    const uint64_t M0 = M0_, M1 = M1_, M2 = M2_, M3 = M3_, MINV = MINV_;                          \
    uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];                              \
    uint64_t b0 = b->v[0], b1 = b->v[1], b2 = b->v[2], b3 = b->v[3];                              \
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0;                                      \
    CIOS_ROUND(b0);                                                                              \
    CIOS_ROUND(b1);                                                                              \
    CIOS_ROUND(b2);                                                                              \
    CIOS_ROUND(b3);                                                                              \
    uint64_t x0 = t0, x1 = t1, x2 = t2, x3 = t3;                                                  \
    FINAL_SUB(t4); /* t < 2m, t4 <= 1 */                                                         \
  }                                                                                              \
  static void P##_add(sm2_fe *r, const sm2_fe *a, const sm2_fe *b) {                              \
    const uint64_t M0 = M0_, M1 = M1_, M2 = M2_, M3 = M3_;                                        \
    uint64_t c = 0, x0, x1, x2, x3;                                                              \
    x0 = adc64(a->v[0], b->v[0], &c);                                                            \
    x1 = adc64(a->v[1], b->v[1], &c);                                                            \
    x2 = adc64(a->v[2], b->v[2], &c);                                                            \
    x3 = adc64(a->v[3], b->v[3], &c);                                                            \
    FINAL_SUB(c);                                                                                \
  }                                                                                              \
  static void P##_sub(sm2_fe *r, const sm2_fe *a, const sm2_fe *b) {                              \
    uint64_t bw = 0, c = 0, x0, x1, x2, x3, mask;                                                \
    x0 = sbb64(a->v[0], b->v[0], &bw);                                                           \
    x1 = sbb64(a->v[1], b->v[1], &bw);                                                           \
    x2 = sbb64(a->v[2], b->v[2], &bw);                                                           \
    x3 = sbb64(a->v[3], b->v[3], &bw);                                                           \
    mask = 0 - bw; /* add m back if a < b */                                                     \
    r->v[0] = adc64(x0, (M0_) & mask, &c);                                                       \
    r->v[1] = adc64(x1, (M1_) & mask, &c);                                                       \
    r->v[2] = adc64(x2, (M2_) & mask, &c);                                                       \
    r->v[3] = adc64(x3, (M3_) & mask, &c);                                                       \
  }

/* p: -p^-1 mod 2^64 = 1 because p = -1 mod 2^64 */
MODULAR_OPS(fp, 0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFF00000000ULL, 0xFFFFFFFFFFFFFFFFULL,
            0xFFFFFFFEFFFFFFFFULL, 1ULL)
/* n: -n^-1 mod 2^64 = 0x327F9E8872350975 (checked against the Newton iteration in sm2_curve_new) */
MODULAR_OPS(fn, 0x53BBF40939D54123ULL, 0x7203DF6B21C6052BULL, 0xFFFFFFFFFFFFFFFFULL,
            0xFFFFFFFEFFFFFFFFULL, 0x327F9E8872350975ULL)

typedef void (*mul_fn)(sm2_fe *r, const sm2_fe *a, const sm2_fe *b);

/* Constants derived at start-up from the byte strings above (and cross-checked with MODULAR_OPS). */
static void modulus_init(modulus *M, const uint8_t m[32]) {
  fe_from_be(&M->m, m);
  uint64_t x = 1; /* Newton: x = m0^-1 mod 2^64 */
  for (int i = 0; i < 6; i++) x *= 2 - M->m.v[0] * x;
  M->minv = 0 - x;
  /* R mod m = 2^256 - m, valid because m > 2^255 */
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) M->one.v[i] = sbb64(0, M->m.v[i], &borrow);
  /* R^2 mod m: double R mod m 256 times (plain modular doubling, start-up only) */
  M->rr = M->one;
  for (int i = 0; i < 256; i++) {
    uint64_t c = 0, bw = 0, s[4], d[4];
    for (int j = 0; j < 4; j++) s[j] = adc64(M->rr.v[j], M->rr.v[j], &c);
    for (int j = 0; j < 4; j++) d[j] = sbb64(s[j], M->m.v[j], &bw);
    int keep = (c == 0 && bw == 1);
    for (int j = 0; j < 4; j++) M->rr.v[j] = keep ? s[j] : d[j];
  }
  M->m_minus_2 = M->m;
  M->m_minus_2.v[0] -= 2; /* low limb of p and n is >= 2 */
}

static void to_mont(sm2_fe *r, const sm2_fe *a, const modulus *M, mul_fn mul) { mul(r, a, &M->rr); }

static void from_mont(sm2_fe *r, const sm2_fe *a, mul_fn mul) {
  static const sm2_fe ONE = {{1, 0, 0, 0}};
  mul(r, a, &ONE);
}

/* r = a^e (Montgomery form in and out); 4-bit fixed window; e is public. */
static void mont_pow(sm2_fe *r, const sm2_fe *a, const sm2_fe *e, const modulus *M, mul_fn mul) {
  sm2_fe tab[16], acc = M->one;
  tab[0] = M->one;
  tab[1] = *a;
  for (int i = 2; i < 16; i++) mul(&tab[i], &tab[i - 1], a);
  for (int i = 63; i >= 0; i--) {
    for (int j = 0; j < 4; j++) mul(&acc, &acc, &acc);
    unsigned nib = (unsigned)(e->v[i / 16] >> ((i % 16) * 4)) & 15;
    mul(&acc, &acc, &tab[nib]);
  }
  *r = acc;
  secure_zero(tab, sizeof tab);
}

/* r = a^-1 (Montgomery form), a != 0, m prime (Fermat) */
static void mont_inv(sm2_fe *r, const sm2_fe *a, const modulus *M, mul_fn mul) {
  mont_pow(r, a, &M->m_minus_2, M, mul);
}

/* ---------------------------------------------------------------------------------------------
 * Points (Renes-Costello-Batina complete formulas, a = -3)
 * ------------------------------------------------------------------------------------------- */

static void fe_triple(sm2_fe *r, const sm2_fe *a) {
  sm2_fe t;
  fp_add(&t, a, a);
  fp_add(r, &t, a);
}

static void proj_identity(const sm2_curve *c, proj *r) {
  memset(r, 0, sizeof *r);
  r->Y = c->p.one;
}

static void proj_from_affine(const sm2_curve *c, proj *r, const sm2_affine *a) {
  r->X = a->x;
  r->Y = a->y;
  r->Z = c->p.one;
}

/* Algorithm 4: r = a + b; r may alias a or b. */
static void proj_add(const sm2_curve *c, proj *r, const proj *a, const proj *b) {
    sm2_fe xx, yy, zz, xy, yz, xz, t0, t1, bzz3, yy_m, yy_p, zz3, bxz3, xx3_m_zz3;
  fp_mul(&xx, &a->X, &b->X);
  fp_mul(&yy, &a->Y, &b->Y);
  fp_mul(&zz, &a->Z, &b->Z);
  fp_add(&t0, &a->X, &a->Y);
  fp_add(&t1, &b->X, &b->Y);
  fp_mul(&xy, &t0, &t1);
  fp_add(&t0, &xx, &yy);
  fp_sub(&xy, &xy, &t0); /* X1Y2 + X2Y1 */
  fp_add(&t0, &a->Y, &a->Z);
  fp_add(&t1, &b->Y, &b->Z);
  fp_mul(&yz, &t0, &t1);
  fp_add(&t0, &yy, &zz);
  fp_sub(&yz, &yz, &t0); /* Y1Z2 + Y2Z1 */
  fp_add(&t0, &a->X, &a->Z);
  fp_add(&t1, &b->X, &b->Z);
  fp_mul(&xz, &t0, &t1);
  fp_add(&t0, &xx, &zz);
  fp_sub(&xz, &xz, &t0); /* X1Z2 + X2Z1 */
  fp_mul(&t0, &c->b, &zz);
  fp_sub(&t0, &xz, &t0);
  fe_triple(&bzz3, &t0);
  fp_sub(&yy_m, &yy, &bzz3);
  fp_add(&yy_p, &yy, &bzz3);
  fe_triple(&zz3, &zz);
  fp_mul(&t0, &c->b, &xz);
  fp_add(&t1, &zz3, &xx);
  fp_sub(&t0, &t0, &t1);
  fe_triple(&bxz3, &t0);
  fe_triple(&t0, &xx);
  fp_sub(&xx3_m_zz3, &t0, &zz3);
  fp_mul(&t0, &yy_p, &xy);
  fp_mul(&t1, &yz, &bxz3);
  fp_sub(&r->X, &t0, &t1);
  fp_mul(&t0, &yy_p, &yy_m);
  fp_mul(&t1, &xx3_m_zz3, &bxz3);
  fp_add(&r->Y, &t0, &t1);
  fp_mul(&t0, &yy_m, &yz);
  fp_mul(&t1, &xy, &xx3_m_zz3);
  fp_add(&r->Z, &t0, &t1);
}

/* Algorithm 5: r = a + b with b affine and not the identity; r may alias a. */
static void proj_add_affine(const sm2_curve *c, proj *r, const proj *a, const sm2_affine *b) {
    sm2_fe xx, yy, xy, yz, xz, t0, t1, bz3, yy_m, yy_p, z3, bxz3, xx3_m_zz3;
  fp_mul(&xx, &a->X, &b->x);
  fp_mul(&yy, &a->Y, &b->y);
  fp_add(&t0, &a->X, &a->Y);
  fp_add(&t1, &b->x, &b->y);
  fp_mul(&xy, &t0, &t1);
  fp_add(&t0, &xx, &yy);
  fp_sub(&xy, &xy, &t0);
  fp_mul(&yz, &b->y, &a->Z);
  fp_add(&yz, &yz, &a->Y);
  fp_mul(&xz, &b->x, &a->Z);
  fp_add(&xz, &xz, &a->X);
  fp_mul(&t0, &c->b, &a->Z);
  fp_sub(&t0, &xz, &t0);
  fe_triple(&bz3, &t0);
  fp_sub(&yy_m, &yy, &bz3);
  fp_add(&yy_p, &yy, &bz3);
  fe_triple(&z3, &a->Z);
  fp_mul(&t0, &c->b, &xz);
  fp_add(&t1, &z3, &xx);
  fp_sub(&t0, &t0, &t1);
  fe_triple(&bxz3, &t0);
  fe_triple(&t0, &xx);
  fp_sub(&xx3_m_zz3, &t0, &z3);
  fp_mul(&t0, &yy_p, &xy);
  fp_mul(&t1, &yz, &bxz3);
  fp_sub(&r->X, &t0, &t1);
  fp_mul(&t0, &yy_p, &yy_m);
  fp_mul(&t1, &xx3_m_zz3, &bxz3);
  fp_add(&r->Y, &t0, &t1);
  fp_mul(&t0, &yy_m, &yz);
  fp_mul(&t1, &xy, &xx3_m_zz3);
  fp_add(&r->Z, &t0, &t1);
}

/* Algorithm 6: r = 2a; r may alias a. */
static void proj_double(const sm2_curve *c, proj *r, const proj *a) {
    sm2_fe xx, yy, zz, xy2, xz2, yz2, t0, t1, bzz3, yy_m, yy_p, yf, xf, zz3, bxz6, xx3_m_zz3;
  fp_mul(&xx, &a->X, &a->X);
  fp_mul(&yy, &a->Y, &a->Y);
  fp_mul(&zz, &a->Z, &a->Z);
  fp_mul(&xy2, &a->X, &a->Y);
  fp_add(&xy2, &xy2, &xy2);
  fp_mul(&xz2, &a->X, &a->Z);
  fp_add(&xz2, &xz2, &xz2);
  fp_mul(&yz2, &a->Y, &a->Z);
  fp_add(&yz2, &yz2, &yz2);
  fp_mul(&t0, &c->b, &zz);
  fp_sub(&t0, &t0, &xz2);
  fe_triple(&bzz3, &t0);
  fp_sub(&yy_m, &yy, &bzz3);
  fp_add(&yy_p, &yy, &bzz3);
  fp_mul(&yf, &yy_p, &yy_m);
  fp_mul(&xf, &yy_m, &xy2);
  fe_triple(&zz3, &zz);
  fp_mul(&t0, &c->b, &xz2);
  fp_add(&t1, &zz3, &xx);
  fp_sub(&t0, &t0, &t1);
  fe_triple(&bxz6, &t0);
  fe_triple(&t0, &xx);
  fp_sub(&xx3_m_zz3, &t0, &zz3);
  fp_mul(&t0, &xx3_m_zz3, &bxz6);
  fp_add(&r->Y, &yf, &t0);
  fp_mul(&t0, &bxz6, &yz2);
  fp_sub(&r->X, &xf, &t0);
  fp_mul(&t0, &yz2, &yy);
  fp_add(&t0, &t0, &t0);
  fp_add(&r->Z, &t0, &t0);
}

static void proj_cmov(proj *r, const proj *a, uint64_t mask) {
  fe_cmov(&r->X, &a->X, mask);
  fe_cmov(&r->Y, &a->Y, mask);
  fe_cmov(&r->Z, &a->Z, mask);
}

/* Affine x, y as plain integers. Returns 0 for the identity. Public data only (branches on Z). */
static int proj_to_affine(const sm2_curve *c, sm2_fe *x, sm2_fe *y, const proj *a) {
  if (fe_is_zero_mask(&a->Z)) return 0;
  sm2_fe zi, t;
  mont_inv(&zi, &a->Z, &c->p, fp_mul);
  if (x) {
    fp_mul(&t, &a->X, &zi);
    from_mont(x, &t, fp_mul);
  }
  if (y) {
    fp_mul(&t, &a->Y, &zi);
    from_mont(y, &t, fp_mul);
  }
  return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Scalar multiplication
 * ------------------------------------------------------------------------------------------- */

/* k (big-endian, any 256-bit value) = sum digits[i] * 16^i, digits[0..63] in [-8, 7], digits[64] in {0, 1}.
 * Constant time. */
static void recode(int8_t digits[65], const uint8_t k[32]) {
  uint32_t carry = 0;
  for (int i = 0; i < 64; i++) {
    uint32_t byte = k[31 - i / 2];
    uint32_t d = ((i & 1) ? (byte >> 4) : byte) & 15;
    d += carry;
    carry = (d + 8) >> 4;
    digits[i] = (int8_t)((int32_t)d - (int32_t)(carry << 4));
  }
  digits[64] = (int8_t)carry;
}

/* all-ones if a == b */
static uint64_t ct_eq_mask(uint32_t a, uint32_t b) {
  uint32_t x = a ^ b;
  return (uint64_t)0 - (uint64_t)(((x | (0u - x)) >> 31) ^ 1u);
}

/* *out = |digit| * row base, negated if digit < 0; reads every entry. Returns all-ones if digit != 0. */
static uint64_t table_select_ct(const sm2_curve *c, sm2_affine *out, const sm2_affine row[SM2_TABLE_COLS],
                                int8_t digit) {
  static const sm2_fe ZERO = {{0, 0, 0, 0}};
  uint32_t neg = (uint32_t)(int32_t)digit >> 31;
  uint32_t abs = ((uint32_t)(int32_t)digit ^ (0u - neg)) + neg;
  memset(out, 0, sizeof *out);
  for (uint32_t j = 0; j < SM2_TABLE_COLS; j++) {
    uint64_t m = ct_eq_mask(abs, j + 1);
    fe_cmov(&out->x, &row[j].x, m);
    fe_cmov(&out->y, &row[j].y, m);
  }
  sm2_fe ny;
  fp_sub(&ny, &ZERO, &out->y);
  fe_cmov(&out->y, &ny, (uint64_t)0 - neg);
  return ~ct_eq_mask(abs, 0);
}

/* r = k * (table base); constant time in k (signing, key derivation). */
static void mul_table_ct(const sm2_curve *c, proj *r, const sm2_table *tab, const uint8_t k[32]) {
  int8_t digits[65];
  proj acc, sum;
  sm2_affine e;
  recode(digits, k);
  proj_identity(c, &acc);
  for (int i = 0; i < SM2_TABLE_ROWS; i++) {
    uint64_t nz = table_select_ct(c, &e, tab->p[i], digits[i]);
    proj_add_affine(c, &sum, &acc, &e); /* e is garbage (0,0) when the digit is 0: discarded */
    proj_cmov(&acc, &sum, nz);
  }
  *r = acc;
  secure_zero(digits, sizeof digits);
  secure_zero(&sum, sizeof sum);
  secure_zero(&e, sizeof e);
  secure_zero(&acc, sizeof acc);
}

/* r = k * (table base); k public. */
static void mul_table_vartime(const sm2_curve *c, proj *r, const sm2_table *tab, const uint8_t k[32]) {
  int8_t digits[65];
  recode(digits, k);
  proj_identity(c, r);
  for (int i = 0; i < SM2_TABLE_ROWS; i++) {
    int d = digits[i];
    if (d == 0) continue;
    sm2_affine e = tab->p[i][(d < 0 ? -d : d) - 1];
    if (d < 0) {
      static const sm2_fe ZERO = {{0, 0, 0, 0}};
      fp_sub(&e.y, &ZERO, &e.y);
    }
    proj_add_affine(c, r, r, &e);
  }
}

/*
 * Variable-base multiplication for verification (public k and P only). Jacobian coordinates
 * (x = X/Z^2, y = Y/Z^3) because doubling there costs 3M+5S against 14 multiplications with the
 * complete formulas, and a 256-bit scalar needs 256 doublings. The formulas are not complete, so
 * the exceptional cases of the mixed addition (P + P, P + (-P), identity) are handled by branches,
 * which is fine for public data and is exercised by the tests (t = n - 6 hits P + P).
 */
typedef struct {
  sm2_fe X, Y, Z;
  int inf;
} jac;

/* dbl-2001-b, a = -3 */
static void jac_double(jac *r, const jac *a) {
  sm2_fe delta, gamma, beta, alpha, t0, t1;
  if (a->inf) {
    *r = *a;
    return;
  }
  fp_mul(&delta, &a->Z, &a->Z);
  fp_mul(&gamma, &a->Y, &a->Y);
  fp_mul(&beta, &a->X, &gamma);
  fp_sub(&t0, &a->X, &delta);
  fp_add(&t1, &a->X, &delta);
  fp_mul(&t0, &t0, &t1);
  fe_triple(&alpha, &t0);              /* 3 (X - delta)(X + delta) */
  fp_add(&t0, &a->Y, &a->Z);
  fp_mul(&t0, &t0, &t0);
  fp_sub(&t0, &t0, &gamma);
  fp_sub(&r->Z, &t0, &delta);          /* (Y + Z)^2 - gamma - delta = 2YZ */
  fp_add(&beta, &beta, &beta);
  fp_add(&beta, &beta, &beta);         /* 4 beta */
  fp_mul(&t0, &alpha, &alpha);
  fp_add(&t1, &beta, &beta);
  fp_sub(&r->X, &t0, &t1);             /* alpha^2 - 8 beta */
  fp_sub(&t0, &beta, &r->X);
  fp_mul(&t0, &alpha, &t0);
  fp_mul(&t1, &gamma, &gamma);
  fp_add(&t1, &t1, &t1);
  fp_add(&t1, &t1, &t1);
  fp_add(&t1, &t1, &t1);               /* 8 gamma^2 */
  fp_sub(&r->Y, &t0, &t1);
  r->inf = 0;
}

/* madd-2007-bl: r = a + b, b affine; r may alias a. */
static void jac_add_affine(const sm2_curve *c, jac *r, const jac *a, const sm2_affine *b) {
  sm2_fe z1z1, u2, s2, h, hh, i, j, rr, v, t0, t1;
  if (a->inf) {
    r->X = b->x;
    r->Y = b->y;
    r->Z = c->p.one;
    r->inf = 0;
    return;
  }
  fp_mul(&z1z1, &a->Z, &a->Z);
  fp_mul(&u2, &b->x, &z1z1);
  fp_mul(&s2, &b->y, &a->Z);
  fp_mul(&s2, &s2, &z1z1);
  fp_sub(&h, &u2, &a->X);
  fp_sub(&rr, &s2, &a->Y);
  if (fe_is_zero_mask(&h)) {
    if (fe_is_zero_mask(&rr)) { /* a == b: double */
      jac d = {b->x, b->y, c->p.one, 0};
      jac_double(r, &d);
    } else { /* a == -b */
      r->inf = 1;
    }
    return;
  }
  fp_add(&rr, &rr, &rr);               /* r = 2 (S2 - Y1) */
  fp_mul(&hh, &h, &h);
  fp_add(&i, &hh, &hh);
  fp_add(&i, &i, &i);                  /* I = 4 HH */
  fp_mul(&j, &h, &i);
  fp_mul(&v, &a->X, &i);
  fp_add(&t0, &a->Z, &h);
  fp_mul(&t0, &t0, &t0);
  fp_sub(&t0, &t0, &z1z1);
  fp_sub(&r->Z, &t0, &hh);             /* (Z1 + H)^2 - Z1Z1 - HH */
  fp_mul(&t1, &a->Y, &j);
  fp_add(&t1, &t1, &t1);               /* 2 Y1 J (before X3 overwrites anything) */
  fp_mul(&t0, &rr, &rr);
  fp_sub(&t0, &t0, &j);
  fp_sub(&t0, &t0, &v);
  fp_sub(&r->X, &t0, &v);              /* r^2 - J - 2V */
  fp_sub(&t0, &v, &r->X);
  fp_mul(&t0, &rr, &t0);
  fp_sub(&r->Y, &t0, &t1);
  r->inf = 0;
}

/* Normalises a few projective points to affine with one inversion (none may be the identity). */
static void proj_batch_to_affine(const sm2_curve *c, sm2_affine *out, const proj *in, int count) {
  sm2_fe prefix[SM2_TABLE_COLS], inv, zi;
  prefix[0] = in[0].Z;
  for (int i = 1; i < count; i++) fp_mul(&prefix[i], &prefix[i - 1], &in[i].Z);
  mont_inv(&inv, &prefix[count - 1], &c->p, fp_mul);
  for (int i = count - 1; i >= 0; i--) {
    if (i > 0) {
      fp_mul(&zi, &inv, &prefix[i - 1]);
      fp_mul(&inv, &inv, &in[i].Z);
    } else {
      zi = inv;
    }
    fp_mul(&out[i].x, &in[i].X, &zi);
    fp_mul(&out[i].y, &in[i].Y, &zi);
  }
}

/* r = k * P by signed radix-16 double-and-add in Jacobian coordinates; k and P public. */
static void mul_point_vartime(const sm2_curve *c, proj *r, const sm2_affine *p, const uint8_t k[32]) {
  static const sm2_fe ZERO = {{0, 0, 0, 0}};
  int8_t digits[65];
  proj m[SM2_TABLE_COLS]; /* m[j] = (j+1) P, complete formulas, then affine */
  sm2_affine ma[SM2_TABLE_COLS];
  recode(digits, k);
  proj_from_affine(c, &m[0], p);
  proj_double(c, &m[1], &m[0]);
  for (int j = 2; j < SM2_TABLE_COLS; j++) proj_add(c, &m[j], &m[j - 1], &m[0]);
  proj_batch_to_affine(c, ma, m, SM2_TABLE_COLS); /* (j+1) P != identity since n is prime */
  jac acc;
  memset(&acc, 0, sizeof acc);
  acc.inf = 1;
  for (int i = SM2_TABLE_ROWS - 1; i >= 0; i--) {
    for (int j = 0; j < 4; j++) jac_double(&acc, &acc);
    int d = digits[i];
    if (d == 0) continue;
    sm2_affine q = ma[(d < 0 ? -d : d) - 1];
    if (d < 0) fp_sub(&q.y, &ZERO, &q.y);
    jac_add_affine(c, &acc, &acc, &q);
  }
  if (acc.inf) {
    proj_identity(c, r);
    return;
  }
  /* Jacobian -> homogeneous: (X Z, Y, Z^3) */
  sm2_fe z2;
  fp_mul(&r->X, &acc.X, &acc.Z);
  r->Y = acc.Y;
  fp_mul(&z2, &acc.Z, &acc.Z);
  fp_mul(&r->Z, &z2, &acc.Z);
}

/* Fills a table from projective rows with one inversion (Montgomery's trick). Public data. */
static int table_build(const sm2_curve *c, const sm2_affine *base, sm2_table *out) {
  const size_t count = SM2_TABLE_ROWS * SM2_TABLE_COLS;
  proj *pts = (proj *)malloc(count * sizeof *pts);
  sm2_fe *prefix = (sm2_fe *)malloc(count * sizeof *prefix);
  if (pts == NULL || prefix == NULL) {
    free(pts);
    free(prefix);
    return 0;
  }
  proj b;
  proj_from_affine(c, &b, base);
  for (int i = 0; i < SM2_TABLE_ROWS; i++) {
    proj *row = pts + (size_t)i * SM2_TABLE_COLS;
    row[0] = b;
    proj_double(c, &row[1], &b);
    for (int j = 2; j < SM2_TABLE_COLS; j++) proj_add(c, &row[j], &row[j - 1], &b);
    proj_double(c, &b, &row[SM2_TABLE_COLS - 1]); /* 16 * base */
  }
  /* No entry is the identity (n is prime and divides no j * 16^i), so every Z != 0. */
  prefix[0] = pts[0].Z;
  for (size_t i = 1; i < count; i++) fp_mul(&prefix[i], &prefix[i - 1], &pts[i].Z);
  sm2_fe inv, zi;
  mont_inv(&inv, &prefix[count - 1], &c->p, fp_mul);
  for (size_t i = count; i-- > 0;) {
    if (i > 0) {
      fp_mul(&zi, &inv, &prefix[i - 1]);
      fp_mul(&inv, &inv, &pts[i].Z);
    } else {
      zi = inv;
    }
    sm2_affine *dst = &out->p[i / SM2_TABLE_COLS][i % SM2_TABLE_COLS];
    fp_mul(&dst->x, &pts[i].X, &zi);
    fp_mul(&dst->y, &pts[i].Y, &zi);
  }
  free(pts);
  free(prefix);
  return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------------------------- */

sm2_curve *sm2_curve_new(void) {
  sm2_curve *c = (sm2_curve *)calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  modulus_init(&c->p, P_BYTES);
  modulus_init(&c->n, N_BYTES);
  if (c->p.minv != 1 || c->n.minv != 0x327F9E8872350975ULL) { /* MODULAR_OPS constants */
    free(c);
    return NULL;
  }
  sm2_fe b;
  fe_from_be(&b, B_BYTES);
  to_mont(&c->b, &b, &c->p, fp_mul);
  c->n_minus_1 = c->n.m;
  c->n_minus_1.v[0] -= 1;
  sm2_affine g;
  sm2_fe gx, gy;
  fe_from_be(&gx, GX_BYTES);
  fe_from_be(&gy, GY_BYTES);
  to_mont(&g.x, &gx, &c->p, fp_mul);
  to_mont(&g.y, &gy, &c->p, fp_mul);
  if (!table_build(c, &g, &c->g)) {
    free(c);
    return NULL;
  }
  return c;
}

void sm2_curve_free(sm2_curve *c) { free(c); }

int sm2_private_key_ok(const sm2_curve *c, const uint8_t dbytes[32]) {
  sm2_fe d;
  fe_from_be(&d, dbytes);
  uint64_t ok = ~fe_is_zero_mask(&d) & fe_lt_mask(&d, &c->n_minus_1);
  secure_zero(&d, sizeof d);
  return (int)(ok & 1);
}

static void encode_point(uint8_t out[65], const sm2_fe *x, const sm2_fe *y) {
  out[0] = 0x04;
  fe_to_be(out + 1, x);
  fe_to_be(out + 33, y);
}

int sm2_public_from_private(const sm2_curve *c, const uint8_t d[32], uint8_t pub[65]) {
  if (!sm2_private_key_ok(c, d)) return 0;
  proj P;
  sm2_fe x, y;
  mul_table_ct(c, &P, &c->g, d);
  if (!proj_to_affine(c, &x, &y, &P)) return 0; /* unreachable for d in [1, n-2] */
  encode_point(pub, &x, &y);
  return 1;
}

int sm2_sign_digest(const sm2_curve *c, const uint8_t dbytes[32], const uint8_t ebytes[32],
                    const uint8_t *fixed_k, sm2_rng rng, uint8_t sig[64]) {
  const modulus *N = &c->n;
  int result = 0;
  uint8_t kbytes[32];
  sm2_fe d, dm, inv, e, k, km, x1, r, rm, rk, t, s;
  proj R;
  if (!sm2_private_key_ok(c, dbytes)) return 0;
  fe_from_be(&d, dbytes);
  fe_from_be(&e, ebytes);
  fe_reduce_once(&e, &e, N); /* e < 2^256 < 2n */
  to_mont(&dm, &d, N, fn_mul);
  /* inv = (1 + d)^-1 mod n, Montgomery form; d + 1 <= n - 1 cannot overflow */
  {
    sm2_fe d1 = d, d1m;
    uint64_t carry = 1;
    for (int i = 0; i < 4; i++) {
      u128 x = (u128)d1.v[i] + carry;
      d1.v[i] = (uint64_t)x;
      carry = (uint64_t)(x >> 64);
    }
    to_mont(&d1m, &d1, N, fn_mul);
    mont_inv(&inv, &d1m, N, fn_mul);
    secure_zero(&d1, sizeof d1);
    secure_zero(&d1m, sizeof d1m);
  }
  for (int attempt = 0; attempt < 64; attempt++) {
    if (fixed_k != NULL) {
      memcpy(kbytes, fixed_k, 32);
    } else if (!rng(kbytes, 32)) {
      result = -2;
      goto done;
    }
    fe_from_be(&k, kbytes);
    if (fe_is_zero_mask(&k) || !fe_lt_mask(&k, &N->m)) { /* k must be in [1, n-1] */
      if (fixed_k != NULL) {
        result = -1;
        goto done;
      }
      continue; /* rejection sampling: probability ~2^-32 */
    }
    mul_table_ct(c, &R, &c->g, kbytes);
    proj_to_affine(c, &x1, NULL, &R); /* k in [1, n-1]: never the identity */
    fe_reduce_once(&x1, &x1, N);      /* x1 < p < 2n */
    fn_add(&r, &e, &x1);
    /* retry if r = 0 or r + k = n; these reveal nothing useful (probability ~2^-256) */
    fn_add(&rk, &r, &k);
    int bad = (int)(fe_is_zero_mask(&r) & 1) | (int)(fe_is_zero_mask(&rk) & 1);
    if (!bad) {
      /* s = (1 + d)^-1 * (k - r*d) mod n */
      to_mont(&rm, &r, N, fn_mul);
      to_mont(&km, &k, N, fn_mul);
      fn_mul(&t, &rm, &dm);
      fn_sub(&t, &km, &t);
      fn_mul(&s, &inv, &t);
      from_mont(&s, &s, fn_mul);
      bad = (int)(fe_is_zero_mask(&s) & 1);
    }
    if (!bad) {
      fe_to_be(sig, &r);
      fe_to_be(sig + 32, &s);
      result = 1;
      goto done;
    }
    if (fixed_k != NULL) {
      result = -1;
      goto done;
    }
  }
  result = -2;
done:
  secure_zero(kbytes, sizeof kbytes);
  secure_zero(&d, sizeof d);
  secure_zero(&dm, sizeof dm);
  secure_zero(&inv, sizeof inv);
  secure_zero(&k, sizeof k);
  secure_zero(&km, sizeof km);
  secure_zero(&rk, sizeof rk);
  secure_zero(&t, sizeof t);
  secure_zero(&R, sizeof R);
  return result;
}

int sm2_decode_public(const sm2_curve *c, const uint8_t pub[65], sm2_affine *out) {
  const modulus *M = &c->p;
  sm2_fe x, y, lhs, rhs, t;
  if (pub[0] != 0x04) return 0;
  fe_from_be(&x, pub + 1);
  fe_from_be(&y, pub + 33);
  if (!fe_lt_mask(&x, &M->m) || !fe_lt_mask(&y, &M->m)) return 0;
  to_mont(&out->x, &x, M, fp_mul);
  to_mont(&out->y, &y, M, fp_mul);
  /* y^2 = x^3 - 3x + b */
  fp_mul(&lhs, &out->y, &out->y);
  fp_mul(&t, &out->x, &out->x);
  fp_mul(&rhs, &t, &out->x);
  fe_triple(&t, &out->x);
  fp_sub(&rhs, &rhs, &t);
  fp_add(&rhs, &rhs, &c->b);
  return fe_equal(&lhs, &rhs);
}

int sm2_table_build(const sm2_curve *c, const sm2_affine *p, sm2_table *out) { return table_build(c, p, out); }

static void mul_add(const sm2_curve *c, proj *R, const uint8_t s[32], const sm2_affine *p,
                    const sm2_table *table, const uint8_t t[32]) {
  proj tp;
  mul_table_vartime(c, R, &c->g, s);
  if (table != NULL)
    mul_table_vartime(c, &tp, table, t);
  else
    mul_point_vartime(c, &tp, p, t);
  proj_add(c, R, R, &tp);
}

int sm2_verify_digest(const sm2_curve *c, const sm2_affine *p, const sm2_table *table,
                      const uint8_t ebytes[32], const uint8_t sig[64]) {
  const modulus *N = &c->n;
  sm2_fe r, s, t, e, x1, v;
  uint8_t tbytes[32];
  proj R;
  fe_from_be(&r, sig);
  fe_from_be(&s, sig + 32);
  /* B1, B2: r, s in [1, n-1] */
  if (fe_is_zero_mask(&r) || !fe_lt_mask(&r, &N->m)) return 0;
  if (fe_is_zero_mask(&s) || !fe_lt_mask(&s, &N->m)) return 0;
  /* B5: t = (r + s) mod n, t != 0 */
  fn_add(&t, &r, &s);
  if (fe_is_zero_mask(&t)) return 0;
  fe_to_be(tbytes, &t);
  /* B6: (x1, y1) = s*G + t*P */
  mul_add(c, &R, sig + 32, p, table, tbytes);
  if (!proj_to_affine(c, &x1, NULL, &R)) return 0;
  /* B7: (e + x1) mod n == r */
  fe_from_be(&e, ebytes);
  fe_reduce_once(&e, &e, N);
  fe_reduce_once(&x1, &x1, N);
  fn_add(&v, &e, &x1);
  return fe_equal(&v, &r);
}

int sm2_mul_add(const sm2_curve *c, const uint8_t s[32], const sm2_affine *p, const sm2_table *table,
                const uint8_t t[32], uint8_t out[65]) {
  proj R;
  sm2_fe x, y;
  mul_add(c, &R, s, p, table, t);
  if (!proj_to_affine(c, &x, &y, &R)) return 0;
  encode_point(out, &x, &y);
  return 1;
}
