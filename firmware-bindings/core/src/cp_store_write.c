/*
 * cardpost firmware: appending to the NVM store's log: opening blocks, writing records, and
 * compaction (docs/firmware.md, "NVM store"). Every write unit is programmed at most once after
 * its erase; any flash failure makes the store refuse everything until the next mount.
 */
#include "cp_store_internal.h"

static cp_result program(cp_store *s, uint32_t addr, const uint8_t *buf, uint32_t len) {
  cp_result r;
  if (len == 0) return CP_OK;
  r = s->flash.program(s->flash.ctx, addr, buf, len);
  if (r != CP_OK) s->dead = 1;
  return r;
}

/* Erase the next block of the ring (always a retired or never-used one) and write its header.
 * Header page first: a torn block erase destroys the header before anything else it may leave. */
static cp_result open_block(cp_store *s) {
  uint32_t seq = s->has_tail ? s->tail_seq + 1u : s->start_seq;
  uint32_t first = (seq % s->block_count) * s->pages_per_block, i;
  uint8_t hdr[CPS_BLOCK_HDR];
  cp_result r;
  if (cps_free_blocks(s) == 0) return CP_NO_SPACE;
  for (i = 0; i < s->pages_per_block; i++) {
    r = s->flash.erase(s->flash.ctx, first + i);
    if (r != CP_OK) {
      s->dead = 1;
      return r;
    }
  }
  cps_block_hdr_encode(s, hdr, seq, s->start_seq, s->seal);
  r = program(s, cps_block_addr(s, seq), hdr, CPS_BLOCK_HDR);
  if (r != CP_OK) return r;
  s->tail_seq = seq;
  s->has_tail = 1;
  s->tail_off = CPS_BLOCK_HDR;
  s->seal = CPS_NO_SEAL;
  return CP_OK;
}

/* Where the next record of size bytes goes; opens a block when the tail has no room. */
static cp_result place(cp_store *s, uint32_t size, uint32_t *addr) {
  if (!s->has_tail || s->tail_off + size > s->block_bytes) {
    cp_result r = open_block(s);
    if (r != CP_OK) return r;
  }
  *addr = cps_block_addr(s, s->tail_seq) + s->tail_off;
  s->tail_off += size;
  return CP_OK;
}

/* Header first, then the payload: a cut inside the payload leaves a header whose check holds but
 * whose CRC fails, so recovery knows the record's extent and never parses user bytes as records. */
cp_result cps_write_record(cp_store *s, const cps_rec *rec, const uint8_t *payload, uint32_t *addr) {
  uint8_t hdr[CPS_REC_HDR], last[CPS_ALIGN];
  uint32_t whole = rec->len & ~(CPS_ALIGN - 1u), i;
  cps_rec r = *rec;
  cp_result res = place(s, cps_rec_size(r.len), addr);
  if (res != CP_OK) return res;
  cps_rec_encode(hdr, &r);
  r.crc = CPS_CRC_DONE(cps_crc32(cps_rec_crc_start(hdr), payload, r.len));
  cps_rec_encode(hdr, &r);
  res = program(s, *addr, hdr, CPS_REC_HDR);
  if (res == CP_OK) res = program(s, *addr + CPS_REC_HDR, payload, whole);
  if (res != CP_OK || whole == r.len) return res;
  for (i = 0; i < CPS_ALIGN; i++) last[i] = whole + i < r.len ? payload[whole + i] : 0xFFu;
  return program(s, *addr + CPS_REC_HDR + whole, last, CPS_ALIGN);
}

/* Copies the record at src as kind/tx, checking the source CRC first (a flipped bit is reported,
 * never spread). */
static cp_result copy_record(cp_store *s, uint32_t src, uint8_t kind, uint32_t tx, uint32_t *dst) {
  uint8_t hdr[CPS_REC_HDR], chunk[CPS_CHUNK];
  uint32_t src_crc, dst_crc, done;
  cps_rec in, out;
  cp_result r = cps_read(s, src, hdr, CPS_REC_HDR);
  if (r != CP_OK) return r;
  if (!cps_rec_decode(hdr, &in, s->block_bytes)) return CP_CORRUPT;
  src_crc = cps_rec_crc_start(hdr);
  out.kind = kind;
  out.key = in.key;
  out.len = in.len;
  out.tx = tx;
  out.crc = 0;
  cps_rec_encode(hdr, &out);
  dst_crc = cps_rec_crc_start(hdr);
  for (done = 0; done < in.len; done += CPS_CHUNK) {
    uint32_t n = in.len - done < CPS_CHUNK ? in.len - done : CPS_CHUNK;
    r = cps_read(s, src + CPS_REC_HDR + done, chunk, n);
    if (r != CP_OK) return r;
    src_crc = cps_crc32(src_crc, chunk, n);
    dst_crc = cps_crc32(dst_crc, chunk, n);
  }
  if (CPS_CRC_DONE(src_crc) != in.crc) return CP_CORRUPT;
  out.crc = CPS_CRC_DONE(dst_crc);
  cps_rec_encode(hdr, &out);
  r = place(s, cps_rec_size(in.len), dst);
  if (r == CP_OK) r = program(s, *dst, hdr, CPS_REC_HDR);
  /* CPS_CHUNK is a multiple of 8, so each chunk covers whole write units; the last is padded. */
  for (done = 0; r == CP_OK && done < in.len; done += CPS_CHUNK) {
    uint32_t n = in.len - done < CPS_CHUNK ? in.len - done : CPS_CHUNK, i;
    uint32_t padded = (n + CPS_ALIGN - 1u) & ~(CPS_ALIGN - 1u);
    r = cps_read(s, src + CPS_REC_HDR + done, chunk, n);
    for (i = n; i < padded; i++) chunk[i] = 0xFFu;
    if (r == CP_OK) r = program(s, *dst + CPS_REC_HDR + done, chunk, padded);
  }
  return r;
}

