/*
 * cardpost firmware: the strict canonical CBOR subset the card speaks (docs/protocol.md §8).
 *
 * Three parts, all over caller buffers (no malloc, no globals, no recursion):
 *  1. cp_cbor_check: a validating decoder. It accepts exactly the bytes the TypeScript
 *     encodeCanonical produces and refuses the rest with the same error code as decodeCanonical
 *     (protocol/cbor/decode.ts), checking in the same order. Nesting uses a fixed stack of
 *     CP_CBOR_MAX_DEPTH frames, so a hostile depth costs nothing.
 *  2. Readers over VALIDATED bytes: cp_cbor_item_at / cp_cbor_iter (any item, array elements) and
 *     cp_cbor_map, the MapReader of protocol/cbor/reader.ts for integer keys. They stay memory-safe
 *     on any input, but their answers are only meaningful for bytes cp_cbor_check accepted.
 *  3. cp_cbor_writer: the canonical encoder for the pieces responses need, with an overflow flag.
 *
 * How a command reads its request (the command layer first ran cp_cbor_check on the whole
 * parameter map, §3: INVALID_CBOR if that fails):
 *
 *   cp_cbor_map r;
 *   uint64_t amount;
 *   const uint8_t *nonce, *memo;
 *   size_t nonce_len, memo_len;
 *   uint8_t have_memo;
 *   cp_cbor_map_open(&r, params, params_len);
 *   cp_cbor_map_uint(&r, 1, NULL, 0, 99999999, &amount);            required
 *   cp_cbor_map_bytes(&r, 3, NULL, 16, 16, &nonce, &nonce_len);     required, exactly 16 bytes
 *   cp_cbor_map_text(&r, 4, &have_memo, 0, 64, &memo, &memo_len);   optional
 *   if (cp_cbor_map_done(&r, 0) != CP_CBOR_OK) answer cp_cbor_card_status(r.err): INVALID_PARAMETER
 *
 * Errors are sticky: after the first failure every accessor returns it again without looking, so a
 * command reads all its fields and checks once (like the first exception in the TS MapReader).
 */
#ifndef CP_CBOR_H
#define CP_CBOR_H

#include <stddef.h>
#include <stdint.h>

/* Nesting of arrays, maps and tags (a top-level map is depth 1): the TS decoder's default. */
#define CP_CBOR_MAX_DEPTH 16u
/* The TS decoder's default maxBytes and maxItems (a card message never comes near them). */
#define CP_CBOR_MAX_BYTES 1048576u
#define CP_CBOR_MAX_ITEMS 65536u
/* Entries a cp_cbor_map can track as read. A bigger map is refused as CP_CBOR_SCHEMA: no protocol
 * message has that many fields, so such a map always carries unknown ones. */
#define CP_CBOR_MAP_MAX_ENTRIES 64u
/* "No upper bound" for the max arguments of the accessors. */
#define CP_CBOR_NO_MAX UINT64_MAX
/* Largest value of a protocol uint (§1): 2^53 - 1, as the TS MapReader's uint(). */
#define CP_CBOR_SAFE_MAX 9007199254740991ull

/* Stable numbers; names and meanings are protocol/cbor/codes.ts's (docs/protocol.md §8.5). */
typedef enum {
  CP_CBOR_OK = 0,
  CP_CBOR_TRUNCATED = 1,
  CP_CBOR_TRAILING_BYTES = 2,
  CP_CBOR_TOO_LARGE = 3,
  CP_CBOR_TOO_DEEP = 4,
  CP_CBOR_TOO_MANY_ITEMS = 5,
  CP_CBOR_NON_CANONICAL = 6,
  CP_CBOR_FLOAT_NON_CANONICAL = 7,
  CP_CBOR_INDEFINITE_LENGTH = 8,
  CP_CBOR_UNEXPECTED_BREAK = 9,
  CP_CBOR_RESERVED_AI = 10,
  CP_CBOR_UNSORTED_KEYS = 11,
  CP_CBOR_DUPLICATE_KEY = 12,
  CP_CBOR_UNSUPPORTED_KEY = 13,
  CP_CBOR_INVALID_UTF8 = 14,
  CP_CBOR_UNSUPPORTED_SIMPLE = 15,
  CP_CBOR_UNSUPPORTED_TAG = 16,
  CP_CBOR_SCHEMA = 17 /* MapReader: a missing, mistyped, out-of-range or unknown field */
} cp_cbor_err;

