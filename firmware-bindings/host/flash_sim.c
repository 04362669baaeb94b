/*
 * cardpost firmware: the host test flash (flash_sim.h): NOR rules, counted operations, power cuts
 * that may leave the cut operation partly done.
 */
#include "flash_sim.h"

#include <stdio.h>
#include <string.h>

static uint32_t next_rand(flash_sim *f) {
  uint32_t x = f->rng ? f->rng : 0x9E3779B9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  f->rng = x;
  return x;
}

void flash_sim_init(flash_sim *f, uint8_t *mem, uint8_t *unit_used, uint32_t *erases, uint32_t page_size,
                    uint32_t page_count, uint32_t write_unit) {
  f->mem = mem;
  f->unit_used = unit_used;
  f->erases = erases;
  f->page_size = page_size;
  f->page_count = page_count;
  f->write_unit = write_unit;
  f->ops = f->reads = f->cut_at = 0;
  f->tear = FLASH_SIM_CUT_CLEAN;
  f->rng = 1;
  f->dead = 0;
  memset(mem, 0xFF, FLASH_SIM_MEM_BYTES(page_size, page_count));
  memset(unit_used, 0, FLASH_SIM_UNIT_BYTES(page_size, page_count, write_unit));
  memset(erases, 0, page_count * sizeof(uint32_t));
}

/* Counts one operation; 1 if it is the one the power cut hits. */
static int hits_cut(flash_sim *f) {
  f->ops++;
  if (f->cut_at != 0 && f->ops >= f->cut_at) {
    f->dead = 1;
    return 1;
  }
  return 0;
}

static cp_result sim_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len) {
  flash_sim *f = ctx;
  if (f->dead) return CP_POWER_LOST;
  if (addr > f->page_size * f->page_count || len > f->page_size * f->page_count - addr) return CP_FLASH_FAULT;
  f->reads++;
  memcpy(buf, f->mem + addr, len);
  return CP_OK;
}

static void torn_program(flash_sim *f, uint32_t addr, const uint8_t *buf, uint32_t len) {
  uint32_t i, upto = len;
  int cleared = 0;
  if (f->tear == FLASH_SIM_CUT_CLEAN) return;
  if (f->tear == FLASH_SIM_CUT_PREFIX && len > 1) upto = 1 + next_rand(f) % (len - 1);
  for (i = 0; i < upto; i++) {
    uint8_t want = (uint8_t)(f->mem[addr + i] & buf[i]);
    if (f->tear != FLASH_SIM_CUT_PREFIX) {
      /* keep a random part of the bits this byte should lose */
      uint8_t lose = (uint8_t)(f->mem[addr + i] & ~buf[i]);
      want = (uint8_t)(f->mem[addr + i] & ~(lose & (uint8_t)next_rand(f)));
      if (i + 1 == upto && !cleared && lose != 0 && want == f->mem[addr + i])
        want = (uint8_t)(f->mem[addr + i] & ~(lose & (uint8_t)-lose)); /* the cut op did start */
    }
    if (want != f->mem[addr + i]) {
      cleared = 1;
      f->unit_used[(addr + i) / f->write_unit] = 1;
    }
    f->mem[addr + i] = want;
  }
}

static cp_result sim_program(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len) {
  flash_sim *f = ctx;
  uint32_t i, wu = f->write_unit;
  if (f->dead) return CP_POWER_LOST;
  if (addr % wu != 0 || len % wu != 0 || addr > f->page_size * f->page_count ||
      len > f->page_size * f->page_count - addr)
    return CP_FLASH_FAULT;
  for (i = 0; i < len; i += wu)
    if (f->unit_used[(addr + i) / wu]) return CP_FLASH_FAULT;
  for (i = 0; i < len; i++)
    if ((buf[i] & ~f->mem[addr + i]) != 0) return CP_FLASH_FAULT;
  if (hits_cut(f) && f->tear != FLASH_SIM_CUT_AFTER) {
    torn_program(f, addr, buf, len);
    return CP_POWER_LOST;
  }
  for (i = 0; i < len; i++) f->mem[addr + i] &= buf[i];
  for (i = 0; i < len; i += wu) f->unit_used[(addr + i) / wu] = 1;
  return f->dead ? CP_POWER_LOST : CP_OK;
}

