/*
 * cardpost firmware: the NVM store's on-flash encoding (docs/firmware.md, "NVM store"): CRC-32,
 * record and block headers, checked flash reads, and the RAM index helpers.
 */
#include "cp_store_internal.h"

/* CRC-32 (IEEE, reflected, poly 0xEDB88320), four bits at a time: a 64-byte table fits any flash. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t cps_crc32(uint32_t crc, const uint8_t *p, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; i++) {
    crc ^= p[i];
    crc = (crc >> 4) ^ crc_nibble[crc & 15u];
    crc = (crc >> 4) ^ crc_nibble[crc & 15u];
  }
  return crc;
}

uint32_t cps_rec_size(uint16_t len) { return CPS_REC_HDR + (((uint32_t)len + CPS_ALIGN - 1u) & ~(CPS_ALIGN - 1u)); }

void cps_put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
void cps_put32(uint8_t *p, uint32_t v) {
  cps_put16(p, (uint16_t)v);
  cps_put16(p + 2, (uint16_t)(v >> 16));
}
uint16_t cps_get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
uint32_t cps_get32(const uint8_t *p) { return (uint32_t)cps_get16(p) | ((uint32_t)cps_get16(p + 2) << 16); }

/* The header check covers kind, key, len and tx, so a torn header is known before its length is
 * trusted: recovery then never reads a payload as if it were records. */
static uint16_t header_check(const uint8_t h[CPS_REC_HDR]) {
  uint32_t c = cps_crc32(CPS_CRC_INIT, h, 6);
  c = cps_crc32(c, h + 8, 4);
  return (uint16_t)CPS_CRC_DONE(c);
}

void cps_rec_encode(uint8_t out[CPS_REC_HDR], const cps_rec *r) {
  out[0] = r->kind;
  out[1] = 0;
  cps_put16(out + 2, r->key);
  cps_put16(out + 4, r->len);
  cps_put32(out + 8, r->tx);
  cps_put16(out + 6, header_check(out));
  cps_put32(out + 12, r->crc);
}

uint32_t cps_rec_crc_start(const uint8_t hdr[CPS_REC_HDR]) { return cps_crc32(CPS_CRC_INIT, hdr, 12); }

int cps_hdr_erased(const uint8_t *p, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; i++)
    if (p[i] != 0xFFu) return 0;
  return 1;
}

int cps_rec_decode(const uint8_t in[CPS_REC_HDR], cps_rec *r, uint32_t room) {
  r->kind = in[0];
  r->key = cps_get16(in + 2);
  r->len = cps_get16(in + 4);
  r->tx = cps_get32(in + 8);
  r->crc = cps_get32(in + 12);
  if (in[1] != 0 || cps_get16(in + 6) != header_check(in)) return 0;
  if (r->kind < CPS_PUT || r->kind > CPS_RETIRE) return 0;
  if (r->len > CP_STORE_MAX_VALUE) return 0;
  if ((r->kind == CPS_DEL || r->kind == CPS_COMMIT) && r->len != 0) return 0;
  if (r->kind == CPS_RETIRE && r->len != 4) return 0;
  return cps_rec_size(r->len) <= room;
}

void cps_block_hdr_encode(const cp_store *s, uint8_t out[CPS_BLOCK_HDR], uint32_t seq, uint32_t start,
                          uint16_t seal) {
  cps_put32(out, CPS_MAGIC);
  cps_put32(out + 4, seq);
  cps_put32(out + 8, start);
  cps_put16(out + 12, seal);
  cps_put16(out + 14, s->pages_per_block);
  cps_put32(out + 16, s->flash.page_size);
  cps_put32(out + 20, CPS_CRC_DONE(cps_crc32(CPS_CRC_INIT, out, 20)));
}