/* Card status bytes (docs/protocol.md §5) the CBOR layer produces. */
#define CP_CBOR_STATUS_INVALID_CBOR 0x02u
#define CP_CBOR_STATUS_INVALID_PARAMETER 0x03u

/* The status a card answers for a request that failed with e (§8.5: SCHEMA -> INVALID_PARAMETER,
 * every other decode error -> INVALID_CBOR). Not meaningful for CP_CBOR_OK. */
uint8_t cp_cbor_card_status(cp_cbor_err e);

/* The TS code name ("CBOR_TRUNCATED", ...) for tests and logs; "CBOR_OK" for CP_CBOR_OK. */
const char *cp_cbor_err_name(cp_cbor_err e);

/* ------------------------------------------------------------------ 1. validation */

/*
 * Exactly one canonical data item filling buf[0..len). max_depth: 1..CP_CBOR_MAX_DEPTH (larger is
 * clamped). err_at (may be NULL) receives the byte offset the TS message would name ("at byte N").
 * Empty input is CP_CBOR_TRUNCATED, as in TS.
 */
cp_cbor_err cp_cbor_check(const uint8_t *buf, size_t len, unsigned max_depth, size_t *err_at);

/* Building blocks of cp_cbor_check, usable on their own. */
/* 1 if p[0..len) is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
int cp_cbor_utf8_valid(const uint8_t *p, size_t len);
/* A float's content bytes (width 2, 4 or 8, big-endian) after its f9/fa/fb head: CP_CBOR_OK if the
 * canonical encoder would have produced them (§8.2.2-8.2.3), else CP_CBOR_FLOAT_NON_CANONICAL. */
cp_cbor_err cp_cbor_float_canonical(const uint8_t *p, unsigned width);

/* ------------------------------------------------------------------ 2. reading validated bytes */

typedef enum {
  CP_CBOR_T_UINT = 0,   /* arg = value */
  CP_CBOR_T_NINT = 1,   /* arg = n, the value is -1 - n */
  CP_CBOR_T_BYTES = 2,  /* arg = length, data = content */
  CP_CBOR_T_TEXT = 3,   /* arg = length in UTF-8 bytes, data = content */
  CP_CBOR_T_ARRAY = 4,  /* arg = element count, data = first element */
  CP_CBOR_T_MAP = 5,    /* arg = entry count, data = first key */
  CP_CBOR_T_TAG = 6,    /* arg = tag number, data = the tagged item */
  CP_CBOR_T_SIMPLE = 7, /* arg = 20 false, 21 true, 22 null, 23 undefined */
  CP_CBOR_T_FLOAT = 8   /* arg = the raw 2, 4 or 8 bytes, big-endian */
} cp_cbor_type;

typedef struct {
  uint8_t type;        /* cp_cbor_type */
  uint64_t arg;        /* see cp_cbor_type */
  const uint8_t *data; /* see cp_cbor_type; the byte after the head otherwise */
  size_t size;         /* bytes of the whole item: head, content, every nested item */
  const uint8_t *end;  /* the byte after the item */
} cp_cbor_item;

/* The item that starts at buf[0] (len bytes available). CP_CBOR_TRUNCATED if it runs past len,
 * CP_CBOR_RESERVED_AI etc. for a head no valid item has; no other check. */
cp_cbor_err cp_cbor_item_at(const uint8_t *buf, size_t len, cp_cbor_item *it);

/* Walks the elements of an array (or the keys and values, alternating, of a map). */
typedef struct {
  const uint8_t *p;
  const uint8_t *end;
  uint64_t left; /* items still to come */
} cp_cbor_iter;

void cp_cbor_iter_init(cp_cbor_iter *it, const cp_cbor_item *container);
/* 1 and the next item in *out; 0 at the end (or on bytes that were never validated). */
int cp_cbor_iter_next(cp_cbor_iter *it, cp_cbor_item *out);

/* MapReader for unsigned integer keys (every map of docs/protocol.md §4). */
typedef struct {
  const uint8_t *first; /* the first key */
  const uint8_t *end;   /* the byte after the map */
  uint32_t count;       /* entries */
  uint64_t read;        /* bit i: entry i was asked for (done() refuses the others) */
  cp_cbor_err err;      /* first failure; sticky */
} cp_cbor_map;

