/*
 * Host-only SM2 verification, variable time (public data only): ec_verify_sm2.h.
 *
 * s*G + t*P with a new key P on every call (the bank's case) is one chain of 256 Jacobian doublings
 * with both scalars in width-w NAF interleaved into it (Shamir's trick): t with w = 6 over the odd
 * multiples P, 3P, .., 31P (Jacobian, each with Z^2 and Z^3 kept, so no inversion is needed; built
 * with co-Z additions), s with w = 12 over the generated affine table of odd multiples of G
 * (ec_sm2p256_wnaf_table.h, 64 KB), so about 37 + 20 additions. With P's per-key table (same key
 * again) the comb rows of ec_curve.h need no doublings at all: 130 mixed additions. Either way the
 * result stays projective: the check x1 = r - e (mod n) is made as X = x Z^2 for the (at most two)
 * candidates x, so no inversion.
 *
 * Field arithmetic: ec_sm2p_fast.h, inlined; where a formula subtracts one product from another
 * (Y3 of the doubling and of the additions) the difference is reduced once (sm2p_mul_sub_mul).
 * The Jacobian formulas are not complete; their exceptional cases (P + P, P + (-P), the identity)
 * take branches, fine for public data, and the fuzz tests drive scalars into them.
 */
#include "ec_verify_sm2.h"

#if CP_SM2_FAST_VERIFY

#include <string.h>

#include "ec_sm2p256_wnaf_table.h"
#include "ec_sm2p_fast.h"

#define W_P 6                      /* wNAF width for the key P */
#define P_ODD (1 << (W_P - 2))     /* odd multiples of P kept: P, 3P, .., 31P */
#define W_G EC_SM2P256_WNAF_G_WIDTH /* width for G: its table holds 2^(W_G - 2) points */
#define WNAF_LEN 257               /* a 256-bit scalar can carry into digit 256 */

#define MUL(r, a, b) sm2p_mul(r, a, b)
#define SQR(r, a) sm2p_sqr(r, a)
#define ADD(r, a, b) sm2p_add(r, a, b)
#define SUB(r, a, b) sm2p_sub(r, a, b)
/* Two products one after the other: interleaved in one body (tried: sm2p_mul2, a squaring pair)
 * they spill registers and measured 2-7% slower per verification. */
#define MUL2(r, a, b, s, c, d) \
  do {                         \
    MUL(r, a, b);              \
    MUL(s, c, d);              \
  } while (0)

static const ec_fe ZERO = {{0}};

typedef struct {
  ec_fe X, Y, Z; /* x = X/Z^2, y = Y/Z^3 */
  int inf;
} jac;

/* A table point in Jacobian coordinates with Z^2 and Z^3 ready for additions. */
typedef struct {
  ec_fe X, Y, Z, ZZ, ZZZ;
} jac_cached;

/* dbl-2001-b (a = -3) scaled by 1/2 (the same point): with M = 3 (X - Z^2)(X + Z^2) / 2,
 * beta = X Y^2, X3 = M^2 - 2 beta, Y3 = M (beta - X3) - Y^4, Z3 = Y Z. 4M + 4S and 8 additions
 * (one a halving) instead of 12: on this chain the additions are a fifth of the time. r may alias a. */
static void jac_double(jac *r, const jac *a) {
  ec_fe delta, gamma, beta, m, t0, t1;
  if (a->inf) {
    *r = *a;
    return;
  }
  SQR(&delta, &a->Z);
  SQR(&gamma, &a->Y);
  SUB(&t0, &a->X, &delta);
  ADD(&t1, &a->X, &delta);
  MUL(&beta, &a->X, &gamma);
  MUL(&t0, &t0, &t1); /* (X - delta)(X + delta) */
  sm2p_half(&m, &t0);
  ADD(&m, &m, &t0); /* M = 3/2 (X - delta)(X + delta) */
  MUL(&r->Z, &a->Y, &a->Z);
  SQR(&t0, &m);
  ADD(&t1, &beta, &beta);
  SUB(&r->X, &t0, &t1); /* M^2 - 2 beta */
  SUB(&t0, &beta, &r->X);
  sm2p_mul_sub_sqr(&r->Y, &m, &t0, &gamma); /* M (beta - X3) - Y^4 */
  r->inf = 0;
}

