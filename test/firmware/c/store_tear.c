/*
 * NVM store exhaustive tearing: a scripted run of random transactions (with remounts and
 * compactions) is replayed with the power cut at EVERY physical operation n = 1..N, once cleanly
 * and once per torn variant. After each cut: power on, mount, and the store must equal the state
 * before the interrupted transaction or (cut during commit) the state after it, never a mix; then
 * the rest of the script runs and must keep matching the model (the store stays usable).
 * Usage: store_tear PAGE_SIZE PAGE_COUNT WRITE_UNIT [TRANSACTIONS]
 */
#include <stdlib.h>
#include <string.h>

#include "store_harness.h"

typedef struct {
  uint64_t ops;        /* physical operations of the uncut script */
  uint32_t compactions;
  uint32_t before, after; /* recoveries to each side */
} tear_stats;

/* Runs the script; cut_at = 0 runs it whole. Returns 0 when every check held. */
static int run_script(h_flash *f, uint32_t txs, uint64_t cut_at, flash_sim_tear tear, tear_stats *st) {
  static const h_workload w = {12, 12, 6, 0};
  cp_store s;
  h_model m, after;
  uint32_t rng = 0xC0FFEEu, t, last_start = 0;
  int cut_done = cut_at == 0;
  h_flash_init(f, f->sim.page_size, f->sim.page_count, f->sim.write_unit);
  h_model_clear(&m);
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "blank mount");
  if (cut_at != 0) flash_sim_cut_after(&f->sim, cut_at, tear, (uint32_t)cut_at * 2654435761u + (uint32_t)tear);
  for (t = 0; t < txs; t++) {
    h_tx_outcome o;
    if (t % 9 == 8) {
      H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "remount before tx %u", t);
      H_CHECK(h_equal(&s, &m), "state after remount before tx %u", t);
    }
    o = h_run_tx(&s, &w, &m, &rng, t, &after);
    if (cut_at == 0 && s.start_seq != last_start) {
      st->compactions += s.start_seq - last_start;
      last_start = s.start_seq;
    }
    if (o == H_TX_CUT || o == H_TX_CUT_AT_COMMIT) {
      cp_result r;
      H_CHECK(!cut_done, "power lost without a cut (tx %u)", t);
      cut_done = 1;
      flash_sim_power_on(&f->sim);
      r = cp_store_mount(&s, &f->hal);
      H_CHECK(r == CP_OK, "mount after cut at op %llu (tear %d, tx %u): %d", (unsigned long long)cut_at, (int)tear,
              t, (int)r);
      if (h_equal(&s, &m)) {
        st->before++;
      } else if (o == H_TX_CUT_AT_COMMIT && h_equal(&s, &after)) {
        m = after;
        st->after++;
      } else {
        h_explain(&s, &m);
        H_CHECK(0, "cut at op %llu (tear %d) in tx %u: neither before nor after", (unsigned long long)cut_at,
                (int)tear, t);
      }
      continue;
    }
    H_CHECK(o == H_TX_DONE, "tx %u failed (cut at %llu, tear %d)", t, (unsigned long long)cut_at, (int)tear);
  }
  H_CHECK(cut_done, "the script ended before op %llu", (unsigned long long)cut_at);
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "final mount");
  H_CHECK(h_equal(&s, &m), "final state (cut at %llu, tear %d)", (unsigned long long)cut_at, (int)tear);
  if (cut_at == 0) st->ops = f->sim.ops;
  return 0;
}

int main(int argc, char **argv) {
  static const flash_sim_tear tears[] = {FLASH_SIM_CUT_CLEAN, FLASH_SIM_CUT_PREFIX, FLASH_SIM_CUT_BITS,
                                         FLASH_SIM_CUT_GARBAGE, FLASH_SIM_CUT_AFTER};
  h_flash *f = malloc(sizeof *f); /* test driver only: the flash image is too big for the stack */
  tear_stats st;
  uint32_t ps, pc, wu, txs, i, mn, mx;
  uint64_t n, trials = 0;
  if (argc < 4 || f == NULL) return 2;
  ps = (uint32_t)strtoul(argv[1], NULL, 10);
  pc = (uint32_t)strtoul(argv[2], NULL, 10);
  wu = (uint32_t)strtoul(argv[3], NULL, 10);
  txs = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 120u;
  memset(&st, 0, sizeof st);
  h_flash_init(f, ps, pc, wu);
  if (run_script(f, txs, 0, FLASH_SIM_CUT_CLEAN, &st)) return 1;
  flash_sim_wear(&f->sim, &mn, &mx);
  printf("script: %u transactions, %llu physical operations, %u compactions, page erases min %u max %u\n", txs,
         (unsigned long long)st.ops, st.compactions, mn, mx);
  if (st.compactions < 3) {
    fprintf(stderr, "FAIL the script must compact at least 3 times\n");
    return 1;
  }
  for (n = 1; n <= st.ops; n++) {
    for (i = 0; i < sizeof tears / sizeof tears[0]; i++) {
      if (run_script(f, txs, n, tears[i], &st)) return 1;
      trials++;
    }
  }
  printf("ok tear page %u x %u, write unit %u: %llu cuts (every op x clean/prefix/bits/garbage/after), "
         "recovered to before %u, to after %u\n",
         ps, pc, wu, (unsigned long long)trials, st.before, st.after);
  free(f);
  return 0;
}
