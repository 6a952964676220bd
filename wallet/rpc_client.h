/* A small blocking JSON-RPC 2.0 client over HTTP/1.1 (one connection per call,
 * Basic auth) for talking to assayd. Not for: anything long-lived or
 * concurrent; the node's side is node/rpc.c. */
#ifndef ASSAY_WALLET_RPC_CLIENT_H
#define ASSAY_WALLET_RPC_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#define RPC_CLIENT_RESPONSE_MAX (64u << 20) /* largest reply we read: a big block as JSON */
#define RPC_CLIENT_TIMEOUT_MS 30000         /* connect, send and each read */
#define RPC_CLIENT_AUTH_MAX 512             /* "user:password" */

struct rpc_endpoint {
	char host[256];
	unsigned port;
	char auth[RPC_CLIENT_AUTH_MAX]; /* "user:password" for Basic auth */
	int timeout_ms;                 /* 0 = RPC_CLIENT_TIMEOUT_MS */
};

/* Why a call failed: for ASSAY_EINVALID the node's error code and message,
 * otherwise a sentence for people. */
struct rpc_failure {
	long long code;
	char message[512];
};

/* Calls method with params (a JSON array, borrowed; NULL means []). On 0,
 * *result is a new reference the caller decrefs (json null if the node said
 * null). Errors: ASSAY_EIO (cannot connect, or the connection broke),
 * ASSAY_EAUTH (HTTP 401), ASSAY_EINVALID (the node answered with an error
 * object), ASSAY_EDECODE (not an HTTP JSON-RPC reply), ASSAY_ELIMIT. */
int rpc_client_call(const struct rpc_endpoint *ep, const char *method, json_t *params,
		    json_t **result, struct rpc_failure *fail);

/* GET http://host:port/path (no auth), for a worker's output server. On 0
 * *body is malloc()ed with *len bytes; the caller frees. ASSAY_EIO (connect,
 * read, or an HTTP status other than 200, which fail->code holds),
 * ASSAY_ENOTFOUND (HTTP 404), ASSAY_ELIMIT (body over max bytes),
 * ASSAY_EDECODE (not HTTP). */
int rpc_client_get(const char *host, unsigned port, const char *path, size_t max, uint8_t **body,
		   size_t *len, struct rpc_failure *fail);

/* The reply half of rpc_client_call, on a whole HTTP response (exposed for
 * tests): status line, headers, Content-Length or chunked body, JSON-RPC
 * envelope. Same results. */
int rpc_client_parse_response(const char *raw, size_t n, json_t **result,
			      struct rpc_failure *fail);

#endif
