/*
 * cardpost firmware: the card's state in the NVM store (cp_state.h). Values are the same canonical
 * CBOR maps device-sim/card/card-state.ts writes, so both cards' NVM images compare value by value.
 */
#include "cp_state.h"

#include <string.h>

#include "cp_cbor.h"

#define SMALL_VALUE 48u /* {1: uint}, {1: a, 2: b}, {1: bstr(32)}, secrets */

/* Reads key into buf and opens it as a canonical map. CP_NOT_FOUND passes through. */
static cp_result open_value(cp_store *s, uint16_t key, uint8_t *buf, uint16_t cap, cp_cbor_map *m) {
  uint16_t len = 0;
  cp_result r = cp_store_get(s, key, buf, cap, &len);
  if (r != CP_OK) return r == CP_TOO_LARGE ? CP_CORRUPT : r;
  if (cp_cbor_check(buf, len, CP_CBOR_MAX_DEPTH, NULL) != CP_CBOR_OK) return CP_CORRUPT;
  if (cp_cbor_map_open(m, buf, len) != CP_CBOR_OK) return CP_CORRUPT;
  return CP_OK;
}

/* {1: uint} under key, or dflt when absent (readUint). */
static cp_result read_uint(cp_store *s, uint16_t key, uint64_t dflt, uint64_t *out) {
  uint8_t buf[SMALL_VALUE];
  cp_cbor_map m;
  cp_result r = open_value(s, key, buf, sizeof buf, &m);
  if (r == CP_NOT_FOUND) {
    *out = dflt;
    return CP_OK;
  }
  if (r != CP_OK) return r;
  cp_cbor_map_uint(&m, 1, NULL, 0, CP_CBOR_SAFE_MAX, out);
  return m.err == CP_CBOR_OK ? CP_OK : CP_CORRUPT;
}

cp_result cp_state_lifecycle(cp_store *s, uint8_t *lc) {
  uint64_t v = 0;
  cp_result r = read_uint(s, CP_KEY_LIFECYCLE, 0, &v);
  *lc = (uint8_t)v;
  return r;
}

cp_result cp_state_tries(cp_store *s, uint16_t key, uint64_t *n) {
  uint8_t buf[SMALL_VALUE];
  cp_cbor_map m;
  cp_result r = open_value(s, key, buf, sizeof buf, &m);
  *n = 0;
  if (r == CP_POWER_LOST) return r;
  if (r != CP_OK) return CP_OK; /* missing or undecodable: 0, the card blocks rather than compares */
  if (cp_cbor_map_uint(&m, 1, NULL, 0, CP_CBOR_SAFE_MAX, n) != CP_CBOR_OK) *n = 0;
  return CP_OK;
}

cp_result cp_state_effective_lifecycle(cp_store *s, uint8_t *lc) {
  uint64_t tries = 0;
  cp_result r = cp_state_lifecycle(s, lc);
  if (r != CP_OK || (*lc != 2u && *lc != 1u)) return r;
  if ((r = cp_state_tries(s, CP_KEY_PUK_RETRIES, &tries)) != CP_OK) return r;
  if (tries == 0) {
    *lc = 4u; /* terminated */
    return CP_OK;
  }
  if ((r = cp_state_tries(s, CP_KEY_PIN_RETRIES, &tries)) != CP_OK) return r;
  if (tries == 0) *lc = 3u; /* PIN-blocked */
  return CP_OK;
}

static void take_fixed(cp_cbor_map *m, uint64_t key, uint8_t *dst, size_t n) {
  const uint8_t *p = NULL;
  size_t len = 0;
  if (cp_cbor_map_bytes(m, key, NULL, n, n, &p, &len) == CP_CBOR_OK) memcpy(dst, p, n);
}