static void jac_of_affine(jac *r, const ec_affine *b, const ec_fe *one) {
  r->X = b->x;
  r->Y = b->y;
  r->Z = *one;
  r->inf = 0;
}

/* madd-2004-hmv: r = a + (bx, +-by), the affine point given by its coordinates, y negated when
 * neg; r may alias a. 8M + 3S with 5 additions (madd-2007-bl's 7M + 4S needs 14, which cost more
 * than the product). A negated y costs nothing: with s2 from +by, rr = -(s2 + Y1), and rr enters
 * only as rr^2 and in rr (V - X3) = (s2 + Y1)(X3 - V). */
static void jac_add_affine(jac *r, const jac *a, const ec_fe *bx, const ec_fe *by, int neg, const ec_fe *one) {
  ec_fe z1z1, u2, s2, h, rr, hh, hhh, v, t0, t1;
  if (a->inf) {
    r->X = *bx;
    r->Y = *by;
    if (neg) SUB(&r->Y, &ZERO, by);
    r->Z = *one;
    r->inf = 0;
    return;
  }
  SQR(&z1z1, &a->Z);
  MUL(&s2, by, &a->Z);
  MUL2(&u2, bx, &z1z1, &s2, &s2, &z1z1);
  SUB(&h, &u2, &a->X);
  if (neg)
    ADD(&rr, &s2, &a->Y);
  else
    SUB(&rr, &s2, &a->Y);
  if (ec_is_zero_mask(&h)) {
    if (ec_is_zero_mask(&rr)) { /* a == b */
      jac d;
      d.X = *bx;
      d.Y = *by;
      if (neg) SUB(&d.Y, &ZERO, by);
      d.Z = *one;
      d.inf = 0;
      jac_double(r, &d);
    } else { /* a == -b */
      r->inf = 1;
    }
    return;
  }
  SQR(&hh, &h);
  MUL2(&hhh, &h, &hh, &v, &a->X, &hh);
  MUL(&r->Z, &a->Z, &h);
  ADD(&t1, &v, &v);
  ADD(&t1, &t1, &hhh); /* HHH + 2V, while rr^2 is computed */
  SQR(&t0, &rr);
  SUB(&r->X, &t0, &t1); /* rr^2 - HHH - 2V */
  if (neg)
    SUB(&t0, &r->X, &v);
  else
    SUB(&t0, &v, &r->X);
  sm2p_mul_sub_mul(&r->Y, &rr, &t0, &a->Y, &hhh); /* rr (V - X3) - Y1 HHH */
  r->inf = 0;
}

/* r = a + b (b Jacobian with cached Z^2, Z^3, y negated when neg, at no cost as in jac_add_affine);
 * r may alias a. 11M + 3S. */
