/* cardpost ARM board: start-up and the frame loop (see board.h). */
#include "board.h"

#include "board_clock.h"
#include "board_exit.h"
#include "board_stack.h"
#include "semihost.h"

/* Room for the longest command line: the kernel path, flash= with a path, seed=, cut=. */
#define CMDLINE_CAP 512u
/* Largest answer an image gives: a response APDU of CP_CARD_MAX_MESSAGE + 2 bytes, rounded up. */
#define OUT_CAP 2112u

uint32_t board_init(board *b) {
  char cmdline[CMDLINE_CAP];
  if (semi_cmdline(cmdline, sizeof cmdline) != 0) return ARM_EXIT_BAD_FRAME;
  if (board_args_parse(&b->args, cmdline) != 0) return ARM_EXIT_BAD_FRAME;
  if (board_flash_open(&b->flash, b->args.flash_path, b->args.offset, &b->hal.flash) != CP_OK) return ARM_EXIT_FLASH_FILE;
  board_flash_cut_after(&b->flash, b->args.cut, BOARD_CUT_AFTER);
  board_rng_init(&b->rng, b->args.seed, &b->hal.rng);
  b->hal.crypto = NULL;
  b->last_ticks = 0u;
  if (frame_link_open(&b->link) != 0) return ARM_EXIT_BAD_FRAME;
  board_clock_start();
  return ARM_EXIT_CLEAN;
}

/* The board's own frames; 1 if handled. */
static int board_frame(board *b, uint8_t type, const uint8_t *payload, uint32_t len, uint8_t *out) {
  switch (type) {
  case FRAME_CUT_AFTER:
    if (len != 5u) {
      frame_write(&b->link, FRAME_ERR_BAD_PAYLOAD, NULL, 0u);
      return 1;
    }
    board_flash_cut_after(&b->flash, frame_get_u32(payload), payload[4]);
    frame_write(&b->link, FRAME_OK, NULL, 0u);
    return 1;
  case FRAME_WRITE_COUNT:
    frame_put_u32(out, b->flash.writes);
    frame_write(&b->link, FRAME_OK, out, 4u);
    return 1;
  case FRAME_STACK_PAINT:
    board_stack_paint();
    frame_write(&b->link, FRAME_OK, NULL, 0u);
    return 1;
  case FRAME_STACK_HIGH:
    frame_put_u32(out, board_stack_high_water());
    frame_put_u32(out + 4, board_stack_size());
    frame_write(&b->link, FRAME_OK, out, 8u);
    return 1;
  case FRAME_LAST_TICKS:
    frame_put_u32(out, b->last_ticks);
    frame_write(&b->link, FRAME_OK, out, 4u);
    return 1;
  default:
    return 0;
  }
}

uint32_t board_run(board *b, board_handler handler, void *app) {
  uint8_t in[FRAME_MAX_PAYLOAD];
  uint8_t out[OUT_CAP];
  for (;;) {
    uint8_t type = 0u;
    int32_t n = frame_read(&b->link, &type, in, sizeof in);
    if (n == -1) return ARM_EXIT_CLEAN;
    if (n < 0) return ARM_EXIT_BAD_FRAME;
    if (type == FRAME_EXIT) {
      frame_write(&b->link, FRAME_OK, NULL, 0u);
      return ARM_EXIT_CLEAN;
    }
    if (board_frame(b, type, in, (uint32_t)n, out)) continue;
    uint32_t t0 = board_clock_ticks();
    board_answer a = handler(app, b, type, in, (uint32_t)n, out, sizeof out);
    b->last_ticks = board_clock_ticks() - t0;
    if (board_stack_overflowed()) semi_exit(ARM_EXIT_STACK_OVERFLOW);
    if (b->flash.power_lost) {
      /* The power is gone: no answer. A core that carried on after CP_POWER_LOST is a bug. */
      int obeyed = a.result == CP_POWER_LOST && b->flash.calls_after_cut == 0u;
      semi_exit(obeyed ? ARM_EXIT_POWER_CUT : ARM_EXIT_CORE_IGNORED_CUT);
    }
    frame_write(&b->link, a.status, out, a.len);
  }
}
