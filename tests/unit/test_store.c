/* Unit tests of the LevelDB store (node/store.h): every helper round-trips,
 * prefix iteration, bounded decompression of corrupt records, atomicity
 * of a write batch across a SIGKILL of the writing process, and a damaged
 * write-ahead log refused at open (paranoid checks) while a torn tail is not.
 * Not for: what the node stores in those records. */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "core/error.h"
#include "core/log.h"
#include "node/store.h"
#include "tests/unit/test.h"

static char tmp_root[4096];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh database directory under the test's temp root. */
static void db_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmp_root, name);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 5));
}

static void test_open_fails_cleanly(void)
{
	char path[4200], err[256] = "";
	db_path(path, sizeof(path), "plainfile");
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	/* A regular file where the directory should be. */
	log_set_stderr(0);
	store_t *s = store_open(path, err, sizeof(err));
	log_set_stderr(1);
	CHECK(s == NULL);
	CHECK(err[0] != '\0');
}

static void test_helpers_round_trip(void)
{
	char path[4200], err[256];
	db_path(path, sizeof(path), "helpers");
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	store_batch_t *b = store_batch_new();
	uint8_t hash[32], hash2[32], txid[32], skey[32], got[32], *val;
	size_t len;
	static uint8_t block[200000], blob[70000];
	fill(hash, 32, 1);
	fill(hash2, 32, 2);
	fill(txid, 32, 3);
	fill(skey, 32, 4);
	fill(block, sizeof(block), 5);
	fill(blob, sizeof(blob), 6);

	/* Nothing there yet. */
	CHECK(store_get_block(s, hash, &val, &len) == ASSAY_ENOTFOUND);
	CHECK(store_get_hash_at(s, 7, got) == ASSAY_ENOTFOUND);
	CHECK(store_get_meta(s, "tip", &val, &len) == ASSAY_ENOTFOUND);

	store_batch_put_block(b, hash, 7, block, sizeof(block));
	store_batch_put_block(b, hash2, 8, block, 0); /* an empty encoding survives too */
	store_batch_put_tx_index(b, txid, 0x0102030405060708ull, 0xA0B0C0D0u);
	store_batch_put_state(b, skey, (const uint8_t *)"balance", 7);
	store_batch_put_meta(b, "tip", hash, 32);
	store_batch_put_blob(b, hash2, blob, sizeof(blob));
	store_batch_put_receipt(b, txid, (const uint8_t *)"ok", 2);
	store_batch_put(b, "x-raw", 5, "", 0);
	CHECK(store_write(s, b, 1) == 0);

	CHECK(store_get_block(s, hash, &val, &len) == 0);
	CHECK(len == sizeof(block) && memcmp(val, block, len) == 0);
	free(val);
	CHECK(store_get_block(s, hash2, &val, &len) == 0);
	CHECK(len == 0);
	free(val);
	CHECK(store_get_hash_at(s, 7, got) == 0);
	CHECK_EQ_MEM(got, hash, 32);
	CHECK(store_get_hash_at(s, 8, got) == 0);
	CHECK_EQ_MEM(got, hash2, 32);
	uint64_t height;
	uint32_t index;
	CHECK(store_get_tx_index(s, txid, &height, &index) == 0);
	CHECK(height == 0x0102030405060708ull && index == 0xA0B0C0D0u);
	CHECK(store_get_state(s, skey, &val, &len) == 0);
	CHECK(len == 7 && memcmp(val, "balance", 7) == 0);
	free(val);
	CHECK(store_get_meta(s, "tip", &val, &len) == 0);
	CHECK(len == 32 && memcmp(val, hash, 32) == 0);
	free(val);
	CHECK(store_get_blob(s, hash2, &val, &len) == 0);
	CHECK(len == sizeof(blob) && memcmp(val, blob, len) == 0);
	free(val);
	CHECK(store_get_receipt(s, txid, &val, &len) == 0);
	CHECK(len == 2 && memcmp(val, "ok", 2) == 0);
	free(val);
	CHECK(store_get(s, "x-raw", 5, &val, &len) == 0);
	CHECK(len == 0);
	free(val);

	/* The on-disk layout is the documented one: 'h' || u64 BE height. */
	uint8_t hkey[9] = {STORE_P_HEIGHT, 0, 0, 0, 0, 0, 0, 0, 7};
	CHECK(store_get(s, hkey, sizeof(hkey), &val, &len) == 0 && len == 32);
	free(val);
	uint8_t tkey[33] = {STORE_P_TX};
	memcpy(tkey + 1, txid, 32);
	CHECK(store_get(s, tkey, sizeof(tkey), &val, &len) == 0);
	CHECK(len == 12 && val[0] == 0x08 && val[7] == 0x01 && val[8] == 0xD0 && val[11] == 0xA0);
	free(val);
	/* Blocks are stored compressed. */
	uint8_t bkey[33] = {STORE_P_BLOCK};
	memcpy(bkey + 1, hash, 32);
	CHECK(store_get(s, bkey, sizeof(bkey), &val, &len) == 0);
	CHECK(len < sizeof(block) / 2);
	free(val);

	/* Deletes: state with NULL, meta with NULL; then reopen. */
	store_batch_clear(b);
	store_batch_put_state(b, skey, NULL, 0);
	store_batch_put_meta(b, "tip", NULL, 0);
	CHECK(store_write(s, b, 0) == 0);
	CHECK(store_get_state(s, skey, &val, &len) == ASSAY_ENOTFOUND);
	CHECK(store_get_meta(s, "tip", &val, &len) == ASSAY_ENOTFOUND);

	/* A meta name over the limit poisons the batch: nothing is written. */
	char long_name[STORE_META_NAME_MAX + 2];
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	store_batch_clear(b);
	store_batch_put_state(b, skey, (const uint8_t *)"v", 1);
	store_batch_put_meta(b, long_name, "v", 1);
	CHECK(store_write(s, b, 0) == ASSAY_EARG);
	CHECK(store_get_state(s, skey, &val, &len) == ASSAY_ENOTFOUND);
	store_batch_clear(b);
	CHECK(store_write(s, b, 0) == 0);

	store_close(s);
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s) {
		CHECK(store_get_block(s, hash, &val, &len) == 0 && len == sizeof(block));
		free(val);
		CHECK(store_get_hash_at(s, 7, got) == 0);
		store_close(s);
	}
	store_batch_free(b);
}

