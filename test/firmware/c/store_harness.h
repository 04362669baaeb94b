/*
 * Test harness for the NVM store drivers (store_*.c): a host flash sized for the tests, an
 * in-memory model of the key-value state with values regenerated from seeds (cheap to copy), a
 * deterministic random source, and comparison of the store against the model.
 */
#ifndef STORE_HARNESS_H
#define STORE_HARNESS_H

#include <stdio.h>
#include "cp_store.h"
#include "flash_sim.h"

#define H_MAX_FLASH (256u * 1024u)
#define H_KEYS 40u

typedef struct {
  flash_sim sim;
  uint8_t mem[H_MAX_FLASH];
  uint8_t units[H_MAX_FLASH];
  uint32_t erases[H_MAX_FLASH / 256u];
  cp_flash hal;
} h_flash;

/* Committed (or staged) state of the key universe; a value is regenerated from (seed, len). */
typedef struct {
  uint8_t present[H_KEYS];
  uint16_t len[H_KEYS];
  uint32_t vseed[H_KEYS];
} h_model;

uint16_t h_key(uint32_t i);
uint32_t h_rand(uint32_t *state);
void h_value(uint32_t seed, uint16_t len, uint8_t *out);
void h_flash_init(h_flash *f, uint32_t page_size, uint32_t page_count, uint32_t write_unit);
void h_model_clear(h_model *m);
/* 1 if every key of the universe reads back as the model says (CP_CORRUPT counts as a mismatch). */
int h_equal(cp_store *s, const h_model *m);
/* Like h_equal, but a read that reports CP_CORRUPT is accepted; *corrupt_reads counts them. */
int h_equal_or_corrupt(cp_store *s, const h_model *m, uint32_t *corrupt_reads);
/* Prints the first difference. */
void h_explain(cp_store *s, const h_model *m);

/* The random transactions of the model and tearing tests. */
typedef struct {
  uint32_t keys;      /* keys of the universe used (<= H_KEYS) */
  uint32_t big_one_in; /* one put in this many gets a value of up to CP_STORE_MAX_VALUE bytes */
  uint32_t max_ops;   /* puts/removes/gets per transaction (<= CP_STORE_MAX_TX_ENTRIES) */
  int allow_full;     /* CP_NO_SPACE aborts the transaction instead of failing the test */
} h_workload;

typedef enum { H_TX_DONE = 0, H_TX_CUT = 1, H_TX_CUT_AT_COMMIT = 2, H_TX_FULL = 3, H_TX_MISMATCH = -1 } h_tx_outcome;

/* One random transaction drawn from *rng, every result checked against the model (reads inside the
 * transaction against the staged view). Done: *m is the new committed state. Cut while committing:
 * *after is the state the commit would have made. */
h_tx_outcome h_run_tx(cp_store *s, const h_workload *w, h_model *m, uint32_t *rng, uint32_t tx_index,
                      h_model *after);

#define H_CHECK(cond, ...)                                  \
  do {                                                      \
    if (!(cond)) {                                          \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                         \
      fprintf(stderr, "\n");                                \
      return 1;                                             \
    }                                                       \
  } while (0)

#endif
