/* libFuzzer target for the compute codecs: every payload and record decoder
 * must accept or refuse any input without a crash, and what it accepts must
 * re-encode to exactly the same bytes (canonical encoding). The first input
 * byte picks the decoder. Built with -DFUZZ_DRIVER, a small main() feeds it
 * mutated valid encodings so that `make check` runs it too. Not for: rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/compute_codec.h"

static void same(const struct buf *b, const uint8_t *p, size_t n)
{
	if (b->len != n || memcmp(b->data, p, n) != 0)
		abort(); /* accepted but not canonical */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	struct buf b;
	buf_init(&b);
	switch (data[0] % 8) {
	case 0: {
		struct job_spec s;
		if (compute_spec_decode(&s, p, n) == 0) {
			compute_spec_encode(&s, &b);
			same(&b, p, n);
		}
		break;
	}
	case 1: {
		struct worker_register_payload w;
		if (compute_register_decode(&w, p, n) == 0) {
			compute_register_encode(&w, &b);
			same(&b, p, n);
		}
		break;
	}
	case 2: {
		struct job_commit_payload c;
		if (compute_commit_decode(&c, p, n) == 0) {
			compute_commit_encode(&c, &b);
			same(&b, p, n);
		}
		break;
	}
	case 3: {
		static struct job_reveal_payload v;
		if (compute_reveal_decode(&v, p, n) == 0) {
			compute_reveal_encode(&v, &b);
			same(&b, p, n);
		}
		break;
	}
	case 4: {
		struct job_dispute_payload d;
		if (compute_dispute_decode(&d, p, n) == 0) {
			compute_dispute_encode(&d, &b);
			same(&b, p, n);
		}
		break;
	}
	case 5: {
		struct blob_payload bl;
		if (compute_blob_decode(&bl, p, n) == 0) {
			compute_blob_encode(&bl, &b);
			same(&b, p, n);
		}
		break;
	}
	case 6: {
		struct worker_record w;
		if (compute_worker_decode(&w, p, n) == 0) {
			compute_worker_encode(&w, &b);
			same(&b, p, n);
		}
		break;
	}
	default: {
		struct job_record j;
		if (compute_job_decode(&j, p, n) == 0) {
			compute_job_encode(&j, &b);
			same(&b, p, n);
		}
		break;
	}
	}
	buf_free(&b);
	return 0;
}

#ifdef FUZZ_DRIVER
#include <stdio.h>

/* Seeds: one valid encoding per decoder, then random byte mutations of them. */
int main(void)
{
	struct buf seeds[8];
	for (int i = 0; i < 8; i++) {
		buf_init(&seeds[i]);
		buf_put_u8(&seeds[i], (uint8_t)i);
	}
	struct job_spec s = {.shape = {.kind = JOB_MLP_I8, .m = 9, .n = 4, .layers = 2, .dims = {8, 6, 4},
				       .shifts = {3, 4}, .tile_rows = 2, .tile_cols = 4},
			     .samples = 4, .redundancy = 2, .reward = 99, .deadline_blocks = 70};
	compute_spec_encode(&s, &seeds[0]);
	struct worker_register_payload w = {.bond = 5};
	strcpy(w.endpoint, "h:1");
	strcpy(w.backend, "cpu");
	compute_register_encode(&w, &seeds[1]);
	struct job_commit_payload c = {{1}, {2}, {3}};
	compute_commit_encode(&c, &seeds[2]);
	static struct job_reveal_payload v;
	uint8_t tile[16] = {7}, path[2][HASH_LEN] = {{9}};
	v.count = 2;
	for (int i = 0; i < 2; i++)
		v.tiles[i] = (struct tile_proof){(uint32_t)i, tile, sizeof(tile), (const uint8_t(*)[HASH_LEN])path, 2};
	compute_reveal_encode(&v, &seeds[3]);
	struct job_dispute_payload d = {.parties = 2, .index = 3};
	d.proof[0] = d.proof[1] = v.tiles[0];
	compute_dispute_encode(&d, &seeds[4]);
	struct blob_payload bl = {.data = tile, .len = sizeof(tile)};
	compute_blob_encode(&bl, &seeds[5]);
	struct worker_record wr = {.status = WORKER_ACTIVE, .bond = 3};
	compute_worker_encode(&wr, &seeds[6]);
	struct job_record j;
	memset(&j, 0, sizeof(j));
	j.spec = s;
	j.excluded_count = 1;
	compute_job_encode(&j, &seeds[7]);
	uint64_t rs = 88172645463325252ull;
	uint8_t in[4096];
	long runs = 0;
	for (int i = 0; i < 8; i++) {
		LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
		for (int t = 0; t < 20000; t++, runs++) {
			size_t n = seeds[i].len;
			memcpy(in, seeds[i].data, n);
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			int flips = 1 + (int)(rs % 3);
			for (int f = 0; f < flips; f++) {
				rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
				in[1 + rs % (n - 1)] = (uint8_t)(rs >> 32);
			}
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			if (rs % 5 == 0)
				n = 1 + (size_t)(rs >> 20) % n; /* truncation */
			LLVMFuzzerTestOneInput(in, n);
		}
		buf_free(&seeds[i]);
	}
	printf("fuzz_compute: %ld mutated inputs, no crash, canonical round trips\n", runs);
	return 0;
}
#endif
