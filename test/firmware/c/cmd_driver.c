/*
 * Test driver for the card's CBOR commands (firmware-bindings/core/src/cp_commands.c, cp_cmd_*.c,
 * cp_state.c, cp_records*.c) over the real store (cp_store*.c) on a RAM flash that behaves as NOR
 * flash (program clears bits only, erase sets a page to FF) and can lose power at any write, and
 * the real software crypto (cp_soft_crypto.c). Built by test/firmware/card-commands.test.ts.
 *
 * One command per stdin line, one answer line per command on stdout:
 *   mount                      power on: mount the store (recovery), clear the session  -> "<cp_result>"
 *   cfg <maxMessage> <journal> the card configuration                                   -> "ok"
 *   seed <n>                   deterministic RNG seed                                    -> "ok"
 *   put <key hex> <value hex>  one store transaction writing one value                   -> "<cp_result>"
 *   run <cmd hex> <params hex|-> a CBOR command                                          -> "<cp_result> <response hex>"
 *   iso <ins hex> <pin|-> <pin|-> an ISO PIN command (PINs as ASCII digits)              -> "<cp_result> <SW hex>"
 *   lifecycle                  cp_commands_lifecycle                                      -> "<cp_result> <lc>"
 *   clear                      cp_commands_session_clear                                  -> "ok"
 *   dump                       every applet key present: "key=hex,..." sorted             -> the list ("-" if none)
 *   cut <n|->                  the n-th flash write from now loses power (and all after)  -> "ok"
 *   writes                     flash programs + erases so far                             -> "<n>"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_card.h"
#include "cp_commands.h"
#include "cp_state.h"
#include "cp_store.h"

#define PAGE_SIZE 1024u
#define PAGE_COUNT 64u
#define LINE_MAX_BYTES 20000

typedef struct {
  uint8_t mem[PAGE_SIZE * PAGE_COUNT];
  unsigned long writes;
  long cut_at; /* -1: never */
  int dead;
} ram_flash;

static cp_result flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len) {
  ram_flash *f = (ram_flash *)ctx;
  if ((uint64_t)addr + len > sizeof f->mem) return CP_FLASH_FAULT;
  memcpy(buf, f->mem + addr, len);
  return CP_OK;
}

static int power_cut(ram_flash *f) {
  if (f->dead) return 1;
  f->writes++;
  if (f->cut_at >= 0 && (long)f->writes >= f->cut_at) {
    f->dead = 1;
    return 1;
  }
  return 0;
}

static cp_result flash_program(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len) {
  ram_flash *f = (ram_flash *)ctx;
  uint32_t i;
  if ((uint64_t)addr + len > sizeof f->mem || addr % 4u != 0 || len % 4u != 0) return CP_FLASH_FAULT;
  for (i = 0; i < len; i++)
    if ((f->mem[addr + i] & buf[i]) != buf[i]) return CP_FLASH_FAULT; /* NOR flash: 0 -> 1 needs an erase */
  if (power_cut(f)) return CP_POWER_LOST;
  for (i = 0; i < len; i++) f->mem[addr + i] &= buf[i];
  return CP_OK;
}

static cp_result flash_erase(void *ctx, uint32_t page) {
  ram_flash *f = (ram_flash *)ctx;
  if (page >= PAGE_COUNT) return CP_FLASH_FAULT;
  if (power_cut(f)) return CP_POWER_LOST;
  memset(f->mem + (size_t)page * PAGE_SIZE, 0xff, PAGE_SIZE);
  return CP_OK;
}

static cp_result rng_fill(void *ctx, uint8_t *buf, size_t len) {
  uint64_t *x = (uint64_t *)ctx;
  size_t i;
  for (i = 0; i < len; i++) { /* xorshift64*: reproducible runs */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    buf[i] = (uint8_t)((*x * 2685821657736338717ull) >> 56);
  }
  return CP_OK;
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len) {
  size_t n = strlen(s), i;
  if (strcmp(s, "-") == 0) {
    *len = 0;
    return 1;
  }
  if (n % 2 != 0 || n / 2 > cap) return 0;
  for (i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return 0;
    out[i] = (uint8_t)v;
  }
  *len = n / 2;
  return 1;
}

static void print_hex(const uint8_t *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) printf("%02x", p[i]);
}

static void dump(cp_store *s) {
  static const uint16_t fixed_last = CP_KEY_VOIDABLE;
  uint8_t buf[CP_STORE_MAX_VALUE];
  unsigned k;
  int first = 1;
  for (k = 1; k < CP_KEY_JOURNAL_BASE + CP_JOURNAL_MAX_CAPACITY; k++) {
    uint16_t len = 0;
    if (k > fixed_last && k < CP_KEY_JOURNAL_BASE) continue;
    if (cp_store_get(s, (uint16_t)k, buf, sizeof buf, &len) != CP_OK) continue;
    printf("%s%04x=", first ? "" : ",", k);
    print_hex(buf, len);
    first = 0;
  }
  printf("%s\n", first ? "-" : "");
}

