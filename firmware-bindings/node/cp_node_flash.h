/*
 * cardpost Node binding: the card's flash as a RAM image, behaving as NOR flash (program clears
 * bits only, erase sets a page to 0xFF), with a physical-write counter and a power cut injected
 * at a chosen write. Every program call and every page erase is one physical write: the unit the
 * tearing tests step through, as the TypeScript card's Nvm counts its writes.
 *
 * The image memory belongs to the caller (a JavaScript Uint8Array); this struct only points at it.
 */
#ifndef CP_NODE_FLASH_H
#define CP_NODE_FLASH_H

#include "cp_hal.h"

/* What a cut write leaves behind. */
#define CP_NODE_CUT_AFTER 0u  /* the cut write completes, then the power is gone (as the TS card) */
#define CP_NODE_CUT_DURING 1u /* the cut write is torn: only its first half reaches the flash */

typedef struct {
  uint8_t *mem;        /* page_size * page_count bytes */
  uint32_t page_size;
  uint32_t page_count;
  uint32_t write_unit;
  uint32_t writes;     /* physical writes since the image was opened */
  uint32_t cut_at;     /* the write number after which power is lost; 0: no cut armed */
  uint32_t cut_mode;   /* CP_NODE_CUT_AFTER or CP_NODE_CUT_DURING */
  uint32_t dead;       /* 1 from the cut until the next power-on */
} cp_node_flash;

/* CP_BAD_ARG unless page_size is a power of two >= 256, page_count >= 2 and write_unit is 1, 4 or 8. */
cp_result cp_node_flash_init(cp_node_flash *f, uint8_t *mem, uint32_t page_size, uint32_t page_count,
                             uint32_t write_unit);
/* The HAL view of f: read / program / erase callbacks with f as their context. */
void cp_node_flash_hal(cp_node_flash *f, cp_flash *out);
/* Arm a cut after the n-th physical write from now (n >= 1); n == 0 disarms. */
void cp_node_flash_cut_after(cp_node_flash *f, uint32_t n);
/* Power is back: the flash answers again (the cut is disarmed once it has happened). */
void cp_node_flash_power_on(cp_node_flash *f);

#endif
