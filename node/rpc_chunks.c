/* Output chunks over RPC (docs/rpc.md, docs/compute.md §15): the JSON-RPC
 * methods submitjobchunk (a worker uploads; the node checks, stores and
 * relays) and getjobchunk (anyone reads a slot's output chunk by chunk), and
 * the same two as raw bytes on the RPC port (POST /chunk, GET /chunk/...),
 * which skip the hex and JSON around a megabyte of data. One submit and one
 * lookup serve both. Not for: the checks themselves (node_chunks.c,
 * consensus/compute/avail.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/error.h"
#include "core/log.h"
#include "node/chunkstore.h"
#include "node/node.h"
#include "node/rpc.h"

/* The path of the binary routes (docs/rpc.md "Output chunks as bytes"). */
#define CHUNK_ROUTE "/chunk"
#define CHUNK_CONTENT_TYPE "application/octet-stream"

/* ---- the one submit and the one lookup ---- */

/* Checks, stores and relays one encoded chunk: submitjobchunk's result, or
 * its error in e. */
static int chunk_submit(struct node *n, const uint8_t *enc, size_t len, json_t **result, struct rpc_error *e)
{
	uint8_t hash[HASH_LEN];
	char err[200];
	int rc = node_chunks_accept(n, enc, len, hash, err, sizeof(err));
	if (rc && rc != ASSAY_EEXISTS) {
		if (assay_err_is_local(rc))
			return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", err);
		return rpc_fail(e, rc == ASSAY_ENOTFOUND ? RPC_NOT_FOUND : RPC_VERIFY_REJECTED,
				"chunk refused: %s", err);
	}
	struct avail_chunk c;
	int dec = avail_chunk_decode(&c, enc, len);
	*result = json_pack("{s:o,s:b,s:I,s:I,s:I}", "hash", rpc_hex(hash, HASH_LEN), "new", rc == 0,
			    "first_tile", (json_int_t)(dec ? 0 : c.first_tile), "tile_count",
			    (json_int_t)(dec ? 0 : c.tile_count), "data_len",
			    (json_int_t)(dec ? 0 : c.data_len));
	return *result ? 0 : rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
}

/* A stored chunk as getjobchunk describes it, but for its hash: a
 * SHA-256 of the whole chunk that GET /chunk/... leaves to the reader. */
struct chunk_found {
	uint8_t *enc; /* malloc()ed; chunk_found_free */
	size_t len;
	struct avail_chunk c;    /* decoded from enc (points into it) */
	uint32_t tiles;          /* of the job's output */
	uint32_t uploaded_tiles; /* of the slot, on chain */
};

static void chunk_found_free(struct chunk_found *f)
{
	free(f->enc);
	f->enc = NULL;
}

/* The stored chunk of the slot's root of job id whose run starts at tile
 * first, slot and first as the caller read them (range checked here, so
 * both callers refuse alike). 0 with *f filled, or the error in e. */
static int chunk_lookup(struct node *n, const uint8_t id[HASH_LEN], long long slot, long long first,
			struct chunk_found *f, struct rpc_error *e)
{
	memset(f, 0, sizeof(*f));
	if (slot < 0 || slot >= JOB_MAX_REDUNDANCY)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected a slot number 0..%d",
				JOB_MAX_REDUNDANCY - 1);
	if (first < 0 || first > UINT32_MAX)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected a tile index");
	struct ledger l = chain_ledger(n->chain);
	struct job_record j;
	int rc = compute_get_job(&l, id, &j);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no such job");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the job: %s", assay_strerror(rc));
	if ((unsigned)slot >= j.spec.redundancy)
		return rpc_fail(e, RPC_INVALID_PARAMS, "the job has %u slot(s)", j.spec.redundancy);
	const struct job_slot *s = &j.slots[slot];
	rc = chunkstore_get_at(chain_store(n->chain), id, s->root, (uint32_t)first, &f->enc, &f->len);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no chunk of slot %u starts at tile %lld here",
				(unsigned)slot, first);
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the chunk: %s", assay_strerror(rc));
	if (avail_chunk_decode(&f->c, f->enc, f->len)) {
		chunk_found_free(f);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "a stored chunk does not decode");
	}
	f->tiles = kernel_tile_count(&j.spec.shape);
	f->uploaded_tiles = s->uploaded_tiles;
	return 0;
}

/* ---- JSON-RPC ---- */

