/* cardpost ARM board: file-backed NOR flash with a power-cut switch (see board_flash.h). */
#include "board_flash.h"

#include <string.h>

#include "semihost.h"

#define FLASH_BYTES (CP_ARM_PAGE_SIZE * CP_ARM_PAGE_COUNT)
/* Bytes moved per semihosting call: a small stack buffer, whatever the length asked for. */
#define CHUNK 256u

static int in_range(uint32_t addr, uint32_t len) { return addr <= FLASH_BYTES && len <= FLASH_BYTES - addr; }

static cp_result file_read(const board_flash *f, uint32_t addr, uint8_t *buf, uint32_t len) {
  if (semi_seek(f->fd, f->offset + addr) != 0) return CP_FLASH_FAULT;
  return semi_read(f->fd, buf, len) == 0u ? CP_OK : CP_FLASH_FAULT;
}

static cp_result file_write(const board_flash *f, uint32_t addr, const uint8_t *buf, uint32_t len) {
  if (semi_seek(f->fd, f->offset + addr) != 0) return CP_FLASH_FAULT;
  return semi_write(f->fd, buf, len) == 0u ? CP_OK : CP_FLASH_FAULT;
}

/* A dead flash answers nothing; the call itself is recorded as the core's mistake. */
static int dead(board_flash *f) {
  if (!f->power_lost) return 0;
  f->calls_after_cut++;
  return 1;
}

/* One more physical write starts: 1 if the power dies at it. */
static int this_write_is_cut(board_flash *f) {
  f->writes++;
  if (f->cut_at == 0u || f->writes != f->cut_at) return 0;
  f->cut_at = 0u;
  f->power_lost = 1u;
  return 1;
}

static cp_result flash_read(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len) {
  board_flash *f = ctx;
  if (dead(f)) return CP_POWER_LOST;
  if (buf == NULL || !in_range(addr, len)) return CP_FLASH_FAULT;
  return file_read(f, addr, buf, len);
}

/* CP_OK if buf can be programmed over what the cells hold; CP_FLASH_FAULT if that needs a 0 -> 1
 * somewhere (or the file cannot be read). */
static cp_result check_only_clears(const board_flash *f, uint32_t addr, const uint8_t *buf, uint32_t len) {
  uint8_t old[CHUNK];
  for (uint32_t done = 0u; done < len;) {
    uint32_t n = len - done < CHUNK ? len - done : CHUNK;
    if (file_read(f, addr + done, old, n) != CP_OK) return CP_FLASH_FAULT;
    for (uint32_t i = 0u; i < n; i++)
      if ((uint8_t)(buf[done + i] & (uint8_t)~old[i]) != 0u) return CP_FLASH_FAULT;
    done += n;
  }
  return CP_OK;
}

static cp_result flash_program(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len) {
  board_flash *f = ctx;
  if (dead(f)) return CP_POWER_LOST;
  if (buf == NULL || !in_range(addr, len) || addr % CP_ARM_WRITE_UNIT != 0u || len % CP_ARM_WRITE_UNIT != 0u)
    return CP_FLASH_FAULT;
  /* NOR flash can only clear bits: a 0 -> 1 is a bug in the caller, refused whole. */
  if (check_only_clears(f, addr, buf, len) != CP_OK) return CP_FLASH_FAULT;
  if (!this_write_is_cut(f)) return file_write(f, addr, buf, len);
  uint32_t keep = f->cut_mode == BOARD_CUT_DURING ? (len / CP_ARM_WRITE_UNIT / 2u) * CP_ARM_WRITE_UNIT : len;
  (void)file_write(f, addr, buf, keep);
  return CP_POWER_LOST;
}

static cp_result erase_bytes(const board_flash *f, uint32_t addr, uint32_t len) {
  uint8_t ones[CHUNK];
  memset(ones, 0xFF, sizeof ones);
  for (uint32_t done = 0u; done < len;) {
    uint32_t n = len - done < CHUNK ? len - done : CHUNK;
    cp_result r = file_write(f, addr + done, ones, n);
    if (r != CP_OK) return r;
    done += n;
  }
  return CP_OK;
}

static cp_result flash_erase(void *ctx, uint32_t page) {
  board_flash *f = ctx;
  if (dead(f)) return CP_POWER_LOST;
  if (page >= CP_ARM_PAGE_COUNT) return CP_FLASH_FAULT;
  if (!this_write_is_cut(f)) return erase_bytes(f, page * CP_ARM_PAGE_SIZE, CP_ARM_PAGE_SIZE);
  uint32_t erased = f->cut_mode == BOARD_CUT_DURING ? CP_ARM_PAGE_SIZE / 2u : CP_ARM_PAGE_SIZE;
  (void)erase_bytes(f, page * CP_ARM_PAGE_SIZE, erased);
  return CP_POWER_LOST;
}

cp_result board_flash_open(board_flash *f, const char *path, uint32_t offset, cp_flash *out) {
  memset(f, 0, sizeof *f);
  f->offset = offset;
  f->fd = semi_open(path, SEMI_MODE_RPLUSB);
  if (f->fd < 0) f->fd = semi_open(path, SEMI_MODE_WPLUSB); /* first power-on of a new part */
  if (f->fd < 0) return CP_FLASH_FAULT;
  int32_t have = semi_flen(f->fd);
  if (have < 0) return CP_FLASH_FAULT;
  if ((uint32_t)have < offset + FLASH_BYTES) {
    /* Cells never written read as erased: extend the file with 0xFF (file positions, no offset). */
    f->offset = 0u;
    cp_result r = erase_bytes(f, (uint32_t)have, offset + FLASH_BYTES - (uint32_t)have);
    f->offset = offset;
    if (r != CP_OK) return r;
  }
  out->ctx = f;
  out->page_size = CP_ARM_PAGE_SIZE;
  out->page_count = CP_ARM_PAGE_COUNT;
  out->write_unit = CP_ARM_WRITE_UNIT;
  out->read = flash_read;
  out->program = flash_program;
  out->erase = flash_erase;
  return CP_OK;
}

void board_flash_cut_after(board_flash *f, uint32_t n, uint32_t mode) {
  f->cut_at = n == 0u ? 0u : f->writes + n;
  f->cut_mode = mode == BOARD_CUT_DURING ? BOARD_CUT_DURING : BOARD_CUT_AFTER;
}
