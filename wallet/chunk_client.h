/* A client's transfers of output chunks (docs/rpc.md "Output chunks as
 * bytes", docs/compute.md §15): raw bytes on the node's binary routes
 * (POST /chunk, GET /chunk/JOB_ID/SLOT/FIRST_TILE), and submitjobchunk and
 * getjobchunk as hex JSON-RPC with a node that has no such routes (an older
 * one). assay-worker uploads with it and assay-cli fetches. Not for: the
 * chunk's checks (consensus/compute/avail.c) or cutting an output into
 * chunks (worker/upload.c). */
#ifndef ASSAY_WALLET_CHUNK_CLIENT_H
#define ASSAY_WALLET_CHUNK_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/sha256.h"
#include "wallet/rpc_client.h"

/* How a node takes chunks, learned on the first transfer and kept by the
 * caller for the next ones. */
enum chunk_path {
	CHUNK_PATH_UNKNOWN = 0, /* not asked yet: try the binary route */
	CHUNK_PATH_BINARY,      /* the node has the binary routes */
	CHUNK_PATH_JSON,        /* it answered as a node without them: hex JSON-RPC */
};

/* Submits one encoded chunk (len bytes, the bytes submitjobchunk takes as
 * hex). On 0, *result is submitjobchunk's result (a new reference; the
 * caller decrefs). Errors as rpc_client_call: ASSAY_EINVALID with the
 * node's code and message when it refused the chunk, whichever way it went. */
int chunk_client_submit(const struct rpc_endpoint *ep, enum chunk_path *path, const uint8_t *enc, size_t len,
			json_t **result, struct rpc_failure *fail);

/* Fetches the stored chunk of slot of job_id whose run starts at tile
 * first: on 0, *enc (malloc()ed; the caller frees) holds its *len bytes, at
 * most AVAIL_CHUNK_MAX_ENCODED, not checked against anything (the caller
 * does: avail_chunk_check). Errors as rpc_client_call; ASSAY_EINVALID with
 * code -5 when the node does not hold it; ASSAY_ELIMIT for a reply larger
 * than a chunk can be. */
int chunk_client_fetch(const struct rpc_endpoint *ep, enum chunk_path *path, const uint8_t job_id[HASH_LEN],
		       unsigned slot, uint32_t first, uint8_t **enc, size_t *len, struct rpc_failure *fail);

#endif
