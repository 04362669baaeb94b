/*
 * Test driver for the card's APDU layer (firmware-bindings/core/src/cp_card.c), driven by
 * test/firmware/card-apdu.test.ts. One command per stdin line, one answer line each:
 *
 *   P <extended> <t0_only> <max_message>   power on with that config: "OK" or "ERR <cp_result>"
 *   O                                      power off: "OK"
 *   T                                      the ATR in hex
 *   A <hex>                                one APDU: the response APDU in hex, or "POWER_LOST" / "ERR <r>"
 *   S                                      "sizeof <cp_card> <cp_store>"
 *
 * Linked either with the test double of the commands (apdu_commands_double.c) or with the real
 * commands, store and crypto, over a RAM NOR flash (program clears bits, erase sets FF) and a
 * reproducible random source.
 */
#include <stdio.h>
#include <string.h>

#include "cp_card.h"

#define PAGE_SIZE 1024u
#define PAGE_COUNT 64u

typedef struct {
  uint8_t mem[PAGE_SIZE * PAGE_COUNT];
} ram_flash;

static cp_result flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len) {
  ram_flash *f = (ram_flash *)ctx;
  if ((uint64_t)addr + len > sizeof f->mem) return CP_FLASH_FAULT;
  memcpy(buf, f->mem + addr, len);
  return CP_OK;
}

static cp_result flash_program(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len) {
  ram_flash *f = (ram_flash *)ctx;
  uint32_t i;
  if ((uint64_t)addr + len > sizeof f->mem || addr % 4u != 0 || len % 4u != 0) return CP_FLASH_FAULT;
  for (i = 0; i < len; i++)
    if ((f->mem[addr + i] & buf[i]) != buf[i]) return CP_FLASH_FAULT;
  for (i = 0; i < len; i++) f->mem[addr + i] &= buf[i];
  return CP_OK;
}

static cp_result flash_erase(void *ctx, uint32_t page) {
  ram_flash *f = (ram_flash *)ctx;
  if (page >= PAGE_COUNT) return CP_FLASH_FAULT;
  memset(f->mem + (size_t)page * PAGE_SIZE, 0xff, PAGE_SIZE);
  return CP_OK;
}

static cp_result rng_fill(void *ctx, uint8_t *buf, size_t len) {
  uint32_t *x = (uint32_t *)ctx;
  size_t i;
  for (i = 0; i < len; i++) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    buf[i] = (uint8_t)*x;
  }
  return CP_OK;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Hex digits up to a space or the line end (no sscanf: it measures the whole line per call). */
static int unhex(const char *s, uint8_t *out, size_t cap, size_t *n) {
  size_t i = 0;
  while (s[0] && s[0] != '\n') {
    int hi = nibble(s[0]), lo = hi < 0 ? -1 : nibble(s[1]);
    if (lo < 0 || i >= cap) return 0;
    out[i++] = (uint8_t)(hi << 4 | lo);
    s += 2;
  }
  *n = i;
  return 1;
}

int main(void) {
  static char line[2 * 70000 + 64];
  static uint8_t apdu[70000], resp[CP_CARD_MAX_MESSAGE + 2];
  static cp_card card;
  static ram_flash flash;
  uint32_t rng_state = 0x2545f491u;
  cp_hal hal;
  memset(&hal, 0, sizeof hal);
  memset(flash.mem, 0xff, sizeof flash.mem);
  hal.flash.ctx = &flash;
  hal.flash.page_size = PAGE_SIZE;
  hal.flash.page_count = PAGE_COUNT;
  hal.flash.write_unit = 4;
  hal.flash.read = flash_read;
  hal.flash.program = flash_program;
  hal.flash.erase = flash_erase;
  hal.rng.ctx = &rng_state;
  hal.rng.fill = rng_fill;
  hal.crypto = 0;
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == 'P') {
      unsigned ext = 1, t0 = 0, max = 2048;
      cp_card_config cfg;
      cp_result r;
      if (sscanf(line + 1, "%u %u %u", &ext, &t0, &max) != 3) return 2;
      cfg.extended_length = (uint8_t)ext;
      cfg.t0_only = (uint8_t)t0;
      cfg.max_message_size = (uint16_t)max;
      cfg.journal_capacity = 32;
      r = cp_card_power_on(&card, &hal, &cfg);
      if (r == CP_OK) printf("OK\n");
      else printf("ERR %d\n", (int)r);
    } else if (line[0] == 'O') {
      cp_card_power_off(&card);
      printf("OK\n");
    } else if (line[0] == 'T') {
      uint8_t atr[32];
      size_t n = cp_card_atr(&card, atr), i;
      for (i = 0; i < n; i++) printf("%02x", atr[i]);
      printf("\n");
    } else if (line[0] == 'S') {
      printf("sizeof %lu %lu\n", (unsigned long)sizeof(cp_card), (unsigned long)sizeof(cp_store));
    } else if (line[0] == 'A' && line[1] == ' ') {
      size_t n = 0, rn = 0, i;
      cp_result r;
      if (!unhex(line + 2, apdu, sizeof apdu, &n)) return 2;
      r = cp_card_transmit(&card, apdu, n, resp, sizeof resp, &rn);
      if (r == CP_POWER_LOST) printf("POWER_LOST\n");
      else if (r != CP_OK) printf("ERR %d\n", (int)r);
      else {
        for (i = 0; i < rn; i++) printf("%02x", resp[i]);
        printf("\n");
      }
    } else {
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
