/*
 * Host-only SM2 verification (ec_verify_sm2.c): variable time, public data only.
 *
 * CP_SM2_FAST_VERIFY selects it at compile time. It is on by default on x86-64 with the 64-bit limb
 * path (the Node addons, the 64-bit C test builds; binding.gyp sets it explicitly for x64), where
 * its carry chains compile to adc/sbb; other 64-bit hosts may set it (ec_sm2p_fast.h has portable
 * carries, correct but not tuned). Impossible with CP_LIMB32: its generator table (64 KB) and
 * inlined arithmetic are not for the Cortex-M4 image, which keeps the comb of ec_mul.c.
 */
#ifndef CP_EC_VERIFY_SM2_H
#define CP_EC_VERIFY_SM2_H

#include "ec_point.h"

#ifndef CP_SM2_FAST_VERIFY
#if !defined(CP_LIMB32) && defined(__x86_64__) && defined(__GNUC__)
#define CP_SM2_FAST_VERIFY 1
#else
#define CP_SM2_FAST_VERIFY 0
#endif
#endif
#if CP_SM2_FAST_VERIFY && defined(CP_LIMB32)
#error "CP_SM2_FAST_VERIFY needs the 64-bit limb path"
#endif

#if CP_SM2_FAST_VERIFY

#if defined(__GNUC__)
#pragma GCC visibility push(hidden) /* see ec_field.h */
#endif

/* GB/T 32918.2 §7.1 B1-B7 on sm2p256v1 for the digest e; table (P's per-key table) may be NULL.
 * 1 iff valid. Same answers as the portable path of cp_sm2.c. */
int ec_sm2_verify_fast(const ec_affine *p, const ec_table *table, const uint8_t e[32], const uint8_t sig[64]);
/* r = s*G + t*P for any 256-bit s, t (the test hook cp_sm2_mul_add). */
void ec_sm2_mul_add_fast(ec_proj *r, const uint8_t s[32], const ec_affine *p, const ec_table *table,
                         const uint8_t t[32]);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
#endif
