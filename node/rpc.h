/* JSON-RPC 2.0 over HTTP (evhttp + jansson), docs/rpc.md. Authentication
 * by HTTP Basic against the cookie (DATADIR/.cookie, user __cookie__) or a
 * configured user and password. Methods are registered by name; this module
 * knows nothing of what they do. Also serves GET /metrics through a
 * callback. Every resource a client can make it hold is capped by a constant
 * below (docs/rpc.md "Limits"). Not for: p2p. */
#ifndef ASSAY_NODE_RPC_H
#define ASSAY_NODE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "core/ipkey.h"

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
};

/* Implementation-defined server error (JSON-RPC reserves -32000..-32099):
 * the reply would exceed RPC_MAX_RESPONSE. */
#define RPC_RESPONSE_TOO_LARGE (-32001)

/* Limits (docs/rpc.md "Limits"). Every one bounds what a client, with or
 * without credentials, can make the node hold or do. */
#define RPC_MAX_BODY (8u << 20)         /* request body; larger: HTTP 413 */
#define RPC_MAX_UNAUTH_BODY (64u << 10) /* body read before credentials are valid */
#define RPC_MAX_HEADER_BYTES 8192u      /* request line plus headers; larger: 431 */
#define RPC_MAX_BATCH 100               /* calls in one JSON-RPC batch */
#define RPC_MAX_RESPONSE (64u << 20)    /* bytes of one reply (a batch's in all) */
#define RPC_DEFAULT_MAX_CONNECTIONS 64  /* -rpcmaxconnections */
#define RPC_RESERVED_FDS 128            /* descriptors kept free for p2p and disk */
#define RPC_IDLE_TIMEOUT_S 30           /* no byte read or written: closed */
#define RPC_HEAD_TIMEOUT_S 5            /* without valid credentials, per request */
#define RPC_AUTH_LOG_INTERVAL_MS 1000   /* at most one "rejected" log line per */
/* Wrong credentials from one address: after RPC_AUTH_FAILS_MAX of them
 * within RPC_AUTH_FAIL_WINDOW_MS of its first, that address's requests are
 * refused unread (HTTP 429, credentials not checked) until the window ends,
 * so a weak -rpcpassword cannot be guessed at network speed. 127.0.0.1 and
 * ::1 (also as ::ffff:127.0.0.1) are never locked out: any local user could
 * otherwise keep the node's own clients out (a local guesser on another
 * loopback address is). An IPv6 client counts with its whole /64, an
 * IPv4-mapped one as its IPv4 address. */
#define RPC_AUTH_FAILS_MAX 10
#define RPC_AUTH_FAIL_WINDOW_MS 10000
#define RPC_AUTH_FAIL_HOSTS 256         /* addresses remembered; the oldest window gives way */
#define RPC_AUTH_KEY_MAX IPKEY_MAX      /* an address as text, or an IPv6 /64 (core/ipkey.h) */

struct rpc_error {
	int code;
	char message[256];
};

/* A method: params is an array (possibly empty), or an object for a method
 * given rpc_set_named_params. Set *result (a new reference) and return 0,
 * or fill e and return -1. */
typedef int (*rpc_method_fn)(void *ctx, json_t *params, json_t **result, struct rpc_error *e);
typedef void (*rpc_metrics_fn)(void *ctx, struct evbuffer *out);
/* A route outside JSON-RPC (the binary chunk routes, docs/rpc.md): runs on
 * the event loop after the credentials passed and the body (at most
 * RPC_MAX_BODY) was read, and answers req itself. */
struct evhttp_request;
typedef void (*rpc_route_fn)(void *ctx, struct evhttp_request *req);

struct rpc_method {
	const char *name;
	rpc_method_fn fn;
	/* First line: the synopsis, "getblock HASH|HEIGHT [VERBOSITY] - what it
	 * does". Its words before " - " name the positional parameters ([X]
	 * optional, X... any number more, [X,...] one array), and the server
	 * refuses more than it names (-32602, rpc_synopsis_max_params). Lines
	 * after the first, if any, are the rest of `help METHOD`. */
	const char *help;
};

typedef struct rpc rpc_t;

/* ---- Deferred replies: a method that answers later (long polls) ----
 * A method handling a single request (not one call of a batch) may take
 * the reply over: it calls rpc_defer and returns RPC_DEFERRED. The handle
 * then gets events on the node's loop until it is answered with
 * rpc_deferred_reply. libevent 2.1 stops reading a connection once its
 * request is read, so the server watches the socket itself to notice a
 * client that went away. */
