/* Tests of the consensus write-ahead log (node/conswal.c): every record kind
 * encodes and parses back; a log cut at every byte of its last record, or
 * ending in a record whose check fails, loses only that record; a damaged
 * record in the middle, a damaged length (even one that points past the
 * end), or a log that does not open with its height, is an error; the file
 * cuts its torn tail, cuts a failed append back off, rotates atomically,
 * breaks on damage found while running and on a failed directory fsync,
 * and takes a version-1 log; and an engine fed a log's inputs comes back in
 * the round, step and lock it had. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/bft/bft.h"
#include "core/error.h"
#include "core/sha256.h"
#include "node/conswal.h"
#include "tests/unit/bft_fixture.h"
#include "test.h"

static const uint8_t CHAIN[HASH_LEN] = {0xc0, 0x5e};
static const uint8_t VA[HASH_LEN] = {0xa1, 1};

/* Counts signatures, and what was signed, so a replay can be compared. */
struct signer {
	int nsigned;
	uint8_t last[HASH_LEN];
};

static int sign_vote(void *ctx, const struct bft_vote *v, uint8_t sig[SIG_LEN])
{
	struct signer *s = ctx;
	uint8_t h[HASH_LEN];
	bft_vote_sighash(CHAIN, v, h);
	fake_sign(v->validator, h, sig);
	s->nsigned++;
	memcpy(s->last, h, HASH_LEN);
	return 0;
}

static int sign_proposal(void *ctx, const struct bft_proposal *p, uint8_t sig[SIG_LEN])
{
	struct signer *s = ctx;
	uint8_t h[HASH_LEN];
	bft_proposal_sighash(CHAIN, p, h);
	fake_sign(p->proposer, h, sig);
	s->nsigned++;
	return 0;
}

static struct bft_vote mk_vote(uint8_t type, uint64_t height, uint32_t round, const uint8_t *value,
			       uint32_t who)
{
	return test_vote(CHAIN, type, height, round, value, who);
}

static struct bft_proposal mk_prop(uint64_t height, uint32_t round, const uint8_t *value, uint32_t who)
{
	return test_proposal(CHAIN, height, round, BFT_POL_NONE, value, who);
}

/* One record of each kind, at height 7. */
static size_t sample_records(struct conswal_rec *r)
{
	memset(r, 0, 9 * sizeof(*r));
	for (int i = 0; i < 9; i++)
		r[i].height = 7;
	r[0].kind = CONSWAL_HEIGHT;
	memcpy(r[0].value, CHAIN, HASH_LEN);
	r[1].kind = CONSWAL_START;
	r[1].round = 2;
	r[2].kind = CONSWAL_PROPOSAL;
	r[2].proposal = mk_prop(7, 2, VA, 1);
	r[2].block_len = 300; /* the block's bytes: the log does not read them */
	r[2].block = malloc(r[2].block_len);
	for (size_t i = 0; i < r[2].block_len; i++)
		r[2].block[i] = (uint8_t)(i * 7);
	r[3].kind = CONSWAL_VOTE;
	r[3].vote = mk_vote(VOTE_PREVOTE, 7, 2, VA, 3);
	r[4].kind = CONSWAL_VALUE;
	r[4].round = 3;
	memcpy(r[4].value, VA, HASH_LEN);
	r[4].block_len = 5;
	r[4].block = malloc(5);
	memcpy(r[4].block, "block", 5);
	r[5].kind = CONSWAL_TIMEOUT;
	r[5].step = BFT_STEP_PREVOTE;
	r[5].round = 2;
	r[6].kind = CONSWAL_VALIDITY;
	r[6].valid = 1;
	memcpy(r[6].value, VA, HASH_LEN);
	r[7].kind = CONSWAL_COMMIT;
	r[7].commit.height = 7;
	r[7].commit.round = 2;
	memcpy(r[7].commit.block_hash, VA, HASH_LEN);
	r[7].commit.nsigs = 2;
	r[7].commit.sigs = calloc(2, sizeof(struct commit_sig));
	r[7].commit.sigs[1].sig[5] = 9;
	r[8].kind = CONSWAL_SIGNED;
	r[8].step = 2;
	r[8].round = 2;
	memcpy(r[8].value, VA, HASH_LEN);
	return 9;
}

