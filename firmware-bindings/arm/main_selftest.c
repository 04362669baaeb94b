/*
 * cardpost ARM self-test image: the board plus the crypto ops and the NVM store behind frames
 * (selftest_frames.h). The mocha suite test/firmware/arm-selftest.test.ts drives it.
 */
#include <string.h>

#include "board.h"
#include "board_exit.h"
#include "cp_ecdsa.h"
#include "cp_hash.h"
#include "cp_sm2.h"
#include "cp_store.h"
#include "selftest_frames.h"

typedef struct {
  cp_store store;
  uint8_t mounted;
} selftest;

static board_answer ok(uint32_t len) {
  board_answer a = {FRAME_OK, len, CP_OK};
  return a;
}

static board_answer status(uint8_t s) {
  board_answer a = {s, 0u, CP_OK};
  return a;
}

/* A core result: CP_OK -> FRAME_OK with len bytes, else FRAME_ERR_RESULT [result]. */
static board_answer result(cp_result r, uint8_t *out, uint32_t len) {
  board_answer a = {FRAME_OK, len, r};
  if (r != CP_OK) {
    out[0] = (uint8_t)r;
    a.status = FRAME_ERR_RESULT;
    a.len = 1u;
  }
  return a;
}

static const cp_crypto_ops *ops(void) { return cp_soft_crypto(); }

/* The curve code's own results (1 = done) as a frame answer. */
static board_answer curve_result(int done, uint8_t *out, uint32_t len) {
  return result(done == 1 ? CP_OK : CP_CRYPTO_FAILED, out, len);
}

/* Below the ops table: public key from a private one, and signing with a given nonce. */
static board_answer curve_frame(uint8_t type, uint32_t alg, const uint8_t *q, uint32_t rest, uint8_t *out) {
  if (type == FRAME_ST_PUBLIC) {
    if (rest != 32u) return status(FRAME_ERR_BAD_PAYLOAD);
    if (alg == CP_ALG_SM2_SM3) return curve_result(cp_sm2_public_from_private(q, out), out, 65u);
    return curve_result(cp_p256_public_from_private(q, out), out, 65u);
  }
  /* FRAME_ST_SIGN_K: [priv 32][k 32][pub 65][msg] */
  if (rest < 129u) return status(FRAME_ERR_BAD_PAYLOAD);
  uint8_t e[32];
  if (alg == CP_ALG_SM2_SM3) {
    cp_sm2_digest(q + 64, q + 129, rest - 129u, e);
    return curve_result(cp_sm2_sign_digest(q, e, q + 32, NULL, NULL, out), out, 64u);
  }
  cp_sha256(q + 129, rest - 129u, e);
  return curve_result(cp_p256_sign_digest(q, e, q + 32, NULL, NULL, out), out, 64u);
}

static board_answer crypto_frame(board *b, uint8_t type, const uint8_t *p, uint32_t len, uint8_t *out) {
  if (len < 1u) return status(FRAME_ERR_BAD_PAYLOAD);
  uint32_t alg = p[0];
  const uint8_t *q = p + 1;
  uint32_t rest = len - 1u;
  if (alg != CP_ALG_SM2_SM3 && alg != CP_ALG_P256_SHA256) return status(FRAME_ERR_BAD_PAYLOAD);
  if (type == FRAME_ST_PUBLIC || type == FRAME_ST_SIGN_K) return curve_frame(type, alg, q, rest, out);
  switch (type) {
  case FRAME_ST_DIGEST:
    return result(ops()->digest(ops()->ctx, alg, q, rest, out), out, 32u);
  case FRAME_ST_KEYGEN:
    return result(ops()->keygen(ops()->ctx, alg, &b->hal.rng, out, out + 32), out, 97u);
  case FRAME_ST_SIGN:
    if (rest < 97u) return status(FRAME_ERR_BAD_PAYLOAD);
    return result(ops()->sign(ops()->ctx, alg, q, q + 32, q + 97, rest - 97u, &b->hal.rng, out), out, 64u);
  default: /* FRAME_ST_VERIFY: the verdict itself is the answer */
    if (rest < 129u) return status(FRAME_ERR_BAD_PAYLOAD);
    out[0] = (uint8_t)ops()->verify(ops()->ctx, alg, q, q + 129, rest - 129u, q + 65);
    return ok(1u);
  }
}

