/*
 * cardpost_crypto: Node-API glue for the native SM2 backend (cp_sm2.h: the same C the firmware
 * runs, 64-bit limb path). The JavaScript side (protocol/crypto/sm2-native.ts) validates argument
 * shapes, computes e = SM3(Z_A || M), caches per-key handles and decides when a key deserves a
 * table; this file only moves bytes in and out. Nonces come from OpenSSL's RAND_priv_bytes, which
 * the node binary exports, so no secret nonce ever lives on the JavaScript heap.
 *
 * The crypto itself keeps no state (curve constants and the generator table are in .rodata); the
 * heap is used here only for what JavaScript owns: per-key handles and their optional tables.
 */
#include <node_api.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "cp_hash.h"
#include "cp_sm2.h"

/* Per-public-key handle, owned by a JS External; JS releases it explicitly on cache eviction. */
typedef struct {
  int live;          /* 0 once released */
  ec_affine point;   /* validated public key */
  ec_table *table;   /* NULL until precomputed */
} KeyCtx;

/* Distinguishes our Externals from any other External passed in by mistake. */
static const napi_type_tag KEY_TAG = {0x6361726470737432ULL, 0x736d326b65796374ULL};

#define CALL(expr)                         \
  do {                                     \
    if ((expr) != napi_ok) return NULL;    \
  } while (0)

static napi_value fail(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

/* A Uint8Array (Buffer included) of exactly `want` bytes. */
static int get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t want) {
  bool is_ta = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  size_t n = 0;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, &n, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array || n != want) return 0;
  *data = (const uint8_t *)ptr;
  return 1;
}

static napi_value make_bytes(napi_env env, const uint8_t *src, size_t len) {
  napi_value ab, out;
  void *dst = NULL;
  CALL(napi_create_arraybuffer(env, len, &dst, &ab));
  memcpy(dst, src, len);
  CALL(napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &out));
  return out;
}

static napi_value make_bool(napi_env env, int b) {
  napi_value out;
  CALL(napi_get_boolean(env, b != 0, &out));
  return out;
}

static KeyCtx *get_key(napi_env env, napi_value v) {
  bool tagged = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, v, &KEY_TAG, &tagged) != napi_ok || !tagged) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (KeyCtx *)data;
}

static void key_release(napi_env env, KeyCtx *k) {
  if (k->table != NULL) {
    int64_t ignored;
    free(k->table);
    k->table = NULL;
    if (env != NULL) napi_adjust_external_memory(env, -(int64_t)sizeof(ec_table), &ignored);
  }
  k->live = 0;
}

static void key_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  key_release(env, (KeyCtx *)data);
  free(data);
}

static int rng(void *ctx, uint8_t *buf, size_t n) {
  (void)ctx;
  return RAND_priv_bytes(buf, (int)n) == 1;
}

/* publicFromPrivate(d: Uint8Array(32)) -> Uint8Array(65) */
static napi_value js_public_from_private(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  const uint8_t *d;
  uint8_t pub[65];
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_bytes(env, argv[0], &d, 32))
    return fail(env, "SM2_NATIVE_ARGS", "publicFromPrivate(Uint8Array(32))");
  if (cp_sm2_public_from_private(d, pub) != EC_OK)
    return fail(env, "SM2_PRIVATE_KEY_RANGE", "private key not in [1, n-2]");
  return make_bytes(env, pub, sizeof pub);
}

/* signDigest(d: Uint8Array(32), e: Uint8Array(32), k?: Uint8Array(32)) -> Uint8Array(64) r||s */
static napi_value js_sign_digest(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  const uint8_t *d, *e, *k = NULL;
  uint8_t sig[64];
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_bytes(env, argv[0], &d, 32) || !get_bytes(env, argv[1], &e, 32))
    return fail(env, "SM2_NATIVE_ARGS", "signDigest(Uint8Array(32), Uint8Array(32), k?)");
  if (argc >= 3) {
    napi_valuetype t;
    CALL(napi_typeof(env, argv[2], &t));
    if (t != napi_undefined && !get_bytes(env, argv[2], &k, 32))
      return fail(env, "SM2_NATIVE_ARGS", "k must be a Uint8Array(32)");
  }
  switch (cp_sm2_sign_digest(d, e, k, rng, NULL, sig)) {
    case EC_OK:
      return make_bytes(env, sig, sizeof sig);
    case EC_BAD_KEY:
      return fail(env, "SM2_PRIVATE_KEY_RANGE", "private key not in [1, n-2]");
    case EC_BAD_NONCE:
      return fail(env, "SM2_NONCE_UNUSABLE", "fixed k not in [1, n-1] or gives r = 0, r + k = n or s = 0");
    default:
      return fail(env, "SM2_RANDOM_FAILED", "RAND_priv_bytes failed");
  }
}

