/*
 * NVM store unit tests: each operation, the argument contract, geometry checks, persistence across
 * mounts, full store and recovery from it, write units 1/4/8, the flash image file (path in argv[1]).
 * Prints figures (struct size, flash overhead per entry). Exit status 0 when every check holds.
 */
#include <stdlib.h>
#include <string.h>

#include "store_harness.h"
#include "../../../firmware-bindings/core/src/cp_store_internal.h"

static int crc_vector(void) {
  /* CRC-32 check value of "123456789" (the catalogue's IEEE/zlib CRC). */
  uint32_t c = CPS_CRC_DONE(cps_crc32(CPS_CRC_INIT, (const uint8_t *)"123456789", 9));
  H_CHECK(c == 0xCBF43926u, "crc32 check value %08x", c);
  return 0;
}

static int contract(h_flash *f) {
  cp_store s;
  uint8_t buf[8], big[CP_STORE_MAX_VALUE + 1];
  uint16_t len = 0;
  cp_flash bad = f->hal;
  bad.write_unit = 2;
  H_CHECK(cp_store_mount(&s, &bad) == CP_BAD_ARG, "write unit 2 accepted");
  bad = f->hal;
  bad.page_count = 4;
  H_CHECK(cp_store_mount(&s, &bad) == CP_BAD_ARG, "too few pages accepted");
  bad = f->hal;
  bad.page_size = 384;
  H_CHECK(cp_store_mount(&s, &bad) == CP_BAD_ARG, "page size not a power of two accepted");
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "blank flash does not mount");
  H_CHECK(cp_store_get(&s, 1, buf, sizeof buf, &len) == CP_NOT_FOUND, "blank store has a value");
  H_CHECK(cp_store_put(&s, 1, buf, 1) == CP_BAD_ARG, "put outside a transaction");
  H_CHECK(cp_store_remove(&s, 1) == CP_BAD_ARG, "remove outside a transaction");
  H_CHECK(cp_store_commit(&s) == CP_BAD_ARG, "commit outside a transaction");
  H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
  H_CHECK(cp_store_begin(&s) == CP_BAD_ARG, "nested begin");
  memset(big, 0xA5, sizeof big);
  H_CHECK(cp_store_put(&s, 1, big, CP_STORE_MAX_VALUE + 1) == CP_TOO_LARGE, "oversized value");
  H_CHECK(cp_store_put(&s, 1, NULL, 3) == CP_BAD_ARG, "NULL value");
  H_CHECK(cp_store_remove(&s, 1) == CP_NOT_FOUND, "remove of an absent key");
  H_CHECK(cp_store_commit(&s) == CP_OK, "empty commit");
  H_CHECK(f->sim.ops == 0, "an empty transaction wrote %llu times", (unsigned long long)f->sim.ops);
  return 0;
}

static int basic(h_flash *f) {
  cp_store s;
  uint8_t big[CP_STORE_MAX_VALUE], got[CP_STORE_MAX_VALUE];
  uint16_t len = 0, i;
  for (i = 0; i < CP_STORE_MAX_VALUE; i++) big[i] = (uint8_t)(i * 7 + 1);
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "mount");
  H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
  H_CHECK(cp_store_put(&s, 7, (const uint8_t *)"abc", 3) == CP_OK, "put");
  H_CHECK(cp_store_get(&s, 7, got, sizeof got, &len) == CP_OK && len == 3 && memcmp(got, "abc", 3) == 0,
          "a transaction does not see its own put");
  H_CHECK(cp_store_put(&s, 7, (const uint8_t *)"abcd", 4) == CP_OK, "second put of a key");
  H_CHECK(cp_store_put(&s, 0xFFFF, big, CP_STORE_MAX_VALUE) == CP_OK, "largest value");
  H_CHECK(cp_store_put(&s, 0, NULL, 0) == CP_OK, "empty value");
  H_CHECK(cp_store_commit(&s) == CP_OK, "commit");
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "remount");
  H_CHECK(cp_store_get(&s, 7, got, sizeof got, &len) == CP_OK && len == 4 && memcmp(got, "abcd", 4) == 0,
          "the last put of a key does not win");
  H_CHECK(cp_store_get(&s, 0xFFFF, got, sizeof got, &len) == CP_OK && len == CP_STORE_MAX_VALUE &&
              memcmp(got, big, len) == 0,
          "largest value lost");
  H_CHECK(cp_store_get(&s, 0, NULL, 0, &len) == CP_OK && len == 0, "empty value lost");
  H_CHECK(cp_store_get(&s, 7, got, 3, &len) == CP_TOO_LARGE && len == 4, "small buffer not refused with size");
  /* abort: nothing of it is visible, before or after a remount */
  H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
  H_CHECK(cp_store_put(&s, 7, (const uint8_t *)"zz", 2) == CP_OK, "put");
  H_CHECK(cp_store_remove(&s, 0) == CP_OK, "remove");
  H_CHECK(cp_store_get(&s, 0, NULL, 0, &len) == CP_NOT_FOUND, "a transaction does not see its remove");
  cp_store_abort(&s);
  H_CHECK(cp_store_get(&s, 7, got, sizeof got, &len) == CP_OK && len == 4, "abort leaked a put");
  H_CHECK(cp_store_get(&s, 0, NULL, 0, &len) == CP_OK, "abort leaked a remove");
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "remount");
  H_CHECK(cp_store_get(&s, 7, got, sizeof got, &len) == CP_OK && len == 4, "aborted put came back");
  /* remove, and a put then remove of a new key in one transaction */
  H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
  H_CHECK(cp_store_remove(&s, 7) == CP_OK, "remove");
  H_CHECK(cp_store_put(&s, 9, (const uint8_t *)"x", 1) == CP_OK, "put");
  H_CHECK(cp_store_remove(&s, 9) == CP_OK, "remove of a staged key");
  H_CHECK(cp_store_commit(&s) == CP_OK, "commit");
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "remount");
  H_CHECK(cp_store_get(&s, 7, got, sizeof got, &len) == CP_NOT_FOUND, "removed key is back");
  H_CHECK(cp_store_get(&s, 9, got, sizeof got, &len) == CP_NOT_FOUND, "put-then-removed key exists");
  return 0;
}

