/*
 * cardpost firmware: the card's entry points and its APDU layer (docs/protocol.md §2, §3).
 *
 * A line-by-line port of CardApplet.process in device-sim/card/applet.ts: the same checks in the
 * same order, so that every byte string gets the same answer from both cards. The commands
 * behind the CBOR instruction and the ISO PIN instructions live in cp_commands.h.
 */
#include <string.h>

#include "cp_apdu.h"
#include "cp_card.h"
#include "cp_cbor.h"
#include "cp_commands.h"

/* Compile-time checks (C99 has no _Static_assert): a negative array size stops the build. */
typedef char cp_card_chain_fits_message[(CP_APDU_CHAIN_CAP == CP_CARD_MAX_MESSAGE) ? 1 : -1];
typedef char cp_card_response_fits_commands[(CP_CARD_RESPONSE_CAP >= CP_COMMANDS_MIN_OUT) ? 1 : -1];

#define DEFAULT_MAX_MESSAGE 2048u
#define DEFAULT_JOURNAL 32u
#define PROTOCOL_VERSION 1u
#define STATUS_INVALID_PARAMETER 0x03u
#define STATUS_MESSAGE_TOO_LONG 0x04u
#define STATUS_INTERNAL_ERROR 0x7fu

static const uint8_t card_aid[10] = {0xf0, 0x43, 0x41, 0x52, 0x44, 0x50, 0x4f, 0x53, 0x54, 0x01};
static const uint8_t historical[8] = {'C', 'A', 'R', 'D', 'P', 'O', 'S', 'T'};

/* The exchange in progress: where the response APDU goes. */
typedef struct {
  uint8_t *resp;
  size_t cap;
  size_t *len;
} reply;

static cp_result sw_only(const reply *r, uint16_t sw) {
  *r->len = cp_apdu_put_sw(r->resp, sw);
  return CP_OK;
}

static void clear_session(cp_card *c) {
  c->selected = 0;
  cp_commands_session_clear(&c->cmd);
  cp_apdu_chain_reset(&c->chain);
  c->pending = 0;
}

cp_result cp_card_power_on(cp_card *c, const cp_hal *hal, const cp_card_config *cfg) {
  cp_result r;
  if (!c || !hal) return CP_BAD_ARG;
  c->hal = hal;
  if (cfg) {
    c->cfg = *cfg;
  } else {
    c->cfg.extended_length = 1;
    c->cfg.t0_only = 0;
    c->cfg.max_message_size = 0;
    c->cfg.journal_capacity = 0;
  }
  if (c->cfg.max_message_size == 0) c->cfg.max_message_size = DEFAULT_MAX_MESSAGE;
  if (c->cfg.max_message_size > CP_CARD_MAX_MESSAGE) c->cfg.max_message_size = CP_CARD_MAX_MESSAGE;
  if (c->cfg.journal_capacity == 0) c->cfg.journal_capacity = DEFAULT_JOURNAL;
  c->powered = 0;
  c->dead = 1; /* until recovery has finished */
  c->pending_off = 0;
  c->response_len = 0;
  clear_session(c);
  r = cp_store_mount(&c->store, &hal->flash);
  if (r != CP_OK) return r;
  c->dead = 0;
  c->powered = 1;
  return CP_OK;
}

void cp_card_power_off(cp_card *c) {
  if (!c) return;
  c->powered = 0;
  clear_session(c);
}

size_t cp_card_atr(const cp_card *c, uint8_t out[32]) {
  size_t n = 0, i;
  uint8_t tck = 0;
  out[n++] = 0x3b;
  if (c && c->cfg.t0_only) { /* T0 = 08: no interface bytes, T=0 implied, no TCK */
    out[n++] = 0x08;
    memcpy(out + n, historical, sizeof historical);
    return n + sizeof historical;
  }
  out[n++] = 0x88; /* TD1 follows, 8 historical bytes */
  out[n++] = 0x80; /* TD1: TD2 follows, T=0 */
  out[n++] = 0x01; /* TD2: T=1 */
  memcpy(out + n, historical, sizeof historical);
  n += sizeof historical;
  for (i = 1; i < n; i++) tck ^= out[i];
  out[n++] = tck;
  return n;
}

/*
 * Send response[from, response_len) with 9000, or as much as Le allows and 61xx for the rest
 * (ISO 7816-4 §5.3.4). le 0 means none was given: everything waits for GET RESPONSE.
 */