static int rec_equal(const struct conswal_rec *a, const struct conswal_rec *b)
{
	if (a->kind != b->kind || a->height != b->height || a->round != b->round || a->step != b->step ||
	    a->valid != b->valid || memcmp(a->value, b->value, HASH_LEN) != 0 ||
	    memcmp(&a->proposal, &b->proposal, sizeof(a->proposal)) != 0 ||
	    memcmp(&a->vote, &b->vote, sizeof(a->vote)) != 0 || a->commit.nsigs != b->commit.nsigs ||
	    a->commit.round != b->commit.round)
		return 0;
	if (a->block_len != b->block_len || (a->block_len && memcmp(a->block, b->block, a->block_len) != 0))
		return 0;
	return a->commit.nsigs == 0 ||
	       memcmp(a->commit.sigs, b->commit.sigs, a->commit.nsigs * sizeof(struct commit_sig)) == 0;
}

static void test_codec_roundtrip(void)
{
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got, good;
	struct buf b;
	buf_init(&b);
	conswal_encode_log(in, n, &b);
	char err[256];
	CHECK(conswal_parse(b.data, b.len, &out, &got, &good, err, sizeof(err)) == 0);
	CHECK_EQ_U64(got, n);
	CHECK_EQ_U64(good, b.len);
	for (size_t i = 0; i < n && i < got; i++)
		CHECK(rec_equal(&in[i], &out[i]));
	conswal_recs_free(out, got);
	/* an empty log is no error, nor is one whose file header was cut short */
	for (size_t cut = 0; cut < 8; cut++)
		CHECK(conswal_parse(b.data, cut, &out, &got, &good, err, sizeof(err)) == 0 && got == 0 &&
		      good == 0);
	CHECK(conswal_parse(b.data, 8, &out, &got, &good, err, sizeof(err)) == 0 && got == 0 && good == 8);
	/* a version this one does not know is refused */
	b.data[4] = 3;
	CHECK_EQ_INT(conswal_parse(b.data, b.len, &out, &got, &good, err, sizeof(err)), ASSAY_ECORRUPT);
	CHECK(strstr(err, "version 3") != NULL);
	buf_free(&b);
	for (size_t i = 0; i < n; i++)
		conswal_rec_free(&in[i]);
}

/* Makes the header check of the frame at p right for its len and check. */
static void set_head(uint8_t *p)
{
	uint8_t h[HASH_LEN];
	sha256(p, 8, h);
	memcpy(p + 8, h, 4);
}

