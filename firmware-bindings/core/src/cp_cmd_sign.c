/*
 * cardpost firmware: SIGN_TXN (§4.3) and VOID_TXN (§4.9), the two commands that sign a record.
 * Each writes the purse, the journal slot and the voidable sale in ONE store transaction.
 */
#include <string.h>

#include "cp_cmd_internal.h"

/* A request of SIGN_TXN and VOID_TXN (the same fields but the first two). */
typedef struct {
  uint64_t counter, amount, currency, time;
  const uint8_t *merchant, *terminal, *host_nonce;
  size_t merchant_len, terminal_len;
} sale_request;

static int read_tail(cp_cbor_map *m, sale_request *q) {
  size_t n = 0;
  cp_cbor_map_text(m, 3, NULL, 1, 32, &q->merchant, &q->merchant_len);
  cp_cbor_map_text(m, 4, NULL, 1, 32, &q->terminal, &q->terminal_len);
  cp_cbor_map_uint(m, 5, NULL, 0, CP_MAX_AMOUNT, &q->time);
  cp_cbor_map_bytes(m, 6, NULL, 16, 16, &q->host_nonce, &n);
  return m->err == CP_CBOR_OK;
}

static int same_text(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  return cp_cmd_bytes_equal(a, a_len, b, b_len);
}

static void answer_record(cp_cmd_ctx *c, const uint8_t *env, size_t len) {
  cp_cbor_writer w;
  cp_cmd_begin(c, ST_OK, &w);
  cp_cbor_put_map(&w, 1);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_bytes(&w, env, len);
  cp_cmd_end(c, &w);
}

/* Signs t, then commits purse `after`, the record's journal slot and the voidable sale together. */
static cp_result sign_and_commit(cp_cmd_ctx *c, const cp_identity *id, cp_txn *t, const cp_purse *before,
                                 cp_purse *after, uint64_t voidable_before, uint64_t voidable_after,
                                 uint8_t env[CP_TXN_ENVELOPE_MAX]) {
  uint8_t scratch[CP_TXN_BODY_MAX];
  size_t env_len = 0;
  cp_result r = cp_txn_sign(c->hal, id->priv, id->pub, t, scratch, env, CP_TXN_ENVELOPE_MAX, &env_len, after->last_hash);
  if (r != CP_OK) return r;
  if ((r = cp_store_begin(c->s)) != CP_OK) return r;
  r = cp_state_put_purse(c->s, before, after, 1);
  if (r == CP_OK) r = cp_store_put(c->s, CP_JOURNAL_KEY(t->counter % c->journal_capacity), env, (uint16_t)env_len);
  if (r == CP_OK) r = cp_state_put_voidable(c->s, voidable_before, voidable_after);
  if ((r = cp_state_finish(c->s, r)) != CP_OK) return r;
  answer_record(c, env, env_len);
  return CP_OK;
}

