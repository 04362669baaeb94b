/*
 * cardpost Node binding: NOR flash on a RAM image with power-cut injection (cp_node_flash.h).
 */
#include "cp_node_flash.h"

#include <string.h>

static int is_power_of_two(uint32_t v) { return v != 0u && (v & (v - 1u)) == 0u; }

cp_result cp_node_flash_init(cp_node_flash *f, uint8_t *mem, uint32_t page_size, uint32_t page_count,
                             uint32_t write_unit) {
  if (f == NULL || mem == NULL || !is_power_of_two(page_size) || page_size < 256u || page_count < 2u ||
      (write_unit != 1u && write_unit != 4u && write_unit != 8u))
    return CP_BAD_ARG;
  memset(f, 0, sizeof *f);
  f->mem = mem;
  f->page_size = page_size;
  f->page_count = page_count;
  f->write_unit = write_unit;
  return CP_OK;
}

void cp_node_flash_cut_after(cp_node_flash *f, uint32_t n) { f->cut_at = n == 0u ? 0u : f->writes + n; }

void cp_node_flash_power_on(cp_node_flash *f) { f->dead = 0u; }

static uint32_t total_size(const cp_node_flash *f) { return f->page_size * f->page_count; }

/* One more physical write starts: 1 if it is the one the power dies at. */
static int this_write_is_cut(cp_node_flash *f) {
  f->writes++;
  if (f->cut_at == 0u || f->writes != f->cut_at) return 0;
  f->cut_at = 0u;
  return 1;
}

static cp_result flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len) {
  cp_node_flash *f = (cp_node_flash *)ctx;
  if (f->dead) return CP_POWER_LOST;
  if (buf == NULL || addr > total_size(f) || len > total_size(f) - addr) return CP_FLASH_FAULT;
  memcpy(buf, f->mem + addr, len);
  return CP_OK;
}

static cp_result flash_program(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len) {
  cp_node_flash *f = (cp_node_flash *)ctx;
  uint32_t i, keep;
  if (f->dead) return CP_POWER_LOST;
  if (buf == NULL || addr > total_size(f) || len > total_size(f) - addr || addr % f->write_unit != 0u ||
      len % f->write_unit != 0u)
    return CP_FLASH_FAULT;
  /* NOR flash can only clear bits: asking for a 0 -> 1 is a bug in the caller, refused whole. */
  for (i = 0; i < len; i++)
    if ((uint8_t)(buf[i] & (uint8_t)~f->mem[addr + i]) != 0u) return CP_FLASH_FAULT;
  if (!this_write_is_cut(f)) {
    memcpy(f->mem + addr, buf, len);
    return CP_OK;
  }
  keep = f->cut_mode == CP_NODE_CUT_DURING ? (len / f->write_unit / 2u) * f->write_unit : len;
  memcpy(f->mem + addr, buf, keep);
  f->dead = 1u;
  return CP_POWER_LOST;
}

static cp_result flash_erase(void *ctx, uint32_t page) {
  cp_node_flash *f = (cp_node_flash *)ctx;
  uint32_t erased;
  if (f->dead) return CP_POWER_LOST;
  if (page >= f->page_count) return CP_FLASH_FAULT;
  if (!this_write_is_cut(f)) {
    memset(f->mem + page * f->page_size, 0xFF, f->page_size);
    return CP_OK;
  }
  erased = f->cut_mode == CP_NODE_CUT_DURING ? f->page_size / 2u : f->page_size;
  memset(f->mem + page * f->page_size, 0xFF, erased);
  f->dead = 1u;
  return CP_POWER_LOST;
}

void cp_node_flash_hal(cp_node_flash *f, cp_flash *out) {
  out->ctx = f;
  out->page_size = f->page_size;
  out->page_count = f->page_count;
  out->write_unit = f->write_unit;
  out->read = flash_read;
  out->program = flash_program;
  out->erase = flash_erase;
}
