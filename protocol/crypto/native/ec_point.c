/*
 * Points in homogeneous projective coordinates with the complete formulas of Renes, Costello and
 * Batina 2016 (eprint 2015/1060, Algorithms 4, 5, 6 for a = -3). Complete means no exceptional
 * cases (P = Q, P = -Q, identity), so secret-scalar loops need no data-dependent branches.
 */
#include "ec_field_arith.h"
#include "ec_point.h"

#include <string.h>

#define FMUL(r, a, b) ec_mul(r, a, b, &c->p)
#define FADD(r, a, b) ec_add_fast(r, a, b, &c->p)
#define FSUB(r, a, b) ec_sub_fast(r, a, b, &c->p)
#define FSQR(r, a) ec_sqr(r, a, &c->p)

static void triple(const ec_curve *c, ec_fe *r, const ec_fe *a) {
  ec_fe t;
  FADD(&t, a, a);
  FADD(r, &t, a);
}

void ec_proj_identity(const ec_curve *c, ec_proj *r) {
  memset(r, 0, sizeof *r);
  r->Y = c->p.one;
}

void ec_proj_from_affine(const ec_curve *c, ec_proj *r, const ec_affine *a) {
  r->X = a->x;
  r->Y = a->y;
  r->Z = c->p.one;
}

/* Algorithm 4: r = a + b; r may alias a or b. */
void ec_proj_add(const ec_curve *c, ec_proj *r, const ec_proj *a, const ec_proj *b) {
  ec_fe xx, yy, zz, xy, yz, xz, t0, t1, bzz3, yy_m, yy_p, zz3, bxz3, xx3_m_zz3;
  FMUL(&xx, &a->X, &b->X);
  FMUL(&yy, &a->Y, &b->Y);
  FMUL(&zz, &a->Z, &b->Z);
  FADD(&t0, &a->X, &a->Y);
  FADD(&t1, &b->X, &b->Y);
  FMUL(&xy, &t0, &t1);
  FADD(&t0, &xx, &yy);
  FSUB(&xy, &xy, &t0); /* X1Y2 + X2Y1 */
  FADD(&t0, &a->Y, &a->Z);
  FADD(&t1, &b->Y, &b->Z);
  FMUL(&yz, &t0, &t1);
  FADD(&t0, &yy, &zz);
  FSUB(&yz, &yz, &t0); /* Y1Z2 + Y2Z1 */
  FADD(&t0, &a->X, &a->Z);
  FADD(&t1, &b->X, &b->Z);
  FMUL(&xz, &t0, &t1);
  FADD(&t0, &xx, &zz);
  FSUB(&xz, &xz, &t0); /* X1Z2 + X2Z1 */
  FMUL(&t0, &c->b, &zz);
  FSUB(&t0, &xz, &t0);
  triple(c, &bzz3, &t0);
  FSUB(&yy_m, &yy, &bzz3);
  FADD(&yy_p, &yy, &bzz3);
  triple(c, &zz3, &zz);
  FMUL(&t0, &c->b, &xz);
  FADD(&t1, &zz3, &xx);
  FSUB(&t0, &t0, &t1);
  triple(c, &bxz3, &t0);
  triple(c, &t0, &xx);
  FSUB(&xx3_m_zz3, &t0, &zz3);
  FMUL(&t0, &yy_p, &xy);
  FMUL(&t1, &yz, &bxz3);
  FSUB(&r->X, &t0, &t1);
  FMUL(&t0, &yy_p, &yy_m);
  FMUL(&t1, &xx3_m_zz3, &bxz3);
  FADD(&r->Y, &t0, &t1);
  FMUL(&t0, &yy_m, &yz);
  FMUL(&t1, &xy, &xx3_m_zz3);
  FADD(&r->Z, &t0, &t1);
}

/* Algorithm 5: r = a + b with b affine and not the identity; r may alias a. */
void ec_proj_add_affine(const ec_curve *c, ec_proj *r, const ec_proj *a, const ec_affine *b) {
  ec_fe xx, yy, xy, yz, xz, t0, t1, bz3, yy_m, yy_p, z3, bxz3, xx3_m_zz3;
  FMUL(&xx, &a->X, &b->x);
  FMUL(&yy, &a->Y, &b->y);
  FADD(&t0, &a->X, &a->Y);
  FADD(&t1, &b->x, &b->y);
  FMUL(&xy, &t0, &t1);
  FADD(&t0, &xx, &yy);
  FSUB(&xy, &xy, &t0);
  FMUL(&yz, &b->y, &a->Z);
  FADD(&yz, &yz, &a->Y);
  FMUL(&xz, &b->x, &a->Z);
  FADD(&xz, &xz, &a->X);
  FMUL(&t0, &c->b, &a->Z);
  FSUB(&t0, &xz, &t0);
  triple(c, &bz3, &t0);
  FSUB(&yy_m, &yy, &bz3);
  FADD(&yy_p, &yy, &bz3);
  triple(c, &z3, &a->Z);
  FMUL(&t0, &c->b, &xz);
  FADD(&t1, &z3, &xx);
  FSUB(&t0, &t0, &t1);
  triple(c, &bxz3, &t0);
  triple(c, &t0, &xx);
  FSUB(&xx3_m_zz3, &t0, &z3);
  FMUL(&t0, &yy_p, &xy);
  FMUL(&t1, &yz, &bxz3);
  FSUB(&r->X, &t0, &t1);
  FMUL(&t0, &yy_p, &yy_m);
  FMUL(&t1, &xx3_m_zz3, &bxz3);
  FADD(&r->Y, &t0, &t1);
  FMUL(&t0, &yy_m, &yz);
  FMUL(&t1, &xy, &xx3_m_zz3);
  FADD(&r->Z, &t0, &t1);
}

