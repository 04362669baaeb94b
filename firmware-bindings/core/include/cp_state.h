/*
 * cardpost firmware: how the card applet keeps its state in the NVM store (docs/firmware.md
 * "The applet"). The layout mirrors device-sim/card/card-state.ts key for key, and every value is
 * the same canonical CBOR the TypeScript card stores, so an NVM image of the C card and one of the
 * TS card can be compared value by value. Only the key names became numbers (table below).
 *
 *   TS key         C key          value
 *   lifecycle      0x0001         {1: uint}
 *   identity       0x0002         {1: cardId, 2: alg, 3: priv, 4: pub, 5: issuer, 6: cert, 7: currency, 8: limits}
 *   perso          0x0003         {1: cardId, 2: alg, 3: priv, 4: pub, 5: issuer, 6: challenge}
 *   secrets        0x0004         {1: pin, 2: puk}
 *   issuerAnchor   0x0005         issuer CA certificate envelope (written at the factory)
 *   pinRetries     0x0006         {1: uint}
 *   pukRetries     0x0007         {1: uint}
 *   counter        0x0008         {1: uint}
 *   balance        0x0009         {1: uint}
 *   offline        0x000A         {1: amount, 2: count}
 *   loads          0x000B         {1: uint}
 *   lastHash       0x000C         {1: bstr(32)}
 *   blockOrder     0x000D         block order envelope
 *   voidable       0x000E         {1: uint}
 *   journal/<n>    0x0100 + n     record envelope, n = counter % journalCapacity
 *
 * Writers only stage values in the store's open transaction (cp_store_begin is the caller's).
 */
#ifndef CP_STATE_H
#define CP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "cp_cbor.h"
#include "cp_hal.h"
#include "cp_store.h"

#define CP_KEY_LIFECYCLE 0x0001u
#define CP_KEY_IDENTITY 0x0002u
#define CP_KEY_PERSO 0x0003u
#define CP_KEY_SECRETS 0x0004u
#define CP_KEY_ANCHOR 0x0005u
#define CP_KEY_PIN_RETRIES 0x0006u
#define CP_KEY_PUK_RETRIES 0x0007u
#define CP_KEY_COUNTER 0x0008u
#define CP_KEY_BALANCE 0x0009u
#define CP_KEY_OFFLINE 0x000Au
#define CP_KEY_LOADS 0x000Bu
#define CP_KEY_LAST_HASH 0x000Cu
#define CP_KEY_BLOCK_ORDER 0x000Du
#define CP_KEY_VOIDABLE 0x000Eu
#define CP_KEY_JOURNAL_BASE 0x0100u

/* Journal slots the store has room for beside the 14 fixed keys (CP_STORE_MAX_KEYS is 96). */
#define CP_JOURNAL_MAX_CAPACITY 64u
#define CP_JOURNAL_KEY(slot) ((uint16_t)(CP_KEY_JOURNAL_BASE + (slot)))

#define CP_PIN_TRIES 3u
#define CP_PUK_TRIES 10u

/* Largest stored identity: two maximal certificate envelopes (292 bytes each) and the rest. */
#define CP_IDENTITY_MAX 800u
#define CP_PENDING_MAX 512u

typedef struct {
  uint64_t per_transaction, no_pin, offline_amount, offline_count, max_balance;
} cp_limits;

/* Fixed at personalisation. issuer/certificate point into the buffer the value was read into. */
typedef struct {
  uint8_t card_id[8];
  uint8_t algorithm;
  uint8_t priv[32];
  uint8_t pub[65];
  const uint8_t *issuer;
  size_t issuer_len;
  const uint8_t *certificate;
  size_t certificate_len;
  uint16_t currency;
  cp_limits limits;
} cp_identity;

/* Between PERSONALIZE_BEGIN and COMMIT. issuer points into the read buffer. */
typedef struct {
  uint8_t card_id[8];
  uint8_t algorithm;
  uint8_t priv[32];
  uint8_t pub[65];
  const uint8_t *issuer;
  size_t issuer_len;
  uint8_t challenge[16];
} cp_pending;

typedef struct {
  uint64_t counter, balance, offline_amount, offline_count, load_counter;
  uint8_t last_hash[32];
} cp_purse;

typedef struct {
  uint8_t pin[12], pin_len;
  uint8_t puk[12], puk_len;
} cp_secrets;

/* Stored life cycle (absent: blank). CP_CORRUPT if it does not decode. */
cp_result cp_state_lifecycle(cp_store *s, uint8_t *lc);
/* effectiveLifecycle: personalised/active with PUK tries 0 -> terminated, PIN tries 0 -> PIN-blocked. */
cp_result cp_state_effective_lifecycle(cp_store *s, uint8_t *lc);
/* Try counters fail closed: missing, zero or undecodable reads 0. */
cp_result cp_state_tries(cp_store *s, uint16_t key, uint64_t *n);

/* CP_NOT_FOUND when absent (blank card / no BEGIN). buf holds the value the pointers refer to. */
cp_result cp_state_identity(cp_store *s, uint8_t *buf, uint16_t cap, cp_identity *id);
cp_result cp_state_pending(cp_store *s, uint8_t *buf, uint16_t cap, cp_pending *p);
cp_result cp_state_secrets(cp_store *s, cp_secrets *sec);
cp_result cp_state_purse(cp_store *s, cp_purse *p);
cp_result cp_state_voidable(cp_store *s, uint64_t *counter);

/* Writers (inside the caller's open transaction). */
cp_result cp_state_put_uint(cp_store *s, uint16_t key, uint64_t v);
cp_result cp_state_put_lifecycle(cp_store *s, uint8_t lc);
/* Tries never go below 0 (the caller passes the signed result of its arithmetic). */
cp_result cp_state_put_tries(cp_store *s, uint16_t key, int64_t n);
cp_result cp_state_put_secrets(cp_store *s, const cp_secrets *sec);
/* Writes only the fields that differ, as writePurse does (last_hash only when `hash_changed`). */
cp_result cp_state_put_purse(cp_store *s, const cp_purse *before, const cp_purse *after, int hash_changed);
cp_result cp_state_put_voidable(cp_store *s, uint64_t before, uint64_t counter);
/* buf: scratch for the encoding (CP_IDENTITY_MAX / CP_PENDING_MAX bytes). */
cp_result cp_state_put_identity(cp_store *s, const cp_identity *id, uint8_t *buf, size_t cap);
cp_result cp_state_put_pending(cp_store *s, const cp_pending *p, uint8_t *buf, size_t cap);

/* encodeLimits: {1: perTransaction, 2: noPin, 3: offlineAmount, 4: offlineCount, 5: maxBalance}. */
void cp_state_encode_limits(cp_cbor_writer *w, const cp_limits *l);

/* Ends the transaction the caller began: commit when r is CP_OK, else abort; returns the outcome. */
cp_result cp_state_finish(cp_store *s, cp_result r);

#endif