#define RPC_DEFERRED 1          /* a method's return: rpc_defer took the reply over */
#define RPC_MAX_DEFERRED 32     /* requests waiting at once (docs/rpc.md "Limits") */
#define RPC_MAX_DEFER_MS 600000 /* longest wait a deferred call may ask for */
#define RPC_DEFER_PROBE_MS 1000 /* a waiting client that pipelined bytes: how often its hang-up is looked for */

typedef struct rpc_deferred rpc_deferred_t;
enum rpc_defer_event {
	RPC_DEFER_WAKE,    /* rpc_deferred_wake: check again, reply if done */
	RPC_DEFER_TIMEOUT, /* timeout_ms passed: reply now (else the reply is null) */
	RPC_DEFER_GONE,    /* the client left or the server is closing: never reply;
			    * the handle is freed when the callback returns */
};
/* arg belongs to the caller; the callback frees it when it replies or on
 * RPC_DEFER_GONE (the last event a handle gets). */
typedef void (*rpc_defer_fn)(void *arg, rpc_deferred_t *d, enum rpc_defer_event ev);
/* Takes over the reply of the request being handled; its callback fn gets
 * RPC_DEFER_TIMEOUT after timeout_ms (at most RPC_MAX_DEFER_MS). NULL with
 * e filled inside a batch or with RPC_MAX_DEFERRED already waiting. */
rpc_deferred_t *rpc_defer(rpc_t *r, uint64_t timeout_ms, rpc_defer_fn fn, void *arg, struct rpc_error *e);
/* Answers and frees d: result (stolen; NULL: null) when e is NULL, else the
 * error e. */
void rpc_deferred_reply(rpc_deferred_t *d, json_t *result, const struct rpc_error *e);
/* Sends RPC_DEFER_WAKE to every waiting handle (r may be NULL: nothing). */
void rpc_deferred_wake(rpc_t *r);
/* Handles waiting now. */
size_t rpc_deferred_count(const rpc_t *r);

/* ---- Work off the event thread (docs/rpc.md "Threads") ----
 * Methods run on the event thread. With an executor set, the server
 * parses a POST body on another thread instead when the body is long
 * (RPC_OFFLOAD_MIN_BODY) or names a method that has a prepare step; for a
 * single call (not a batch) to such a method the step runs there too,
 * right after the parse, and may go on on other threads. Then the call
 * runs on the event thread as any other, its fn finding what the step made
 * through rpc_prepared. Calls handed over run in the order their requests
 * were received. The reply and every limit are those of a call parsed on
 * the event thread; a body the server cannot hand over
 * (no executor, RPC_MAX_OFFLOADED already out) is parsed where it is. */
#define RPC_OFFLOAD_MIN_BODY 4096u /* bytes of body worth a thread hop by length alone */
#define RPC_MAX_OFFLOADED 64       /* bodies off the event thread at once */

typedef struct rpc_work rpc_work_t;
/* Runs task(arg) once on another thread; 0, or -1 when it cannot now. */
typedef int (*rpc_executor_fn)(void *ctx, void (*task)(void *arg), void *arg);
/* Before the loop runs. The executor's threads must be done with the
 * server's tasks before rpc_free (its owner stops them, then calls
 * rpc_offload_drain). */
void rpc_set_executor(rpc_t *r, rpc_executor_fn fn, void *ctx);
/* A method's step off the event thread, on the executor's thread, with the
 * call's params (NULL when it has none) and the method's ctx. It must read
 * nothing the event thread changes. It returns what the method's fn will
 * find through rpc_prepared (released by `release` after fn returns, on
 * the executor's thread or the event thread), or NULL: fn then does all the work itself (so a step
 * leaves every refusal of bad params to fn, which words it). To go on on
 * other threads it calls rpc_work_hold(w) first and rpc_work_release(w)
 * when done there: the call runs once every hold is released. */
typedef void *(*rpc_prepare_fn)(void *ctx, json_t *params, rpc_work_t *w);
/* Gives method `name` (registered already) a prepare step; before the
 * loop runs. -1 when no such method is registered. */
int rpc_set_prepare(rpc_t *r, const char *name, rpc_prepare_fn prepare, void (*release)(void *prepared));
/* Any thread, inside a prepare step or after it (for w's step). */
void rpc_work_hold(rpc_work_t *w);
void rpc_work_release(rpc_work_t *w);
/* From a method's fn: what its prepare step returned for this call, or
 * NULL (none ran, or it returned NULL). */
void *rpc_prepared(const rpc_t *r);
/* Runs, on this (the event) thread, every call whose body the executor has
 * finished with: the server does it itself on each wake-up; the
 * executor's owner calls it once more after stopping its threads. r NULL:
 * nothing. */
