/* LevelDB store (see store.h, docs/storage.md §3): the C API wrapped so that
 * callers see malloc()ed results and ASSAY_E* codes, LevelDB messages go to
 * the log, and compressed records are bounded on the way out.
 * Not for: knowing what blocks or state mean. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <leveldb/c.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "node/store.h"

/* Longest meta key: prefix byte + name. */
#define STORE_KEY_MAX (1 + STORE_META_NAME_MAX)

struct store {
	leveldb_t *db;
	leveldb_options_t *options;
	leveldb_filterpolicy_t *bloom;
	leveldb_cache_t *cache;
	leveldb_readoptions_t *read;
	leveldb_writeoptions_t *write_async;
	leveldb_writeoptions_t *write_sync;
	int disk_full;     /* a write failed because the filesystem is full (sticky) */
	int failed;        /* a write failed: every later one is refused (store_write) */
	uint64_t iterated; /* records handed to iteration callbacks (store_records_iterated) */
	uint64_t got_bytes; /* value bytes store_get returned (store_bytes_got) */
};

struct store_batch {
	leveldb_writebatch_t *wb;
	int err; /* sticky: a helper failed (ASSAY_ENOMEM, ASSAY_EARG); nothing is written */
};

static void set_err(char *err, size_t errlen, const char *what, const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

store_t *store_open(const char *dir, char *err, size_t errlen)
{
	store_t *s = calloc(1, sizeof(*s));
	if (!s) {
		set_err(err, errlen, "out of memory", NULL);
		return NULL;
	}
	s->options = leveldb_options_create();
	s->bloom = leveldb_filterpolicy_create_bloom(STORE_BLOOM_BITS);
	s->cache = leveldb_cache_create_lru(STORE_CACHE_BYTES);
	s->read = leveldb_readoptions_create();
	s->write_async = leveldb_writeoptions_create();
	s->write_sync = leveldb_writeoptions_create();
	if (!s->options || !s->bloom || !s->cache || !s->read || !s->write_async || !s->write_sync) {
		set_err(err, errlen, "out of memory", NULL);
		store_close(s);
		return NULL;
	}
	leveldb_options_set_create_if_missing(s->options, 1);
	leveldb_options_set_filter_policy(s->options, s->bloom);
	leveldb_options_set_cache(s->options, s->cache);
	leveldb_options_set_write_buffer_size(s->options, STORE_WRITE_BUFFER);
	leveldb_options_set_max_open_files(s->options, STORE_MAX_OPEN_FILES);
	/* Blocks and blobs are zstd already; state values are small. */
	leveldb_options_set_compression(s->options, leveldb_no_compression);
	/* A damaged record (a torn write-ahead log, a bad table block) is an
	 * error at open, not a record LevelDB drops without a word: what was
	 * dropped could be committed blocks (docs/storage.md §4). */
	leveldb_options_set_paranoid_checks(s->options, 1);
	leveldb_readoptions_set_verify_checksums(s->read, 1);
	leveldb_writeoptions_set_sync(s->write_sync, 1);

	char *lerr = NULL;
	s->db = leveldb_open(s->options, dir, &lerr);
	if (lerr) {
		log_error("store: cannot open %s: %s", dir, lerr);
		if (strstr(lerr, "Corruption") && err && errlen)
			snprintf(err, errlen,
				 "the database is damaged (%s): restore the data directory from a backup, "
				 "or move it aside and sync again from peers (-reindex reads the same "
				 "database and cannot repair it)",
				 lerr);
		else
			set_err(err, errlen, "cannot open database", lerr);
		leveldb_free(lerr);
		store_close(s);
		return NULL;
	}
	return s;
}

void store_close(store_t *s)
{
	if (!s)
		return;
	if (s->db)
		leveldb_close(s->db);
	if (s->options)
		leveldb_options_destroy(s->options);
	if (s->bloom)
		leveldb_filterpolicy_destroy(s->bloom);
	if (s->cache)
		leveldb_cache_destroy(s->cache);
	if (s->read)
		leveldb_readoptions_destroy(s->read);
	if (s->write_async)
		leveldb_writeoptions_destroy(s->write_async);
	if (s->write_sync)
		leveldb_writeoptions_destroy(s->write_sync);
	free(s);
}

int store_get(store_t *s, const void *key, size_t klen, uint8_t **val, size_t *vlen)
{
	char *lerr = NULL;
	size_t n = 0;
	char *v = leveldb_get(s->db, s->read, key, klen, &n, &lerr);
	*val = NULL;
	*vlen = 0;
	if (lerr) {
		log_error("store: get: %s", lerr);
		leveldb_free(lerr);
		return ASSAY_EIO;
	}
	if (!v)
		return ASSAY_ENOTFOUND;
	/* Our own copy, so callers free() what every function here returns. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy) {
		leveldb_free(v);
		return ASSAY_ENOMEM;
	}
	memcpy(copy, v, n);
	leveldb_free(v);
	*val = copy;
	*vlen = n;
	s->got_bytes += n;
	return 0;
}

/* Test hook (store_fail_next_batch): batches still to create before one fails. */
static int batch_fail_in;

void store_fail_next_batch(int nth)
{
	batch_fail_in = nth;
}

store_batch_t *store_batch_new(void)
{
	if (batch_fail_in > 0 && --batch_fail_in == 0)
		return NULL;
	store_batch_t *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->wb = leveldb_writebatch_create();
	if (!b->wb) {
		free(b);
		return NULL;
	}
	return b;
}

void store_batch_free(store_batch_t *b)
{
	if (!b)
		return;
	leveldb_writebatch_destroy(b->wb);
	free(b);
}

void store_batch_clear(store_batch_t *b)
{
	leveldb_writebatch_clear(b->wb);
	b->err = 0;
}

void store_batch_put(store_batch_t *b, const void *key, size_t klen, const void *val, size_t vlen)
{
	leveldb_writebatch_put(b->wb, key, klen, val, vlen);
}

void store_batch_del(store_batch_t *b, const void *key, size_t klen)
{
	leveldb_writebatch_delete(b->wb, key, klen);
}

int store_write(store_t *s, store_batch_t *b, int sync)
{
	if (b->err)
		return b->err;
	if (s->failed) {
		log_error("store: write refused: an earlier write failed, and what follows a torn log record "
			  "is lost at the next open; restart the node");
		return ASSAY_EIO;
	}
	char *lerr = NULL;
	leveldb_write(s->db, sync ? s->write_sync : s->write_async, b->wb, &lerr);
	if (lerr) {
		s->failed = 1;
		log_error("store: write: %s", lerr);
		/* LevelDB's message carries strerror() of the failed call. */
		if (strstr(lerr, strerror(ENOSPC)) || strstr(lerr, strerror(EDQUOT)))
			s->disk_full = 1;
		leveldb_free(lerr);
		return ASSAY_EIO;
	}
	return 0;
}

int store_disk_full(const store_t *s)
{
	return s->disk_full;
}

int store_free_space(const char *dir, uint64_t *bytes)
{
	struct statvfs st;
	if (statvfs(dir, &st) < 0)
		return ASSAY_EIO;
	/* f_bavail: what an unprivileged writer may still use. */
	*bytes = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
	return 0;
}

/* Where a reverse walk of prefix starts: the last key below the prefix's
 * successor (the prefix with its last byte below 0xff raised by one and
 * the bytes after it dropped), or the last key of all when there is none. */
static void seek_prefix_end(leveldb_iterator_t *it, const uint8_t *prefix, size_t plen)
{
	size_t n = plen;
	while (n > 0 && prefix[n - 1] == 0xff)
		n--;
	if (n == 0) {
		leveldb_iter_seek_to_last(it);
		return;
	}
	uint8_t succ[256];
	if (n > sizeof(succ)) { /* no prefix is this long; walk from the end */
		leveldb_iter_seek_to_last(it);
		return;
	}
	memcpy(succ, prefix, n);
	succ[n - 1]++;
	leveldb_iter_seek(it, (const char *)succ, n);
	if (leveldb_iter_valid(it))
		leveldb_iter_prev(it);
	else
		leveldb_iter_seek_to_last(it);
}

/* from (flen bytes, beginning with prefix) is where a forward walk starts:
 * the prefix itself for a whole walk. */
static int iterate(store_t *s, const void *prefix, size_t plen, const void *from, size_t flen,
		   store_iter_fn fn, void *arg, int reverse)
{
	leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->read);
	int rc = 0;
	if (!it)
		return ASSAY_ENOMEM;
	if (reverse)
		seek_prefix_end(it, prefix, plen);
	else
		leveldb_iter_seek(it, from, flen);
	for (; leveldb_iter_valid(it); reverse ? leveldb_iter_prev(it) : leveldb_iter_next(it)) {
		size_t klen, vlen;
		const char *key = leveldb_iter_key(it, &klen);
		if (klen < plen || memcmp(key, prefix, plen) != 0)
			break;
		const char *val = leveldb_iter_value(it, &vlen);
		s->iterated++;
		int stop = fn(arg, (const uint8_t *)key, klen, (const uint8_t *)val, vlen);
		if (stop) {
			rc = stop < 0 ? stop : 0;
			break;
		}
	}
	char *lerr = NULL;
	leveldb_iter_get_error(it, &lerr);
	if (lerr) {
		log_error("store: iterate: %s", lerr);
		leveldb_free(lerr);
		rc = ASSAY_EIO;
	}
	leveldb_iter_destroy(it);
	return rc;
}

int store_iterate(store_t *s, const void *prefix, size_t plen, store_iter_fn fn, void *arg)
{
	return iterate(s, prefix, plen, prefix, plen, fn, arg, 0);
}

int store_iterate_from(store_t *s, const void *prefix, size_t plen, const void *from, size_t flen,
		       store_iter_fn fn, void *arg)
{
	if (flen < plen || memcmp(from, prefix, plen) != 0)
		return ASSAY_EINVALID;
	return iterate(s, prefix, plen, from, flen, fn, arg, 0);
}

int store_iterate_reverse(store_t *s, const void *prefix, size_t plen, store_iter_fn fn, void *arg)
{
	return iterate(s, prefix, plen, prefix, plen, fn, arg, 1);
}

uint64_t store_records_iterated(const store_t *s)
{
	return s->iterated;
}

uint64_t store_bytes_got(const store_t *s)
{
	return s->got_bytes;
}

/* prefix || 32-byte id */
static void key32(uint8_t key[33], char prefix, const uint8_t id[32])
{
	key[0] = (uint8_t)prefix;
	memcpy(key + 1, id, 32);
}

static void key_height(uint8_t key[9], uint64_t height)
{
	key[0] = STORE_P_HEIGHT;
	for (int i = 0; i < 8; i++)
		key[1 + i] = (uint8_t)(height >> (56 - 8 * i)); /* big-endian: iteration in height order */
}

/* Writes prefix || id -> zstd(data). */
static void batch_put_compressed(store_batch_t *b, char prefix, const uint8_t id[32],
				 const uint8_t *data, size_t len)
{
	uint8_t key[33];
	if (len > STORE_MAX_DECOMPRESSED) {
		b->err = ASSAY_ELIMIT; /* it could never be read back */
		return;
	}
	size_t cap = ZSTD_compressBound(len);
	uint8_t *z = malloc(cap);
	if (!z) {
		b->err = ASSAY_ENOMEM;
		return;
	}
	size_t zlen = ZSTD_compress(z, cap, data, len, STORE_ZSTD_LEVEL);
	if (ZSTD_isError(zlen)) {
		log_error("store: zstd: %s", ZSTD_getErrorName(zlen));
		b->err = ASSAY_ENOMEM;
		free(z);
		return;
	}
	key32(key, prefix, id);
	store_batch_put(b, key, sizeof(key), z, zlen);
	free(z);
}

/* Reads prefix || id and expands it; the frame must declare its size, at
 * most STORE_MAX_DECOMPRESSED, and expand to exactly that. */
static int get_compressed(store_t *s, char prefix, const uint8_t id[32], uint8_t **out, size_t *len)
{
	uint8_t key[33], *z;
	size_t zlen;
	*out = NULL;
	*len = 0;
	key32(key, prefix, id);
	int rc = store_get(s, key, sizeof(key), &z, &zlen);
	if (rc)
		return rc;
	unsigned long long size = ZSTD_getFrameContentSize(z, zlen);
	if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR ||
	    size > STORE_MAX_DECOMPRESSED) {
		log_error("store: corrupt compressed record under '%c'", prefix);
		free(z);
		return ASSAY_EIO;
	}
	uint8_t *plain = malloc(size ? (size_t)size : 1);
	if (!plain) {
		free(z);
		return ASSAY_ENOMEM;
	}
	size_t got = ZSTD_decompress(plain, (size_t)size, z, zlen);
	free(z);
	if (ZSTD_isError(got) || got != size) {
		log_error("store: corrupt compressed record under '%c': %s", prefix,
			  ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size mismatch");
		free(plain);
		return ASSAY_EIO;
	}
	*out = plain;
	*len = got;
	return 0;
}

void store_batch_put_block(store_batch_t *b, const uint8_t hash[32], uint64_t height,
			   const uint8_t *enc, size_t len)
{
	uint8_t hkey[9];
	batch_put_compressed(b, STORE_P_BLOCK, hash, enc, len);
	key_height(hkey, height);
	store_batch_put(b, hkey, sizeof(hkey), hash, 32);
}

int store_get_block(store_t *s, const uint8_t hash[32], uint8_t **enc, size_t *len)
{
	return get_compressed(s, STORE_P_BLOCK, hash, enc, len);
}

int store_get_hash_at(store_t *s, uint64_t height, uint8_t hash[32])
{
	uint8_t key[9], *val;
	size_t vlen;
	key_height(key, height);
	int rc = store_get(s, key, sizeof(key), &val, &vlen);
	if (rc)
		return rc;
	if (vlen != 32) {
		log_error("store: height record %llu has %zu bytes", (unsigned long long)height, vlen);
		free(val);
		return ASSAY_EIO;
	}
	memcpy(hash, val, 32);
	free(val);
	return 0;
}

#define TX_HEAD 12 /* the 't' record's u64 height || u32 index */

void store_batch_put_tx(store_batch_t *b, const uint8_t txid[32], uint64_t height, uint32_t index,
			const uint8_t *receipt, size_t rlen)
{
	uint8_t key[33], small[256], *val = small;
	if (TX_HEAD + rlen > sizeof(small) && !(val = malloc(TX_HEAD + rlen))) {
		b->err = ASSAY_ENOMEM;
		return;
	}
	key32(key, STORE_P_TX, txid);
	le64_put(val, height);
	le32_put(val + 8, index);
	if (rlen)
		memcpy(val + TX_HEAD, receipt, rlen);
	store_batch_put(b, key, sizeof(key), val, TX_HEAD + rlen);
	if (val != small)
		free(val);
}

void store_batch_put_tx_index(store_batch_t *b, const uint8_t txid[32], uint64_t height,
			      uint32_t index)
{
	store_batch_put_tx(b, txid, height, index, NULL, 0);
}

int store_get_tx(store_t *s, const uint8_t txid[32], uint64_t *height, uint32_t *index, uint8_t **receipt,
		 size_t *rlen)
{
	uint8_t key[33], *val;
	size_t vlen;
	*receipt = NULL;
	*rlen = 0;
	key32(key, STORE_P_TX, txid);
	int rc = store_get(s, key, sizeof(key), &val, &vlen);
	if (rc)
		return rc;
	if (vlen < TX_HEAD) {
		log_error("store: tx record has %zu bytes", vlen);
		free(val);
		return ASSAY_EIO;
	}
	*height = le64_get(val);
	*index = le32_get(val + 8);
	if (vlen == TX_HEAD) { /* the older layout: the receipt is a record of its own */
		free(val);
		rc = store_get_receipt(s, txid, receipt, rlen);
		return rc == ASSAY_ENOTFOUND ? 0 : rc;
	}
	memmove(val, val + TX_HEAD, vlen - TX_HEAD);
	*receipt = val;
	*rlen = vlen - TX_HEAD;
	return 0;
}

int store_get_tx_index(store_t *s, const uint8_t txid[32], uint64_t *height, uint32_t *index)
{
	uint8_t *receipt;
	size_t rlen;
	int rc = store_get_tx(s, txid, height, index, &receipt, &rlen);
	free(receipt);
	return rc;
}

/* prefix || id -> val, or delete when val is NULL. */
static void batch_put32(store_batch_t *b, char prefix, const uint8_t id[32], const uint8_t *val,
			size_t len)
{
	uint8_t key[33];
	key32(key, prefix, id);
	if (val)
		store_batch_put(b, key, sizeof(key), val, len);
	else
		store_batch_del(b, key, sizeof(key));
}

static int get32(store_t *s, char prefix, const uint8_t id[32], uint8_t **val, size_t *len)
{
	uint8_t key[33];
	key32(key, prefix, id);
	return store_get(s, key, sizeof(key), val, len);
}

void store_batch_put_state(store_batch_t *b, const uint8_t key[32], const uint8_t *val, size_t len)
{
	batch_put32(b, STORE_P_STATE, key, val, len);
}

int store_get_state(store_t *s, const uint8_t key[32], uint8_t **val, size_t *len)
{
	return get32(s, STORE_P_STATE, key, val, len);
}

void store_batch_put_receipt(store_batch_t *b, const uint8_t txid[32], const uint8_t *val, size_t len)
{
	batch_put32(b, STORE_P_RECEIPT, txid, val, len);
}

int store_get_receipt(store_t *s, const uint8_t txid[32], uint8_t **val, size_t *len)
{
	return get32(s, STORE_P_RECEIPT, txid, val, len);
}

/* 'm' || name; 0 or ASSAY_EARG for a name over STORE_META_NAME_MAX. */
static int key_meta(uint8_t key[STORE_KEY_MAX], const char *name, size_t *klen)
{
	size_t n = strlen(name);
	if (n > STORE_META_NAME_MAX)
		return ASSAY_EARG;
	key[0] = STORE_P_META;
	memcpy(key + 1, name, n);
	*klen = n + 1;
	return 0;
}

void store_batch_put_meta(store_batch_t *b, const char *name, const void *val, size_t len)
{
	uint8_t key[STORE_KEY_MAX];
	size_t klen;
	if (key_meta(key, name, &klen)) {
		b->err = ASSAY_EARG;
		return;
	}
	if (val)
		store_batch_put(b, key, klen, val, len);
	else
		store_batch_del(b, key, klen);
}

int store_get_meta(store_t *s, const char *name, uint8_t **val, size_t *len)
{
	uint8_t key[STORE_KEY_MAX];
	size_t klen;
	*val = NULL;
	*len = 0;
	if (key_meta(key, name, &klen))
		return ASSAY_EARG;
	return store_get(s, key, klen, val, len);
}

void store_batch_put_blob(store_batch_t *b, const uint8_t hash[32], const uint8_t *data, size_t len)
{
	batch_put_compressed(b, STORE_P_BLOB, hash, data, len);
}

int store_get_blob(store_t *s, const uint8_t hash[32], uint8_t **data, size_t *len)
{
	return get_compressed(s, STORE_P_BLOB, hash, data, len);
}
