/*
 * cardpost ARM card image: the applet (cp_card_transmit) behind the board's frame loop. QEMU's
 * stdin/stdout carry the APDUs and the reader's power control; the flash is a host file.
 * firmware-bindings/arm/qemu-card.ts is the host side.
 */
#include <string.h>

#include "board.h"
#include "board_exit.h"
#include "cp_card.h"

/* ATR flags of FRAME_POWER_ON. */
#define POWER_FLAG_EXTENDED 1u
#define POWER_FLAG_T0_ONLY 2u

typedef struct {
  cp_card card;
  cp_card_config cfg;
  uint8_t ever_powered; /* a POWER_ON since boot: the card knows its HAL and configuration */
} card_app;

static board_answer answer(uint8_t status, uint32_t len, cp_result r) {
  board_answer a = {status, len, r};
  return a;
}

/* Power on with the configuration the host asked for; answers the ATR. */
static board_answer power_on(card_app *app, board *b, uint8_t *out) {
  cp_result r = cp_card_power_on(&app->card, &b->hal, &app->cfg);
  app->ever_powered = 1u;
  if (r != CP_OK) {
    out[0] = (uint8_t)r;
    return answer(FRAME_ERR_RESULT, 1u, r);
  }
  return answer(FRAME_OK, (uint32_t)cp_card_atr(&app->card, out), CP_OK);
}

static board_answer handle(void *ctx, board *b, uint8_t type, const uint8_t *p, uint32_t len, uint8_t *out,
                           uint32_t cap) {
  card_app *app = ctx;
  size_t resp_len = 0u;
  cp_result r;
  switch (type) {
  case FRAME_APDU:
    if (!app->ever_powered) return answer(FRAME_ERR_NOT_POWERED, 0u, CP_OK); /* the host powers it first */
    r = cp_card_transmit(&app->card, p, len, out, cap, &resp_len);
    if (r != CP_OK) {
      out[0] = (uint8_t)r;
      return answer(FRAME_ERR_RESULT, 1u, r);
    }
    return answer(FRAME_OK, (uint32_t)resp_len, CP_OK);
  case FRAME_POWER_ON:
    if (len != 5u) return answer(FRAME_ERR_BAD_PAYLOAD, 0u, CP_OK);
    app->cfg.extended_length = (p[0] & POWER_FLAG_EXTENDED) != 0u;
    app->cfg.t0_only = (p[0] & POWER_FLAG_T0_ONLY) != 0u;
    app->cfg.max_message_size = (uint16_t)(((uint16_t)p[1] << 8) | p[2]);
    app->cfg.journal_capacity = (uint16_t)(((uint16_t)p[3] << 8) | p[4]);
    return power_on(app, b, out);
  case FRAME_RESET:
    cp_card_power_off(&app->card);
    return power_on(app, b, out);
  case FRAME_POWER_OFF:
    cp_card_power_off(&app->card);
    return answer(FRAME_OK, 0u, CP_OK);
  case FRAME_ATR:
    return answer(FRAME_OK, (uint32_t)cp_card_atr(&app->card, out), CP_OK);
  case FRAME_INFO:
    frame_put_u32(out, (uint32_t)sizeof(cp_card));
    frame_put_u32(out + 4, b->hal.flash.page_size);
    frame_put_u32(out + 8, b->hal.flash.page_count);
    frame_put_u32(out + 12, b->hal.flash.write_unit);
    return answer(FRAME_OK, 16u, CP_OK);
  default:
    return answer(FRAME_ERR_UNKNOWN, 0u, CP_OK);
  }
}

int main(void) {
  board b;
  card_app app;
  memset(&app, 0, sizeof app);
  app.cfg.extended_length = 1u;
  app.cfg.max_message_size = CP_CARD_MAX_MESSAGE;
  app.cfg.journal_capacity = 32u;
  uint32_t e = board_init(&b);
  if (e != ARM_EXIT_CLEAN) return (int)e;
  return (int)board_run(&b, handle, &app);
}
