/*
 * Arithmetic modulo the SM2 prime p = 2^256 - 2^224 - 2^96 + 2^64 - 1 for the host-only
 * verification (ec_verify_sm2.c): 64-bit limbs, Montgomery form with R = 2^256 (the same values as
 * ec_field.h, so the generated tables serve unchanged), every operation inline.
 *
 * The reduction uses the shape of p instead of multiplications: p = -1 mod 2^64, so the Montgomery
 * quotient of a round is the low limb q itself, and (t + q p) / 2^64 = t / 2^64 + q c with
 * c = (p + 1) / 2^64 = 2^192 - 2^160 - 2^32 + 1, which is a few shifts and subtractions of q.
 * Products and reductions are separate steps (sm2p_product, sm2p_square, sm2p_redc) so that a
 * difference of two products is reduced once (sm2p_mul_sub_mul: lazy reduction).
 * Not constant time: the final reduction branches (rarely) on the value; its only user is the
 * variable-time verification of public data.
 */
#ifndef CP_EC_SM2P_FAST_H
#define CP_EC_SM2P_FAST_H

#include "ec_field_arith.h"

#ifndef CP_LIMB32

#if defined(__GNUC__)
#define SM2P_INLINE static inline __attribute__((always_inline))
#else
#define SM2P_INLINE static inline
#endif

/* Carry chains: the x86-64 intrinsics become adc/sbb; elsewhere (or with CP_SM2P_PORTABLE, which
 * the tests use to check this path too) the same through the double-width type. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(CP_SM2P_PORTABLE)
#include <x86intrin.h>
typedef unsigned long long sm2p_u64; /* the intrinsics' type (uint64_t is unsigned long here) */
#define SM2P_ADC(c, a, b, out) do { unsigned long long o_; (c) = _addcarry_u64((c), (a), (b), &o_); (out) = o_; } while (0)
#define SM2P_SBB(c, a, b, out) do { unsigned long long o_; (c) = _subborrow_u64((c), (a), (b), &o_); (out) = o_; } while (0)
#else
typedef uint64_t sm2p_u64;
#define SM2P_ADC(c, a, b, out)                          \
  do {                                                  \
    ec_dlimb x_ = (ec_dlimb)(a) + (b) + (c);            \
    (out) = (uint64_t)x_;                               \
    (c) = (unsigned char)(x_ >> 64);                    \
  } while (0)
#define SM2P_SBB(c, a, b, out)                          \
  do {                                                  \
    ec_dlimb x_ = (ec_dlimb)(a) - (b) - (c);            \
    (out) = (uint64_t)x_;                               \
    (c) = (unsigned char)((x_ >> 64) & 1);              \
  } while (0)
#endif

#define SM2P_P0 0xFFFFFFFFFFFFFFFFULL
#define SM2P_P1 0xFFFFFFFF00000000ULL
#define SM2P_P2 0xFFFFFFFFFFFFFFFFULL
#define SM2P_P3 0xFFFFFFFEFFFFFFFFULL

#if defined(__GNUC__)
#define SM2P_RARE(x) __builtin_expect(!!(x), 0)
#else
#define SM2P_RARE(x) (x)
#endif

/* r = (top:x3..x0) mod p for a value < 2p. With top set, (top:x) - p = x + (2^256 - p) mod 2^256
 * and 2^256 - p = 2^224 + 2^96 - 2^64 + 1 is added under a mask (an add chain, not a select: GCC
 * vectorises four masked selects into SSE shuffles). Without top, x >= p needs a top limb of at
 * least P3 (about one value in 2^32): a predictable branch to the full compare instead of a borrow
 * chain on every call, inline with the limbs in registers (a call would need them in memory).
 * Variable time in that branch, so for public data only (the verifier). */