static void test_torn_tail_and_corruption(void)
{
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got, good;
	struct buf b;
	buf_init(&b);
	size_t ends[9];
	conswal_encode_log(NULL, 0, &b);
	for (size_t i = 0; i < n; i++) {
		conswal_encode(&in[i], &b);
		ends[i] = b.len;
	}
	char err[256];
	/* a crash at any byte of the last record's write loses that record only */
	for (size_t cut = ends[n - 2]; cut < ends[n - 1]; cut++) {
		int rc = conswal_parse(b.data, cut, &out, &got, &good, err, sizeof(err));
		CHECK(rc == 0);
		CHECK_EQ_U64(got, n - 1);
		CHECK_EQ_U64(good, ends[n - 2]);
		conswal_recs_free(out, got);
	}
	/* a last record written in full but with garbage in it (a crash before
	 * its pages reached the disk) is ignored as well */
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	copy[b.len - 3] ^= 0x40;
	CHECK(conswal_parse(copy, b.len, &out, &got, &good, err, sizeof(err)) == 0);
	CHECK_EQ_U64(got, n - 1);
	conswal_recs_free(out, got);
	/* the same damage in the middle is an error */
	memcpy(copy, b.data, b.len);
	copy[ends[3] - 5] ^= 0x40;
	CHECK(conswal_parse(copy, b.len, &out, &got, &good, err, sizeof(err)) == ASSAY_ECORRUPT);
	CHECK(out == NULL && got == 0);
	CHECK(strstr(err, "fails its check") != NULL);
	/* a length no record can have: refused by its header check, and by
	 * its bounds when the header check is made right for it */
	for (int i = 0; i < 2; i++) {
		memcpy(copy, b.data, b.len);
		if (i == 0) {
			copy[ends[2] + 3] = 0x7f;
		} else {
			memset(copy + ends[2], 0, 4);
			set_head(copy + ends[2]);
		}
		CHECK(conswal_parse(copy, b.len, &out, &got, &good, err, sizeof(err)) == ASSAY_ECORRUPT);
		CHECK(strstr(err, i == 0 ? "header fails its check" : "claims 0 bytes") != NULL);
	}
	/* a log must open with its height */
	memcpy(copy, b.data, 8);
	memcpy(copy + 8, b.data + ends[0], b.len - ends[0]);
	CHECK(conswal_parse(copy, 8 + b.len - ends[0], &out, &got, &good, err, sizeof(err)) ==
	      ASSAY_ECORRUPT);
	free(copy);
	buf_free(&b);
	for (size_t i = 0; i < n; i++)
		conswal_rec_free(&in[i]);
}

/* A length in the middle of the log damaged so that it points past the end
 * of the file (one bad byte) is damage, not a torn tail: taking it for one
 * would cut off every record after it, the SIGNED ones with them, and a
 * restarted validator could sign against what it had signed. */
static void test_damaged_length_is_not_a_torn_tail(void)
{
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got, good;
	struct buf b;
	buf_init(&b);
	size_t ends[9];
	conswal_encode_log(NULL, 0, &b);
	for (size_t i = 0; i < n; i++) {
		conswal_encode(&in[i], &b);
		ends[i] = b.len;
	}
	char err[256];
	uint8_t *copy = malloc(b.len);
	for (size_t rec = 1; rec < n; rec++) { /* the last one too: its header is whole */
		for (int byte = 0; byte < 4; byte++) {
			memcpy(copy, b.data, b.len);
			/* past the end of the file, under the cap */
			copy[ends[rec - 1] + (size_t)byte] ^= byte == 3 ? 0x01 : 0x10;
			int rc = conswal_parse(copy, b.len, &out, &got, &good, err, sizeof(err));
			CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
			if (rc == 0)
				conswal_recs_free(out, got);
		}
	}
	free(copy);
	buf_free(&b);
	for (size_t i = 0; i < n; i++)
		conswal_rec_free(&in[i]);
}

/* A new, empty log at a fresh temporary path (path: 32 bytes). */
static conswal_t *fresh_wal(char path[32])
{
	snprintf(path, 32, "/tmp/assay-test-wal-XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	struct conswal_rec *out;
	size_t got;
	int rc;
	char err[256];
	conswal_t *w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w && got == 0);
	return w;
}

/* The end of a test on a log file: the file and the sample records go. */
static void drop_wal(const char *path, struct conswal_rec *in, size_t n)
{
	unlink(path);
	for (size_t i = 0; i < n; i++)
		conswal_rec_free(&in[i]);
}

/* fresh_wal with the n records of in appended and synced. */
static conswal_t *filled_wal(char path[32], const struct conswal_rec *in, size_t n)
{
	conswal_t *w = fresh_wal(path);
	for (size_t i = 0; w && i < n; i++)
		CHECK(conswal_append(w, &in[i]) == 0);
	if (w)
		CHECK(conswal_sync(w) == 0);
	return w;
}

