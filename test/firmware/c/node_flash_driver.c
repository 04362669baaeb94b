/*
 * Checks the Node binding's flash model (firmware-bindings/node/cp_node_flash.c): NOR rules, the
 * write counter and both kinds of power cut. Prints one "ok <name>" line per check, or
 * "FAIL <name>" and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include "cp_node_flash.h"

#define PAGE 256u
#define PAGES 4u

static int failures;

static void check(int cond, const char *name) {
  printf("%s %s\n", cond ? "ok" : "FAIL", name);
  if (!cond) failures++;
}

static int all(const uint8_t *p, uint32_t n, uint8_t v) {
  uint32_t i;
  for (i = 0; i < n; i++)
    if (p[i] != v) return 0;
  return 1;
}

int main(void) {
  uint8_t mem[PAGE * PAGES];
  uint8_t buf[16];
  cp_node_flash f;
  cp_flash hal;
  memset(mem, 0xFF, sizeof mem);
  check(cp_node_flash_init(&f, mem, 300u, PAGES, 4u) == CP_BAD_ARG, "page size not a power of two refused");
  check(cp_node_flash_init(&f, mem, PAGE, PAGES, 3u) == CP_BAD_ARG, "write unit 3 refused");
  check(cp_node_flash_init(&f, mem, PAGE, PAGES, 4u) == CP_OK, "init");
  cp_node_flash_hal(&f, &hal);
  check(hal.page_size == PAGE && hal.page_count == PAGES && hal.write_unit == 4u, "geometry in the HAL");

  memset(buf, 0x0F, 8);
  check(hal.program(hal.ctx, 0, buf, 8) == CP_OK && mem[0] == 0x0F && f.writes == 1u, "program clears bits, counted");
  memset(buf, 0x03, 8);
  check(hal.program(hal.ctx, 0, buf, 8) == CP_OK && mem[7] == 0x03, "programming more zeros over zeros");
  memset(buf, 0xF0, 8);
  check(hal.program(hal.ctx, 0, buf, 8) == CP_FLASH_FAULT && mem[0] == 0x03 && f.writes == 2u,
        "0 -> 1 refused, nothing written, not counted");
  check(hal.program(hal.ctx, 2, buf, 4) == CP_FLASH_FAULT, "misaligned address refused");
  check(hal.program(hal.ctx, 4, buf, 3) == CP_FLASH_FAULT, "length not a multiple of the write unit refused");
  check(hal.program(hal.ctx, PAGE * PAGES - 4u, buf, 8) == CP_FLASH_FAULT, "program past the end refused");
  check(hal.read(hal.ctx, PAGE * PAGES - 4u, buf, 8) == CP_FLASH_FAULT, "read past the end refused");
  check(hal.erase(hal.ctx, PAGES) == CP_FLASH_FAULT, "erase of a page that does not exist refused");
  check(hal.erase(hal.ctx, 0) == CP_OK && all(mem, PAGE, 0xFF) && f.writes == 3u, "erase sets 0xFF, counted");

  /* cut after the 2nd write from now: the 1st lands, the 2nd lands whole, then nothing */
  cp_node_flash_cut_after(&f, 2u);
  memset(buf, 0x00, 16);
  check(hal.program(hal.ctx, 0, buf, 8) == CP_OK, "write before the cut lands");
  check(hal.program(hal.ctx, 8, buf, 8) == CP_POWER_LOST && all(mem + 8, 8, 0x00), "cut write completes (after mode)");
  check(hal.program(hal.ctx, 16, buf, 8) == CP_POWER_LOST && all(mem + 16, 8, 0xFF), "dead flash writes nothing");
  check(hal.read(hal.ctx, 0, buf, 4) == CP_POWER_LOST && hal.erase(hal.ctx, 1) == CP_POWER_LOST, "dead: read, erase");
  check(f.writes == 5u, "writes after the cut not counted");
  cp_node_flash_power_on(&f);
  check(hal.program(hal.ctx, 16, buf, 8) == CP_OK && all(mem + 16, 8, 0x00), "power-on: the cut happened once");

  /* torn program: half of the write units reach the flash */
  f.cut_mode = CP_NODE_CUT_DURING;
  cp_node_flash_cut_after(&f, 1u);
  check(hal.program(hal.ctx, PAGE, buf, 16) == CP_POWER_LOST && all(mem + PAGE, 8, 0x00) &&
            all(mem + PAGE + 8, 8, 0xFF),
        "torn program: first half written");
  cp_node_flash_power_on(&f);
  check(hal.program(hal.ctx, PAGE / 2u, buf, 8) == CP_OK, "program the second half of page 0");
  cp_node_flash_cut_after(&f, 1u);
  check(hal.erase(hal.ctx, 0) == CP_POWER_LOST && all(mem, PAGE / 2u, 0xFF) && all(mem + PAGE / 2u, 8, 0x00),
        "torn erase: first half erased, second half untouched");
  cp_node_flash_power_on(&f);
  cp_node_flash_cut_after(&f, 0u);
  check(f.cut_at == 0u, "cut disarmed with 0");
  return failures == 0 ? 0 : 1;
}
