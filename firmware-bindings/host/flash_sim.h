/*
 * cardpost firmware: a host test flash behind cp_flash (cp_hal.h), strict like real NOR flash.
 *
 * RAM-backed pages. Program only clears bits (a 0 -> 1 program is CP_FLASH_FAULT), addresses and
 * lengths must be multiples of write_unit, and a write unit may be programmed once after its erase
 * (a second program is CP_FLASH_FAULT, as on flash with per-word ECC). Erase sets a page to 0xFF.
 * Every program and erase is one counted physical operation; a test can cut the power at the n-th
 * one, cleanly (nothing done) or torn (part done), after which every call returns CP_POWER_LOST
 * until flash_sim_power_on. The image file format is the raw flash bytes, page 0 first.
 * The caller owns all memory (no malloc).
 */
#ifndef FLASH_SIM_H
#define FLASH_SIM_H

#include <stdint.h>
#include "cp_hal.h"

typedef enum {
  FLASH_SIM_CUT_CLEAN = 0,   /* the cut operation did nothing */
  FLASH_SIM_CUT_PREFIX = 1,  /* program: a prefix of the bytes landed; erase: a prefix of the page erased */
  FLASH_SIM_CUT_BITS = 2,    /* program: some of the bits to clear were cleared; erase: some bits set */
  FLASH_SIM_CUT_GARBAGE = 3, /* erase: the page holds random bytes; program: as BITS */
  FLASH_SIM_CUT_AFTER = 4    /* the operation completed, then the power went before it returned */
} flash_sim_tear;

typedef struct {
  uint8_t *mem;        /* page_count * page_size bytes */
  uint8_t *unit_used;  /* one byte per write unit: programmed since its erase */
  uint32_t *erases;    /* erase count per page */
  uint32_t page_size;
  uint32_t page_count;
  uint32_t write_unit;
  uint64_t ops;        /* physical operations (programs + erases) attempted */
  uint64_t reads;
  uint64_t cut_at;     /* 0: never; else the cut_at-th operation (counting from 1) is cut */
  flash_sim_tear tear;
  uint32_t rng;        /* xorshift state for torn lengths and bits */
  int dead;            /* power is off */
} flash_sim;

/* Bytes of the buffers flash_sim_init needs. */
#define FLASH_SIM_MEM_BYTES(ps, pc) ((uint32_t)(ps) * (uint32_t)(pc))
#define FLASH_SIM_UNIT_BYTES(ps, pc, wu) (FLASH_SIM_MEM_BYTES(ps, pc) / (uint32_t)(wu))

/* A blank (erased) flash with zero counters. */
void flash_sim_init(flash_sim *f, uint8_t *mem, uint8_t *unit_used, uint32_t *erases, uint32_t page_size,
                    uint32_t page_count, uint32_t write_unit);
/* The cp_flash view for the store. */
cp_flash flash_sim_hal(flash_sim *f);
/* Cut the power at the n-th operation from now (n >= 1), or never (n = 0). */
void flash_sim_cut_after(flash_sim *f, uint64_t n, flash_sim_tear tear, uint32_t seed);
/* Power back on: calls work again, no cut armed. */
void flash_sim_power_on(flash_sim *f);
/* Copy content, unit state and counters of src into dst (same geometry). */
void flash_sim_copy(flash_sim *dst, const flash_sim *src);
void flash_sim_wear(const flash_sim *f, uint32_t *min, uint32_t *max);
/* Raw image file: page_count * page_size bytes. 0 on success, -1 on an I/O error or wrong size.
 * Loading marks every non-erased write unit as programmed. */
int flash_sim_save(const flash_sim *f, const char *path);
int flash_sim_load(flash_sim *f, const char *path);

#endif
