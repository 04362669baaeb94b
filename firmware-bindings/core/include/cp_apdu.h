/*
 * cardpost firmware: the ISO 7816-4 pieces of the card's APDU layer (docs/protocol.md §2):
 * command APDU parsing (protocol/apdu/command.ts decodeCommandApdu), command chaining
 * (protocol/apdu/chaining.ts ChainAssembler), status words, and ISO 9564 format 2 PIN blocks
 * (protocol/commands/pin.ts decodePinBlock). No state outside the caller's structs.
 */
#ifndef CP_APDU_H
#define CP_APDU_H

#include <stddef.h>
#include <stdint.h>

#define CP_APDU_CHAIN_CAP 2048u /* = CP_CARD_MAX_MESSAGE (cp_card.c checks) */
#define CP_APDU_CHAINING_BIT 0x10u

#define CP_CLA_ISO 0x00u
#define CP_CLA_PROPRIETARY 0x80u
#define CP_INS_SELECT 0xa4u
#define CP_INS_VERIFY 0x20u
#define CP_INS_CHANGE_REFERENCE_DATA 0x24u
#define CP_INS_RESET_RETRY_COUNTER 0x2cu
#define CP_INS_GET_RESPONSE 0xc0u
#define CP_INS_CBOR 0x10u
#define CP_PIN_REFERENCE 0x80u

/* Status words (protocol/apdu/status-words.ts SW). */
#define CP_SW_OK 0x9000u
#define CP_SW_WRONG_LENGTH 0x6700u
#define CP_SW_LOGICAL_CHANNEL_NOT_SUPPORTED 0x6881u
#define CP_SW_LAST_COMMAND_OF_CHAIN_EXPECTED 0x6883u
#define CP_SW_CHAINING_NOT_SUPPORTED 0x6884u
#define CP_SW_AUTH_METHOD_BLOCKED 0x6983u
#define CP_SW_CONDITIONS_NOT_SATISFIED 0x6985u
#define CP_SW_WRONG_DATA 0x6a80u
#define CP_SW_FILE_NOT_FOUND 0x6a82u
#define CP_SW_NOT_ENOUGH_MEMORY 0x6a84u
#define CP_SW_INCORRECT_P1P2 0x6a86u
#define CP_SW_INS_NOT_SUPPORTED 0x6d00u
#define CP_SW_CLA_NOT_SUPPORTED 0x6e00u
#define CP_SW_UNKNOWN 0x6f00u

typedef struct {
  uint8_t cla, ins, p1, p2;
  const uint8_t *data; /* NULL when the APDU has no data field */
  size_t nc;           /* data bytes */
  uint32_t le;         /* 0: no Le field; else 1..256 (short) or 1..65536 (extended) */
  uint8_t extended;    /* 1: extended length fields */
} cp_apdu;

/* 1 and *out (data points into bytes) for a well-formed APDU, 0 where decodeCommandApdu throws. */
int cp_apdu_decode(const uint8_t *bytes, size_t len, cp_apdu *out);

/* Reassembly of a chained command, as ChainAssembler with maxBytes = max_bytes. */
typedef struct {
  uint8_t active; /* a chain is in progress */
  uint8_t cla;    /* its class without the chaining bit, INS, P1, P2 */
  uint8_t ins, p1, p2;
  uint16_t len;
  uint8_t buf[CP_APDU_CHAIN_CAP];
} cp_apdu_chain;

typedef enum {
  CP_CHAIN_MORE = 0,     /* part stored: answer 9000 */
  CP_CHAIN_COMPLETE = 1, /* *cmd now is the whole command (data in chain->buf, CLA without the bit) */
  CP_CHAIN_BROKEN = 2,   /* another command in the middle: dropped, 6883 */
  CP_CHAIN_TOO_LONG = 3  /* longer than max_bytes: dropped, 6A84 */
} cp_chain_step;

void cp_apdu_chain_reset(cp_apdu_chain *ch);
/* max_bytes is clamped to CP_APDU_CHAIN_CAP. */
cp_chain_step cp_apdu_chain_push(cp_apdu_chain *ch, size_t max_bytes, cp_apdu *cmd);

/* Writes SW1 SW2 at out[0..2); returns 2. */
size_t cp_apdu_put_sw(uint8_t *out, uint16_t sw);

/* An ISO 9564 format 2 PIN block (2N, N BCD digits, F filler) with min..max digits: 1 and the
 * digits as ASCII in digits[0..*n), or 0 if it is not one (the card answers 6A80). */
int cp_apdu_pin_block(const uint8_t block[8], unsigned min, unsigned max, uint8_t digits[12], uint8_t *n);

#endif
