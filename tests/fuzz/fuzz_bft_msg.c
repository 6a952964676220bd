// fuzz-sources: consensus/bft/*.c core/*.c
/* libFuzzer target for the BFT message decoders (consensus/bft/msg.h). The
 * first byte picks the decoder (vote, proposal, evidence); whatever decodes
 * must re-encode to exactly the input. Selector 3 cuts the rest into votes
 * and proposals and feeds them to a 4-validator engine: no crash, whatever
 * arrives. Built with -DFUZZ_DRIVER, a main() feeds it mutations of valid
 * encodings so that `make check` runs it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/bft/bft.h"
#include "tests/fuzz/fuzz_bft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t CHAIN[HASH_LEN] = {7};

static void same(const struct buf *b, const uint8_t *p, size_t n)
{
	if (b->oom || b->len != n || memcmp(b->data, p, n) != 0)
		abort(); /* accepted but not canonical */
}

static void drive_engine(const uint8_t *p, size_t n)
{
	static const uint64_t powers[4] = {1, 2, 3, 4};
	struct bft_valset vals;
	bft_engine_t *e = fuzz_bft_engine(CHAIN, powers, 4, &vals);
	bft_start(e);
	/* each record: kind:u8 len:u8 bytes; kind picks proposal, vote, timeout, validity */
	size_t at = 0;
	while (at + 2 <= n) {
		uint8_t kind = p[at], len = p[at + 1];
		at += 2;
		if (len > n - at)
			len = (uint8_t)(n - at);
		const uint8_t *body = p + at;
		at += len;
		struct bft_vote vote;
		struct bft_proposal prop;
		switch (kind % 4) {
		case 0:
			if (bft_proposal_decode(&prop, body, len) == 0)
				bft_on_proposal(e, &prop);
			break;
		case 1:
			if (bft_vote_decode(&vote, body, len) == 0)
				bft_on_vote(e, &vote);
			break;
		case 2:
			bft_on_timeout(e, (enum bft_step)(len % 3), 1 + (kind >> 6), kind >> 2 & 15);
			break;
		default:
			if (len >= HASH_LEN)
				bft_on_validity(e, bft_height(e), body, kind >> 7);
			else
				bft_rebroadcast(e);
			break;
		}
		struct bft_output o;
		while (bft_next_output(e, &o)) {
			if (o.kind == BFT_OUT_GET_VALUE)
				bft_on_value(e, o.height, o.round, (const uint8_t[HASH_LEN]){1, 2, 3});
			bft_output_free(&o);
		}
	}
	bft_destroy(e);
	bft_valset_free(&vals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	struct buf b;
	buf_init(&b);
	switch (data[0] % 4) {
	case 0: {
		struct bft_vote v;
		if (bft_vote_decode(&v, p, n) == 0) {
			bft_vote_encode(&v, &b);
			same(&b, p, n);
		}
		break;
	}
	case 1: {
		struct bft_proposal pr;
		if (bft_proposal_decode(&pr, p, n) == 0) {
			bft_proposal_encode(&pr, &b);
			same(&b, p, n);
		}
		break;
	}
	case 2: {
		struct bft_evidence ev;
		if (bft_evidence_decode(&ev, p, n) == 0) {
			bft_evidence_encode(&ev, &b);
			same(&b, p, n);
		}
		break;
	}
	default:
		drive_engine(p, n);
		break;
	}
	buf_free(&b);
	return 0;
}

#ifdef FUZZ_DRIVER
#include <stdio.h>

/* Seeds: one valid encoding per selector, then random byte mutations. */
int main(void)
{
	struct buf seeds[4];
	for (int i = 0; i < 4; i++) {
		buf_init(&seeds[i]);
		buf_put_u8(&seeds[i], (uint8_t)i);
	}
	struct bft_vote v;
	memset(&v, 0, sizeof(v));
	v.type = VOTE_PRECOMMIT;
	v.height = 1;
	v.round = 2;
	v.has_value = 1;
	memset(v.value, 0x33, HASH_LEN);
	v.validator[0] = 2;
	memset(v.sig, 0x5a, SIG_LEN);
	bft_vote_encode(&v, &seeds[0]);
	struct bft_proposal pr;
	memset(&pr, 0, sizeof(pr));
	pr.height = 1;
	pr.round = 3;
	pr.pol_round = 1;
	memset(pr.value, 0x44, HASH_LEN);
	pr.proposer[0] = 1;
	memset(pr.sig, 0x5a, SIG_LEN);
	bft_proposal_encode(&pr, &seeds[1]);
	struct bft_vote w = v;
	w.has_value = 0;
	memset(w.value, 0, HASH_LEN);
	struct bft_evidence ev;
	if (bft_evidence_make(&ev, &v, &w))
		abort();
	bft_evidence_encode(&ev, &seeds[2]);
	/* an engine script: proposals and votes of round 0 from every validator */
	for (uint8_t who = 1; who <= 4; who++) {
		struct buf one;
		buf_init(&one);
		pr.round = 0;
		pr.pol_round = BFT_POL_NONE;
		pr.proposer[0] = who;
		bft_proposal_encode(&pr, &one);
		buf_put_u8(&seeds[3], 0);
		buf_put_u8(&seeds[3], (uint8_t)one.len);
		buf_put(&seeds[3], one.data, one.len);
		buf_reset(&one);
		for (uint8_t type = VOTE_PREVOTE; type <= VOTE_PRECOMMIT; type++) {
			struct bft_vote x = v;
			x.type = type;
			x.round = 0;
			memcpy(x.value, pr.value, HASH_LEN);
			x.validator[0] = who;
			buf_reset(&one);
			bft_vote_encode(&x, &one);
			buf_put_u8(&seeds[3], 1);
			buf_put_u8(&seeds[3], (uint8_t)one.len);
			buf_put(&seeds[3], one.data, one.len);
		}
		buf_free(&one);
	}
	buf_put_u8(&seeds[3], 3);
	buf_put_u8(&seeds[3], HASH_LEN);
	buf_put(&seeds[3], pr.value, HASH_LEN);
	uint64_t rs = 88172645463325252ull;
	static uint8_t in[4096];
	long runs = 0;
	for (int s = 0; s < 4; s++) {
		for (int t = 0; t < 3000; t++, runs++) {
			size_t n = seeds[s].len < sizeof(in) ? seeds[s].len : sizeof(in);
			memcpy(in, seeds[s].data, n);
			int flips = t ? 1 + t % 4 : 0;
			for (int k = 0; k < flips; k++) {
				rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
				in[1 + rs % (n - 1)] = (uint8_t)(rs >> 32);
			}
			if (t % 97 == 5)
				n = 1 + rs % n; /* truncated */
			LLVMFuzzerTestOneInput(in, n);
		}
		buf_free(&seeds[s]);
	}
	printf("fuzz_bft_msg: %ld inputs, no crash\n", runs);
	return 0;
}
#endif