static void jac_add_cached(jac *r, const jac *a, const jac_cached *b, int neg) {
  ec_fe z1z1, u1, u2, s1, s2, h, rr, hh, hhh, v, t0, t1;
  if (a->inf) {
    r->X = b->X;
    r->Y = b->Y;
    if (neg) SUB(&r->Y, &ZERO, &b->Y);
    r->Z = b->Z;
    r->inf = 0;
    return;
  }
  SQR(&z1z1, &a->Z);
  MUL(&s2, &b->Y, &a->Z);
  MUL2(&u2, &b->X, &z1z1, &s2, &s2, &z1z1);
  MUL2(&u1, &a->X, &b->ZZ, &s1, &a->Y, &b->ZZZ);
  SUB(&h, &u2, &u1);
  if (neg)
    ADD(&rr, &s2, &s1);
  else
    SUB(&rr, &s2, &s1);
  if (ec_is_zero_mask(&h)) {
    if (ec_is_zero_mask(&rr)) { /* a == b */
      jac_double(r, a);
    } else { /* a == -b */
      r->inf = 1;
    }
    return;
  }
  SQR(&hh, &h);
  MUL(&t0, &a->Z, &b->Z);
  MUL2(&hhh, &h, &hh, &v, &u1, &hh);
  MUL(&r->Z, &t0, &h); /* Z1 Z2 H */
  ADD(&t1, &v, &v);
  ADD(&t1, &t1, &hhh); /* HHH + 2V, while rr^2 is computed */
  SQR(&t0, &rr);
  SUB(&r->X, &t0, &t1); /* rr^2 - HHH - 2V */
  if (neg)
    SUB(&t0, &r->X, &v);
  else
    SUB(&t0, &v, &r->X);
  sm2p_mul_sub_mul(&r->Y, &rr, &t0, &s1, &hhh); /* rr (V - X3) - S1 HHH */
  r->inf = 0;
}

static void cache_of(jac_cached *r, const jac *a) {
  r->X = a->X;
  r->Y = a->Y;
  r->Z = a->Z;
  SQR(&r->ZZ, &a->Z);
  MUL(&r->ZZZ, &r->ZZ, &a->Z);
}

/* Odd multiples P, 3P, .., (2 P_ODD - 1) P for the wNAF of t: P as given (Z = 1), then 2P and P on
 * 2P's Z, and each next multiple by a co-Z addition of 2P (ZADDU: Meloni 2007; Goundar, Joye,
 * Miyaji 2010), 5M + 2S instead of 11M + 3S, which leaves 2P on the sum's Z for the next one.
 * (2j+1)P = (2j-1)P + 2P is never a doubling or a cancellation: n is prime. */
static void odd_multiples(jac_cached tab[P_ODD], const ec_affine *p, const ec_fe *one) {
  jac q, p2, pz;
  ec_fe zz, dx, c, w1, w2, e, dy, t0; /* ZADDU's names: A = dx^2 = c, B = w1, C = w2, E = e */
  jac_of_affine(&q, p, one);
  tab[0].X = p->x;
  tab[0].Y = p->y;
  tab[0].Z = *one;
  tab[0].ZZ = *one;
  tab[0].ZZZ = *one;
  jac_double(&p2, &q);
  SQR(&zz, &p2.Z); /* P on 2P's Z */
  MUL(&pz.X, &p->x, &zz);
  MUL(&t0, &zz, &p2.Z);
  MUL(&pz.Y, &p->y, &t0);
  pz.Z = p2.Z;
  for (int j = 1; j < P_ODD; j++) {
    /* ZADDU(2P, (2j-1)P): both on one Z */
    SUB(&dx, &pz.X, &p2.X);
    SQR(&c, &dx);
    MUL2(&w1, &p2.X, &c, &w2, &pz.X, &c);
    SUB(&t0, &w2, &w1);
    MUL(&e, &p2.Y, &t0); /* 2P's Y on the new Z */
    SUB(&dy, &pz.Y, &p2.Y);
    MUL(&q.Z, &p2.Z, &dx);
    SQR(&t0, &dy);
    SUB(&t0, &t0, &w1);
    SUB(&q.X, &t0, &w2); /* (Y2 - Y1)^2 - W1 - W2 */
    SUB(&t0, &w1, &q.X);
    MUL(&t0, &dy, &t0);
    SUB(&q.Y, &t0, &e); /* (Y2 - Y1)(W1 - X3) - Y1 (W2 - W1) */
    p2.X = w1;
    p2.Y = e;
    p2.Z = q.Z;
    cache_of(&tab[j], &q);
    pz = q;
  }
}