static void test_file(void)
{
	char path[] = "/tmp/assay-test-wal-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got;
	int rc;
	char err[256];
	conswal_t *w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w && got == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(conswal_append(w, &in[i]) == 0);
	CHECK(conswal_sync(w) == 0);
	uint64_t full = conswal_size(w);
	conswal_close(w);
	/* a torn tail on disk: cut at open, then appends follow the good part */
	FILE *f = fopen(path, "ab");
	fwrite("\x30\x00\x00\x00\x01\x02", 1, 6, f);
	fclose(f);
	w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w && got == n);
	conswal_recs_free(out, got);
	CHECK_EQ_U64(conswal_size(w), full);
	CHECK(conswal_append(w, &in[3]) == 0);
	CHECK(conswal_read(w, &out, &got, err, sizeof(err)) == 0 && got == n + 1);
	CHECK(got == n + 1 && rec_equal(&out[n], &in[3]));
	conswal_recs_free(out, got);
	/* rotation replaces the content */
	CHECK(conswal_rewrite(w, in, 2) == 0);
	CHECK(conswal_append(w, &in[4]) == 0);
	CHECK(conswal_read(w, &out, &got, err, sizeof(err)) == 0 && got == 3);
	CHECK(got == 3 && rec_equal(&out[2], &in[4]));
	conswal_recs_free(out, got);
	conswal_close(w);
	/* a damaged middle stops the open with a message */
	f = fopen(path, "r+b");
	fseek(f, 20, SEEK_SET);
	fputc(0xee, f);
	fclose(f);
	w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w == NULL && rc == ASSAY_ECORRUPT);
	CHECK(strstr(err, "corrupt") != NULL);
	drop_wal(path, in, n);
}

/* The same damage on disk: the open refuses the file and leaves it as it
 * was, every record still in it for a person to look at, instead of cutting
 * it at the damaged record. */
static void test_open_refuses_damaged_length(void)
{
	char path[32];
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got;
	int rc;
	char err[256];
	conswal_t *w = fresh_wal(path);
	if (!w)
		return;
	uint64_t second = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(conswal_append(w, &in[i]) == 0);
		if (i == 1)
			second = conswal_size(w); /* where the proposal's frame starts */
	}
	CHECK(conswal_sync(w) == 0);
	uint64_t full = conswal_size(w);
	conswal_close(w);
	FILE *f = fopen(path, "r+b");
	fseek(f, (long)second + 2, SEEK_SET);
	fputc(0x10, f); /* the proposal claims a megabyte: past the end */
	fclose(f);
	w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w == NULL);
	CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
	CHECK(strstr(err, "corrupt") != NULL);
	if (w) {
		conswal_recs_free(out, got);
		conswal_close(w);
	}
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_EQ_U64(st.st_size, full); /* nothing cut */
	drop_wal(path, in, n);
}

/* A log as the version before the header check wrote it: frames of
 * len:u32 check:u32 body, with no file header. */
static void encode_v1(const struct conswal_rec *recs, size_t n, struct buf *b)
{
	for (size_t i = 0; i < n; i++) {
		struct buf f;
		buf_init(&f);
		conswal_encode(&recs[i], &f);
		buf_put(b, f.data, 8);
		buf_put(b, f.data + 12, f.len - 12);
		buf_free(&f);
	}
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(p, 1, n, f) == n);
		fclose(f);
	}
}

/* A version-1 log opens with all its records and is rewritten in the
 * current format at once; one that does not end with a whole frame (a torn
 * tail, or a damaged length: that format cannot tell them apart) is refused
 * and left as it was. */
