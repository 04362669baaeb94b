/*
 * Variable-base multiplication and per-key tables, for verification: public data only.
 *
 * Jacobian coordinates (x = X/Z^2, y = Y/Z^3) because doubling there costs 3M+5S against 14
 * multiplications with the complete formulas, and a 256-bit scalar needs 256 doublings. The
 * formulas are not complete, so the exceptional cases of the mixed addition (P + P, P + (-P),
 * identity) are handled by branches, which is fine for public data and exercised by the tests.
 */
#include "ec_field_arith.h"
#include "ec_point.h"

#include <string.h>

#define FMUL(r, a, b) ec_mul(r, a, b, &c->p)
#define FADD(r, a, b) ec_add_fast(r, a, b, &c->p)
#define FSUB(r, a, b) ec_sub_fast(r, a, b, &c->p)
#define FSQR(r, a) ec_sqr(r, a, &c->p)

typedef struct {
  ec_fe X, Y, Z;
  int inf;
} jac;

/* dbl-2001-b, a = -3 */
static void jac_double(const ec_curve *c, jac *r, const jac *a) {
  ec_fe delta, gamma, beta, alpha, t0, t1;
  if (a->inf) {
    *r = *a;
    return;
  }
  FSQR(&delta, &a->Z);
  FSQR(&gamma, &a->Y);
  FMUL(&beta, &a->X, &gamma);
  FSUB(&t0, &a->X, &delta);
  FADD(&t1, &a->X, &delta);
  FMUL(&t0, &t0, &t1);
  FADD(&alpha, &t0, &t0);
  FADD(&alpha, &alpha, &t0); /* 3 (X - delta)(X + delta) */
  FADD(&t0, &a->Y, &a->Z);
  FSQR(&t0, &t0);
  FSUB(&t0, &t0, &gamma);
  FSUB(&r->Z, &t0, &delta); /* (Y + Z)^2 - gamma - delta = 2YZ */
  FADD(&beta, &beta, &beta);
  FADD(&beta, &beta, &beta); /* 4 beta */
  FSQR(&t0, &alpha);
  FADD(&t1, &beta, &beta);
  FSUB(&r->X, &t0, &t1); /* alpha^2 - 8 beta */
  FSUB(&t0, &beta, &r->X);
  FMUL(&t0, &alpha, &t0);
  FSQR(&t1, &gamma);
  FADD(&t1, &t1, &t1);
  FADD(&t1, &t1, &t1);
  FADD(&t1, &t1, &t1); /* 8 gamma^2 */
  FSUB(&r->Y, &t0, &t1);
  r->inf = 0;
}

/* madd-2007-bl: r = a + b, b affine; r may alias a. */
static void jac_add_affine(const ec_curve *c, jac *r, const jac *a, const ec_affine *b) {
  ec_fe z1z1, u2, s2, h, hh, i, j, rr, v, t0, t1;
  if (a->inf) {
    r->X = b->x;
    r->Y = b->y;
    r->Z = c->p.one;
    r->inf = 0;
    return;
  }
  FSQR(&z1z1, &a->Z);
  FMUL(&u2, &b->x, &z1z1);
  FMUL(&s2, &b->y, &a->Z);
  FMUL(&s2, &s2, &z1z1);
  FSUB(&h, &u2, &a->X);
  FSUB(&rr, &s2, &a->Y);
  if (ec_is_zero_mask(&h)) {
    if (ec_is_zero_mask(&rr)) { /* a == b: double */
      jac d;
      d.X = b->x;
      d.Y = b->y;
      d.Z = c->p.one;
      d.inf = 0;
      jac_double(c, r, &d);
    } else { /* a == -b */
      r->inf = 1;
    }
    return;
  }
  FADD(&rr, &rr, &rr); /* r = 2 (S2 - Y1) */
  FSQR(&hh, &h);
  FADD(&i, &hh, &hh);
  FADD(&i, &i, &i); /* I = 4 HH */
  FMUL(&j, &h, &i);
  FMUL(&v, &a->X, &i);
  FADD(&t0, &a->Z, &h);
  FSQR(&t0, &t0);
  FSUB(&t0, &t0, &z1z1);
  FSUB(&r->Z, &t0, &hh); /* (Z1 + H)^2 - Z1Z1 - HH */
  FMUL(&t1, &a->Y, &j);
  FADD(&t1, &t1, &t1); /* 2 Y1 J, before X3 overwrites anything */
  FSQR(&t0, &rr);
  FSUB(&t0, &t0, &j);
  FSUB(&t0, &t0, &v);
  FSUB(&r->X, &t0, &v); /* r^2 - J - 2V */
  FSUB(&t0, &v, &r->X);
  FMUL(&t0, &rr, &t0);
  FSUB(&r->Y, &t0, &t1);
  r->inf = 0;
}

/* Normalises count projective points (none the identity) to affine with one inversion. */
static void batch_to_affine(const ec_curve *c, ec_affine *out, const ec_proj *in, int count) {
  ec_fe prefix[EC_TABLE_COLS], inv, zi;
  prefix[0] = in[0].Z;
  for (int i = 1; i < count; i++) FMUL(&prefix[i], &prefix[i - 1], &in[i].Z);
  ec_inv(&inv, &prefix[count - 1], &c->p);
  for (int i = count - 1; i >= 0; i--) {
    if (i > 0) {
      FMUL(&zi, &inv, &prefix[i - 1]);
      FMUL(&inv, &inv, &in[i].Z);
    } else {
      zi = inv;
    }
    FMUL(&out[i].x, &in[i].X, &zi);
    FMUL(&out[i].y, &in[i].Y, &zi);
  }
}

