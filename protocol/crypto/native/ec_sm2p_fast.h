/*
 * Arithmetic modulo the SM2 prime p = 2^256 - 2^224 - 2^96 + 2^64 - 1 for the host-only
 * verification (ec_verify_sm2.c): 64-bit limbs, Montgomery form with R = 2^256 (the same values as
 * ec_field.h, so the generated tables serve unchanged), every operation inline.
 *
 * The reduction uses the shape of p instead of multiplications: p = -1 mod 2^64, so the Montgomery
 * quotient of a round is the low limb q itself, and (t + q p) / 2^64 = t / 2^64 + q c with
 * c = (p + 1) / 2^64 = 2^192 - 2^160 - 2^32 + 1, which is a few shifts and subtractions of q.
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
#define SM2P_ADC(c, a, b, out) ((c) = _addcarry_u64((c), (a), (b), &(out)))
#define SM2P_SBB(c, a, b, out) ((c) = _subborrow_u64((c), (a), (b), &(out)))
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

/* One Montgomery round on the window (t1..t4) with q = t0: (t1..t4) += q c, carry out in cy
 * (added by the caller one limb up). q c < 2^256, so it is formed by subtractions first. */
#define SM2P_ROUND(q, t1, t2, t3, t4, cy)                                                      \
  do {                                                                                        \
    const sm2p_u64 q_ = (q), lo_ = q_ << 32, hi_ = q_ >> 32;                                  \
    sm2p_u64 v0_, v1_, v2_, v3_;                                                              \
    unsigned char b_ = 0;                                                                     \
    SM2P_SBB(b_, q_, lo_, v0_); /* q c = q + q 2^192 - q 2^32 - q 2^160 */                    \
    SM2P_SBB(b_, 0, hi_, v1_);                                                                \
    SM2P_SBB(b_, 0, lo_, v2_);                                                                \
    SM2P_SBB(b_, q_, hi_, v3_);                                                               \
    cy = 0;                                                                                   \
    SM2P_ADC(cy, t1, v0_, t1);                                                                \
    SM2P_ADC(cy, t2, v1_, t2);                                                                \
    SM2P_ADC(cy, t3, v2_, t3);                                                                \
    SM2P_ADC(cy, t4, v3_, t4);                                                                \
  } while (0)

#define SM2P_P0 0xFFFFFFFFFFFFFFFFULL
#define SM2P_P1 0xFFFFFFFF00000000ULL
#define SM2P_P2 0xFFFFFFFFFFFFFFFFULL
#define SM2P_P3 0xFFFFFFFEFFFFFFFFULL

#if defined(__GNUC__)
#define SM2P_COLD static __attribute__((noinline, cold, unused))
#define SM2P_RARE(x) __builtin_expect(!!(x), 0)
#else
#define SM2P_COLD static
#define SM2P_RARE(x) (x)
#endif

/* r = r - p if r >= p (r < 2^256): the rare tail of SM2P_FINAL, out of line */
SM2P_COLD void sm2p_reduce_tail(ec_fe *r) {
  unsigned char bw = 0;
  sm2p_u64 d0, d1, d2, d3;
  SM2P_SBB(bw, r->v[0], SM2P_P0, d0);
  SM2P_SBB(bw, r->v[1], SM2P_P1, d1);
  SM2P_SBB(bw, r->v[2], SM2P_P2, d2);
  SM2P_SBB(bw, r->v[3], SM2P_P3, d3);
  if (!bw) {
    r->v[0] = d0;
    r->v[1] = d1;
    r->v[2] = d2;
    r->v[3] = d3;
  }
}

/* r = (top:x3..x0) mod p for a value < 2p. With top set, (top:x) - p = x + (2^256 - p) mod 2^256
 * and 2^256 - p = 2^224 + 2^96 - 2^64 + 1 is added under a mask (an add chain, not a select: GCC
 * vectorises four masked selects into SSE shuffles). Without top, x >= p needs a top limb of at
 * least P3 (about one value in 2^32): a predictable branch to the full compare instead of a borrow
 * chain on every call. Variable time in that branch, so for public data only (the verifier). */
#define SM2P_FINAL(r, top, x0, x1, x2, x3)                                                     \
  do {                                                                                        \
    unsigned char c_ = 0;                                                                     \
    sm2p_u64 r0_, r1_, r2_, r3_;                                                              \
    const sm2p_u64 m_ = 0 - (sm2p_u64)(top); /* all ones: (top:x) >= 2^256 > p */             \
    SM2P_ADC(c_, x0, m_ & 1, r0_);                                                            \
    SM2P_ADC(c_, x1, m_ & 0xFFFFFFFFULL, r1_);                                                \
    SM2P_ADC(c_, x2, 0, r2_);                                                                 \
    SM2P_ADC(c_, x3, m_ & 0x100000000ULL, r3_);                                               \
    (r)->v[0] = r0_;                                                                          \
    (r)->v[1] = r1_;                                                                          \
    (r)->v[2] = r2_;                                                                          \
    (r)->v[3] = r3_;                                                                          \
    if (SM2P_RARE(r3_ >= SM2P_P3)) sm2p_reduce_tail(r);                                       \
  } while (0)

