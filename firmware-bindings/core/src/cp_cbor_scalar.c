/*
 * cardpost firmware: the scalar rules of canonical CBOR (docs/protocol.md §8.1 rules 3 and 5,
 * §8.2.2-8.2.3): UTF-8 validity and the canonical-float test, plus the error names and the card
 * status an error maps to. Pure integer arithmetic: no FPU, no libm (soft doubles cost flash).
 */
#include "cp_cbor.h"

static const char *const err_names[] = {
    "CBOR_OK",
    "CBOR_TRUNCATED",
    "CBOR_TRAILING_BYTES",
    "CBOR_TOO_LARGE",
    "CBOR_TOO_DEEP",
    "CBOR_TOO_MANY_ITEMS",
    "CBOR_NON_CANONICAL",
    "CBOR_FLOAT_NON_CANONICAL",
    "CBOR_INDEFINITE_LENGTH",
    "CBOR_UNEXPECTED_BREAK",
    "CBOR_RESERVED_AI",
    "CBOR_UNSORTED_KEYS",
    "CBOR_DUPLICATE_KEY",
    "CBOR_UNSUPPORTED_KEY",
    "CBOR_INVALID_UTF8",
    "CBOR_UNSUPPORTED_SIMPLE",
    "CBOR_UNSUPPORTED_TAG",
    "CBOR_SCHEMA",
};

const char *cp_cbor_err_name(cp_cbor_err e) {
  unsigned i = (unsigned)e;
  return i < sizeof err_names / sizeof err_names[0] ? err_names[i] : "CBOR_UNKNOWN";
}

uint8_t cp_cbor_card_status(cp_cbor_err e) {
  return e == CP_CBOR_SCHEMA ? (uint8_t)CP_CBOR_STATUS_INVALID_PARAMETER : (uint8_t)CP_CBOR_STATUS_INVALID_CBOR;
}

int cp_cbor_utf8_valid(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = p[i];
    size_t more;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the first continuation byte */
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c < 0xc2 || c > 0xf4) return 0; /* stray continuation, overlong 2-byte lead, beyond U+10FFFF */
    if (c < 0xe0) {
      more = 1;
    } else if (c < 0xf0) {
      more = 2;
      if (c == 0xe0) lo = 0xa0; /* overlong 3-byte */
      if (c == 0xed) hi = 0x9f; /* surrogates U+D800-DFFF */
    } else {
      more = 3;
      if (c == 0xf0) lo = 0x90; /* overlong 4-byte */
      if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
    }
    if (len - i - 1 < more) return 0;
    if (p[i + 1] < lo || p[i + 1] > hi) return 0;
    {
      size_t k;
      for (k = 2; k <= more; k++)
        if ((p[i + k] & 0xc0) != 0x80) return 0;
    }
    i += more + 1;
  }
  return 1;
}

static unsigned bit_length(uint64_t v) {
  unsigned n = 0;
  while (v) {
    n++;
    v >>= 1;
  }
  return n;
}

/*
 * value = mant * 2^exp with mant odd: integral and safe when exp >= 0 and it has at most 53 bits;
 * a format holds it exactly when mant fits its precision, the lowest bit is not below its smallest
 * subnormal and the highest not above its largest exponent.
 */
cp_cbor_err cp_cbor_float_canonical(const uint8_t *p, unsigned width) {
  uint64_t bits = 0, mant;
  int exp;
  unsigned i, bl, shortest;
  for (i = 0; i < width; i++) bits = (bits << 8) | p[i];
  if (width == 2) {
    unsigned e = (unsigned)(bits >> 10) & 0x1f;
    uint64_t m = bits & 0x3ff;
    if (e == 31) return (m == 0 || bits == 0x7e00) ? CP_CBOR_OK : CP_CBOR_FLOAT_NON_CANONICAL; /* inf, NaN */
    mant = e ? (m | 0x400) : m;
    exp = e ? (int)e - 25 : -24;
  } else if (width == 4) {
    unsigned e = (unsigned)(bits >> 23) & 0xff;
    uint64_t m = bits & 0x7fffff;
    if (e == 255) return CP_CBOR_FLOAT_NON_CANONICAL; /* NaN and infinities belong in binary16 */
    mant = e ? (m | 0x800000) : m;
    exp = e ? (int)e - 150 : -149;
  } else if (width == 8) {
    unsigned e = (unsigned)(bits >> 52) & 0x7ff;
    uint64_t m = bits & 0xfffffffffffffull;
    if (e == 2047) return CP_CBOR_FLOAT_NON_CANONICAL;
    mant = e ? (m | (1ull << 52)) : m;
    exp = e ? (int)e - 1075 : -1074;
  } else {
    return CP_CBOR_FLOAT_NON_CANONICAL;
  }
  if (mant == 0) return CP_CBOR_FLOAT_NON_CANONICAL; /* +-0.0: the integer 0 */
  while ((mant & 1u) == 0) {
    mant >>= 1;
    exp++;
  }
  bl = bit_length(mant);
  if (exp >= 0 && (int)bl + exp <= 53) return CP_CBOR_FLOAT_NON_CANONICAL; /* a safe integer */
  if (bl <= 11 && exp >= -24 && (int)bl - 1 + exp <= 15)
    shortest = 2;
  else if (bl <= 24 && exp >= -149 && (int)bl - 1 + exp <= 127)
    shortest = 4;
  else
    shortest = 8;
  return shortest == width ? CP_CBOR_OK : CP_CBOR_FLOAT_NON_CANONICAL;
}