void rpc_offload_drain(rpc_t *r);

/* Binds bind:port. user/password NULL: a fresh cookie is written to
 * cookie_path (mode 0600) and removed by rpc_free. NULL on failure. */
rpc_t *rpc_new(struct event_base *base, const char *bind, int port, const char *user,
	       const char *password, const char *cookie_path, char *err, size_t errlen);
void rpc_free(rpc_t *r);
/* At shutdown, with the loop stopped and before rpc_free: stops accepting
 * connections, answers every waiting call (RPC_DEFER_GONE, then HTTP
 * 503) and any request still arriving with 503, and turns the loop until
 * every reply written so far has left for the kernel, or
 * RPC_SHUTDOWN_FLUSH_MS has passed, since rpc_free closes the sockets at
 * once, unsent replies and all. Other events on the loop fire meanwhile,
 * so the caller stops first whatever must not run again (p2p, block
 * production, the verification pool and its rpc_offload_drain). */
#define RPC_SHUTDOWN_FLUSH_MS 1000
void rpc_shutdown(rpc_t *r);
/* Most simultaneous RPC connections (at least 1); beyond it a new connection
 * is closed as soon as it is accepted. Default RPC_DEFAULT_MAX_CONNECTIONS. */
void rpc_set_max_connections(rpc_t *r, int max_connections);
void rpc_register(rpc_t *r, const struct rpc_method *methods, size_t n, void *ctx);
void rpc_set_metrics(rpc_t *r, rpc_metrics_fn fn, void *ctx);
/* Requests whose path is prefix (kept, not copied), or prefix then '/' or
 * '?', go to fn instead of JSON-RPC (at most RPC_MAX_ROUTES; later ones
 * are ignored). */
#define RPC_MAX_ROUTES 4
void rpc_route(rpc_t *r, const char *prefix, rpc_route_fn fn, void *ctx);
const struct rpc_method *rpc_methods(const rpc_t *r, size_t *n);
/* Lets method `name` (registered already) take its params as one object
 * of named parameters, where its section of docs/rpc.md says so; before
 * the loop runs. Every other method refuses a non-empty object with
 * -32602 before it runs (an empty one names nothing: no params), since it
 * would read none of it. -1 when no such method is registered. */
int rpc_set_named_params(rpc_t *r, const char *name);