static cp_result deliver(cp_card *c, const reply *r, size_t from, uint32_t le) {
  size_t body = c->response_len - from;
  size_t room = le;
  size_t left;
  if (body == 0) return sw_only(r, CP_SW_OK);
  if (room > r->cap - 2) room = r->cap - 2; /* never past the caller's buffer */
  if (body <= room) {
    memcpy(r->resp, c->response + from, body);
    *r->len = body + cp_apdu_put_sw(r->resp + body, CP_SW_OK);
    return CP_OK;
  }
  memcpy(r->resp, c->response + from, room);
  c->pending = 1;
  c->pending_off = (uint16_t)(from + room);
  left = body - room;
  *r->len = room + cp_apdu_put_sw(r->resp + room, (uint16_t)(0x6100u | (left >= 256 ? 0u : left)));
  return CP_OK;
}

static cp_result select_app(cp_card *c, const reply *r, const cp_apdu *cmd) {
  cp_cbor_writer w;
  uint8_t lifecycle = 0;
  cp_result res;
  if (cmd->p1 != 0x04 || (cmd->p2 != 0x00 && cmd->p2 != 0x0c)) return sw_only(r, CP_SW_INCORRECT_P1P2);
  clear_session(c);
  if (!cmd->data || cmd->nc != sizeof card_aid || memcmp(cmd->data, card_aid, sizeof card_aid) != 0)
    return sw_only(r, CP_SW_FILE_NOT_FOUND);
  c->selected = 1;
  if (cmd->p2 == 0x0c) return sw_only(r, CP_SW_OK); /* "no response data" requested */
  res = cp_commands_lifecycle(&c->store, &lifecycle);
  if (res != CP_OK) return res;
  cp_cbor_writer_init(&w, c->response, sizeof c->response);
  cp_cbor_put_map(&w, 4);
  cp_cbor_put_uint(&w, 1);
  cp_cbor_put_uint(&w, PROTOCOL_VERSION);
  cp_cbor_put_uint(&w, 2);
  cp_cbor_put_uint(&w, c->cfg.max_message_size);
  cp_cbor_put_uint(&w, 3);
  cp_cbor_put_bool(&w, c->cfg.extended_length);
  cp_cbor_put_uint(&w, 4);
  cp_cbor_put_uint(&w, lifecycle);
  c->response_len = (uint16_t)w.len;
  return deliver(c, r, 0, cmd->le);
}

static cp_result cbor_command(cp_card *c, const reply *r, const cp_apdu *cmd) {
  size_t out_len = 0;
  if (cmd->nc > c->cfg.max_message_size) {
    c->response[0] = STATUS_MESSAGE_TOO_LONG;
    out_len = 1;
  } else if (cmd->nc == 0) { /* no command byte (decodeCommandData: COMMAND_EMPTY) */
    c->response[0] = STATUS_INVALID_PARAMETER;
    out_len = 1;
  } else {
    cp_result res = cp_commands_run(&c->store, c->hal, &c->cmd, &c->cfg, cmd->data[0], cmd->data + 1, cmd->nc - 1,
                                    c->response, sizeof c->response, &out_len);
    if (res == CP_POWER_LOST) return res;
    if (res != CP_OK || out_len == 0 || out_len > sizeof c->response) { /* a bug below: refuse, change nothing */
      c->response[0] = STATUS_INTERNAL_ERROR;
      out_len = 1;
    }
  }
  c->response_len = (uint16_t)out_len;
  return deliver(c, r, 0, cmd->le);
}

static cp_result iso_pin(cp_card *c, const reply *r, const cp_apdu *cmd) {
  uint8_t pins[2][12];
  uint8_t lens[2] = {0, 0};
  size_t blocks = cmd->nc / 8, i;
  cp_result res = CP_OK;
  uint16_t sw;
  int ok_len = cmd->ins == CP_INS_VERIFY ? (cmd->nc == 0 || cmd->nc == 8) : cmd->nc == 16;
  if (!ok_len) return sw_only(r, CP_SW_WRONG_LENGTH);
  for (i = 0; i < blocks; i++)
    if (!cp_apdu_pin_block(cmd->data + 8 * i, 4, 12, pins[i], &lens[i])) return sw_only(r, CP_SW_WRONG_DATA);
  sw = cp_commands_iso_pin(&c->store, c->hal, &c->cmd, cmd->ins, (const uint8_t(*)[12])pins, lens, blocks, &res);
  if (res == CP_POWER_LOST) return res;
  return sw_only(r, res == CP_OK ? sw : CP_SW_UNKNOWN);
}

