/* cardpost ARM board: command-line settings (see board_args.h). */
#include "board_args.h"

#include <string.h>

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parse_seed(board_args *a, const char *v, size_t n) {
  if (n != 64u) return -1;
  for (size_t i = 0; i < 32u; i++) {
    int hi = hex_digit(v[2u * i]), lo = hex_digit(v[2u * i + 1u]);
    if (hi < 0 || lo < 0) return -1;
    a->seed[i] = (uint8_t)((hi << 4) | lo);
  }
  a->have_seed = 1u;
  return 0;
}

static int parse_u32(uint32_t *out, const char *v, size_t n) {
  uint32_t x = 0u;
  if (n == 0u || n > 9u) return -1;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    x = x * 10u + (uint32_t)(v[i] - '0');
  }
  *out = x;
  return 0;
}

/* One name=value word; unknown names (the kernel file name QEMU puts first) are skipped. */
static int parse_word(board_args *a, const char *w, size_t n) {
  const char *eq = memchr(w, '=', n);
  if (eq == NULL) return 0;
  size_t name_len = (size_t)(eq - w), vlen = n - name_len - 1u;
  const char *v = eq + 1;
  if (name_len == 5u && memcmp(w, "flash", 5u) == 0) {
    if (vlen == 0u || vlen > BOARD_ARGS_MAX_PATH) return -1;
    memcpy(a->flash_path, v, vlen);
    a->flash_path[vlen] = '\0';
    return 0;
  }
  if (name_len == 4u && memcmp(w, "seed", 4u) == 0) return parse_seed(a, v, vlen);
  if (name_len == 3u && memcmp(w, "cut", 3u) == 0) return parse_u32(&a->cut, v, vlen);
  if (name_len == 6u && memcmp(w, "offset", 6u) == 0) return parse_u32(&a->offset, v, vlen);
  return 0;
}

int board_args_parse(board_args *a, const char *cmdline) {
  memset(a, 0, sizeof *a);
  const char *p = cmdline;
  while (*p != '\0') {
    while (*p == ' ') p++;
    const char *start = p;
    while (*p != '\0' && *p != ' ') p++;
    if (p > start && parse_word(a, start, (size_t)(p - start)) != 0) return -1;
  }
  return a->flash_path[0] != '\0' && a->have_seed ? 0 : -1;
}
