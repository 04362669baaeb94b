/*
 * cardpost firmware: PERSONALIZE_BEGIN and PERSONALIZE_COMMIT (§4.6). BEGIN makes the card's key
 * pair on the card and keeps it with a fresh challenge; COMMIT installs the issuer-signed card
 * certificate, PIN and PUK, all in one transaction.
 */
#include <string.h>

#include "cp_cmd_internal.h"

#define CHALLENGE_LENGTH 16u

cp_result cp_cmd_personalize_begin(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  uint8_t value[CP_PENDING_MAX];
  const uint8_t *card_id = NULL, *issuer_bytes = NULL;
  size_t n = 0, issuer_len = 0;
  uint64_t alg = 0;
  cp_cbor_map m;
  cp_cert issuer;
  cp_pending p;
  uint16_t anchor_len = 0;
  int ok = 0;
  const cp_crypto_ops *ops = cp_crypto_of(c->hal);
  cp_cbor_writer w;
  cp_result r;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_bytes(&m, 1, NULL, 8, 8, &card_id, &n);
  cp_cbor_map_uint(&m, 2, NULL, 1, 255, &alg);
  cp_cbor_map_bytes(&m, 3, NULL, 0, 2048, &issuer_bytes, &issuer_len);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  if (c->lifecycle != CP_LC_BLANK) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  if (alg != CP_ALG_SM2_SM3 && alg != CP_ALG_P256_SHA256) {
    cp_cmd_status(c, ST_INVALID_PARAMETER);
    return CP_OK;
  }
  if (!cp_cert_decode(issuer_bytes, issuer_len, &issuer)) {
    cp_cmd_status(c, ST_CERTIFICATE_INVALID);
    return CP_OK;
  }
  if ((r = cp_cert_verify(c->hal, &issuer, &issuer, CP_CERT_ISSUER_CA, &ok)) != CP_OK) return r;
  /* A card made for an issuer (its CA certificate put in NVM at the factory) takes no other.
   * The anchor is read into the answer buffer, which is free until the answer is written. */
  r = cp_store_get(c->s, CP_KEY_ANCHOR, c->out, CP_STORE_MAX_VALUE, &anchor_len);
  if (r != CP_OK && r != CP_NOT_FOUND && r != CP_TOO_LARGE) return r;
  if (ok && r != CP_NOT_FOUND && (r == CP_TOO_LARGE || !cp_cmd_bytes_equal(c->out, anchor_len, issuer_bytes, issuer_len)))
    ok = 0;
  if (!ok) {
    cp_cmd_status(c, ST_CERTIFICATE_INVALID);
    return CP_OK;
  }
  memset(&p, 0, sizeof p);
  memcpy(p.card_id, card_id, 8);
  p.algorithm = (uint8_t)alg;
  p.issuer = issuer_bytes;
  p.issuer_len = issuer_len;
  if ((r = ops->keygen(ops->ctx, p.algorithm, &c->hal->rng, p.priv, p.pub)) != CP_OK) return r;
  if ((r = c->hal->rng.fill(c->hal->rng.ctx, p.challenge, CHALLENGE_LENGTH)) != CP_OK) return r;
  if ((r = cp_store_begin(c->s)) == CP_OK) r = cp_state_finish(c->s, cp_state_put_pending(c->s, &p, value, sizeof value));
  memset(value, 0, sizeof value);
  memset(p.priv, 0, sizeof p.priv);
  if (r != CP_OK) return r;
  cp_cmd_begin(c, ST_OK, &w);
  cp_cbor_put_map(&w, 2);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_bytes(&w, p.pub, 65);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_bytes(&w, p.challenge, CHALLENGE_LENGTH);
  return cp_cmd_end(c, &w);
}

/* personalizationAuthorisationMessage {1: challenge, 2: certificate, 3: pin, 4: puk}, built in out. */
static size_t authorisation_message(cp_cmd_ctx *c, const cp_pending *p, const uint8_t *cert, size_t cert_len,
                                    const uint8_t *pin, size_t pin_len, const uint8_t *puk, size_t puk_len) {
  cp_cbor_writer w;
  cp_cbor_writer_init(&w, c->out, c->cap);
  cp_cbor_put_map(&w, 4);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_bytes(&w, p->challenge, CHALLENGE_LENGTH);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_bytes(&w, cert, cert_len);
  cp_cbor_put_uint(&w, 3);
  cp_cbor_put_bytes(&w, pin, pin_len);
  cp_cbor_put_uint(&w, 4);
  cp_cbor_put_bytes(&w, puk, puk_len);
  return w.overflow ? 0 : w.len;
}

