/*
 * NVM store model-based random test: random transactions (puts, removes, reads inside the
 * transaction, commits, aborts) against an in-memory model, remounts at random, and random power
 * cuts (clean, torn, or after the operation) at random operations, and a second mount of the
 * same flash after every transaction (recovery must rebuild exactly the running state); after every cut the store must
 * equal the state before or after the interrupted transaction. Ends with wear figures.
 * Usage: store_model PAGE_SIZE PAGE_COUNT WRITE_UNIT TRANSACTIONS SEED [CUTS: 1 (default) or 0]
 */
#include <stdlib.h>
#include <string.h>

#include "store_harness.h"

int main(int argc, char **argv) {
  static const h_workload w = {H_KEYS, 16, CP_STORE_MAX_TX_ENTRIES, 1};
  h_flash *f = malloc(sizeof *f); /* test driver only: the flash image is too big for the stack */
  cp_store s, shadow;
  h_model m, after;
  uint32_t ps, pc, wu, txs, rng, t, mn, mx, used_pages;
  int with_cuts;
  uint32_t remounts = 0, cuts = 0, to_after = 0, full = 0, compactions = 0, last_start = 0;
  if (argc < 6 || f == NULL) return 2;
  ps = (uint32_t)strtoul(argv[1], NULL, 10);
  pc = (uint32_t)strtoul(argv[2], NULL, 10);
  wu = (uint32_t)strtoul(argv[3], NULL, 10);
  txs = (uint32_t)strtoul(argv[4], NULL, 10);
  rng = (uint32_t)strtoul(argv[5], NULL, 10) | 1u;
  with_cuts = argc < 7 || strcmp(argv[6], "0") != 0;
  h_flash_init(f, ps, pc, wu);
  h_model_clear(&m);
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "blank mount");
  for (t = 0; t < txs; t++) {
    h_tx_outcome o;
    uint32_t dice = h_rand(&rng) % 100u;
    if (dice < 4) {
      H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "remount before tx %u", t);
      remounts++;
    } else if (dice < 8 && with_cuts) {
      /* One call per statement: the order of calls inside an argument list is unspecified in C. */
      uint32_t after = 1u + h_rand(&rng) % 12u;
      flash_sim_tear tear = (flash_sim_tear)(h_rand(&rng) % 5u);
      uint32_t noise = h_rand(&rng);
      flash_sim_cut_after(&f->sim, after, tear, noise);
    }
    if ((dice < 4 || t % 97 == 0) && !h_equal(&s, &m)) {
      h_explain(&s, &m);
      H_CHECK(0, "state before tx %u", t);
    }
    o = h_run_tx(&s, &w, &m, &rng, t, &after);
    if (s.start_seq > last_start) {
      compactions += s.start_seq - last_start;
      last_start = s.start_seq;
    }
    if (o == H_TX_CUT || o == H_TX_CUT_AT_COMMIT) {
      cp_result r;
      flash_sim_power_on(&f->sim);
      r = cp_store_mount(&s, &f->hal);
      H_CHECK(r == CP_OK, "mount after a cut in tx %u: %d", t, (int)r);
      cuts++;
      last_start = s.start_seq;
      if (!h_equal(&s, &m)) {
        H_CHECK(o == H_TX_CUT_AT_COMMIT && h_equal(&s, &after), "tx %u cut: neither before nor after", t);
        m = after;
        to_after++;
      }
      continue;
    }
    flash_sim_cut_after(&f->sim, 0, FLASH_SIM_CUT_CLEAN, 0); /* a cut armed but not reached is disarmed */
    full += o == H_TX_FULL;
    H_CHECK(o == H_TX_DONE || o == H_TX_FULL, "tx %u", t);
    /* What a power-on would rebuild from flash now must equal what the running store holds. */
    H_CHECK(cp_store_mount(&shadow, &f->hal) == CP_OK, "shadow mount after tx %u", t);
    if (!h_equal(&shadow, &m)) {
      h_explain(&shadow, &m);
      H_CHECK(0, "recovery after tx %u differs from the model", t);
    }
  }
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "final mount");
  H_CHECK(h_equal(&s, &m), "final state");
  used_pages = (uint32_t)s.block_count * s.pages_per_block;
  f->sim.page_count = used_pages; /* wear over the pages the store uses */
  flash_sim_wear(&f->sim, &mn, &mx);
  printf("ok model page %u x %u, write unit %u, seed %s: %u transactions, %u remounts, %u power cuts "
         "(%u recovered to after), %u refused as full, %u compactions, %llu physical operations\n",
         ps, pc, wu, argv[5], txs, remounts, cuts, to_after, full, compactions, (unsigned long long)f->sim.ops);
  printf("figure wear page %u x %u: erases per page min %u max %u over %u pages\n", ps, pc, mn, mx, used_pages);
  free(f);
  return 0;
}
