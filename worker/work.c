/* Reveal payloads and test-only corruption for assay-worker (see work.h). */
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/compute.h"
#include "consensus/compute/compute_codec.h"
#include "core/error.h"
#include "core/sha256.h"
#include "worker/work.h"

int work_commit(const struct job_shape *s, const uint8_t *output, const uint8_t *pre, outtree_t **tree,
		uint8_t (**digests)[HASH_LEN], uint8_t root[HASH_LEN])
{
	uint8_t (*leaves)[HASH_LEN];
	*tree = NULL;
	*digests = NULL;
	if ((s->kind == JOB_MLP_I8) != (pre != NULL))
		return ASSAY_EARG;
	if (pre && mlp_pre_digests(s, pre, digests) != 0)
		return ASSAY_ENOMEM;
	/* the root from the kept tree: the leaves are hashed up once */
	int rc = kernel_commit_pre(s, output, (const uint8_t(*)[HASH_LEN]) * digests, &leaves, NULL, NULL);
	if (!rc && !(*tree = outtree_build(leaves, kernel_tile_count(s))))
		rc = ASSAY_ENOMEM;
	if (rc) {
		free(*digests);
		*digests = NULL;
		return rc;
	}
	outtree_root(*tree, root);
	return 0;
}

int work_reveal_payload(const struct job_shape *s, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
			const uint8_t *output, const uint8_t *pre, const outtree_t *tree,
			const uint8_t challenge_seed[HASH_LEN], uint32_t samples, struct buf *payload, uint64_t *units)
{
	uint32_t tiles = kernel_tile_count(s), idx[JOB_MAX_SAMPLES];
	if (samples == 0 || samples > JOB_MAX_SAMPLES || outtree_leaves(tree) != tiles ||
	    (s->kind == JOB_MLP_I8) != (pre != NULL))
		return ASSAY_EARG;
	uint32_t count = kernel_challenge_indices(challenge_seed, samples, tiles, idx);
	struct job_reveal_payload *v = calloc(1, sizeof(*v));
	uint8_t *tile_buf[JOB_MAX_SAMPLES] = {0}, *pre_buf[JOB_MAX_SAMPLES] = {0};
	uint8_t (*paths)[MERKLE_MAX_DEPTH][HASH_LEN] = calloc(count, sizeof(*paths));
	int rc = v && paths ? 0 : ASSAY_ENOMEM;
	*units = 0;
	if (v) {
		memcpy(v->job_id, job_id, HASH_LEN);
		memcpy(v->root, root, HASH_LEN);
		v->count = count;
	}
	for (uint32_t c = 0; c < count && rc == 0; c++) {
		uint64_t len = kernel_tile_bytes(s, idx[c]);
		size_t depth;
		if (!(tile_buf[c] = malloc(len))) {
			rc = ASSAY_ENOMEM;
			break;
		}
		kernel_tile_extract(s, output, idx[c], tile_buf[c]);
		uint64_t plen = pre ? mlp_tile_pre_bytes(s, idx[c]) : 0;
		if (pre && !(pre_buf[c] = malloc(plen))) {
			rc = ASSAY_ENOMEM;
			break;
		}
		if (pre)
			mlp_tile_pre_extract(s, pre, idx[c], pre_buf[c]);
		if ((rc = outtree_proof(tree, idx[c], paths[c], &depth)) != 0)
			break;
		v->tiles[c] = (struct tile_proof){idx[c], tile_buf[c], (size_t)len, pre_buf[c], (size_t)plen,
						  (const uint8_t (*)[HASH_LEN])paths[c], depth};
		*units += compute_tile_units(s, idx[c], len + plen, depth);
	}
	if (count)
		*units += compute_reveal_fixed_units(s);
	if (rc == 0) {
		compute_reveal_encode(v, payload);
		if (payload->oom)
			rc = ASSAY_ENOMEM;
	}
	for (uint32_t c = 0; c < count; c++) {
		free(tile_buf[c]);
		free(pre_buf[c]);
	}
	free(paths);
	free(v);
	return rc;
}

uint64_t work_blob_output_max(uint64_t max_blob_bytes, uint64_t max_tx_bytes)
{
	/* The blob payload adds a 32-byte hash and a varint length (at most 10
	 * bytes) to the output. */
	const uint64_t payload_extra = HASH_LEN + 10;
	uint64_t most = WORK_BLOB_OUTPUT_MAX;
	if (max_blob_bytes < most)
		most = max_blob_bytes;
	if (max_tx_bytes <= WORK_TX_ENVELOPE_BYTES + payload_extra)
		return 0;
	if (max_tx_bytes - WORK_TX_ENVELOPE_BYTES - payload_extra < most)
		most = max_tx_bytes - WORK_TX_ENVELOPE_BYTES - payload_extra;
	return most;
}

int work_blob_payload(const uint8_t *output, size_t len, struct buf *payload)
{
	struct blob_payload bl = {.data = output, .len = len};
	sha256(output, len, bl.hash);
	compute_blob_encode(&bl, payload);
	return payload->oom ? ASSAY_ENOMEM : 0;
}

/* A u64 drawn from the job id and a counter. */
static uint64_t corrupt_draw(const uint8_t job_id[HASH_LEN], uint8_t what, uint32_t i)
{
	uint8_t msg[HASH_LEN + 5], h[HASH_LEN];
	memcpy(msg, job_id, HASH_LEN);
	msg[HASH_LEN] = what;
	le32_put(msg + HASH_LEN + 1, i);
	hash_tagged("assay/worker-corrupt", msg, sizeof(msg), h);
	return le64_get(h);
}

/* The count-th pick of work_corrupt's exact mode: distinct tiles in draw order. */
static int picked(const uint8_t job_id[HASH_LEN], uint32_t tiles, uint32_t count, uint32_t i)
{
	if (count >= tiles)
		return 1;
	/* Draw until count distinct tiles; the tiles array is small in tests. */
	uint32_t *got = malloc(count * sizeof(*got)), n = 0;
	int hit = 0;
	if (!got)
		return 0;
	for (uint32_t c = 0; n < count; c++) {
		uint32_t t = (uint32_t)(corrupt_draw(job_id, 1, c) % tiles), dup = 0;
		for (uint32_t k = 0; k < n; k++)
			dup |= got[k] == t;
		if (!dup) {
			got[n++] = t;
			hit |= t == i;
		}
	}
	free(got);
	return hit;
}

int work_corrupted(const struct job_shape *s, const uint8_t job_id[HASH_LEN], uint32_t i, double fraction,
		   uint32_t count)
{
	uint32_t tiles = kernel_tile_count(s);
	if (i >= tiles)
		return 0;
	if (count)
		return picked(job_id, tiles, count, i);
	if (fraction <= 0)
		return 0;
	if (fraction >= 1)
		return 1;
	/* 2^64 * fraction, compared in long double to keep 64 bits of precision. */
	return (long double)corrupt_draw(job_id, 0, i) < (long double)fraction * 18446744073709551616.0L;
}

uint32_t work_corrupt(const struct job_shape *s, const uint8_t job_id[HASH_LEN], uint8_t *output,
		      double fraction, uint32_t count)
{
	uint32_t tiles = kernel_tile_count(s), changed = 0;
	unsigned eb = kernel_elem_bytes(s);
	for (uint32_t i = 0; i < tiles; i++) {
		if (!work_corrupted(s, job_id, i, fraction, count))
			continue;
		uint32_t r0, c0, nr, nc;
		kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
		/* Flip the low bit of the tile's first element: a change of one. */
		output[((uint64_t)r0 * s->n + c0) * eb] ^= 1;
		changed++;
	}
	return changed;
}
