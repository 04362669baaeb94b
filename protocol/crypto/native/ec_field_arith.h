/*
 * The hot modular operations of the 64-bit path (multiply, square, add, subtract). Internal.
 *
 * Unrolled, every limb in a local so the compiler keeps it all in registers (the Node addon's hot
 * loop). Add and subtract are inline at their call sites (ec_point.c, ec_mul_var.c); multiply and
 * square are written once as bodies and instantiated per modulus with compile-time constants
 * (ec_field_mul.c), plus a generic instance for any other modulus.
 * 32-bit path: the names map to the out-of-line loop versions (ec_field.c, ec_field_mul.c),
 * small for flash.
 */
#ifndef CP_EC_FIELD_ARITH_H
#define CP_EC_FIELD_ARITH_H

#include "ec_field.h"

#ifndef CP_LIMB32

static inline uint64_t mac64(uint64_t t, uint64_t a, uint64_t b, uint64_t *carry) {
  ec_dlimb x = (ec_dlimb)a * b + t + *carry; /* < 2^128 */
  *carry = (uint64_t)(x >> 64);
  return (uint64_t)x;
}

static inline uint64_t adc64(uint64_t a, uint64_t b, uint64_t *carry) {
  ec_dlimb x = (ec_dlimb)a + b + *carry;
  *carry = (uint64_t)(x >> 64);
  return (uint64_t)x;
}

static inline uint64_t sbb64(uint64_t a, uint64_t b, uint64_t *borrow) {
  ec_dlimb x = (ec_dlimb)a - b - *borrow;
  *borrow = (uint64_t)(x >> 64) & 1;
  return (uint64_t)x;
}

/* One CIOS round: t = (t + a * bi + q * m) / 2^64 with q = t0 * minv. */
#define CIOS_ROUND(bi)                                        \
  do {                                                       \
    uint64_t c = 0, c2 = 0, q;                               \
    t0 = mac64(t0, a0, bi, &c);                              \
    t1 = mac64(t1, a1, bi, &c);                              \
    t2 = mac64(t2, a2, bi, &c);                              \
    t3 = mac64(t3, a3, bi, &c);                              \
    t4 = adc64(t4, c, &c2);                                  \
    t5 = c2;                                                 \
    q = t0 * minv;                                           \
    c = 0;                                                   \
    (void)mac64(t0, q, m0, &c); /* low word is 0 by choice of q */ \
    t0 = mac64(t1, q, m1, &c);                               \
    t1 = mac64(t2, q, m2, &c);                               \
    t2 = mac64(t3, q, m3, &c);                               \
    c2 = 0;                                                  \
    t3 = adc64(t4, c, &c2);                                  \
    t4 = t5 + c2;                                            \
  } while (0)

/* Same round for a modulus with m0 = 2^64 - 1 (both curves' p): then minv = 1, q = t0, and
 * t0 + q * m0 = q * 2^64, so the first reduction product is a carry of q: two multiplies saved. */
#define CIOS_ROUND_M0_ONES(bi)                                \
  do {                                                       \
    uint64_t c = 0, c2 = 0, q;                               \
    t0 = mac64(t0, a0, bi, &c);                              \
    t1 = mac64(t1, a1, bi, &c);                              \
    t2 = mac64(t2, a2, bi, &c);                              \
    t3 = mac64(t3, a3, bi, &c);                              \
    t4 = adc64(t4, c, &c2);                                  \
    t5 = c2;                                                 \
    q = t0;                                                  \
    c = q;                                                   \
    t0 = mac64(t1, q, m1, &c);                               \
    t1 = mac64(t2, q, m2, &c);                               \
    t2 = mac64(t3, q, m3, &c);                               \
    c2 = 0;                                                  \
    t3 = adc64(t4, c, &c2);                                  \
    t4 = t5 + c2;                                            \
  } while (0)

/* r = a * b / R mod m, with m0..m3 and minv in scope (constants or loaded). */
#define EC_MUL_BODY                                                                \
  do {                                                                            \
    const uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];        \
    const uint64_t b0 = b->v[0], b1 = b->v[1], b2 = b->v[2], b3 = b->v[3];        \
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, bw = 0;              \
    if (m0 == ~(uint64_t)0) { /* a property of the (public) modulus */            \
      CIOS_ROUND_M0_ONES(b0);                                                     \
      CIOS_ROUND_M0_ONES(b1);                                                     \
      CIOS_ROUND_M0_ONES(b2);                                                     \
      CIOS_ROUND_M0_ONES(b3);                                                     \
    } else {                                                                      \
      CIOS_ROUND(b0);                                                             \
      CIOS_ROUND(b1);                                                             \
      CIOS_ROUND(b2);                                                             \
      CIOS_ROUND(b3);                                                             \
    }                                                                             \
    /* t4:t3..t0 < 2m: subtract m unless that borrows past t4 */                  \
    const uint64_t d0 = sbb64(t0, m0, &bw), d1 = sbb64(t1, m1, &bw);              \
    const uint64_t d2 = sbb64(t2, m2, &bw), d3 = sbb64(t3, m3, &bw);              \
    const uint64_t keep = 0 - ((t4 - bw) >> 63);                                  \
    r->v[0] = (t0 & keep) | (d0 & ~keep);                                         \
    r->v[1] = (t1 & keep) | (d1 & ~keep);                                         \
    r->v[2] = (t2 & keep) | (d2 & ~keep);                                         \
    r->v[3] = (t3 & keep) | (d3 & ~keep);                                         \
  } while (0)