static int limits(h_flash *f) {
  cp_store s;
  uint8_t v[4] = {1, 2, 3, 4};
  uint16_t k, round;
  H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "mount");
  H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
  for (k = 0; k < CP_STORE_MAX_TX_ENTRIES; k++) H_CHECK(cp_store_put(&s, k, v, 4) == CP_OK, "put %u", k);
  H_CHECK(cp_store_put(&s, 3, v, 2) == CP_OK, "re-put of a staged key at the entry limit");
  H_CHECK(cp_store_put(&s, 100, v, 4) == CP_TOO_LARGE, "17th entry accepted");
  H_CHECK(cp_store_commit(&s) == CP_OK, "commit");
  for (k = CP_STORE_MAX_TX_ENTRIES; k < CP_STORE_MAX_KEYS; k++) {
    if (k % CP_STORE_MAX_TX_ENTRIES == 0) H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
    H_CHECK(cp_store_put(&s, k, v, 4) == CP_OK, "put key %u", k);
    if (k % CP_STORE_MAX_TX_ENTRIES == CP_STORE_MAX_TX_ENTRIES - 1) H_CHECK(cp_store_commit(&s) == CP_OK, "commit");
  }
  H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
  H_CHECK(cp_store_put(&s, 1000, v, 4) == CP_NO_SPACE, "97th key accepted");
  H_CHECK(cp_store_remove(&s, 5) == CP_OK, "remove");
  H_CHECK(cp_store_put(&s, 1000, v, 4) == CP_OK, "a key freed in the same transaction is not reusable");
  H_CHECK(cp_store_commit(&s) == CP_OK, "commit");
  for (k = 16; k < 96; k++) {
    if (k % CP_STORE_MAX_TX_ENTRIES == 0) H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
    H_CHECK(cp_store_remove(&s, k) == CP_OK, "remove key %u", k);
    if (k % CP_STORE_MAX_TX_ENTRIES == CP_STORE_MAX_TX_ENTRIES - 1) H_CHECK(cp_store_commit(&s) == CP_OK, "commit");
  }
  /* bytes: fill with large values until NO_SPACE, then removing must always make room again */
  for (round = 0; round < 3; round++) {
    static const uint8_t zero[CP_STORE_MAX_VALUE];
    uint16_t n = 0, j, m, small;
    cp_result r = CP_OK;
    while (r == CP_OK) {
      H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
      r = cp_store_put(&s, (uint16_t)(2000 + n), zero, CP_STORE_MAX_VALUE);
      if (r == CP_OK) r = cp_store_commit(&s);
      if (r != CP_OK) cp_store_abort(&s);
      n++;
    }
    H_CHECK(r == CP_NO_SPACE, "filling ended with %d", (int)r);
    H_CHECK(n > 2, "only %u large values fit", n);
    if (round == 0) printf("large values (1024 B) that fit beside 16 small keys: %u\n", n - 1);
    /* top up with ever smaller values until not even an empty one fits */
    for (small = 256, m = 0; small > 0; small /= 4) {
      r = CP_OK;
      while (r == CP_OK && m < CP_STORE_MAX_KEYS) {
        H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
        r = cp_store_put(&s, (uint16_t)(3000 + m), zero, (uint16_t)(small == 1 ? 0 : small));
        if (r == CP_OK) r = cp_store_commit(&s);
        if (r != CP_OK) cp_store_abort(&s);
        m += r == CP_OK;
      }
      H_CHECK(r == CP_NO_SPACE, "topping up ended with %d", (int)r);
    }
    /* removes use the headroom kept for them: a full store can always be emptied */
    for (j = 0; j < m; j++) {
      H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
      H_CHECK(cp_store_remove(&s, (uint16_t)(3000 + j)) == CP_OK, "remove small %u in a full store", j);
      H_CHECK(cp_store_commit(&s) == CP_OK, "commit a remove in a full store (round %u)", round);
    }
    for (j = 0; j + 1 < n; j++) {
      H_CHECK(cp_store_begin(&s) == CP_OK, "begin");
      H_CHECK(cp_store_remove(&s, (uint16_t)(2000 + j)) == CP_OK, "remove %u in a full store", j);
      H_CHECK(cp_store_commit(&s) == CP_OK, "commit a remove in a full store (round %u)", round);
    }
    H_CHECK(cp_store_mount(&s, &f->hal) == CP_OK, "remount after filling");
  }
  return 0;
}

