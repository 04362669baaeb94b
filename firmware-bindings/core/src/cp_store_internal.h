/*
 * cardpost firmware: NVM store internals shared by cp_store*.c (format, recovery, writing,
 * compaction). The normative format is docs/firmware.md, "NVM store"; the numbers here are it.
 */
#ifndef CP_STORE_INTERNAL_H
#define CP_STORE_INTERNAL_H

#include "cp_store.h"

#define CPS_MAGIC 0x31535043u   /* "CPS1" little-endian */
#define CPS_BLOCK_HDR 24u       /* block header bytes */
#define CPS_REC_HDR 16u         /* record header bytes */
#define CPS_ALIGN 8u            /* records start on 8-byte boundaries: one program per write unit */
#define CPS_NO_SEAL 0xFFFFu
#define CPS_RESERVE_BLOCKS 2u   /* free blocks user writes leave for compaction */
#define CPS_MIN_BLOCKS 5u
#define CPS_RETIRE_SIZE 24u     /* header + 4-byte payload, aligned */
#define CPS_CHUNK 64u           /* stack buffer for streaming reads */
/* Capacity only removes may use: a transaction of CP_STORE_MAX_TX_ENTRIES DELs and its COMMIT, so
 * that a store refused as full can always be emptied again. */
#define CPS_REMOVE_HEADROOM ((CP_STORE_MAX_TX_ENTRIES + 1u) * CPS_REC_HDR)

enum { CPS_PUT = 0x51, CPS_DEL = 0x52, CPS_COPY = 0x53, CPS_COMMIT = 0x54, CPS_RETIRE = 0x55 };

typedef struct {
  uint8_t kind;
  uint16_t key;
  uint16_t len;
  uint32_t tx;
  uint32_t crc;
} cps_rec;

/* Largest record: header + CP_STORE_MAX_VALUE. */
#define CPS_MAX_REC (CPS_REC_HDR + CP_STORE_MAX_VALUE)

uint32_t cps_crc32(uint32_t crc, const uint8_t *p, uint32_t n);
#define CPS_CRC_INIT 0xFFFFFFFFu
#define CPS_CRC_DONE(c) ((c) ^ 0xFFFFFFFFu)

uint32_t cps_rec_size(uint16_t len);
void cps_put16(uint8_t *p, uint16_t v);
void cps_put32(uint8_t *p, uint32_t v);
uint16_t cps_get16(const uint8_t *p);
uint32_t cps_get32(const uint8_t *p);

/* Encodes a record header; crc is over header bytes 0..11 then the payload (cps_rec_crc_start). */
void cps_rec_encode(uint8_t out[CPS_REC_HDR], const cps_rec *r);
/* CRC state after the header's first 12 bytes (payload follows). */
uint32_t cps_rec_crc_start(const uint8_t hdr[CPS_REC_HDR]);
int cps_hdr_erased(const uint8_t *p, uint32_t n);
/* 1 if the header check holds, the kind is known and the record fits in room bytes. */
int cps_rec_decode(const uint8_t in[CPS_REC_HDR], cps_rec *r, uint32_t room);

void cps_block_hdr_encode(const cp_store *s, uint8_t out[CPS_BLOCK_HDR], uint32_t seq, uint32_t start,
                          uint16_t seal);
/* 1 if valid for this geometry, with seq/start/seal filled. */
int cps_block_hdr_decode(const cp_store *s, const uint8_t in[CPS_BLOCK_HDR], uint32_t *seq, uint32_t *start,
                         uint16_t *seal);

uint32_t cps_block_addr(const cp_store *s, uint32_t seq);
uint32_t cps_free_blocks(const cp_store *s);
/* Live bytes the store may hold (docs/firmware.md: capacity). */
uint32_t cps_capacity(const cp_store *s);

cp_result cps_read(cp_store *s, uint32_t addr, uint8_t *buf, uint32_t len);
/* Streams len payload bytes at addr through the CRC. */
cp_result cps_crc_flash(cp_store *s, uint32_t addr, uint32_t len, uint32_t *crc);
/* *erased = 1 if [addr, addr+len) is all 0xFF. */
cp_result cps_range_erased(cp_store *s, uint32_t addr, uint32_t len, int *erased);
/* Reads and fully checks the record at addr (header check and CRC): *ok = 0 if it does not hold. */
cp_result cps_record_at(cp_store *s, uint32_t addr, uint32_t room, cps_rec *r, int *ok);

cp_store_slot *cps_find(cp_store_slot *slots, uint16_t count, uint16_t key);
/* Inserts or replaces; 0 if full. */
int cps_upsert(cp_store_slot *slots, uint16_t *count, uint16_t cap, uint16_t key, uint16_t len, uint32_t addr);
void cps_drop(cp_store_slot *slots, uint16_t *count, uint16_t key);

/* Writing (cp_store_write.c). */
cp_result cps_make_room(cp_store *s, uint32_t size);
cp_result cps_write_record(cp_store *s, const cps_rec *r, const uint8_t *payload, uint32_t *addr);
cp_result cps_compact(cp_store *s);

#endif
