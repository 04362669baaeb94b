/*
 * cardpost_card: Node-API glue that runs the C card applet (firmware-bindings/core) in-process.
 *
 * Every piece of a card's state lives in one ArrayBuffer this file creates and JavaScript holds
 * (firmware-bindings/node/native-card.ts): the cp_card, its HAL and the flash model. The flash
 * image itself is a Uint8Array owned by JavaScript, so the TypeScript side can save it to a state
 * file or copy it for a tearing test; it is passed with every call and re-pointed each time, so no
 * pointer to JavaScript memory outlives a call. Randomness is OpenSSL's RAND_priv_bytes, which the
 * node binary exports (as in the cardpost_crypto addon). No malloc, no mutable globals.
 */
#include <node_api.h>
#include <openssl/rand.h>
#include <string.h>

#include "cp_card.h"
#include "cp_node_flash.h"
#include "cp_state.h"

#define NODE_CARD_MAGIC 0x43504e43u /* "CPNC": this ArrayBuffer is one of ours */

typedef struct {
  uint32_t magic;
  uint32_t pad;
  cp_node_flash flash;
  cp_hal hal;
  cp_card_config cfg;
  cp_card card;
  cp_store factory; /* the factory step's own view of the store (manufacture), card powered off */
  uint8_t value[CP_STORE_MAX_VALUE];
  uint8_t resp[CP_CARD_MAX_MESSAGE + 2];
} node_card;

/* manufacture() results beyond cp_result (which stops at 9). */
#define NODE_CARD_NOT_BLANK 100u
#define NODE_CARD_BOUND_ELSEWHERE 101u

#define CALL(expr)                      \
  do {                                  \
    if ((expr) != napi_ok) return NULL; \
  } while (0)

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, "NATIVE_CARD_ARGS", msg);
  return NULL;
}

static cp_result rng_fill(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  /* RAND_priv_bytes takes an int: fill in slices so a huge request cannot wrap. */
  while (len > 0) {
    int n = len > 4096 ? 4096 : (int)len;
    if (RAND_priv_bytes(buf, n) != 1) return CP_RNG_FAILED;
    buf += n;
    len -= (size_t)n;
  }
  return CP_OK;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static int get_u8array(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)ptr;
  return 1;
}

/* The card behind a context ArrayBuffer, or NULL if it is not one of ours. */
static node_card *get_card(napi_env env, napi_value v) {
  bool is_ab = false;
  void *data = NULL;
  size_t len = 0;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab) return NULL;
  if (napi_get_arraybuffer_info(env, v, &data, &len) != napi_ok || len != sizeof(node_card)) return NULL;
  if (((node_card *)data)->magic != NODE_CARD_MAGIC) return NULL;
  return (node_card *)data;
}

/* The card, with its flash pointed at this call's image (which must be the right size). */
static node_card *get_card_and_flash(napi_env env, napi_value ctx, napi_value image) {
  node_card *c = get_card(env, ctx);
  uint8_t *mem = NULL;
  size_t len = 0;
  if (c == NULL || !get_u8array(env, image, &mem, &len)) return NULL;
  if (len != (size_t)c->flash.page_size * c->flash.page_count) return NULL;
  c->flash.mem = mem;
  return c;
}

static napi_value make_u32(napi_env env, uint32_t v) {
  napi_value out;
  CALL(napi_create_uint32(env, v, &out));
  return out;
}

static napi_value make_bytes(napi_env env, const uint8_t *src, size_t len) {
  napi_value ab, out;
  void *dst = NULL;
  CALL(napi_create_arraybuffer(env, len, &dst, &ab));
  if (len > 0) memcpy(dst, src, len);
  CALL(napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &out));
  return out;
}