/* importPublicKey(pub: Uint8Array(65)) -> External | null (null: not a point of the curve) */
static napi_value js_import_public_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ext, nullv;
  const uint8_t *pub;
  ec_affine p;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_bytes(env, argv[0], &pub, 65))
    return fail(env, "SM2_NATIVE_ARGS", "importPublicKey(Uint8Array(65))");
  CALL(napi_get_null(env, &nullv));
  if (!cp_sm2_decode_public(pub, &p)) return nullv;
  KeyCtx *k = (KeyCtx *)calloc(1, sizeof *k);
  if (k == NULL) return fail(env, "SM2_NATIVE_OOM", "out of memory");
  k->live = 1;
  k->point = p;
  if (napi_create_external(env, k, key_finalize, NULL, &ext) != napi_ok) {
    free(k);
    return NULL;
  }
  CALL(napi_type_tag_object(env, ext, &KEY_TAG));
  return ext;
}

/* precompute(key) -> boolean: build the per-key table (33 KB; idempotent). */
static napi_value js_precompute(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  KeyCtx *k = argc >= 1 ? get_key(env, argv[0]) : NULL;
  if (k == NULL) return fail(env, "SM2_NATIVE_ARGS", "precompute(key)");
  if (!k->live) return make_bool(env, 0);
  if (k->table != NULL) return make_bool(env, 1);
  ec_table *t = (ec_table *)malloc(sizeof *t);
  ec_table_scratch *scratch = (ec_table_scratch *)malloc(sizeof *scratch);
  if (t == NULL || scratch == NULL) {
    free(t);
    free(scratch);
    return make_bool(env, 0);
  }
  cp_sm2_table_build(&k->point, t, scratch);
  free(scratch);
  k->table = t;
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)sizeof *t, &ignored);
  return make_bool(env, 1);
}

/* release(key): free the table now rather than at garbage collection; the key becomes unusable. */
static napi_value js_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], undef;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  KeyCtx *k = argc >= 1 ? get_key(env, argv[0]) : NULL;
  if (k == NULL) return fail(env, "SM2_NATIVE_ARGS", "release(key)");
  key_release(env, k);
  CALL(napi_get_undefined(env, &undef));
  return undef;
}

/* verifyDigest(key, e: Uint8Array(32), sig: Uint8Array(64) r||s) -> boolean */
static napi_value js_verify_digest(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  const uint8_t *e, *sig;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  KeyCtx *k = argc >= 3 ? get_key(env, argv[0]) : NULL;
  if (k == NULL || !get_bytes(env, argv[1], &e, 32) || !get_bytes(env, argv[2], &sig, 64))
    return fail(env, "SM2_NATIVE_ARGS", "verifyDigest(key, Uint8Array(32), Uint8Array(64))");
  if (!k->live) return fail(env, "SM2_NATIVE_RELEASED", "key handle was released");
  return make_bool(env, cp_sm2_verify_digest(&k->point, k->table, e, sig));
}

/* A Uint8Array (Buffer included) of any length. */
static int get_any_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = *len ? (const uint8_t *)ptr : (const uint8_t *)"";
  return 1;
}

static napi_value make_int(napi_env env, int v) {
  napi_value out;
  CALL(napi_create_int32(env, v, &out));
  return out;
}

/* SM3 state after the first two blocks of the Z_A preimage for the default id "1234567812345678":
 * ENTL || ID || a || b || Gx are 114 bytes, so 128 bytes end 14 bytes into Gy; the remaining 18
 * bytes of Gy follow. Half of Z_A's four blocks, skipped for every key that uses the default id.
 * (The fuzz test checks verifyFresh against the JS Z_A for the default id too.) */
static const uint8_t DEFAULT_ID[16] = {'1', '2', '3', '4', '5', '6', '7', '8', '1', '2', '3', '4', '5', '6', '7', '8'};
static const uint32_t ZA_DEFAULT_MIDSTATE[8] = {0xADADEDB5u, 0x0446043Fu, 0x08A87ACEu, 0xE86D2243u,
                                                0x8E232383u, 0xBFC81FE2u, 0xCF9117C8u, 0x4707011Du};