static int m_submitjobchunk(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
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
	int rc = len < 0 || (size_t)len != hexlen / 2 ? rpc_fail(e, RPC_INVALID_PARAMS, "chunk is not hex")
						      : chunk_submit(ctx, enc, (size_t)len, result, e);
	free(enc);
	return rc;
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
	uint8_t id[HASH_LEN];
	json_t *slot_v = rpc_param(params, 1), *tile_v = rpc_param(params, 2);
	if (hash_arg(rpc_param(params, 0), id) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected a job id (64 hex digits)");
	long long slot = json_is_integer(slot_v) ? (long long)json_integer_value(slot_v) : -1;
	long long first = tile_v ? (json_is_integer(tile_v) ? (long long)json_integer_value(tile_v) : -1) : 0;
	struct chunk_found f;
	uint8_t hash[HASH_LEN];
	if (chunk_lookup(ctx, id, slot, first, &f, e) < 0)
		return -1;
	avail_chunk_hash(f.enc, f.len, hash);
	*result = json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:o}", "hash", rpc_hex(hash, HASH_LEN), "first_tile",
			    (json_int_t)f.c.first_tile, "tile_count", (json_int_t)f.c.tile_count, "next_tile",
			    (json_int_t)(f.c.first_tile + f.c.tile_count), "tiles", (json_int_t)f.tiles,
			    "uploaded_tiles", (json_int_t)f.uploaded_tiles, "chunk", rpc_hex(f.enc, f.len));
	chunk_found_free(&f);
	return *result ? 0 : rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
}

static const struct rpc_method chunk_methods[] = {
	{"submitjobchunk", m_submitjobchunk,
	 "submitjobchunk HEX - check an output chunk against its job's root, store it and relay it"},
	{"getjobchunk", m_getjobchunk,
	 "getjobchunk JOB_ID SLOT [FIRST_TILE] - the stored output chunk of a slot that starts at FIRST_TILE "
	 "(0)"},
};

/* ---- the binary routes (docs/rpc.md "Output chunks as bytes") ---- */

/* The HTTP status of a method's error code. */
static int http_status(int code)
{
	switch (code) {
	case RPC_NOT_FOUND:
		return 404;
	case RPC_INTERNAL_ERROR:
		return 500;
	default:
		return 400; /* the request's fault: bad parameter, refused chunk */
	}
}

static const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	default:
		return "Internal Server Error";
	}
}

/* Answers req with body as JSON (stolen); 500 when it could not be made. */
static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct evbuffer *out = text ? evbuffer_new() : NULL;
	json_decref(body);
	if (!out || evbuffer_add_printf(out, "%s\n", text) < 0) {
		evhttp_send_error(req, 500, "Out of memory");
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
		evhttp_send_reply(req, status, http_reason(status), out);
	}
	if (out)
		evbuffer_free(out);
	free(text);
}

/* The error e as {"error": {"code", "message"}}, the object submitjobchunk
 * and getjobchunk fail with, under status (0: from the code). */
static void reply_error(struct evhttp_request *req, int status, const struct rpc_error *e)
{
	json_t *body = json_pack("{s:{s:i,s:s}}", "error", "code", e->code, "message", e->message);
	reply_json(req, status ? status : http_status(e->code), body);
}

/* POST /chunk: the body is the encoded chunk, as submitjobchunk's hex. */
static void route_submit(struct node *n, struct evhttp_request *req)
{
	struct rpc_error e = {0};
	const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	size_t tlen = type ? strcspn(type, "; \t") : 0;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (!type || tlen != strlen(CHUNK_CONTENT_TYPE) || strncasecmp(type, CHUNK_CONTENT_TYPE, tlen) != 0) {
		rpc_fail(&e, RPC_INVALID_REQUEST,
			 "POST " CHUNK_ROUTE " takes Content-Type: " CHUNK_CONTENT_TYPE);
		reply_error(req, 415, &e);
		return;
	}
	if (len > AVAIL_CHUNK_MAX_ENCODED) {
		rpc_fail(&e, RPC_INVALID_PARAMS,
			 "a chunk is at most %u bytes (AVAIL_CHUNK_MAX_ENCODED), got %zu",
			 (unsigned)AVAIL_CHUNK_MAX_ENCODED, len);
		reply_error(req, 413, &e);
		return;
	}
	const uint8_t *enc = len ? evbuffer_pullup(in, (ev_ssize_t)len) : (const uint8_t *)"";
	json_t *result = NULL;
	log_debugc(LOG_CAT_RPC, "rpc: POST %s (%zu bytes)", CHUNK_ROUTE, len);
	if (!enc)
		rpc_fail(&e, RPC_INTERNAL_ERROR, "out of memory");
	if (!enc || chunk_submit(n, enc, len, &result, &e) < 0)
		reply_error(req, 0, &e);
	else /* {"result": R}: a client reads it as it reads JSON-RPC's (without the envelope) */
		reply_json(req, 200, json_pack("{s:o}", "result", result));
}

