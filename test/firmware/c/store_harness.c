/* Harness for the NVM store test drivers (store_harness.h). */
#include "store_harness.h"
#include "../../../firmware-bindings/core/src/cp_store_internal.h"

#include <string.h>

/* Keys spread over the whole uint16 range, both ends included. */
uint16_t h_key(uint32_t i) { return i == 0 ? 0 : i == 1 ? 0xFFFFu : (uint16_t)(i * 1627u + 3u); }

uint32_t h_rand(uint32_t *state) {
  uint32_t x = *state ? *state : 1u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

void h_value(uint32_t seed, uint16_t len, uint8_t *out) {
  uint32_t st = seed * 2654435761u + len + 1u, i;
  for (i = 0; i < len; i++) out[i] = (uint8_t)(h_rand(&st) >> 24);
}

void h_flash_init(h_flash *f, uint32_t page_size, uint32_t page_count, uint32_t write_unit) {
  flash_sim_init(&f->sim, f->mem, f->units, f->erases, page_size, page_count, write_unit);
  f->hal = flash_sim_hal(&f->sim);
}

void h_model_clear(h_model *m) { memset(m, 0, sizeof *m); }

static int key_matches(cp_store *s, const h_model *m, uint32_t i, int allow_corrupt, uint32_t *corrupt) {
  uint8_t got[CP_STORE_MAX_VALUE], want[CP_STORE_MAX_VALUE];
  uint16_t len = 0;
  cp_result r = cp_store_get(s, h_key(i), got, sizeof got, &len);
  if (r == CP_CORRUPT && allow_corrupt) {
    (*corrupt)++;
    return 1;
  }
  if (!m->present[i]) return r == CP_NOT_FOUND;
  if (r != CP_OK || len != m->len[i]) return 0;
  h_value(m->vseed[i], len, want);
  return memcmp(got, want, len) == 0;
}

int h_equal(cp_store *s, const h_model *m) {
  uint32_t i, c = 0;
  for (i = 0; i < H_KEYS; i++)
    if (!key_matches(s, m, i, 0, &c)) return 0;
  return 1;
}

int h_equal_or_corrupt(cp_store *s, const h_model *m, uint32_t *corrupt_reads) {
  uint32_t i;
  for (i = 0; i < H_KEYS; i++)
    if (!key_matches(s, m, i, 1, corrupt_reads)) return 0;
  return 1;
}

void h_explain(cp_store *s, const h_model *m) {
  uint32_t i, c = 0;
  for (i = 0; i < H_KEYS; i++) {
    uint8_t got[CP_STORE_MAX_VALUE];
    uint16_t len = 0;
    cp_result r;
    if (key_matches(s, m, i, 0, &c)) continue;
    r = cp_store_get(s, h_key(i), got, sizeof got, &len);
    fprintf(stderr, "  key %u: store says result %d len %u; model says %s len %u\n", h_key(i), (int)r, len,
            m->present[i] ? "present" : "absent", m->len[i]);
    return;
  }
}

/* A put refused as full must be over the stated capacity (live bytes or keys): a refusal below it
 * would mean compaction failed to make room, which the design rules out. */
static int refusal_justified(const cp_store *s, uint16_t key, uint16_t len) {
  uint32_t live = cps_rec_size(len) + CPS_REC_HDR, i, keys = s->key_count;
  for (i = 0; i < s->key_count; i++) live += cps_rec_size(s->keys[i].len);
  for (i = 0; i < s->staged_count; i++) {
    const cp_store_slot *e = &s->staged[i];
    int committed = cps_find((cp_store_slot *)s->keys, s->key_count, e->key) != NULL;
    if (e->key != key) live += cps_rec_size(e->len == CP_STORE_TOMBSTONE ? 0 : e->len);
    if (e->key != key) keys += (uint32_t)(e->len != CP_STORE_TOMBSTONE && !committed) -
                               (uint32_t)(e->len == CP_STORE_TOMBSTONE && committed);
  }
  if (cps_find((cp_store_slot *)s->keys, s->key_count, key) == NULL) keys++;
  return live > cps_capacity(s) - CPS_REMOVE_HEADROOM || keys > CP_STORE_MAX_KEYS;
}

static int staged_get_ok(cp_store *s, const h_model *st, uint32_t k) {
  uint32_t c = 0;
  return key_matches(s, st, k, 0, &c);
}

h_tx_outcome h_run_tx(cp_store *s, const h_workload *w, h_model *m, uint32_t *rng, uint32_t tx_index,
                      h_model *after) {
  uint8_t val[CP_STORE_MAX_VALUE];
  h_model st = *m;
  uint32_t ops = 1u + h_rand(rng) % w->max_ops, i;
  int abort_it = h_rand(rng) % 8u == 0;
  cp_result r = cp_store_begin(s);
  if (r != CP_OK) {
    fprintf(stderr, "begin: %d\n", (int)r);
    return H_TX_MISMATCH;
  }
  for (i = 0; i < ops; i++) {
    uint32_t k = h_rand(rng) % w->keys, kind = h_rand(rng) % 10u;
    if (kind < 6) {
      uint16_t len = (uint16_t)(h_rand(rng) % w->big_one_in == 0 ? h_rand(rng) % (CP_STORE_MAX_VALUE + 1u)
                                                                  : h_rand(rng) % 96u);
      uint32_t vseed = tx_index * 64u + i;
      h_value(vseed, len, val);
      r = cp_store_put(s, h_key(k), val, len);
      if (r == CP_NO_SPACE && !refusal_justified(s, h_key(k), len)) {
        fprintf(stderr, "tx %u: put refused as full below capacity\n", tx_index);
        return H_TX_MISMATCH;
      }
      if (r == CP_OK) {
        st.present[k] = 1;
        st.len[k] = len;
        st.vseed[k] = vseed;
      }
    } else if (kind < 8) {
      r = cp_store_remove(s, h_key(k));
      if (r == CP_NOT_FOUND && !st.present[k]) r = CP_OK;
      if (r == CP_OK) st.present[k] = 0;
    } else {
      r = staged_get_ok(s, &st, k) ? CP_OK : CP_CORRUPT;
    }
    if (r == CP_POWER_LOST) return H_TX_CUT;
    if (r == CP_NO_SPACE && w->allow_full) {
      cp_store_abort(s);
      return H_TX_FULL;
    }
    if (r != CP_OK) {
      fprintf(stderr, "tx %u op %u (kind %u key %u): result %d\n", tx_index, i, kind, h_key(k), (int)r);
      return H_TX_MISMATCH;
    }
  }
  if (abort_it) {
    cp_store_abort(s);
    return H_TX_DONE;
  }
  r = cp_store_commit(s);
  if (r == CP_POWER_LOST) {
    *after = st;
    return H_TX_CUT_AT_COMMIT;
  }
  if (r != CP_OK) {
    fprintf(stderr, "tx %u commit: result %d\n", tx_index, (int)r);
    return H_TX_MISMATCH;
  }
  *m = st;
  return H_TX_DONE;
}
