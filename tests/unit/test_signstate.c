/* Tests of the sign-state file (node/signstate.c): what was signed is kept
 * across a reopen, nothing below it or beside it is allowed, the very same
 * signature is; a proposal of the same block at the same (height, round)
 * with another pol_round is a conflict; a file that is not one whole line
 * (torn, empty, with bytes behind it) stops the node; each new line is
 * written to a temporary file and renamed over the old. Not for: when the node signs (test_node_consensus) or the
 * write-ahead log (test_consensus_wal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "node/signstate.h"
#include "test.h"

static const uint8_t CHAIN[HASH_LEN] = {0xc0, 0x5e};
static const uint8_t VX[HASH_LEN] = {0xa1, 1};
static const uint8_t VY[HASH_LEN] = {0xb2, 2};
static const uint8_t NIL[HASH_LEN] = {0};
static char dir[256];

static int setup(void)
{
	int len = snprintf(dir, sizeof(dir) - 7, "%s/assay-test-", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	memset(dir + len, 'X', 6);
	dir[len + 6] = 0;
	return mkdtemp(dir) ? 0 : -1;
}

/* A fresh path in the test's directory. */
static const char *fresh(const char *name)
{
	static char path[400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	return path;
}

static signstate_t *open_ok(const char *path)
{
	signstate_t *s = NULL;
	char err[256];
	CHECK_EQ_INT(signstate_open(path, &s, err, sizeof(err)), 0);
	return s;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void test_kept_across_reopen(void)
{
	const char *path = fresh("kept");
	signstate_t *s = open_ok(path);
	CHECK(!signstate_last(s)->any);
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PREVOTE, VX), 0);
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PREVOTE, VX), 0); /* the same again */
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PREVOTE, VY), ASSAY_EEXISTS);
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PROPOSAL, VX), ASSAY_EEXISTS); /* an earlier step */
	CHECK_EQ_INT(signstate_allow(s, 4, 9, SIGNSTATE_PRECOMMIT, VX), ASSAY_EEXISTS);
	signstate_close(s);

	s = open_ok(path); /* a restart, or kill -9 after the fsync */
	const struct signstate_last *l = signstate_last(s);
	CHECK(l->any && l->height == 5 && l->round == 0 && l->step == SIGNSTATE_PREVOTE);
	CHECK(memcmp(l->value, VX, HASH_LEN) == 0);
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PREVOTE, VY), ASSAY_EEXISTS);
	CHECK_EQ_INT(signstate_cmp(s, 5, 0, SIGNSTATE_PRECOMMIT), 1);
	CHECK_EQ_INT(signstate_cmp(s, 5, 0, SIGNSTATE_PROPOSAL), -1);
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PRECOMMIT, NIL), 0);
	CHECK_EQ_INT(signstate_allow(s, 5, 1, SIGNSTATE_PROPOSAL, VY), 0);
	signstate_close(s);

	FILE *f = fopen(path, "r");
	char line[256] = {0};
	CHECK(f && fgets(line, sizeof(line), f));
	if (f)
		fclose(f);
	char want[256];
	snprintf(want, sizeof(want), "5 1 0 b202%060d\n", 0);
	CHECK(strcmp(line, want) == 0);
}

/* The value of a proposal is its whole sighash: the engine signs one
 * proposal per (height, round), and a replay that diverged (a log that lost
 * records in a power cut) must not sign the same block there with another
 * pol_round, two signed proposals of one round. */
static void test_proposal_pol_round(void)
{
	struct bft_proposal p;
	memset(&p, 0, sizeof(p));
	p.height = 7;
	p.round = 2;
	p.pol_round = BFT_POL_NONE;
	memcpy(p.value, VX, HASH_LEN);
	uint8_t none[HASH_LEN], pol1[HASH_LEN], again[HASH_LEN];
	signstate_proposal_value(CHAIN, &p, none);
	p.pol_round = 1;
	signstate_proposal_value(CHAIN, &p, pol1);
	p.pol_round = BFT_POL_NONE;
	signstate_proposal_value(CHAIN, &p, again);
	CHECK(memcmp(none, pol1, HASH_LEN) != 0);
	CHECK(memcmp(none, again, HASH_LEN) == 0);
	CHECK(memcmp(none, VX, HASH_LEN) != 0); /* not the block hash alone */

	signstate_t *s = open_ok(fresh("proposal"));
	CHECK_EQ_INT(signstate_allow(s, 7, 2, SIGNSTATE_PROPOSAL, none), 0);
	CHECK_EQ_INT(signstate_allow(s, 7, 2, SIGNSTATE_PROPOSAL, pol1), ASSAY_EEXISTS);
	CHECK_EQ_INT(signstate_allow(s, 7, 2, SIGNSTATE_PROPOSAL, again), 0);
	signstate_close(s);

	/* a vote's value is its block hash, all zero for nil */
	struct bft_vote v;
	memset(&v, 0, sizeof(v));
	uint8_t value[HASH_LEN];
	memset(value, 0xee, HASH_LEN);
	signstate_vote_value(&v, value);
	CHECK(memcmp(value, NIL, HASH_LEN) == 0);
	v.has_value = 1;
	memcpy(v.value, VY, HASH_LEN);
	signstate_vote_value(&v, value);
	CHECK(memcmp(value, VY, HASH_LEN) == 0);
}

/* What a crash, a full disk or a failed copy can leave, and what used to
 * pass: a file that is not exactly one whole line is refused, never read as
 * a different signature or as none. */
