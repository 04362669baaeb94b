/*
 * cardpost firmware: what the command files share (not part of the public API).
 * A handler reads the validated request map, answers through the cp_cmd_* helpers and returns
 * CP_OK, CP_POWER_LOST, or another cp_result that cp_commands_run turns into INTERNAL_ERROR.
 */
#ifndef CP_CMD_INTERNAL_H
#define CP_CMD_INTERNAL_H

#include "cp_cbor.h"
#include "cp_commands.h"
#include "cp_records.h"
#include "cp_state.h"

/* Card status bytes (docs/protocol.md §5; CARD_STATUS in protocol/commands/command-codes.ts). */
enum {
  ST_OK = 0x00,
  ST_INVALID_COMMAND = 0x01,
  ST_INVALID_CBOR = 0x02,
  ST_INVALID_PARAMETER = 0x03,
  ST_WRONG_STATE = 0x05,
  ST_TERMINATED = 0x06,
  ST_BLOCKED = 0x07,
  ST_PIN_REQUIRED = 0x10,
  ST_PIN_INVALID = 0x11,
  ST_PIN_BLOCKED = 0x12,
  ST_PIN_FORMAT = 0x13,
  ST_PUK_INVALID = 0x14,
  ST_PUK_BLOCKED = 0x15,
  ST_PIN_CHANGE_REQUIRED = 0x16,
  ST_INSUFFICIENT_FUNDS = 0x20,
  ST_OVER_TRANSACTION_LIMIT = 0x21,
  ST_OFFLINE_AMOUNT_LIMIT = 0x22,
  ST_OFFLINE_COUNT_LIMIT = 0x23,
  ST_CURRENCY_MISMATCH = 0x24,
  ST_COUNTER_EXHAUSTED = 0x25,
  ST_NONCE_REUSED = 0x26,
  ST_VOID_NOT_ALLOWED = 0x27,
  ST_VOID_MISMATCH = 0x28,
  ST_ALREADY_VOIDED = 0x29,
  ST_TOKEN_SIGNATURE_INVALID = 0x30,
  ST_TOKEN_REPLAYED = 0x31,
  ST_TOKEN_WRONG_CARD = 0x32,
  ST_TOKEN_EXPIRED = 0x33,
  ST_BALANCE_LIMIT = 0x34,
  ST_AUTHORITY_INVALID = 0x35,
  ST_REFUND_OF_VOIDED = 0x36,
  ST_REFUND_UNPROVABLE = 0x37,
  ST_CERTIFICATE_INVALID = 0x40,
  ST_AUTHORISATION_INVALID = 0x41,
  ST_BLOCK_ORDER_INVALID = 0x50,
  ST_BLOCK_ORDER_WRONG_CARD = 0x51,
  ST_INTERNAL_ERROR = 0x7f
};

/* Command bytes (CMD in command-codes.ts). */
enum {
  CMD_GET_INFO = 0x01,
  CMD_VERIFY_PIN = 0x02,
  CMD_SIGN_TXN = 0x03,
  CMD_READ_JOURNAL = 0x04,
  CMD_LOAD = 0x05,
  CMD_PERSONALIZE_BEGIN = 0x06,
  CMD_PERSONALIZE_COMMIT = 0x07,
  CMD_CHANGE_PIN = 0x08,
  CMD_UNBLOCK_PIN = 0x09,
  CMD_BLOCK_CARD = 0x0a,
  CMD_VOID_TXN = 0x0b
};

typedef struct {
  cp_store *s;
  const cp_hal *hal;
  cp_cmd_session *sess;
  uint16_t max_message_size;
  uint16_t journal_capacity;
  uint8_t lifecycle; /* effective, as the TS applet passes it to run() */
  uint8_t *out;
  size_t cap;
  size_t len;
  uint8_t has_detail; /* the answer carries {1: detail} (retries): the ISO PIN commands read it */
  uint64_t detail;
} cp_cmd_ctx;

/* Opens a request map; 0 when there is none (a required field is then missing: INVALID_PARAMETER). */
int cp_cmd_open(const uint8_t *params, size_t len, cp_cbor_map *m);
/* Finishes reading a request: 1 when it was valid, else answers INVALID_PARAMETER and returns 0. */
int cp_cmd_request_ok(cp_cmd_ctx *c, cp_cbor_map *m);

/* Answers: a bare status; a status with {1: n} (retries, the PIN commands' detail). */
void cp_cmd_status(cp_cmd_ctx *c, uint8_t status);
void cp_cmd_status_uint(cp_cmd_ctx *c, uint8_t status, uint64_t n);
/* A writer positioned after the status byte; cp_cmd_end checks it fitted. */
void cp_cmd_begin(cp_cmd_ctx *c, uint8_t status, cp_cbor_writer *w);
cp_result cp_cmd_end(cp_cmd_ctx *c, const cp_cbor_writer *w);

int cp_cmd_digits(const uint8_t *pin, size_t len, size_t min, size_t max);
int cp_cmd_bytes_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* The journal's record with this counter, if still held (journalRecord): *found 0 when not.
 * buf receives the envelope (CP_TXN_ENVELOPE_MAX bytes); *env_len its length. */
cp_result cp_cmd_journal_record(cp_cmd_ctx *c, uint64_t counter, uint8_t *buf, size_t *env_len, cp_txn *t,
                                int *found);

/* Handlers: params/len is the validated request map (len 0: none). */
cp_result cp_cmd_get_info(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_read_journal(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_verify_pin(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_change_pin(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_unblock_pin(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_sign_txn(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_void_txn(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_load(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_personalize_begin(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_personalize_commit(cp_cmd_ctx *c, const uint8_t *params, size_t len);
cp_result cp_cmd_block_card(cp_cmd_ctx *c, const uint8_t *params, size_t len);

/* The PIN core shared by the CBOR and ISO commands (card-pin.ts and CardCommands). */
cp_result cp_cmd_pin_verify(cp_cmd_ctx *c, const uint8_t *pin, size_t pin_len);
cp_result cp_cmd_pin_change(cp_cmd_ctx *c, const uint8_t *old_pin, size_t old_len, const uint8_t *new_pin,
                            size_t new_len);
cp_result cp_cmd_pin_unblock(cp_cmd_ctx *c, const uint8_t *puk, size_t puk_len, const uint8_t *new_pin,
                             size_t new_len);
cp_result cp_cmd_pin_status(cp_cmd_ctx *c);

#endif