/* 512-bit t7..t0 -> t / R mod p. A round's carry belongs one limb above its window, a limb no
 * later round takes its quotient from, so the four carries are added once, at the end. */
#define SM2P_REDUCE(r, t0, t1, t2, t3, t4, t5, t6, t7)                                         \
  do {                                                                                        \
    unsigned char k0_, k1_, k2_, k3_, c2_ = 0;                                                \
    SM2P_ROUND(t0, t1, t2, t3, t4, k0_);                                                      \
    SM2P_ROUND(t1, t2, t3, t4, t5, k1_);                                                      \
    SM2P_ROUND(t2, t3, t4, t5, t6, k2_);                                                      \
    SM2P_ROUND(t3, t4, t5, t6, t7, k3_);                                                      \
    SM2P_ADC(c2_, t5, k0_, t5);                                                               \
    SM2P_ADC(c2_, t6, k1_, t6);                                                               \
    SM2P_ADC(c2_, t7, k2_, t7);                                                               \
    SM2P_FINAL(r, (sm2p_u64)k3_ + c2_, t4, t5, t6, t7);                                       \
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

/* r = a b / R mod p */
SM2P_INLINE void sm2p_mul(ec_fe *r, const ec_fe *a, const ec_fe *b) {
  const sm2p_u64 a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
  const sm2p_u64 b0 = b->v[0], b1 = b->v[1], b2 = b->v[2], b3 = b->v[3];
  sm2p_u64 lo = 0, hi = 0, ov = 0, t0, t1, t2, t3, t4, t5, t6, t7;
  SM2P_MAC(a0, b0);
  SM2P_COLUMN(t0);
  SM2P_MAC(a0, b1);
  SM2P_MAC(a1, b0);
  SM2P_COLUMN(t1);
  SM2P_MAC(a0, b2);
  SM2P_MAC(a1, b1);
  SM2P_MAC(a2, b0);
  SM2P_COLUMN(t2);
  SM2P_MAC(a0, b3);
  SM2P_MAC(a1, b2);
  SM2P_MAC(a2, b1);
  SM2P_MAC(a3, b0);
  SM2P_COLUMN(t3);
  SM2P_MAC(a1, b3);
  SM2P_MAC(a2, b2);
  SM2P_MAC(a3, b1);
  SM2P_COLUMN(t4);
  SM2P_MAC(a2, b3);
  SM2P_MAC(a3, b2);
  SM2P_COLUMN(t5);
  SM2P_MAC(a3, b3);
  t6 = lo;
  t7 = hi; /* a b < 2^512: ov is 0 */
  SM2P_REDUCE(r, t0, t1, t2, t3, t4, t5, t6, t7);
}

/* r = a^2 / R mod p: the six cross products once, doubled, plus the four squares */
SM2P_INLINE void sm2p_sqr(ec_fe *r, const ec_fe *a) {
  const sm2p_u64 a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
  sm2p_u64 t0, t1, t2, t3, t4, t5, t6, t7, l, h, l2, h2;
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
  /* doubled */
  t7 = t6 >> 63;
  t6 = (t6 << 1) | (t5 >> 63);
  t5 = (t5 << 1) | (t4 >> 63);
  t4 = (t4 << 1) | (t3 >> 63);
  t3 = (t3 << 1) | (t2 >> 63);
  t2 = (t2 << 1) | (t1 >> 63);
  t1 <<= 1;
  /* plus the squares */
  c = 0;
  SM2P_MUL128(a0, a0, t0, h);
  SM2P_ADC(c, t1, h, t1);
  SM2P_MUL128(a1, a1, l, h);
  SM2P_ADC(c, t2, l, t2);
  SM2P_ADC(c, t3, h, t3);
  SM2P_MUL128(a2, a2, l, h);
  SM2P_ADC(c, t4, l, t4);
  SM2P_ADC(c, t5, h, t5);
  SM2P_MUL128(a3, a3, l, h);
  SM2P_ADC(c, t6, l, t6);
  SM2P_ADC(c, t7, h, t7); /* a^2 < 2^512: no carry out */
  SM2P_REDUCE(r, t0, t1, t2, t3, t4, t5, t6, t7);
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
