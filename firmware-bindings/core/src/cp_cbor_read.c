/*
 * cardpost firmware: reading items out of canonical CBOR that cp_cbor_check accepted: one item's
 * head and extent, and iteration over array elements. Skipping a container needs no stack: only
 * the count of items still to skip, since every item adds its children to that count.
 */
#include "cp_cbor.h"

/* Head at buf[0]: major type, argument and head length. No canonical checks (validated input). */
static cp_cbor_err read_head(const uint8_t *buf, size_t len, unsigned *major, uint64_t *arg, size_t *hlen) {
  unsigned ai, n, i;
  if (len < 1) return CP_CBOR_TRUNCATED;
  *major = buf[0] >> 5;
  ai = buf[0] & 0x1fu;
  if (ai < 24) {
    *arg = ai;
    *hlen = 1;
    return CP_CBOR_OK;
  }
  if (ai == 31) return *major == 7 ? CP_CBOR_UNEXPECTED_BREAK : CP_CBOR_INDEFINITE_LENGTH;
  if (ai > 27) return CP_CBOR_RESERVED_AI;
  n = 1u << (ai - 24);
  if (len - 1 < n) return CP_CBOR_TRUNCATED;
  *arg = 0;
  for (i = 0; i < n; i++) *arg = (*arg << 8) | buf[1 + i];
  *hlen = 1 + n;
  return CP_CBOR_OK;
}

cp_cbor_err cp_cbor_item_at(const uint8_t *buf, size_t len, cp_cbor_item *it) {
  unsigned major;
  uint64_t arg, todo;
  size_t hlen, pos;
  cp_cbor_err e;
  if (!buf || !it) return CP_CBOR_TRUNCATED;
  e = read_head(buf, len, &major, &arg, &hlen);
  if (e) return e;
  it->arg = arg;
  it->data = buf + hlen;
  if (major == 7) {
    unsigned ai = buf[0] & 0x1fu;
    if (ai < 20 || ai == 24) return CP_CBOR_UNSUPPORTED_SIMPLE;
    it->type = ai >= 25 ? CP_CBOR_T_FLOAT : CP_CBOR_T_SIMPLE;
    it->size = hlen;
    it->end = buf + hlen;
    return CP_CBOR_OK;
  }
  it->type = (uint8_t)major;
  /* Walk the item and everything in it: todo = items still to pass over. */
  pos = 0;
  todo = 1;
  while (todo > 0) {
    if (pos > 0) { /* the item itself was read above; read each nested head */
      e = read_head(buf + pos, len - pos, &major, &arg, &hlen);
      if (e) return e;
      if (major == 7) {
        unsigned ai = buf[pos] & 0x1fu;
        if (ai < 20 || ai == 24) return CP_CBOR_UNSUPPORTED_SIMPLE;
      }
    } else {
      major = it->type;
      arg = it->arg;
    }
    pos += hlen;
    todo--;
    if (major == 2 || major == 3) {
      if (arg > len - pos) return CP_CBOR_TRUNCATED;
      pos += (size_t)arg;
    } else if (major == 4 || major == 5 || major == 6) {
      uint64_t kids = major == 6 ? 1 : arg;
      if (kids > len - pos) return CP_CBOR_TRUNCATED; /* each item takes at least a byte */
      todo += major == 5 ? 2 * kids : kids;
    }
  }
  it->size = pos;
  it->end = buf + pos;
  return CP_CBOR_OK;
}

void cp_cbor_iter_init(cp_cbor_iter *it, const cp_cbor_item *container) {
  it->p = container->data;
  it->end = container->data;
  it->left = 0;
  if (container->type == CP_CBOR_T_ARRAY || container->type == CP_CBOR_T_MAP) {
    it->end = container->end;
    it->left = container->type == CP_CBOR_T_MAP ? 2 * container->arg : container->arg;
  }
}

int cp_cbor_iter_next(cp_cbor_iter *it, cp_cbor_item *out) {
  if (it->left == 0 || it->p >= it->end) return 0;
  if (cp_cbor_item_at(it->p, (size_t)(it->end - it->p), out) != CP_CBOR_OK) {
    it->left = 0;
    return 0;
  }
  it->p += out->size;
  it->left--;
  return 1;
}
