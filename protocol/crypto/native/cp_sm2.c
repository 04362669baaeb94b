/* SM2 signatures on sm2p256v1 (cp_sm2.h). */
#include "cp_sm2.h"

#include <string.h>

#include "cp_hash.h"
#include "ec_ct.h"
#include "ec_verify_sm2.h"

/* Keys in [1, n - 2] (GB/T 32918.1: d = n - 1 has no (1 + d)^-1). */
int cp_sm2_private_key_ok(const uint8_t d[32]) { return ec_private_key_ok(ec_sm2p256(), 1, d); }

int cp_sm2_public_from_private(const uint8_t d[32], uint8_t pub[65]) {
  return ec_public_from_private(ec_sm2p256(), 1, d, pub);
}

int cp_sm2_keygen(ec_rng_fn rng, void *rng_ctx, uint8_t d[32], uint8_t pub[65]) {
  return ec_keygen(ec_sm2p256(), 1, rng, rng_ctx, d, pub);
}

int cp_sm2_sign_digest(const uint8_t dbytes[32], const uint8_t ebytes[32], const uint8_t *fixed_k, ec_rng_fn rng,
                       void *rng_ctx, uint8_t sig[64]) {
  const ec_curve *c = ec_sm2p256();
  const ec_mod *N = &c->n;
  int result = EC_RNG_FAILED;
  uint8_t kbytes[32];
  ec_fe d, dm, inv, e, k, km, x1, r, rm, rk, t, s;
  if (!cp_sm2_private_key_ok(dbytes)) return EC_BAD_KEY;
  ec_from_be(&d, dbytes);
  ec_from_be(&e, ebytes);
  ec_reduce_once(&e, &e, N); /* e < 2^256 < 2n */
  ec_to_mont(&dm, &d, N);
  ec_add_one(&t, &d); /* d + 1 <= n - 1: no overflow, invertible */
  ec_to_mont(&t, &t, N);
  ec_inv(&inv, &t, N); /* (1 + d)^-1, Montgomery form */
  for (int attempt = 0; attempt < 64; attempt++) {
    if (fixed_k != NULL) {
      memcpy(kbytes, fixed_k, 32);
      ec_from_be(&k, kbytes);
      ec_limb ok = ec_scalar_ok(c, &k, 0);
      EC_DECLASSIFY(&ok, sizeof ok);
      if (!ok) {
        result = EC_BAD_NONCE;
        break;
      }
    } else {
      if (ec_random_scalar(c, 0, rng, rng_ctx, kbytes) != EC_OK) break;
      ec_from_be(&k, kbytes);
    }
    ec_base_x_mod_n(c, &x1, kbytes);
    ec_add(&r, &e, &x1, N);  /* r = (e + x1) mod n */
    ec_add(&rk, &r, &k, N);  /* r + k = n  <=>  (r + k) mod n = 0 */
    ec_to_mont(&rm, &r, N);
    ec_to_mont(&km, &k, N);
    ec_mul(&t, &rm, &dm, N);
    ec_sub(&t, &km, &t, N);
    ec_mul(&s, &inv, &t, N); /* s = (1 + d)^-1 (k - r d) */
    ec_from_mont(&s, &s, N);
    ec_limb bad = ec_is_zero_mask(&r) | ec_is_zero_mask(&rk) | ec_is_zero_mask(&s);
    EC_DECLASSIFY(&bad, sizeof bad); /* "try another k" reveals nothing about d */
    if (!bad) {
      ec_to_be(sig, &r);
      ec_to_be(sig + 32, &s);
      EC_DECLASSIFY(sig, 64);
      result = EC_OK;
      break;
    }
    if (fixed_k != NULL) {
      result = EC_BAD_NONCE;
      break;
    }
  }
  ec_wipe(kbytes, sizeof kbytes);
  ec_wipe(&d, sizeof d);
  ec_wipe(&dm, sizeof dm);
  ec_wipe(&inv, sizeof inv);
  ec_wipe(&k, sizeof k);
  ec_wipe(&km, sizeof km);
  ec_wipe(&x1, sizeof x1);
  ec_wipe(&rk, sizeof rk);
  ec_wipe(&t, sizeof t);
  return result;
}

int cp_sm2_decode_public(const uint8_t pub[65], ec_affine *out) { return ec_decode_point(ec_sm2p256(), pub, out); }

void cp_sm2_table_build(const ec_affine *p, ec_table *out, ec_table_scratch *scratch) {
  ec_table_build(ec_sm2p256(), p, out, scratch);
}