int cps_block_hdr_decode(const cp_store *s, const uint8_t in[CPS_BLOCK_HDR], uint32_t *seq, uint32_t *start,
                         uint16_t *seal) {
  if (cps_get32(in) != CPS_MAGIC) return 0;
  if (cps_get32(in + 20) != CPS_CRC_DONE(cps_crc32(CPS_CRC_INIT, in, 20))) return 0;
  if (cps_get16(in + 14) != s->pages_per_block || cps_get32(in + 16) != s->flash.page_size) return 0;
  *seq = cps_get32(in + 4);
  *start = cps_get32(in + 8);
  *seal = cps_get16(in + 12);
  return 1;
}

uint32_t cps_block_addr(const cp_store *s, uint32_t seq) { return (seq % s->block_count) * s->block_bytes; }

uint32_t cps_free_blocks(const cp_store *s) {
  return s->has_tail ? s->block_count - (s->tail_seq - s->start_seq + 1u) : s->block_count;
}

/* After compacting every block once, live records are packed with less than one largest record
 * of waste per block, plus one RETIRE record per compaction; this bound leaves CPS_RESERVE_BLOCKS
 * free blocks and the tail's room, so compaction can always make progress. */
uint32_t cps_capacity(const cp_store *s) {
  uint32_t payload = s->block_bytes - CPS_BLOCK_HDR;
  return (s->block_count - 4u) * (payload - CPS_MAX_REC) - CPS_RETIRE_SIZE * s->block_count;
}

cp_result cps_read(cp_store *s, uint32_t addr, uint8_t *buf, uint32_t len) {
  return s->flash.read(s->flash.ctx, addr, buf, len);
}

cp_result cps_crc_flash(cp_store *s, uint32_t addr, uint32_t len, uint32_t *crc) {
  uint8_t chunk[CPS_CHUNK];
  while (len > 0) {
    uint32_t n = len < CPS_CHUNK ? len : CPS_CHUNK;
    cp_result r = cps_read(s, addr, chunk, n);
    if (r != CP_OK) return r;
    *crc = cps_crc32(*crc, chunk, n);
    addr += n;
    len -= n;
  }
  return CP_OK;
}

cp_result cps_range_erased(cp_store *s, uint32_t addr, uint32_t len, int *erased) {
  uint8_t chunk[CPS_CHUNK];
  *erased = 1;
  while (len > 0) {
    uint32_t n = len < CPS_CHUNK ? len : CPS_CHUNK;
    cp_result r = cps_read(s, addr, chunk, n);
    if (r != CP_OK) return r;
    if (!cps_hdr_erased(chunk, n)) {
      *erased = 0;
      return CP_OK;
    }
    addr += n;
    len -= n;
  }
  return CP_OK;
}

cp_result cps_record_at(cp_store *s, uint32_t addr, uint32_t room, cps_rec *rec, int *ok) {
  uint8_t h[CPS_REC_HDR];
  uint32_t crc;
  cp_result r = cps_read(s, addr, h, CPS_REC_HDR);
  *ok = 0;
  if (r != CP_OK) return r;
  if (room < CPS_REC_HDR || !cps_rec_decode(h, rec, room)) return CP_OK;
  crc = cps_rec_crc_start(h);
  r = cps_crc_flash(s, addr + CPS_REC_HDR, rec->len, &crc);
  if (r != CP_OK) return r;
  *ok = CPS_CRC_DONE(crc) == rec->crc;
  return CP_OK;
}

cp_store_slot *cps_find(cp_store_slot *slots, uint16_t count, uint16_t key) {
  uint16_t i;
  for (i = 0; i < count; i++)
    if (slots[i].key == key) return &slots[i];
  return NULL;
}

int cps_upsert(cp_store_slot *slots, uint16_t *count, uint16_t cap, uint16_t key, uint16_t len, uint32_t addr) {
  cp_store_slot *e = cps_find(slots, *count, key);
  if (e == NULL) {
    if (*count >= cap) return 0;
    e = &slots[(*count)++];
    e->key = key;
  }
  e->len = len;
  e->addr = addr;
  return 1;
}

void cps_drop(cp_store_slot *slots, uint16_t *count, uint16_t key) {
  cp_store_slot *e = cps_find(slots, *count, key);
  if (e != NULL) *e = slots[--(*count)];
}
