/*
 * cardpost firmware: the top-up token (§7.5, version 2 only) and the block order (§7.6), as
 * protocol/record/topup-token.ts and block-order.ts decode them.
 */
#include <string.h>

#include "cp_records.h"

int cp_token_decode(const uint8_t *bytes, size_t len, cp_token *t) {
  cp_cbor_map r;
  uint64_t version = 0;
  size_t n = 0;
  memset(t, 0, sizeof *t);
  if (!cp_envelope_open(bytes, len, CP_BODY_TOPUP_TOKEN, &t->env, &r)) return 0;
  /* Version 1 reset the offline totals whatever the bank had seen: refused. */
  if (cp_cbor_map_uint(&r, 1, NULL, 0, CP_CBOR_SAFE_MAX, &version) != CP_CBOR_OK || version != 2) return 0;
  cp_cbor_map_bytes(&r, 2, NULL, 8, 8, &t->card_id, &n);
  cp_cbor_map_uint(&r, 3, NULL, 1, CP_MAX_COUNTER, &t->load_seq);
  cp_cbor_map_uint(&r, 4, NULL, 0, CP_MAX_AMOUNT, &t->amount);
  cp_cbor_map_uint(&r, 5, NULL, 1, 999, &t->currency);
  cp_cbor_map_uint(&r, 6, NULL, 0, CP_MAX_COUNTER, &t->valid_until_counter);
  cp_cbor_map_uint(&r, 7, NULL, 0, CP_MAX_AMOUNT, &t->issued_at);
  cp_cbor_map_bool(&r, 8, NULL, &t->reset_offline);
  cp_cbor_map_uint(&r, 9, NULL, 0, CP_MAX_COUNTER, &t->settled_counter);
  cp_cbor_map_uint(&r, 10, &t->has_refund_of, 1, CP_MAX_COUNTER, &t->refund_of);
  return cp_cbor_map_done(&r, 0) == CP_CBOR_OK;
}

int cp_block_order_decode(const uint8_t *bytes, size_t len, cp_block_order *o) {
  cp_cbor_map r;
  uint64_t version = 0, reason = 0, issued_at = 0, list_sequence = 0;
  size_t n = 0;
  memset(o, 0, sizeof *o);
  if (!cp_envelope_open(bytes, len, CP_BODY_BLOCK_ORDER, &o->env, &r)) return 0;
  if (cp_cbor_map_uint(&r, 1, NULL, 0, CP_CBOR_SAFE_MAX, &version) != CP_CBOR_OK || version != 1) return 0;
  cp_cbor_map_bytes(&r, 2, NULL, 8, 8, &o->card_id, &n);
  cp_cbor_map_uint(&r, 3, NULL, 1, 4, &reason); /* lost, stolen, fraud, withdrawn */
  cp_cbor_map_uint(&r, 4, NULL, 0, CP_MAX_AMOUNT, &issued_at);
  cp_cbor_map_uint(&r, 5, NULL, 1, CP_MAX_COUNTER, &list_sequence);
  return cp_cbor_map_done(&r, 0) == CP_CBOR_OK;
}