cp_result cp_cmd_sign_txn(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  uint8_t id_buf[CP_IDENTITY_MAX], rec[CP_TXN_ENVELOPE_MAX];
  sale_request q;
  cp_cbor_map m;
  cp_identity id;
  cp_purse purse, after;
  cp_txn last, t;
  uint64_t voidable = 0;
  uint16_t rec_len = 0;
  int needs_pin;
  cp_result r;
  memset(&q, 0, sizeof q);
  cp_cmd_open(params, len, &m);
  cp_cbor_map_uint(&m, 1, NULL, 1, CP_MAX_AMOUNT, &q.amount);
  cp_cbor_map_uint(&m, 2, NULL, 1, 999, &q.currency);
  read_tail(&m, &q);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  switch (c->lifecycle) {
    case CP_LC_BLANK: cp_cmd_status(c, ST_WRONG_STATE); return CP_OK;
    case CP_LC_TERMINATED: cp_cmd_status(c, ST_TERMINATED); return CP_OK;
    case CP_LC_PERSONALISED: cp_cmd_status(c, ST_PIN_CHANGE_REQUIRED); return CP_OK;
    case CP_LC_PIN_BLOCKED: cp_cmd_status_uint(c, ST_PIN_BLOCKED, 0); return CP_OK;
    default: break;
  }
  if ((r = cp_state_identity(c->s, id_buf, sizeof id_buf, &id)) != CP_OK) return r == CP_NOT_FOUND ? CP_CORRUPT : r;
  if ((r = cp_state_purse(c->s, &purse)) != CP_OK) return r;

  /* A host that lost our answer re-sends the same request: the same record, nothing new signed. */
  if (purse.counter > 0) {
    r = cp_store_get(c->s, CP_JOURNAL_KEY(purse.counter % c->journal_capacity), rec, sizeof rec, &rec_len);
    if (r != CP_OK && r != CP_NOT_FOUND) return r;
    if (r == CP_OK && !cp_txn_decode(rec, rec_len, &last)) return CP_CORRUPT;
    if (r == CP_OK && memcmp(last.host_nonce, q.host_nonce, 16) == 0) {
      int same = !last.is_reversal && last.amount == q.amount && last.currency == q.currency &&
                 same_text(last.merchant, last.merchant_len, q.merchant, q.merchant_len) &&
                 same_text(last.terminal, last.terminal_len, q.terminal, q.terminal_len) && last.time == q.time;
      if (same) answer_record(c, rec, rec_len);
      else cp_cmd_status(c, ST_NONCE_REUSED);
      return CP_OK;
    }
  }

  needs_pin = q.amount > id.limits.no_pin;
  if (q.currency != id.currency) cp_cmd_status(c, ST_CURRENCY_MISMATCH);
  else if (q.amount > id.limits.per_transaction) cp_cmd_status(c, ST_OVER_TRANSACTION_LIMIT);
  else if (needs_pin && !c->sess->pin_verified) cp_cmd_status(c, ST_PIN_REQUIRED);
  else if (q.amount > purse.balance) cp_cmd_status(c, ST_INSUFFICIENT_FUNDS);
  else if (purse.offline_amount + q.amount > id.limits.offline_amount) cp_cmd_status(c, ST_OFFLINE_AMOUNT_LIMIT);
  else if (purse.offline_count + 1 > id.limits.offline_count) cp_cmd_status(c, ST_OFFLINE_COUNT_LIMIT);
  else if (purse.counter >= CP_MAX_COUNTER) cp_cmd_status(c, ST_COUNTER_EXHAUSTED);
  else goto sign;
  return CP_OK;

sign:
  if ((r = cp_state_voidable(c->s, &voidable)) != CP_OK) return r;
  memset(&t, 0, sizeof t);
  t.card_id = id.card_id;
  t.counter = purse.counter + 1;
  t.amount = q.amount;
  t.currency = q.currency;
  t.merchant = q.merchant;
  t.merchant_len = q.merchant_len;
  t.terminal = q.terminal;
  t.terminal_len = q.terminal_len;
  t.time = q.time;
  t.host_nonce = q.host_nonce;
  t.balance_after = purse.balance - q.amount;
  t.prev_hash = purse.last_hash;
  t.algorithm = id.algorithm;
  t.cvm = needs_pin ? 1 : 0;
  after = purse;
  after.counter = t.counter;
  after.balance = t.balance_after;
  after.offline_amount = purse.offline_amount + q.amount;
  after.offline_count = purse.offline_count + 1;
  /* The new sale may be voided while nothing else happens. */
  r = sign_and_commit(c, &id, &t, &purse, &after, voidable, t.counter, rec);
  memset(id_buf, 0, sizeof id_buf);
  memset(id.priv, 0, sizeof id.priv);
  return r;
}