static void test_version1_log(void)
{
	char path[] = "/tmp/assay-test-wal-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got;
	int rc;
	char err[256];
	struct buf b;
	buf_init(&b);
	encode_v1(in, n, &b);
	write_file(path, b.data, b.len);
	conswal_t *w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w != NULL);
	CHECK_EQ_U64(w ? got : 0, n);
	for (size_t i = 0; w && i < n && i < got; i++)
		CHECK(rec_equal(&in[i], &out[i]));
	if (w) {
		conswal_recs_free(out, got);
		CHECK(conswal_append(w, &in[3]) == 0);
		CHECK(conswal_sync(w) == 0);
		conswal_close(w);
	}
	struct buf now;
	buf_init(&now);
	conswal_encode_log(in, n, &now);
	conswal_encode(&in[3], &now);
	FILE *f = fopen(path, "rb");
	uint8_t *disk = malloc(now.len + 1);
	CHECK(f && fread(disk, 1, now.len + 1, f) == now.len);
	CHECK_EQ_MEM(disk, now.data, now.len); /* the current format, and the append after it */
	if (f)
		fclose(f);
	free(disk);
	buf_free(&now);
	/* cut short: refused, not cut */
	write_file(path, b.data, b.len - 3);
	w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w == NULL);
	CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
	CHECK(strstr(err, "version-1") != NULL);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (size_t)st.st_size == b.len - 3);
	buf_free(&b);
	drop_wal(path, in, n);
}

/* Damage that appears under a running log (the disk lost what was
 * written) is found by the next read, and leaves the log broken: nothing
 * more is appended or synced, so the driver signs nothing on it. */
static void test_damage_found_by_read_breaks(void)
{
	char path[32];
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got;
	char err[256];
	conswal_t *w = filled_wal(path, in, n);
	if (!w)
		return;
	CHECK(conswal_read(w, &out, &got, err, sizeof(err)) == 0 && got == n);
	conswal_recs_free(out, got);
	FILE *f = fopen(path, "r+b");
	fseek(f, 30, SEEK_SET); /* inside the first record's body */
	fputc(0xee, f);
	fclose(f);
	CHECK_EQ_INT(conswal_read(w, &out, &got, err, sizeof(err)), ASSAY_ECORRUPT);
	CHECK(out == NULL && got == 0);
	CHECK(conswal_append(w, &in[3]) != 0);
	CHECK_EQ_INT(conswal_sync(w), ASSAY_EIO);
	CHECK_EQ_INT(conswal_rewrite(w, in, 2), ASSAY_EIO); /* not replaced by what it read before */
	conswal_close(w);
	drop_wal(path, in, n);
}

/* A rotation whose directory fsync fails may not survive a power cut (the
 * old file could come back): the log is broken, as after a failed fsync,
 * and the file holds the new records whole. */
static void test_failed_dir_sync_breaks(void)
{
	char path[32];
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got;
	int rc;
	char err[256];
	conswal_t *w = filled_wal(path, in, n);
	if (!w)
		return;
	conswal_fail_next_dir_sync(w);
	CHECK_EQ_INT(conswal_rewrite(w, in, 2), ASSAY_EIO);
	CHECK(conswal_append(w, &in[3]) != 0);
	CHECK_EQ_INT(conswal_sync(w), ASSAY_EIO);
	conswal_close(w);
	w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w != NULL);
	CHECK_EQ_U64(w ? got : 0, 2);
	if (w) {
		conswal_recs_free(out, got);
		/* a rewrite after a fresh open is whole again */
		CHECK_EQ_INT(conswal_rewrite(w, in, 3), 0);
		CHECK(conswal_append(w, &in[3]) == 0);
		CHECK_EQ_INT(conswal_sync(w), 0);
		conswal_close(w);
	}
	drop_wal(path, in, n);
}

/* An fsync that fails leaves the log broken: the next one fails too,
 * though the disk might now take it, and so does every append, since the
 * kernel may have dropped the pages it could not write (a validator must not
 * sign on inputs the log may have lost). */
static void test_failed_sync_breaks(void)
{
	char path[32];
	struct conswal_rec in[9];
	size_t n = sample_records(in);
	conswal_t *w = fresh_wal(path);
	if (!w)
		return;
	CHECK(conswal_append(w, &in[0]) == 0);
	conswal_fail_next_sync(w);
	CHECK_EQ_INT(conswal_sync(w), ASSAY_EIO);
	CHECK_EQ_INT(conswal_sync(w), ASSAY_EIO);
	CHECK(conswal_append(w, &in[1]) != 0);
	CHECK_EQ_INT(conswal_sync(w), ASSAY_EIO);
	conswal_close(w);
	drop_wal(path, in, n);
}