static void mark_units(flash_sim *f, uint32_t base) {
  uint32_t u, wu = f->write_unit, j;
  for (u = 0; u < f->page_size; u += wu) {
    int erased = 1;
    for (j = 0; j < wu; j++)
      if (f->mem[base + u + j] != 0xFFu) erased = 0;
    f->unit_used[(base + u) / wu] = (uint8_t)!erased;
  }
}

static cp_result sim_erase(void *ctx, uint32_t page) {
  flash_sim *f = ctx;
  uint32_t base = page * f->page_size, i, upto;
  if (f->dead) return CP_POWER_LOST;
  if (page >= f->page_count) return CP_FLASH_FAULT;
  if (hits_cut(f) && f->tear != FLASH_SIM_CUT_AFTER) {
    switch (f->tear) {
    case FLASH_SIM_CUT_CLEAN:
      return CP_POWER_LOST;
    case FLASH_SIM_CUT_PREFIX:
      upto = 1 + next_rand(f) % (f->page_size - 1);
      memset(f->mem + base, 0xFF, upto);
      break;
    case FLASH_SIM_CUT_BITS:
      for (i = 0; i < f->page_size; i++) f->mem[base + i] |= (uint8_t)next_rand(f);
      break;
    default:
      for (i = 0; i < f->page_size; i++) f->mem[base + i] = (uint8_t)next_rand(f);
      break;
    }
    f->erases[page]++;
    mark_units(f, base);
    return CP_POWER_LOST;
  }
  memset(f->mem + base, 0xFF, f->page_size);
  memset(f->unit_used + base / f->write_unit, 0, f->page_size / f->write_unit);
  f->erases[page]++;
  return f->dead ? CP_POWER_LOST : CP_OK;
}

cp_flash flash_sim_hal(flash_sim *f) {
  cp_flash h;
  h.ctx = f;
  h.page_size = f->page_size;
  h.page_count = f->page_count;
  h.write_unit = f->write_unit;
  h.read = sim_read;
  h.program = sim_program;
  h.erase = sim_erase;
  return h;
}

void flash_sim_cut_after(flash_sim *f, uint64_t n, flash_sim_tear tear, uint32_t seed) {
  f->cut_at = n == 0 ? 0 : f->ops + n;
  f->tear = tear;
  f->rng = seed | 1u;
}

void flash_sim_power_on(flash_sim *f) {
  f->dead = 0;
  f->cut_at = 0;
}

void flash_sim_copy(flash_sim *dst, const flash_sim *src) {
  uint32_t bytes = FLASH_SIM_MEM_BYTES(src->page_size, src->page_count);
  memcpy(dst->mem, src->mem, bytes);
  memcpy(dst->unit_used, src->unit_used, bytes / src->write_unit);
  memcpy(dst->erases, src->erases, src->page_count * sizeof(uint32_t));
  dst->ops = src->ops;
  dst->reads = src->reads;
  dst->cut_at = src->cut_at;
  dst->tear = src->tear;
  dst->rng = src->rng;
  dst->dead = src->dead;
}

void flash_sim_wear(const flash_sim *f, uint32_t *min, uint32_t *max) {
  uint32_t p;
  *min = *max = f->erases[0];
  for (p = 1; p < f->page_count; p++) {
    if (f->erases[p] < *min) *min = f->erases[p];
    if (f->erases[p] > *max) *max = f->erases[p];
  }
}

int flash_sim_save(const flash_sim *f, const char *path) {
  uint32_t bytes = FLASH_SIM_MEM_BYTES(f->page_size, f->page_count);
  FILE *fp = fopen(path, "wb");
  int ok;
  if (fp == NULL) return -1;
  ok = fwrite(f->mem, 1, bytes, fp) == bytes;
  if (fclose(fp) != 0) ok = 0;
  return ok ? 0 : -1;
}

int flash_sim_load(flash_sim *f, const char *path) {
  uint32_t bytes = FLASH_SIM_MEM_BYTES(f->page_size, f->page_count), p;
  FILE *fp = fopen(path, "rb");
  int ok;
  if (fp == NULL) return -1;
  ok = fread(f->mem, 1, bytes, fp) == bytes && fgetc(fp) == EOF;
  fclose(fp);
  for (p = 0; p < f->page_count; p++) mark_units(f, p * f->page_size);
  return ok ? 0 : -1;
}
