/*
 * cardpost firmware: the validating canonical CBOR decoder (docs/protocol.md §8.3).
 *
 * Mirrors protocol/cbor/decode.ts check for check and in the same order, so both refuse a given
 * input with the same code at the same byte. Instead of recursion, open arrays, maps and tags are
 * frames on a fixed stack of CP_CBOR_MAX_DEPTH; every count is compared with the bytes left
 * before it is believed, so a head claiming 2^32 elements costs nothing.
 */
#include "cp_cbor.h"

typedef struct {
  uint32_t left;     /* items still expected: elements, or keys + values */
  uint32_t prev_ks;  /* the previous key's encoding [prev_ks, prev_ke), for the order check */
  uint32_t prev_ke;
  uint8_t is_map;
  uint8_t has_prev;
} frame;

typedef struct {
  const uint8_t *b;
  size_t len;
  size_t pos;
  size_t at; /* where the failure is reported */
  uint32_t items;
} cursor;

static cp_cbor_err fail(cursor *c, cp_cbor_err e, size_t at) {
  c->at = at;
  return e;
}

/* The argument of a head with additional info ai < 28, in shortest form. big: it is >= 2^53. */
static cp_cbor_err argument(cursor *c, unsigned ai, size_t start, uint64_t *v, int *big) {
  unsigned n, i;
  *big = 0;
  if (ai < 24) {
    *v = ai;
    return CP_CBOR_OK;
  }
  if (ai > 27) return fail(c, CP_CBOR_RESERVED_AI, start);
  n = 1u << (ai - 24);
  if (c->len - c->pos < n) return fail(c, CP_CBOR_TRUNCATED, start);
  *v = 0;
  for (i = 0; i < n; i++) *v = (*v << 8) | c->b[c->pos + i];
  c->pos += n;
  /* shortest form: each width must hold a value the narrower one cannot */
  if ((n == 1 && *v < 24) || (n == 2 && *v < 0x100) || (n == 4 && *v < 0x10000) || (n == 8 && (*v >> 32) == 0))
    return fail(c, CP_CBOR_NON_CANONICAL, start);
  *big = (*v >> 53) != 0;
  return CP_CBOR_OK;
}

/* The length of a string, array or map: definite only; a length of 2^53 or more cannot fit. */
static cp_cbor_err length(cursor *c, unsigned ai, size_t start, uint64_t *n) {
  int big;
  cp_cbor_err e;
  if (ai == 31) return fail(c, CP_CBOR_INDEFINITE_LENGTH, start);
  e = argument(c, ai, start, n, &big);
  if (e) return e;
  if (big) return fail(c, CP_CBOR_TRUNCATED, start);
  return CP_CBOR_OK;
}

/* n entries of per items each: bounded by the bytes left (each item takes one) and by the item limit. */
static cp_cbor_err check_count(cursor *c, uint64_t n, unsigned per, size_t start) {
  if (n * per > c->len - c->pos) return fail(c, CP_CBOR_TRUNCATED, start);
  if ((uint64_t)c->items + n * per > CP_CBOR_MAX_ITEMS) return fail(c, CP_CBOR_TOO_MANY_ITEMS, start);
  return CP_CBOR_OK;
}

static cp_cbor_err simple_or_float(cursor *c, unsigned ai, size_t start) {
  if (ai >= 20 && ai <= 23) return CP_CBOR_OK;
  if (ai == 24) {
    if (c->len - c->pos < 1) return fail(c, CP_CBOR_TRUNCATED, start);
    c->pos++;
    return fail(c, CP_CBOR_UNSUPPORTED_SIMPLE, start);
  }
  if (ai >= 25 && ai <= 27) {
    unsigned w = 1u << (ai - 24);
    cp_cbor_err e;
    if (c->len - c->pos < w) return fail(c, CP_CBOR_TRUNCATED, start);
    e = cp_cbor_float_canonical(c->b + c->pos, w);
    c->pos += w;
    return e ? fail(c, e, start) : CP_CBOR_OK;
  }
  if (ai >= 28 && ai <= 30) return fail(c, CP_CBOR_RESERVED_AI, start);
  if (ai == 31) return fail(c, CP_CBOR_UNEXPECTED_BREAK, start);
  return fail(c, CP_CBOR_UNSUPPORTED_SIMPLE, start);
}

/* Bytewise lexicographic order of two encodings; a prefix sorts first. */
static int compare_keys(const uint8_t *b, size_t as, size_t ae, size_t bs, size_t be) {
  while (as < ae && bs < be) {
    if (b[as] != b[bs]) return b[as] < b[bs] ? -1 : 1;
    as++;
    bs++;
  }
  if (as == ae && bs == be) return 0;
  return as == ae ? -1 : 1;
}

