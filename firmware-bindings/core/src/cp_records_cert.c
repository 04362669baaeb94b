/*
 * cardpost firmware: the envelope (§7.1) and certificates (§7.3), as protocol/record/envelope.ts
 * and certificate.ts decode and verify them on a card (no clock: dates are not compared with now).
 */
#include <string.h>

#include "cp_records.h"

const cp_crypto_ops *cp_crypto_of(const cp_hal *hal) { return hal->crypto != NULL ? hal->crypto : cp_soft_crypto(); }

static int known_algorithm(uint64_t alg) { return alg == CP_ALG_SM2_SM3 || alg == CP_ALG_P256_SHA256; }

int cp_envelope_open(const uint8_t *bytes, size_t len, uint64_t type, cp_envelope *env, cp_cbor_map *fields) {
  cp_cbor_map outer;
  size_t sig_len = 0;
  uint64_t got = 0;
  if (len > CP_MAX_ENVELOPE || cp_cbor_check(bytes, len, CP_CBOR_MAX_DEPTH, NULL) != CP_CBOR_OK) return 0;
  cp_cbor_map_open(&outer, bytes, len);
  cp_cbor_map_bytes(&outer, 1, NULL, 1, CP_CBOR_NO_MAX, &env->body, &env->body_len);
  cp_cbor_map_bytes(&outer, 2, NULL, 64, 64, &env->sig, &sig_len);
  if (cp_cbor_map_done(&outer, 0) != CP_CBOR_OK) return 0;
  if (cp_cbor_check(env->body, env->body_len, CP_CBOR_MAX_DEPTH, NULL) != CP_CBOR_OK) return 0;
  if (cp_cbor_map_open(fields, env->body, env->body_len) != CP_CBOR_OK) return 0;
  if (cp_cbor_map_uint(fields, 0, NULL, 0, CP_CBOR_SAFE_MAX, &got) != CP_CBOR_OK) return 0;
  return got == type;
}

cp_result cp_suite_hash(const cp_hal *hal, uint8_t alg, const uint8_t *data, size_t len, uint8_t out[32]) {
  const cp_crypto_ops *ops = cp_crypto_of(hal);
  return ops->digest(ops->ctx, alg, data, len, out);
}

cp_result cp_envelope_verify(const cp_hal *hal, uint8_t alg, const uint8_t pub[65], const cp_envelope *env, int *ok) {
  const cp_crypto_ops *ops = cp_crypto_of(hal);
  cp_result r;
  *ok = 0;
  if (!known_algorithm(alg)) return CP_OK;
  r = ops->verify(ops->ctx, alg, pub, env->body, env->body_len, env->sig);
  if (r == CP_OK) *ok = 1;
  /* A key or signature the crypto refuses is "does not verify", as verifyEnvelope's false. */
  return r == CP_OK || r == CP_CRYPTO_FAILED || r == CP_BAD_ARG ? CP_OK : r;
}

/* readLimits: every field required, nothing else. */
static void read_limits(cp_cbor_map *parent, cp_cbor_map *m, cp_limits *l) {
  cp_cbor_map_uint(m, 1, NULL, 0, CP_MAX_AMOUNT, &l->per_transaction);
  cp_cbor_map_uint(m, 2, NULL, 0, CP_MAX_AMOUNT, &l->no_pin);
  cp_cbor_map_uint(m, 3, NULL, 0, CP_MAX_AMOUNT, &l->offline_amount);
  cp_cbor_map_uint(m, 4, NULL, 0, CP_MAX_COUNTER, &l->offline_count);
  cp_cbor_map_uint(m, 5, NULL, 0, CP_MAX_AMOUNT, &l->max_balance);
  if (cp_cbor_map_done(m, 0) != CP_CBOR_OK) parent->err = m->err;
}

int cp_cert_decode(const uint8_t *bytes, size_t len, cp_cert *c) {
  cp_cbor_map r, limits;
  uint64_t version = 0, kind = 0, alg = 0, currency = 0;
  uint8_t has_limits = 0, has_currency = 0;
  size_t n = 0;
  memset(c, 0, sizeof *c);
  if (!cp_envelope_open(bytes, len, CP_BODY_CERTIFICATE, &c->env, &r)) return 0;
  if (cp_cbor_map_uint(&r, 1, NULL, 0, CP_CBOR_SAFE_MAX, &version) != CP_CBOR_OK || version != 1) return 0;
  {
    const uint8_t *serial = NULL;
    cp_cbor_map_bytes(&r, 2, NULL, 1, 20, &serial, &n);
  }
  cp_cbor_map_bytes(&r, 3, NULL, 8, 8, &c->issuer_key_id, &n);
  cp_cbor_map_uint(&r, 4, NULL, 1, 5, &kind);
  cp_cbor_map_bytes(&r, 5, NULL, 1, 32, &c->subject, &c->subject_len);
  cp_cbor_map_uint(&r, 6, NULL, 1, 255, &alg);
  cp_cbor_map_bytes(&r, 7, NULL, 65, 65, &c->pub, &n);
  cp_cbor_map_uint(&r, 8, NULL, 0, CP_MAX_AMOUNT, &c->not_before);
  cp_cbor_map_uint(&r, 9, NULL, 0, CP_MAX_AMOUNT, &c->not_after);
  cp_cbor_map_map(&r, 10, &has_limits, &limits);
  cp_cbor_map_uint(&r, 11, &has_currency, 1, 999, &currency);
  if (cp_cbor_map_done(&r, 0) != CP_CBOR_OK || !known_algorithm(alg)) return 0;
  c->kind = (uint8_t)kind;
  c->algorithm = (uint8_t)alg;
  if (kind == CP_CERT_CARD) {
    if (!has_limits || !has_currency || c->subject_len != 8) return 0;
    read_limits(&r, &limits, &c->limits);
    if (r.err != CP_CBOR_OK) return 0;
    c->has_limits = 1;
    c->currency = (uint16_t)currency;
  } else if (has_limits || has_currency) {
    return 0;
  }
  return c->not_after >= c->not_before;
}

cp_result cp_cert_verify(const cp_hal *hal, const cp_cert *cert, const cp_cert *issuer, uint8_t kind, int *ok) {
  uint8_t h[32];
  cp_result r;
  *ok = 0;
  if (issuer->kind != CP_CERT_ISSUER_CA) return CP_OK;
  if ((r = cp_suite_hash(hal, issuer->algorithm, issuer->pub, 65, h)) != CP_OK) return r;
  if (memcmp(h, cert->issuer_key_id, 8) != 0) return CP_OK;
  if ((r = cp_envelope_verify(hal, issuer->algorithm, issuer->pub, &cert->env, ok)) != CP_OK || !*ok) return r;
  /* A CA cannot vouch beyond its own life: checked without a clock. */
  *ok = cert->kind == kind && cert->not_before >= issuer->not_before && cert->not_after <= issuer->not_after;
  return CP_OK;
}
