/* A blocking JSON-RPC 2.0 client for assayd and a bounded HTTP GET for a
 * worker's output server, over libevent's evhttp client (one connection and
 * one private event loop per call); ours is only the JSON-RPC envelope.
 * Programs using it ignore SIGPIPE (evhttp writes with writev()). Not for:
 * anything long-lived or concurrent; the node's side is node/rpc.c. */
#ifndef ASSAY_WALLET_RPC_CLIENT_H
#define ASSAY_WALLET_RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define RPC_CLIENT_RESPONSE_MAX (64u << 20) /* largest RPC reply body: a big block as JSON */
#define RPC_CLIENT_HEADERS_MAX (64u << 10)  /* status line and headers of any reply */
#define RPC_CLIENT_TIMEOUT_MS 30000         /* whole exchange, and each connect, send or read */
#define RPC_CLIENT_AUTH_MAX 512             /* "user:password" */

struct rpc_endpoint {
	char host[256];
	unsigned port;
	char auth[RPC_CLIENT_AUTH_MAX]; /* "user:password" for Basic auth */
	int timeout_ms;                 /* 0 = RPC_CLIENT_TIMEOUT_MS */
};

/* Why a call failed: for ASSAY_EINVALID the node's error code and message,
 * otherwise a sentence for people (code: the HTTP status where there was one). */
struct rpc_failure {
	long long code;
	char message[512];
};

/* Calls method with params (a JSON array, borrowed; NULL means []). On 0,
 * *result is a new reference the caller decrefs (json null if the node said
 * null). Errors: ASSAY_EIO (cannot connect, timed out, or the connection
 * broke), ASSAY_EAUTH (HTTP 401/403), ASSAY_EINVALID (the node answered with
 * an error object), ASSAY_EDECODE (not an HTTP JSON-RPC reply), ASSAY_ELIMIT
 * (reply over RPC_CLIENT_RESPONSE_MAX), ASSAY_ENOMEM. */
int rpc_client_call(const struct rpc_endpoint *ep, const char *method, json_t *params,
		    json_t **result, struct rpc_failure *fail);

/* A request to the node outside JSON-RPC, with its credentials (the binary
 * chunk routes, docs/rpc.md): POST body (len bytes of content_type) to path,
 * or GET path when body is NULL; the reply body bounded by max. On 0,
 * *status is the HTTP status, whatever it is, and *reply (malloc()ed,
 * NUL-terminated; the caller frees) holds *reply_len bytes. Errors as
 * rpc_client_get, except that no status is one. */
int rpc_client_request(const struct rpc_endpoint *ep, const char *path, const char *content_type,
		       const uint8_t *body, size_t len, size_t max, int *status, uint8_t **reply,
		       size_t *reply_len, struct rpc_failure *fail);

/* The node's waitfornewblock long poll (docs/rpc.md): returns at the first
 * block above after (-1: above the tip when the call arrives) or after
 * timeout_ms, with the tip's height in *height. Any error of
 * rpc_client_call, and ASSAY_EDECODE for a reply without a height; a node
 * without the method answers ASSAY_EINVALID, so callers poll instead. */
int rpc_client_wait_block(const struct rpc_endpoint *ep, uint64_t timeout_ms, long long after, long long *height,
			  struct rpc_failure *fail);

/* GET http://host:port/path (no auth) within RPC_CLIENT_TIMEOUT_MS, for a
 * worker's output server: an untrusted peer, so the body is bounded by max
 * (the caller knows the size it expects: a job's output). On 0 *body is malloc()ed with *len
 * bytes; the caller frees. ASSAY_EIO (connect, read, timeout, or an HTTP
 * status other than 200, which fail->code holds), ASSAY_ENOTFOUND (HTTP 404),
 * ASSAY_ELIMIT (body over max bytes), ASSAY_EDECODE (not HTTP, or headers
 * over RPC_CLIENT_HEADERS_MAX), ASSAY_EARG
 * (host or path unusable). */
int rpc_client_get(const char *host, unsigned port, const char *path, size_t max, uint8_t **body,
		   size_t *len, struct rpc_failure *fail);

/* POST a JSON body (no auth) to http://host:port/path within
 * RPC_CLIENT_TIMEOUT_MS, for a service that is not the node (assay-cli
 * faucet). On 0, *status is the HTTP status, whatever it is, and *reply
 * (malloc()ed, NUL-terminated; the caller frees) holds *reply_len <= max
 * bytes. Errors as rpc_client_get, except that no status is one. */
int rpc_client_post(const char *host, unsigned port, const char *path, const char *body, size_t len,
		    size_t max, int *status, char **reply, size_t *reply_len, struct rpc_failure *fail);

/* 1 when host, as -rpcconnect names it, is certainly this machine: the name
 * "localhost", an IPv4 address in dotted-quad form inside 127.0.0.0/8, or
 * the IPv6 loopback ::1 (bracketed or not, or as ::ffff:127.x.y.z); else 0.
 * No name is resolved: what a name resolves to can change, so any other
 * name is not loopback. What decides whether the datadir's .cookie may be
 * sent. */
int rpc_client_host_is_loopback(const char *host);

/* The JSON-RPC half of rpc_client_call, on an HTTP status and the whole
 * reply body (exposed for tests and the fuzz target): the envelope's result
 * or error object. Same results as rpc_client_call. */
int rpc_client_parse_reply(int status, const char *body, size_t len, json_t **result,
			   struct rpc_failure *fail);

#endif
