/*
 * Test driver for the C crypto (protocol/crypto/native/ and cp_soft_crypto.c), built by
 * test/firmware/crypto-*.test.ts with either limb path. Reads one command per line on stdin,
 * writes one answer line per command on stdout. Byte strings are hex; "." is the empty string.
 *
 *   sm3 MSG | sha256 MSG                    digest (one update)
 *   sm3parts MSG N | sha256parts MSG N      digest fed in pieces of N bytes
 *   seed HEX                                reseed the deterministic test RNG
 *   sm2pub D | p256pub D                    public key, or ERR <code>
 *   sm2sign D E K|- | p256sign D H K|-      digest-level signature (K fixed, or - for the RNG)
 *   sm2verify PUB E SIG | p256verify PUB H SIG   1 or 0 (digest level); ERR KEY for a bad key
 *   sm2za PUB ID                            Z_A
 *   sm2muladd S PUB T                       s*G + t*P with and without the per-key table
 *   keygen ALG | digest ALG MSG | sign ALG PRIV PUB MSG | verify ALG PUB MSG SIG
 *                                           the cp_soft_crypto() ops table (results: cp_result)
 *   rngfail                                 the next RNG call fails
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_ecdsa.h"
#include "cp_hal.h"
#include "cp_hash.h"
#include "cp_sm2.h"

#define MAX_BYTES 4096

/* Test RNG: SHA-256(seed || counter) blocks; reproducible so failures can be replayed. */
typedef struct {
  uint8_t seed[32];
  uint32_t counter;
  int fail_next;
} test_rng;

static int rng_bytes(void *ctx, uint8_t *buf, size_t n) {
  test_rng *r = (test_rng *)ctx;
  if (r->fail_next) {
    r->fail_next = 0;
    return 0;
  }
  while (n > 0) {
    uint8_t in[36], out[32];
    memcpy(in, r->seed, 32);
    in[32] = (uint8_t)(r->counter >> 24);
    in[33] = (uint8_t)(r->counter >> 16);
    in[34] = (uint8_t)(r->counter >> 8);
    in[35] = (uint8_t)r->counter;
    r->counter++;
    cp_sha256(in, sizeof in, out);
    size_t take = n < 32 ? n : 32;
    memcpy(buf, out, take);
    buf += take;
    n -= take;
  }
  return 1;
}

static cp_result hal_fill(void *ctx, uint8_t *buf, size_t len) { return rng_bytes(ctx, buf, len) ? CP_OK : CP_RNG_FAILED; }

/* Parses hex into out; returns the length or -1. */
static long unhex(const char *s, uint8_t *out, size_t cap) {
  if (strcmp(s, ".") == 0) return 0;
  size_t n = strlen(s);
  if (n % 2 != 0 || n / 2 > cap) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return (long)(n / 2);
}

