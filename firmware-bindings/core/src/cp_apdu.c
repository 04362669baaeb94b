/*
 * cardpost firmware: command APDU parsing, command chaining, PIN blocks (see cp_apdu.h).
 * Each function reproduces its TypeScript counterpart's accept/refuse decisions exactly, since
 * the conformance suite compares the C card with device-sim/card/applet.ts byte for byte.
 */
#include <string.h>

#include "cp_apdu.h"

int cp_apdu_decode(const uint8_t *bytes, size_t len, cp_apdu *out) {
  const uint8_t *body;
  size_t n, lc;
  if (!bytes || len < 4 || bytes[0] == 0xff) return 0; /* CLA FF is reserved for PPS */
  out->cla = bytes[0];
  out->ins = bytes[1];
  out->p1 = bytes[2];
  out->p2 = bytes[3];
  out->data = 0;
  out->nc = 0;
  out->le = 0;
  out->extended = 0;
  body = bytes + 4;
  n = len - 4;
  if (n == 0) return 1; /* case 1 */
  if (n == 1) {         /* case 2S */
    out->le = body[0] ? body[0] : 256u;
    return 1;
  }
  if (body[0] != 0) { /* short Lc */
    lc = body[0];
    if (n == 1 + lc || n == 2 + lc) {
      out->data = body + 1;
      out->nc = lc;
      if (n == 2 + lc) out->le = body[n - 1] ? body[n - 1] : 256u; /* case 4S */
      return 1;
    }
    return 0;
  }
  out->extended = 1;
  if (n == 3) { /* case 2E */
    uint32_t le = ((uint32_t)body[1] << 8) | body[2];
    out->le = le ? le : 65536u;
    return 1;
  }
  if (n < 3) return 0;
  lc = ((size_t)body[1] << 8) | body[2];
  if (lc == 0) return 0;
  if (n == 3 + lc || n == 5 + lc) {
    out->data = body + 3;
    out->nc = lc;
    if (n == 5 + lc) { /* case 4E */
      uint32_t le = ((uint32_t)body[n - 2] << 8) | body[n - 1];
      out->le = le ? le : 65536u;
    }
    return 1;
  }
  return 0;
}

void cp_apdu_chain_reset(cp_apdu_chain *ch) {
  ch->active = 0;
  ch->len = 0;
}

cp_chain_step cp_apdu_chain_push(cp_apdu_chain *ch, size_t max_bytes, cp_apdu *cmd) {
  int chained = (cmd->cla & CP_APDU_CHAINING_BIT) != 0;
  uint8_t cla = (uint8_t)(cmd->cla & ~CP_APDU_CHAINING_BIT);
  if (max_bytes > CP_APDU_CHAIN_CAP) max_bytes = CP_APDU_CHAIN_CAP;
  if (ch->active && (ch->cla != cla || ch->ins != cmd->ins || ch->p1 != cmd->p1 || ch->p2 != cmd->p2)) {
    cp_apdu_chain_reset(ch);
    return CP_CHAIN_BROKEN;
  }
  if (!chained && !ch->active) { /* a lone command: nothing to keep, the same bound */
    return cmd->nc > max_bytes ? CP_CHAIN_TOO_LONG : CP_CHAIN_COMPLETE;
  }
  if (cmd->nc > max_bytes - ch->len) {
    cp_apdu_chain_reset(ch);
    return CP_CHAIN_TOO_LONG;
  }
  if (cmd->nc) memcpy(ch->buf + ch->len, cmd->data, cmd->nc);
  ch->len = (uint16_t)(ch->len + cmd->nc);
  if (chained) {
    if (!ch->active) {
      ch->active = 1;
      ch->cla = cla;
      ch->ins = cmd->ins;
      ch->p1 = cmd->p1;
      ch->p2 = cmd->p2;
    }
    return CP_CHAIN_MORE;
  }
  /* the last part: the whole command, with the original class and this part's Le */
  cmd->cla = cla;
  cmd->data = ch->buf;
  cmd->nc = ch->len;
  cp_apdu_chain_reset(ch);
  return CP_CHAIN_COMPLETE;
}

size_t cp_apdu_put_sw(uint8_t *out, uint16_t sw) {
  out[0] = (uint8_t)(sw >> 8);
  out[1] = (uint8_t)(sw & 0xffu);
  return 2;
}

int cp_apdu_pin_block(const uint8_t block[8], unsigned min, unsigned max, uint8_t digits[12], uint8_t *n) {
  unsigned i, len;
#define NIBBLE(i) ((i) % 2u == 0 ? (unsigned)(block[(i) >> 1] >> 4) : (unsigned)(block[(i) >> 1] & 0x0fu))
  if (NIBBLE(0) != 2) return 0;
  len = NIBBLE(1);
  if (len < min || len > max || len > 12) return 0;
  for (i = 0; i < len; i++) {
    unsigned d = NIBBLE(2 + i);
    if (d > 9) return 0;
    digits[i] = (uint8_t)('0' + d);
  }
  for (i = 2 + len; i < 16; i++)
    if (NIBBLE(i) != 0x0f) return 0;
#undef NIBBLE
  *n = (uint8_t)len;
  return 1;
}
