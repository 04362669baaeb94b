/* ECDSA P-256 with SHA-256 (cp_ecdsa.h). */
#include "cp_ecdsa.h"

#include <string.h>

#include "cp_hash.h"
#include "ec_ct.h"

/* Keys in [1, n - 1]. */
int cp_p256_private_key_ok(const uint8_t d[32]) { return ec_private_key_ok(ec_p256(), 0, d); }

int cp_p256_public_from_private(const uint8_t d[32], uint8_t pub[65]) {
  return ec_public_from_private(ec_p256(), 0, d, pub);
}

int cp_p256_keygen(ec_rng_fn rng, void *rng_ctx, uint8_t d[32], uint8_t pub[65]) {
  return ec_keygen(ec_p256(), 0, rng, rng_ctx, d, pub);
}

int cp_p256_sign_digest(const uint8_t dbytes[32], const uint8_t hbytes[32], const uint8_t *fixed_k, ec_rng_fn rng,
                        void *rng_ctx, uint8_t sig[64]) {
  const ec_curve *c = ec_p256();
  const ec_mod *N = &c->n;
  int result = EC_RNG_FAILED;
  uint8_t kbytes[32];
  ec_fe dm, em, k, kinv, r, rm, t, s;
  if (!cp_p256_private_key_ok(dbytes)) return EC_BAD_KEY;
  ec_from_be(&t, dbytes);
  ec_to_mont(&dm, &t, N);
  ec_from_be(&t, hbytes);
  ec_reduce_once(&t, &t, N); /* h < 2^256 < 2n */
  ec_to_mont(&em, &t, N);
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
    ec_base_x_mod_n(c, &r, kbytes); /* r = x1 mod n */
    ec_to_mont(&kinv, &k, N);
    ec_inv(&kinv, &kinv, N); /* Fermat: fixed public exponent, ct in k */
    ec_to_mont(&rm, &r, N);
    ec_mul(&t, &rm, &dm, N);
    ec_add(&t, &t, &em, N);
    ec_mul(&s, &kinv, &t, N); /* s = k^-1 (h + r d) */
    ec_from_mont(&s, &s, N);
    ec_limb bad = ec_is_zero_mask(&r) | ec_is_zero_mask(&s);
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
  ec_wipe(&dm, sizeof dm);
  ec_wipe(&k, sizeof k);
  ec_wipe(&kinv, sizeof kinv);
  ec_wipe(&t, sizeof t);
  return result;
}

int cp_p256_decode_public(const uint8_t pub[65], ec_affine *out) { return ec_decode_point(ec_p256(), pub, out); }

int cp_p256_verify_digest(const ec_affine *p, const uint8_t hbytes[32], const uint8_t sig[64]) {
  const ec_curve *c = ec_p256();
  const ec_mod *N = &c->n;
  ec_fe r, s, w, h, u, x1;
  uint8_t u1[32], u2[32];
  ec_proj R;
  ec_from_be(&r, sig);
  ec_from_be(&s, sig + 32);
  if (!ec_scalar_ok(c, &r, 0) || !ec_scalar_ok(c, &s, 0)) return 0;
  ec_to_mont(&w, &s, N);
  ec_inv(&w, &w, N); /* w = s^-1, Montgomery form */
  ec_from_be(&h, hbytes);
  ec_reduce_once(&h, &h, N);
  ec_mul(&u, &h, &w, N); /* plain h times Montgomery w: plain h w */
  ec_to_be(u1, &u);
  ec_mul(&u, &r, &w, N);
  ec_to_be(u2, &u);
  ec_mul_add_vartime(c, &R, u1, p, NULL, u2); /* u1 G + u2 Q */
  if (!ec_proj_to_affine(c, &x1, NULL, &R)) return 0;
  ec_reduce_once(&x1, &x1, N);
  return ec_eq_mask(&x1, &r) != 0;
}

int cp_p256_sign(const uint8_t d[32], const uint8_t *msg, size_t len, ec_rng_fn rng, void *rng_ctx,
                 uint8_t sig[64]) {
  uint8_t h[32];
  cp_sha256(msg, len, h);
  return cp_p256_sign_digest(d, h, NULL, rng, rng_ctx, sig);
}

int cp_p256_verify(const uint8_t pub[65], const uint8_t *msg, size_t len, const uint8_t sig[64]) {
  ec_affine p;
  uint8_t h[32];
  if (!cp_p256_decode_public(pub, &p)) return 0;
  cp_sha256(msg, len, h);
  return cp_p256_verify_digest(&p, h, sig);
}
