/*
 * TEST DOUBLE (never linked into the firmware): a stand-in for the command layer (cp_commands.h)
 * and the store's mount, so that the APDU layer (cp_card.c) is tested alone. test/firmware/
 * card-apdu.test.ts gives the TypeScript applet the same double, so both cards must answer every
 * APDU identically.
 *
 *   CBOR command: params checked as decodeCommandData does (INVALID_CBOR / INVALID_PARAMETER), then
 *     0xEE: the power fails; 0xEF: an internal bug (CP_BAD_ARG); else the answer echoes
 *     command || params (the status byte is the command byte).
 *   ISO PIN: "1234" verifies, "0000" answers 6983, any other PIN 63C2; VERIFY with no data answers
 *     9000 when verified in this session, else 63C3; the second block is ignored.
 */
#include <string.h>

#include "cp_cbor.h"
#include "cp_commands.h"

cp_result cp_store_mount(cp_store *s, const cp_flash *flash) {
  (void)s;
  (void)flash;
  return CP_OK;
}

void cp_commands_session_clear(cp_cmd_session *sess) { sess->pin_verified = 0; }

cp_result cp_commands_run(cp_store *s, const cp_hal *hal, cp_cmd_session *sess, const cp_card_config *cfg,
                          uint8_t command, const uint8_t *params, size_t params_len, uint8_t *out, size_t cap,
                          size_t *out_len) {
  (void)s;
  (void)hal;
  (void)sess;
  (void)cfg;
  if (params_len > 0) {
    cp_cbor_err e = cp_cbor_check(params, params_len, CP_CBOR_MAX_DEPTH, 0);
    if (e == CP_CBOR_OK && (params[0] >> 5) != CP_CBOR_T_MAP) e = CP_CBOR_SCHEMA;
    if (e != CP_CBOR_OK) {
      out[0] = cp_cbor_card_status(e);
      *out_len = 1;
      return CP_OK;
    }
  }
  if (command == 0xee) return CP_POWER_LOST;
  if (command == 0xef) return CP_BAD_ARG;
  if (1 + params_len > cap) return CP_BAD_ARG;
  out[0] = command;
  if (params_len) memcpy(out + 1, params, params_len);
  *out_len = 1 + params_len;
  return CP_OK;
}

uint16_t cp_commands_iso_pin(cp_store *s, const cp_hal *hal, cp_cmd_session *sess, uint8_t ins,
                             const uint8_t pins[2][12], const uint8_t pin_lens[2], size_t n_blocks, cp_result *res) {
  (void)s;
  (void)hal;
  (void)ins;
  *res = CP_OK;
  if (n_blocks == 0) return sess->pin_verified ? 0x9000u : 0x63c3u;
  if (pin_lens[0] == 4 && memcmp(pins[0], "1234", 4) == 0) {
    sess->pin_verified = 1;
    return 0x9000u;
  }
  if (pin_lens[0] == 4 && memcmp(pins[0], "0000", 4) == 0) return 0x6983u;
  return 0x63c2u;
}

cp_result cp_commands_lifecycle(cp_store *s, uint8_t *lifecycle) {
  (void)s;
  *lifecycle = CP_LC_ACTIVE;
  return CP_OK;
}
