/*
 * cardpost firmware: the card struct, visible so that callers can allocate it (no malloc).
 * Included by cp_card.h; touch its fields only through cp_card_* and cp_commands_*.
 *
 * RAM: two message-sized buffers (the command chain being assembled, and the response body kept
 * for GET RESPONSE) plus the store's index: about 4.2 KB + sizeof(cp_store), small enough for a
 * 32 KB part. The commands write their answer straight into `response`, so no copy is needed.
 */
#ifndef CP_CARD_IMPL_H
#define CP_CARD_IMPL_H

#include <stdint.h>

#include "cp_apdu.h"
#include "cp_cmd_session.h"
#include "cp_hal.h"
#include "cp_store.h"

/* Room for the largest response body cp_commands_run builds (CP_COMMANDS_MIN_OUT; cp_card.c checks). */
#define CP_CARD_RESPONSE_CAP (CP_CARD_MAX_MESSAGE + 64u)

struct cp_card {
  const cp_hal *hal;
  cp_card_config cfg;
  cp_store store;
  cp_cmd_session cmd;

  uint8_t powered;  /* power_on ran and no power_off since */
  uint8_t dead;     /* CP_POWER_LOST was returned: nothing but power_on until then */
  uint8_t selected; /* the application is selected (§2.1) */

  /* Command chaining (ISO 7816-4 §5.4.1), as protocol/apdu/chaining.ts ChainAssembler. */
  cp_apdu_chain chain;

  /* The response body; bytes [pending_off, response_len) wait for GET RESPONSE when pending. */
  uint8_t pending;
  uint16_t pending_off;
  uint16_t response_len;
  uint8_t response[CP_CARD_RESPONSE_CAP];
};

#endif