static void read_limits(cp_cbor_map *parent, uint64_t key, cp_limits *l) {
  cp_cbor_map m;
  if (cp_cbor_map_map(parent, key, NULL, &m) != CP_CBOR_OK) return;
  cp_cbor_map_uint(&m, 1, NULL, 0, CP_CBOR_SAFE_MAX, &l->per_transaction);
  cp_cbor_map_uint(&m, 2, NULL, 0, CP_CBOR_SAFE_MAX, &l->no_pin);
  cp_cbor_map_uint(&m, 3, NULL, 0, CP_CBOR_SAFE_MAX, &l->offline_amount);
  cp_cbor_map_uint(&m, 4, NULL, 0, 0xffffffffu, &l->offline_count);
  cp_cbor_map_uint(&m, 5, NULL, 0, CP_CBOR_SAFE_MAX, &l->max_balance);
  if (cp_cbor_map_done(&m, 0) != CP_CBOR_OK) parent->err = m.err;
}

cp_result cp_state_identity(cp_store *s, uint8_t *buf, uint16_t cap, cp_identity *id) {
  cp_cbor_map m;
  uint64_t alg = 0, currency = 0;
  cp_result r = open_value(s, CP_KEY_IDENTITY, buf, cap, &m);
  if (r != CP_OK) return r;
  take_fixed(&m, 1, id->card_id, 8);
  cp_cbor_map_uint(&m, 2, NULL, 0, 255, &alg);
  take_fixed(&m, 3, id->priv, 32);
  take_fixed(&m, 4, id->pub, 65);
  cp_cbor_map_bytes(&m, 5, NULL, 0, CP_CBOR_NO_MAX, &id->issuer, &id->issuer_len);
  cp_cbor_map_bytes(&m, 6, NULL, 0, CP_CBOR_NO_MAX, &id->certificate, &id->certificate_len);
  cp_cbor_map_uint(&m, 7, NULL, 0, 0xffff, &currency);
  read_limits(&m, 8, &id->limits);
  id->algorithm = (uint8_t)alg;
  id->currency = (uint16_t)currency;
  return cp_cbor_map_done(&m, 0) == CP_CBOR_OK ? CP_OK : CP_CORRUPT;
}

cp_result cp_state_pending(cp_store *s, uint8_t *buf, uint16_t cap, cp_pending *p) {
  cp_cbor_map m;
  uint64_t alg = 0;
  cp_result r = open_value(s, CP_KEY_PERSO, buf, cap, &m);
  if (r != CP_OK) return r;
  take_fixed(&m, 1, p->card_id, 8);
  cp_cbor_map_uint(&m, 2, NULL, 0, 255, &alg);
  take_fixed(&m, 3, p->priv, 32);
  take_fixed(&m, 4, p->pub, 65);
  cp_cbor_map_bytes(&m, 5, NULL, 0, CP_CBOR_NO_MAX, &p->issuer, &p->issuer_len);
  take_fixed(&m, 6, p->challenge, 16);
  p->algorithm = (uint8_t)alg;
  return cp_cbor_map_done(&m, 0) == CP_CBOR_OK ? CP_OK : CP_CORRUPT;
}

cp_result cp_state_secrets(cp_store *s, cp_secrets *sec) {
  uint8_t buf[SMALL_VALUE];
  cp_cbor_map m;
  const uint8_t *pin = NULL, *puk = NULL;
  size_t pin_len = 0, puk_len = 0;
  cp_result r = open_value(s, CP_KEY_SECRETS, buf, sizeof buf, &m);
  if (r != CP_OK) return r;
  cp_cbor_map_bytes(&m, 1, NULL, 0, 12, &pin, &pin_len);
  cp_cbor_map_bytes(&m, 2, NULL, 0, 12, &puk, &puk_len);
  if (cp_cbor_map_done(&m, 0) != CP_CBOR_OK) return CP_CORRUPT;
  memcpy(sec->pin, pin, pin_len);
  memcpy(sec->puk, puk, puk_len);
  sec->pin_len = (uint8_t)pin_len;
  sec->puk_len = (uint8_t)puk_len;
  return CP_OK;
}

