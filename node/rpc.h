/* JSON-RPC 2.0 over HTTP (evhttp + jansson), docs/rpc.md. Authentication
 * by HTTP Basic against the cookie (DATADIR/.cookie, user __cookie__) or a
 * configured user and password. Methods are registered by name; this module
 * knows nothing of what they do. Also serves GET /metrics through a
 * callback. Not for: p2p. */
#ifndef ASSAY_NODE_RPC_H
#define ASSAY_NODE_RPC_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

/* JSON-RPC error codes (docs/rpc.md §Errors). */
enum rpc_code {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	RPC_MISC_ERROR = -1,
	RPC_NOT_FOUND = -5,
	RPC_INVALID_PARAMETER = -8,
	RPC_DESERIALIZATION_ERROR = -22,
	RPC_VERIFY_REJECTED = -26,
	RPC_CLIENT_NOT_CONNECTED = -9,
	RPC_IN_WARMUP = -28,
};

/* Largest request body accepted; a larger one gets HTTP 413. */
#define RPC_MAX_BODY (8u << 20)
/* Most requests in one JSON-RPC batch. */
#define RPC_MAX_BATCH 1000

struct rpc_error {
	int code;
	char message[256];
};

/* A method: params is an array (possibly empty) or an object. Set *result
 * (a new reference) and return 0, or fill e and return -1. */
typedef int (*rpc_method_fn)(void *ctx, json_t *params, json_t **result, struct rpc_error *e);
typedef void (*rpc_metrics_fn)(void *ctx, struct evbuffer *out);

struct rpc_method {
	const char *name;
	rpc_method_fn fn;
	const char *help; /* one line: "getblock HASH|HEIGHT - ..." */
};

typedef struct rpc rpc_t;

/* Binds bind:port. user/password NULL: a fresh cookie is written to
 * cookie_path (mode 0600) and removed by rpc_free. NULL on failure. */
rpc_t *rpc_new(struct event_base *base, const char *bind, int port, const char *user,
	       const char *password, const char *cookie_path, char *err, size_t errlen);
void rpc_free(rpc_t *r);
void rpc_register(rpc_t *r, const struct rpc_method *methods, size_t n, void *ctx);
void rpc_set_metrics(rpc_t *r, rpc_metrics_fn fn, void *ctx);
const struct rpc_method *rpc_methods(const rpc_t *r, size_t *n);

/* Helpers for methods. */
int rpc_fail(struct rpc_error *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* params[i] of an array, or NULL. */
json_t *rpc_param(json_t *params, size_t i);
/* Bytes as a lower-case hex JSON string (a new reference). */
json_t *rpc_hex(const uint8_t *p, size_t n);

#endif