cp_result cp_cmd_void_txn(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  uint8_t id_buf[CP_IDENTITY_MAX], rec[CP_TXN_ENVELOPE_MAX];
  sale_request q;
  cp_cbor_map m;
  cp_identity id;
  cp_purse purse, after;
  cp_txn last, t;
  uint64_t voidable = 0, amount, currency, sale;
  size_t rec_len = 0;
  int found = 0;
  cp_result r;
  memset(&q, 0, sizeof q);
  cp_cmd_open(params, len, &m);
  cp_cbor_map_uint(&m, 1, NULL, 1, CP_MAX_COUNTER, &q.counter);
  cp_cbor_map_uint(&m, 2, NULL, 1, CP_MAX_AMOUNT, &q.amount);
  read_tail(&m, &q);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  /* The stored state, as LOAD: giving money back needs no PIN, but a card never active paid nothing. */
  if (c->lifecycle == CP_LC_BLANK || c->lifecycle == CP_LC_PERSONALISED) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  if (c->lifecycle == CP_LC_TERMINATED) {
    cp_cmd_status(c, ST_TERMINATED);
    return CP_OK;
  }
  if ((r = cp_state_identity(c->s, id_buf, sizeof id_buf, &id)) != CP_OK) return r == CP_NOT_FOUND ? CP_CORRUPT : r;
  if ((r = cp_state_purse(c->s, &purse)) != CP_OK) return r;
  if ((r = cp_cmd_journal_record(c, purse.counter, rec, &rec_len, &last, &found)) != CP_OK) return r;

  /* A host that lost the answer re-sends the same request: the same reversal, nothing new. */
  if (found && last.is_reversal && memcmp(last.host_nonce, q.host_nonce, 16) == 0) {
    int same = last.reverses == q.counter && last.amount == q.amount &&
               same_text(last.merchant, last.merchant_len, q.merchant, q.merchant_len) &&
               same_text(last.terminal, last.terminal_len, q.terminal, q.terminal_len) && last.time == q.time;
    if (same) answer_record(c, rec, rec_len);
    else cp_cmd_status(c, ST_NONCE_REUSED);
    return CP_OK;
  }
  if (found && last.is_reversal && last.reverses == q.counter) {
    cp_cmd_status(c, ST_ALREADY_VOIDED);
    return CP_OK;
  }
  if ((r = cp_state_voidable(c->s, &voidable)) != CP_OK) return r;
  if (!found || voidable == 0 || voidable != q.counter || last.counter != q.counter || last.is_reversal)
    cp_cmd_status(c, ST_VOID_NOT_ALLOWED);
  else if (last.amount != q.amount || !same_text(last.merchant, last.merchant_len, q.merchant, q.merchant_len) ||
           !same_text(last.terminal, last.terminal_len, q.terminal, q.terminal_len))
    cp_cmd_status(c, ST_VOID_MISMATCH);
  else if (purse.balance + last.amount > id.limits.max_balance)
    cp_cmd_status(c, ST_BALANCE_LIMIT);
  else if (purse.counter >= CP_MAX_COUNTER)
    cp_cmd_status(c, ST_COUNTER_EXHAUSTED);
  else
    goto sign;
  return CP_OK;

sign:
  amount = last.amount; /* rec is reused for the new envelope: keep what is needed */
  currency = last.currency;
  sale = last.counter;
  memset(&t, 0, sizeof t);
  t.card_id = id.card_id;
  t.counter = purse.counter + 1;
  t.amount = amount;
  t.currency = currency;
  t.merchant = q.merchant;
  t.merchant_len = q.merchant_len;
  t.terminal = q.terminal;
  t.terminal_len = q.terminal_len;
  t.time = q.time;
  t.host_nonce = q.host_nonce;
  t.balance_after = purse.balance + amount;
  t.prev_hash = purse.last_hash;
  t.algorithm = id.algorithm;
  t.cvm = 0;
  t.is_reversal = 1;
  t.reverses = sale;
  after = purse;
  after.counter = t.counter;
  after.balance = t.balance_after;
  /* The sale is undone: it no longer counts against the offline limits (the floor is only a guard). */
  after.offline_amount = purse.offline_amount > amount ? purse.offline_amount - amount : 0;
  after.offline_count = purse.offline_count > 0 ? purse.offline_count - 1 : 0;
  r = sign_and_commit(c, &id, &t, &purse, &after, voidable, 0, rec);
  memset(id_buf, 0, sizeof id_buf);
  memset(id.priv, 0, sizeof id.priv);
  return r;
}
