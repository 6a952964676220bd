/* The node's on-disk store: LevelDB under one-byte key prefixes
 * (docs/storage.md §4), atomic write batches, prefix iteration and typed
 * helpers for blocks, heights, tx index, state, blobs and meta. Blocks and
 * blobs are zstd-compressed with a bounded decompressed size.
 * Not for: deciding what is valid (node/chain) or the tree (node/smt). */
#ifndef ASSAY_NODE_STORE_H
#define ASSAY_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

/* One-byte key prefixes, documented in docs/storage.md §4 */
#define STORE_P_BLOCK 'b'   /* block hash -> zstd(encoded block) */
#define STORE_P_HEIGHT 'h'  /* u64 big-endian height -> block hash */
#define STORE_P_STATE 's'   /* 32-byte state key -> value */
#define STORE_P_BLOB 'o'    /* blob hash -> zstd(blob) */
#define STORE_P_TX 't'      /* txid -> u64 height || u32 index (LE) || receipt bytes */
#define STORE_P_RECEIPT 'r' /* txid -> receipt bytes: databases written before receipts joined 't' */
#define STORE_P_META 'm'    /* name -> value (tip, versions, chain id) */
#define STORE_P_CHUNK 'k'   /* chunk hash -> encoded output chunk (node/chunkstore.h) */
#define STORE_P_CHUNKIDX 'j' /* job_id || root || u32 BE first_tile || chunk hash -> sizes, mark */
#define STORE_P_CHUNKROOT 'c' /* job_id || root -> what the chunk store holds for the root */
#define STORE_P_CHUNKHELD 'p' /* chunk hash -> nothing: the chunk is held (node/chunkstore.h) */
#define STORE_P_ADDR 'a'    /* -addrindex: address || u64 height || u32 index (BE) -> txid */

/* A compressed record that claims to expand beyond this is corrupt: no block
 * or blob is this large, and the bound keeps a bad record from exhausting
 * memory. */
#define STORE_MAX_DECOMPRESSED (64u << 20)
/* LevelDB tuning: block cache, bloom filter bits per key, memtable size. */
#define STORE_CACHE_BYTES (64u << 20)
#define STORE_BLOOM_BITS 10
#define STORE_WRITE_BUFFER (16u << 20)
/* LevelDB's table files open at once (its own default is 1000): part of the
 * node's descriptor budget (docs/reliability.md §2). */
#define STORE_MAX_OPEN_FILES 200
/* Longest meta name: meta keys are 'm' || name. */
#define STORE_META_NAME_MAX 64
/* zstd level for blocks and blobs: one of zstd's fast (negative) levels,
 * since every commit compresses its block. On a block of 1,000 transfers
 * -3 compresses to level 1's ratio (0.65) in 60 % of its time. */
#define STORE_ZSTD_LEVEL (-3)

typedef struct store store_t;

/* Opens (creating if missing) the database in dir, with LevelDB's paranoid
 * checks: a damaged log or table is an error here, with a message in err
 * (errlen bytes, may be 0) that says to run -reindex or restore. NULL on
 * failure. */
store_t *store_open(const char *dir, char *err, size_t errlen);
void store_close(store_t *s);
/* *val is malloc()ed; the caller frees. ASSAY_ENOTFOUND, ASSAY_EIO. */
int store_get(store_t *s, const void *key, size_t klen, uint8_t **val, size_t *vlen);

/* A write batch: records puts and deletes, applied all or nothing. The
 * helpers cannot fail one by one; a failure (out of memory) sticks to the
 * batch and store_write reports it without writing anything. */
typedef struct store_batch store_batch_t;
store_batch_t *store_batch_new(void);
/* Fault injection for tests of local failures: the nth store_batch_new
 * from now returns NULL, as when out of memory (0 disarms). Not thread-safe;
 * nothing outside the unit tests arms it. */
void store_fail_next_batch(int nth);
void store_batch_free(store_batch_t *b);
void store_batch_clear(store_batch_t *b);
void store_batch_put(store_batch_t *b, const void *key, size_t klen, const void *val, size_t vlen);
void store_batch_del(store_batch_t *b, const void *key, size_t klen);
/* Atomic; sync = 1 fsyncs before returning (blocks are written so: once it
 * returns 0 the batch survives a power loss). 0, ASSAY_EIO or the batch's
 * sticky error. The batch is left as it was (clear it to reuse). After a
 * failed write, synced or not, every later write is refused with ASSAY_EIO
 * until the store is reopened: LevelDB may have appended part of the record
 * to its log, and what follows a torn record is silently dropped by the
 * recovery at the next open (docs/storage.md §4), so a block written after
 * it would be announced and then lost. */
