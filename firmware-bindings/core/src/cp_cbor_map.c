/*
 * cardpost firmware: MapReader for integer-keyed maps (protocol/cbor/reader.ts). Every wrong
 * type, size or range, missing required key or unread key is CP_CBOR_SCHEMA, which the card
 * answers as INVALID_PARAMETER. The first error sticks, as the first exception does in TS.
 */
#include "cp_cbor.h"

static cp_cbor_err set_err(cp_cbor_map *m, cp_cbor_err e) {
  if (!m->err) m->err = e;
  return m->err;
}

cp_cbor_err cp_cbor_map_open_item(cp_cbor_map *m, const cp_cbor_item *it) {
  m->first = it->data;
  m->end = it->data;
  m->count = 0;
  m->read = 0;
  m->err = CP_CBOR_OK;
  if (it->type != CP_CBOR_T_MAP || it->arg > CP_CBOR_MAP_MAX_ENTRIES) return set_err(m, CP_CBOR_SCHEMA);
  m->end = it->end;
  m->count = (uint32_t)it->arg;
  return CP_CBOR_OK;
}

cp_cbor_err cp_cbor_map_open(cp_cbor_map *m, const uint8_t *buf, size_t len) {
  cp_cbor_item it;
  cp_cbor_err e = cp_cbor_item_at(buf, len, &it);
  if (e) {
    m->first = m->end = buf;
    m->count = 0;
    m->read = 0;
    m->err = CP_CBOR_OK;
    return set_err(m, CP_CBOR_SCHEMA);
  }
  return cp_cbor_map_open_item(m, &it);
}

/* The value under key, or 0 if absent; *index = the entry's position. */
static int find(const cp_cbor_map *m, uint64_t key, cp_cbor_item *value, uint32_t *index) {
  const uint8_t *p = m->first;
  uint32_t i;
  for (i = 0; i < m->count; i++) {
    cp_cbor_item k;
    if (cp_cbor_item_at(p, (size_t)(m->end - p), &k)) return 0;
    p += k.size;
    if (cp_cbor_item_at(p, (size_t)(m->end - p), value)) return 0;
    p += value->size;
    if (k.type == CP_CBOR_T_UINT && k.arg == key) {
      *index = i;
      return 1;
    }
    if (k.type != CP_CBOR_T_UINT || k.arg > key) return 0; /* sorted: unsigned keys come first, ascending */
  }
  return 0;
}

int cp_cbor_map_has(const cp_cbor_map *m, uint64_t key) {
  cp_cbor_item v;
  uint32_t i;
  return find(m, key, &v, &i);
}

cp_cbor_err cp_cbor_map_value(cp_cbor_map *m, uint64_t key, uint8_t *present, cp_cbor_item *out) {
  uint32_t i;
  if (present) *present = 0;
  if (m->err) return m->err;
  if (!find(m, key, out, &i)) return present ? CP_CBOR_OK : set_err(m, CP_CBOR_SCHEMA);
  m->read |= (uint64_t)1 << i;
  if (present) *present = 1;
  return CP_CBOR_OK;
}

/* Looks the key up; 1 with the value when it is there and no error stands, 0 otherwise. */
static int lookup(cp_cbor_map *m, uint64_t key, uint8_t *present, cp_cbor_item *v) {
  uint8_t here = 0;
  if (present) *present = 0;
  if (cp_cbor_map_value(m, key, &here, v)) return 0;
  if (!here) {
    if (!present) set_err(m, CP_CBOR_SCHEMA);
    return 0;
  }
  return 1;
}

/* After a present value passed its checks. */
static cp_cbor_err accepted(cp_cbor_map *m, uint8_t *present) {
  if (present) *present = 1;
  return m->err;
}

