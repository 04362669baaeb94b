/*
 * Test driver for the firmware's canonical CBOR (firmware-bindings/core/src/cp_cbor*.c), driven by
 * test/firmware/cbor-c.test.ts. One command per stdin line, one answer line each:
 *
 *   C <hex>          validate: "<CODE> <at>", plus " <hex>" = the item re-encoded with the C reader
 *                    and writer when it was accepted (must equal the input)
 *   R <hex> <ops>    MapReader: open the map, run the ops (see run_reader), answer "<CODE>"
 *   F <seed> <n>     fuzz: n mutated/random inputs through check, re-encode and the readers;
 *                    answers "fuzz <accepted> <rejected>" (a crash or sanitizer report fails it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_cbor.h"

#define MAX_INPUT 1100000

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Hex digits up to a space or the line end (no sscanf: it measures the whole line per call). */
static int unhex(const char *s, uint8_t *out, size_t cap, size_t *n) {
  size_t i = 0;
  while (s[0] && s[0] != ' ' && s[0] != '\n') {
    int hi = nibble(s[0]), lo = hi < 0 ? -1 : nibble(s[1]);
    if (lo < 0 || i >= cap) return 0;
    out[i++] = (uint8_t)(hi << 4 | lo);
    s += 2;
  }
  *n = i;
  return 1;
}

static void print_hex(const uint8_t *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) printf("%02x", p[i]);
}

/* Re-encodes validated bytes head by head (pre-order = encoding order), without recursion. */
static int reencode(const uint8_t *buf, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  cp_cbor_writer w;
  const uint8_t *p = buf, *end = buf + len;
  cp_cbor_writer_init(&w, out, cap);
  while (p < end) {
    cp_cbor_item it;
    if (cp_cbor_item_at(p, (size_t)(end - p), &it) != CP_CBOR_OK) return 0;
    switch (it.type) {
      case CP_CBOR_T_UINT: cp_cbor_put_uint(&w, it.arg); p = it.end; break;
      case CP_CBOR_T_NINT: cp_cbor_put_nint(&w, it.arg); p = it.end; break;
      case CP_CBOR_T_BYTES: cp_cbor_put_bytes(&w, it.data, (size_t)it.arg); p = it.end; break;
      case CP_CBOR_T_TEXT: cp_cbor_put_text(&w, (const char *)it.data, (size_t)it.arg); p = it.end; break;
      case CP_CBOR_T_ARRAY: cp_cbor_put_array(&w, it.arg); p = it.data; break;
      case CP_CBOR_T_MAP: cp_cbor_put_map(&w, it.arg); p = it.data; break;
      case CP_CBOR_T_TAG: cp_cbor_put_tag(&w, it.arg); p = it.data; break;
      case CP_CBOR_T_SIMPLE:
        if (it.arg == 20 || it.arg == 21) cp_cbor_put_bool(&w, it.arg == 21);
        else if (it.arg == 22) cp_cbor_put_null(&w);
        else cp_cbor_put_raw(&w, p, 1);
        p = it.end;
        break;
      default: cp_cbor_put_raw(&w, p, it.size); p = it.end; break; /* floats: the card never writes them */
    }
  }
  *out_len = w.len;
  return !w.overflow;
}

/*
 * ops, space separated, each "<kind><key>[?][:<a>:<b>]" on the map opened from the input:
 *   u uint in [a,b] | U uint64 | b bytes len [a,b] | t text len [a,b] | B bool | a array len [a,b]
 *   m nested map (opened, not read further) | d<allow_unknown> done
 * '?' = optional; b may be "max" for no upper bound. Answers the first error, as MapReader throws it.
 */
static cp_cbor_err run_reader(const uint8_t *buf, size_t len, char *ops) {
  cp_cbor_map m, child;
  char *tok;
  cp_cbor_map_open(&m, buf, len);
  for (tok = strtok(ops, " \n"); tok; tok = strtok(0, " \n")) {
    char kind = tok[0];
    char *rest = tok + 1, *colon;
    unsigned long long key = strtoull(rest, &colon, 10), a = 0, b = CP_CBOR_NO_MAX;
    uint8_t present = 0, *pp = 0, flag;
    uint64_t u;
    const uint8_t *data;
    size_t n;
    cp_cbor_iter iter;
    if (*colon == '?') {
      pp = &present;
      colon++;
    }
    if (*colon == ':') {
      a = strtoull(colon + 1, &colon, 10);
      if (*colon == ':') b = strncmp(colon + 1, "max", 3) == 0 ? CP_CBOR_NO_MAX : strtoull(colon + 1, 0, 10);
    }
    switch (kind) {
      case 'u': cp_cbor_map_uint(&m, key, pp, a, b, &u); break;
      case 'U': cp_cbor_map_uint64(&m, key, pp, &u); break;
      case 'b': cp_cbor_map_bytes(&m, key, pp, a, b, &data, &n); break;
      case 't': cp_cbor_map_text(&m, key, pp, a, b, &data, &n); break;
      case 'B': cp_cbor_map_bool(&m, key, pp, &flag); break;
      case 'a': cp_cbor_map_array(&m, key, pp, a, b, &iter); break;
      case 'm': cp_cbor_map_map(&m, key, pp, &child); break;
      case 'd': return cp_cbor_map_done(&m, (int)key);
      default: return CP_CBOR_TOO_LARGE; /* a test bug: visible as a mismatch */
    }
  }
  return m.err;
}