static void test_corrupt_refused(void)
{
	static const char *bad[] = {
		"garbage\n",
		"5 0 3 a101000000000000000000000000000000000000000000000000000000000000\n", /* no step 3 */
		"5 0 1 a101\n",                                                                /* short value */
		"5 0 1 zz01000000000000000000000000000000000000000000000000000000000000\n",
		"5 0 1 a1010000000000000000000000000000", /* cut mid-line */
		"5 0 1 a101000000000000000000000000000000000000000000000000000000000000",   /* cut before its newline */
		/* a shorter line written in place over "10 12 2 ...": the old tail */
		"11 0 0 a101000000000000000000000000000000000000000000000000000000000000\n\n",
		"5 0 1 a10100000000000000000000000000000000000000000000000000000000000000\n", /* a longer value */
		"-5 0 1 a101000000000000000000000000000000000000000000000000000000000000\n",
		" 5 0 1 a101000000000000000000000000000000000000000000000000000000000000\n",
		"5 4294967296 1 a101000000000000000000000000000000000000000000000000000000000000\n",
		"18446744073709551616 0 1 a101000000000000000000000000000000000000000000000000000000000000\n",
		"", /* empty: the file is never left so, and "nothing signed" would forget what was */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = fresh("corrupt");
		write_file(path, bad[i]);
		signstate_t *s = (signstate_t *)1;
		char err[256] = {0};
		int rc = signstate_open(path, &s, err, sizeof(err));
		if (rc != ASSAY_ECORRUPT)
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
		CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
		CHECK(rc != 0 || s == NULL);
		CHECK(strstr(err, "refusing to sign") != NULL);
		CHECK(strstr(err, bad[i][0] ? "torn or corrupt" : "empty") != NULL);
		if (rc == 0)
			signstate_close(s);
	}
	/* the largest numbers there are */
	const char *path = fresh("corrupt");
	write_file(path, "18446744073709551615 4294967295 2 a101000000000000000000000000000000000000000000000000000000000000\n");
	signstate_t *s = open_ok(path);
	CHECK(s && signstate_last(s)->height == UINT64_MAX && signstate_last(s)->round == UINT32_MAX);
	signstate_close(s);
	/* a directory that is not there */
	char missing[450], err[256];
	snprintf(missing, sizeof(missing), "%s/no/such/dir/signstate", dir);
	CHECK_EQ_INT(signstate_open(missing, &s, err, sizeof(err)), ASSAY_EIO);
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* No file is a key that never signed; opening makes none (an empty file
 * would be refused); the first signature makes it. */
static void test_no_file_until_signed(void)
{
	const char *path = fresh("first");
	signstate_t *s = open_ok(path);
	CHECK(s && !signstate_last(s)->any);
	CHECK(!exists(path));
	CHECK_EQ_INT(signstate_allow(s, 1, 0, SIGNSTATE_PREVOTE, VX), 0);
	CHECK(exists(path));
	signstate_close(s);
	s = open_ok(path);
	CHECK(s && signstate_last(s)->any && signstate_last(s)->height == 1);
	signstate_close(s);
}

/* Each new line goes to signstate.tmp and is renamed over the file, so the
 * file holds the old line or the new one, whole, whatever fails: here the
 * temporary file cannot be written (a directory stands in its way), the
 * signature is refused and the old line is kept, on disk and in memory. A
 * stale temporary file, as a crash before its rename leaves, is removed at
 * open and never read: its signature was never released. */
static void test_written_through_a_temporary_file(void)
{
	const char *path = fresh("atomic");
	char tmp[450];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	signstate_t *s = open_ok(path);
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PREVOTE, VX), 0);
	CHECK(!exists(tmp)); /* renamed */
	CHECK(mkdir(tmp, 0700) == 0);
	CHECK_EQ_INT(signstate_allow(s, 5, 0, SIGNSTATE_PRECOMMIT, VX), ASSAY_EIO);
	CHECK(rmdir(tmp) == 0);
	const struct signstate_last *l = signstate_last(s);
	CHECK(l->height == 5 && l->step == SIGNSTATE_PREVOTE); /* not what was refused */
	signstate_close(s);
	s = open_ok(path);
	l = signstate_last(s);
	CHECK(l->height == 5 && l->round == 0 && l->step == SIGNSTATE_PREVOTE);
	signstate_close(s);

	/* a crash after the temporary file was written, before the rename */
	write_file(tmp, "9 0 2 b202000000000000000000000000000000000000000000000000000000000000\n");
	s = open_ok(path);
	l = signstate_last(s);
	CHECK(l->height == 5 && l->step == SIGNSTATE_PREVOTE);
	CHECK(!exists(tmp));
	signstate_close(s);
	/* and one that tore the temporary file itself */
	write_file(tmp, "9 0 2 b2");
	s = open_ok(path);
	CHECK(s && signstate_last(s)->height == 5);
	CHECK(!exists(tmp));
	signstate_close(s);
}

static void teardown(void)
{
	unlink(fresh("kept"));
	unlink(fresh("proposal"));
	unlink(fresh("corrupt"));
	unlink(fresh("first"));
	unlink(fresh("atomic"));
	rmdir(dir);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_kept_across_reopen),
		TEST(test_proposal_pol_round),
		TEST(test_corrupt_refused),
		TEST(test_no_file_until_signed),
		TEST(test_written_through_a_temporary_file),
		TEST(teardown),
	};
	return test_main("test_signstate", setup, cases, TEST_COUNT(cases));
}