/* Algorithm 6: r = 2a; r may alias a. */
void ec_proj_double(const ec_curve *c, ec_proj *r, const ec_proj *a) {
  ec_fe xx, yy, zz, xy2, xz2, yz2, t0, t1, bzz3, yy_m, yy_p, yf, xf, zz3, bxz6, xx3_m_zz3;
  FSQR(&xx, &a->X);
  FSQR(&yy, &a->Y);
  FSQR(&zz, &a->Z);
  FMUL(&xy2, &a->X, &a->Y);
  FADD(&xy2, &xy2, &xy2);
  FMUL(&xz2, &a->X, &a->Z);
  FADD(&xz2, &xz2, &xz2);
  FMUL(&yz2, &a->Y, &a->Z);
  FADD(&yz2, &yz2, &yz2);
  FMUL(&t0, &c->b, &zz);
  FSUB(&t0, &t0, &xz2);
  triple(c, &bzz3, &t0);
  FSUB(&yy_m, &yy, &bzz3);
  FADD(&yy_p, &yy, &bzz3);
  FMUL(&yf, &yy_p, &yy_m);
  FMUL(&xf, &yy_m, &xy2);
  triple(c, &zz3, &zz);
  FMUL(&t0, &c->b, &xz2);
  FADD(&t1, &zz3, &xx);
  FSUB(&t0, &t0, &t1);
  triple(c, &bxz6, &t0);
  triple(c, &t0, &xx);
  FSUB(&xx3_m_zz3, &t0, &zz3);
  FMUL(&t0, &xx3_m_zz3, &bxz6);
  FADD(&r->Y, &yf, &t0);
  FMUL(&t0, &bxz6, &yz2);
  FSUB(&r->X, &xf, &t0);
  FMUL(&t0, &yz2, &yy);
  FADD(&t0, &t0, &t0);
  FADD(&r->Z, &t0, &t0);
}

void ec_proj_cmov(ec_proj *r, const ec_proj *a, ec_limb mask) {
  ec_cmov(&r->X, &a->X, mask);
  ec_cmov(&r->Y, &a->Y, mask);
  ec_cmov(&r->Z, &a->Z, mask);
}

ec_limb ec_proj_to_affine(const ec_curve *c, ec_fe *x, ec_fe *y, const ec_proj *a) {
  ec_fe zi, t;
  ec_inv(&zi, &a->Z, &c->p); /* the inverse of 0 comes out as 0: no branch needed here */
  if (x != NULL) {
    FMUL(&t, &a->X, &zi);
    ec_from_mont(x, &t, &c->p);
  }
  if (y != NULL) {
    FMUL(&t, &a->Y, &zi);
    ec_from_mont(y, &t, &c->p);
  }
  ec_wipe(&zi, sizeof zi);
  ec_wipe(&t, sizeof t);
  return ~ec_is_zero_mask(&a->Z);
}

int ec_decode_point(const ec_curve *c, const uint8_t pub[65], ec_affine *out) {
  ec_fe x, y, lhs, rhs, t;
  if (pub[0] != 0x04) return 0;
  ec_from_be(&x, pub + 1);
  ec_from_be(&y, pub + 33);
  if (!ec_lt_mask(&x, &c->p.m) || !ec_lt_mask(&y, &c->p.m)) return 0; /* congruent is not enough */
  ec_to_mont(&out->x, &x, &c->p);
  ec_to_mont(&out->y, &y, &c->p);
  FSQR(&lhs, &out->y); /* y^2 = x^3 - 3x + b */
  FSQR(&t, &out->x);
  FMUL(&rhs, &t, &out->x);
  triple(c, &t, &out->x);
  FSUB(&rhs, &rhs, &t);
  FADD(&rhs, &rhs, &c->b);
  return ec_eq_mask(&lhs, &rhs) != 0;
}

void ec_encode_point(uint8_t out[65], const ec_fe *x, const ec_fe *y) {
  out[0] = 0x04;
  ec_to_be(out + 1, x);
  ec_to_be(out + 33, y);
}
