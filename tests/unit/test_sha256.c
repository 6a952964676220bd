/* Unit tests for core/sha256.c, run once per compression path (portable C,
 * and the x86 SHA extensions where this CPU has them): FIPS 180-4 vectors
 * through every entry point (one-shot, two-part, streaming), equality with
 * OpenSSL's SHA-256 for every length up to 1100 bytes at random split
 * points, and the tagged hash H_tag(m) = SHA256(SHA256(tag) || SHA256(tag)
 * || m) checked against a by-hand computation and against OpenSSL,
 * including more tags than the per-thread midstate cache. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/sha256.h"
#include "tests/unit/test.h"

static void check_hex(const uint8_t h[HASH_LEN], const char *want)
{
	char got[2 * HASH_LEN + 1];
	hex_encode(h, HASH_LEN, got);
	CHECK(strcmp(got, want) == 0);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "  got  %s\n  want %s\n", got, want);
}

/* FIPS 180-2 Appendix B. */
#define ABC_HASH "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MSG448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define MSG448_HASH "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MILLION_A_HASH "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define MSG896                                                                             \
	"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq" \
	"klmnopqrlmnopqrsmnopqrstnopqrstu"
#define MSG896_HASH "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"

/* The reference: OpenSSL's SHA-256, over the concatenation of up to three parts. */
static void evp_sha256(const void *a, size_t na, const void *b, size_t nb, const void *c, size_t nc,
		       uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	CHECK(ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
	EVP_DigestUpdate(ctx, a, na);
	EVP_DigestUpdate(ctx, b, nb);
	EVP_DigestUpdate(ctx, c, nc);
	EVP_DigestFinal_ex(ctx, out, &len);
	CHECK(len == HASH_LEN);
	EVP_MD_CTX_free(ctx);
}

/* A fixed-seed xorshift: the same "random" lengths and splits every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* A tag new to each pass, so each path computes its own midstate. */
static const char *pass_tag;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_fips_vectors(void)
{
	uint8_t h[HASH_LEN];
	sha256("abc", 3, h);
	check_hex(h, ABC_HASH);
	sha256(MSG448, strlen(MSG448), h);
	check_hex(h, MSG448_HASH);
	sha256("", 0, h);
	check_hex(h, EMPTY_HASH);
	sha256(MSG896, strlen(MSG896), h);
	check_hex(h, MSG896_HASH);
	/* One million 'a' in one call: many blocks through one compression call. */
	static char million[1000000];
	memset(million, 'a', sizeof(million));
	sha256(million, sizeof(million), h);
	check_hex(h, MILLION_A_HASH);
	/* Split at every point through sha256_2. */
	static const char msg448[] = MSG448;
	size_t n = strlen(msg448);
	for (size_t k = 0; k <= n; k++) {
		sha256_2(msg448, k, msg448 + k, n - k, h);
		check_hex(h, MSG448_HASH);
	}
}

static void test_stream(void)
{
	uint8_t h[HASH_LEN];
	sha256_stream_t *s = sha256_stream_new();
	CHECK(s != NULL);
	/* One million 'a' in uneven chunks (FIPS 180-2 B.3). */
	char chunk[1000];
	memset(chunk, 'a', sizeof(chunk));
	sha256_stream_begin(s, NULL);
	size_t left = 1000000, step = 1;
	while (left) {
		size_t take = step < left ? step : left;
		if (take > sizeof(chunk))
			take = sizeof(chunk);
		sha256_stream_update(s, chunk, take);
		left -= take;
		step = step * 3 + 1;
	}
	sha256_stream_final(s, h);
	check_hex(h, MILLION_A_HASH);
	/* The stream can be reused. */
	sha256_stream_begin(s, NULL);
	sha256_stream_update(s, "abc", 3);
	sha256_stream_final(s, h);
	check_hex(h, ABC_HASH);
	sha256_stream_free(s);
}

/* SHA256(SHA256(tag) || SHA256(tag) || m), built from the plain hash. */
static void tagged_by_hand(const char *tag, const void *m, size_t n, uint8_t out[HASH_LEN])
{
	uint8_t th[HASH_LEN];
	sha256(tag, strlen(tag), th);
	uint8_t *all = malloc(2 * HASH_LEN + n + 1);
	memcpy(all, th, HASH_LEN);
	memcpy(all + HASH_LEN, th, HASH_LEN);
	if (n)
		memcpy(all + 2 * HASH_LEN, m, n);
	sha256(all, 2 * HASH_LEN + n, out);
	free(all);
}

static void test_tagged(void)
{
	uint8_t a[HASH_LEN], b[HASH_LEN];
	const char *msg = "the quick brown fox";
	tagged_by_hand("assay/tx", msg, strlen(msg), a);
	hash_tagged("assay/tx", msg, strlen(msg), b);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	/* Twice more: the second call comes from the cached midstate. */
	hash_tagged("assay/tx", msg, strlen(msg), b);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	/* A tag equal by content but at another address hits the same cache. */
	char copy[] = "assay/tx";
	hash_tagged(copy, msg, strlen(msg), b);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	/* Another tag gives another hash; untagged differs from tagged. */
	hash_tagged("assay/block", msg, strlen(msg), b);
	CHECK(memcmp(a, b, HASH_LEN) != 0);
	sha256(msg, strlen(msg), b);
	CHECK(memcmp(a, b, HASH_LEN) != 0);
	/* hash_tagged2 equals hash_tagged of the concatenation. */
	hash_tagged2("assay/tx", msg, 4, msg + 4, strlen(msg) - 4, b);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	/* Empty message. */
	tagged_by_hand("assay/vote", "", 0, a);
	hash_tagged("assay/vote", "", 0, b);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	/* Tagged streaming. */
	sha256_stream_t *s = sha256_stream_new();
	sha256_stream_begin(s, "assay/tx");
	sha256_stream_update(s, msg, 7);
	sha256_stream_update(s, msg + 7, strlen(msg) - 7);
	sha256_stream_final(s, b);
	tagged_by_hand("assay/tx", msg, strlen(msg), a);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	sha256_stream_free(s);
}

/* Every length 0..1100 (0 to 17 blocks and every fill of the last one),
 * each as one call, as two parts and as a stream cut at random points. */
static void test_against_evp(void)
{
	enum { MAX_LEN = 1100 };
	static uint8_t msg[MAX_LEN];
	for (size_t i = 0; i < MAX_LEN; i++)
		msg[i] = (uint8_t)rng_next();
	sha256_stream_t *s = sha256_stream_new();
	CHECK(s != NULL);
	int bad_one = 0, bad_two = 0, bad_stream = 0, bad_tagged = 0, bad_x2 = 0;
	for (size_t n = 0; n <= MAX_LEN; n++) {
		uint8_t want[HASH_LEN], got[HASH_LEN];
		evp_sha256(msg, n, NULL, 0, NULL, 0, want);
		sha256(msg, n, got);
		bad_one += memcmp(want, got, HASH_LEN) != 0;
		size_t k = n ? (size_t)(rng_next() % (n + 1)) : 0;
		sha256_2(msg, k, msg + k, n - k, got);
		bad_two += memcmp(want, got, HASH_LEN) != 0;
		sha256_stream_begin(s, NULL);
		for (size_t off = 0; off < n;) {
			size_t take = (size_t)(rng_next() % 150);
			if (take > n - off)
				take = n - off;
			sha256_stream_update(s, msg + off, take);
			off += take;
		}
		sha256_stream_final(s, got);
		bad_stream += memcmp(want, got, HASH_LEN) != 0;
		/* H_tag(m) against OpenSSL over SHA256(tag) || SHA256(tag) || m. */
		uint8_t th[HASH_LEN];
		evp_sha256(pass_tag, strlen(pass_tag), NULL, 0, NULL, 0, th);
		evp_sha256(th, HASH_LEN, th, HASH_LEN, msg, n, want);
		hash_tagged2(pass_tag, msg, k, msg + k, n - k, got);
		bad_tagged += memcmp(want, got, HASH_LEN) != 0;
		sha256_stream_begin(s, pass_tag);
		sha256_stream_update(s, msg, k);
		sha256_stream_update(s, msg + k, n - k);
		sha256_stream_final(s, got);
		bad_tagged += memcmp(want, got, HASH_LEN) != 0;
		/* two at once: this message and its reverse, tagged and not */
		uint8_t rev[MAX_LEN], want_rev[HASH_LEN], got_rev[HASH_LEN];
		for (size_t i = 0; i < n; i++)
			rev[i] = msg[n - 1 - i];
		evp_sha256(th, HASH_LEN, th, HASH_LEN, rev, n, want_rev);
		hash_tagged_x2(pass_tag, msg, rev, n, got, got_rev);
		bad_x2 += memcmp(want, got, HASH_LEN) != 0 || memcmp(want_rev, got_rev, HASH_LEN) != 0;
		evp_sha256(msg, n, NULL, 0, NULL, 0, want);
		evp_sha256(rev, n, NULL, 0, NULL, 0, want_rev);
		hash_tagged_x2(NULL, msg, rev, n, got, got_rev);
		bad_x2 += memcmp(want, got, HASH_LEN) != 0 || memcmp(want_rev, got_rev, HASH_LEN) != 0;
	}
	sha256_stream_free(s);
	CHECK_EQ_INT(bad_x2, 0);
	CHECK_EQ_INT(bad_one, 0);
	CHECK_EQ_INT(bad_two, 0);
	CHECK_EQ_INT(bad_stream, 0);
	CHECK_EQ_INT(bad_tagged, 0);
}

static void test_many_tags(void)
{
	/* More distinct tags than the cache holds: all still correct. */
	static char tags[80][24];
	int bad = 0;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 80; i++) {
			uint8_t a[HASH_LEN], b[HASH_LEN];
			snprintf(tags[i], sizeof(tags[i]), "assay/test/%d", i);
			tagged_by_hand(tags[i], "m", 1, a);
			hash_tagged(tags[i], "m", 1, b);
			bad += memcmp(a, b, HASH_LEN) != 0;
		}
	}
	CHECK(bad == 0);
}