/* buf[0..len) starts with a map item (trailing bytes are not looked at). Not a map: CP_CBOR_SCHEMA. */
cp_cbor_err cp_cbor_map_open(cp_cbor_map *m, const uint8_t *buf, size_t len);
cp_cbor_err cp_cbor_map_open_item(cp_cbor_map *m, const cp_cbor_item *it);
/* Whether key is present (does not mark it read). */
int cp_cbor_map_has(const cp_cbor_map *m, uint64_t key);

/*
 * Accessors. present == NULL: the key is required (missing -> CP_CBOR_SCHEMA). present != NULL:
 * optional, *present = 0 when absent (outputs untouched, CP_CBOR_OK), 1 when present and valid.
 * A present value of the wrong type or out of range is CP_CBOR_SCHEMA either way. Lengths are in
 * bytes (text: UTF-8 bytes) or elements; use min == max for an exact length.
 */
cp_cbor_err cp_cbor_map_value(cp_cbor_map *m, uint64_t key, uint8_t *present, cp_cbor_item *out);
/* A safe unsigned integer (<= 2^53 - 1) in [min, max], as MapReader.uint. */
cp_cbor_err cp_cbor_map_uint(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min, uint64_t max,
                             uint64_t *out);
/* Any unsigned 64-bit integer, as MapReader.uint64. */
cp_cbor_err cp_cbor_map_uint64(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t *out);
cp_cbor_err cp_cbor_map_bytes(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min_len,
                              uint64_t max_len, const uint8_t **data, size_t *len);
cp_cbor_err cp_cbor_map_text(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min_len,
                             uint64_t max_len, const uint8_t **data, size_t *len);
cp_cbor_err cp_cbor_map_bool(cp_cbor_map *m, uint64_t key, uint8_t *present, uint8_t *out);
/* An array of min_len..max_len elements; *it walks them (check each with cp_cbor_as_* below). */
cp_cbor_err cp_cbor_map_array(cp_cbor_map *m, uint64_t key, uint8_t *present, uint64_t min_len,
                              uint64_t max_len, cp_cbor_iter *it);
/* A nested map, as its own reader (call cp_cbor_map_done on it too). */
cp_cbor_err cp_cbor_map_map(cp_cbor_map *m, uint64_t key, uint8_t *present, cp_cbor_map *child);
/* Finish: the sticky error, else CP_CBOR_SCHEMA if a key nobody asked for is present (unless
 * allow_unknown). Stores its answer in m->err. */
cp_cbor_err cp_cbor_map_done(cp_cbor_map *m, int allow_unknown);

/* The same checks on a lone item (array elements): CP_CBOR_OK or CP_CBOR_SCHEMA. */
cp_cbor_err cp_cbor_as_uint(const cp_cbor_item *it, uint64_t min, uint64_t max, uint64_t *out);
cp_cbor_err cp_cbor_as_bytes(const cp_cbor_item *it, uint64_t min_len, uint64_t max_len, const uint8_t **data,
                             size_t *len);

/* ------------------------------------------------------------------ 3. writing */

/*
 * Appends canonical heads and items to buf. Once something does not fit, overflow is set, len
 * stops growing and later calls do nothing: check overflow once at the end. Map keys must be
 * written in canonical order by the caller (unsigned integers ascending).
 */
typedef struct {
  uint8_t *buf;
  size_t cap;
  size_t len;
  uint8_t overflow;
} cp_cbor_writer;

void cp_cbor_writer_init(cp_cbor_writer *w, uint8_t *buf, size_t cap);
void cp_cbor_put_uint(cp_cbor_writer *w, uint64_t v);
void cp_cbor_put_nint(cp_cbor_writer *w, uint64_t n); /* the value -1 - n */
void cp_cbor_put_int(cp_cbor_writer *w, int64_t v);
void cp_cbor_put_bytes(cp_cbor_writer *w, const uint8_t *data, size_t len);
void cp_cbor_put_text(cp_cbor_writer *w, const char *utf8, size_t len);
void cp_cbor_put_bool(cp_cbor_writer *w, int v);
void cp_cbor_put_null(cp_cbor_writer *w);
void cp_cbor_put_array(cp_cbor_writer *w, uint64_t count);
void cp_cbor_put_map(cp_cbor_writer *w, uint64_t count);
void cp_cbor_put_tag(cp_cbor_writer *w, uint64_t tag);
/* Bytes that already are one canonical item (a stored certificate, a record). */
void cp_cbor_put_raw(cp_cbor_writer *w, const uint8_t *item, size_t len);

#endif
