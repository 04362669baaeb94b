/*
 * Arithmetic modulo a 256-bit odd modulus m > 2^255 (the field p and the group order n of
 * sm2p256v1 and P-256), in Montgomery form with R = 2^256.
 *
 * Two limb paths, chosen at compile time:
 *  - 4 x 64-bit limbs with unsigned __int128 products (64-bit GCC/Clang hosts, the Node addon);
 *  - 8 x 32-bit limbs with uint64_t products only (CP_LIMB32, and any compiler without
 *    __int128, e.g. arm-none-eabi-gcc for Cortex-M4).
 * R is 2^256 in both, so a value in Montgomery form has the same bits in either path and one
 * generated table (EC_FE of 32-bit words) serves both.
 *
 * Every function here is constant time in its operands (masks, no data-dependent branches or
 * indices), except ec_pow/ec_inv, whose *exponent* is public (m - 2).
 */
#ifndef CP_EC_FIELD_H
#define CP_EC_FIELD_H

#include <stddef.h>
#include <stdint.h>

/* Internal to the crypto: hidden from a shared object's symbol table, so calls between its files
 * bind directly (no PLT) in the Node addons. */
#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

#if !defined(CP_LIMB32) && !defined(__SIZEOF_INT128__)
#define CP_LIMB32 1
#endif

#ifdef CP_LIMB32
typedef uint32_t ec_limb;
typedef uint64_t ec_dlimb;
#define EC_LIMBS 8
#define EC_LIMB_BITS 32
#define EC_FE(w0, w1, w2, w3, w4, w5, w6, w7) \
  {                                           \
    { w0, w1, w2, w3, w4, w5, w6, w7 }        \
  }
#define EC_MINV(lo, hi) (lo)
#else
typedef uint64_t ec_limb;
__extension__ typedef unsigned __int128 ec_dlimb;
#define EC_LIMBS 4
#define EC_LIMB_BITS 64
#define EC_W64(lo, hi) ((uint64_t)(lo) | ((uint64_t)(hi) << 32))
#define EC_FE(w0, w1, w2, w3, w4, w5, w6, w7)                            \
  {                                                                     \
    { EC_W64(w0, w1), EC_W64(w2, w3), EC_W64(w4, w5), EC_W64(w6, w7) } \
  }
#define EC_MINV(lo, hi) EC_W64(lo, hi)
#endif

/* A 256-bit value, little-endian limbs. */
typedef struct {
  ec_limb v[EC_LIMBS];
} ec_fe;

/* A modulus and its Montgomery constants (generated: ec_*_table.h). */
typedef struct {
  ec_fe m;         /* the modulus */
  ec_fe rr;        /* R^2 mod m */
  ec_fe one;       /* R mod m: 1 in Montgomery form */
  ec_fe m_minus_2; /* Fermat exponent for inversion */
  ec_limb minv;    /* -m^-1 mod 2^EC_LIMB_BITS */
  unsigned kind;   /* EC_MOD_* of ec_moduli.h: which specialised multiplication (64-bit path) */
} ec_mod;

/* Bytes (32, big-endian) <-> plain integer. */
void ec_from_be(ec_fe *r, const uint8_t b[32]);
void ec_to_be(uint8_t b[32], const ec_fe *a);

/* Masks: all-ones or zero. */
ec_limb ec_is_zero_mask(const ec_fe *a);
ec_limb ec_lt_mask(const ec_fe *a, const ec_fe *b); /* a < b as integers */
ec_limb ec_eq_mask(const ec_fe *a, const ec_fe *b);
void ec_cmov(ec_fe *r, const ec_fe *a, ec_limb mask); /* r = mask ? a : r */

/* r = a mod m for a < 2m (one conditional subtraction by mask). */
void ec_reduce_once(ec_fe *r, const ec_fe *a, const ec_mod *M);
/* r = a + 1 as a 256-bit integer (caller knows it does not overflow). */
void ec_add_one(ec_fe *r, const ec_fe *a);

/* Modular arithmetic, inputs < m, output < m; r may alias the inputs. */
void ec_add(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M);
void ec_sub(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M);
void ec_neg(ec_fe *r, const ec_fe *a, const ec_mod *M);
/* r = a * b / R mod m (ec_field_mul.c, one per limb path). */
void ec_mul(ec_fe *r, const ec_fe *a, const ec_fe *b, const ec_mod *M);
void ec_sqr(ec_fe *r, const ec_fe *a, const ec_mod *M);

void ec_to_mont(ec_fe *r, const ec_fe *a, const ec_mod *M);
void ec_from_mont(ec_fe *r, const ec_fe *a, const ec_mod *M);
/* r = a^-1 (Montgomery form in and out) by Fermat; a^-1 of 0 is 0. m must be prime. */
void ec_inv(ec_fe *r, const ec_fe *a, const ec_mod *M);

/* Clears secrets; volatile so the compiler cannot drop it as a dead store. */
void ec_wipe(void *p, size_t n);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