int store_write(store_t *s, store_batch_t *b, int sync);
/* 1 once a write has failed because the filesystem is full (ENOSPC, EDQUOT). */
int store_disk_full(const store_t *s);
/* Free bytes an unprivileged writer may use on dir's filesystem (statvfs).
 * 0, or ASSAY_EIO when dir cannot be examined. */
int store_free_space(const char *dir, uint64_t *bytes);

/* Called for each record under a prefix in key order; nonzero stops. */
typedef int (*store_iter_fn)(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
			     size_t vlen);
/* 0 when done or stopped by a positive return; a negative return from fn is
 * passed back; ASSAY_EIO on a database error. */
int store_iterate(store_t *s, const void *prefix, size_t plen, store_iter_fn fn, void *arg);
/* The same from the first key at or after from (flen bytes, which begin
 * with prefix; else ASSAY_EINVALID): a walk of part of a prefix's range,
 * such as the chunks of one root from one tile on. */
int store_iterate_from(store_t *s, const void *prefix, size_t plen, const void *from, size_t flen,
		       store_iter_fn fn, void *arg);
/* store_iterate, last key first. */
int store_iterate_reverse(store_t *s, const void *prefix, size_t plen, store_iter_fn fn, void *arg);
/* Records both iterations have handed to their callbacks since the store
 * opened: what a test reads to show that an operation does not walk a
 * prefix. */
uint64_t store_records_iterated(const store_t *s);
/* Value bytes store_get has returned since the store opened: what a test
 * reads to show that an operation does not read a large record. */
uint64_t store_bytes_got(const store_t *s);

/* zstd-compresses enc; writes 'b' hash and 'h' height -> hash. */
void store_batch_put_block(store_batch_t *b, const uint8_t hash[32], uint64_t height,
			   const uint8_t *enc, size_t len);
/* *enc is malloc()ed; the caller frees. ASSAY_ENOTFOUND; ASSAY_EIO on corrupt data. */
int store_get_block(store_t *s, const uint8_t hash[32], uint8_t **enc, size_t *len);
int store_get_hash_at(store_t *s, uint64_t height, uint8_t hash[32]);
/* A transaction's record: where it is (height, index in the block) and its
 * receipt (opaque bytes the node defines), one record per transaction. */
void store_batch_put_tx(store_batch_t *b, const uint8_t txid[32], uint64_t height, uint32_t index,
			const uint8_t *receipt, size_t rlen);
/* The record's parts; *receipt is malloc()ed (the caller frees), taken
 * from the separate 'r' record when the database was written before
 * receipts joined 't', and NULL (rlen 0) when there is none. ASSAY_ENOTFOUND;
 * ASSAY_EIO for a record shorter than its 12-byte head. */
int store_get_tx(store_t *s, const uint8_t txid[32], uint64_t *height, uint32_t *index, uint8_t **receipt,
		 size_t *rlen);
/* The 't' record without a receipt (the layout before receipts joined it). */
void store_batch_put_tx_index(store_batch_t *b, const uint8_t txid[32], uint64_t height,
			      uint32_t index);
/* Height and index of either layout. */
int store_get_tx_index(store_t *s, const uint8_t txid[32], uint64_t *height, uint32_t *index);
/* val NULL: delete. */
void store_batch_put_state(store_batch_t *b, const uint8_t key[32], const uint8_t *val, size_t len);
int store_get_state(store_t *s, const uint8_t key[32], uint8_t **val, size_t *len);
/* val NULL: delete. A name over STORE_META_NAME_MAX fails the batch (ASSAY_EARG). */
void store_batch_put_meta(store_batch_t *b, const char *name, const void *val, size_t len);
int store_get_meta(store_t *s, const char *name, uint8_t **val, size_t *len);
/* zstd-compressed. */
void store_batch_put_blob(store_batch_t *b, const uint8_t hash[32], const uint8_t *data, size_t len);
int store_get_blob(store_t *s, const uint8_t hash[32], uint8_t **data, size_t *len);
/* The separate receipt record of the older layout (store_get_tx reads it). */
void store_batch_put_receipt(store_batch_t *b, const uint8_t txid[32], const uint8_t *val, size_t len);
int store_get_receipt(store_t *s, const uint8_t txid[32], uint8_t **val, size_t *len);

#endif