/* acc += d * (row base), d public. */
static void jac_add_digit(const ec_curve *c, jac *acc, const ec_affine row[EC_TABLE_COLS], int d) {
  if (d == 0) return;
  ec_affine q = row[(d < 0 ? -d : d) - 1];
  if (d < 0) ec_neg(&q.y, &q.y, &c->p);
  jac_add_affine(c, acc, acc, &q);
}

/* acc = k * P by signed radix-16 double-and-add (k given by its digits); k and P public. */
static void mul_point_jac(const ec_curve *c, jac *acc, const ec_affine *p, const int8_t digits[EC_DIGITS]) {
  ec_proj m[EC_TABLE_COLS]; /* m[j] = (j+1) P with the complete formulas, then affine */
  ec_affine ma[EC_TABLE_COLS];
  ec_proj_from_affine(c, &m[0], p);
  ec_proj_double(c, &m[1], &m[0]);
  for (int j = 2; j < EC_TABLE_COLS; j++) ec_proj_add(c, &m[j], &m[j - 1], &m[0]);
  batch_to_affine(c, ma, m, EC_TABLE_COLS); /* (j+1) P != identity since n is prime */
  memset(acc, 0, sizeof *acc);
  acc->inf = 1;
  for (int i = EC_DIGITS - 1; i >= 0; i--) {
    for (int j = 0; j < 4; j++) jac_double(c, acc, acc);
    jac_add_digit(c, acc, ma, digits[i]);
  }
}

/* Jacobian -> homogeneous projective: (X Z, Y, Z^3) */
static void jac_to_proj(const ec_curve *c, ec_proj *r, const jac *acc) {
  ec_fe z2;
  if (acc->inf) {
    ec_proj_identity(c, r);
    return;
  }
  FMUL(&r->X, &acc->X, &acc->Z);
  r->Y = acc->Y;
  FSQR(&z2, &acc->Z);
  FMUL(&r->Z, &z2, &acc->Z);
}

void ec_mul_point_vartime(const ec_curve *c, ec_proj *r, const ec_affine *p, const int8_t digits[EC_DIGITS]) {
  jac acc;
  mul_point_jac(c, &acc, p, digits);
  jac_to_proj(c, r, &acc);
}

#if EC_COMB_SPACING == 1 /* needs every row of the generator table */
void ec_mul_add_jacobian(const ec_curve *c, ec_proj *r, const int8_t ds[EC_DIGITS], const ec_affine *p,
                         const ec_table *table, const int8_t dt[EC_DIGITS]) {
  jac acc;
  if (table != NULL) {
    memset(&acc, 0, sizeof acc);
    acc.inf = 1;
    for (int i = 0; i < EC_DIGITS; i++) jac_add_digit(c, &acc, table->p[i], dt[i]);
  } else {
    mul_point_jac(c, &acc, p, dt);
  }
  for (int i = 0; i < EC_DIGITS; i++) jac_add_digit(c, &acc, c->g_table[i], ds[i]);
  jac_to_proj(c, r, &acc);
}
#endif

/* Projective point i of the table under construction: X, Y parked in out, Z in scratch. */
static void parked(const ec_table *out, const ec_table_scratch *s, size_t i, ec_proj *p) {
  p->X = out->p[i / EC_TABLE_COLS][i % EC_TABLE_COLS].x;
  p->Y = out->p[i / EC_TABLE_COLS][i % EC_TABLE_COLS].y;
  p->Z = s->z[i];
}

static void park(ec_table *out, ec_table_scratch *s, size_t i, const ec_proj *p) {
  out->p[i / EC_TABLE_COLS][i % EC_TABLE_COLS].x = p->X;
  out->p[i / EC_TABLE_COLS][i % EC_TABLE_COLS].y = p->Y;
  s->z[i] = p->Z;
}

void ec_table_build(const ec_curve *c, const ec_affine *base, ec_table *out, ec_table_scratch *s) {
  const size_t count = (size_t)EC_DIGITS * EC_TABLE_COLS;
  ec_proj b, q, prev;
  ec_proj_from_affine(c, &b, base);
  for (size_t row = 0; row < EC_DIGITS; row++) {
    size_t at = row * EC_TABLE_COLS;
    park(out, s, at, &b);
    ec_proj_double(c, &q, &b);
    park(out, s, at + 1, &q);
    for (size_t j = 2; j < EC_TABLE_COLS; j++) {
      parked(out, s, at + j - 1, &prev);
      ec_proj_add(c, &q, &prev, &b);
      park(out, s, at + j, &q);
    }
    ec_proj_double(c, &b, &q); /* 16 * base */
  }
  /* Montgomery's trick: one inversion for all (no entry is the identity: n is prime). */
  s->prefix[0] = s->z[0];
  for (size_t i = 1; i < count; i++) FMUL(&s->prefix[i], &s->prefix[i - 1], &s->z[i]);
  ec_fe inv, zi;
  ec_inv(&inv, &s->prefix[count - 1], &c->p);
  for (size_t i = count; i-- > 0;) {
    if (i > 0) {
      FMUL(&zi, &inv, &s->prefix[i - 1]);
      FMUL(&inv, &inv, &s->z[i]);
    } else {
      zi = inv;
    }
    ec_affine *dst = &out->p[i / EC_TABLE_COLS][i % EC_TABLE_COLS];
    FMUL(&dst->x, &dst->x, &zi);
    FMUL(&dst->y, &dst->y, &zi);
  }
}