/* 32 big-endian bytes -> 4 limbs, plus a zero limb so windows may read past bit 255 */
static void limbs_of(uint64_t k[5], const uint8_t b[32]) {
  for (int i = 0; i < 4; i++) {
    uint64_t w = 0;
    for (int j = 0; j < 8; j++) w = (w << 8) | b[(3 - i) * 8 + j];
    k[i] = w;
  }
  k[4] = 0;
}

/* w bits of k from bit pos on (pos < 256, w <= 16) */
static uint32_t bits_at(const uint64_t k[5], int pos, int w) {
  uint64_t x = k[pos >> 6] >> (pos & 63);
  if ((pos & 63) + w > 64) x |= k[(pos >> 6) + 1] << (64 - (pos & 63));
  return (uint32_t)x & ((1u << w) - 1);
}

static int ctz64(uint64_t x) { /* x != 0 */
#if defined(__GNUC__)
  return __builtin_ctzll(x);
#else
  int n = 0;
  while (!(x & 1)) {
    x >>= 1;
    n++;
  }
  return n;
#endif
}

/* k = sum out[i] 2^i with every nonzero digit odd, |digit| < 2^(w-1) and at least w - 1 zeros after
 * it. Returns the number of digits up to the highest nonzero one (0 for k = 0). k public. */
static int wnaf(int16_t out[WNAF_LEN], const uint8_t kb[32], int w) {
  uint64_t k[5];
  int bit = 0, len = 0;
  uint32_t carry = 0;
  limbs_of(k, kb);
  memset(out, 0, sizeof(int16_t) * WNAF_LEN);
  while (bit < 256) {
    /* skip to the next bit that differs from the carry (bit + carry is odd there) */
    uint64_t rest = k[bit >> 6] >> (bit & 63);
    if (carry) rest = ~rest & (~(uint64_t)0 >> (bit & 63));
    if (rest == 0) {
      bit = (bit | 63) + 1; /* none left in this limb */
      continue;
    }
    bit += ctz64(rest);
    /* word is odd; a carry out needs the window's top bit, so it lands at a position <= 256 */
    uint32_t word = bits_at(k, bit, w) + carry;
    carry = (word >> (w - 1)) & 1;
    out[bit] = (int16_t)((int32_t)word - (int32_t)(carry << w));
    len = bit + 1;
    bit += w;
  }
  if (carry) { /* only a window ending at bit 256 carries, so bit == 256 here */
    out[256] = 1;
    len = 257;
  }
  return len;
}

/* acc = s*G + t*P, P new: one doubling chain, both wNAFs interleaved. */
static void mul_add_wnaf(jac *acc, const uint8_t s[32], const ec_affine *p, const uint8_t t[32], const ec_fe *one) {
  jac_cached tab[P_ODD];
  int16_t dt[WNAF_LEN], ds[WNAF_LEN]; /* |digits| < 2^(W_G - 1) */
  int lt = wnaf(dt, t, W_P), ls = wnaf(ds, s, W_G);
  odd_multiples(tab, p, one);
  acc->inf = 1;
  for (int i = (lt > ls ? lt : ls) - 1; i >= 0; i--) {
    jac_double(acc, acc);
    int d = dt[i];
    if (d > 0) jac_add_cached(acc, acc, &tab[d >> 1], 0);
    if (d < 0) jac_add_cached(acc, acc, &tab[(-d) >> 1], 1);
    d = ds[i];
    if (d != 0) {
      const ec_affine *g = &EC_SM2P256_WNAF_G[(d < 0 ? -d : d) >> 1];
      jac_add_affine(acc, acc, &g->x, &g->y, d < 0, one);
    }
  }
}

/* acc += d * (row base) for a signed radix-16 digit d */
static void add_row_digit(jac *acc, const ec_affine row[EC_TABLE_COLS], int d, const ec_fe *one) {
  if (d == 0) return;
  const ec_affine *e = &row[(d < 0 ? -d : d) - 1];
  jac_add_affine(acc, acc, &e->x, &e->y, d < 0, one);
}

