/*
 * cardpost firmware: PIN and PUK (docs/protocol.md §4.2, §4.7, §6.2; device-sim/card/card-pin.ts).
 * The rule for both: read the tries; at 0 never compare; otherwise spend the try in ONE committed
 * transaction (which at 0 blocks the PIN, or terminates the card for the PUK) and only then compare.
 * A right answer restores the tries in one more transaction together with the command's change.
 */
#include <string.h>

#include "cp_cmd_internal.h"

/* Constant time in the secret's bytes: the compare must not tell how many digits were right. */
static int secret_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  uint8_t diff = (uint8_t)(a_len != b_len);
  size_t i;
  for (i = 0; i < 12; i++) {
    uint8_t x = i < a_len ? a[i] : 0, y = i < b_len ? b[i] : 0;
    diff |= (uint8_t)(x ^ y);
  }
  return diff == 0;
}

/* setPin: the holder's new PIN with full tries; the card becomes active. */
static cp_result set_pin(cp_store *s, const cp_secrets *old, const uint8_t *new_pin, size_t new_len) {
  cp_secrets next = *old;
  cp_result r;
  memcpy(next.pin, new_pin, new_len);
  next.pin_len = (uint8_t)new_len;
  if ((r = cp_state_put_secrets(s, &next)) != CP_OK) return r;
  if ((r = cp_state_put_tries(s, CP_KEY_PIN_RETRIES, CP_PIN_TRIES)) != CP_OK) return r;
  return cp_state_put_lifecycle(s, CP_LC_ACTIVE);
}

/* checkPin; new_pin non-NULL: CHANGE_PIN's change, written with the restored tries. */
static cp_result check_pin(cp_cmd_ctx *c, const uint8_t *pin, size_t len, const uint8_t *new_pin, size_t new_len,
                           int *ok, uint64_t *retries) {
  cp_secrets sec;
  uint64_t tries = 0;
  cp_result r = cp_state_secrets(c->s, &sec);
  *ok = 0;
  *retries = 0;
  if (r != CP_OK && r != CP_NOT_FOUND) return r;
  if (r == CP_OK && (r = cp_state_tries(c->s, CP_KEY_PIN_RETRIES, &tries)) != CP_OK) return r;
  if (tries == 0) return CP_OK; /* no secrets, or blocked: never compare */
  if ((r = cp_store_begin(c->s)) != CP_OK) return r;
  r = cp_state_finish(c->s, cp_state_put_tries(c->s, CP_KEY_PIN_RETRIES, (int64_t)tries - 1));
  if (r != CP_OK) return r;
  if (!secret_equal(pin, len, sec.pin, sec.pin_len)) {
    *retries = tries - 1;
    return CP_OK;
  }
  if ((r = cp_store_begin(c->s)) != CP_OK) return r;
  r = new_pin != NULL ? set_pin(c->s, &sec, new_pin, new_len)
                      : cp_state_put_tries(c->s, CP_KEY_PIN_RETRIES, CP_PIN_TRIES);
  if ((r = cp_state_finish(c->s, r)) != CP_OK) return r;
  *ok = 1;
  *retries = CP_PIN_TRIES;
  return CP_OK;
}

/* checkPuk, always with UNBLOCK_PIN's new PIN. */
static cp_result check_puk(cp_cmd_ctx *c, const uint8_t *puk, size_t len, const uint8_t *new_pin, size_t new_len,
                           int *ok, uint64_t *retries) {
  cp_secrets sec;
  uint64_t tries = 0;
  uint8_t stored = 0;
  cp_result r = cp_state_secrets(c->s, &sec);
  *ok = 0;
  *retries = 0;
  if (r != CP_OK && r != CP_NOT_FOUND) return r;
  if (r == CP_NOT_FOUND) return CP_OK;
  if ((r = cp_state_tries(c->s, CP_KEY_PUK_RETRIES, &tries)) != CP_OK) return r;
  if ((r = cp_state_lifecycle(c->s, &stored)) != CP_OK) return r;
  if (tries == 0 || stored == CP_LC_TERMINATED) return CP_OK;
  if ((r = cp_store_begin(c->s)) != CP_OK) return r;
  r = cp_state_put_tries(c->s, CP_KEY_PUK_RETRIES, (int64_t)tries - 1);
  if (r == CP_OK && tries == 1) r = cp_state_put_lifecycle(c->s, CP_LC_TERMINATED); /* the last try terminates */
  if ((r = cp_state_finish(c->s, r)) != CP_OK) return r;
  if (!secret_equal(puk, len, sec.puk, sec.puk_len)) {
    *retries = tries - 1;
    return CP_OK;
  }
  /* Restores the tries; set_pin writes the life cycle (active), which also undoes a terminated mark. */
  if ((r = cp_store_begin(c->s)) != CP_OK) return r;
  r = cp_state_put_tries(c->s, CP_KEY_PUK_RETRIES, CP_PUK_TRIES);
  if (r == CP_OK) r = set_pin(c->s, &sec, new_pin, new_len);
  if ((r = cp_state_finish(c->s, r)) != CP_OK) return r;
  *ok = 1;
  *retries = CP_PUK_TRIES;
  return CP_OK;
}

/* pinGate: 1 when the life cycle answered. */
static int pin_gate(cp_cmd_ctx *c) {
  if (c->lifecycle == CP_LC_BLANK) cp_cmd_status(c, ST_WRONG_STATE);
  else if (c->lifecycle == CP_LC_TERMINATED) cp_cmd_status(c, ST_TERMINATED);
  else if (c->lifecycle == CP_LC_PIN_BLOCKED) cp_cmd_status_uint(c, ST_PIN_BLOCKED, 0);
  else return 0;
  return 1;
}

