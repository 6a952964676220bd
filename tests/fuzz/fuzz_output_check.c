/* libFuzzer target for the client's check of a fetched job output
 * (output_check_root, the code `assay-cli job output` and `job dispute`
 * run on whatever a worker serves): a small matmul or mlp shape from the
 * first bytes, then the served bytes, checked against a root. No input may
 * crash it; it accepts only the output whose root it is, and on refusal it
 * leaves nothing allocated (ASan and the driver's double free would show
 * it). Built with -DFUZZ_DRIVER, a main() feeds it mutations of a correct
 * output, so that `make check` runs it.
 * fuzz-sources: wallet/output_check.c consensus/compute/kernels.c core/merkle.c
 * fuzz-sources: consensus/compute/mlp.c consensus/compute/field.c
 * fuzz-sources: core/sha256.c core/chacha.c core/error.c core/buf.c
 * fuzz-libs: -lcrypto
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/merkle.h"
#include "wallet/output_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Byte 0: kind and tile size; byte 1: m; byte 2: n. The rest is the served
 * output. The root checked against is the true one of those bytes padded or
 * cut to the right size, with one bit flipped when byte 0's top bit is set. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	struct job_shape s;
	memset(&s, 0, sizeof(s));
	s.kind = data[0] & 1 ? JOB_MLP_I8 : JOB_MATMUL_I8;
	s.m = 1 + data[1] % 16;
	if (s.kind == JOB_MLP_I8) {
		s.layers = 1;
		s.dims[0] = 2;
		s.dims[1] = s.n = 1 + data[2] % 16;
		s.shifts[0] = 0;
		s.tile_rows = 1 + (data[0] >> 1) % 8;
		s.tile_cols = s.n;
	} else {
		s.n = 1 + data[2] % 16;
		s.k = 3;
		s.tile_rows = 1 + (data[0] >> 1) % 4;
		s.tile_cols = 1 + (data[0] >> 3) % 4;
	}
	const uint8_t *output = data + 3;
	size_t len = size - 3;
	uint64_t want = kernel_output_bytes(&s);
	uint8_t *padded = calloc(1, want);
	uint8_t(*leaves)[HASH_LEN] = (void *)1, root[HASH_LEN], oh[HASH_LEN];
	char why[160];
	if (!padded)
		return 0;
	memcpy(padded, output, len < want ? len : want);
	/* mlp leaves bind each tile's pre-activation digest: any fixed ones */
	uint8_t(*digests)[HASH_LEN] = NULL;
	if (s.kind == JOB_MLP_I8) {
		uint32_t tiles = kernel_tile_count(&s);
		if (!(digests = malloc((size_t)tiles * HASH_LEN))) {
			free(padded);
			return 0;
		}
		for (uint32_t i = 0; i < tiles; i++)
			memset(digests[i], (int)(i ^ data[2]), HASH_LEN);
	}
	if (kernel_commit_pre(&s, padded, (const uint8_t(*)[HASH_LEN])digests, &leaves, root, oh) != 0) {
		free(padded);
		free(digests);
		return 0;
	}
	free(leaves);
	int flipped = (data[0] & 0x80) != 0;
	if (flipped)
		root[data[1] % HASH_LEN] ^= 1;
	memset(why, 0x55, sizeof(why));
	leaves = (void *)1;
	int rc = output_check_root(&s, output, len, (const uint8_t(*)[HASH_LEN])digests, root, &leaves, why, sizeof(why));
	int right = len == want && !flipped && memcmp(output, padded, len) == 0;
	if (rc == 0) {
		/* accepted: only the true output, with every leaf of its tree */
		if (!right || !leaves)
			abort();
		uint8_t again[HASH_LEN];
		merkle_root((const uint8_t(*)[HASH_LEN])leaves, kernel_tile_count(&s), again);
		if (memcmp(again, root, HASH_LEN) != 0)
			abort();
		free(leaves);
	} else {
		if (right || leaves != NULL || rc != ASSAY_EINVALID || !memchr(why, 0, sizeof(why)))
			abort();
		free(leaves); /* NULL: a second free of what the check freed would crash here */
	}
	free(padded);
	free(digests);
	return 0;
}

#ifdef FUZZ_DRIVER
#include <stdio.h>

/* Seeds: correct outputs of a few shapes (as served), then byte edits,
 * cuts and extensions of them. */
int main(void)
{
	uint64_t rs = 88172645463325252ull;
	static uint8_t in[3 + 16 * 16 * 4 + 64];
	unsigned long runs = 0;
	for (int seed = 0; seed < 12; seed++) {
		in[0] = (uint8_t)(seed * 37) & 0x7f;
		in[1] = (uint8_t)(3 + seed);
		in[2] = (uint8_t)(5 + 2 * seed);
		/* the true output of this shape: any bytes; the check only hashes */
		for (size_t i = 3; i < sizeof(in); i++)
			in[i] = (uint8_t)(i * 131 + (size_t)seed);
		size_t n;
		if (in[0] & 1)
			n = (size_t)(1 + in[1] % 16) * (1 + in[2] % 16);
		else
			n = (size_t)(1 + in[1] % 16) * (1 + in[2] % 16) * 4;
		for (int round = 0; round < 800; round++, runs++) {
			uint8_t buf[sizeof(in)];
			memcpy(buf, in, sizeof(in));
			size_t len = 3 + n;
			int edits = round ? 1 + (int)(rs % 3) : 0;
			for (int e = 0; e < edits; e++) {
				rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
				size_t at = 3 + (size_t)(rs >> 8) % n;
				switch (rs % 4) {
				case 0:
					buf[at] ^= (uint8_t)(1 + (rs >> 32) % 255);
					break;
				case 1:
					len = at;
					break; /* served short */
				case 2:
					len = 3 + n + (size_t)(rs >> 20) % 64;
					break; /* served long */
				default:
					buf[0] |= 0x80;
					break; /* a wrong root */
				}
			}
			LLVMFuzzerTestOneInput(buf, len);
		}
	}
	printf("fuzz_output_check: %lu runs, no crash\n", runs);
	return 0;
}
#endif
