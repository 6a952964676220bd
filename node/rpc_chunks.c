/* RPC methods for output chunks (docs/rpc.md, docs/compute.md §15):
 * submitjobchunk (a worker uploads; the node checks, stores and relays) and
 * getjobchunk (anyone reads a slot's output chunk by chunk). Not for: the
 * checks themselves (node_chunks.c, consensus/compute/avail.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "node/chunkstore.h"
#include "node/node.h"
#include "node/rpc.h"

static int m_submitjobchunk(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *v = rpc_param(params, 0);
	const char *hex = json_is_string(v) ? json_string_value(v) : NULL;
	size_t hexlen = hex ? strlen(hex) : 0;
	if (!hex || hexlen % 2 || hexlen / 2 > AVAIL_CHUNK_MAX_ENCODED)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected an encoded chunk as hex (at most %u bytes)",
				(unsigned)AVAIL_CHUNK_MAX_ENCODED);
	uint8_t *enc = malloc(hexlen / 2 + 1);
	if (!enc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	long len = hex_decode(hex, enc, hexlen / 2);
	if (len < 0 || (size_t)len != hexlen / 2) {
		free(enc);
		return rpc_fail(e, RPC_INVALID_PARAMS, "chunk is not hex");
	}
	uint8_t hash[HASH_LEN];
	char err[200];
	int rc = node_chunks_accept(n, enc, (size_t)len, hash, err, sizeof(err));
	struct avail_chunk c;
	int dec = avail_chunk_decode(&c, enc, (size_t)len);
	if (rc && rc != ASSAY_EEXISTS) {
		free(enc);
		if (assay_err_is_local(rc))
			return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", err);
		return rpc_fail(e, rc == ASSAY_ENOTFOUND ? RPC_NOT_FOUND : RPC_VERIFY_REJECTED,
				"chunk refused: %s", err);
	}
	*result = json_pack("{s:o,s:b,s:I,s:I,s:I}", "hash", rpc_hex(hash, HASH_LEN), "new", rc == 0,
			    "first_tile", (json_int_t)(dec ? 0 : c.first_tile), "tile_count",
			    (json_int_t)(dec ? 0 : c.tile_count), "data_len",
			    (json_int_t)(dec ? 0 : c.data_len));
	free(enc);
	return *result ? 0 : rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
}

static int hash_arg(json_t *v, uint8_t out[HASH_LEN])
{
	return json_is_string(v) && strlen(json_string_value(v)) == 2 * HASH_LEN &&
			       hex_decode(json_string_value(v), out, HASH_LEN) == HASH_LEN
		       ? 0
		       : -1;
}

static int m_getjobchunk(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t id[HASH_LEN];
	json_t *slot_v = rpc_param(params, 1), *tile_v = rpc_param(params, 2);
	if (hash_arg(rpc_param(params, 0), id) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected a job id (64 hex digits)");
	if (!json_is_integer(slot_v) || json_integer_value(slot_v) < 0 ||
	    json_integer_value(slot_v) >= JOB_MAX_REDUNDANCY)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected a slot number 0..%d",
				JOB_MAX_REDUNDANCY - 1);
	json_int_t first = tile_v ? (json_is_integer(tile_v) ? json_integer_value(tile_v) : -1) : 0;
	if (first < 0 || first > UINT32_MAX)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected a tile index");
	struct ledger l = chain_ledger(n->chain);
	struct job_record j;
	int rc = compute_get_job(&l, id, &j);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no such job");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the job: %s", assay_strerror(rc));
	unsigned slot = (unsigned)json_integer_value(slot_v);
	if (slot >= j.spec.redundancy)
		return rpc_fail(e, RPC_INVALID_PARAMS, "the job has %u slot(s)", j.spec.redundancy);
	const struct job_slot *s = &j.slots[slot];
	uint8_t *enc;
	size_t len;
	rc = chunkstore_get_at(chain_store(n->chain), id, s->root, (uint32_t)first, &enc, &len);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no chunk of slot %u starts at tile %lld here", slot,
				(long long)first);
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the chunk: %s", assay_strerror(rc));
	struct avail_chunk c;
	uint8_t hash[HASH_LEN];
	if (avail_chunk_decode(&c, enc, len)) {
		free(enc);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "a stored chunk does not decode");
	}
	avail_chunk_hash(enc, len, hash);
	uint32_t tiles = kernel_tile_count(&j.spec.shape), next = c.first_tile + c.tile_count;
	*result = json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:o}", "hash", rpc_hex(hash, HASH_LEN), "first_tile",
			    (json_int_t)c.first_tile, "tile_count", (json_int_t)c.tile_count, "next_tile",
			    (json_int_t)next, "tiles", (json_int_t)tiles, "uploaded_tiles",
			    (json_int_t)s->uploaded_tiles, "chunk", rpc_hex(enc, len));
	free(enc);
	return *result ? 0 : rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
}

static const struct rpc_method chunk_methods[] = {
	{"submitjobchunk", m_submitjobchunk,
	 "submitjobchunk HEX - check an output chunk against its job's root, store it and relay it"},
	{"getjobchunk", m_getjobchunk,
	 "getjobchunk JOB_ID SLOT [FIRST_TILE] - the stored output chunk of a slot that starts at FIRST_TILE "
	 "(0)"},
};

void node_register_chunks_rpc(struct node *n)
{
	rpc_register(n->rpc, chunk_methods, sizeof(chunk_methods) / sizeof(chunk_methods[0]), n);
}