#define SM2P_FINAL(r, top, x0, x1, x2, x3)                                                     \
  do {                                                                                        \
    unsigned char c_ = 0;                                                                     \
    sm2p_u64 r0_, r1_, r2_, r3_;                                                              \
    const sm2p_u64 m_ = 0 - (sm2p_u64)(top); /* all ones: (top:x) >= 2^256 > p */             \
    SM2P_ADC(c_, x0, m_ & 1, r0_);                                                            \
    SM2P_ADC(c_, x1, m_ & 0xFFFFFFFFULL, r1_);                                                \
    SM2P_ADC(c_, x2, 0, r2_);                                                                 \
    SM2P_ADC(c_, x3, m_ & 0x100000000ULL, r3_);                                               \
    if (SM2P_RARE(r3_ >= SM2P_P3)) {                                                          \
      unsigned char b_ = 0;                                                                   \
      sm2p_u64 d0_, d1_, d2_, d3_;                                                            \
      SM2P_SBB(b_, r0_, SM2P_P0, d0_);                                                        \
      SM2P_SBB(b_, r1_, SM2P_P1, d1_);                                                        \
      SM2P_SBB(b_, r2_, SM2P_P2, d2_);                                                        \
      SM2P_SBB(b_, r3_, SM2P_P3, d3_);                                                        \
      if (!b_) {                                                                              \
        r0_ = d0_;                                                                            \
        r1_ = d1_;                                                                            \
        r2_ = d2_;                                                                            \
        r3_ = d3_;                                                                            \
      }                                                                                       \
    }                                                                                         \
    (r)->v[0] = r0_;                                                                          \
    (r)->v[1] = r1_;                                                                          \
    (r)->v[2] = r2_;                                                                          \
    (r)->v[3] = r3_;                                                                          \
  } while (0)

/* One Montgomery round with the previous round's carry kin folded into the top word of q c (which
 * is at most q - 1, so it cannot overflow): kin belongs one limb above the previous window, which
 * is this window's top limb. Carry out in kout. */
#define SM2P_ROUNDK(q, t1, t2, t3, t4, kin, kout)                                              \
  do {                                                                                        \
    const sm2p_u64 q_ = (q), lo_ = q_ << 32, hi_ = q_ >> 32;                                  \
    sm2p_u64 v0_, v1_, v2_, v3_;                                                              \
    unsigned char b_ = 0;                                                                     \
    SM2P_SBB(b_, q_, lo_, v0_);                                                               \
    SM2P_SBB(b_, 0, hi_, v1_);                                                                \
    SM2P_SBB(b_, 0, lo_, v2_);                                                                \
    SM2P_SBB(b_, q_, hi_, v3_);                                                               \
    v3_ += (kin);                                                                             \
    kout = 0;                                                                                 \
    SM2P_ADC(kout, t1, v0_, t1);                                                              \
    SM2P_ADC(kout, t2, v1_, t2);                                                              \
    SM2P_ADC(kout, t3, v2_, t3);                                                              \
    SM2P_ADC(kout, t4, v3_, t4);                                                              \
  } while (0)

/* 512-bit t7..t0 -> t / R mod p */
#define SM2P_REDUCE(r, t0, t1, t2, t3, t4, t5, t6, t7)                                         \
  do {                                                                                        \
    unsigned char k0_, k1_, k2_, k3_;                                                         \
    SM2P_ROUNDK(t0, t1, t2, t3, t4, 0, k0_);                                                  \
    SM2P_ROUNDK(t1, t2, t3, t4, t5, k0_, k1_);                                                \
    SM2P_ROUNDK(t2, t3, t4, t5, t6, k1_, k2_);                                                \
    SM2P_ROUNDK(t3, t4, t5, t6, t7, k2_, k3_);                                                \
    SM2P_FINAL(r, k3_, t4, t5, t6, t7);                                                       \
  } while (0)

#define SM2P_MUL128(a, b, lo, hi)            \
  do {                                       \
    const ec_dlimb x_ = (ec_dlimb)(a) * (b); \
    (lo) = (sm2p_u64)x_;                     \
    (hi) = (sm2p_u64)(x_ >> 64);             \
  } while (0)

/* Product scanning: the accumulator (ov:hi:lo) += a * b; one column of the product at a time
 * (fewer live registers than row by row, so GCC spills less) */
#define SM2P_MAC(a, b)                                        \
  do {                                                        \
    sm2p_u64 l_, h_;                                          \
    unsigned char c_ = 0;                                     \
    SM2P_MUL128(a, b, l_, h_);                                \
    SM2P_ADC(c_, lo, l_, lo);                                 \
    SM2P_ADC(c_, hi, h_, hi);                                 \
    SM2P_ADC(c_, ov, 0, ov);                                  \
  } while (0)
#define SM2P_COLUMN(out) \
  do {                   \
    (out) = lo;          \
    lo = hi;             \
    hi = ov;             \
    ov = 0;              \
  } while (0)