static void test_corrupt_records(void)
{
	char path[4200], err[256];
	db_path(path, sizeof(path), "corrupt");
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	store_batch_t *b = store_batch_new();
	uint8_t hash[32], key[33], *val;
	size_t len;
	fill(hash, 32, 9);
	key[0] = STORE_P_BLOCK;
	memcpy(key + 1, hash, 32);

	log_set_stderr(0);
	/* Not a zstd frame. */
	store_batch_put(b, key, sizeof(key), "garbage", 7);
	CHECK(store_write(s, b, 0) == 0);
	CHECK(store_get_block(s, hash, &val, &len) == ASSAY_EIO);

	/* A valid frame that declares more than the limit: refused before
	 * any allocation of that size. */
	size_t big = (size_t)STORE_MAX_DECOMPRESSED + 1;
	uint8_t *zeros = calloc(1, big);
	size_t cap = ZSTD_compressBound(big);
	uint8_t *z = malloc(cap);
	CHECK(zeros && z);
	if (zeros && z) {
		size_t zlen = ZSTD_compress(z, cap, zeros, big, 1);
		CHECK(!ZSTD_isError(zlen));
		store_batch_clear(b);
		store_batch_put(b, key, sizeof(key), z, zlen);
		CHECK(store_write(s, b, 0) == 0);
		CHECK(store_get_block(s, hash, &val, &len) == ASSAY_EIO);

		/* A frame cut short. */
		zlen = ZSTD_compress(z, cap, zeros, 1000, 1);
		store_batch_clear(b);
		store_batch_put(b, key, sizeof(key), z, zlen - 1);
		CHECK(store_write(s, b, 0) == 0);
		CHECK(store_get_block(s, hash, &val, &len) == ASSAY_EIO);
	}
	/* Writing a blob that could never be read back is refused. */
	store_batch_clear(b);
	if (zeros)
		store_batch_put_blob(b, hash, zeros, big);
	CHECK(store_write(s, b, 0) == ASSAY_ELIMIT);
	log_set_stderr(1);
	free(zeros);
	free(z);

	/* A height record of the wrong size is corruption, not a hash. */
	uint8_t hkey[9] = {STORE_P_HEIGHT, 0, 0, 0, 0, 0, 0, 0, 1}, got[32];
	store_batch_clear(b);
	store_batch_put(b, hkey, sizeof(hkey), "short", 5);
	CHECK(store_write(s, b, 0) == 0);
	log_set_stderr(0);
	CHECK(store_get_hash_at(s, 1, got) == ASSAY_EIO);
	log_set_stderr(1);
	store_batch_free(b);
	store_close(s);
}

