/* cardpost ARM board: SM3 counter-mode DRBG (see board_rng.h). */
#include "board_rng.h"

#include <string.h>

#include "cp_hash.h"

/* Block i = SM3(label || seed || i): distinct for every block, unpredictable without the seed. */
static const uint8_t LABEL[] = "cardpost arm drbg v1";

static cp_result rng_fill(void *ctx, uint8_t *buf, size_t len) {
  board_rng *r = ctx;
  while (len > 0u) {
    uint8_t block[32];
    uint8_t ctr[4] = {(uint8_t)(r->counter >> 24), (uint8_t)(r->counter >> 16), (uint8_t)(r->counter >> 8),
                      (uint8_t)r->counter};
    cp_hash_ctx h;
    cp_sm3_init(&h);
    cp_sm3_update(&h, LABEL, sizeof LABEL - 1u);
    cp_sm3_update(&h, r->seed, sizeof r->seed);
    cp_sm3_update(&h, ctr, sizeof ctr);
    cp_sm3_final(&h, block);
    r->counter++;
    size_t n = len < sizeof block ? len : sizeof block;
    memcpy(buf, block, n);
    memset(block, 0, sizeof block);
    buf += n;
    len -= n;
  }
  return CP_OK;
}

void board_rng_init(board_rng *r, const uint8_t seed[32], cp_rng *out) {
  memcpy(r->seed, seed, sizeof r->seed);
  r->counter = 0u;
  out->ctx = r;
  out->fill = rng_fill;
}