/* acc = s*G + t*P with P's per-key table: both combs, no doublings */
static void mul_add_tables(jac *acc, const uint8_t s[32], const ec_table *table, const uint8_t t[32],
                           const ec_fe *one) {
  const ec_curve *c = ec_sm2p256();
  int8_t ds[EC_DIGITS], dt[EC_DIGITS];
  ec_recode(ds, s);
  ec_recode(dt, t);
  acc->inf = 1;
  for (int i = 0; i < EC_DIGITS; i++) {
    add_row_digit(acc, table->p[i], dt[i], one);
    add_row_digit(acc, c->g_table[i], ds[i], one);
  }
}

static void mul_add(jac *acc, const uint8_t s[32], const ec_affine *p, const ec_table *table, const uint8_t t[32]) {
  const ec_fe *one = &ec_sm2p256()->p.one;
  if (table != NULL)
    mul_add_tables(acc, s, table, t, one);
  else
    mul_add_wnaf(acc, s, p, t, one);
}

void ec_sm2_mul_add_fast(ec_proj *r, const uint8_t s[32], const ec_affine *p, const ec_table *table,
                         const uint8_t t[32]) {
  jac acc;
  ec_fe z2;
  mul_add(&acc, s, p, table, t);
  if (acc.inf) {
    ec_proj_identity(ec_sm2p256(), r);
    return;
  }
  MUL(&r->X, &acc.X, &acc.Z); /* Jacobian -> homogeneous: (X Z, Y, Z^3) */
  r->Y = acc.Y;
  SQR(&z2, &acc.Z);
  MUL(&r->Z, &z2, &acc.Z);
}

/* 1 iff the affine x of acc (X/Z^2, Montgomery form) is the plain integer x */
static int x_matches(const jac *acc, const ec_fe *zz, const ec_fe *x) {
  ec_fe xm, t;
  MUL(&xm, x, &ec_sm2p256()->p.rr); /* Montgomery form */
  MUL(&t, &xm, zz);
  return ec_eq_mask(&t, &acc->X) != 0;
}

int ec_sm2_verify_fast(const ec_affine *p, const ec_table *table, const uint8_t ebytes[32], const uint8_t sig[64]) {
  const ec_curve *c = ec_sm2p256();
  const ec_mod *N = &c->n;
  ec_fe r, s, t, e, v, zz;
  uint8_t tbytes[32];
  jac acc;
  ec_from_be(&r, sig);
  ec_from_be(&s, sig + 32);
  if (!ec_scalar_ok(c, &r, 0) || !ec_scalar_ok(c, &s, 0)) return 0; /* B1, B2 */
  ec_add(&t, &r, &s, N);                                           /* B5 */
  if (ec_is_zero_mask(&t)) return 0;
  ec_to_be(tbytes, &t);
  mul_add(&acc, sig + 32, p, table, tbytes); /* B6: (x1, y1) = s*G + t*P */
  if (acc.inf) return 0;
  /* B7: (e + x1) mod n == r  <=>  x1 = v or x1 = v + n, v = (r - e) mod n, x1 < p < 2n */
  ec_from_be(&e, ebytes);
  ec_reduce_once(&e, &e, N); /* e < 2^256 < 2n */
  ec_sub(&v, &r, &e, N);
  SQR(&zz, &acc.Z);
  if (x_matches(&acc, &zz, &v)) return 1;
  uint64_t carry = 0;
  ec_fe w;
  w.v[0] = adc64(v.v[0], N->m.v[0], &carry);
  w.v[1] = adc64(v.v[1], N->m.v[1], &carry);
  w.v[2] = adc64(v.v[2], N->m.v[2], &carry);
  w.v[3] = adc64(v.v[3], N->m.v[3], &carry);
  if (carry || !ec_lt_mask(&w, &c->p.m)) return 0; /* v + n is not a field element */
  return x_matches(&acc, &zz, &w);
}

#else
typedef int ec_verify_sm2_unused; /* ISO C forbids an empty translation unit */
#endif