cp_cbor_err cp_cbor_check(const uint8_t *buf, size_t len, unsigned max_depth, size_t *err_at) {
  frame st[CP_CBOR_MAX_DEPTH];
  unsigned depth = 0; /* open frames = containers around the next item */
  cursor c;
  cp_cbor_err e = CP_CBOR_OK;
  size_t dummy;
  if (!err_at) err_at = &dummy;
  *err_at = 0;
  if (max_depth < 1) max_depth = 1;
  if (max_depth > CP_CBOR_MAX_DEPTH) max_depth = CP_CBOR_MAX_DEPTH;
  if (len > CP_CBOR_MAX_BYTES) return CP_CBOR_TOO_LARGE;
  if (len == 0 || !buf) return CP_CBOR_TRUNCATED;
  c.b = buf;
  c.len = len;
  c.pos = 0;
  c.at = 0;
  c.items = 0;

  for (;;) {
    size_t start = c.pos;
    frame *top = depth ? &st[depth - 1] : 0;
    int is_key = top && top->is_map && (top->left % 2u) == 0;
    unsigned major, ai;
    uint64_t v;
    int big;
    if (is_key) { /* decode.ts checks these before it counts the key as an item */
      if (start >= len) { e = fail(&c, CP_CBOR_TRUNCATED, start); break; }
      major = buf[start] >> 5;
      if (major != 0 && major != 1 && major != 3) { e = fail(&c, CP_CBOR_UNSUPPORTED_KEY, start); break; }
    }
    if (++c.items > CP_CBOR_MAX_ITEMS) { e = fail(&c, CP_CBOR_TOO_MANY_ITEMS, start); break; }
    if (start >= len) { e = fail(&c, CP_CBOR_TRUNCATED, start); break; }
    major = buf[start] >> 5;
    ai = buf[start] & 0x1fu;
    c.pos++;

    switch (major) {
      case 0:
      case 1:
        e = ai == 31 ? fail(&c, CP_CBOR_RESERVED_AI, start) : argument(&c, ai, start, &v, &big);
        break;
      case 2:
      case 3:
        e = length(&c, ai, start, &v);
        if (e) break;
        if (v > len - c.pos) { e = fail(&c, CP_CBOR_TRUNCATED, start); break; }
        if (major == 3 && !cp_cbor_utf8_valid(buf + c.pos, (size_t)v)) { e = fail(&c, CP_CBOR_INVALID_UTF8, start); break; }
        c.pos += (size_t)v;
        break;
      case 4:
      case 5: {
        unsigned per = major == 5 ? 2u : 1u;
        e = length(&c, ai, start, &v);
        if (e) break;
        if (depth + 1 > max_depth) { e = fail(&c, CP_CBOR_TOO_DEEP, start); break; }
        e = check_count(&c, v, per, start);
        if (e || v == 0) break;
        st[depth].left = (uint32_t)(v * per);
        st[depth].is_map = (uint8_t)(major == 5);
        st[depth].has_prev = 0;
        st[depth].prev_ks = st[depth].prev_ke = 0;
        depth++;
        continue; /* its first element is next; the container completes when its frame empties */
      }
      case 6:
        if (ai == 31) { e = fail(&c, CP_CBOR_RESERVED_AI, start); break; }
        e = argument(&c, ai, start, &v, &big);
        if (e) break;
        if (!big && (v == 2 || v == 3)) { e = fail(&c, CP_CBOR_UNSUPPORTED_TAG, start); break; }
        if (depth + 1 > max_depth) { e = fail(&c, CP_CBOR_TOO_DEEP, start); break; }
        st[depth].left = 1;
        st[depth].is_map = 0;
        st[depth].has_prev = 0;
        st[depth].prev_ks = st[depth].prev_ke = 0;
        depth++;
        continue;
      default:
        e = simple_or_float(&c, ai, start);
        break;
    }
    if (e) break;

    if (is_key) { /* keys are scalars, so the key just finished */
      if (top->has_prev) {
        int order = compare_keys(buf, top->prev_ks, top->prev_ke, start, c.pos);
        if (order == 0) { e = fail(&c, CP_CBOR_DUPLICATE_KEY, start); break; }
        if (order > 0) { e = fail(&c, CP_CBOR_UNSORTED_KEYS, start); break; }
      }
      top->has_prev = 1;
      top->prev_ks = (uint32_t)start;
      top->prev_ke = (uint32_t)c.pos;
    }
    /* One item done: it counts for its container, which may complete in turn. */
    while (depth > 0) {
      if (--st[depth - 1].left > 0) break;
      depth--;
    }
    if (depth == 0) break;
  }

  if (e) {
    *err_at = c.at;
    return e;
  }
  if (c.pos != len) {
    *err_at = c.pos;
    return CP_CBOR_TRAILING_BYTES;
  }
  return CP_CBOR_OK;
}
