/*
 * cardpost firmware: the hardware abstraction the portable card core runs on.
 *
 * One struct, filled by the board (ARM under QEMU, the host test flash, the Node binding): flash
 * read / program / page erase, a random source, and an optional crypto-ops table where a secure
 * element's coprocessor can plug in (NULL: the portable software crypto is used).
 *
 * Flash behaves as real NOR flash: program can only clear bits (1 -> 0); erase sets a whole page to
 * 0xFF. A board that loses power in the middle of a program or erase returns CP_POWER_LOST; every
 * caller propagates it unchanged up to cp_card_transmit (no longjmp), and the core touches nothing
 * after it: the next thing that happens is power-on recovery.
 */
#ifndef CP_HAL_H
#define CP_HAL_H

#include <stddef.h>
#include <stdint.h>

/* Results shared by every layer of the core. Stable numbers: tests and the binding read them. */
typedef enum {
  CP_OK = 0,
  CP_POWER_LOST = 1,  /* a flash write or erase was cut: stop, touch nothing, wait for power-on */
  CP_FLASH_FAULT = 2, /* the flash refused (bad address, a 0 -> 1 program): a bug or worn-out part */
  CP_NO_SPACE = 3,    /* the store is full even after compaction */
  CP_NOT_FOUND = 4,   /* no value under that key */
  CP_TOO_LARGE = 5,   /* a value, message or buffer bigger than its fixed capacity */
  CP_CORRUPT = 6,     /* stored bytes that recovery cannot explain (not a torn write) */
  CP_RNG_FAILED = 7,  /* the random source gave nothing */
  CP_BAD_ARG = 8,     /* a caller broke the contract (NULL, wrong length, no open transaction) */
  CP_CRYPTO_FAILED = 9 /* a key or signature the crypto refused */
} cp_result;

/* The core never reads, programs or erases outside [0, page_size * page_count): a board may map
 * `read` straight onto memory without checking. */
typedef struct {
  void *ctx;
  uint32_t page_size;  /* bytes in one erase page (power of two, >= 256) */
  uint32_t page_count; /* pages given to the card's store */
  uint32_t write_unit; /* program granularity in bytes: 1, 4 or 8; addresses and lengths are multiples */
  cp_result (*read)(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len);
  cp_result (*program)(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len);
  cp_result (*erase)(void *ctx, uint32_t page);
} cp_flash;

typedef struct {
  void *ctx;
  cp_result (*fill)(void *ctx, uint8_t *buf, size_t len);
} cp_rng;

/* Signature algorithm wire codes, docs/protocol.md §9.1. */
#define CP_ALG_SM2_SM3 1u
#define CP_ALG_P256_SHA256 2u

/*
 * Message-level crypto, docs/protocol.md §9. Keys: private 32 bytes big-endian, public 65 bytes
 * 04||x||y, signatures 64 bytes r||s. SM2 uses the default user id (§9.3). sign keeps the
 * constant-time discipline in the private key and nonce; verify handles public data only.
 * Every function returns CP_OK or an error; none keeps state between calls.
 */
typedef struct cp_crypto_ops {
  void *ctx;
  cp_result (*digest)(void *ctx, uint32_t alg, const uint8_t *msg, size_t len, uint8_t out[32]);
  cp_result (*keygen)(void *ctx, uint32_t alg, const cp_rng *rng, uint8_t priv[32], uint8_t pub[65]);
  cp_result (*sign)(void *ctx, uint32_t alg, const uint8_t priv[32], const uint8_t pub[65], const uint8_t *msg,
                    size_t len, const cp_rng *rng, uint8_t sig[64]);
  /* CP_OK if valid, CP_CRYPTO_FAILED if not (bad key, bad signature). */
  cp_result (*verify)(void *ctx, uint32_t alg, const uint8_t pub[65], const uint8_t *msg, size_t len,
                      const uint8_t sig[64]);
} cp_crypto_ops;

typedef struct {
  cp_flash flash;
  cp_rng rng;
  const cp_crypto_ops *crypto; /* NULL: cp_soft_crypto() */
} cp_hal;

/* The portable software crypto (protocol/crypto/native/), as an ops table. */
const cp_crypto_ops *cp_soft_crypto(void);

#endif
