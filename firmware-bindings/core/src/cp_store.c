/*
 * cardpost firmware: the NVM store's operations (cp_store.h): reads through the RAM index,
 * transactions staged on flash and made durable by one COMMIT record (docs/firmware.md).
 */
#include "cp_store_internal.h"

static cp_result usable(const cp_store *s) {
  if (s == NULL || !s->mounted) return CP_BAD_ARG;
  return s->dead ? CP_POWER_LOST : CP_OK;
}

static const cp_store_slot *lookup(cp_store *s, uint16_t key) {
  const cp_store_slot *e = s->tx_open ? cps_find(s->staged, s->staged_count, key) : NULL;
  return e != NULL ? e : cps_find(s->keys, s->key_count, key);
}

cp_result cp_store_get(cp_store *s, uint16_t key, uint8_t *buf, uint16_t cap, uint16_t *len) {
  const cp_store_slot *e;
  uint8_t hdr[CPS_REC_HDR];
  cps_rec rec;
  uint32_t crc;
  cp_result r = usable(s);
  if (r != CP_OK) return r;
  if (len == NULL || (buf == NULL && cap > 0)) return CP_BAD_ARG;
  e = lookup(s, key);
  if (e == NULL || e->len == CP_STORE_TOMBSTONE) return CP_NOT_FOUND;
  *len = e->len;
  if (e->len > cap) return CP_TOO_LARGE;
  r = cps_read(s, e->addr, hdr, CPS_REC_HDR);
  if (r == CP_OK && e->len > 0) r = cps_read(s, e->addr + CPS_REC_HDR, buf, e->len);
  if (r != CP_OK) return r;
  /* The index came from checked records; checking again catches bits that flipped since mount. */
  if (!cps_rec_decode(hdr, &rec, s->block_bytes) || rec.key != key || rec.len != e->len ||
      (rec.kind != CPS_PUT && rec.kind != CPS_COPY))
    return CP_CORRUPT;
  crc = cps_crc32(cps_rec_crc_start(hdr), buf, rec.len);
  return CPS_CRC_DONE(crc) == rec.crc ? CP_OK : CP_CORRUPT;
}

cp_result cp_store_begin(cp_store *s) {
  cp_result r = usable(s);
  if (r != CP_OK) return r;
  if (s->tx_open) return CP_BAD_ARG;
  s->tx_id = s->next_tx++;
  s->staged_count = 0;
  s->tx_open = 1;
  return CP_OK;
}

/* Bytes the log must keep if this transaction commits or aborts: every committed record, every
 * staged record (with key's new record of new_size replacing its staged one), and the COMMIT. */
static uint32_t live_bytes(const cp_store *s, uint16_t key, uint32_t new_size) {
  uint32_t total = new_size + CPS_REC_HDR, i;
  for (i = 0; i < s->key_count; i++) total += cps_rec_size(s->keys[i].len);
  for (i = 0; i < s->staged_count; i++)
    if (s->staged[i].key != key)
      total += cps_rec_size(s->staged[i].len == CP_STORE_TOMBSTONE ? 0 : s->staged[i].len);
  return total;
}

/* Live keys after commit if key ends up present (or not). */
static uint32_t keys_after(const cp_store *s, uint16_t key, int present) {
  uint32_t n = s->key_count, i;
  for (i = 0; i < s->staged_count; i++) {
    const cp_store_slot *e = &s->staged[i];
    int committed = cps_find((cp_store_slot *)s->keys, s->key_count, e->key) != NULL;
    int staged_present = e->key == key ? present : e->len != CP_STORE_TOMBSTONE;
    n += (uint32_t)(staged_present && !committed) - (uint32_t)(!staged_present && committed);
  }
  if (cps_find((cp_store_slot *)s->staged, s->staged_count, key) == NULL) {
    int committed = cps_find((cp_store_slot *)s->keys, s->key_count, key) != NULL;
    n += (uint32_t)(present && !committed) - (uint32_t)(!present && committed);
  }
  return n;
}

static cp_result stage(cp_store *s, uint16_t key, const uint8_t *val, uint16_t len, int remove) {
  cps_rec rec;
  uint32_t addr, size = cps_rec_size(remove ? 0 : len);
  cp_result r = usable(s);
  if (r != CP_OK) return r;
  if (!s->tx_open) return CP_BAD_ARG;
  if (cps_find(s->staged, s->staged_count, key) == NULL && s->staged_count >= CP_STORE_MAX_TX_ENTRIES)
    return CP_TOO_LARGE;
  if (!remove && keys_after(s, key, 1) > CP_STORE_MAX_KEYS) return CP_NO_SPACE;
  if (live_bytes(s, key, size) > cps_capacity(s) - (remove ? 0u : CPS_REMOVE_HEADROOM)) return CP_NO_SPACE;
  r = cps_make_room(s, size);
  if (r != CP_OK) return r;
  rec.kind = remove ? CPS_DEL : CPS_PUT;
  rec.key = key;
  rec.len = remove ? 0 : len;
  rec.tx = s->tx_id;
  rec.crc = 0;
  r = cps_write_record(s, &rec, val, &addr);
  if (r != CP_OK) return r;
  cps_upsert(s->staged, &s->staged_count, CP_STORE_MAX_TX_ENTRIES, key, remove ? CP_STORE_TOMBSTONE : len, addr);
  return CP_OK;
}

cp_result cp_store_put(cp_store *s, uint16_t key, const uint8_t *val, uint16_t len) {
  if (len > CP_STORE_MAX_VALUE) return CP_TOO_LARGE;
  if (val == NULL && len > 0) return CP_BAD_ARG;
  return stage(s, key, val, len, 0);
}

cp_result cp_store_remove(cp_store *s, uint16_t key) {
  const cp_store_slot *e;
  cp_result r = usable(s);
  if (r != CP_OK) return r;
  if (!s->tx_open) return CP_BAD_ARG;
  e = lookup(s, key);
  if (e == NULL || e->len == CP_STORE_TOMBSTONE) return CP_NOT_FOUND;
  return stage(s, key, NULL, 0, 1);
}

cp_result cp_store_commit(cp_store *s) {
  cps_rec rec;
  uint32_t addr, i;
  cp_result r = usable(s);
  if (r != CP_OK) return r;
  if (!s->tx_open) return CP_BAD_ARG;
  if (s->staged_count > 0) {
    r = cps_make_room(s, CPS_REC_HDR);
    if (r != CP_OK) return r;
    rec.kind = CPS_COMMIT;
    rec.key = s->staged_count;
    rec.len = 0;
    rec.tx = s->tx_id;
    rec.crc = 0;
    r = cps_write_record(s, &rec, NULL, &addr);
    if (r != CP_OK) return r;
  }
  for (i = 0; i < s->staged_count; i++) {
    const cp_store_slot *e = &s->staged[i];
    if (e->len == CP_STORE_TOMBSTONE)
      cps_drop(s->keys, &s->key_count, e->key);
    else
      cps_upsert(s->keys, &s->key_count, CP_STORE_MAX_KEYS, e->key, e->len, e->addr);
  }
  s->staged_count = 0;
  s->tx_open = 0;
  return CP_OK;
}

void cp_store_abort(cp_store *s) {
  if (s == NULL) return;
  s->staged_count = 0;
  s->tx_open = 0;
}