static const uint8_t ZA_DEFAULT_TAIL[18] = {0x21, 0x53, 0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47,
                                            0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39, 0xF0, 0xA0};

static int za_of(const uint8_t pub[65], const uint8_t *id, size_t id_len, uint8_t za[32]) {
  cp_hash_ctx h;
  if (id_len != sizeof DEFAULT_ID || memcmp(id, DEFAULT_ID, sizeof DEFAULT_ID) != 0)
    return cp_sm2_za(pub, id, id_len, za);
  memcpy(h.h, ZA_DEFAULT_MIDSTATE, sizeof h.h);
  h.bytes = 128;
  h.buf_len = 0;
  cp_sm3_update(&h, ZA_DEFAULT_TAIL, sizeof ZA_DEFAULT_TAIL);
  cp_sm3_update(&h, pub + 1, 64);
  cp_sm3_final(&h, za);
  return 1;
}

/*
 * verifyFresh(pub: Uint8Array(65), id: Uint8Array | null, data: Uint8Array, sig: Uint8Array(64))
 *   -> 1 valid, 0 not valid, -1 pub is not a point of the curve.
 * With id, data is the message and e = SM3(Z_A || data); with null, data is the digest e (32 bytes).
 * For a key seen for the first time: decoding, Z_A, e and the check in one call, and no handle, so
 * a stream of new keys creates no Externals for the garbage collector to finalize.
 */
static napi_value js_verify_fresh(napi_env env, napi_callback_info info) {
  size_t argc = 4, id_len = 0, data_len = 0;
  napi_value argv[4];
  napi_valuetype id_type = napi_undefined;
  const uint8_t *pub, *id = NULL, *data, *sig;
  uint8_t e[32];
  ec_affine p;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 4) CALL(napi_typeof(env, argv[1], &id_type));
  if (argc < 4 || !get_bytes(env, argv[0], &pub, 65) || !get_any_bytes(env, argv[2], &data, &data_len) ||
      !get_bytes(env, argv[3], &sig, 64) || (id_type != napi_null && !get_any_bytes(env, argv[1], &id, &id_len)) ||
      (id_type == napi_null && data_len != 32))
    return fail(env, "SM2_NATIVE_ARGS", "verifyFresh(Uint8Array(65), Uint8Array | null, Uint8Array, Uint8Array(64))");
  if (!cp_sm2_decode_public(pub, &p)) return make_int(env, -1);
  if (id == NULL) return make_int(env, cp_sm2_verify_digest(&p, NULL, data, sig));
  cp_hash_ctx h;
  uint8_t za[32];
  if (!za_of(pub, id, id_len, za)) return fail(env, "SM2_NATIVE_ARGS", "user id longer than 8191 bytes");
  cp_sm3_init(&h);
  cp_sm3_update(&h, za, 32);
  cp_sm3_update(&h, data, data_len);
  cp_sm3_final(&h, e);
  return make_int(env, cp_sm2_verify_digest(&p, NULL, e, sig));
}

/* mulAdd(s: Uint8Array(32), key, t: Uint8Array(32)) -> Uint8Array(65) | null: s*G + t*P, for tests */
static napi_value js_mul_add(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], nullv;
  const uint8_t *s, *t;
  uint8_t out[65];
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  KeyCtx *k = argc >= 3 ? get_key(env, argv[1]) : NULL;
  if (k == NULL || !get_bytes(env, argv[0], &s, 32) || !get_bytes(env, argv[2], &t, 32))
    return fail(env, "SM2_NATIVE_ARGS", "mulAdd(Uint8Array(32), key, Uint8Array(32))");
  if (!k->live) return fail(env, "SM2_NATIVE_RELEASED", "key handle was released");
  CALL(napi_get_null(env, &nullv));
  if (!cp_sm2_mul_add(s, &k->point, k->table, t, out)) return nullv;
  return make_bytes(env, out, sizeof out);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"publicFromPrivate", NULL, js_public_from_private, NULL, NULL, NULL, napi_enumerable, NULL},
      {"signDigest", NULL, js_sign_digest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"importPublicKey", NULL, js_import_public_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"precompute", NULL, js_precompute, NULL, NULL, NULL, napi_enumerable, NULL},
      {"release", NULL, js_release, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verifyDigest", NULL, js_verify_digest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verifyFresh", NULL, js_verify_fresh, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mulAdd", NULL, js_mul_add, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CALL(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
