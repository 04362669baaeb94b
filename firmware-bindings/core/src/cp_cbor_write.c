/*
 * cardpost firmware: the canonical CBOR writer (docs/protocol.md §8.1): shortest heads, definite
 * lengths. Overflow is sticky so that a response is built without a check after every field.
 */
#include <string.h>

#include "cp_cbor.h"

void cp_cbor_writer_init(cp_cbor_writer *w, uint8_t *buf, size_t cap) {
  w->buf = buf;
  w->cap = buf ? cap : 0;
  w->len = 0;
  w->overflow = 0;
}

static int room(cp_cbor_writer *w, size_t n) {
  if (w->overflow || w->cap - w->len < n) {
    w->overflow = 1;
    return 0;
  }
  return 1;
}

static void head(cp_cbor_writer *w, unsigned major, uint64_t v) {
  uint8_t h[9];
  size_t n, i;
  uint8_t mt = (uint8_t)(major << 5);
  if (v < 24) {
    h[0] = (uint8_t)(mt | v);
    n = 1;
  } else if (v < 0x100) {
    h[0] = (uint8_t)(mt | 24u);
    n = 2;
  } else if (v < 0x10000) {
    h[0] = (uint8_t)(mt | 25u);
    n = 3;
  } else if (v < 0x100000000ull) {
    h[0] = (uint8_t)(mt | 26u);
    n = 5;
  } else {
    h[0] = (uint8_t)(mt | 27u);
    n = 9;
  }
  for (i = n - 1; i >= 1; i--) { /* big-endian argument */
    h[i] = (uint8_t)(v & 0xffu);
    v >>= 8;
  }
  if (room(w, n)) {
    memcpy(w->buf + w->len, h, n);
    w->len += n;
  }
}

static void content(cp_cbor_writer *w, const void *p, size_t n) {
  if (n && room(w, n)) {
    memcpy(w->buf + w->len, p, n);
    w->len += n;
  }
}

void cp_cbor_put_uint(cp_cbor_writer *w, uint64_t v) { head(w, 0, v); }
void cp_cbor_put_nint(cp_cbor_writer *w, uint64_t n) { head(w, 1, n); }

void cp_cbor_put_int(cp_cbor_writer *w, int64_t v) {
  if (v >= 0)
    head(w, 0, (uint64_t)v);
  else
    head(w, 1, (uint64_t)(-(v + 1))); /* -1 - v without overflowing at INT64_MIN */
}

void cp_cbor_put_bytes(cp_cbor_writer *w, const uint8_t *data, size_t len) {
  head(w, 2, len);
  content(w, data, len);
}

void cp_cbor_put_text(cp_cbor_writer *w, const char *utf8, size_t len) {
  head(w, 3, len);
  content(w, utf8, len);
}

void cp_cbor_put_bool(cp_cbor_writer *w, int v) { head(w, 7, v ? 21u : 20u); }
void cp_cbor_put_null(cp_cbor_writer *w) { head(w, 7, 22u); }
void cp_cbor_put_array(cp_cbor_writer *w, uint64_t count) { head(w, 4, count); }
void cp_cbor_put_map(cp_cbor_writer *w, uint64_t count) { head(w, 5, count); }
void cp_cbor_put_tag(cp_cbor_writer *w, uint64_t tag) { head(w, 6, tag); }
void cp_cbor_put_raw(cp_cbor_writer *w, const uint8_t *item, size_t len) { content(w, item, len); }