/* The image file round trip: what one process saves, another loads and mounts. */
static int image_file(const char *path) {
  h_flash *f = malloc(sizeof *f), *g = malloc(sizeof *g); /* test driver only: too big for the stack */
  cp_store s;
  uint8_t got[8];
  uint16_t len = 0;
  int bad = 1;
  if (f == NULL || g == NULL) return 1;
  h_flash_init(f, 256, 72, 4);
  h_flash_init(g, 256, 72, 4);
  if (cp_store_mount(&s, &f->hal) == CP_OK && cp_store_begin(&s) == CP_OK &&
      cp_store_put(&s, 42, (const uint8_t *)"image", 5) == CP_OK && cp_store_commit(&s) == CP_OK &&
      flash_sim_save(&f->sim, path) == 0 && flash_sim_load(&g->sim, path) == 0 &&
      cp_store_mount(&s, &g->hal) == CP_OK && cp_store_get(&s, 42, got, sizeof got, &len) == CP_OK && len == 5 &&
      memcmp(got, "image", 5) == 0 && cp_store_begin(&s) == CP_OK &&
      cp_store_put(&s, 43, (const uint8_t *)"more", 4) == CP_OK && cp_store_commit(&s) == CP_OK)
    bad = 0;
  g->sim.page_count = 71;
  if (!bad && flash_sim_load(&g->sim, path) == 0) bad = 1; /* a file of the wrong size is refused */
  if (bad) fprintf(stderr, "FAIL image file round trip through %s\n", path);
  else printf("ok unit image file %s\n", path);
  free(f);
  free(g);
  return bad;
}

static int run_all(uint32_t page_size, uint32_t page_count, uint32_t wu) {
  h_flash *f = malloc(sizeof *f); /* test driver only: the flash image is too big for the stack */
  int bad;
  if (f == NULL) return 1;
  h_flash_init(f, page_size, page_count, wu);
  bad = contract(f);
  h_flash_init(f, page_size, page_count, wu);
  if (!bad) bad = basic(f);
  h_flash_init(f, page_size, page_count, wu);
  if (!bad) bad = limits(f);
  if (!bad) printf("ok unit page %u x %u, write unit %u\n", page_size, page_count, wu);
  free(f);
  return bad;
}

int main(int argc, char **argv) {
  cp_store s;
  int bad = crc_vector();
  if (argc > 1) bad |= image_file(argv[1]);
  bad |= run_all(256, 144, 1);
  bad |= run_all(256, 144, 4);
  bad |= run_all(2048, 16, 8);
  bad |= run_all(4096, 8, 8);
  printf("figure sizeof(cp_store) host: %u bytes\n", (unsigned)sizeof s);
  printf("figure record overhead: %u-byte header, values padded to %u, %u-byte COMMIT per transaction, "
         "%u-byte header per block\n",
         CPS_REC_HDR, CPS_ALIGN, CPS_REC_HDR, CPS_BLOCK_HDR);
  return bad;
}
