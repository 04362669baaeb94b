/*
 * Montgomery multiplication (CIOS: interleaved multiply and reduce), one version per limb path.
 * Inputs < m, output < m, r may alias a or b. The final subtraction is by mask.
 *
 * 64-bit path: the bodies of ec_field_arith.h, one instance per curve modulus with its limbs as
 * constants (the original sm2p256.c did the same: about 1.4x faster than a loop over an array).
 * 32-bit path: plain loops over 8 limbs with 32x32->64 products (UMULL/UMLAL on Cortex-M4, whose
 * timing does not depend on the operands; on Cortex-M3 it does, see docs/firmware.md).
 */
#include "ec_field_arith.h"

#ifndef CP_LIMB32

#include "ec_moduli.h"

EC_MONT_SPECIALISE(sm2p, EC_SM2P256_P_W64)
EC_MONT_SPECIALISE(sm2n, EC_SM2P256_N_W64)
EC_MONT_SPECIALISE(p256p, EC_P256_P_W64)
EC_MONT_SPECIALISE(p256n, EC_P256_N_W64)

/* The kind is a property of the (public) modulus: a predictable branch, never a secret one. */
void ec_mul(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) {
  switch (M->kind) {
    case EC_MOD_SM2P256_P:
      ec_mul_sm2p(r, a, b);
      return;
    case EC_MOD_SM2P256_N:
      ec_mul_sm2n(r, a, b);
      return;
    case EC_MOD_P256_P:
      ec_mul_p256p(r, a, b);
      return;
    case EC_MOD_P256_N:
      ec_mul_p256n(r, a, b);
      return;
    default:
      ec_mul_fast(r, a, b, M);
  }
}

void ec_sqr(ec_fe *r, const ec_fe *a, const ec_mod *M) {
  switch (M->kind) {
    case EC_MOD_SM2P256_P:
      ec_sqr_sm2p(r, a);
      return;
    case EC_MOD_SM2P256_N:
      ec_sqr_sm2n(r, a);
      return;
    case EC_MOD_P256_P:
      ec_sqr_p256p(r, a);
      return;
    case EC_MOD_P256_N:
      ec_sqr_p256n(r, a);
      return;
    default:
      ec_sqr_fast(r, a, M);
  }
}

void ec_add(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) { ec_add_fast(r, a, b, M); }
void ec_sub(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) { ec_sub_fast(r, a, b, M); }

#else /* CP_LIMB32 */

void ec_mul(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M) {
  uint32_t t[EC_LIMBS + 2] = {0};
  for (int i = 0; i < EC_LIMBS; i++) {
    const uint32_t bi = b->v[i];
    uint64_t x, c = 0;
    for (int j = 0; j < EC_LIMBS; j++) { /* t += a * bi; each step < 2^64 */
      x = (uint64_t)a->v[j] * bi + t[j] + c;
      t[j] = (uint32_t)x;
      c = x >> 32;
    }
    x = (uint64_t)t[EC_LIMBS] + c;
    t[EC_LIMBS] = (uint32_t)x;
    t[EC_LIMBS + 1] = (uint32_t)(x >> 32);
    const uint32_t q = t[0] * M->minv; /* makes the low limb vanish */
    x = (uint64_t)q * M->m.v[0] + t[0];
    c = x >> 32;
    for (int j = 1; j < EC_LIMBS; j++) { /* t = (t + q * m) / 2^32 */
      x = (uint64_t)q * M->m.v[j] + t[j] + c;
      t[j - 1] = (uint32_t)x;
      c = x >> 32;
    }
    x = (uint64_t)t[EC_LIMBS] + c;
    t[EC_LIMBS - 1] = (uint32_t)x;
    t[EC_LIMBS] = t[EC_LIMBS + 1] + (uint32_t)(x >> 32);
  }
  /* t[8]:t[0..7] < 2m */
  ec_fe d;
  uint32_t borrow = 0;
  for (int i = 0; i < EC_LIMBS; i++) {
    uint64_t x = (uint64_t)t[i] - M->m.v[i] - borrow;
    d.v[i] = (uint32_t)x;
    borrow = (uint32_t)(x >> 32) & 1;
  }
  const uint32_t keep = 0 - ((uint32_t)(t[EC_LIMBS] - borrow) >> 31);
  for (int i = 0; i < EC_LIMBS; i++) r->v[i] = (t[i] & keep) | (d.v[i] & ~keep);
}

#endif

#ifdef CP_LIMB32
void ec_sqr(ec_fe *r, const ec_fe *a, const ec_mod *M) { ec_mul(r, a, a, M); }
#endif
