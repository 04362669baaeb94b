/*
 * cardpost firmware: the card's non-volatile key-value store on raw flash (docs/firmware.md).
 *
 * Log-structured: values are appended; a transaction's entries become visible together when its
 * commit marker is written, or never. Power-on recovery (cp_store_mount) finishes nothing and
 * discards every entry without a commit marker, so after a power cut at ANY program or erase the
 * store holds exactly the last committed state. Compaction copies live values into a fresh page and
 * spreads erases over all pages (wear levelling). Caller-owned struct, no malloc, no globals.
 */
#ifndef CP_STORE_H
#define CP_STORE_H

#include "cp_hal.h"

#define CP_STORE_MAX_KEYS 96       /* distinct keys live at once */
#define CP_STORE_MAX_VALUE 1024    /* bytes in one value */
#define CP_STORE_MAX_TX_ENTRIES 16 /* puts/removes in one transaction */

typedef struct cp_store cp_store;

/* The struct is defined in cp_store_impl.h so that callers can allocate it (no malloc). */
#include "cp_store_impl.h"

/* Power-on: read the pages, discard uncommitted entries, rebuild the index, finish an interrupted
 * compaction. A blank (all 0xFF) flash mounts as an empty store. */
cp_result cp_store_mount(cp_store *s, const cp_flash *flash);

/* Latest value of key (as seen inside the open transaction, if any). CP_NOT_FOUND if absent,
 * CP_TOO_LARGE if cap is too small (len then says how big it is). */
cp_result cp_store_get(cp_store *s, uint16_t key, uint8_t *buf, uint16_t cap, uint16_t *len);

cp_result cp_store_begin(cp_store *s);
cp_result cp_store_put(cp_store *s, uint16_t key, const uint8_t *val, uint16_t len);
cp_result cp_store_remove(cp_store *s, uint16_t key);
/* Writes the commit marker: after CP_OK the transaction survives any later power cut. */
cp_result cp_store_commit(cp_store *s);
/* Forgets the open transaction (its entries stay on flash, uncommitted, until compaction). */
void cp_store_abort(cp_store *s);

#endif
