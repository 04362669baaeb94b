/*
 * cardpost firmware: GET_INFO (§4.1) and READ_JOURNAL (§4.4), the commands that only read.
 */
#include <string.h>

#include "cp_cmd_internal.h"

cp_result cp_cmd_get_info(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  uint8_t buf[CP_IDENTITY_MAX];
  cp_identity id;
  cp_purse purse;
  uint64_t pin_tries = 0, puk_tries = 0;
  cp_cbor_writer w;
  cp_result r;
  int have_id;
  if (len > 0) { /* readNoParams: absent or an empty map */
    cp_cbor_map m;
    cp_cmd_open(params, len, &m);
    if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  }
  r = cp_state_identity(c->s, buf, sizeof buf, &id);
  if (r != CP_OK && r != CP_NOT_FOUND) return r;
  have_id = r == CP_OK;
  if ((r = cp_state_purse(c->s, &purse)) != CP_OK) return r;
  if ((r = cp_state_tries(c->s, CP_KEY_PIN_RETRIES, &pin_tries)) != CP_OK) return r;
  if ((r = cp_state_tries(c->s, CP_KEY_PUK_RETRIES, &puk_tries)) != CP_OK) return r;
  cp_cmd_begin(c, ST_OK, &w);
  cp_cbor_put_map(&w, have_id ? 19 : 14);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_uint(&w, 1); /* protocol version */
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_uint(&w, c->lifecycle);
  if (have_id) {
    cp_cbor_put_uint(&w, 3);
    cp_cbor_put_bytes(&w, id.card_id, 8);
  }
  cp_cbor_put_uint(&w, 4);
  cp_cbor_put_uint(&w, have_id ? id.algorithm : CP_ALG_SM2_SM3);
  if (have_id) {
    cp_cbor_put_uint(&w, 5);
    cp_cbor_put_bytes(&w, id.pub, 65);
    cp_cbor_put_uint(&w, 6);
    cp_cbor_put_bytes(&w, id.certificate, id.certificate_len);
  }
  cp_cbor_put_uint(&w, 7);
  cp_cbor_put_uint(&w, purse.counter);
  cp_cbor_put_uint(&w, 8);
  cp_cbor_put_uint(&w, purse.balance);
  if (have_id) {
    cp_cbor_put_uint(&w, 9);
    cp_cbor_put_uint(&w, id.currency);
    cp_cbor_put_uint(&w, 10);
    cp_state_encode_limits(&w, &id.limits);
  }
  cp_cbor_put_uint(&w, 11);
  cp_cbor_put_uint(&w, purse.offline_amount);
  cp_cbor_put_uint(&w, 12);
  cp_cbor_put_uint(&w, purse.offline_count);
  cp_cbor_put_uint(&w, 13);
  cp_cbor_put_uint(&w, pin_tries);
  cp_cbor_put_uint(&w, 14);
  cp_cbor_put_uint(&w, puk_tries);
  cp_cbor_put_uint(&w, 15);
  cp_cbor_put_bytes(&w, purse.last_hash, 32);
  cp_cbor_put_uint(&w, 16);
  cp_cbor_put_uint(&w, purse.load_counter);
  cp_cbor_put_uint(&w, 17);
  cp_cbor_put_uint(&w, c->max_message_size);
  cp_cbor_put_uint(&w, 18);
  cp_cbor_put_uint(&w, c->journal_capacity);
  cp_cbor_put_uint(&w, 19);
  cp_cbor_put_bool(&w, c->sess->pin_verified);
  memset(id.priv, 0, sizeof id.priv);
  memset(buf, 0, sizeof buf); /* the private key was in it */
  return cp_cmd_end(c, &w);
}