/* An append that fails part way (here the write stops at RLIMIT_FSIZE, as
 * at a full disk) is cut back off the file: the next record follows the
 * last whole one, and the file opens again with every whole record in it,
 * instead of refusing a fragment in its middle. */
static void test_failed_append_cut_back(void)
{
	char path[] = "/tmp/assay-test-wal-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	struct conswal_rec in[9], *out;
	size_t n = sample_records(in), got;
	int rc;
	char err[256];
	conswal_t *w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w != NULL);
	if (!w)
		return;
	for (size_t i = 0; i < 2; i++)
		CHECK(conswal_append(w, &in[i]) == 0);
	struct conswal_rec big = in[2];
	big.block_len = 64 * 1024;
	big.block = calloc(1, big.block_len);
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)conswal_size(w) + 1000;
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CHECK_EQ_INT(conswal_append(w, &big), ASSAY_EIO);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, was);
	CHECK_EQ_INT(conswal_append(w, &in[3]), 0);
	CHECK_EQ_INT(conswal_sync(w), 0);
	conswal_close(w);
	w = conswal_open(path, &out, &got, &rc, err, sizeof(err));
	CHECK(w != NULL);
	CHECK_EQ_U64(w ? got : 0, 3);
	if (w) {
		CHECK(got == 3 && rec_equal(&out[2], &in[3]));
		conswal_recs_free(out, got);
		conswal_close(w);
	}
	free(big.block);
	drop_wal(path, in, n);
}

static bft_engine_t *engine(struct bft_valset *vs, struct signer *s)
{
	struct bft_validator v[4];
	memset(v, 0, sizeof(v));
	for (uint32_t i = 0; i < 4; i++) {
		test_key(i, v[i].pubkey);
		v[i].power = 1;
	}
	char err[128];
	CHECK(bft_valset_init(vs, v, 4, err, sizeof(err)) == 0);
	struct bft_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.chain_id, CHAIN, HASH_LEN);
	cfg.height = 1;
	bft_timeouts_local(&cfg.timeouts);
	cfg.is_validator = 1;
	test_key(2, cfg.self);
	struct bft_ops ops = {s, sign_vote, sign_proposal, fake_verify};
	return bft_create(&cfg, vs, &ops, err, sizeof(err));
}

static void drain(bft_engine_t *e)
{
	struct bft_output o;
	while (bft_next_output(e, &o))
		bft_output_free(&o);
}

/* An engine that locked VA in round 1 and moved to round 2 is rebuilt from
 * its log: same round, step and lock, and every signature it asks for again
 * is one it asked for before. */
static void test_replay_restores_lock(void)
{
	struct bft_valset vs1, vs2;
	struct signer s1 = {0}, s2 = {0};
	bft_engine_t *e = engine(&vs1, &s1);
	struct conswal_rec log[32];
	size_t n = 0;
	memset(log, 0, sizeof(log));
#define LOG(...) (log[n] = (struct conswal_rec){__VA_ARGS__}, conswal_feed(e, &log[n]), n++)
	LOG(.kind = CONSWAL_START, .height = 1, .round = 0);
	/* round 0 times out; round 1: proposal from validator 1, valid, three prevotes: lock */
	LOG(.kind = CONSWAL_TIMEOUT, .height = 1, .round = 0, .step = BFT_STEP_PROPOSE);
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PREVOTE, 1, 0, NULL, 0));
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PREVOTE, 1, 0, NULL, 1));
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PRECOMMIT, 1, 0, NULL, 0));
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PRECOMMIT, 1, 0, NULL, 1));
	LOG(.kind = CONSWAL_TIMEOUT, .height = 1, .round = 0, .step = BFT_STEP_PRECOMMIT);
	CHECK_EQ_U64(bft_round(e), 1);
	LOG(.kind = CONSWAL_PROPOSAL, .height = 1, .proposal = mk_prop(1, 1, VA, 1));
	{
		struct conswal_rec r = {.kind = CONSWAL_VALIDITY, .height = 1, .valid = 1};
		memcpy(r.value, VA, HASH_LEN);
		log[n] = r;
		conswal_feed(e, &log[n]);
		n++;
	}
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PREVOTE, 1, 1, VA, 0));
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PREVOTE, 1, 1, VA, 1));
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PRECOMMIT, 1, 1, NULL, 0));
	LOG(.kind = CONSWAL_VOTE, .height = 1, .vote = mk_vote(VOTE_PRECOMMIT, 1, 1, NULL, 1));
	LOG(.kind = CONSWAL_TIMEOUT, .height = 1, .round = 1, .step = BFT_STEP_PRECOMMIT);
