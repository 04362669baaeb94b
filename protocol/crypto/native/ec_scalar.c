/* Scalars and base-point results shared by SM2 and ECDSA signing (ec_point.h). */
#include "ec_ct.h"
#include "ec_point.h"

#include <string.h>

ec_limb ec_scalar_ok(const ec_curve *c, const ec_fe *k, unsigned below) {
  ec_fe bound = c->n.m; /* k < n - below; the low limb of n is far above 1 */
  bound.v[0] -= below;
  return ~ec_is_zero_mask(k) & ec_lt_mask(k, &bound);
}

int ec_random_scalar(const ec_curve *c, unsigned below, ec_rng_fn rng, void *rng_ctx, uint8_t kbytes[32]) {
  ec_fe k;
  /* n > 2^255 and n - 2^256 is tiny, so a candidate is rejected with probability < 2^-31 */
  for (int attempt = 0; attempt < 64; attempt++) {
    if (!rng(rng_ctx, kbytes, 32)) break;
    ec_from_be(&k, kbytes);
    ec_limb ok = ec_scalar_ok(c, &k, below);
    ec_wipe(&k, sizeof k);
    EC_DECLASSIFY(&ok, sizeof ok); /* only says whether a discarded candidate was in range */
    if (ok) return EC_OK;
  }
  ec_wipe(kbytes, 32);
  return EC_RNG_FAILED;
}

void ec_base_x_mod_n(const ec_curve *c, ec_fe *x, const uint8_t k[32]) {
  ec_proj R;
  ec_mul_base_ct(c, &R, k);
  (void)ec_proj_to_affine(c, x, NULL, &R); /* k in [1, n-1]: never the identity */
  ec_reduce_once(x, x, &c->n);             /* x < p < 2n */
  ec_wipe(&R, sizeof R);
}

int ec_public_of(const ec_curve *c, const uint8_t k[32], uint8_t pub[65]) {
  ec_proj P;
  ec_fe x, y;
  ec_mul_base_ct(c, &P, k);
  ec_limb finite = ec_proj_to_affine(c, &x, &y, &P);
  ec_encode_point(pub, &x, &y);
  EC_DECLASSIFY(pub, 65);
  EC_DECLASSIFY(&finite, sizeof finite);
  ec_wipe(&P, sizeof P);
  if (!finite) memset(pub, 0, 65);
  return finite != 0;
}

int ec_private_key_ok(const ec_curve *c, unsigned below, const uint8_t dbytes[32]) {
  ec_fe d;
  ec_from_be(&d, dbytes);
  ec_limb ok = ec_scalar_ok(c, &d, below);
  ec_wipe(&d, sizeof d);
  EC_DECLASSIFY(&ok, sizeof ok); /* a bad key is refused: that fact is public */
  return ok != 0;
}

int ec_public_from_private(const ec_curve *c, unsigned below, const uint8_t d[32], uint8_t pub[65]) {
  if (!ec_private_key_ok(c, below, d)) return EC_BAD_KEY;
  return ec_public_of(c, d, pub) ? EC_OK : EC_BAD_KEY;
}

int ec_keygen(const ec_curve *c, unsigned below, ec_rng_fn rng, void *rng_ctx, uint8_t d[32], uint8_t pub[65]) {
  int rc = ec_random_scalar(c, below, rng, rng_ctx, d);
  if (rc != EC_OK) return rc;
  return ec_public_of(c, d, pub) ? EC_OK : EC_BAD_KEY;
}