static uint32_t slot_size(const cp_store_slot *e) {
  return cps_rec_size(e->len == CP_STORE_TOMBSTONE ? 0 : e->len);
}

static int in_block(const cp_store *s, const cp_store_slot *e, uint32_t phys) {
  return e->addr / s->block_bytes == phys;
}

/* Places one record in the dry run; 0 if no block is left for it. */
static int dry_place(const cp_store *s, uint32_t *off, uint32_t *free, uint32_t size) {
  if (*off + size > s->block_bytes) {
    if (*free == 0) return 0;
    (*free)--;
    *off = CPS_BLOCK_HDR;
  }
  *off += size;
  return 1;
}

/* Would compacting block head_phys fit in the free space, without that block? Mirrors cps_compact. */
static int dry_run_fits(const cp_store *s, uint32_t head_phys) {
  uint32_t off = s->has_tail ? s->tail_off : s->block_bytes, free = cps_free_blocks(s), i;
  for (i = 0; i < s->key_count; i++) {
    const cp_store_slot *st = cps_find((cp_store_slot *)s->staged, s->staged_count, s->keys[i].key);
    if (!in_block(s, &s->keys[i], head_phys)) continue;
    if (!dry_place(s, &off, &free, slot_size(&s->keys[i]))) return 0;
    if (st != NULL && !dry_place(s, &off, &free, slot_size(st))) return 0;
  }
  for (i = 0; i < s->staged_count; i++) {
    int moved = cps_find((cp_store_slot *)s->keys, s->key_count, s->staged[i].key) != NULL &&
                in_block(s, cps_find((cp_store_slot *)s->keys, s->key_count, s->staged[i].key), head_phys);
    if (in_block(s, &s->staged[i], head_phys) && !moved && !dry_place(s, &off, &free, slot_size(&s->staged[i])))
      return 0;
  }
  return dry_place(s, &off, &free, CPS_RETIRE_SIZE);
}

static cp_result copy_staged(cp_store *s, cp_store_slot *e) {
  return copy_record(s, e->addr, e->len == CP_STORE_TOMBSTONE ? CPS_DEL : CPS_PUT, s->tx_id, &e->addr);
}

/* Retire the oldest block: copy what is still needed from it (committed values as self-committing
 * COPY records, the open transaction's entries under its own id), then write RETIRE. A cut before
 * RETIRE leaves valid copies that simply supersede their originals: the next attempt copies only
 * what is still in the old block, so an interrupted compaction needs no special recovery.
 * Invariant: a COPY of a key never follows an entry of the open transaction for that key (the
 * entry is written again after the COPY), so once that transaction commits, its entry (a remove
 * above all) stays after every older value of the key, whichever block is retired first. */
cp_result cps_compact(cp_store *s) {
  uint32_t head = s->start_seq, head_phys = head % s->block_count, c, addr, i;
  uint8_t payload[4];
  cps_rec rec;
  cp_result r;
  if (!s->has_tail || head == s->tail_seq || !dry_run_fits(s, head_phys)) return CP_NO_SPACE;
  c = s->next_tx++;
  for (i = 0; i < s->key_count; i++) {
    cp_store_slot *st = cps_find(s->staged, s->staged_count, s->keys[i].key);
    if (!in_block(s, &s->keys[i], head_phys)) continue;
    r = copy_record(s, s->keys[i].addr, CPS_COPY, c, &addr);
    if (r != CP_OK) return r;
    s->keys[i].addr = addr;
    if (st != NULL) {
      r = copy_staged(s, st);
      if (r != CP_OK) return r;
    }
  }
  for (i = 0; i < s->staged_count; i++) {
    if (!in_block(s, &s->staged[i], head_phys)) continue;
    r = copy_staged(s, &s->staged[i]);
    if (r != CP_OK) return r;
  }
  rec.kind = CPS_RETIRE;
  rec.key = 0;
  rec.len = 4;
  rec.tx = c;
  rec.crc = 0;
  cps_put32(payload, head + 1u);
  r = cps_write_record(s, &rec, payload, &addr);
  if (r != CP_OK) return r;
  s->start_seq = head + 1u;
  return CP_OK;
}

/* Room for a user record of size bytes that still leaves CPS_RESERVE_BLOCKS free blocks;
 * compacts the oldest blocks until there is, at most once round the ring. */
cp_result cps_make_room(cp_store *s, uint32_t size) {
  uint32_t round;
  for (round = 0; round <= s->block_count; round++) {
    int in_tail = s->has_tail && s->tail_off + size <= s->block_bytes;
    uint32_t free = cps_free_blocks(s);
    uint32_t left = in_tail ? free : (free > 0 ? free - 1u : 0u);
    cp_result r;
    if ((in_tail || free > 0) && left >= CPS_RESERVE_BLOCKS) return CP_OK;
    r = cps_compact(s);
    if (r != CP_OK) return r;
  }
  return CP_NO_SPACE;
}
