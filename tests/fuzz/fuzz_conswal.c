// fuzz-sources: node/conswal.c consensus/bft/*.c core/*.c
/* libFuzzer target for the consensus WAL reader (node/conswal.h): any bytes
 * after a selector byte as a log image (selector odd: each frame's check is
 * first made right, so mutations reach the record decoders). Whatever
 * parses must cover a prefix of the input and re-encode to exactly that
 * prefix (a version-1 log, parsed only whole, must cover all of it); the
 * records are then fed to a
 * 4-validator engine as a restarted node would: no crash, whatever the file
 * holds. Built with -DFUZZ_DRIVER, a main() feeds it mutations of a valid
 * log so that `make check` runs it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/bft/bft.h"
#include "node/conswal.h"
#include "tests/fuzz/fuzz_bft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t CHAIN[HASH_LEN] = {9};

static void replay(const struct conswal_rec *recs, size_t n)
{
	static const uint64_t powers[4] = {1, 1, 1, 1};
	struct bft_valset vals;
	bft_engine_t *e = fuzz_bft_engine(CHAIN, powers, 2, &vals);
	for (size_t i = 0; i < n; i++) {
		conswal_feed(e, &recs[i]);
		struct bft_output o;
		while (bft_next_output(e, &o))
			bft_output_free(&o);
	}
	bft_destroy(e);
	bft_valset_free(&vals);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A version-1 log: bytes that do not start as the file header does. */
static int is_v1(const uint8_t *p, size_t size)
{
	return size > 0 && memcmp(p, "AWAL", size < 4 ? size : 4) != 0;
}

/* Rewrites the checks of every frame in p: the body check of each whole
 * one, and the header check (after a file header) of each whose header is
 * there, so that a frame cut short reads as a torn tail. */
static void fix_checks(uint8_t *p, size_t size)
{
	int v1 = is_v1(p, size);
	size_t pos = v1 ? 0 : 8, hlen = v1 ? 8 : 12;
	while (pos <= size && size - pos >= hlen) {
		uint32_t len = get_u32(p + pos);
		uint8_t h[HASH_LEN];
		int whole = len <= size - pos - hlen;
		if (whole) {
			sha256(p + pos + hlen, len, h);
			memcpy(p + pos + 4, h, 4);
		}
		if (!v1) {
			sha256(p + pos, 8, h);
			memcpy(p + pos + 8, h, 4);
		}
		if (!whole)
			break;
		pos += hlen + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t insize)
{
	struct conswal_rec *recs;
	size_t n, good;
	char err[200];
	if (insize == 0)
		return 0;
	size_t size = insize - 1;
	uint8_t *data = malloc(size ? size : 1);
	if (!data)
		return 0;
	memcpy(data, in + 1, size);
	if (in[0] & 1)
		fix_checks(data, size);
	if (conswal_parse(data, size, &recs, &n, &good, err, sizeof(err)) != 0) {
		free(data);
		return 0;
	}
	if (good > size)
		abort();
	/* what parses re-encodes to the prefix it covers (a version-1 log,
	 * which parses only whole, in this version's format) */
	struct buf b;
	buf_init(&b);
	conswal_encode_log(recs, n, &b);
	if (is_v1(data, size)) {
		if (good != size)
			abort();
	} else if (good == 0) {
		if (n || size >= 8)
			abort(); /* only a file header cut short covers nothing */
	} else if (b.oom || b.len != good || memcmp(b.data, data, good) != 0) {
		abort(); /* parsed but not what the bytes say */
	}
	buf_free(&b);
	replay(recs, n);
	conswal_recs_free(recs, n);
	free(data);
	return 0;
}

#ifdef FUZZ_DRIVER
#include <stdio.h>

/* Seed: a log of height 1 with every record kind, then random mutations. */
int main(void)
{
	struct conswal_rec r[9];
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 9; i++)
		r[i].height = 1;
	r[0].kind = CONSWAL_HEIGHT;
	memcpy(r[0].value, CHAIN, HASH_LEN);
	r[1].kind = CONSWAL_START;
	r[2].kind = CONSWAL_PROPOSAL;
	r[2].proposal.height = 1;
	r[2].proposal.pol_round = BFT_POL_NONE;
	memset(r[2].proposal.value, 0x44, HASH_LEN);
	r[2].proposal.proposer[0] = 1;
	memset(r[2].proposal.sig, 0x5a, SIG_LEN);
	r[3].kind = CONSWAL_VALIDITY;
	r[3].valid = 1;
	memset(r[3].value, 0x44, HASH_LEN);
	for (int i = 4; i < 7; i++) {
		r[i].kind = CONSWAL_VOTE;
		r[i].vote.type = VOTE_PREVOTE;
		r[i].vote.height = 1;
		r[i].vote.has_value = 1;
		memset(r[i].vote.value, 0x44, HASH_LEN);
		r[i].vote.validator[0] = (uint8_t)(i - 3);
		memset(r[i].vote.sig, 0x5a, SIG_LEN);
	}
	r[7].kind = CONSWAL_TIMEOUT;
	r[7].step = BFT_STEP_PRECOMMIT;
	r[8].kind = CONSWAL_SIGNED;
	r[8].step = 1;
	memset(r[8].value, 0x44, HASH_LEN);
	struct buf seed;
	buf_init(&seed);
	buf_put_u8(&seed, 0);
	conswal_encode_log(r, 9, &seed);
	uint64_t rs = 88172645463325252ull;
	static uint8_t in[4096];
	long runs = 0;
	size_t len = seed.len < sizeof(in) ? seed.len : sizeof(in);
	for (int t = 0; t < 120; t++, runs++) { /* up to ~0.1 s each: a mutated round steps the proposer order that far; longer runs: scripts/fuzz */
		size_t n = len;
		memcpy(in, seed.data, n);
		in[0] = (uint8_t)(t & 1);
		int flips = t ? 1 + t % 4 : 0;
		for (int k = 0; k < flips; k++) {
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			in[1 + rs % (n - 1)] = (uint8_t)(rs >> 32);
		}
		if (t % 7 == 3)
			n = 1 + rs % n; /* cut anywhere, as a crash would */
		LLVMFuzzerTestOneInput(in, n);
	}
	buf_free(&seed);
	printf("fuzz_conswal: %ld inputs, no crash\n", runs);
	return 0;
}
#endif
