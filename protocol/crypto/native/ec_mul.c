/*
 * Fixed-base scalar multiplication with the generated comb table (ec_curve.h).
 *
 * k = sum d_i 16^i with signed digits d_i in [-8, 8] (recoding is branch-free). With table rows
 * T_j = {m * 16^(jS) * G : m = 1..8} for spacing S:
 *     k*G = sum_{t=S-1..0} 16^t * sum_j d_{jS+t} * T_j
 * evaluated by Horner over t (4 doublings between passes). Secret k (ct): every row is scanned
 * in full and the entry picked with masks, its sign applied with a mask, and a zero digit's
 * addition computed and then discarded with a masked move. Public k (vartime): direct indexing.
 */
#include "ec_field_arith.h"
#include "ec_point.h"

#include <string.h>

/* k (big-endian, any 256-bit value) = sum digits[i] * 16^i, digits[0..63] in [-8, 7],
 * digits[64] in {0, 1}. Constant time. */
void ec_recode(int8_t digits[EC_DIGITS], const uint8_t k[32]) {
  uint32_t carry = 0;
  for (int i = 0; i < EC_DIGITS - 1; i++) {
    uint32_t byte = k[31 - i / 2];
    uint32_t d = ((i & 1) ? (byte >> 4) : byte) & 15;
    d += carry;
    carry = (d + 8) >> 4;
    digits[i] = (int8_t)((int32_t)d - (int32_t)(carry << 4));
  }
  digits[EC_DIGITS - 1] = (int8_t)carry;
}

/* all-ones if a == b (small values) */
static ec_limb small_eq_mask(uint32_t a, uint32_t b) {
  uint32_t x = a ^ b;
  return (ec_limb)0 - (ec_limb)(((x | (0u - x)) >> 31) ^ 1u);
}

/* *out = |digit| * (row base), negated if digit < 0, reading every entry of the row.
 * Returns all-ones if digit != 0 (out is garbage (0, 0) when digit == 0). */
static ec_limb select_ct(const ec_curve *c, ec_affine *out, const ec_affine row[EC_TABLE_COLS], int8_t digit) {
  uint32_t neg = (uint32_t)(int32_t)digit >> 31;
  uint32_t abs = ((uint32_t)(int32_t)digit ^ (0u - neg)) + neg;
  ec_fe ny;
  memset(out, 0, sizeof *out);
  for (uint32_t j = 0; j < EC_TABLE_COLS; j++) {
    ec_limb m = small_eq_mask(abs, j + 1);
    ec_cmov_fast(&out->x, &row[j].x, m);
    ec_cmov_fast(&out->y, &row[j].y, m);
  }
  ec_neg(&ny, &out->y, &c->p);
  ec_cmov(&out->y, &ny, (ec_limb)0 - (ec_limb)neg);
  return ~small_eq_mask(abs, 0);
}

void ec_mul_base_ct(const ec_curve *c, ec_proj *r, const uint8_t k[32]) {
  int8_t digits[EC_DIGITS];
  ec_proj acc, sum;
  ec_affine e;
  ec_recode(digits, k);
  ec_proj_identity(c, &acc);
  for (int t = EC_COMB_SPACING - 1; t >= 0; t--) {
    if (t != EC_COMB_SPACING - 1)
      for (int i = 0; i < 4; i++) ec_proj_double(c, &acc, &acc);
    for (int j = 0; j * EC_COMB_SPACING + t < EC_DIGITS; j++) {
#if defined(CT_SELFTEST_LEAK) && CT_SELFTEST_LEAK == 1 /* planted leak: skip zero digits (a branch) */
      if (digits[j * EC_COMB_SPACING + t] == 0) continue;
#elif defined(CT_SELFTEST_LEAK) && CT_SELFTEST_LEAK == 2 /* planted leak: a secret table index */
      volatile ec_limb sink = c->g_table[j][digits[j * EC_COMB_SPACING + t] & 7].x.v[0];
      (void)sink;
#endif
      ec_limb nonzero = select_ct(c, &e, c->g_table[j], digits[j * EC_COMB_SPACING + t]);
      ec_proj_add_affine(c, &sum, &acc, &e);
      ec_proj_cmov(&acc, &sum, nonzero);
    }
  }
  *r = acc;
  ec_wipe(digits, sizeof digits);
  ec_wipe(&sum, sizeof sum);
  ec_wipe(&e, sizeof e);
  ec_wipe(&acc, sizeof acc);
}

#if EC_COMB_SPACING != 1
/* acc += digit * (row base); public digit. */
static void add_digit_vartime(const ec_curve *c, ec_proj *acc, const ec_affine row[EC_TABLE_COLS], int digit) {
  if (digit == 0) return;
  ec_affine e = row[(digit < 0 ? -digit : digit) - 1];
  if (digit < 0) ec_neg(&e.y, &e.y, &c->p);
  ec_proj_add_affine(c, acc, acc, &e);
}

/* r = k * G, k public. */
static void mul_base_vartime(const ec_curve *c, ec_proj *r, const uint8_t k[32]) {
  int8_t digits[EC_DIGITS];
  ec_recode(digits, k);
  ec_proj_identity(c, r);
  for (int t = EC_COMB_SPACING - 1; t >= 0; t--) {
    if (t != EC_COMB_SPACING - 1)
      for (int i = 0; i < 4; i++) ec_proj_double(c, r, r);
    for (int j = 0; j * EC_COMB_SPACING + t < EC_DIGITS; j++)
      add_digit_vartime(c, r, c->g_table[j], digits[j * EC_COMB_SPACING + t]);
  }
}

/* r = k * P from P's full per-key table, k public. */
static void mul_table_vartime(const ec_curve *c, ec_proj *r, const ec_table *tab, const uint8_t k[32]) {
  int8_t digits[EC_DIGITS];
  ec_recode(digits, k);
  ec_proj_identity(c, r);
  for (int i = 0; i < EC_DIGITS; i++) add_digit_vartime(c, r, tab->p[i], digits[i]);
}
#endif

void ec_mul_add_vartime(const ec_curve *c, ec_proj *r, const uint8_t s[32], const ec_affine *p,
                        const ec_table *table, const uint8_t t[32]) {
#if EC_COMB_SPACING == 1
  /* a comb without doublings: every digit of s is one affine addition, which ec_mul_var.c
   * folds into the Jacobian accumulator of t*P (cheaper than the complete formulas) */
  int8_t ds[EC_DIGITS], dt[EC_DIGITS];
  ec_recode(ds, s);
  ec_recode(dt, t);
  ec_mul_add_jacobian(c, r, ds, p, table, dt);
#else
  ec_proj tp;
  mul_base_vartime(c, r, s);
  if (table != NULL) {
    mul_table_vartime(c, &tp, table, t);
  } else {
    int8_t digits[EC_DIGITS];
    ec_recode(digits, t);
    ec_mul_point_vartime(c, &tp, p, digits);
  }
  ec_proj_add(c, r, r, &tp);
#endif
}