static uint16_t key_of(const uint8_t *p) { return (uint16_t)(((uint16_t)p[0] << 8) | p[1]); }

static board_answer store_frame(selftest *t, board *b, uint8_t type, const uint8_t *p, uint32_t len,
                                uint8_t *out, uint32_t cap) {
  uint16_t got = 0u;
  if (type == FRAME_ST_MOUNT) {
    cp_result r = cp_store_mount(&t->store, &b->hal.flash);
    t->mounted = r == CP_OK;
    return result(r, out, 0u);
  }
  if (!t->mounted) return status(FRAME_ERR_NOT_POWERED);
  switch (type) {
  case FRAME_ST_BEGIN:
    return result(cp_store_begin(&t->store), out, 0u);
  case FRAME_ST_COMMIT:
    return result(cp_store_commit(&t->store), out, 0u);
  case FRAME_ST_ABORT:
    cp_store_abort(&t->store);
    return ok(0u);
  case FRAME_ST_PUT:
    if (len < 2u || len - 2u > 0xFFFFu) return status(FRAME_ERR_BAD_PAYLOAD);
    return result(cp_store_put(&t->store, key_of(p), p + 2, (uint16_t)(len - 2u)), out, 0u);
  case FRAME_ST_REMOVE:
    if (len != 2u) return status(FRAME_ERR_BAD_PAYLOAD);
    return result(cp_store_remove(&t->store, key_of(p)), out, 0u);
  default: /* FRAME_ST_GET */
    if (len != 2u) return status(FRAME_ERR_BAD_PAYLOAD);
    {
      cp_result r = cp_store_get(&t->store, key_of(p), out, (uint16_t)(cap > 0xFFFFu ? 0xFFFFu : cap), &got);
      return result(r, out, got);
    }
  }
}

/* The board's flash HAL itself, for the tests of its NOR rules and power cuts. */
static board_answer flash_frame(board *b, uint8_t type, const uint8_t *p, uint32_t len, uint8_t *out,
                                uint32_t cap) {
  const cp_flash *f = &b->hal.flash;
  if (len < 4u) return status(FRAME_ERR_BAD_PAYLOAD);
  uint32_t a = frame_get_u32(p);
  if (type == FRAME_ST_FLASH_ERASE) return len == 4u ? result(f->erase(f->ctx, a), out, 0u) : status(FRAME_ERR_BAD_PAYLOAD);
  if (type == FRAME_ST_FLASH_PROGRAM) return result(f->program(f->ctx, a, p + 4, len - 4u), out, 0u);
  if (len != 6u) return status(FRAME_ERR_BAD_PAYLOAD);
  uint32_t n = ((uint32_t)p[4] << 8) | p[5];
  if (n > cap) return status(FRAME_ERR_BAD_PAYLOAD);
  return result(f->read(f->ctx, a, out, n), out, n);
}

static board_answer handle(void *app, board *b, uint8_t type, const uint8_t *p, uint32_t len, uint8_t *out,
                           uint32_t cap) {
  selftest *t = app;
  if (type >= FRAME_ST_DIGEST && type <= FRAME_ST_SIGN_K) return crypto_frame(b, type, p, len, out);
  if (type >= FRAME_ST_MOUNT && type <= FRAME_ST_ABORT) return store_frame(t, b, type, p, len, out, cap);
  if (type >= FRAME_ST_FLASH_READ && type <= FRAME_ST_FLASH_ERASE) return flash_frame(b, type, p, len, out, cap);
  if (type == FRAME_INFO) {
    frame_put_u32(out, (uint32_t)sizeof(cp_store));
    frame_put_u32(out + 4, b->hal.flash.page_size);
    frame_put_u32(out + 8, b->hal.flash.page_count);
    frame_put_u32(out + 12, b->hal.flash.write_unit);
    return ok(16u);
  }
  return status(FRAME_ERR_UNKNOWN);
}

int main(void) {
  board b;
  selftest t;
  memset(&t, 0, sizeof t);
  uint32_t e = board_init(&b);
  if (e != ARM_EXIT_CLEAN) return (int)e;
  return (int)board_run(&b, handle, &t);
}
