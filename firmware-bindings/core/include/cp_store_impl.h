/*
 * cardpost firmware: the NVM store's state, defined here only so that callers can allocate it
 * (cp_store.h). Fields are private to cp_store*.c. On-flash format: docs/firmware.md, "NVM store".
 *
 * RAM: an index of live keys (8 bytes each) and the open transaction's staged entries; the value
 * bytes stay on flash. sizeof(cp_store) is 964 bytes on Cortex-M4 (984 on x86-64).
 */
#ifndef CP_STORE_IMPL_H
#define CP_STORE_IMPL_H

#include <stdint.h>

/* Where the newest record of one key lives: len is CP_STORE_TOMBSTONE for a staged remove. */
typedef struct {
  uint16_t key;
  uint16_t len;
  uint32_t addr; /* flash address of the record header */
} cp_store_slot;

#define CP_STORE_TOMBSTONE 0xFFFFu

struct cp_store {
  cp_flash flash;
  uint32_t block_bytes;      /* one block = pages_per_block erase pages, erased together */
  uint16_t pages_per_block;
  uint16_t block_count;      /* blocks in the ring; block b starts at b * block_bytes */
  uint32_t start_seq;        /* oldest block still in the log */
  uint32_t tail_seq;         /* newest block (valid when has_tail) */
  uint32_t tail_off;         /* next free byte in the tail block; block_bytes when sealed/full */
  uint32_t next_tx;          /* next transaction id (ids only grow) */
  uint32_t tx_id;            /* the open transaction's id */
  uint16_t seal;             /* goes into the next block header: where a torn tail ended */
  uint8_t has_tail;
  uint8_t tx_open;
  uint8_t dead;              /* a flash write failed: everything refuses until the next mount */
  uint8_t mounted;
  uint16_t key_count;
  uint16_t staged_count;
  cp_store_slot keys[CP_STORE_MAX_KEYS];          /* committed state */
  cp_store_slot staged[CP_STORE_MAX_TX_ENTRIES];  /* open transaction (pending set at mount) */
};

#endif
