/*
 * cardpost ARM board: start-up settings from the QEMU command line (-append), words of the form
 * name=value: flash=<host path of the flash file> offset=<bytes before the flash image in that file>
 * seed=<64 hex digits> cut=<n> (cut the power after the n-th program/erase from boot; also settable
 * later with FRAME_CUT_AFTER).
 */
#ifndef CP_ARM_BOARD_ARGS_H
#define CP_ARM_BOARD_ARGS_H

#include <stdint.h>

#define BOARD_ARGS_MAX_PATH 200u

typedef struct {
  char flash_path[BOARD_ARGS_MAX_PATH + 1u];
  uint8_t seed[32];
  uint8_t have_seed;
  uint32_t offset;
  uint32_t cut;
} board_args;

/* 0 on success; -1 if the command line is missing, malformed, or has no flash= or seed=. */
int board_args_parse(board_args *a, const char *cmdline);

#endif
