/* Output chunks over the node's binary routes, or hex JSON-RPC with a node
 * without them (see chunk_client.h). A node without the routes shows
 * itself in one of two ways: one that takes every POST for JSON-RPC
 * answers the raw bytes with a parse error (-32700), and one that knows no
 * such path answers HTTP 404 or 405 without a JSON error body. Every other
 * reply is the route's own, so its error is the caller's answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "core/buf.h"
#include "core/error.h"
#include "wallet/chunk_client.h"

#define CHUNK_REPLY_MAX (64u << 10) /* a POST /chunk reply: a small JSON object */

/* 1 when the reply that gave rc says the node has no binary route. */
static int no_route(int rc, const struct rpc_failure *f)
{
	return (rc == ASSAY_EDECODE && (f->code == 404 || f->code == 405)) ||
	       (rc == ASSAY_EINVALID && f->code == -32700);
}

/* What an exchange on the binary route says of the node, for the next one. */
static void learn(enum chunk_path *path, int rc, const struct rpc_failure *f)
{
	if (no_route(rc, f))
		*path = CHUNK_PATH_JSON;
	else if (rc != ASSAY_EAUTH && rc != ASSAY_EIO)
		*path = CHUNK_PATH_BINARY;
}

int chunk_client_submit(const struct rpc_endpoint *ep, enum chunk_path *path, const uint8_t *enc, size_t len,
			json_t **result, struct rpc_failure *fail)
{
	struct rpc_failure local;
	if (!fail)
		fail = &local;
	*result = NULL;
	if (*path != CHUNK_PATH_JSON) {
		uint8_t *reply;
		size_t reply_len;
		int status = 0;
		int rc = rpc_client_request(ep, "/chunk", "application/octet-stream", enc, len,
					    CHUNK_REPLY_MAX, &status, &reply, &reply_len, fail);
		if (rc)
			return rc;
		rc = rpc_client_parse_reply(status, (const char *)reply, reply_len, result, fail);
		free(reply);
		learn(path, rc, fail);
		if (*path != CHUNK_PATH_JSON)
			return rc;
	}
	char *hex = malloc(2 * len + 1);
	json_t *params = NULL;
	if (hex) {
		hex_encode(enc, len, hex);
		params = json_pack("[s]", hex);
		free(hex);
	}
	if (!params) {
		snprintf(fail->message, sizeof(fail->message), "out of memory");
		return ASSAY_ENOMEM;
	}
	int rc = rpc_client_call(ep, "submitjobchunk", params, result, fail);
	json_decref(params);
	return rc;
}

/* getjobchunk's reply: its chunk's bytes into *enc. */
static int fetch_json(const struct rpc_endpoint *ep, const char *job_hex, unsigned slot, uint32_t first,
		      uint8_t **enc, size_t *len, struct rpc_failure *fail)
{
	json_t *params = json_pack("[s,i,I]", job_hex, (int)slot, (json_int_t)first), *got = NULL;
	int rc = params ? rpc_client_call(ep, "getjobchunk", params, &got, fail) : ASSAY_ENOMEM;
	json_decref(params);
	const char *hex = rc ? NULL : json_string_value(json_object_get(got, "chunk"));
	size_t n = hex ? strlen(hex) / 2 : 0;
	if (!rc && (!hex || strlen(hex) % 2 || n > AVAIL_CHUNK_MAX_ENCODED)) {
		snprintf(fail->message, sizeof(fail->message),
			 "getjobchunk: no chunk of at most %u bytes as hex",
			 (unsigned)AVAIL_CHUNK_MAX_ENCODED);
		rc = ASSAY_EDECODE;
	}
	if (!rc && !(*enc = malloc(n ? n : 1)))
		rc = ASSAY_ENOMEM;
	if (!rc && hex_decode(hex, *enc, n) != (long)n) {
		free(*enc);
		*enc = NULL;
		snprintf(fail->message, sizeof(fail->message), "getjobchunk: the chunk is not hex");
		rc = ASSAY_EDECODE;
	}
	if (!rc)
		*len = n;
	if (rc == ASSAY_ENOMEM)
		snprintf(fail->message, sizeof(fail->message), "out of memory");
	json_decref(got);
	return rc;
}

int chunk_client_fetch(const struct rpc_endpoint *ep, enum chunk_path *path, const uint8_t job_id[HASH_LEN],
		       unsigned slot, uint32_t first, uint8_t **enc, size_t *len, struct rpc_failure *fail)
{
	struct rpc_failure local;
	char job_hex[2 * HASH_LEN + 1];
	if (!fail)
		fail = &local;
	*enc = NULL;
	*len = 0;
	hex_encode(job_id, HASH_LEN, job_hex);
	if (*path != CHUNK_PATH_JSON) {
		char where[2 * HASH_LEN + 64];
		uint8_t *reply;
		size_t reply_len;
		int status = 0;
		snprintf(where, sizeof(where), "/chunk/%s/%u/%u", job_hex, slot, first);
		int rc = rpc_client_request(ep, where, NULL, NULL, 0, AVAIL_CHUNK_MAX_ENCODED, &status,
					    &reply, &reply_len, fail);
		if (rc)
			return rc;
		if (status == 200) {
			*path = CHUNK_PATH_BINARY;
			*enc = reply;
			*len = reply_len;
			return 0;
		}
		json_t *result = NULL;
		rc = rpc_client_parse_reply(status, (const char *)reply, reply_len, &result, fail);
		free(reply);
		json_decref(result);
		if (rc == 0) { /* a result object under an error status: not the route's */
			snprintf(fail->message, sizeof(fail->message), "HTTP %d from GET %s", status, where);
			fail->code = status;
			rc = ASSAY_EDECODE;
		}
		learn(path, rc, fail);
		if (*path != CHUNK_PATH_JSON)
			return rc;
	}
	return fetch_json(ep, job_hex, slot, first, enc, len, fail);
}