int cp_sm2_verify_digest(const ec_affine *p, const ec_table *table, const uint8_t ebytes[32], const uint8_t sig[64]) {
#if CP_SM2_FAST_VERIFY
  return ec_sm2_verify_fast(p, table, ebytes, sig);
#else
  const ec_curve *c = ec_sm2p256();
  const ec_mod *N = &c->n;
  ec_fe r, s, t, e, x1, v;
  uint8_t tbytes[32];
  ec_proj R;
  ec_from_be(&r, sig);
  ec_from_be(&s, sig + 32);
  if (!ec_scalar_ok(c, &r, 0) || !ec_scalar_ok(c, &s, 0)) return 0; /* B1, B2 */
  ec_add(&t, &r, &s, N);                                           /* B5 */
  if (ec_is_zero_mask(&t)) return 0;
  ec_to_be(tbytes, &t);
  ec_mul_add_vartime(c, &R, sig + 32, p, table, tbytes); /* B6: s*G + t*P */
  if (!ec_proj_to_affine(c, &x1, NULL, &R)) return 0;
  ec_from_be(&e, ebytes); /* B7 */
  ec_reduce_once(&e, &e, N);
  ec_reduce_once(&x1, &x1, N);
  ec_add(&v, &e, &x1, N);
  return ec_eq_mask(&v, &r) != 0;
#endif
}

int cp_sm2_mul_add(const uint8_t s[32], const ec_affine *p, const ec_table *table, const uint8_t t[32],
                   uint8_t out[65]) {
  const ec_curve *c = ec_sm2p256();
  ec_proj R;
  ec_fe x, y;
#if CP_SM2_FAST_VERIFY
  ec_sm2_mul_add_fast(&R, s, p, table, t);
#else
  ec_mul_add_vartime(c, &R, s, p, table, t);
#endif
  if (!ec_proj_to_affine(c, &x, &y, &R)) return 0;
  ec_encode_point(out, &x, &y);
  return 1;
}

int cp_sm2_za(const uint8_t pub[65], const uint8_t *id, size_t id_len, uint8_t za[32]) {
  const ec_curve *c = ec_sm2p256();
  uint8_t buf[32];
  ec_fe v;
  cp_hash_ctx h;
  if (id_len > 8191) return 0; /* ENTL_A is the length in bits, 16 bits */
  buf[0] = (uint8_t)(id_len * 8 >> 8);
  buf[1] = (uint8_t)(id_len * 8);
  cp_sm3_init(&h);
  cp_sm3_update(&h, buf, 2);
  cp_sm3_update(&h, id, id_len);
  v = c->p.m; /* a = p - 3 */
  v.v[0] -= 3;
  ec_to_be(buf, &v);
  cp_sm3_update(&h, buf, 32);
  ec_from_mont(&v, &c->b, &c->p);
  ec_to_be(buf, &v);
  cp_sm3_update(&h, buf, 32);
  ec_from_mont(&v, &c->g_table[0][0].x, &c->p); /* row 0, column 0 is G itself */
  ec_to_be(buf, &v);
  cp_sm3_update(&h, buf, 32);
  ec_from_mont(&v, &c->g_table[0][0].y, &c->p);
  ec_to_be(buf, &v);
  cp_sm3_update(&h, buf, 32);
  cp_sm3_update(&h, pub + 1, 64);
  cp_sm3_final(&h, za);
  return 1;
}

void cp_sm2_digest(const uint8_t pub[65], const uint8_t *msg, size_t len, uint8_t e[32]) {
  static const uint8_t DEFAULT_ID[16] = {'1', '2', '3', '4', '5', '6', '7', '8',
                                         '1', '2', '3', '4', '5', '6', '7', '8'};
  uint8_t za[32];
  cp_hash_ctx h;
  (void)cp_sm2_za(pub, DEFAULT_ID, sizeof DEFAULT_ID, za);
  cp_sm3_init(&h);
  cp_sm3_update(&h, za, 32);
  cp_sm3_update(&h, msg, len);
  cp_sm3_final(&h, e);
}

int cp_sm2_sign(const uint8_t d[32], const uint8_t pub[65], const uint8_t *msg, size_t len, ec_rng_fn rng,
                void *rng_ctx, uint8_t sig[64]) {
  uint8_t e[32];
  cp_sm2_digest(pub, msg, len, e);
  return cp_sm2_sign_digest(d, e, NULL, rng, rng_ctx, sig);
}

int cp_sm2_verify(const uint8_t pub[65], const uint8_t *msg, size_t len, const uint8_t sig[64]) {
  ec_affine p;
  uint8_t e[32];
  if (!cp_sm2_decode_public(pub, &p)) return 0;
  cp_sm2_digest(pub, msg, len, e);
  return cp_sm2_verify_digest(&p, NULL, e, sig);
}