/* t = a b, 512 bits */
SM2P_INLINE void sm2p_product(sm2p_u64 t[8], const ec_fe *a, const ec_fe *b) {
  const sm2p_u64 a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
  const sm2p_u64 b0 = b->v[0], b1 = b->v[1], b2 = b->v[2], b3 = b->v[3];
  sm2p_u64 lo = 0, hi = 0, ov = 0;
  SM2P_MAC(a0, b0);
  SM2P_COLUMN(t[0]);
  SM2P_MAC(a0, b1);
  SM2P_MAC(a1, b0);
  SM2P_COLUMN(t[1]);
  SM2P_MAC(a0, b2);
  SM2P_MAC(a1, b1);
  SM2P_MAC(a2, b0);
  SM2P_COLUMN(t[2]);
  SM2P_MAC(a0, b3);
  SM2P_MAC(a1, b2);
  SM2P_MAC(a2, b1);
  SM2P_MAC(a3, b0);
  SM2P_COLUMN(t[3]);
  SM2P_MAC(a1, b3);
  SM2P_MAC(a2, b2);
  SM2P_MAC(a3, b1);
  SM2P_COLUMN(t[4]);
  SM2P_MAC(a2, b3);
  SM2P_MAC(a3, b2);
  SM2P_COLUMN(t[5]);
  SM2P_MAC(a3, b3);
  t[6] = lo;
  t[7] = hi; /* a b < 2^512: ov is 0 */
}

/* t = a^2, 512 bits: the six cross products once, doubled, plus the four squares */
SM2P_INLINE void sm2p_square(sm2p_u64 t[8], const ec_fe *a) {
  const sm2p_u64 a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
  sm2p_u64 t1, t2, t3, t4, t5, t6, t7, l, h, l2, h2;
  unsigned char c = 0;
  /* cross products a_i a_j, i < j, into t1..t6 */
  SM2P_MUL128(a0, a1, t1, t2);
  SM2P_MUL128(a0, a3, t3, t4);
  SM2P_MUL128(a2, a3, t5, t6);
  SM2P_MUL128(a0, a2, l, h);
  SM2P_ADC(c, t2, l, t2);
  SM2P_ADC(c, t3, h, t3);
  SM2P_MUL128(a1, a3, l2, h2);
  SM2P_ADC(c, t4, l2, t4);
  SM2P_ADC(c, t5, h2, t5);
  SM2P_ADC(c, t6, 0, t6);
  c = 0;
  SM2P_MUL128(a1, a2, l, h);
  SM2P_ADC(c, t3, l, t3);
  SM2P_ADC(c, t4, h, t4);
  SM2P_ADC(c, t5, 0, t5);
  SM2P_ADC(c, t6, 0, t6);
  /* doubled: an add chain */
  c = 0;
  SM2P_ADC(c, t1, t1, t1);
  SM2P_ADC(c, t2, t2, t2);
  SM2P_ADC(c, t3, t3, t3);
  SM2P_ADC(c, t4, t4, t4);
  SM2P_ADC(c, t5, t5, t5);
  SM2P_ADC(c, t6, t6, t6);
  t7 = c;
  /* plus the squares, all four products first: a multiply in a carry chain splits it */
  {
    sm2p_u64 s0l, s0h, s1l, s1h, s2l, s2h, s3l, s3h;
    SM2P_MUL128(a0, a0, s0l, s0h);
    SM2P_MUL128(a1, a1, s1l, s1h);
    SM2P_MUL128(a2, a2, s2l, s2h);
    SM2P_MUL128(a3, a3, s3l, s3h);
    c = 0;
    t[0] = s0l;
    SM2P_ADC(c, t1, s0h, t[1]);
    SM2P_ADC(c, t2, s1l, t[2]);
    SM2P_ADC(c, t3, s1h, t[3]);
    SM2P_ADC(c, t4, s2l, t[4]);
    SM2P_ADC(c, t5, s2h, t[5]);
    SM2P_ADC(c, t6, s3l, t[6]);
    SM2P_ADC(c, t7, s3h, t[7]); /* a^2 < 2^512: no carry out */
  }
}

/* t = t - s for t, s < p 2^256 as 512-bit values, plus p 2^256 if that went below zero: a value
 * below 2^512 with the same residue after division by R, so one reduction serves a difference of
 * two products (lazy reduction: a reduction costs more than the wide subtraction) */
SM2P_INLINE void sm2p_sub_wide(sm2p_u64 t[8], const sm2p_u64 s[8]) {
  unsigned char bw = 0, c = 0;
  SM2P_SBB(bw, t[0], s[0], t[0]);
  SM2P_SBB(bw, t[1], s[1], t[1]);
  SM2P_SBB(bw, t[2], s[2], t[2]);
  SM2P_SBB(bw, t[3], s[3], t[3]);
  SM2P_SBB(bw, t[4], s[4], t[4]);
  SM2P_SBB(bw, t[5], s[5], t[5]);
  SM2P_SBB(bw, t[6], s[6], t[6]);
  SM2P_SBB(bw, t[7], s[7], t[7]);
  const sm2p_u64 mask = 0 - (sm2p_u64)bw;
  SM2P_ADC(c, t[4], SM2P_P0 & mask, t[4]);
  SM2P_ADC(c, t[5], SM2P_P1 & mask, t[5]);
  SM2P_ADC(c, t[6], SM2P_P2 & mask, t[6]);
  SM2P_ADC(c, t[7], SM2P_P3 & mask, t[7]); /* the carry out cancels the borrow */
}