static cp_result install(cp_cmd_ctx *c, const cp_pending *p, const cp_cert *cert, const uint8_t *cert_bytes,
                         size_t cert_len, const uint8_t *pin, size_t pin_len, const uint8_t *puk, size_t puk_len) {
  cp_identity id;
  cp_secrets sec;
  cp_result r;
  memset(&id, 0, sizeof id);
  memcpy(id.card_id, p->card_id, 8);
  id.algorithm = p->algorithm;
  memcpy(id.priv, p->priv, 32);
  memcpy(id.pub, p->pub, 65);
  id.issuer = p->issuer;
  id.issuer_len = p->issuer_len;
  id.certificate = cert_bytes;
  id.certificate_len = cert_len;
  id.currency = cert->currency;
  id.limits = cert->limits;
  memset(&sec, 0, sizeof sec);
  memcpy(sec.pin, pin, pin_len);
  sec.pin_len = (uint8_t)pin_len;
  memcpy(sec.puk, puk, puk_len);
  sec.puk_len = (uint8_t)puk_len;
  if ((r = cp_store_begin(c->s)) != CP_OK) return r;
  r = cp_state_put_identity(c->s, &id, c->out, CP_IDENTITY_MAX); /* out is scratch until the answer */
  if (r == CP_OK) r = cp_state_put_secrets(c->s, &sec);
  if (r == CP_OK) r = cp_state_put_tries(c->s, CP_KEY_PIN_RETRIES, CP_PIN_TRIES);
  if (r == CP_OK) r = cp_state_put_tries(c->s, CP_KEY_PUK_RETRIES, CP_PUK_TRIES);
  if (r == CP_OK) r = cp_state_put_lifecycle(c->s, CP_LC_PERSONALISED);
  if (r == CP_OK) r = cp_store_remove(c->s, CP_KEY_PERSO);
  memset(id.priv, 0, sizeof id.priv);
  memset(&sec, 0, sizeof sec);
  memset(c->out, 0, CP_IDENTITY_MAX);
  return cp_state_finish(c->s, r);
}

/* COMMIT's checks and install, once the pending personalisation is read (the caller wipes it). */
static cp_result commit_pending(cp_cmd_ctx *c, const cp_pending *p, const uint8_t *cert_bytes, size_t cert_len,
                                const uint8_t *pin, size_t pin_len, const uint8_t *puk, size_t puk_len,
                                const uint8_t *auth) {
  const cp_crypto_ops *ops = cp_crypto_of(c->hal);
  cp_cert issuer, cert;
  size_t msg_len;
  int ok = 0;
  cp_result r;
  if (!cp_cert_decode(p->issuer, p->issuer_len, &issuer)) return CP_CORRUPT;
  msg_len = authorisation_message(c, p, cert_bytes, cert_len, pin, pin_len, puk, puk_len);
  if (msg_len == 0) return CP_TOO_LARGE;
  /* A raw signature over the message, not an envelope: a key or signature the crypto refuses is "invalid". */
  r = ops->verify(ops->ctx, issuer.algorithm, issuer.pub, c->out, msg_len, auth);
  if (r != CP_OK && r != CP_CRYPTO_FAILED && r != CP_BAD_ARG) return r;
  if (r != CP_OK) {
    cp_cmd_status(c, ST_AUTHORISATION_INVALID);
    return CP_OK;
  }
  if (!cp_cmd_digits(pin, pin_len, 4, 12) || !cp_cmd_digits(puk, puk_len, 8, 12)) {
    cp_cmd_status(c, ST_PIN_FORMAT);
    return CP_OK;
  }
  if (cp_cert_decode(cert_bytes, cert_len, &cert) &&
      (r = cp_cert_verify(c->hal, &cert, &issuer, CP_CERT_CARD, &ok)) != CP_OK)
    return r;
  ok = ok && cp_cmd_bytes_equal(cert.subject, cert.subject_len, p->card_id, 8) && memcmp(cert.pub, p->pub, 65) == 0 &&
       cert.algorithm == p->algorithm && cert.has_limits;
  if (!ok) {
    cp_cmd_status(c, ST_CERTIFICATE_INVALID);
    return CP_OK;
  }
  if ((r = install(c, p, &cert, cert_bytes, cert_len, pin, pin_len, puk, puk_len)) == CP_OK) cp_cmd_status(c, ST_OK);
  return r;
}

cp_result cp_cmd_personalize_commit(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  uint8_t value[CP_PENDING_MAX];
  const uint8_t *cert_bytes = NULL, *pin = NULL, *puk = NULL, *auth = NULL;
  size_t cert_len = 0, pin_len = 0, puk_len = 0, n = 0;
  cp_cbor_map m;
  cp_pending p;
  cp_result r;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_bytes(&m, 1, NULL, 0, 2048, &cert_bytes, &cert_len);
  cp_cbor_map_bytes(&m, 2, NULL, 4, 12, &pin, &pin_len);
  cp_cbor_map_bytes(&m, 3, NULL, 8, 12, &puk, &puk_len);
  cp_cbor_map_bytes(&m, 4, NULL, 64, 64, &auth, &n);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  if (c->lifecycle != CP_LC_BLANK) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  r = cp_state_pending(c->s, value, sizeof value, &p);
  if (r == CP_NOT_FOUND) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  if (r == CP_OK) r = commit_pending(c, &p, cert_bytes, cert_len, pin, pin_len, puk, puk_len, auth);
  memset(value, 0, sizeof value); /* the pending private key */
  memset(p.priv, 0, sizeof p.priv);
  return r;
}