static void free_chunk(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Parses "HEX64" or "HEX64/SLOT/FIRST_TILE" (decimal) from path: 1 for a
 * hash alone, 3 for the three, 0 for anything else. */
static int parse_chunk_path(const char *path, uint8_t hash[HASH_LEN], long long *slot, long long *first)
{
	char digits_of_hash[2 * HASH_LEN + 1];
	size_t hex = strspn(path, "0123456789abcdefABCDEF");
	if (hex != 2 * HASH_LEN)
		return 0;
	memcpy(digits_of_hash, path, hex); /* hex_decode reads to the NUL */
	digits_of_hash[hex] = 0;
	if (hex_decode(digits_of_hash, hash, HASH_LEN) != HASH_LEN)
		return 0;
	if (!path[hex])
		return 1;
	long long v[2];
	const char *p = path + hex;
	for (int i = 0; i < 2; i++) {
		size_t digits = *p == '/' ? strspn(p + 1, "0123456789") : 0;
		if (digits == 0 || digits > 10)
			return 0;
		v[i] = strtoll(p + 1, NULL, 10);
		p += 1 + digits;
	}
	if (*p)
		return 0;
	*slot = v[0];
	*first = v[1];
	return 3;
}

/* GET /chunk/HASH (any held chunk) or GET /chunk/JOB_ID/SLOT/FIRST_TILE
 * (getjobchunk's lookup): the encoded chunk as the body, what getjobchunk
 * says beside it as X-Assay-* headers, but for the hash of the second form
 * (a SHA-256 of the chunk per request, which the reader can do). */
static void route_get(struct node *n, struct evhttp_request *req)
{
	struct rpc_error e = {0};
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	uint8_t id[HASH_LEN];
	long long slot = 0, first = 0;
	size_t plen = strlen(CHUNK_ROUTE);
	int form = path && strncmp(path, CHUNK_ROUTE "/", plen + 1) == 0
			   ? parse_chunk_path(path + plen + 1, id, &slot, &first)
			   : 0;
	log_debugc(LOG_CAT_RPC, "rpc: GET %s", path ? path : "?");
	struct chunk_found f;
	memset(&f, 0, sizeof(f));
	if (form == 0) {
		rpc_fail(&e, RPC_INVALID_PARAMS,
			 "expected GET " CHUNK_ROUTE "/HASH or " CHUNK_ROUTE "/JOB_ID/SLOT/FIRST_TILE"
			 " (64 hex digits, decimal numbers)");
		reply_error(req, 400, &e);
		return;
	}
	if (form == 3 && chunk_lookup(n, id, slot, first, &f, &e) < 0) {
		reply_error(req, 0, &e);
		return;
	}
	if (form == 1) {
		int rc = chunkstore_get(chain_store(n->chain), id, &f.enc, &f.len);
		if (rc == ASSAY_ENOTFOUND)
			rpc_fail(&e, RPC_NOT_FOUND, "no chunk with that hash here");
		else if (rc)
			rpc_fail(&e, RPC_INTERNAL_ERROR, "cannot read the chunk: %s", assay_strerror(rc));
		else if (avail_chunk_decode(&f.c, f.enc, f.len))
			rpc_fail(&e, RPC_INTERNAL_ERROR, "a stored chunk does not decode");
		if (e.code) {
			chunk_found_free(&f);
			reply_error(req, 0, &e);
			return;
		}
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char num[24];
	evhttp_add_header(h, "Content-Type", CHUNK_CONTENT_TYPE);
	if (form == 1) { /* the hash asked for: free to say */
		char hash_hex[2 * HASH_LEN + 1];
		hex_encode(id, HASH_LEN, hash_hex);
		evhttp_add_header(h, "X-Assay-Chunk-Hash", hash_hex);
	}
	snprintf(num, sizeof(num), "%u", f.c.first_tile);
	evhttp_add_header(h, "X-Assay-First-Tile", num);
	snprintf(num, sizeof(num), "%u", f.c.tile_count);
	evhttp_add_header(h, "X-Assay-Tile-Count", num);
	snprintf(num, sizeof(num), "%u", f.c.first_tile + f.c.tile_count);
	evhttp_add_header(h, "X-Assay-Next-Tile", num);
	if (form == 3) {
		snprintf(num, sizeof(num), "%u", f.tiles);
		evhttp_add_header(h, "X-Assay-Tiles", num);
		snprintf(num, sizeof(num), "%u", f.uploaded_tiles);
		evhttp_add_header(h, "X-Assay-Uploaded-Tiles", num);
	}
	struct evbuffer *out = evbuffer_new();
	/* the buffer takes the chunk over: a megabyte is not copied again */
	if (!out || evbuffer_add_reference(out, f.enc, f.len, free_chunk, NULL) != 0) {
		chunk_found_free(&f);
		rpc_fail(&e, RPC_INTERNAL_ERROR, "out of memory");
		if (out)
			evbuffer_free(out);
		reply_error(req, 500, &e);
		return;
	}
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void on_chunk_route(void *ctx, struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (cmd == EVHTTP_REQ_POST && path && strcmp(path, CHUNK_ROUTE) == 0) {
		route_submit(ctx, req);
	} else if (cmd == EVHTTP_REQ_GET) {
		route_get(ctx, req);
	} else {
		struct rpc_error e = {0};
		rpc_fail(&e, RPC_INVALID_REQUEST, "use POST " CHUNK_ROUTE " or GET " CHUNK_ROUTE "/...");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
		reply_error(req, 405, &e);
	}
}

void node_register_chunks_rpc(struct node *n)
{
	rpc_register(n->rpc, chunk_methods, sizeof(chunk_methods) / sizeof(chunk_methods[0]), n);
	rpc_route(n->rpc, CHUNK_ROUTE, on_chunk_route, n);
}
