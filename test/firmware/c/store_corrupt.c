/*
 * NVM store corruption not caused by tearing: after a scripted run (with compactions), flip one
 * bit at EVERY byte of the flash in turn and power on. Each flip must be reported (CP_CORRUPT at
 * mount, or at the get of the damaged value) or be harmless (the store still equals the model:
 * padding, erased space after the tail, retired blocks). The one accepted loss: a flip inside the
 * newest record, the last COMMIT, looks exactly like a torn commit and rolls back that transaction.
 * Never wrong data. Then flips made after mount, in each live value, must fail its get.
 * Usage: store_corrupt PAGE_SIZE PAGE_COUNT WRITE_UNIT
 */
#include <stdlib.h>
#include <string.h>

#include "store_harness.h"
#include "../../../firmware-bindings/core/src/cp_store_internal.h"

int main(int argc, char **argv) {
  static const h_workload w = {12, 12, 6, 0};
  h_flash *f = malloc(sizeof *f), *g = malloc(sizeof *g); /* test driver only: too big for the stack */
  cp_store s;
  h_model m, prev, after;
  uint8_t val[CP_STORE_MAX_VALUE];
  uint32_t rng = 0xBADC0DEu, t, bytes, b, last_commit, i;
  uint32_t at_mount = 0, at_get = 0, harmless = 0, rolled_back = 0, after_mount = 0;
  if (argc < 4 || f == NULL || g == NULL) return 2;
  h_flash_init(f, (uint32_t)strtoul(argv[1], NULL, 10), (uint32_t)strtoul(argv[2], NULL, 10),
               (uint32_t)strtoul(argv[3], NULL, 10));
  h_flash_init(g, f->sim.page_size, f->sim.page_count, f->sim.write_unit);
  h_model_clear(&m);
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "blank mount");
  for (t = 0; t < 110; t++) H_CHECK(h_run_tx(&s, &w, &m, &rng, t, &after) == H_TX_DONE, "tx %u", t);
  H_CHECK(s.start_seq >= 2, "the script must compact (start %u)", s.start_seq);
  prev = m;
  h_value(777, 40, val);
  H_CHECK(cp_store_begin(&s) == CP_OK && cp_store_put(&s, h_key(0), val, 40) == CP_OK, "last tx");
  H_CHECK(cp_store_commit(&s) == CP_OK, "last commit");
  m.present[0] = 1;
  m.len[0] = 40;
  m.vseed[0] = 777;
  last_commit = cps_block_addr(&s, s.tail_seq) + s.tail_off - CPS_REC_HDR;
  bytes = f->sim.page_size * f->sim.page_count;
  for (b = 0; b < bytes; b++) {
    cp_result r;
    uint32_t corrupt_reads = 0;
    flash_sim_copy(&g->sim, &f->sim);
    g->mem[b] ^= (uint8_t)(1u << (b % 8));
    r = cp_store_mount(&s, &g->hal);
    if (r == CP_CORRUPT) {
      at_mount++;
      continue;
    }
    H_CHECK(r == CP_OK, "flip at %u: mount says %d", b, (int)r);
    if (h_equal_or_corrupt(&s, &m, &corrupt_reads)) {
      if (corrupt_reads > 0)
        at_get++;
      else
        harmless++;
      continue;
    }
    if (b >= last_commit && b < last_commit + CPS_REC_HDR && h_equal(&s, &prev)) {
      rolled_back++;
      continue;
    }
    h_explain(&s, &m);
    H_CHECK(0, "flip at byte %u went unnoticed and changed the data", b);
  }
  /* Damage after mount: the index is right, the bytes are not. */
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "mount");
  for (i = 0; i < s.key_count; i++) {
    uint16_t len;
    uint32_t at = s.keys[i].addr + CPS_REC_HDR + (s.keys[i].len > 0 ? s.keys[i].len - 1u : 0u);
    if (s.keys[i].len == 0) at = s.keys[i].addr + 2; /* the key field */
    f->mem[at] ^= 0x10;
    H_CHECK(cp_store_get(&s, s.keys[i].key, val, sizeof val, &len) == CP_CORRUPT, "flip after mount in key %u",
            s.keys[i].key);
    f->mem[at] ^= 0x10;
    after_mount++;
  }
  printf("ok corrupt page %u x %u, write unit %u: %u single-bit flips: %u reported at mount, %u at get, "
         "%u harmless (padding, erased, retired), %u rolled back the last commit (inside the last record); "
         "%u flips after mount all reported at get\n",
         f->sim.page_size, f->sim.page_count, f->sim.write_unit, bytes, at_mount, at_get, harmless, rolled_back,
         after_mount);
  free(f);
  free(g);
  return 0;
}