struct collect {
	int count;
	int limit;           /* stop (return 1) after this many, 0: never */
	int ret_err;         /* return this negative code on the first record */
	uint8_t last_key[64];
	size_t last_klen;
	int ordered;         /* every key greater than the one before (reverse: smaller) */
	int reverse;
	int prefix_ok;       /* every key starts with the prefix */
	uint8_t prefix;
};

static int collect_fn(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct collect *c = arg;
	(void)val;
	(void)vlen;
	if (c->ret_err)
		return c->ret_err;
	if (klen == 0 || key[0] != c->prefix)
		c->prefix_ok = 0;
	if (c->count > 0) {
		size_t m = klen < c->last_klen ? klen : c->last_klen;
		int cmp = memcmp(c->last_key, key, m);
		if (!c->reverse && (cmp > 0 || (cmp == 0 && c->last_klen >= klen)))
			c->ordered = 0;
		if (c->reverse && (cmp < 0 || (cmp == 0 && c->last_klen <= klen)))
			c->ordered = 0;
	}
	c->last_klen = klen < sizeof(c->last_key) ? klen : sizeof(c->last_key);
	memcpy(c->last_key, key, c->last_klen);
	c->count++;
	return c->limit && c->count >= c->limit;
}

static void test_iterate(void)
{
	char path[4200], err[256];
	db_path(path, sizeof(path), "iterate");
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	store_batch_t *b = store_batch_new();
	uint8_t key[32], hash[32];
	for (int i = 0; i < 100; i++) {
		fill(key, 32, (uint8_t)(i * 3));
		key[0] = (uint8_t)i;
		store_batch_put_state(b, key, key, 4);
	}
	/* Heights written out of order come back in height order. */
	for (int h = 300; h > 0; h -= 3) {
		memset(hash, h & 0xFF, 32);
		store_batch_put_block(b, hash, (uint64_t)h, hash, 32);
	}
	fill(key, 32, 0x77);
	key[0] = 0xff; /* a prefix ending in 0xff, for the reverse walk */
	store_batch_put_state(b, key, key, 4);
	store_batch_put_meta(b, "tip", "x", 1);
	CHECK(store_write(s, b, 0) == 0);

	struct collect c = {.ordered = 1, .prefix_ok = 1, .prefix = STORE_P_STATE};
	uint8_t p = STORE_P_STATE;
	CHECK(store_iterate(s, &p, 1, collect_fn, &c) == 0);
	CHECK(c.count == 101 && c.ordered && c.prefix_ok);

	struct collect ch = {.ordered = 1, .prefix_ok = 1, .prefix = STORE_P_HEIGHT};
	p = STORE_P_HEIGHT;
	CHECK(store_iterate(s, &p, 1, collect_fn, &ch) == 0);
	CHECK(ch.count == 100 && ch.ordered && ch.prefix_ok);
	uint8_t last[9] = {STORE_P_HEIGHT, 0, 0, 0, 0, 0, 0, 0x01, 0x2C}; /* 300 */
	CHECK(ch.last_klen == 9 && memcmp(ch.last_key, last, 9) == 0);

	/* A longer prefix narrows it: state keys whose first byte is 5. */
	uint8_t p2[2] = {STORE_P_STATE, 5};
	struct collect c2 = {.ordered = 1, .prefix_ok = 1, .prefix = STORE_P_STATE};
	CHECK(store_iterate(s, p2, 2, collect_fn, &c2) == 0);
	CHECK(c2.count == 1);

	/* Stops early on a positive return; passes a negative one back. */
	struct collect c3 = {.ordered = 1, .prefix_ok = 1, .prefix = STORE_P_STATE, .limit = 10};
	p = STORE_P_STATE;
	CHECK(store_iterate(s, &p, 1, collect_fn, &c3) == 0);
	CHECK(c3.count == 10);
	struct collect c4 = {.ret_err = ASSAY_EINVALID};
	CHECK(store_iterate(s, &p, 1, collect_fn, &c4) == ASSAY_EINVALID);

	/* Backwards: last key first, within the prefix, whatever follows it. */
	struct collect r1 = {.ordered = 1, .reverse = 1, .prefix_ok = 1, .prefix = STORE_P_HEIGHT, .limit = 1};
	p = STORE_P_HEIGHT;
	CHECK(store_iterate_reverse(s, &p, 1, collect_fn, &r1) == 0);
	CHECK(r1.count == 1 && r1.last_klen == 9 && memcmp(r1.last_key, last, 9) == 0);
	struct collect r2 = {.ordered = 1, .reverse = 1, .prefix_ok = 1, .prefix = STORE_P_HEIGHT};
	CHECK(store_iterate_reverse(s, &p, 1, collect_fn, &r2) == 0);
	CHECK(r2.count == 100 && r2.ordered && r2.prefix_ok);
	struct collect r3 = {.ordered = 1, .reverse = 1, .prefix_ok = 1, .prefix = STORE_P_STATE};
	CHECK(store_iterate_reverse(s, p2, 2, collect_fn, &r3) == 0);
	CHECK(r3.count == 1);
	uint8_t p3[2] = {STORE_P_STATE, 0xff};
	struct collect r4 = {.ordered = 1, .reverse = 1, .prefix_ok = 1, .prefix = STORE_P_STATE};
	CHECK(store_iterate_reverse(s, p3, 2, collect_fn, &r4) == 0);
	CHECK(r4.count == 1 && r4.prefix_ok);
	uint8_t p4 = 0xff; /* past every key: from the last key of all, which it is not */
	struct collect r5 = {.reverse = 1};
	CHECK(store_iterate_reverse(s, &p4, 1, collect_fn, &r5) == 0);
	CHECK(r5.count == 0);

	/* An absent prefix visits nothing. */
	struct collect c5 = {.ordered = 1, .prefix_ok = 1};
	p = STORE_P_RECEIPT;
	CHECK(store_iterate(s, &p, 1, collect_fn, &c5) == 0);
	CHECK(c5.count == 0);
	store_batch_free(b);
	store_close(s);
}

