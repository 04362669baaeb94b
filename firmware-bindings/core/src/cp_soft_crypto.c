/*
 * cp_soft_crypto(): the portable software crypto (protocol/crypto/native/) as the HAL's
 * message-level ops table (cp_hal.h, docs/protocol.md §9): alg 1 = SM2 with SM3 and the default
 * user id, alg 2 = ECDSA P-256 with SHA-256. Stateless: ctx is unused, every call stands alone.
 */
#include "cp_ecdsa.h"
#include "cp_hal.h"
#include "cp_hash.h"
#include "cp_sm2.h"

/* The crypto asks for bytes through ec_rng_fn; ctx is a copy of the board's cp_rng. */
static int rng_fill(void *ctx, uint8_t *buf, size_t n) {
  const cp_rng *rng = (const cp_rng *)ctx;
  return rng->fill != NULL && rng->fill(rng->ctx, buf, n) == CP_OK;
}

static cp_result result_of(int ec) {
  switch (ec) {
    case EC_OK:
      return CP_OK;
    case EC_RNG_FAILED:
      return CP_RNG_FAILED;
    default: /* a private key out of range (EC_BAD_NONCE needs a fixed k, never used here) */
      return CP_CRYPTO_FAILED;
  }
}

static cp_result soft_digest(void *ctx, uint32_t alg, const uint8_t *msg, size_t len, uint8_t out[32]) {
  (void)ctx;
  if ((msg == NULL && len > 0) || out == NULL) return CP_BAD_ARG;
  if (alg == CP_ALG_SM2_SM3) {
    cp_sm3(msg, len, out);
    return CP_OK;
  }
  if (alg == CP_ALG_P256_SHA256) {
    cp_sha256(msg, len, out);
    return CP_OK;
  }
  return CP_BAD_ARG;
}

static cp_result soft_keygen(void *ctx, uint32_t alg, const cp_rng *rng, uint8_t priv[32], uint8_t pub[65]) {
  cp_rng copy;
  (void)ctx;
  if (rng == NULL || priv == NULL || pub == NULL) return CP_BAD_ARG;
  copy = *rng;
  if (alg == CP_ALG_SM2_SM3) return result_of(cp_sm2_keygen(rng_fill, &copy, priv, pub));
  if (alg == CP_ALG_P256_SHA256) return result_of(cp_p256_keygen(rng_fill, &copy, priv, pub));
  return CP_BAD_ARG;
}

static cp_result soft_sign(void *ctx, uint32_t alg, const uint8_t priv[32], const uint8_t pub[65],
                           const uint8_t *msg, size_t len, const cp_rng *rng, uint8_t sig[64]) {
  cp_rng copy;
  ec_affine unused;
  (void)ctx;
  if (priv == NULL || rng == NULL || sig == NULL || (msg == NULL && len > 0)) return CP_BAD_ARG;
  copy = *rng;
  if (alg == CP_ALG_SM2_SM3) {
    /* pub only enters Z_A; a damaged stored key would make every signature unverifiable */
    if (pub == NULL || !cp_sm2_decode_public(pub, &unused)) return CP_CRYPTO_FAILED;
    return result_of(cp_sm2_sign(priv, pub, msg, len, rng_fill, &copy, sig));
  }
  if (alg == CP_ALG_P256_SHA256) return result_of(cp_p256_sign(priv, msg, len, rng_fill, &copy, sig));
  return CP_BAD_ARG;
}

static cp_result soft_verify(void *ctx, uint32_t alg, const uint8_t pub[65], const uint8_t *msg, size_t len,
                             const uint8_t sig[64]) {
  int ok;
  (void)ctx;
  if (pub == NULL || sig == NULL || (msg == NULL && len > 0)) return CP_BAD_ARG;
  if (alg == CP_ALG_SM2_SM3)
    ok = cp_sm2_verify(pub, msg, len, sig);
  else if (alg == CP_ALG_P256_SHA256)
    ok = cp_p256_verify(pub, msg, len, sig);
  else
    return CP_BAD_ARG;
  return ok ? CP_OK : CP_CRYPTO_FAILED;
}

static const cp_crypto_ops SOFT_CRYPTO = {NULL, soft_digest, soft_keygen, soft_sign, soft_verify};

const cp_crypto_ops *cp_soft_crypto(void) { return &SOFT_CRYPTO; }
