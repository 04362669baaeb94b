/*
 * cardpost firmware: the NVM store's power-on recovery (docs/firmware.md, "NVM store"). Recovery
 * only reads: it rebuilds the index from committed records, drops entries without a COMMIT, and
 * tells a torn last write (tolerated) from damaged committed bytes (CP_CORRUPT).
 */
#include "cp_store_internal.h"

typedef struct {
  uint32_t max_tx;
  uint32_t pending_tx;
  uint8_t pending;   /* s->staged holds the entries of pending_tx, not yet committed */
  uint8_t retire_only; /* first pass over the tail block: only collect RETIRE targets */
  uint32_t retire_max;
} recovery;

typedef struct {
  uint32_t end;  /* offset where the valid records of the block stop */
  uint8_t dirty; /* something other than erased flash follows them */
} block_end;

static void forget_pending(cp_store *s, recovery *rv) {
  s->staged_count = 0;
  rv->pending = 0;
}

static cp_result apply(cp_store *s, recovery *rv, const cps_rec *rec, uint32_t addr) {
  uint8_t v[4];
  uint32_t i;
  cp_result r;
  if (rec->kind == CPS_RETIRE) {
    r = cps_read(s, addr + CPS_REC_HDR, v, 4);
    if (r != CP_OK) return r;
    if (rv->retire_only) {
      if (cps_get32(v) > rv->retire_max) rv->retire_max = cps_get32(v);
      return CP_OK;
    }
    /* The first pass took the newest RETIRE: a later one here is not explainable. */
    return cps_get32(v) > s->start_seq ? CP_CORRUPT : CP_OK;
  }
  if (rv->retire_only) return CP_OK;
  if (rec->tx > rv->max_tx) rv->max_tx = rec->tx;
  switch (rec->kind) {
  case CPS_PUT:
  case CPS_DEL:
    /* Transactions never interleave: another id means the pending one was abandoned. */
    if (!rv->pending || rec->tx != rv->pending_tx) {
      forget_pending(s, rv);
      rv->pending = 1;
      rv->pending_tx = rec->tx;
    }
    if (!cps_upsert(s->staged, &s->staged_count, CP_STORE_MAX_TX_ENTRIES, rec->key,
                    rec->kind == CPS_DEL ? CP_STORE_TOMBSTONE : rec->len, addr))
      return CP_CORRUPT;
    return CP_OK;
  case CPS_COPY:
    return cps_upsert(s->keys, &s->key_count, CP_STORE_MAX_KEYS, rec->key, rec->len, addr) ? CP_OK : CP_CORRUPT;
  default: /* CPS_COMMIT: entries the log no longer holds were already replaced by COPY records */
    if (!rv->pending || rec->tx != rv->pending_tx) return CP_OK;
    for (i = 0; i < s->staged_count; i++) {
      const cp_store_slot *e = &s->staged[i];
      if (e->len == CP_STORE_TOMBSTONE)
        cps_drop(s->keys, &s->key_count, e->key);
      else if (!cps_upsert(s->keys, &s->key_count, CP_STORE_MAX_KEYS, e->key, e->len, e->addr))
        return CP_CORRUPT;
    }
    forget_pending(s, rv);
    return CP_OK;
  }
}

/* Applies the valid records of block seq in order and says where and how they stop. */
static cp_result scan_block(cp_store *s, recovery *rv, uint32_t seq, block_end *be) {
  uint32_t base = cps_block_addr(s, seq), off = CPS_BLOCK_HDR;
  uint8_t h[CPS_REC_HDR];
  cps_rec rec;
  int ok, erased;
  cp_result r;
  be->dirty = 0;
  while (off + CPS_REC_HDR <= s->block_bytes) {
    r = cps_read(s, base + off, h, CPS_REC_HDR);
    if (r != CP_OK) return r;
    if (cps_hdr_erased(h, CPS_REC_HDR)) break;
    r = cps_record_at(s, base + off, s->block_bytes - off, &rec, &ok);
    if (r != CP_OK) return r;
    if (!ok) {
      be->end = off;
      be->dirty = 1;
      return CP_OK;
    }
    r = apply(s, rv, &rec, base + off);
    if (r != CP_OK) return r;
    off += cps_rec_size(rec.len);
  }
  be->end = off;
  r = cps_range_erased(s, base + off, s->block_bytes - off, &erased);
  be->dirty = (uint8_t)!erased;
  return r;
}