cp_result cp_cmd_journal_record(cp_cmd_ctx *c, uint64_t counter, uint8_t *buf, size_t *env_len, cp_txn *t,
                                int *found) {
  uint16_t len = 0;
  cp_result r = cp_store_get(c->s, CP_JOURNAL_KEY(counter % c->journal_capacity), buf, CP_TXN_ENVELOPE_MAX, &len);
  *found = 0;
  *env_len = 0;
  if (r == CP_NOT_FOUND || r == CP_TOO_LARGE) return CP_OK;
  if (r != CP_OK) return r;
  /* A slot is reused: it holds this counter's record or an older one. */
  *found = cp_txn_decode(buf, len, t) && t->counter == counter;
  *env_len = len;
  return CP_OK;
}

/* A byte string head for n <= 65535 at p; returns its size. */
static size_t bstr_head(uint8_t *p, size_t n, uint8_t major) {
  if (n < 24) {
    p[0] = (uint8_t)(major | n);
    return 1;
  }
  if (n < 256) {
    p[0] = (uint8_t)(major | 24u);
    p[1] = (uint8_t)n;
    return 2;
  }
  p[0] = (uint8_t)(major | 25u);
  p[1] = (uint8_t)(n >> 8);
  p[2] = (uint8_t)n;
  return 3;
}

static size_t head_size(size_t n) { return n < 24 ? 1u : n < 256 ? 2u : 3u; }

cp_result cp_cmd_read_journal(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  /* Layout while collecting: status, map(3), key 1, 3 bytes kept for the array head, records. */
  enum { RECORDS_AT = 6, TAIL_ROOM = 24 };
  cp_cbor_map m;
  cp_purse purse;
  uint64_t from = 0, max_records = 0, oldest, n = 0, counter, k;
  uint8_t has_max = 0;
  size_t pos = RECORDS_AT, size = 32, hn;
  cp_cbor_writer w;
  cp_result r;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_uint(&m, 1, NULL, 0, CP_MAX_COUNTER, &from);
  cp_cbor_map_uint(&m, 2, &has_max, 1, 65535, &max_records);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  if (c->lifecycle == CP_LC_BLANK) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  if ((r = cp_state_purse(c->s, &purse)) != CP_OK) return r;
  counter = purse.counter;
  oldest = counter == 0 ? 0 : counter + 1 > c->journal_capacity ? counter + 1 - c->journal_capacity : 1;
  k = from > oldest ? from : oldest;
  if (k < 1) k = 1;
  for (; counter > 0 && k <= counter; k++) {
    uint16_t got = 0;
    size_t room = c->cap > pos + 3 + TAIL_ROOM ? c->cap - pos - 3 - TAIL_ROOM : 0;
    if (has_max && n >= max_records) break;
    r = cp_store_get(c->s, CP_JOURNAL_KEY(k % c->journal_capacity), c->out + pos + 3,
                     (uint16_t)(room > 0xffff ? 0xffff : room), &got);
    if (r == CP_NOT_FOUND) break;
    if (r != CP_OK && r != CP_TOO_LARGE) return r;
    /* As many as fit the message size (the first one always goes). */
    if (size + got + 3 > c->max_message_size && n > 0) break;
    if (r == CP_TOO_LARGE) return CP_TOO_LARGE;
    size += (size_t)got + 3;
    hn = head_size(got);
    memmove(c->out + pos + hn, c->out + pos + 3, got);
    bstr_head(c->out + pos, got, 0x40u);
    pos += hn + got;
    n++;
  }
  c->out[0] = ST_OK;
  c->out[1] = 0xa3; /* map(3) */
  c->out[2] = 0x01;
  hn = head_size((size_t)n);
  memmove(c->out + 3 + hn, c->out + RECORDS_AT, pos - RECORDS_AT);
  bstr_head(c->out + 3, (size_t)n, 0x80u); /* array(n) */
  pos = 3 + hn + (pos - RECORDS_AT);
  cp_cbor_writer_init(&w, c->out + pos, c->cap - pos);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_uint(&w, oldest);
  cp_cbor_put_uint(&w, 3);
  cp_cbor_put_uint(&w, counter);
  if (w.overflow) return CP_TOO_LARGE;
  c->has_detail = 0;
  c->len = pos + w.len;
  return CP_OK;
}
