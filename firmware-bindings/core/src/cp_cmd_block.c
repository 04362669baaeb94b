/*
 * cardpost firmware: BLOCK_CARD (§4.8; device-sim/card/card-block.ts). The order must be signed
 * by the issuer key installed at personalisation, or by a top-up authority that issuer certified,
 * and name this card; then the order and the `blocked` life cycle are written in one transaction.
 */
#include <string.h>

#include "cp_cmd_internal.h"

cp_result cp_cmd_block_card(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  uint8_t id_buf[CP_IDENTITY_MAX];
  const uint8_t *order_bytes = NULL, *authority_bytes = NULL;
  size_t order_len = 0, authority_len = 0;
  uint8_t has_authority = 0, stored = 0;
  cp_cbor_map m;
  cp_identity id;
  cp_cert issuer, authority;
  const cp_cert *signer = &issuer;
  cp_block_order order;
  int ok = 0;
  cp_result r;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_bytes(&m, 1, NULL, 1, 1024, &order_bytes, &order_len);
  cp_cbor_map_bytes(&m, 2, &has_authority, 1, 2048, &authority_bytes, &authority_len);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  /* A blank card holds no issuer key to check the order with, and nothing to protect. */
  if ((r = cp_state_lifecycle(c->s, &stored)) != CP_OK) return r;
  if (stored != CP_LC_BLANK) r = cp_state_identity(c->s, id_buf, sizeof id_buf, &id);
  if (stored == CP_LC_BLANK || r == CP_NOT_FOUND) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  if (r != CP_OK) return r;
  memset(id.priv, 0, sizeof id.priv);
  if (!cp_cert_decode(id.issuer, id.issuer_len, &issuer)) return CP_CORRUPT;
  if (has_authority) {
    if (cp_cert_decode(authority_bytes, authority_len, &authority) &&
        (r = cp_cert_verify(c->hal, &authority, &issuer, CP_CERT_AUTHORITY, &ok)) != CP_OK)
      return r;
    if (!ok) {
      cp_cmd_status(c, ST_AUTHORITY_INVALID);
      return CP_OK;
    }
    signer = &authority;
  }
  ok = cp_block_order_decode(order_bytes, order_len, &order);
  if (ok && (r = cp_envelope_verify(c->hal, signer->algorithm, signer->pub, &order.env, &ok)) != CP_OK) return r;
  if (!ok) {
    cp_cmd_status(c, ST_BLOCK_ORDER_INVALID);
    return CP_OK;
  }
  if (memcmp(order.card_id, id.card_id, 8) != 0) {
    cp_cmd_status(c, ST_BLOCK_ORDER_WRONG_CARD);
    return CP_OK;
  }
  if (stored != CP_LC_BLOCKED) { /* idempotent: the first order stays */
    if ((r = cp_store_begin(c->s)) != CP_OK) return r;
    r = cp_store_put(c->s, CP_KEY_BLOCK_ORDER, order_bytes, (uint16_t)order_len);
    if (r == CP_OK) r = cp_state_put_lifecycle(c->s, CP_LC_BLOCKED);
    if ((r = cp_state_finish(c->s, r)) != CP_OK) return r;
  }
  c->sess->pin_verified = 0;
  cp_cmd_status(c, ST_OK);
  return CP_OK;
}
