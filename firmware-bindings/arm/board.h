/*
 * cardpost ARM board: everything an image runs on (flash file, DRBG, clock, frame link) and the
 * frame loop that serves the board's own control frames and hands the rest to the image.
 *
 * The board lives in main's frame (no mutable globals). After every image frame the loop checks
 * the flash: if the power was cut during it, QEMU ends with ARM_EXIT_POWER_CUT (nothing is
 * answered, as a card that lost power answers nothing) -- or with ARM_EXIT_CORE_IGNORED_CUT if the
 * core did not stop at CP_POWER_LOST.
 */
#ifndef CP_ARM_BOARD_H
#define CP_ARM_BOARD_H

#include "board_args.h"
#include "board_flash.h"
#include "board_rng.h"
#include "cp_hal.h"
#include "frame_link.h"

typedef struct {
  board_args args;
  board_flash flash;
  board_rng rng;
  cp_hal hal;
  frame_link link;
  uint32_t last_ticks; /* timer ticks of the last image frame */
} board;

/* What the image answers to one frame: status, payload written to out, its length. The image sets
 * *result to the cp_result it got from the core (CP_OK if none), so the loop can check that a cut
 * came back as CP_POWER_LOST. */
typedef struct {
  uint8_t status;
  uint32_t len;
  cp_result result;
} board_answer;

typedef board_answer (*board_handler)(void *app, board *b, uint8_t type, const uint8_t *payload, uint32_t len,
                                      uint8_t *out, uint32_t cap);

/* Reads the command line, opens the flash file and the link, seeds the DRBG, starts the clock.
 * Returns 0, or the ARM_EXIT_* status to end with. */
uint32_t board_init(board *b);
/* Serves frames until the input ends or FRAME_EXIT; returns the exit status. Never returns after a
 * power cut (QEMU ends there). */
uint32_t board_run(board *b, board_handler handler, void *app);

#endif