/* One Montgomery reduction round of a 512-bit square: t_i becomes 0, carries move up. */
#define RED_ROUND(ti, ti1, ti2, ti3, ti4)                          \
  do {                                                            \
    uint64_t c = 0, q;                                            \
    if (m0 == ~(uint64_t)0) { /* public: see CIOS_ROUND_M0_ONES */ \
      q = ti;                                                     \
      c = q;                                                      \
    } else {                                                      \
      q = ti * minv;                                              \
      (void)mac64(ti, q, m0, &c);                                 \
    }                                                             \
    ti1 = mac64(ti1, q, m1, &c);                                  \
    ti2 = mac64(ti2, q, m2, &c);                                  \
    ti3 = mac64(ti3, q, m3, &c);                                  \
    ec_dlimb x_ = (ec_dlimb)ti4 + c + carry;                      \
    ti4 = (uint64_t)x_;                                           \
    carry = (uint64_t)(x_ >> 64);                                 \
  } while (0)

/* r = a^2 / R mod m, m0..m3 and minv in scope: the 6 cross products once and doubled, then 4
 * reduction rounds (22 multiplications for p, against 28 for ec_mul_fast(a, a)). */
#define EC_SQR_BODY \
  do {                                                                        \
    const uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];    \
    uint64_t t0, t1, t2, t3, t4, t5, t6, t7, c = 0, carry = 0;                \
    ec_dlimb x;                                                               \
    t1 = mac64(0, a0, a1, &c); /* cross products a_i a_j, i < j */            \
    t2 = mac64(0, a0, a2, &c);                                                \
    t3 = mac64(0, a0, a3, &c);                                                \
    t4 = c;                                                                   \
    c = 0;                                                                    \
    t3 = mac64(t3, a1, a2, &c);                                               \
    t4 = mac64(t4, a1, a3, &c);                                               \
    t5 = c;                                                                   \
    c = 0;                                                                    \
    t5 = mac64(t5, a2, a3, &c);                                               \
    t6 = c;                                                                   \
    t7 = t6 >> 63; /* doubled */                                              \
    t6 = (t6 << 1) | (t5 >> 63);                                              \
    t5 = (t5 << 1) | (t4 >> 63);                                              \
    t4 = (t4 << 1) | (t3 >> 63);                                              \
    t3 = (t3 << 1) | (t2 >> 63);                                              \
    t2 = (t2 << 1) | (t1 >> 63);                                              \
    t1 <<= 1;                                                                 \
    x = (ec_dlimb)a0 * a0; /* plus the squares a_i^2 */                       \
    t0 = (uint64_t)x;                                                         \
    c = 0;                                                                    \
    t1 = adc64(t1, (uint64_t)(x >> 64), &c);                                  \
    x = (ec_dlimb)a1 * a1;                                                    \
    t2 = adc64(t2, (uint64_t)x, &c);                                          \
    t3 = adc64(t3, (uint64_t)(x >> 64), &c);                                  \
    x = (ec_dlimb)a2 * a2;                                                    \
    t4 = adc64(t4, (uint64_t)x, &c);                                          \
    t5 = adc64(t5, (uint64_t)(x >> 64), &c);                                  \
    x = (ec_dlimb)a3 * a3;                                                    \
    t6 = adc64(t6, (uint64_t)x, &c);                                          \
    t7 = adc64(t7, (uint64_t)(x >> 64), &c); /* a^2 < 2^512: no carry out */  \
    RED_ROUND(t0, t1, t2, t3, t4);                                            \
    RED_ROUND(t1, t2, t3, t4, t5);                                            \
    RED_ROUND(t2, t3, t4, t5, t6);                                            \
    RED_ROUND(t3, t4, t5, t6, t7);                                            \
    /* carry:t7..t4 < 2m */                                                   \
    uint64_t bw = 0;                                                          \
    const uint64_t d0 = sbb64(t4, m0, &bw), d1 = sbb64(t5, m1, &bw);          \
    const uint64_t d2 = sbb64(t6, m2, &bw), d3 = sbb64(t7, m3, &bw);          \
    const uint64_t keep = 0 - ((carry - bw) >> 63);                           \
    r->v[0] = (t4 & keep) | (d0 & ~keep);                                     \
    r->v[1] = (t5 & keep) | (d1 & ~keep);                                     \
    r->v[2] = (t6 & keep) | (d2 & ~keep);                                     \
    r->v[3] = (t7 & keep) | (d3 & ~keep);                                     \
  } while (0)