/*
 * open(image, pageSize, pageCount, writeUnit, extendedLength, t0Only, maxMessageSize,
 *      journalCapacity) -> ArrayBuffer: a card, not yet powered.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], ab;
  uint32_t v[7];
  uint8_t *mem = NULL;
  size_t len = 0, i;
  void *data = NULL;
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8 || !get_u8array(env, argv[0], &mem, &len)) return fail(env, "open(image, ...7 numbers)");
  for (i = 0; i < 7; i++)
    if (!get_u32(env, argv[i + 1], &v[i])) return fail(env, "open: geometry and config are numbers");
  if (v[5] > CP_CARD_MAX_MESSAGE || v[6] > 0xFFFFu) return fail(env, "open: maxMessageSize or journalCapacity too large");
  if ((uint64_t)v[0] * v[1] != len) return fail(env, "open: the image is not pageSize * pageCount bytes");
  CALL(napi_create_arraybuffer(env, sizeof(node_card), &data, &ab));
  memset(data, 0, sizeof(node_card));
  c = (node_card *)data;
  if (cp_node_flash_init(&c->flash, mem, v[0], v[1], v[2]) != CP_OK)
    return fail(env, "open: page size must be a power of two >= 256, pages >= 2, write unit 1, 4 or 8");
  cp_node_flash_hal(&c->flash, &c->hal.flash);
  c->hal.rng.ctx = NULL;
  c->hal.rng.fill = rng_fill;
  c->hal.crypto = NULL; /* the portable software crypto */
  c->cfg.extended_length = v[3] != 0u;
  c->cfg.t0_only = v[4] != 0u;
  c->cfg.max_message_size = (uint16_t)v[5];
  c->cfg.journal_capacity = (uint16_t)v[6];
  c->magic = NODE_CARD_MAGIC;
  return ab;
}

/* powerOn(ctx, image) -> cp_result: power is back (a cut flash answers again), then recovery. */
static napi_value js_power_on(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 2 ? NULL : get_card_and_flash(env, argv[0], argv[1]);
  if (c == NULL) return fail(env, "powerOn(ctx, image)");
  cp_node_flash_power_on(&c->flash);
  return make_u32(env, (uint32_t)cp_card_power_on(&c->card, &c->hal, &c->cfg));
}

/* powerOff(ctx, image) */
static napi_value js_power_off(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], undef;
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 2 ? NULL : get_card_and_flash(env, argv[0], argv[1]);
  if (c == NULL) return fail(env, "powerOff(ctx, image)");
  cp_card_power_off(&c->card);
  CALL(napi_get_undefined(env, &undef));
  return undef;
}

/* atr(ctx) -> Uint8Array */
static napi_value js_atr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint8_t atr[32];
  size_t n;
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 1 ? NULL : get_card(env, argv[0]);
  if (c == NULL) return fail(env, "atr(ctx)");
  n = cp_card_atr(&c->card, atr);
  return make_bytes(env, atr, n > sizeof atr ? sizeof atr : n);
}

/* transmit(ctx, image, apdu) -> Uint8Array (the response APDU) | number (a cp_result other than CP_OK) */
static napi_value js_transmit(napi_env env, napi_callback_info info) {
  size_t argc = 3, len = 0, out_len = 0;
  napi_value argv[3];
  uint8_t *apdu = NULL;
  cp_result r;
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 3 ? NULL : get_card_and_flash(env, argv[0], argv[1]);
  if (c == NULL || !get_u8array(env, argv[2], &apdu, &len)) return fail(env, "transmit(ctx, image, Uint8Array)");
  if (apdu == NULL) apdu = c->value; /* an empty Uint8Array may have no storage: give the core a real pointer */
  r = cp_card_transmit(&c->card, apdu, len, c->resp, sizeof c->resp, &out_len);
  if (r != CP_OK) return make_u32(env, (uint32_t)r);
  if (out_len > sizeof c->resp) return make_u32(env, (uint32_t)CP_TOO_LARGE);
  return make_bytes(env, c->resp, out_len);
}

/*
 * The factory step before personalisation, as device-sim/card/sim-card.ts manufactureFor: write the
 * issuer CA certificate envelope (the anchor PERSONALIZE_BEGIN accepts) into a blank card's store.
 * Not an APDU: a card maker does it before the card leaves the factory. The card is powered off
 * first; powerOn afterwards.
 * manufacture(ctx, image, anchor) -> cp_result | 100 (not blank) | 101 (bound to another issuer)
 */