static uint32_t xorshift(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* Mutates a seed corpus of valid items and random bytes; every accepted input must re-encode to itself. */
static int fuzz(uint32_t seed, unsigned long rounds) {
  static const char *const corpus[] = {
      "a50102032620012158201111111111111111111111111111111111111111111111111111111111111111"
      "215820222222222222222222222222222222222222222222222222222222222222222222",
      "a263616c67266474797065", "83018202038204 05", "f93800", "fa477fe080", "fb3ff199999999999a",
      "c074323031332d30332d32315432303a30343a30305a", "a201020304", "9819010203040506070809",
      "64efbbbf61", "bf61610161629f0203ffff", "1b0020000000000000", "a3016161036162190100a0",
  };
  uint8_t in[512], out[1024];
  unsigned long i, accepted = 0, rejected = 0;
  uint32_t s = seed ? seed : 1;
  for (i = 0; i < rounds; i++) {
    size_t n = 0, at, k;
    char hex[400];
    const char *src = corpus[xorshift(&s) % (sizeof corpus / sizeof corpus[0])];
    size_t j = 0;
    for (k = 0; src[k] && j + 1 < sizeof hex; k++)
      if (src[k] != ' ') hex[j++] = src[k];
    hex[j] = 0;
    unhex(hex, in, sizeof in, &n);
    if (xorshift(&s) % 5 == 0) { /* pure random bytes */
      n = xorshift(&s) % 40;
      for (k = 0; k < n; k++) in[k] = (uint8_t)xorshift(&s);
    } else { /* a few byte flips, truncations, insertions */
      unsigned muts = 1 + xorshift(&s) % 4, mi;
      for (mi = 0; mi < muts && n > 0; mi++) {
        unsigned op = xorshift(&s) % 4;
        size_t pos = xorshift(&s) % n;
        if (op == 0) in[pos] = (uint8_t)xorshift(&s);
        else if (op == 1) in[pos] ^= (uint8_t)(1u << (xorshift(&s) % 8));
        else if (op == 2) n = pos;
        else if (n < sizeof in) {
          memmove(in + pos + 1, in + pos, n - pos);
          in[pos] = (uint8_t)xorshift(&s);
          n++;
        }
      }
    }
    if (cp_cbor_check(in, n, CP_CBOR_MAX_DEPTH, &at) == CP_CBOR_OK) {
      size_t out_len;
      cp_cbor_map m;
      accepted++;
      if (!reencode(in, n, out, sizeof out, &out_len) || out_len != n || memcmp(in, out, n) != 0) {
        printf("reencode mismatch for ");
        print_hex(in, n);
        printf("\n");
        return 1;
      }
      if (cp_cbor_map_open(&m, in, n) == CP_CBOR_OK) {
        uint64_t u;
        const uint8_t *d;
        size_t dl;
        cp_cbor_map_uint(&m, 1, 0, 0, CP_CBOR_NO_MAX, &u);
        cp_cbor_map_bytes(&m, 3, 0, 0, CP_CBOR_NO_MAX, &d, &dl);
        cp_cbor_map_done(&m, 0);
      }
    } else {
      rejected++;
      if (at > n) {
        printf("error offset %lu beyond input %lu\n", (unsigned long)at, (unsigned long)n);
        return 1;
      }
    }
    /* the readers must stay in bounds on bytes that were never validated */
    {
      cp_cbor_item it;
      cp_cbor_map m;
      cp_cbor_iter iter;
      uint64_t u;
      if (cp_cbor_item_at(in, n, &it) == CP_CBOR_OK && (it.type == CP_CBOR_T_ARRAY || it.type == CP_CBOR_T_MAP)) {
        cp_cbor_item e;
        cp_cbor_iter_init(&iter, &it);
        while (cp_cbor_iter_next(&iter, &e)) {
        }
      }
      cp_cbor_map_open(&m, in, n);
      cp_cbor_map_uint(&m, 2, 0, 0, CP_CBOR_NO_MAX, &u);
    }
  }
  printf("fuzz %lu %lu\n", accepted, rejected);
  return 0;
}

int main(void) {
  static char line[2 * MAX_INPUT + 4096];
  static uint8_t in[MAX_INPUT], out[MAX_INPUT + 64];
  while (fgets(line, sizeof line, stdin)) {
    size_t n = 0;
    if (line[0] == 'C' && line[1] == ' ') {
      size_t at = 0, out_len = 0;
      cp_cbor_err e;
      if (!unhex(line + 2, in, sizeof in, &n)) return 2;
      e = cp_cbor_check(in, n, CP_CBOR_MAX_DEPTH, &at);
      printf("%s %lu", cp_cbor_err_name(e), (unsigned long)at);
      if (e == CP_CBOR_OK) {
        if (!reencode(in, n, out, sizeof out, &out_len)) printf(" REENCODE_FAILED");
        else {
          printf(" ");
          print_hex(out, out_len);
        }
      }
      printf("\n");
    } else if (line[0] == 'R' && line[1] == ' ') {
      char *ops = strchr(line + 2, ' ');
      if (!unhex(line + 2, in, sizeof in, &n)) return 2;
      printf("%s\n", cp_cbor_err_name(run_reader(in, n, ops ? ops + 1 : line + strlen(line))));
    } else if (line[0] == 'F' && line[1] == ' ') {
      unsigned long seed = 0, rounds = 0;
      if (sscanf(line + 2, "%lu %lu", &seed, &rounds) != 2) return 2;
      if (fuzz((uint32_t)seed, rounds)) return 1;
    } else {
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
