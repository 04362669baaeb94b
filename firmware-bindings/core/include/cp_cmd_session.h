/*
 * cardpost firmware: the CBOR command layer's per-power-on state (docs/firmware.md "The applet").
 *
 * Kept in its own header with no dependencies so that struct cp_card (cp_card_impl.h) can embed it
 * without an include cycle through cp_commands.h -> cp_card.h.
 */
#ifndef CP_CMD_SESSION_H
#define CP_CMD_SESSION_H

#include <stdint.h>

typedef struct {
  uint8_t pin_verified; /* 1 after a right PIN in this session; volatile (power-off, reset, SELECT clear it) */
} cp_cmd_session;

#endif