/* Helpers for methods. */
int rpc_fail(struct rpc_error *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* params[i] of an array, or NULL. */
json_t *rpc_param(json_t *params, size_t i);
/* Bytes as a lower-case hex JSON string (a new reference). */
json_t *rpc_hex(const uint8_t *p, size_t n);

/* Pure pieces of the server, exposed for tests. */

/* Most positional parameters a method's synopsis (struct rpc_method.help)
 * names, or -1 when it ends in a repeatable one (ARG...). */
int rpc_synopsis_max_params(const char *help);
/* The full help of method name: synopsis, description, the rest of its help
 * text and the parameter rule. A malloc()ed string the caller frees, or NULL
 * when no such method is registered (or memory ran out). */
char *rpc_method_help(const rpc_t *r, const char *name);

/* What the server needs from a request head before it reads a body. */
struct rpc_head {
	size_t end;            /* bytes of the head, blank line included */
	const char *auth;      /* Authorization value (not NUL-terminated), or NULL */
	size_t auth_len;
	long long content_length; /* -1: no Content-Length header */
	int chunked;           /* Transfer-Encoding other than identity */
	int bad;               /* unparsable Content-Length */
};
/* Scans head[0..len) for a complete HTTP request head (lines end in LF or
 * CRLF; an empty line ends it, but empty lines before the request line are
 * skipped, as evhttp does). 1 and *out filled when complete, 0 when more
 * bytes are needed. */
int rpc_head_scan(const char *head, size_t len, struct rpc_head *out);

/* The same scan over a head that arrives in pieces, resumed where the last
 * piece left it: each complete line is parsed once and each byte searched
 * for a line end once, so a head sent one byte per packet costs O(n), not
 * the O(n^2) of calling rpc_head_scan on the whole head after every read. */
struct rpc_head_scanner {
	struct rpc_head head; /* the lines parsed so far; all of it once complete */
	size_t line;          /* offset of the first line not parsed yet */
	size_t searched;      /* bytes before this offset hold no unparsed LF */
	int request_line;     /* 1: the request line is behind; a blank line ends the head */
};
void rpc_head_scanner_init(struct rpc_head_scanner *s);
/* Continues s over head[0..len): the bytes of the earlier calls since init,
 * at the same address (s->head.auth points into them), and len - (earlier
 * len) new ones. 1 when the head is complete (s->head filled; later calls
 * change nothing), 0 when more bytes are needed. */
int rpc_head_scanner_feed(struct rpc_head_scanner *s, const char *head, size_t len);

/* A request body parsed as json_loadb(text, len, JSON_REJECT_DUPLICATES,
 * err) would: the same tree (values, key order) or the same error (an
 * object with a repeated key, at any depth, is one). Bodies in a plain subset of
 * JSON (objects with distinct keys, arrays, strings of printable ASCII
 * without escapes, integers of up to 18 digits without a sign, true,
 * false, null; at most RPC_JSON_SCAN_DEPTH deep) are scanned directly,
 * which for a batch of hex strings costs a fraction of jansson's parse;
 * anything else goes to jansson. The caller decrefs the result. */
json_t *rpc_json_parse(const char *text, size_t len, json_error_t *err);
/* The direct scan alone: the tree, or NULL when text is not in the subset
 * (or out of memory); for tests. */
json_t *rpc_json_scan(const char *text, size_t len);
#define RPC_JSON_SCAN_DEPTH 16

/* The addresses that sent wrong credentials lately (RPC_AUTH_FAILS_MAX).
 * Pure: the caller passes the time. */
struct rpc_auth_guard {
	struct rpc_auth_fails {
		char host[RPC_AUTH_KEY_MAX]; /* the client's address, or IPv6 /64, as text; "" unused */
		uint64_t since_ms; /* the window's first failure */
		uint32_t fails;    /* failures in the window */
	} e[RPC_AUTH_FAIL_HOSTS];
};
/* 1 when host's requests are refused unread at now_ms. */
int rpc_auth_guard_locked(const struct rpc_auth_guard *g, const char *host, uint64_t now_ms);
/* host sent wrong credentials at now_ms. */
void rpc_auth_guard_failed(struct rpc_auth_guard *g, const char *host, uint64_t now_ms);

/* -rpcallowip: the sources that may connect (docs/rpc.md "Who may
 * connect"). 127.0.0.1 and ::1 always may; every other address, the rest
 * of 127.0.0.0/8 included, only when an entry covers it. A connection from
 * any other address is answered 403 and closed before a byte of its request
 * is read. */
#define RPC_MAX_ALLOW 32 /* entries, as many as a repeatable option holds */
struct rpc_allow {
	int family;      /* AF_INET or AF_INET6 */
	uint8_t net[16]; /* the subnet's address, bits past the prefix cleared (4 bytes for AF_INET) */
	unsigned bits;   /* prefix length: 0..32 or 0..128 */
};
/* Parses ADDR, ADDR/BITS or (IPv4) ADDR/NETMASK into *out; an IPv4-mapped
 * IPv6 entry (::ffff:a.b.c.d) becomes the IPv4 one. 0, or ASSAY_EARG with
 * a message in err. Host bits past the prefix are cleared, as Bitcoin Core
 * does: 10.1.2.3/8 is 10.0.0.0/8. */
int rpc_allow_parse(const char *text, struct rpc_allow *out, char *err, size_t errlen);
/* 1 when the client address host (text, as inet_ntop writes it; an
 * IPv4-mapped IPv6 address counts as its IPv4 one) is 127.0.0.1, ::1 or in
 * one of the n entries of list; else 0, and 0 for text that is no address. */
int rpc_allow_permits(const struct rpc_allow *list, size_t n, const char *host);
/* Replaces the server's list with a copy of n entries (at most
 * RPC_MAX_ALLOW; more are ignored). Default: none, so loopback only. */
void rpc_set_allow(rpc_t *r, const struct rpc_allow *list, size_t n);
/* 1 when the listen address bind keeps the RPC on this machine: an
 * address in 127.0.0.0/8, ::1 (or IPv4-mapped ::ffff:127.x) or
 * "localhost". */
int rpc_bind_is_loopback(const char *bind);
/* 1 when every address entry a covers is a loopback one (inside
 * 127.0.0.0/8 or ::1 itself). */
int rpc_allow_is_loopback(const struct rpc_allow *a);

/* Bytes of the longest prefix of the valid UTF-8 string s that is at most
 * max bytes and does not split a character. */
size_t rpc_utf8_prefix(const char *s, size_t max);
/* Makes s valid UTF-8 in place: each byte that does not start a complete,
 * well-formed sequence becomes '?'. */
void rpc_utf8_sanitize(char *s);


#endif