/* A torn write is the last write: a valid record after the bad spot means damage, not a tear.
 * The scan skips the bad record's payload when its header check holds (header is written first,
 * so a torn header has an erased payload): user bytes are never taken for records. */
static cp_result valid_record_after(cp_store *s, uint32_t seq, uint32_t end, int *found) {
  uint32_t base = cps_block_addr(s, seq), off;
  uint8_t h[CPS_REC_HDR];
  cps_rec rec;
  int ok;
  cp_result r;
  *found = 0;
  /* Checked before reading: the block may end here, and the store's last block ends the flash. */
  if (end + CPS_REC_HDR > s->block_bytes) return CP_OK;
  r = cps_read(s, base + end, h, CPS_REC_HDR);
  if (r != CP_OK) return r;
  off = cps_rec_decode(h, &rec, s->block_bytes - end) ? end + cps_rec_size(rec.len) : end + CPS_ALIGN;
  for (; off + CPS_REC_HDR <= s->block_bytes; off += CPS_ALIGN) {
    r = cps_record_at(s, base + off, s->block_bytes - off, &rec, &ok);
    if (r != CP_OK) return r;
    if (ok) {
      *found = 1;
      return CP_OK;
    }
  }
  return CP_OK;
}

static cp_result set_geometry(cp_store *s, const cp_flash *f) {
  uint32_t ps = f->page_size, k;
  if (f->read == NULL || f->program == NULL || f->erase == NULL) return CP_BAD_ARG;
  if (f->write_unit != 1 && f->write_unit != 4 && f->write_unit != 8) return CP_BAD_ARG;
  if (ps < 256 || (ps & (ps - 1u)) != 0) return CP_BAD_ARG;
  /* A block holds two largest records, so packing wastes at most half of it. */
  k = (2u * CPS_MAX_REC + CPS_BLOCK_HDR + ps - 1u) / ps;
  if ((uint64_t)k * ps > 8u * 0xFFFEu || f->page_count / k < CPS_MIN_BLOCKS ||
      (uint64_t)f->page_count * ps > 0xFFFFFFFFu)
    return CP_BAD_ARG;
  s->flash = *f;
  s->pages_per_block = (uint16_t)k;
  s->block_bytes = k * ps;
  s->block_count = (uint16_t)(f->page_count / k > 0xFFFFu ? 0xFFFFu : f->page_count / k);
  return CP_OK;
}

/* The newest block with a valid header for this geometry (its seq says where it sits). */
static cp_result find_tail(cp_store *s, int *found, uint32_t *tail, uint32_t *start) {
  uint8_t h[CPS_BLOCK_HDR];
  uint32_t p, seq, st;
  uint16_t seal;
  *found = 0;
  for (p = 0; p < s->block_count; p++) {
    cp_result r = cps_read(s, p * s->block_bytes, h, CPS_BLOCK_HDR);
    if (r != CP_OK) return r;
    if (!cps_block_hdr_decode(s, h, &seq, &st, &seal) || seq % s->block_count != p) continue;
    if (!*found || seq > *tail) {
      *found = 1;
      *tail = seq;
      *start = st;
    }
  }
  return CP_OK;
}