static void answer_pin(cp_cmd_ctx *c, int ok, uint64_t retries) {
  if (ok) cp_cmd_status_uint(c, ST_OK, CP_PIN_TRIES);
  else if (retries == 0) cp_cmd_status_uint(c, ST_PIN_BLOCKED, 0);
  else cp_cmd_status_uint(c, ST_PIN_INVALID, retries);
}

cp_result cp_cmd_pin_verify(cp_cmd_ctx *c, const uint8_t *pin, size_t pin_len) {
  int ok = 0;
  uint64_t retries = 0;
  cp_result r;
  if (pin_gate(c)) return CP_OK;
  if (!cp_cmd_digits(pin, pin_len, 4, 12)) {
    cp_cmd_status(c, ST_PIN_FORMAT);
    return CP_OK;
  }
  if ((r = check_pin(c, pin, pin_len, NULL, 0, &ok, &retries)) != CP_OK) return r;
  c->sess->pin_verified = (uint8_t)ok;
  answer_pin(c, ok, retries);
  return CP_OK;
}

cp_result cp_cmd_pin_change(cp_cmd_ctx *c, const uint8_t *old_pin, size_t old_len, const uint8_t *new_pin,
                            size_t new_len) {
  int ok = 0;
  uint64_t retries = 0;
  cp_result r;
  if (pin_gate(c)) return CP_OK;
  if (!cp_cmd_digits(old_pin, old_len, 4, 12) || !cp_cmd_digits(new_pin, new_len, 4, 12)) {
    cp_cmd_status(c, ST_PIN_FORMAT);
    return CP_OK;
  }
  if ((r = check_pin(c, old_pin, old_len, new_pin, new_len, &ok, &retries)) != CP_OK) return r;
  c->sess->pin_verified = (uint8_t)ok;
  answer_pin(c, ok, retries);
  return CP_OK;
}

cp_result cp_cmd_pin_unblock(cp_cmd_ctx *c, const uint8_t *puk, size_t puk_len, const uint8_t *new_pin,
                             size_t new_len) {
  int ok = 0;
  uint64_t retries = 0;
  cp_result r;
  if (c->lifecycle == CP_LC_BLANK) {
    cp_cmd_status(c, ST_WRONG_STATE);
    return CP_OK;
  }
  if (c->lifecycle == CP_LC_TERMINATED) {
    cp_cmd_status(c, ST_TERMINATED);
    return CP_OK;
  }
  if (!cp_cmd_digits(puk, puk_len, 8, 12) || !cp_cmd_digits(new_pin, new_len, 4, 12)) {
    cp_cmd_status(c, ST_PIN_FORMAT);
    return CP_OK;
  }
  if ((r = check_puk(c, puk, puk_len, new_pin, new_len, &ok, &retries)) != CP_OK) return r;
  c->sess->pin_verified = (uint8_t)ok;
  if (ok) cp_cmd_status_uint(c, ST_OK, CP_PIN_TRIES);
  else if (retries == 0) cp_cmd_status_uint(c, ST_PUK_BLOCKED, 0);
  else cp_cmd_status_uint(c, ST_PUK_INVALID, retries);
  return CP_OK;
}

/* ISO VERIFY without data: is the PIN verified (9000) or how many tries are left (63Cx)? */
cp_result cp_cmd_pin_status(cp_cmd_ctx *c) {
  uint64_t tries = 0;
  cp_result r;
  if (c->lifecycle == CP_LC_PIN_BLOCKED) {
    cp_cmd_status_uint(c, ST_PIN_BLOCKED, 0);
    return CP_OK;
  }
  if (c->sess->pin_verified) {
    cp_cmd_status(c, ST_OK);
    return CP_OK;
  }
  if ((r = cp_state_tries(c->s, CP_KEY_PIN_RETRIES, &tries)) != CP_OK) return r;
  cp_cmd_status_uint(c, ST_PIN_INVALID, tries);
  return CP_OK;
}

/* ------------------------------------------------------------------ the CBOR requests */

cp_result cp_cmd_verify_pin(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  cp_cbor_map m;
  const uint8_t *pin = NULL;
  size_t pin_len = 0;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_bytes(&m, 1, NULL, 4, 12, &pin, &pin_len);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  return cp_cmd_pin_verify(c, pin, pin_len);
}

cp_result cp_cmd_change_pin(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  cp_cbor_map m;
  const uint8_t *old_pin = NULL, *new_pin = NULL;
  size_t old_len = 0, new_len = 0;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_bytes(&m, 1, NULL, 4, 12, &old_pin, &old_len);
  cp_cbor_map_bytes(&m, 2, NULL, 4, 12, &new_pin, &new_len);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  return cp_cmd_pin_change(c, old_pin, old_len, new_pin, new_len);
}

cp_result cp_cmd_unblock_pin(cp_cmd_ctx *c, const uint8_t *params, size_t len) {
  cp_cbor_map m;
  const uint8_t *puk = NULL, *new_pin = NULL;
  size_t puk_len = 0, new_len = 0;
  cp_cmd_open(params, len, &m);
  cp_cbor_map_bytes(&m, 1, NULL, 8, 12, &puk, &puk_len);
  cp_cbor_map_bytes(&m, 2, NULL, 4, 12, &new_pin, &new_len);
  if (!cp_cmd_request_ok(c, &m)) return CP_OK;
  return cp_cmd_pin_unblock(c, puk, puk_len, new_pin, new_len);
}