static void put_hex(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

static void answer_hex(const uint8_t *b, size_t n) {
  put_hex(b, n);
  putchar('\n');
}

/* Reads the next token as exactly `want` bytes (want < 0: any length, returned). */
static long arg(uint8_t *out, long want) {
  char *tok = strtok(NULL, " \t\r\n");
  if (tok == NULL) return -1;
  long n = unhex(tok, out, MAX_BYTES);
  if (want >= 0 && n != want) return -1;
  return n;
}

static void hash_cmd(const char *cmd, int parts) {
  static const char *const names[] = {"sm3", "sha256"};
  uint8_t msg[MAX_BYTES], out[32];
  long n = arg(msg, -1);
  long step = n > 0 ? n : 1;
  cp_hash_ctx ctx;
  int sm3 = strncmp(cmd, names[0], 3) == 0;
  if (parts) {
    char *tok = strtok(NULL, " \t\r\n");
    step = tok != NULL ? atol(tok) : 0;
  }
  if (n < 0 || step <= 0) {
    puts("ERR ARGS");
    return;
  }
  if (sm3)
    cp_sm3_init(&ctx);
  else
    cp_sha256_init(&ctx);
  for (long at = 0; at < n || (n == 0 && at == 0); at += step) {
    size_t take = (size_t)(n - at < step ? n - at : step);
    if (sm3)
      cp_sm3_update(&ctx, msg + at, take);
    else
      cp_sha256_update(&ctx, msg + at, take);
    if (n == 0) break;
  }
  if (sm3)
    cp_sm3_final(&ctx, out);
  else
    cp_sha256_final(&ctx, out);
  answer_hex(out, 32);
}

static void ec_answer(int rc, const uint8_t *b, size_t n) {
  if (rc == EC_OK)
    answer_hex(b, n);
  else
    printf("ERR %d\n", rc);
}

static void sign_cmd(int sm2, test_rng *rng) {
  uint8_t d[32], e[32], k[32], sig[64];
  char *kt;
  if (arg(d, 32) < 0 || arg(e, 32) < 0 || (kt = strtok(NULL, " \t\r\n")) == NULL) {
    puts("ERR ARGS");
    return;
  }
  const uint8_t *fixed = NULL;
  if (strcmp(kt, "-") != 0) {
    if (unhex(kt, k, 32) != 32) {
      puts("ERR ARGS");
      return;
    }
    fixed = k;
  }
  int rc = sm2 ? cp_sm2_sign_digest(d, e, fixed, rng_bytes, rng, sig) : cp_p256_sign_digest(d, e, fixed, rng_bytes, rng, sig);
  ec_answer(rc, sig, 64);
}

static void verify_cmd(int sm2) {
  uint8_t pub[65], e[32], sig[64];
  ec_affine p;
  if (arg(pub, 65) < 0 || arg(e, 32) < 0 || arg(sig, 64) < 0) {
    puts("ERR ARGS");
    return;
  }
  if (!(sm2 ? cp_sm2_decode_public(pub, &p) : cp_p256_decode_public(pub, &p))) {
    puts("ERR KEY");
    return;
  }
  printf("%d\n", sm2 ? cp_sm2_verify_digest(&p, NULL, e, sig) : cp_p256_verify_digest(&p, e, sig));
}

static void muladd_cmd(void) {
  ec_table table; /* 33 KB each: fine on a host stack */
  ec_table_scratch scratch;
  uint8_t s[32], pub[65], t[32], a[65], b[65];
  ec_affine p;
  if (arg(s, 32) < 0 || arg(pub, 65) < 0 || arg(t, 32) < 0 || !cp_sm2_decode_public(pub, &p)) {
    puts("ERR ARGS");
    return;
  }
  int ra = cp_sm2_mul_add(s, &p, NULL, t, a);
  cp_sm2_table_build(&p, &table, &scratch);
  int rb = cp_sm2_mul_add(s, &p, &table, t, b);
  if (ra != rb || (ra && memcmp(a, b, 65) != 0)) {
    puts("ERR TABLE_MISMATCH");
    return;
  }
  if (!ra)
    puts("INF");
  else
    answer_hex(a, 65);
}

static void ops_cmd(const char *cmd, test_rng *rng) {
  const cp_crypto_ops *ops = cp_soft_crypto();
  cp_rng hal_rng = {rng, hal_fill};
  uint8_t priv[32], pub[65], sig[64], out[32], msg[MAX_BYTES];
  char *alg_tok = strtok(NULL, " \t\r\n");
  uint32_t alg = alg_tok != NULL ? (uint32_t)atol(alg_tok) : 0;
  long n;
  cp_result rc;
  if (strcmp(cmd, "keygen") == 0) {
    rc = ops->keygen(ops->ctx, alg, &hal_rng, priv, pub);
    if (rc != CP_OK) {
      printf("ERR %d\n", (int)rc);
      return;
    }
    put_hex(priv, 32);
    putchar(' ');
    answer_hex(pub, 65);
  } else if (strcmp(cmd, "digest") == 0) {
    if ((n = arg(msg, -1)) < 0) {
      puts("ERR ARGS");
      return;
    }
    rc = ops->digest(ops->ctx, alg, msg, (size_t)n, out);
    if (rc != CP_OK)
      printf("ERR %d\n", (int)rc);
    else
      answer_hex(out, 32);
  } else if (strcmp(cmd, "sign") == 0) {
    if (arg(priv, 32) < 0 || arg(pub, 65) < 0 || (n = arg(msg, -1)) < 0) {
      puts("ERR ARGS");
      return;
    }
    rc = ops->sign(ops->ctx, alg, priv, pub, msg, (size_t)n, &hal_rng, sig);
    if (rc != CP_OK)
      printf("ERR %d\n", (int)rc);
    else
      answer_hex(sig, 64);
  } else { /* verify */
    if (arg(pub, 65) < 0 || (n = arg(msg, -1)) < 0 || arg(sig, 64) < 0) {
      puts("ERR ARGS");
      return;
    }
    printf("%d\n", (int)ops->verify(ops->ctx, alg, pub, msg, (size_t)n, sig));
  }
}

int main(void) {
  char line[4 * MAX_BYTES];
  test_rng rng;
  memset(&rng, 0, sizeof rng);
  while (fgets(line, sizeof line, stdin) != NULL) {
    char *cmd = strtok(line, " \t\r\n");
    uint8_t a[MAX_BYTES], b[65];
    if (cmd == NULL) continue;
    if (strcmp(cmd, "sm3") == 0 || strcmp(cmd, "sha256") == 0) {
      hash_cmd(cmd, 0);
    } else if (strcmp(cmd, "sm3parts") == 0 || strcmp(cmd, "sha256parts") == 0) {
      hash_cmd(cmd, 1);
    } else if (strcmp(cmd, "seed") == 0) {
      memset(&rng, 0, sizeof rng);
      if (arg(rng.seed, -1) < 0) puts("ERR ARGS");
      else puts("OK");
    } else if (strcmp(cmd, "rngfail") == 0) {
      rng.fail_next = 1;
      puts("OK");
    } else if (strcmp(cmd, "sm2pub") == 0 || strcmp(cmd, "p256pub") == 0) {
      if (arg(a, 32) < 0) {
        puts("ERR ARGS");
        continue;
      }
      ec_answer(cmd[0] == 's' ? cp_sm2_public_from_private(a, b) : cp_p256_public_from_private(a, b), b, 65);
    } else if (strcmp(cmd, "sm2sign") == 0 || strcmp(cmd, "p256sign") == 0) {
      sign_cmd(cmd[0] == 's', &rng);
    } else if (strcmp(cmd, "sm2verify") == 0 || strcmp(cmd, "p256verify") == 0) {
      verify_cmd(cmd[0] == 's');
    } else if (strcmp(cmd, "sm2za") == 0) {
      long n;
      uint8_t za[32];
      if (arg(b, 65) < 0 || (n = arg(a, -1)) < 0 || !cp_sm2_za(b, a, (size_t)n, za))
        puts("ERR ARGS");
      else
        answer_hex(za, 32);
    } else if (strcmp(cmd, "sm2muladd") == 0) {
      muladd_cmd();
    } else if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "digest") == 0 || strcmp(cmd, "sign") == 0 ||
               strcmp(cmd, "verify") == 0) {
      ops_cmd(cmd, &rng);
    } else {
      printf("ERR UNKNOWN %s\n", cmd);
    }
    fflush(stdout);
  }
  return 0;
}
