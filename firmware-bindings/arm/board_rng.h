/*
 * cardpost ARM board: the random source of the simulated card.
 *
 * QEMU's MPS2 board has no TRNG, so this is a deterministic DRBG (SM3 in counter mode over a
 * 32-byte seed) seeded by the host at every QEMU start (`seed=` on the command line, fresh
 * random bytes from Node unless a test fixes it). Good for a simulator, NOT for a real card: a
 * product board must fill cp_rng from its hardware TRNG. There is no fixed built-in seed: without
 * one the firmware refuses to start.
 */
#ifndef CP_ARM_BOARD_RNG_H
#define CP_ARM_BOARD_RNG_H

#include "cp_hal.h"

typedef struct {
  uint8_t seed[32];
  uint32_t counter;
} board_rng;

void board_rng_init(board_rng *r, const uint8_t seed[32], cp_rng *out);

#endif
