/*
 * cardpost firmware: the transaction record (§7.2), as protocol/record/txn-record.ts encodes,
 * signs and decodes it. A sale writes no kind (keys 14/15 absent); a reversal writes kind 2 and
 * the counter it reverses.
 */
#include <string.h>

#include "cp_records.h"

static const uint8_t ZERO_HASH[32] = {0};

int cp_txn_decode(const uint8_t *bytes, size_t len, cp_txn *t) {
  cp_cbor_map r;
  uint64_t version = 0, alg = 0, cvm = 0, kind = 0;
  uint8_t has_kind = 0, has_reverses = 0;
  size_t n = 0;
  memset(t, 0, sizeof *t);
  if (!cp_envelope_open(bytes, len, CP_BODY_TXN_RECORD, &(cp_envelope){0}, &r)) return 0;
  if (cp_cbor_map_uint(&r, 1, NULL, 0, CP_CBOR_SAFE_MAX, &version) != CP_CBOR_OK || version != 1) return 0;
  cp_cbor_map_bytes(&r, 2, NULL, 8, 8, &t->card_id, &n);
  cp_cbor_map_uint(&r, 3, NULL, 1, CP_MAX_COUNTER, &t->counter);
  cp_cbor_map_uint(&r, 4, NULL, 1, CP_MAX_AMOUNT, &t->amount);
  cp_cbor_map_uint(&r, 5, NULL, 1, 999, &t->currency);
  cp_cbor_map_text(&r, 6, NULL, 1, 32, &t->merchant, &t->merchant_len);
  cp_cbor_map_text(&r, 7, NULL, 1, 32, &t->terminal, &t->terminal_len);
  cp_cbor_map_uint(&r, 8, NULL, 0, CP_MAX_AMOUNT, &t->time);
  cp_cbor_map_bytes(&r, 9, NULL, 16, 16, &t->host_nonce, &n);
  cp_cbor_map_uint(&r, 10, NULL, 0, CP_MAX_AMOUNT, &t->balance_after);
  cp_cbor_map_bytes(&r, 11, NULL, 32, 32, &t->prev_hash, &n);
  cp_cbor_map_uint(&r, 12, NULL, 1, 255, &alg);
  cp_cbor_map_uint(&r, 13, NULL, 0, 1, &cvm);
  cp_cbor_map_uint(&r, 14, &has_kind, 2, 2, &kind);
  cp_cbor_map_uint(&r, 15, &has_reverses, 1, CP_MAX_COUNTER, &t->reverses);
  if (cp_cbor_map_done(&r, 0) != CP_CBOR_OK) return 0;
  if (has_kind != has_reverses) return 0;
  if (has_reverses && (t->reverses != t->counter - 1 || cvm != 0)) return 0;
  if (alg != CP_ALG_SM2_SM3 && alg != CP_ALG_P256_SHA256) return 0;
  if (t->counter == 1 && memcmp(t->prev_hash, ZERO_HASH, 32) != 0) return 0;
  t->algorithm = (uint8_t)alg;
  t->cvm = (uint8_t)cvm;
  t->is_reversal = has_reverses;
  return 1;
}

static void encode_body(cp_cbor_writer *w, const cp_txn *t) {
  cp_cbor_put_map(w, t->is_reversal ? 16 : 14);
  cp_cbor_put_uint(w, 0);
  cp_cbor_put_uint(w, CP_BODY_TXN_RECORD);
  cp_cbor_put_uint(w, 1);
  cp_cbor_put_uint(w, 1); /* version */
  cp_cbor_put_uint(w, 2);
  cp_cbor_put_bytes(w, t->card_id, 8);
  cp_cbor_put_uint(w, 3);
  cp_cbor_put_uint(w, t->counter);
  cp_cbor_put_uint(w, 4);
  cp_cbor_put_uint(w, t->amount);
  cp_cbor_put_uint(w, 5);
  cp_cbor_put_uint(w, t->currency);
  cp_cbor_put_uint(w, 6);
  cp_cbor_put_text(w, (const char *)t->merchant, t->merchant_len);
  cp_cbor_put_uint(w, 7);
  cp_cbor_put_text(w, (const char *)t->terminal, t->terminal_len);
  cp_cbor_put_uint(w, 8);
  cp_cbor_put_uint(w, t->time);
  cp_cbor_put_uint(w, 9);
  cp_cbor_put_bytes(w, t->host_nonce, 16);
  cp_cbor_put_uint(w, 10);
  cp_cbor_put_uint(w, t->balance_after);
  cp_cbor_put_uint(w, 11);
  cp_cbor_put_bytes(w, t->prev_hash, 32);
  cp_cbor_put_uint(w, 12);
  cp_cbor_put_uint(w, t->algorithm);
  cp_cbor_put_uint(w, 13);
  cp_cbor_put_uint(w, t->cvm);
  if (t->is_reversal) {
    cp_cbor_put_uint(w, 14);
    cp_cbor_put_uint(w, 2);
    cp_cbor_put_uint(w, 15);
    cp_cbor_put_uint(w, t->reverses);
  }
}

cp_result cp_txn_sign(const cp_hal *hal, const uint8_t priv[32], const uint8_t pub[65], const cp_txn *t,
                      uint8_t scratch[CP_TXN_BODY_MAX], uint8_t *env, size_t env_cap, size_t *env_len,
                      uint8_t hash[32]) {
  const cp_crypto_ops *ops = cp_crypto_of(hal);
  cp_cbor_writer w;
  uint8_t sig[64];
  cp_result r;
  cp_cbor_writer_init(&w, scratch, CP_TXN_BODY_MAX);
  encode_body(&w, t);
  if (w.overflow) return CP_TOO_LARGE;
  if ((r = ops->sign(ops->ctx, t->algorithm, priv, pub, scratch, w.len, &hal->rng, sig)) != CP_OK) return r;
  if ((r = ops->digest(ops->ctx, t->algorithm, scratch, w.len, hash)) != CP_OK) return r;
  {
    cp_cbor_writer e;
    cp_cbor_writer_init(&e, env, env_cap);
    cp_cbor_put_map(&e, 2);
    cp_cbor_put_uint(&e, 1);
    cp_cbor_put_bytes(&e, scratch, w.len);
    cp_cbor_put_uint(&e, 2);
    cp_cbor_put_bytes(&e, sig, 64);
    if (e.overflow) return CP_TOO_LARGE;
    *env_len = e.len;
  }
  return CP_OK;
}
