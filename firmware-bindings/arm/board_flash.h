/*
 * cardpost ARM board: the card's flash, kept in a host file through semihosting.
 *
 * Behaves as NOR flash (cp_hal.h): program only clears bits (a 0 -> 1 program is refused whole with
 * CP_FLASH_FAULT, nothing written, not counted), erase sets a page to 0xFF. Every program and every
 * erase is one physical write; the host can have the power cut at the n-th write from now, which
 * either completes (BOARD_CUT_AFTER, as the TypeScript card's Nvm) or is torn (BOARD_CUT_DURING: its
 * first half reaches the cells). That write returns CP_POWER_LOST, every later flash call too, and the
 * frame loop ends QEMU with ARM_EXIT_POWER_CUT. Starting QEMU again on the same file is the next
 * power-on. Same rules as the Node binding's RAM flash (firmware-bindings/node/cp_node_flash.c).
 */
#ifndef CP_ARM_BOARD_FLASH_H
#define CP_ARM_BOARD_FLASH_H

#include "cp_hal.h"

#ifndef CP_ARM_PAGE_SIZE
#define CP_ARM_PAGE_SIZE 4096u
#endif
#ifndef CP_ARM_PAGE_COUNT
#define CP_ARM_PAGE_COUNT 16u
#endif
#ifndef CP_ARM_WRITE_UNIT
#define CP_ARM_WRITE_UNIT 4u
#endif

#define BOARD_CUT_AFTER 0u  /* the cut write completes, then the power is gone */
#define BOARD_CUT_DURING 1u /* the cut write is torn: only its first half is done */

typedef struct {
  int32_t fd;
  uint32_t offset;          /* where the image starts in the file (after the host's header) */
  uint32_t writes;          /* physical writes since boot */
  uint32_t cut_at;          /* the write number the power dies at; 0: never */
  uint32_t cut_mode;        /* BOARD_CUT_AFTER or BOARD_CUT_DURING */
  uint8_t power_lost;       /* the cut happened: dead until QEMU restarts */
  uint32_t calls_after_cut; /* flash calls the core made after CP_POWER_LOST (must stay 0) */
} board_flash;

/* Opens the file (creating it, erased, if missing or short); CP_FLASH_FAULT if it cannot. */
cp_result board_flash_open(board_flash *f, const char *path, uint32_t offset, cp_flash *out);
/* Cut the power at the n-th program/erase from now (1 = the very next one); n = 0 disarms. */
void board_flash_cut_after(board_flash *f, uint32_t n, uint32_t mode);

#endif