/* ---- atomicity across SIGKILL ---- */

/* Each batch writes CRASH_KEYS keys 'k' || u32 BE batch || u16 BE i, all
 * carrying the batch number, plus meta "last" = batch number. */
#define CRASH_KEYS 64
#define CRASH_VALUE 200 /* bytes per value, so batches span log blocks */
#define CRASH_ROUNDS 4

static void crash_writer(const char *path, int ready_fd, uint32_t first)
{
	char err[256];
	store_t *s = store_open(path, err, sizeof(err));
	if (!s)
		_exit(2);
	store_batch_t *b = store_batch_new();
	uint8_t key[7], val[CRASH_VALUE];
	for (uint32_t n = first;; n++) {
		store_batch_clear(b);
		for (uint16_t i = 0; i < CRASH_KEYS; i++) {
			key[0] = 'k';
			key[1] = (uint8_t)(n >> 24);
			key[2] = (uint8_t)(n >> 16);
			key[3] = (uint8_t)(n >> 8);
			key[4] = (uint8_t)n;
			key[5] = (uint8_t)(i >> 8);
			key[6] = (uint8_t)i;
			memset(val, (int)(n & 0xFF), sizeof(val));
			memcpy(val, &n, sizeof(n));
			store_batch_put(b, key, sizeof(key), val, sizeof(val));
		}
		store_batch_put_meta(b, "last", &n, sizeof(n));
		if (store_write(s, b, 0) != 0)
			_exit(3);
		if (n == first) {
			char c = 1;
			if (write(ready_fd, &c, 1) != 1)
				_exit(4);
		}
	}
}