/* CardApplet.process: one APDU, every check in the reference's order. */
static cp_result process(cp_card *c, const reply *r, const uint8_t *apdu, size_t len) {
  cp_apdu cmd;
  uint8_t cla;
  if (!cp_apdu_decode(apdu, len, &cmd)) return sw_only(r, CP_SW_WRONG_LENGTH);
  if (cmd.extended && !c->cfg.extended_length) return sw_only(r, CP_SW_WRONG_LENGTH);
  cla = (uint8_t)(cmd.cla & ~CP_APDU_CHAINING_BIT);
  if (cla != CP_CLA_ISO && cla != CP_CLA_PROPRIETARY)
    return sw_only(r, (cmd.cla & 0x03u) ? CP_SW_LOGICAL_CHANNEL_NOT_SUPPORTED : CP_SW_CLA_NOT_SUPPORTED);

  if (cmd.ins == CP_INS_GET_RESPONSE) {
    if (!c->pending) return sw_only(r, CP_SW_CONDITIONS_NOT_SATISFIED);
    c->pending = 0;
    return deliver(c, r, c->pending_off, cmd.le ? cmd.le : 256u);
  }
  c->pending = 0;

  /* SELECT always gets through: selecting clears an unfinished chain (§2.1). */
  if (cmd.ins == CP_INS_SELECT && cmd.cla == CP_CLA_ISO) cp_apdu_chain_reset(&c->chain);
  if ((cmd.cla & CP_APDU_CHAINING_BIT) || c->chain.active) {
    if (cmd.ins != CP_INS_CBOR) {
      int interrupted = c->chain.active;
      cp_apdu_chain_reset(&c->chain);
      return sw_only(r, interrupted ? CP_SW_LAST_COMMAND_OF_CHAIN_EXPECTED : CP_SW_CHAINING_NOT_SUPPORTED);
    }
    switch (cp_apdu_chain_push(&c->chain, c->cfg.max_message_size, &cmd)) {
      case CP_CHAIN_MORE:
        return sw_only(r, CP_SW_OK);
      case CP_CHAIN_COMPLETE:
        break;
      case CP_CHAIN_TOO_LONG:
        return sw_only(r, CP_SW_NOT_ENOUGH_MEMORY);
      default:
        return sw_only(r, CP_SW_LAST_COMMAND_OF_CHAIN_EXPECTED);
    }
  }

  if (cmd.ins == CP_INS_SELECT && cla == CP_CLA_ISO) return select_app(c, r, &cmd);
  if (!c->selected) return sw_only(r, CP_SW_CONDITIONS_NOT_SATISFIED);
  switch (cmd.ins) {
    case CP_INS_CBOR:
      if (cla != CP_CLA_PROPRIETARY) return sw_only(r, CP_SW_CLA_NOT_SUPPORTED);
      if (cmd.p1 != 0 || cmd.p2 != 0) return sw_only(r, CP_SW_INCORRECT_P1P2);
      return cbor_command(c, r, &cmd);
    case CP_INS_VERIFY:
    case CP_INS_CHANGE_REFERENCE_DATA:
    case CP_INS_RESET_RETRY_COUNTER:
      if (cla != CP_CLA_ISO) return sw_only(r, CP_SW_CLA_NOT_SUPPORTED);
      if (cmd.p1 != 0 || cmd.p2 != CP_PIN_REFERENCE) return sw_only(r, CP_SW_INCORRECT_P1P2);
      return iso_pin(c, r, &cmd);
    default:
      return sw_only(r, CP_SW_INS_NOT_SUPPORTED);
  }
}

cp_result cp_card_transmit(cp_card *c, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap,
                           size_t *resp_len) {
  reply r;
  cp_result res;
  if (!c || !resp || !resp_len || cap < 2) return CP_BAD_ARG;
  *resp_len = 0;
  if (c->dead) return CP_POWER_LOST;
  if (!c->powered) { /* readers power the card before use; be lenient for direct callers, as the TS card */
    if (!c->hal) return CP_BAD_ARG;
    res = cp_card_power_on(c, c->hal, &c->cfg);
    if (res != CP_OK) return res;
  }
  r.resp = resp;
  r.cap = cap;
  r.len = resp_len;
  res = process(c, &r, apdu, len);
  if (res == CP_POWER_LOST) {
    c->powered = 0;
    c->dead = 1;
    *resp_len = 0;
    return res;
  }
  if (res != CP_OK) { /* a bug must not crash the card: the store rolled back, answer 6F00 */
    return sw_only(&r, CP_SW_UNKNOWN);
  }
  return CP_OK;
}
