/*
 * cardpost firmware: the card applet (docs/protocol.md), driven only by APDUs.
 *
 * The same behaviour as the TypeScript reference applet (device-sim/card/): every command, extended
 * APDUs and chaining, GET RESPONSE, the ISO PIN commands, records, the hash chain and journal,
 * PIN/PUK, limits, life cycle. Caller-owned struct, fixed buffers, no malloc, no globals, no recursion.
 */
#ifndef CP_CARD_H
#define CP_CARD_H

#include "cp_hal.h"
#include "cp_store.h"

#define CP_CARD_MAX_MESSAGE 2048 /* largest command||CBOR message and largest response body */
#define CP_CARD_MAX_APDU (CP_CARD_MAX_MESSAGE + 9) /* extended header + Lc + Le */

typedef struct {
  uint8_t extended_length;   /* 1: accept extended APDUs (default); 0: the host must chain */
  uint8_t t0_only;           /* 1: the ATR offers T=0 alone; 0: T=0 and T=1 */
  uint16_t max_message_size; /* <= CP_CARD_MAX_MESSAGE; default 2048 */
  uint16_t journal_capacity; /* records kept for READ_JOURNAL; default 32 */
} cp_card_config;

typedef struct cp_card cp_card;
#include "cp_card_impl.h" /* the struct, so callers can allocate it */

/* Power on: mount the store (recovery), clear the session. CP_POWER_LOST if the cut came during
 * recovery itself (power on again). */
cp_result cp_card_power_on(cp_card *c, const cp_hal *hal, const cp_card_config *cfg);
void cp_card_power_off(cp_card *c);
/* The answer-to-reset; returns its length (<= 32). */
size_t cp_card_atr(const cp_card *c, uint8_t out[32]);
/*
 * One command APDU in, one response APDU (data || SW1 SW2) out. Never fails for any input bytes:
 * malformed input gets a status word. CP_POWER_LOST when the flash lost power mid-command: the
 * card is dead until cp_card_power_on. resp must hold CP_CARD_MAX_MESSAGE + 2 bytes.
 */
cp_result cp_card_transmit(cp_card *c, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap,
                           size_t *resp_len);

#endif