/* r = t / R mod p for any 512-bit t */
SM2P_INLINE void sm2p_redc(ec_fe *r, const sm2p_u64 t[8]) {
  sm2p_u64 t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7];
  SM2P_REDUCE(r, t0, t1, t2, t3, t4, t5, t6, t7);
}

/* r = a b / R mod p */
SM2P_INLINE void sm2p_mul(ec_fe *r, const ec_fe *a, const ec_fe *b) {
  sm2p_u64 t[8];
  sm2p_product(t, a, b);
  sm2p_redc(r, t);
}

/* r = a^2 / R mod p */
SM2P_INLINE void sm2p_sqr(ec_fe *r, const ec_fe *a) {
  sm2p_u64 t[8];
  sm2p_square(t, a);
  sm2p_redc(r, t);
}

/* r = (a b - c d) / R mod p, one reduction */
SM2P_INLINE void sm2p_mul_sub_mul(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_fe *c, const ec_fe *d) {
  sm2p_u64 t[8], s[8];
  sm2p_product(t, a, b);
  sm2p_product(s, c, d);
  sm2p_sub_wide(t, s);
  sm2p_redc(r, t);
}

/* r = (a b - c^2) / R mod p, one reduction */
SM2P_INLINE void sm2p_mul_sub_sqr(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_fe *c) {
  sm2p_u64 t[8], s[8];
  sm2p_product(t, a, b);
  sm2p_square(s, c);
  sm2p_sub_wide(t, s);
  sm2p_redc(r, t);
}

SM2P_INLINE void sm2p_add(ec_fe *r, const ec_fe *a, const ec_fe *b) {
  sm2p_u64 x0, x1, x2, x3;
  unsigned char c = 0;
  SM2P_ADC(c, a->v[0], b->v[0], x0);
  SM2P_ADC(c, a->v[1], b->v[1], x1);
  SM2P_ADC(c, a->v[2], b->v[2], x2);
  SM2P_ADC(c, a->v[3], b->v[3], x3);
  SM2P_FINAL(r, c, x0, x1, x2, x3);
}

SM2P_INLINE void sm2p_sub(ec_fe *r, const ec_fe *a, const ec_fe *b) {
  sm2p_u64 x0, x1, x2, x3, y0, y1, y2, y3;
  unsigned char bw = 0, c = 0;
  SM2P_SBB(bw, a->v[0], b->v[0], x0);
  SM2P_SBB(bw, a->v[1], b->v[1], x1);
  SM2P_SBB(bw, a->v[2], b->v[2], x2);
  SM2P_SBB(bw, a->v[3], b->v[3], x3);
  const sm2p_u64 mask = 0 - (sm2p_u64)bw; /* add p back if a < b */
  SM2P_ADC(c, x0, SM2P_P0 & mask, y0);
  SM2P_ADC(c, x1, SM2P_P1 & mask, y1);
  SM2P_ADC(c, x2, SM2P_P2 & mask, y2);
  SM2P_ADC(c, x3, SM2P_P3 & mask, y3);
  r->v[0] = y0;
  r->v[1] = y1;
  r->v[2] = y2;
  r->v[3] = y3;
}

/* r = a / 2 mod p: a + p when a is odd (even then), shifted right with the carry on top */
SM2P_INLINE void sm2p_half(ec_fe *r, const ec_fe *a) {
  const sm2p_u64 mask = 0 - (sm2p_u64)(a->v[0] & 1);
  sm2p_u64 x0, x1, x2, x3;
  unsigned char c = 0;
  SM2P_ADC(c, a->v[0], SM2P_P0 & mask, x0);
  SM2P_ADC(c, a->v[1], SM2P_P1 & mask, x1);
  SM2P_ADC(c, a->v[2], SM2P_P2 & mask, x2);
  SM2P_ADC(c, a->v[3], SM2P_P3 & mask, x3);
  r->v[0] = (x0 >> 1) | (x1 << 63);
  r->v[1] = (x1 >> 1) | (x2 << 63);
  r->v[2] = (x2 >> 1) | (x3 << 63);
  r->v[3] = (x3 >> 1) | ((sm2p_u64)c << 63);
}

#endif /* !CP_LIMB32 */
#endif