/* r = (top:x) - m if that does not borrow, else x; (top:x) < 2m */
#define EC_SUB_IF_GE(top, x0, x1, x2, x3)                                      \
  do {                                                                        \
    uint64_t bw_ = 0;                                                         \
    const uint64_t d0_ = sbb64(x0, M->m.v[0], &bw_), d1_ = sbb64(x1, M->m.v[1], &bw_); \
    const uint64_t d2_ = sbb64(x2, M->m.v[2], &bw_), d3_ = sbb64(x3, M->m.v[3], &bw_); \
    const uint64_t keep_ = 0 - (((top) - bw_) >> 63);                         \
    r->v[0] = (x0 & keep_) | (d0_ & ~keep_);                                  \
    r->v[1] = (x1 & keep_) | (d1_ & ~keep_);                                  \
    r->v[2] = (x2 & keep_) | (d2_ & ~keep_);                                  \
    r->v[3] = (x3 & keep_) | (d3_ & ~keep_);                                  \
  } while (0)

static inline void ec_add_fast(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) {
  uint64_t c = 0;
  const uint64_t x0 = adc64(a->v[0], b->v[0], &c), x1 = adc64(a->v[1], b->v[1], &c);
  const uint64_t x2 = adc64(a->v[2], b->v[2], &c), x3 = adc64(a->v[3], b->v[3], &c);
  EC_SUB_IF_GE(c, x0, x1, x2, x3);
}

static inline void ec_sub_fast(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) {
  uint64_t bw = 0, c = 0;
  const uint64_t x0 = sbb64(a->v[0], b->v[0], &bw), x1 = sbb64(a->v[1], b->v[1], &bw);
  const uint64_t x2 = sbb64(a->v[2], b->v[2], &bw), x3 = sbb64(a->v[3], b->v[3], &bw);
  const uint64_t mask = 0 - bw; /* add m back if a < b */
  r->v[0] = adc64(x0, M->m.v[0] & mask, &c);
  r->v[1] = adc64(x1, M->m.v[1] & mask, &c);
  r->v[2] = adc64(x2, M->m.v[2] & mask, &c);
  r->v[3] = adc64(x3, M->m.v[3] & mask, &c);
}

#define EC_LOAD_MODULUS                                                                       \
  const uint64_t m0 = M->m.v[0], m1 = M->m.v[1], m2 = M->m.v[2], m3 = M->m.v[3], minv = M->minv; \
  (void)minv

/* Any modulus, constants loaded from M. */
static inline void ec_mul_fast(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) {
  EC_LOAD_MODULUS;
  EC_MUL_BODY;
}

static inline void ec_sqr_fast(ec_fe *r, const ec_fe *a, const ec_mod *M) {
  EC_LOAD_MODULUS;
  EC_SQR_BODY;
}

/* One modulus as compile-time constants (ec_moduli.h): the compiler turns products by its
 * limbs 2^64 - 1, 2^64 - 2^32, 0 ... into shifts and subtractions. */
#define EC_MONT_SPECIALISED(name, M0, M1, M2, M3, MINV)                                 \
  static void ec_mul_##name(ec_fe *r, const ec_fe *a, const ec_fe *b) {                 \
    const uint64_t m0 = M0, m1 = M1, m2 = M2, m3 = M3, minv = MINV;                     \
    (void)minv;                                                                         \
    EC_MUL_BODY;                                                                        \
  }                                                                                     \
  static void ec_sqr_##name(ec_fe *r, const ec_fe *a) {                                 \
    const uint64_t m0 = M0, m1 = M1, m2 = M2, m3 = M3, minv = MINV;                     \
    (void)minv;                                                                         \
    EC_SQR_BODY;                                                                        \
  }
#define EC_MONT_SPECIALISE(name, ...) EC_MONT_SPECIALISED(name, __VA_ARGS__)

#else
#define ec_mul_fast ec_mul
#define ec_sqr_fast ec_sqr
#define ec_add_fast ec_add
#define ec_sub_fast ec_sub
#endif

/* r = mask ? a : r, inline (table scans call it for every entry) */
static inline void ec_cmov_fast(ec_fe *r, const ec_fe *a, ec_limb mask) {
  for (int i = 0; i < EC_LIMBS; i++) r->v[i] = (a->v[i] & mask) | (r->v[i] & ~mask);
}

#endif