cp_result cp_state_purse(cp_store *s, cp_purse *p) {
  uint8_t buf[SMALL_VALUE];
  cp_cbor_map m;
  cp_result r;
  memset(p, 0, sizeof *p);
  if ((r = read_uint(s, CP_KEY_COUNTER, 0, &p->counter)) != CP_OK) return r;
  if ((r = read_uint(s, CP_KEY_BALANCE, 0, &p->balance)) != CP_OK) return r;
  if ((r = read_uint(s, CP_KEY_LOADS, 0, &p->load_counter)) != CP_OK) return r;
  r = open_value(s, CP_KEY_OFFLINE, buf, sizeof buf, &m);
  if (r == CP_OK) {
    cp_cbor_map_uint(&m, 1, NULL, 0, CP_CBOR_SAFE_MAX, &p->offline_amount);
    cp_cbor_map_uint(&m, 2, NULL, 0, CP_CBOR_SAFE_MAX, &p->offline_count);
    if (cp_cbor_map_done(&m, 0) != CP_CBOR_OK) return CP_CORRUPT;
  } else if (r != CP_NOT_FOUND) {
    return r;
  }
  r = open_value(s, CP_KEY_LAST_HASH, buf, sizeof buf, &m);
  if (r == CP_OK) {
    take_fixed(&m, 1, p->last_hash, 32);
    if (cp_cbor_map_done(&m, 0) != CP_CBOR_OK) return CP_CORRUPT;
  } else if (r != CP_NOT_FOUND) {
    return r;
  }
  return CP_OK;
}

cp_result cp_state_voidable(cp_store *s, uint64_t *counter) { return read_uint(s, CP_KEY_VOIDABLE, 0, counter); }

/* ------------------------------------------------------------------ writers */

static cp_result put_writer(cp_store *s, uint16_t key, const cp_cbor_writer *w) {
  if (w->overflow || w->len > CP_STORE_MAX_VALUE) return CP_TOO_LARGE;
  return cp_store_put(s, key, w->buf, (uint16_t)w->len);
}

cp_result cp_state_put_uint(cp_store *s, uint16_t key, uint64_t v) {
  uint8_t buf[SMALL_VALUE];
  cp_cbor_writer w;
  cp_cbor_writer_init(&w, buf, sizeof buf);
  cp_cbor_put_map(&w, 1);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_uint(&w, v);
  return put_writer(s, key, &w);
}

cp_result cp_state_put_lifecycle(cp_store *s, uint8_t lc) { return cp_state_put_uint(s, CP_KEY_LIFECYCLE, lc); }

cp_result cp_state_put_tries(cp_store *s, uint16_t key, int64_t n) {
  return cp_state_put_uint(s, key, n > 0 ? (uint64_t)n : 0u);
}

cp_result cp_state_put_secrets(cp_store *s, const cp_secrets *sec) {
  uint8_t buf[SMALL_VALUE];
  cp_cbor_writer w;
  cp_cbor_writer_init(&w, buf, sizeof buf);
  cp_cbor_put_map(&w, 2);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_bytes(&w, sec->pin, sec->pin_len);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_bytes(&w, sec->puk, sec->puk_len);
  return put_writer(s, CP_KEY_SECRETS, &w);
}

cp_result cp_state_put_purse(cp_store *s, const cp_purse *before, const cp_purse *after, int hash_changed) {
  uint8_t buf[SMALL_VALUE];
  cp_cbor_writer w;
  cp_result r = CP_OK;
  if (after->counter != before->counter && (r = cp_state_put_uint(s, CP_KEY_COUNTER, after->counter)) != CP_OK)
    return r;
  if (after->balance != before->balance && (r = cp_state_put_uint(s, CP_KEY_BALANCE, after->balance)) != CP_OK)
    return r;
  if (after->offline_amount != before->offline_amount || after->offline_count != before->offline_count) {
    cp_cbor_writer_init(&w, buf, sizeof buf);
    cp_cbor_put_map(&w, 2);
    cp_cbor_put_uint(&w, 1);
    cp_cbor_put_uint(&w, after->offline_amount);
    cp_cbor_put_uint(&w, 2);
    cp_cbor_put_uint(&w, after->offline_count);
    if ((r = put_writer(s, CP_KEY_OFFLINE, &w)) != CP_OK) return r;
  }
  if (after->load_counter != before->load_counter &&
      (r = cp_state_put_uint(s, CP_KEY_LOADS, after->load_counter)) != CP_OK)
    return r;
  if (hash_changed) {
    cp_cbor_writer_init(&w, buf, sizeof buf);
    cp_cbor_put_map(&w, 1);
    cp_cbor_put_uint(&w, 1);
    cp_cbor_put_bytes(&w, after->last_hash, 32);
    r = put_writer(s, CP_KEY_LAST_HASH, &w);
  }
  return r;
}