static void test_tag_in_reused_buffer(void)
{
	/* A tag built in a buffer that is later rewritten must hash as what
	 * the buffer holds at each call, not as what it held the first time. */
	char tag[32];
	int bad = 0;
	for (int i = 0; i < 5; i++) {
		uint8_t a[HASH_LEN], b[HASH_LEN];
		snprintf(tag, sizeof(tag), "assay/reused/%d", i);
		tagged_by_hand(tag, "m", 1, a);
		hash_tagged(tag, "m", 1, b);
		bad += memcmp(a, b, HASH_LEN) != 0;
	}
	CHECK(bad == 0);
}

static void run_all(void)
{
	RUN(test_fips_vectors);
	RUN(test_stream);
	RUN(test_tagged);
	RUN(test_against_evp);
}

int main(void)
{
	/* The tag cache is shared by both passes, so the cache tests run once,
	 * in the order they need (before and after it fills). */
	CHECK(sha256_select(SHA256_IMPL_PORTABLE));
	fprintf(stderr, "-- portable\n");
	pass_tag = "assay/test/portable";
	run_all();
	RUN(test_tag_in_reused_buffer); /* before the cache is full */
	if (sha256_select(SHA256_IMPL_OPENSSL)) {
		fprintf(stderr, "-- OpenSSL's block function\n");
		pass_tag = "assay/test/openssl";
		run_all();
	} else {
		fprintf(stderr, "-- OpenSSL's block function: not in this build, skipped\n");
	}
	if (sha256_select(SHA256_IMPL_SHANI)) {
		fprintf(stderr, "-- SHA extensions\n");
		pass_tag = "assay/test/shani";
		run_all();
	} else {
		fprintf(stderr, "-- SHA extensions: not on this CPU, skipped\n");
	}
	RUN(test_many_tags);
	CHECK(sha256_select(SHA256_IMPL_BEST));
	return test_report("test_sha256");
}
