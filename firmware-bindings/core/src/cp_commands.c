/*
 * cardpost firmware: the CBOR command dispatcher (CardCommands.run in
 * device-sim/card/card-commands.ts), the answer helpers and the ISO PIN entry point.
 */
#include <string.h>

#include "cp_cmd_internal.h"

#define DEFAULT_MAX_MESSAGE 2048u
#define DEFAULT_JOURNAL_CAPACITY 32u

void cp_commands_session_clear(cp_cmd_session *sess) { sess->pin_verified = 0; }

cp_result cp_commands_lifecycle(cp_store *s, uint8_t *lifecycle) {
  cp_result r = cp_state_effective_lifecycle(s, lifecycle);
  if (r == CP_POWER_LOST) return r;
  if (r != CP_OK) *lifecycle = CP_LC_TERMINATED; /* unreadable state: fail closed */
  return CP_OK;
}

/* ------------------------------------------------------------------ answers */

void cp_cmd_status(cp_cmd_ctx *c, uint8_t status) {
  c->out[0] = status;
  c->len = 1;
  c->has_detail = 0;
}

void cp_cmd_begin(cp_cmd_ctx *c, uint8_t status, cp_cbor_writer *w) {
  c->out[0] = status;
  c->len = 1;
  c->has_detail = 0;
  cp_cbor_writer_init(w, c->out + 1, c->cap - 1);
}

cp_result cp_cmd_end(cp_cmd_ctx *c, const cp_cbor_writer *w) {
  if (w->overflow) return CP_TOO_LARGE;
  c->len = 1 + w->len;
  return CP_OK;
}

void cp_cmd_status_uint(cp_cmd_ctx *c, uint8_t status, uint64_t n) {
  cp_cbor_writer w;
  cp_cmd_begin(c, status, &w);
  cp_cbor_put_map(&w, 1);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_uint(&w, n);
  cp_cmd_end(c, &w);
  c->has_detail = 1;
  c->detail = n;
}

int cp_cmd_open(const uint8_t *params, size_t len, cp_cbor_map *m) {
  if (len == 0) { /* no map: every accessor answers "missing" */
    memset(m, 0, sizeof *m);
    m->err = CP_CBOR_SCHEMA;
    return 0;
  }
  return cp_cbor_map_open(m, params, len) == CP_CBOR_OK;
}

int cp_cmd_request_ok(cp_cmd_ctx *c, cp_cbor_map *m) {
  if (cp_cbor_map_done(m, 0) == CP_CBOR_OK) return 1;
  cp_cmd_status(c, ST_INVALID_PARAMETER);
  return 0;
}

int cp_cmd_digits(const uint8_t *pin, size_t len, size_t min, size_t max) {
  size_t i;
  if (len < min || len > max) return 0;
  for (i = 0; i < len; i++)
    if (pin[i] < 0x30 || pin[i] > 0x39) return 0;
  return 1;
}

int cp_cmd_bytes_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* ------------------------------------------------------------------ dispatch */

static int known_command(uint8_t command) { return command >= CMD_GET_INFO && command <= CMD_VOID_TXN; }

/* What a blocked card still does (§6.1): tell what it is, give up its journal, take the order again. */
static int open_when_blocked(uint8_t command) {
  return command == CMD_GET_INFO || command == CMD_READ_JOURNAL || command == CMD_BLOCK_CARD;
}

static cp_result dispatch(cp_cmd_ctx *c, uint8_t command, const uint8_t *params, size_t len) {
  if (c->lifecycle == CP_LC_BLOCKED && known_command(command) && !open_when_blocked(command)) {
    cp_cmd_status(c, ST_BLOCKED);
    return CP_OK;
  }
  switch (command) {
    case CMD_GET_INFO: return cp_cmd_get_info(c, params, len);
    case CMD_VERIFY_PIN: return cp_cmd_verify_pin(c, params, len);
    case CMD_SIGN_TXN: return cp_cmd_sign_txn(c, params, len);
    case CMD_READ_JOURNAL: return cp_cmd_read_journal(c, params, len);
    case CMD_LOAD: return cp_cmd_load(c, params, len);
    case CMD_PERSONALIZE_BEGIN: return cp_cmd_personalize_begin(c, params, len);
    case CMD_PERSONALIZE_COMMIT: return cp_cmd_personalize_commit(c, params, len);
    case CMD_CHANGE_PIN: return cp_cmd_change_pin(c, params, len);
    case CMD_UNBLOCK_PIN: return cp_cmd_unblock_pin(c, params, len);
    case CMD_VOID_TXN: return cp_cmd_void_txn(c, params, len);
    case CMD_BLOCK_CARD: return cp_cmd_block_card(c, params, len);
    default: cp_cmd_status(c, ST_INVALID_COMMAND); return CP_OK;
  }
}