cp_result cp_state_put_voidable(cp_store *s, uint64_t before, uint64_t counter) {
  return before == counter ? CP_OK : cp_state_put_uint(s, CP_KEY_VOIDABLE, counter);
}

void cp_state_encode_limits(cp_cbor_writer *w, const cp_limits *l) {
  cp_cbor_put_map(w, 5);
  cp_cbor_put_uint(w, 1);
  cp_cbor_put_uint(w, l->per_transaction);
  cp_cbor_put_uint(w, 2);
  cp_cbor_put_uint(w, l->no_pin);
  cp_cbor_put_uint(w, 3);
  cp_cbor_put_uint(w, l->offline_amount);
  cp_cbor_put_uint(w, 4);
  cp_cbor_put_uint(w, l->offline_count);
  cp_cbor_put_uint(w, 5);
  cp_cbor_put_uint(w, l->max_balance);
}

cp_result cp_state_put_identity(cp_store *s, const cp_identity *id, uint8_t *buf, size_t cap) {
  cp_cbor_writer w;
  cp_cbor_writer_init(&w, buf, cap);
  cp_cbor_put_map(&w, 8);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_bytes(&w, id->card_id, 8);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_uint(&w, id->algorithm);
  cp_cbor_put_uint(&w, 3);
  cp_cbor_put_bytes(&w, id->priv, 32);
  cp_cbor_put_uint(&w, 4);
  cp_cbor_put_bytes(&w, id->pub, 65);
  cp_cbor_put_uint(&w, 5);
  cp_cbor_put_bytes(&w, id->issuer, id->issuer_len);
  cp_cbor_put_uint(&w, 6);
  cp_cbor_put_bytes(&w, id->certificate, id->certificate_len);
  cp_cbor_put_uint(&w, 7);
  cp_cbor_put_uint(&w, id->currency);
  cp_cbor_put_uint(&w, 8);
  cp_state_encode_limits(&w, &id->limits);
  return put_writer(s, CP_KEY_IDENTITY, &w);
}

cp_result cp_state_put_pending(cp_store *s, const cp_pending *p, uint8_t *buf, size_t cap) {
  cp_cbor_writer w;
  cp_cbor_writer_init(&w, buf, cap);
  cp_cbor_put_map(&w, 6);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_bytes(&w, p->card_id, 8);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_uint(&w, p->algorithm);
  cp_cbor_put_uint(&w, 3);
  cp_cbor_put_bytes(&w, p->priv, 32);
  cp_cbor_put_uint(&w, 4);
  cp_cbor_put_bytes(&w, p->pub, 65);
  cp_cbor_put_uint(&w, 5);
  cp_cbor_put_bytes(&w, p->issuer, p->issuer_len);
  cp_cbor_put_uint(&w, 6);
  cp_cbor_put_bytes(&w, p->challenge, 16);
  return put_writer(s, CP_KEY_PERSO, &w);
}

cp_result cp_state_finish(cp_store *s, cp_result r) {
  if (r == CP_OK) return cp_store_commit(s);
  if (r != CP_POWER_LOST) cp_store_abort(s); /* after a power cut nothing is touched: power-on recovers */
  return r;
}
