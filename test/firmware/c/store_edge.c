/*
 * NVM store edge: the newest block is the last one of the flash and its records end 8 bytes before
 * the block's end, with damage in those 8 bytes (a torn record header). Recovery must take it as a
 * torn tail (mount CP_OK, nothing lost) and never read past the store: the test flash refuses any
 * read outside it with CP_FLASH_FAULT, which would leave the card dead at every power-on.
 * Usage: store_edge PAGE_SIZE PAGE_COUNT WRITE_UNIT
 */
#include <stdlib.h>
#include <string.h>

#include "store_harness.h"
#include "../../../firmware-bindings/core/src/cp_store_internal.h"

int main(int argc, char **argv) {
  h_flash *f = malloc(sizeof *f); /* test driver only: too big for the stack */
  cp_store s;
  uint8_t val[CP_STORE_MAX_VALUE], got[CP_STORE_MAX_VALUE];
  uint32_t step, hit = 0, last_phys;
  uint16_t len = 0, want_len = 0;
  if (argc < 4 || f == NULL) return 2;
  h_flash_init(f, (uint32_t)strtoul(argv[1], NULL, 10), (uint32_t)strtoul(argv[2], NULL, 10),
               (uint32_t)strtoul(argv[3], NULL, 10));
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "blank mount");
  last_phys = s.block_count - 1u;
  /* One key rewritten; sizes steered so that the tail of the last physical block ends 8 bytes short. */
  for (step = 0; step < 20000u && !hit; step++) {
    uint32_t room = s.block_bytes - s.tail_off;
    uint32_t target = room - 8u; /* a put record (16 + value padded to 8) and a COMMIT (16) */
    uint16_t l = 200;
    if (s.has_tail && s.tail_seq % s.block_count == last_phys && target >= 40u && target - 32u <= 1024u)
      l = (uint16_t)(target - 32u);
    h_value(step, l, val);
    H_CHECK(cp_store_begin(&s) == CP_OK && cp_store_put(&s, h_key(0), val, l) == CP_OK, "tx %u", step);
    H_CHECK(cp_store_commit(&s) == CP_OK, "commit %u", step);
    want_len = l;
    hit = s.tail_seq % s.block_count == last_phys && s.tail_off == s.block_bytes - 8u;
  }
  H_CHECK(hit, "never reached a tail 8 bytes short of the last block's end");
  /* Damage in the last 8 bytes: bits cleared, as a header torn after its first unit would leave. */
  f->sim.mem[cps_block_addr(&s, s.tail_seq) + s.block_bytes - 3u] = 0x5A;
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "mount after damage at the very end of the flash");
  H_CHECK(cp_store_get(&s, h_key(0), got, sizeof got, &len) == CP_OK && len == want_len, "the last value");
  h_value(step - 1u, want_len, val);
  H_CHECK(memcmp(got, val, len) == 0, "the last value's bytes");
  printf("ok edge page %s x %s: tail ended 8 bytes before the flash's end after %u transactions; "
         "damage there read as a torn tail\n",
         argv[1], argv[2], step);
  free(f);
  return 0;
}
