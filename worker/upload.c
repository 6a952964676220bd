/* Chunks of a worker's output (see upload.h, docs/compute.md §15.2). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "worker/upload.h"

int upload_chunk(const struct job_shape *s, const uint8_t job_id[HASH_LEN], const uint8_t *output,
		 const uint8_t (*pre_digests)[HASH_LEN], const outtree_t *tree, uint32_t first, uint64_t max_bytes,
		 struct buf *enc, struct avail_ref *ref)
{
	uint32_t tiles = kernel_tile_count(s), count = 0;
	uint64_t bytes = 0;
	if (first >= tiles || (s->kind == JOB_MLP_I8 && !pre_digests))
		return ASSAY_EARG;
	if (max_bytes > AVAIL_CHUNK_MAX_BYTES)
		max_bytes = AVAIL_CHUNK_MAX_BYTES;
	while (first + count < tiles &&
	       (count == 0 || bytes + kernel_leaf_bytes(s, first + count) <= max_bytes))
		bytes += kernel_leaf_bytes(s, first + count++);
	struct avail_chunk c;
	uint8_t(*proof)[HASH_LEN] = malloc(AVAIL_MAX_PROOF * HASH_LEN);
	uint8_t *data = malloc(bytes ? bytes : 1);
	int rc = proof && data ? 0 : ASSAY_ENOMEM;
	memset(&c, 0, sizeof(c));
	if (!rc)
		rc = avail_range_proof(outtree_subtree, (void *)tree, tiles, first, (size_t)first + count,
				       proof, &c.proof_len);
	if (!rc) {
		size_t off = 0;
		for (uint32_t i = first; i < first + count; i++) {
			kernel_leaf_extract(s, output, pre_digests, i, data + off);
			off += kernel_leaf_bytes(s, i);
		}
		memcpy(c.job_id, job_id, HASH_LEN);
		outtree_root(tree, c.root);
		c.first_tile = first;
		c.tile_count = count;
		c.data = data;
		c.data_len = bytes;
		c.proof = (const uint8_t(*)[HASH_LEN])proof;
		buf_reset(enc);
		avail_chunk_encode(&c, enc);
		rc = enc->oom ? ASSAY_ENOMEM : 0;
	}
	if (!rc) {
		ref->first_tile = first;
		ref->tile_count = count;
		ref->data_len = (uint32_t)bytes;
		avail_chunk_hash(enc->data, enc->len, ref->chunk_hash);
	}
	free(proof);
	free(data);
	return rc;
}