struct crash_scan {
	uint16_t per_batch[1u << 16]; /* keys seen per batch number (batches fit in 16 bits here) */
	int bad_value;
	uint32_t max_batch;
};

static int crash_scan_fn(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct crash_scan *c = arg;
	uint32_t n = (uint32_t)key[1] << 24 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 8 | key[4];
	uint32_t stored;
	if (klen != 7 || vlen != CRASH_VALUE || n >= (1u << 16)) {
		c->bad_value = 1;
		return 0;
	}
	memcpy(&stored, val, sizeof(stored));
	if (stored != n)
		c->bad_value = 1;
	c->per_batch[n]++;
	if (n + 1 > c->max_batch)
		c->max_batch = n + 1;
	return 0;
}

static void test_batch_atomic_across_kill(void)
{
	char path[4200], err[256];
	db_path(path, sizeof(path), "crash");
	static struct crash_scan scan;
	uint32_t next = 0;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());

	for (int round = 0; round < CRASH_ROUNDS; round++) {
		int fds[2];
		CHECK(pipe(fds) == 0);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			crash_writer(path, fds[1], next);
		}
		close(fds[1]);
		char c;
		CHECK(read(fds[0], &c, 1) == 1); /* one batch is in */
		close(fds[0]);
		struct timespec ts = {0, (long)(rand() % 80 + 1) * 1000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		store_t *s = store_open(path, err, sizeof(err));
		CHECK(s != NULL);
		if (!s)
			return;
		memset(&scan, 0, sizeof(scan));
		uint8_t p = 'k';
		CHECK(store_iterate(s, &p, 1, crash_scan_fn, &scan) == 0);
		CHECK(!scan.bad_value);
		/* Batches are written in order: those present are 0..max-1,
		 * each whole, and meta "last" names the newest. */
		int torn = 0;
		for (uint32_t n = 0; n < scan.max_batch; n++)
			if (scan.per_batch[n] != CRASH_KEYS)
				torn++;
		CHECK(torn == 0);
		CHECK(scan.max_batch > next);
		uint8_t *val;
		size_t len;
		CHECK(store_get_meta(s, "last", &val, &len) == 0);
		if (len == 4) {
			uint32_t last;
			memcpy(&last, val, 4);
			CHECK(last + 1 == scan.max_batch);
		} else {
			CHECK(len == 4);
		}
		free(val);
		store_close(s);
		fprintf(stderr, "  round %d: %u whole batches after SIGKILL\n", round,
			scan.max_batch);
		next = scan.max_batch;
		if (next > (1u << 16) - 10000)
			break; /* the scan table holds 16-bit batch numbers */
	}
}