int main(void) {
  static ram_flash flash;
  static cp_store store;
  static char line[LINE_MAX_BYTES];
  static uint8_t params[CP_CARD_MAX_MESSAGE + 16], out[CP_COMMANDS_MIN_OUT];
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  cp_cmd_session sess;
  cp_card_config cfg = {1, 0, 2048, 32};
  cp_hal hal;
  memset(flash.mem, 0xff, sizeof flash.mem);
  flash.cut_at = -1;
  memset(&hal, 0, sizeof hal);
  hal.flash.ctx = &flash;
  hal.flash.page_size = PAGE_SIZE;
  hal.flash.page_count = PAGE_COUNT;
  hal.flash.write_unit = 4;
  hal.flash.read = flash_read;
  hal.flash.program = flash_program;
  hal.flash.erase = flash_erase;
  hal.rng.ctx = &seed;
  hal.rng.fill = rng_fill;
  hal.crypto = NULL; /* cp_soft_crypto() */
  cp_commands_session_clear(&sess);
  while (fgets(line, sizeof line, stdin) != NULL) {
    char a[LINE_MAX_BYTES / 2], b[LINE_MAX_BYTES / 2], c[64];
    int n;
    line[strcspn(line, "\r\n")] = 0;
    a[0] = b[0] = c[0] = 0;
    n = sscanf(line, "%*s %9999s %9999s %63s", a, b, c);
    if (strncmp(line, "mount", 5) == 0) {
      flash.dead = 0;
      flash.cut_at = -1;
      cp_commands_session_clear(&sess);
      printf("%d\n", (int)cp_store_mount(&store, &hal.flash));
    } else if (strncmp(line, "cfg", 3) == 0 && n == 2) {
      cfg.max_message_size = (uint16_t)atoi(a);
      cfg.journal_capacity = (uint16_t)atoi(b);
      printf("ok\n");
    } else if (strncmp(line, "seed", 4) == 0 && n == 1) {
      seed = strtoull(a, NULL, 10) | 1u;
      printf("ok\n");
    } else if (strncmp(line, "put", 3) == 0 && n == 2) {
      size_t len = 0;
      cp_result r;
      if (!unhex(b, params, sizeof params, &len)) return 2;
      r = cp_store_begin(&store);
      if (r == CP_OK) r = cp_store_put(&store, (uint16_t)strtoul(a, NULL, 16), params, (uint16_t)len);
      if (r == CP_OK) r = cp_store_commit(&store);
      printf("%d\n", (int)r);
    } else if (strncmp(line, "run", 3) == 0 && n == 2) {
      size_t len = 0, out_len = 0;
      cp_result r;
      if (!unhex(b, params, sizeof params, &len)) return 2;
      r = cp_commands_run(&store, &hal, &sess, &cfg, (uint8_t)strtoul(a, NULL, 16), params, len, out, sizeof out,
                          &out_len);
      printf("%d ", (int)r);
      print_hex(out, r == CP_OK ? out_len : 0);
      printf("\n");
    } else if (strncmp(line, "iso", 3) == 0 && n >= 1) {
      uint8_t pins[2][12], lens[2] = {0, 0};
      const char *given[2];
      size_t blocks = 0, i;
      cp_result r = CP_OK;
      uint16_t sw;
      given[0] = n >= 2 ? b : "-";
      given[1] = n >= 3 ? c : "-";
      for (i = 0; i < 2; i++) {
        if (strcmp(given[i], "-") == 0 || strlen(given[i]) > 12) break;
        lens[i] = (uint8_t)strlen(given[i]);
        memcpy(pins[i], given[i], lens[i]);
        blocks++;
      }
      sw = cp_commands_iso_pin(&store, &hal, &sess, (uint8_t)strtoul(a, NULL, 16), (const uint8_t(*)[12])pins, lens,
                               blocks, &r);
      printf("%d %04x\n", (int)r, sw);
    } else if (strncmp(line, "lifecycle", 9) == 0) {
      uint8_t lc = 0;
      cp_result r = cp_commands_lifecycle(&store, &lc);
      printf("%d %u\n", (int)r, lc);
    } else if (strncmp(line, "clear", 5) == 0) {
      cp_commands_session_clear(&sess);
      printf("ok\n");
    } else if (strncmp(line, "dump", 4) == 0) {
      dump(&store);
    } else if (strncmp(line, "cut", 3) == 0 && n == 1) {
      flash.cut_at = strcmp(a, "-") == 0 ? -1 : (long)(flash.writes + strtoul(a, NULL, 10));
      printf("ok\n");
    } else if (strncmp(line, "writes", 6) == 0) {
      printf("%lu\n", flash.writes);
    } else {
      fprintf(stderr, "bad line: %s\n", line);
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