static void init_ctx(cp_cmd_ctx *c, cp_store *s, const cp_hal *hal, cp_cmd_session *sess, const cp_card_config *cfg,
                     uint8_t *out, size_t cap) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->hal = hal;
  c->sess = sess;
  c->max_message_size = cfg != NULL && cfg->max_message_size != 0 ? cfg->max_message_size : DEFAULT_MAX_MESSAGE;
  c->journal_capacity = cfg != NULL && cfg->journal_capacity != 0 ? cfg->journal_capacity : DEFAULT_JOURNAL_CAPACITY;
  if (c->journal_capacity > CP_JOURNAL_MAX_CAPACITY) c->journal_capacity = CP_JOURNAL_MAX_CAPACITY;
  c->out = out;
  c->cap = cap;
}

cp_result cp_commands_run(cp_store *s, const cp_hal *hal, cp_cmd_session *sess, const cp_card_config *cfg,
                          uint8_t command, const uint8_t *params, size_t params_len, uint8_t *out, size_t cap,
                          size_t *out_len) {
  cp_cmd_ctx c;
  cp_result r;
  if (s == NULL || hal == NULL || sess == NULL || out == NULL || out_len == NULL || cap < CP_COMMANDS_MIN_OUT ||
      (params == NULL && params_len != 0))
    return CP_BAD_ARG;
  init_ctx(&c, s, hal, sess, cfg, out, cap);
  *out_len = 0;
  if (params_len > 0) { /* decodeCommandData: canonical CBOR (INVALID_CBOR), then a map (INVALID_PARAMETER) */
    cp_cbor_item it;
    cp_cbor_err e = cp_cbor_check(params, params_len, CP_CBOR_MAX_DEPTH, NULL);
    if (e == CP_CBOR_OK && (cp_cbor_item_at(params, params_len, &it) != CP_CBOR_OK || it.type != CP_CBOR_T_MAP))
      e = CP_CBOR_SCHEMA;
    if (e != CP_CBOR_OK) {
      cp_cmd_status(&c, cp_cbor_card_status(e));
      *out_len = c.len;
      return CP_OK;
    }
  }
  r = cp_commands_lifecycle(s, &c.lifecycle);
  if (r == CP_OK) r = dispatch(&c, command, params, params_len);
  if (r == CP_POWER_LOST) return r;
  /* Anything else that failed (store full or corrupt, crypto refused): nothing was committed. */
  if (r != CP_OK) cp_cmd_status(&c, ST_INTERNAL_ERROR);
  *out_len = c.len;
  return CP_OK;
}

/* ------------------------------------------------------------------ ISO PIN commands */

#define INS_VERIFY 0x20u
#define INS_CHANGE_REFERENCE_DATA 0x24u

uint16_t cp_commands_iso_pin(cp_store *s, const cp_hal *hal, cp_cmd_session *sess, uint8_t ins,
                             const uint8_t pins[2][12], const uint8_t pin_lens[2], size_t n_blocks, cp_result *res) {
  uint8_t answer[16];
  cp_cmd_ctx c;
  cp_result r;
  init_ctx(&c, s, hal, sess, NULL, answer, sizeof answer);
  *res = CP_OK;
  if ((r = cp_commands_lifecycle(s, &c.lifecycle)) != CP_OK) {
    *res = r;
    return 0x6f00;
  }
  if (c.lifecycle == CP_LC_BLANK || c.lifecycle == CP_LC_TERMINATED || c.lifecycle == CP_LC_BLOCKED) return 0x6985;
  if (ins == INS_VERIFY)
    r = n_blocks == 0 ? cp_cmd_pin_status(&c) : cp_cmd_pin_verify(&c, pins[0], pin_lens[0]);
  else if (n_blocks < 2)
    return 0x6f00;
  else if (ins == INS_CHANGE_REFERENCE_DATA)
    r = cp_cmd_pin_change(&c, pins[0], pin_lens[0], pins[1], pin_lens[1]);
  else
    r = cp_cmd_pin_unblock(&c, pins[0], pin_lens[0], pins[1], pin_lens[1]);
  if (r != CP_OK) {
    *res = r == CP_POWER_LOST ? r : CP_OK;
    return 0x6f00; /* the TS applet's answer to an internal failure */
  }
  switch (answer[0]) {
    case ST_OK: return 0x9000;
    case ST_PIN_INVALID:
    case ST_PUK_INVALID: return (uint16_t)(0x63c0u | (c.has_detail ? (unsigned)(c.detail & 0x0fu) : 0u));
    case ST_PIN_BLOCKED:
    case ST_PUK_BLOCKED: return 0x6983;
    case ST_PIN_FORMAT: return 0x6a80;
    default: return 0x6985;
  }
}