/* The path of the database's write-ahead log (NNNNNN.log) in dir. */
static int find_wal(const char *dir, char *out, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = -1;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".log") == 0) {
			snprintf(out, n, "%s/%s", dir, e->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

/* Writes two synced batches of one record each and closes the database: the
 * log then holds record 1 followed by record 2. */
static void write_two_records(const char *path)
{
	char err[256];
	uint8_t val[900];
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	store_batch_t *b = store_batch_new();
	for (int i = 0; i < 2; i++) {
		char key[8];
		snprintf(key, sizeof(key), "k%d", i);
		fill(val, sizeof(val), (uint8_t)i);
		store_batch_clear(b);
		store_batch_put(b, key, strlen(key), val, sizeof(val));
		CHECK(store_write(s, b, 1) == 0);
	}
	store_batch_free(b);
	CHECK(store_disk_full(s) == 0);
	store_close(s);
}

/* Without paranoid checks LevelDB's recovery drops a damaged record in the
 * middle of its log and carries on with what follows: committed blocks lost
 * without a word. With them the open fails and says what to do. A torn tail
 * (the writer died mid-record) is no damage: the record was never
 * acknowledged, and the open succeeds without it. */
static void test_damaged_log_refused(void)
{
	char path[4200], wal[4400], err[256] = "";
	db_path(path, sizeof(path), "damaged-log");
	write_two_records(path);
	CHECK(find_wal(path, wal, sizeof(wal)) == 0);
	FILE *f = fopen(wal, "r+b");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fseek(f, 100, SEEK_SET) == 0); /* inside record 1's payload */
	int c = fgetc(f);
	CHECK(fseek(f, 100, SEEK_SET) == 0);
	fputc(c ^ 0x5a, f);
	fclose(f);
	log_set_stderr(0);
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "damaged") != NULL && strstr(err, "backup") != NULL && strstr(err, "sync again") != NULL);
	store_close(s);

	db_path(path, sizeof(path), "torn-tail");
	write_two_records(path);
	CHECK(find_wal(path, wal, sizeof(wal)) == 0);
	struct stat st;
	CHECK(stat(wal, &st) == 0 && st.st_size > 50);
	CHECK(truncate(wal, st.st_size - 50) == 0);
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s) {
		uint8_t *v;
		size_t vlen;
		CHECK(store_get(s, "k0", 2, &v, &vlen) == 0 && vlen == 900);
		free(v);
		CHECK(store_get(s, "k1", 2, &v, &vlen) == ASSAY_ENOTFOUND);
		store_close(s);
	}
	log_set_stderr(1);
}

/* Writes one record: key (a C string) and a vlen-byte value. */
static int put_one(store_t *s, const char *key, size_t vlen, int sync)
{
	uint8_t *val = malloc(vlen);
	store_batch_t *b = store_batch_new();
	if (!val || !b) {
		free(val);
		store_batch_free(b);
		return ASSAY_ENOMEM;
	}
	fill(val, vlen, (uint8_t)vlen);
	store_batch_put(b, key, strlen(key), val, vlen);
	int rc = store_write(s, b, sync);
	store_batch_free(b);
	free(val);
	return rc;
}

/* A write that fails part way (here the log append stops at RLIMIT_FSIZE,
 * as it would at a full disk) can leave a torn record in LevelDB's log, and
 * the recovery at the next open drops whatever follows it, acknowledged or
 * not. So after one failed write, even an unsynced one, the store refuses
 * every later write until it is reopened; reopened, it writes again and
 * holds what was written before the failure. */
static void test_failed_write_refuses_later(void)
{
	char path[4200], wal[4400], err[256] = "";
	db_path(path, sizeof(path), "failed-write");
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ_INT(put_one(s, "before", 100, 1), 0);
	struct stat st;
	struct rlimit old, lim;
	CHECK(find_wal(path, wal, sizeof(wal)) == 0 && stat(wal, &st) == 0);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 16384;
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN); /* the write fails with EFBIG instead */
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	log_set_stderr(0);
	CHECK_EQ_INT(put_one(s, "big", 256 * 1024, 0), ASSAY_EIO);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, was);
	CHECK_EQ_INT(put_one(s, "after", 100, 1), ASSAY_EIO);
	CHECK_EQ_INT(put_one(s, "after-async", 100, 0), ASSAY_EIO);
	log_set_stderr(1);
	store_close(s);

	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	uint8_t *v;
	size_t vlen;
	CHECK(store_get(s, "before", 6, &v, &vlen) == 0 && vlen == 100);
	free(v);
	CHECK(store_get(s, "after", 5, &v, &vlen) == ASSAY_ENOTFOUND);
	CHECK_EQ_INT(put_one(s, "again", 100, 1), 0);
	CHECK(store_get(s, "again", 5, &v, &vlen) == 0 && vlen == 100);
	free(v);
	store_close(s);
}