#undef LOG
	uint8_t locked[HASH_LEN];
	CHECK_EQ_U64(bft_locked(e, locked), 1);
	CHECK(memcmp(locked, VA, HASH_LEN) == 0);
	CHECK_EQ_U64(bft_round(e), 2);
	drain(e);

	/* through the file format and into a fresh engine */
	struct buf b;
	buf_init(&b);
	struct conswal_rec head = {.kind = CONSWAL_HEIGHT, .height = 1};
	memcpy(head.value, CHAIN, HASH_LEN);
	conswal_encode_log(NULL, 0, &b);
	conswal_encode(&head, &b);
	for (size_t i = 0; i < n; i++)
		conswal_encode(&log[i], &b);
	struct conswal_rec *recs;
	size_t got, good;
	char err[256];
	CHECK(conswal_parse(b.data, b.len, &recs, &got, &good, err, sizeof(err)) == 0 && got == n + 1);
	bft_engine_t *f = engine(&vs2, &s2);
	for (size_t i = 0; i < got; i++)
		conswal_feed(f, &recs[i]);
	drain(f);
	CHECK_EQ_U64(bft_round(f), bft_round(e));
	CHECK_EQ_U64(bft_step(f), bft_step(e));
	uint8_t locked2[HASH_LEN], valid1[HASH_LEN], valid2[HASH_LEN];
	CHECK_EQ_U64(bft_locked(f, locked2), 1);
	CHECK(memcmp(locked2, VA, HASH_LEN) == 0);
	CHECK_EQ_U64(bft_valid(f, valid2), bft_valid(e, valid1));
	CHECK(memcmp(valid1, valid2, HASH_LEN) == 0);
	/* the same signatures, in the same order, ending on the same one */
	CHECK_EQ_U64(s2.nsigned, s1.nsigned);
	CHECK(memcmp(s1.last, s2.last, HASH_LEN) == 0);
	/* the lock holds: round 2's proposer is ourselves (validator 2), and it
	 * re-proposes the value it holds with its proof-of-lock round */
	struct bft_output o;
	int reproposed = 0;
	bft_rebroadcast(f);
	while (bft_next_output(f, &o)) {
		reproposed |= o.kind == BFT_OUT_PROPOSAL && o.proposal.round == 2 &&
			      memcmp(o.proposal.value, VA, HASH_LEN) == 0 && o.proposal.pol_round == 1;
		bft_output_free(&o);
	}
	CHECK(reproposed);
	conswal_recs_free(recs, got);
	buf_free(&b);
	bft_destroy(e);
	bft_destroy(f);
	bft_valset_free(&vs1);
	bft_valset_free(&vs2);
}

static const struct test_case tests[] = {
	TEST(test_codec_roundtrip),
	TEST(test_torn_tail_and_corruption),
	TEST(test_damaged_length_is_not_a_torn_tail),
	TEST(test_file),
	TEST(test_open_refuses_damaged_length),
	TEST(test_failed_append_cut_back),
	TEST(test_failed_sync_breaks),
	TEST(test_version1_log),
	TEST(test_damage_found_by_read_breaks),
	TEST(test_failed_dir_sync_breaks),
	TEST(test_replay_restores_lock),
};

int main(void)
{
	return test_main("test_consensus_wal", keys_init, tests, TEST_COUNT(tests));
}