static cp_result parse_log(cp_store *s, recovery *rv, uint32_t tail) {
  uint8_t h[CPS_BLOCK_HDR];
  uint32_t seq, hseq, hstart;
  uint16_t seal;
  block_end be = {0, 0};
  int found;
  cp_result r;
  for (seq = s->start_seq; seq <= tail; seq++) {
    r = cps_read(s, cps_block_addr(s, seq), h, CPS_BLOCK_HDR);
    if (r != CP_OK) return r;
    if (!cps_block_hdr_decode(s, h, &hseq, &hstart, &seal) || hseq != seq || hstart > seq) return CP_CORRUPT;
    /* The previous block's end must be clean, or torn and sealed by the mount that found it. */
    if (seq != s->start_seq) {
      if (be.dirty ? seal != be.end / CPS_ALIGN : seal != CPS_NO_SEAL) return CP_CORRUPT;
      if (be.dirty) forget_pending(s, rv);
    }
    r = scan_block(s, rv, seq, &be);
    if (r != CP_OK) return r;
  }
  s->tail_seq = tail;
  s->has_tail = 1;
  s->tail_off = be.end;
  s->seal = CPS_NO_SEAL;
  if (be.dirty) {
    r = valid_record_after(s, tail, be.end, &found);
    if (r != CP_OK) return r;
    if (found) return CP_CORRUPT;
    /* Never write over a torn spot again: the block is full, the next header records the seal. */
    s->tail_off = s->block_bytes;
    s->seal = (uint16_t)(be.end / CPS_ALIGN);
  }
  return CP_OK;
}

/* A damaged header on the newest block would make the log look one block shorter. The block after
 * the tail may legitimately hold an old block (erased, torn while erasing, or with a torn header),
 * whose records all predate the log; a valid record newer than the log means a lost block. */
static cp_result newer_records_beyond(cp_store *s, uint32_t phys, uint32_t max_tx, int any, int *found) {
  uint8_t h[CPS_BLOCK_HDR];
  uint32_t base = phys * s->block_bytes, off, seq, st;
  uint16_t seal;
  cps_rec rec;
  int ok;
  cp_result r = cps_read(s, base, h, CPS_BLOCK_HDR);
  *found = 0;
  if (r != CP_OK || cps_block_hdr_decode(s, h, &seq, &st, &seal)) return r;
  for (off = CPS_BLOCK_HDR; off + CPS_REC_HDR <= s->block_bytes; off += CPS_ALIGN) {
    r = cps_record_at(s, base + off, s->block_bytes - off, &rec, &ok);
    if (r != CP_OK) return r;
    if (ok && (any || rec.tx > max_tx)) {
      *found = 1;
      return CP_OK;
    }
  }
  return CP_OK;
}

cp_result cp_store_mount(cp_store *s, const cp_flash *flash) {
  recovery rv = {0, 0, 0, 0, 0};
  block_end be;
  uint32_t tail = 0, start = 0, p;
  int found, lost;
  cp_result r;
  if (s == NULL || flash == NULL) return CP_BAD_ARG;
  s->mounted = 0;
  r = set_geometry(s, flash);
  if (r != CP_OK) return r;
  s->start_seq = s->tail_seq = s->tail_off = 0;
  s->next_tx = 1;
  s->tx_id = 0;
  s->seal = CPS_NO_SEAL;
  s->has_tail = s->tx_open = s->dead = 0;
  s->key_count = s->staged_count = 0;
  r = find_tail(s, &found, &tail, &start);
  if (r != CP_OK) return r;
  if (found) {
    if (start > tail || tail - start >= s->block_count) return CP_CORRUPT;
    /* RETIREs written after the tail block was opened are only in it. */
    s->start_seq = tail;
    rv.retire_only = 1;
    rv.retire_max = start;
    r = scan_block(s, &rv, tail, &be);
    if (r != CP_OK) return r;
    if (rv.retire_max > tail) return CP_CORRUPT;
    s->start_seq = rv.retire_max;
    rv.retire_only = 0;
    r = parse_log(s, &rv, tail);
    if (r != CP_OK) return r;
    s->next_tx = rv.max_tx + 1u;
    r = newer_records_beyond(s, (tail + 1u) % s->block_count, rv.max_tx, 0, &lost);
    if (r != CP_OK) return r;
    if (lost) return CP_CORRUPT;
  } else {
    for (p = 0; p < s->block_count; p++) {
      r = newer_records_beyond(s, p, 0, 1, &lost);
      if (r != CP_OK) return r;
      if (lost) return CP_CORRUPT;
    }
  }
  s->staged_count = 0; /* entries without their COMMIT are dropped */
  s->mounted = 1;
  return CP_OK;
}
