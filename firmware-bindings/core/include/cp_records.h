/*
 * cardpost firmware: the signed structures the card reads and makes (docs/protocol.md §7):
 * envelope, certificate, top-up token, block order, transaction record. Decoders accept exactly
 * what the protocol/record/ modules decode (same fields, ranges, version and consistency rules) and
 * return 0 for anything else, where the TypeScript card catches a DecodeError. Decoded fields point
 * into the caller's bytes (no copies). Crypto goes through the HAL's ops table only.
 */
#ifndef CP_RECORDS_H
#define CP_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "cp_cbor.h"
#include "cp_hal.h"
#include "cp_state.h"

#define CP_BODY_TXN_RECORD 1u
#define CP_BODY_CERTIFICATE 2u
#define CP_BODY_TOPUP_TOKEN 4u
#define CP_BODY_BLOCK_ORDER 5u

#define CP_CERT_ISSUER_CA 1u
#define CP_CERT_CARD 2u
#define CP_CERT_AUTHORITY 4u

#define CP_MAX_ENVELOPE 4096u
#define CP_MAX_AMOUNT 9007199254740991ull /* 2^53 - 1 */
#define CP_MAX_COUNTER 0xffffffffull
/* Largest record envelope the card signs (§7.2 with every field at its maximum). */
#define CP_TXN_ENVELOPE_MAX 300u
#define CP_TXN_BODY_MAX 224u

/* hal->crypto, or the portable software crypto when the board has no coprocessor. */
const cp_crypto_ops *cp_crypto_of(const cp_hal *hal);

typedef struct {
  const uint8_t *body;
  size_t body_len;
  const uint8_t *sig; /* 64 bytes */
} cp_envelope;

/* decodeEnvelope: `{1: body, 2: sig(64)}`, body a canonical map whose key 0 is `type`; *fields is
 * left open on the body for the caller's own fields. 1 if so, 0 if not. */
int cp_envelope_open(const uint8_t *bytes, size_t len, uint64_t type, cp_envelope *env, cp_cbor_map *fields);
/* verifyEnvelope: *ok = 1 when sig verifies over the body under (alg, pub). Only a crypto table
 * that cannot run at all is an error; a bad key or signature is *ok = 0. */
cp_result cp_envelope_verify(const cp_hal *hal, uint8_t alg, const uint8_t pub[65], const cp_envelope *env, int *ok);
/* The suite hash (SM3 / SHA-256) of data, and the key id: its first 8 bytes over a public key. */
cp_result cp_suite_hash(const cp_hal *hal, uint8_t alg, const uint8_t *data, size_t len, uint8_t out[32]);

typedef struct {
  cp_envelope env;
  const uint8_t *issuer_key_id; /* 8 */
  uint8_t kind;
  const uint8_t *subject;
  size_t subject_len;
  uint8_t algorithm; /* 1 or 2 */
  const uint8_t *pub; /* 65 */
  uint64_t not_before, not_after;
  uint8_t has_limits; /* card certificates (kind 2) and only they */
  cp_limits limits;
  uint16_t currency;
} cp_cert;

int cp_cert_decode(const uint8_t *bytes, size_t len, cp_cert *c);
/* verifyCertificate without a clock: issuer is a CA, key id, signature, kind, validity within the CA's. */
cp_result cp_cert_verify(const cp_hal *hal, const cp_cert *cert, const cp_cert *issuer, uint8_t kind, int *ok);

typedef struct {
  cp_envelope env;
  const uint8_t *card_id; /* 8 */
  uint64_t load_seq, amount, currency, valid_until_counter, issued_at, settled_counter;
  uint8_t reset_offline;
  uint8_t has_refund_of;
  uint64_t refund_of;
} cp_token;

int cp_token_decode(const uint8_t *bytes, size_t len, cp_token *t);

typedef struct {
  cp_envelope env;
  const uint8_t *card_id; /* 8 */
} cp_block_order;

int cp_block_order_decode(const uint8_t *bytes, size_t len, cp_block_order *o);

typedef struct {
  const uint8_t *card_id; /* 8 */
  uint64_t counter, amount, currency;
  const uint8_t *merchant;
  size_t merchant_len;
  const uint8_t *terminal;
  size_t terminal_len;
  uint64_t time;
  const uint8_t *host_nonce; /* 16 */
  uint64_t balance_after;
  const uint8_t *prev_hash; /* 32 */
  uint8_t algorithm;
  uint8_t cvm;         /* 0 none, 1 offline PIN */
  uint8_t is_reversal; /* kind 2: reverses = counter - 1 */
  uint64_t reverses;
} cp_txn;

/* decodeTxnRecord (signature not checked). */
int cp_txn_decode(const uint8_t *bytes, size_t len, cp_txn *t);
/*
 * signTxnRecord: encodes the body into scratch, signs it with the card key and writes the envelope
 * into env (CP_TXN_ENVELOPE_MAX bytes); hash receives the body's suite hash (the next prevHash).
 */
cp_result cp_txn_sign(const cp_hal *hal, const uint8_t priv[32], const uint8_t pub[65], const cp_txn *t,
                      uint8_t scratch[CP_TXN_BODY_MAX], uint8_t *env, size_t env_cap, size_t *env_len,
                      uint8_t hash[32]);

#endif
