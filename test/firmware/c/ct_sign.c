/*
 * Constant-time check of the signing code (the ctgrind technique), run under valgrind memcheck by
 * test/firmware/crypto-ct.test.ts. Private keys and every byte the RNG hands out (nonces, key
 * candidates) are marked undefined; memcheck then reports any conditional jump or memory index
 * that depends on them. The library itself declassifies only what is public by design (ec_ct.h).
 * Outputs are marked defined again before they are printed, so the test can check them against
 * the TypeScript reference: the run did real work, not a short cut.
 *
 * Built with CP_CT_CHECK (library declassification points on). CT_SELFTEST_LEAK=1 or 2 plants a
 * secret-dependent branch or table index in ec_mul.c, to show that the check does fail.
 */
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "cp_ecdsa.h"
#include "cp_hash.h"
#include "cp_sm2.h"

typedef struct {
  uint32_t counter;
} det_rng;

/* Deterministic bytes (SHA-256 of a counter), handed out as secrets. */
static int secret_rng(void *ctx, uint8_t *buf, size_t n) {
  det_rng *r = (det_rng *)ctx;
  uint8_t *start = buf;
  size_t total = n;
  while (n > 0) {
    uint8_t in[4] = {(uint8_t)(r->counter >> 24), (uint8_t)(r->counter >> 16), (uint8_t)(r->counter >> 8),
                     (uint8_t)r->counter};
    uint8_t out[32];
    size_t take = n < 32 ? n : 32;
    r->counter++;
    cp_sha256(in, sizeof in, out);
    memcpy(buf, out, take);
    buf += take;
    n -= take;
  }
  VALGRIND_MAKE_MEM_UNDEFINED(start, total);
  return 1;
}

static void print_public(const char *label, const uint8_t *b, size_t n) {
  VALGRIND_MAKE_MEM_DEFINED(b, n);
  printf("%s ", label);
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  putchar('\n');
}

static void secret_key(uint8_t d[32], uint8_t seed) {
  for (int i = 0; i < 32; i++) d[i] = (uint8_t)(seed * 31 + i * 7 + 1);
  d[0] &= 0x7F; /* below n for both curves */
  VALGRIND_MAKE_MEM_UNDEFINED(d, 32);
}

int main(void) {
  det_rng rng = {1};
  uint8_t d[32], pub[65], sig[64], e[32], kd[32];
  int rc;
  for (uint8_t key = 0; key < 2; key++) {
    for (int alg = 1; alg <= 2; alg++) {
      const char *name = alg == 1 ? "sm2" : "p256";
      secret_key(d, (uint8_t)(key + 16 * alg));
      rc = alg == 1 ? cp_sm2_public_from_private(d, pub) : cp_p256_public_from_private(d, pub);
      if (rc != EC_OK) return 2;
      printf("%s key ", name);
      print_public("pub", pub, 65);
      for (int i = 0; i < 2; i++) {
        memset(e, 0xA0 + i, sizeof e); /* the digest is public */
        rc = alg == 1 ? cp_sm2_sign_digest(d, e, NULL, secret_rng, &rng, sig)
                      : cp_p256_sign_digest(d, e, NULL, secret_rng, &rng, sig);
        if (rc != EC_OK) return 3;
        printf("%s e %02x ", name, e[0]);
        print_public("sig", sig, 64);
      }
      rc = alg == 1 ? cp_sm2_keygen(secret_rng, &rng, kd, pub) : cp_p256_keygen(secret_rng, &rng, kd, pub);
      if (rc != EC_OK) return 4;
      print_public(alg == 1 ? "sm2 keygen priv" : "p256 keygen priv", kd, 32);
      print_public("pub", pub, 65);
    }
  }
  return 0;
}
