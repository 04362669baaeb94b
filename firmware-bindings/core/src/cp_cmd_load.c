/*
 * cardpost firmware: LOAD (§4.5), the issuer-authorised top-up, with the offline totals after a
 * sync (device-sim/card/offline-sync.ts) and the refund-token check (card-void.ts).
 */
#include <string.h>

#include "cp_cmd_internal.h"

/* offlineTotalsAfterSync: the totals count only what the bank has not settled, and never rise. */
static cp_result totals_after_sync(cp_cmd_ctx *c, const cp_purse *purse, uint64_t settled_counter,
                                   uint8_t rec[CP_TXN_ENVELOPE_MAX], uint64_t *offline_amount, uint64_t *offline_count) {
  uint64_t settled = settled_counter < purse->counter ? settled_counter : purse->counter;
  uint64_t k, count = purse->counter - settled;
  int64_t unsettled = 0, payments = 0;
  cp_result r;
  if (purse->offline_count < count) count = purse->offline_count;
  *offline_amount = purse->offline_amount;
  *offline_count = count;
  for (k = settled + 1; k <= purse->counter; k++) {
    cp_txn t;
    size_t len = 0;
    int found = 0;
    if ((r = cp_cmd_journal_record(c, k, rec, &len, &t, &found)) != CP_OK) return r;
    if (!found) return CP_OK; /* the journal no longer reaches back: keep the amount it has */
    /* A reversal undoes the sale right before it; a sale already settled counts nothing here. */
    if (!t.is_reversal) {
      unsettled += (int64_t)t.amount;
      payments += 1;
    } else if (t.reverses > settled) {
      unsettled -= (int64_t)t.amount;
      payments -= 1;
    }
  }
  if (unsettled < 0) unsettled = 0;
  if (payments < 0) payments = 0;
  if ((uint64_t)unsettled < *offline_amount) *offline_amount = (uint64_t)unsettled;
  if ((uint64_t)payments < *offline_count) *offline_count = (uint64_t)payments;
  return CP_OK;
}

/* refundTokenRefusal: 0 when the refund may load, else the status to refuse it with. */
static cp_result refund_refusal(cp_cmd_ctx *c, const cp_token *token, uint64_t counter,
                                uint8_t rec[CP_TXN_ENVELOPE_MAX], uint8_t *status) {
  cp_txn next;
  size_t len = 0;
  int found = 0;
  cp_result r;
  uint64_t sale = token->refund_of;
  *status = 0;
  if (!token->has_refund_of || counter == sale) return CP_OK; /* the LOAD ends the sale's void window */
  if (counter < sale) {
    *status = ST_REFUND_UNPROVABLE; /* a sale this card has not signed */
    return CP_OK;
  }
  if ((r = cp_cmd_journal_record(c, sale + 1, rec, &len, &next, &found)) != CP_OK) return r;
  if (!found) *status = ST_REFUND_UNPROVABLE;
  else if (next.is_reversal && next.reverses == sale) *status = ST_REFUND_OF_VOIDED;
  return CP_OK;
}

cp_result cp_cmd_load(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  uint8_t id_buf[CP_IDENTITY_MAX], rec[CP_TXN_ENVELOPE_MAX]; /* rec: one journal record at a time */
  const uint8_t *token_bytes = NULL, *authority_bytes = NULL;
  size_t token_len = 0, authority_len = 0;
  cp_cbor_map m;
  cp_identity id;
  cp_cert issuer, authority;
  cp_token token;
  cp_purse purse, after;
  uint64_t voidable = 0;
  uint8_t stored = 0, refusal = 0;
  int ok = 0;
  cp_cbor_writer w;
  cp_result r;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_bytes(&m, 1, NULL, 0, 1024, &token_bytes, &token_len);
  cp_cbor_map_bytes(&m, 2, NULL, 0, 2048, &authority_bytes, &authority_len);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  /* The stored state, not the derived one: a PIN-blocked card that never became active takes no top-up. */
  if ((r = cp_state_lifecycle(c->s, &stored)) != CP_OK) return r;
  if (stored == CP_LC_BLANK || stored == CP_LC_PERSONALISED) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  if (c->lifecycle == CP_LC_TERMINATED) {
    cp_cmd_status(c, ST_TERMINATED);
    return CP_OK;
  }
  if ((r = cp_state_identity(c->s, id_buf, sizeof id_buf, &id)) != CP_OK) return r == CP_NOT_FOUND ? CP_CORRUPT : r;
  memset(id.priv, 0, sizeof id.priv); /* LOAD signs nothing */
  if (!cp_cert_decode(id.issuer, id.issuer_len, &issuer)) return CP_CORRUPT;
  if (!cp_cert_decode(authority_bytes, authority_len, &authority)) {
    cp_cmd_status(c, ST_AUTHORITY_INVALID);
    return CP_OK;
  }
  if ((r = cp_cert_verify(c->hal, &authority, &issuer, CP_CERT_AUTHORITY, &ok)) != CP_OK) return r;
  if (!ok) {
    cp_cmd_status(c, ST_AUTHORITY_INVALID);
    return CP_OK;
  }
  if (!cp_token_decode(token_bytes, token_len, &token)) {
    cp_cmd_status(c, ST_INVALID_PARAMETER);
    return CP_OK;
  }
  if ((r = cp_envelope_verify(c->hal, authority.algorithm, authority.pub, &token.env, &ok)) != CP_OK) return r;
  if (!ok) {
    cp_cmd_status(c, ST_TOKEN_SIGNATURE_INVALID);
    return CP_OK;
  }
  if (memcmp(token.card_id, id.card_id, 8) != 0 || token.currency != id.currency) {
    cp_cmd_status(c, ST_TOKEN_WRONG_CARD);
    return CP_OK;
  }
  if ((r = cp_state_purse(c->s, &purse)) != CP_OK) return r;
  if (token.load_seq != purse.load_counter + 1) refusal = ST_TOKEN_REPLAYED;
  else if (purse.counter > token.valid_until_counter) refusal = ST_TOKEN_EXPIRED;
  else if (purse.balance + token.amount > id.limits.max_balance) refusal = ST_BALANCE_LIMIT;
  else if ((r = refund_refusal(c, &token, purse.counter, rec, &refusal)) != CP_OK) return r;
  if (refusal != 0) {
    cp_cmd_status(c, refusal);
    return CP_OK;
  }
  if ((r = cp_state_voidable(c->s, &voidable)) != CP_OK) return r;
  after = purse;
  after.balance = purse.balance + token.amount;
  after.load_counter = token.load_seq;
  /* Only what the bank has settled stops counting as offline. */
  if (token.reset_offline &&
      (r = totals_after_sync(c, &purse, token.settled_counter, rec, &after.offline_amount, &after.offline_count)) != CP_OK)
    return r;
  if ((r = cp_store_begin(c->s)) != CP_OK) return r;
  r = cp_state_put_purse(c->s, &purse, &after, 0);
  /* Money came in from outside: the last sale is refunded now, never voided. */
  if (r == CP_OK) r = cp_state_put_voidable(c->s, voidable, 0);
  if ((r = cp_state_finish(c->s, r)) != CP_OK) return r;
  cp_cmd_begin(c, ST_OK, &w);
  cp_cbor_put_map(&w, 2);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_uint(&w, after.balance);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_uint(&w, after.load_counter);
  return cp_cmd_end(c, &w);
}