static uint32_t manufacture(node_card *c, const uint8_t *anchor, size_t len) {
  static const uint8_t blank[] = {0xA1, 0x01, 0x00}; /* {1: 0}: LIFECYCLE.BLANK, canonical CBOR */
  uint16_t n = 0;
  cp_result r;
  cp_card_power_off(&c->card);
  cp_node_flash_power_on(&c->flash);
  if (len > CP_STORE_MAX_VALUE) return CP_TOO_LARGE;
  r = cp_store_mount(&c->factory, &c->hal.flash);
  if (r != CP_OK) return (uint32_t)r;
  r = cp_store_get(&c->factory, CP_KEY_LIFECYCLE, c->value, sizeof c->value, &n);
  if (r == CP_OK && (n != sizeof blank || memcmp(c->value, blank, sizeof blank) != 0)) return NODE_CARD_NOT_BLANK;
  if (r != CP_OK && r != CP_NOT_FOUND) return (uint32_t)r;
  r = cp_store_get(&c->factory, CP_KEY_ANCHOR, c->value, sizeof c->value, &n);
  if (r == CP_OK) return n == len && memcmp(c->value, anchor, len) == 0 ? CP_OK : NODE_CARD_BOUND_ELSEWHERE;
  if (r != CP_NOT_FOUND) return r == CP_TOO_LARGE ? NODE_CARD_BOUND_ELSEWHERE : (uint32_t)r;
  r = cp_store_begin(&c->factory);
  if (r == CP_OK) r = cp_store_put(&c->factory, CP_KEY_ANCHOR, anchor, (uint16_t)len);
  if (r == CP_OK) return (uint32_t)cp_store_commit(&c->factory);
  cp_store_abort(&c->factory);
  return (uint32_t)r;
}

static napi_value js_manufacture(napi_env env, napi_callback_info info) {
  size_t argc = 3, len = 0;
  napi_value argv[3];
  uint8_t *anchor = NULL;
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 3 ? NULL : get_card_and_flash(env, argv[0], argv[1]);
  if (c == NULL || !get_u8array(env, argv[2], &anchor, &len) || len == 0)
    return fail(env, "manufacture(ctx, image, Uint8Array)");
  return make_u32(env, manufacture(c, anchor, len));
}

/* writeCount(ctx) -> number of physical writes (programs + erases) since open */
static napi_value js_write_count(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 1 ? NULL : get_card(env, argv[0]);
  if (c == NULL) return fail(env, "writeCount(ctx)");
  return make_u32(env, c->flash.writes);
}

/* cutAfter(ctx, n, mode): power dies at the n-th physical write from now (0: disarm). */
static napi_value js_cut_after(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], undef;
  uint32_t n = 0, mode = 0;
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 3 ? NULL : get_card(env, argv[0]);
  if (c == NULL || !get_u32(env, argv[1], &n) || !get_u32(env, argv[2], &mode) || mode > CP_NODE_CUT_DURING)
    return fail(env, "cutAfter(ctx, n, 0 | 1)");
  c->flash.cut_mode = mode;
  cp_node_flash_cut_after(&c->flash, n);
  CALL(napi_get_undefined(env, &undef));
  return undef;
}

/* alive(ctx) -> false from a power cut until the next powerOn */
static napi_value js_alive(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  node_card *c;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  c = argc < 1 ? NULL : get_card(env, argv[0]);
  if (c == NULL) return fail(env, "alive(ctx)");
  CALL(napi_get_boolean(env, c->flash.dead == 0u, &out));
  return out;
}

/* contextBytes() -> sizeof the per-card state, for the figures */
static napi_value js_context_bytes(napi_env env, napi_callback_info info) {
  (void)info;
  return make_u32(env, (uint32_t)sizeof(node_card));
}

NAPI_MODULE_INIT() {
  static const napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"powerOn", NULL, js_power_on, NULL, NULL, NULL, napi_default, NULL},
      {"powerOff", NULL, js_power_off, NULL, NULL, NULL, napi_default, NULL},
      {"atr", NULL, js_atr, NULL, NULL, NULL, napi_default, NULL},
      {"transmit", NULL, js_transmit, NULL, NULL, NULL, napi_default, NULL},
      {"writeCount", NULL, js_write_count, NULL, NULL, NULL, napi_default, NULL},
      {"cutAfter", NULL, js_cut_after, NULL, NULL, NULL, napi_default, NULL},
      {"alive", NULL, js_alive, NULL, NULL, NULL, napi_default, NULL},
      {"manufacture", NULL, js_manufacture, NULL, NULL, NULL, napi_default, NULL},
      {"contextBytes", NULL, js_context_bytes, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