/* A transaction's record holds its receipt after the 12-byte head; a
 * database of the older layout (12-byte head, receipt in 'r') still reads. */
static void test_tx_records(void)
{
	char path[4200], err[256];
	db_path(path, sizeof(path), "txrec");
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	store_batch_t *b = store_batch_new();
	uint8_t now[32], old[32], bare[32], torn[32], big[32], *val;
	static uint8_t large[5000];
	size_t len;
	uint64_t height;
	uint32_t index;
	fill(now, 32, 11);
	fill(old, 32, 12);
	fill(bare, 32, 13);
	fill(torn, 32, 14);
	fill(big, 32, 15);
	fill(large, sizeof(large), 16);
	store_batch_put_tx(b, now, 9, 3, (const uint8_t *)"receipt", 7);
	store_batch_put_tx(b, big, 10, 4, large, sizeof(large));
	store_batch_put_tx_index(b, old, 5, 2);
	store_batch_put_receipt(b, old, (const uint8_t *)"older", 5);
	store_batch_put_tx_index(b, bare, 6, 1);
	uint8_t tkey[33] = {STORE_P_TX};
	memcpy(tkey + 1, torn, 32);
	store_batch_put(b, tkey, sizeof(tkey), "short", 5);
	CHECK(store_write(s, b, 1) == 0);
	store_batch_free(b);

	CHECK(store_get_tx(s, now, &height, &index, &val, &len) == 0);
	CHECK(height == 9 && index == 3 && len == 7 && val && memcmp(val, "receipt", 7) == 0);
	free(val);
	memcpy(tkey + 1, now, 32); /* the documented layout: head, then the receipt */
	CHECK(store_get(s, tkey, sizeof(tkey), &val, &len) == 0);
	CHECK(len == 19 && val[0] == 9 && val[8] == 3 && memcmp(val + 12, "receipt", 7) == 0);
	free(val);
	CHECK(store_get_tx(s, big, &height, &index, &val, &len) == 0);
	CHECK(height == 10 && index == 4 && len == sizeof(large) && val && memcmp(val, large, len) == 0);
	free(val);
	CHECK(store_get_tx(s, old, &height, &index, &val, &len) == 0);
	CHECK(height == 5 && index == 2 && len == 5 && val && memcmp(val, "older", 5) == 0);
	free(val);
	CHECK(store_get_tx(s, bare, &height, &index, &val, &len) == 0);
	CHECK(height == 6 && index == 1 && val == NULL && len == 0);
	CHECK(store_get_tx_index(s, now, &height, &index) == 0 && height == 9 && index == 3);
	log_set_stderr(0);
	CHECK(store_get_tx(s, torn, &height, &index, &val, &len) == ASSAY_EIO);
	log_set_stderr(1);
	fill(torn, 32, 99);
	CHECK(store_get_tx(s, torn, &height, &index, &val, &len) == ASSAY_ENOTFOUND);
	store_close(s);
}

int main(void)
{
	const char *tmpdir = getenv("TMPDIR");
	/* mkdtemp's template: six 'X's that it replaces. */
	int n = snprintf(tmp_root, sizeof(tmp_root) - 7, "%s/assay-store-",
			 tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(tmp_root) - 7)
		return 1;
	memset(tmp_root + n, 'X', 6);
	tmp_root[n + 6] = '\0';
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_open_fails_cleanly);
	RUN(test_helpers_round_trip);
	RUN(test_tx_records);
	RUN(test_corrupt_records);
	RUN(test_iterate);
	RUN(test_batch_atomic_across_kill);
	RUN(test_damaged_log_refused);
	RUN(test_failed_write_refuses_later);
	remove_tree(tmp_root);
	return test_report("test_store");
}