cp_cbor_err cp_cbor_as_uint(const cp_cbor_item *it, uint64_t min, uint64_t max, uint64_t *out) {
  if (it->type != CP_CBOR_T_UINT || it->arg > CP_CBOR_SAFE_MAX || it->arg < min || it->arg > max)
    return CP_CBOR_SCHEMA;
  *out = it->arg;
  return CP_CBOR_OK;
}

cp_cbor_err cp_cbor_as_bytes(const cp_cbor_item *it, uint64_t min_len, uint64_t max_len, const uint8_t **data,
                             size_t *len) {
  if (it->type != CP_CBOR_T_BYTES || it->arg < min_len || it->arg > max_len) return CP_CBOR_SCHEMA;
  *data = it->data;
  *len = (size_t)it->arg;
  return CP_CBOR_OK;
}

cp_cbor_err cp_cbor_map_uint(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min, uint64_t max,
                             uint64_t *out) {
  cp_cbor_item v;
  if (!lookup(m, key, present, &v)) return m->err;
  if (cp_cbor_as_uint(&v, min, max, out)) return set_err(m, CP_CBOR_SCHEMA);
  return accepted(m, present);
}

cp_cbor_err cp_cbor_map_uint64(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t *out) {
  cp_cbor_item v;
  if (!lookup(m, key, present, &v)) return m->err;
  if (v.type != CP_CBOR_T_UINT) return set_err(m, CP_CBOR_SCHEMA);
  *out = v.arg;
  return accepted(m, present);
}

cp_cbor_err cp_cbor_map_bytes(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min_len,
                              uint64_t max_len, const uint8_t **data, size_t *len) {
  cp_cbor_item v;
  if (!lookup(m, key, present, &v)) return m->err;
  if (cp_cbor_as_bytes(&v, min_len, max_len, data, len)) return set_err(m, CP_CBOR_SCHEMA);
  return accepted(m, present);
}

cp_cbor_err cp_cbor_map_text(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min_len,
                             uint64_t max_len, const uint8_t **data, size_t *len) {
  cp_cbor_item v;
  if (!lookup(m, key, present, &v)) return m->err;
  if (v.type != CP_CBOR_T_TEXT || v.arg < min_len || v.arg > max_len) return set_err(m, CP_CBOR_SCHEMA);
  *data = v.data;
  *len = (size_t)v.arg;
  return accepted(m, present);
}

cp_cbor_err cp_cbor_map_bool(cp_cbor_map *m, uint64_t key, uint8_t *present, uint8_t *out) {
  cp_cbor_item v;
  if (!lookup(m, key, present, &v)) return m->err;
  if (v.type != CP_CBOR_T_SIMPLE || (v.arg != 20 && v.arg != 21)) return set_err(m, CP_CBOR_SCHEMA);
  *out = (uint8_t)(v.arg == 21);
  return accepted(m, present);
}

cp_cbor_err cp_cbor_map_array(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min_len,
                              uint64_t max_len, cp_cbor_iter *it) {
  cp_cbor_item v;
  if (!lookup(m, key, present, &v)) return m->err;
  if (v.type != CP_CBOR_T_ARRAY || v.arg < min_len || v.arg > max_len) return set_err(m, CP_CBOR_SCHEMA);
  cp_cbor_iter_init(it, &v);
  return accepted(m, present);
}

cp_cbor_err cp_cbor_map_map(cp_cbor_map *m, uint64_t key, uint8_t *present, cp_cbor_map *child) {
  cp_cbor_item v;
  if (!lookup(m, key, present, &v)) return m->err;
  if (cp_cbor_map_open_item(child, &v)) return set_err(m, CP_CBOR_SCHEMA);
  return accepted(m, present);
}

cp_cbor_err cp_cbor_map_done(cp_cbor_map *m, int allow_unknown) {
  uint64_t all;
  if (m->err || allow_unknown) return m->err;
  all = m->count >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << m->count) - 1);
  if ((m->read & all) != all) return set_err(m, CP_CBOR_SCHEMA);
  return CP_CBOR_OK;
}
