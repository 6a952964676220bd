/* JSON-RPC and bounded GET over libevent's evhttp client (see rpc_client.h).
 * Each call owns a private event_base and one connection, and runs it until
 * the reply is complete, the connection fails, or the whole-exchange deadline
 * passes (a peer that trickles bytes cannot hold us longer than that). evhttp
 * does the HTTP/1.1 framing, chunked decoding and the size limits; we map
 * its outcome to ASSAY_E* codes and parse the JSON-RPC envelope. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sodium.h>

#include "core/error.h"
#include "wallet/rpc_client.h"

static int fail_set(struct rpc_failure *f, int rc, long long code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_set(struct rpc_failure *f, int rc, long long code, const char *fmt, ...)
{
	if (f) {
		va_list ap;
		f->code = code;
		va_start(ap, fmt);
		vsnprintf(f->message, sizeof(f->message), fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* One request in flight and what became of it. */
struct exchange {
	struct event_base *base;
	int done;                         /* the request callback ran */
	int timed_out;                    /* the whole-exchange deadline passed */
	int have_error;                   /* evhttp reported error */
	enum evhttp_request_error error;
	int status;                       /* HTTP status; 0 if no reply was parsed */
	struct evbuffer *body;            /* the reply body, moved out of evhttp's */
};

/* What an exchange asks for. */
struct request_spec {
	const char *host;
	unsigned port;
	enum evhttp_cmd_type method;
	const char *path;
	const char *auth;                 /* "user:password", or NULL for none */
	const char *body;                 /* POST body, or NULL */
	size_t body_len;
	const char *content_type;         /* of body; NULL: application/json */
	size_t max;                       /* largest reply body accepted */
	int timeout_ms;
};

static void on_error(enum evhttp_request_error error, void *arg)
{
	struct exchange *x = arg;
	x->have_error = 1;
	x->error = error;
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct exchange *x = arg;
	x->done = 1;
	if (req && evhttp_request_get_response_code(req) > 0) {
		x->status = evhttp_request_get_response_code(req);
		if (evbuffer_add_buffer(x->body, evhttp_request_get_input_buffer(req)) != 0)
			x->status = -1; /* out of memory */
	}
	event_base_loopbreak(x->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct exchange *x = arg;
	x->timed_out = 1;
	event_base_loopbreak(x->base);
}

/* Why an exchange that got no reply failed, as an ASSAY_E* code and words. */
static int no_reply(const struct exchange *x, const struct request_spec *r, struct rpc_failure *f)
{
	if (x->timed_out || (x->have_error && x->error == EVREQ_HTTP_TIMEOUT))
		return fail_set(f, ASSAY_EIO, 0, "%s:%u timed out after %d ms", r->host, r->port,
				r->timeout_ms);
	if (x->have_error && x->error == EVREQ_HTTP_DATA_TOO_LONG)
		return fail_set(f, ASSAY_ELIMIT, 0, "reply from %s:%u larger than %zu bytes", r->host,
				r->port, r->max);
	if (x->have_error && x->error == EVREQ_HTTP_INVALID_HEADER)
		return fail_set(f, ASSAY_EDECODE, 0, "the reply from %s:%u is not HTTP, or its headers pass %u bytes",
				r->host, r->port, RPC_CLIENT_HEADERS_MAX);
	if (x->have_error && x->error == EVREQ_HTTP_EOF)
		return fail_set(f, ASSAY_EIO, 0, "%s:%u closed the connection before a whole reply",
				r->host, r->port);
	if (x->have_error)
		return fail_set(f, ASSAY_EIO, 0, "the exchange with %s:%u failed", r->host, r->port);
	return fail_set(f, ASSAY_EIO, 0, "cannot connect to %s:%u", r->host, r->port);
}

/* The calling thread's event base for requests, made at its first one and
 * kept: making one takes descriptors (epoll, a signal pipe), and libevent
 * ends the process when it cannot get them, as when a flood of
 * connections to a worker's output server holds every one. A request that
 * cannot get its socket then fails as any failed connect does. */
static struct event_base *thread_base(void)
{
	static __thread struct event_base *base;
	if (!base)
		base = event_base_new();
	return base;
}

/* Runs one request to completion. On 0, *status is the HTTP status and
 * *body (malloc()ed, NUL-terminated, caller frees) holds *len bytes. */
static int exchange_run(const struct request_spec *r, int *status, char **body, size_t *len,
			struct rpc_failure *f)
{
	struct exchange x = {0};
	struct evhttp_connection *conn = NULL;
	struct event *deadline = NULL;
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	char hostport[300];
	int rc = 0;
	*body = NULL;
	*len = 0;
	x.base = thread_base();
	x.body = evbuffer_new();
	if (x.base)
		conn = evhttp_connection_base_new(x.base, NULL, r->host, (unsigned short)r->port);
	if (conn)
		deadline = evtimer_new(x.base, on_deadline, &x);
	struct evhttp_request *req = deadline && x.body ? evhttp_request_new(on_reply, &x) : NULL;
	if (!req) {
		rc = fail_set(f, ASSAY_ENOMEM, 0, "cannot set up a connection to %s:%u", r->host, r->port);
		goto out;
	}
	evhttp_connection_set_timeout_tv(conn, &tv);
	evhttp_connection_set_retries(conn, 0);
	evhttp_connection_set_max_body_size(conn, (ev_ssize_t)r->max);
	evhttp_connection_set_max_headers_size(conn, RPC_CLIENT_HEADERS_MAX);
	evhttp_request_set_error_cb(req, on_error);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	snprintf(hostport, sizeof(hostport), "%s:%u", r->host, r->port);
	int bad = evhttp_add_header(h, "Host", hostport) || evhttp_add_header(h, "Connection", "close");
	if (r->auth) {
		char auth64[sodium_base64_ENCODED_LEN(RPC_CLIENT_AUTH_MAX, sodium_base64_VARIANT_ORIGINAL)];
		char value[sizeof(auth64) + 8];
		sodium_bin2base64(auth64, sizeof(auth64), (const unsigned char *)r->auth, strlen(r->auth),
				  sodium_base64_VARIANT_ORIGINAL);
		snprintf(value, sizeof(value), "Basic %s", auth64);
		bad = bad || evhttp_add_header(h, "Authorization", value);
		sodium_memzero(auth64, sizeof(auth64));
		sodium_memzero(value, sizeof(value));
	}
	if (r->body)
		bad = bad ||
		      evhttp_add_header(h, "Content-Type",
					r->content_type ? r->content_type : "application/json") ||
		      evbuffer_add(evhttp_request_get_output_buffer(req), r->body, r->body_len);
	if (bad) {
		evhttp_request_free(req);
		rc = fail_set(f, ASSAY_ENOMEM, 0, "out of memory");
		goto out;
	}
	/* evhttp_make_request frees req itself when it fails */
	if (evhttp_make_request(conn, req, r->method, r->path) != 0) {
		rc = fail_set(f, ASSAY_EIO, 0, "cannot send a request to %s:%u", r->host, r->port);
		goto out;
	}
	evtimer_add(deadline, &tv);
	event_base_dispatch(x.base);
	if (x.status < 0) {
		rc = fail_set(f, ASSAY_ENOMEM, 0, "out of memory");
	} else if (!x.done || x.status == 0) {
		rc = no_reply(&x, r, f);
	} else if (evbuffer_get_length(x.body) > r->max) {
		rc = fail_set(f, ASSAY_ELIMIT, 0, "reply from %s:%u larger than %zu bytes", r->host, r->port,
			      r->max);
	} else {
		*len = evbuffer_get_length(x.body);
		*body = malloc(*len + 1);
		if (!*body) {
			rc = fail_set(f, ASSAY_ENOMEM, 0, "out of memory");
		} else {
			evbuffer_remove(x.body, *body, *len);
			(*body)[*len] = 0;
			*status = x.status;
		}
	}
out:
	if (conn)
		evhttp_connection_free(conn); /* frees a request still pending, without callbacks */
	if (deadline)
		event_free(deadline);
	if (x.body)
		evbuffer_free(x.body);
	if (rc)
		*len = 0;
	return rc;
}

int rpc_client_host_is_loopback(const char *host)
{
	char bare[INET6_ADDRSTRLEN + 1];
	struct in_addr v4;
	struct in6_addr v6;
	size_t len = strlen(host);
	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		if (len - 2 >= sizeof(bare))
			return 0;
		memcpy(bare, host + 1, len - 2);
		bare[len - 2] = 0;
		host = bare;
	}
	if (inet_pton(AF_INET6, host, &v6) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&v6))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

int rpc_client_parse_reply(int status, const char *body, size_t len, json_t **result,
			   struct rpc_failure *fail)
{
	*result = NULL;
	if (status == 401 || status == 403)
		return fail_set(fail, ASSAY_EAUTH, status,
				"authorization failed (HTTP %d): check DATADIR/.cookie or "
				"-rpcuser/-rpcpassword",
				status);
	json_error_t jerr;
	json_t *reply = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(reply)) {
		json_decref(reply);
		return fail_set(fail, ASSAY_EDECODE, status, "HTTP %d with a body that is not JSON-RPC",
				status);
	}
	json_t *error = json_object_get(reply, "error");
	int rc = 0;
	if (error && !json_is_null(error)) {
		json_t *msg = json_object_get(error, "message");
		rc = fail_set(fail, ASSAY_EINVALID, json_integer_value(json_object_get(error, "code")),
			      "%s", json_is_string(msg) ? json_string_value(msg) : "unknown error");
	} else if (status != 200) {
		rc = fail_set(fail, ASSAY_EDECODE, status, "HTTP %d without an error object", status);
	} else if (!json_object_get(reply, "result")) {
		rc = fail_set(fail, ASSAY_EDECODE, 0, "the reply has neither result nor error");
	} else {
		*result = json_incref(json_object_get(reply, "result"));
	}
	json_decref(reply);
	return rc;
}

int rpc_client_call(const struct rpc_endpoint *ep, const char *method, json_t *params,
		    json_t **result, struct rpc_failure *fail)
{
	*result = NULL;
	json_t *envelope = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method",
				     method, "params", params ? json_incref(params) : json_array());
	char *body = envelope ? json_dumps(envelope, JSON_COMPACT) : NULL;
	json_decref(envelope);
	if (!body)
		return fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");
	struct request_spec r = {
		.host = ep->host,
		.port = ep->port,
		.method = EVHTTP_REQ_POST,
		.path = "/",
		.auth = ep->auth,
		.body = body,
		.body_len = strlen(body),
		.max = RPC_CLIENT_RESPONSE_MAX,
		.timeout_ms = ep->timeout_ms > 0 ? ep->timeout_ms : RPC_CLIENT_TIMEOUT_MS,
	};
	char *reply;
	size_t len;
	int status = 0;
	int rc = exchange_run(&r, &status, &reply, &len, fail);
	free(body);
	if (rc)
		return rc;
	rc = rpc_client_parse_reply(status, reply, len, result, fail);
	free(reply);
	return rc;
}

/* One request outside JSON-RPC (no auth) to an untrusted peer: the path
 * and the address checked, then the exchange with the reply bounded by max.
 * What exchange_run returns. */
static int plain_request(const char *host, unsigned port, enum evhttp_cmd_type method, const char *path,
			 const char *body, size_t len, size_t max, int *status, char **reply,
			 size_t *reply_len, struct rpc_failure *fail)
{
	/* the path goes into the request line: no spaces or control bytes */
	if (path[0] != '/' || strpbrk(path, " \t\r\n"))
		return fail_set(fail, ASSAY_EARG, 0, "bad path '%s'", path);
	if (strlen(host) >= 256 || port == 0 || port > 65535)
		return fail_set(fail, ASSAY_EARG, 0, "bad host or port");
	struct request_spec r = {
		.host = host,
		.port = port,
		.method = method,
		.path = path,
		.body = body,
		.body_len = len,
		.max = max,
		.timeout_ms = RPC_CLIENT_TIMEOUT_MS,
	};
	return exchange_run(&r, status, reply, reply_len, fail);
}

int rpc_client_get(const char *host, unsigned port, const char *path, size_t max, uint8_t **body, size_t *len,
		   struct rpc_failure *fail)
{
	*body = NULL;
	*len = 0;
	char *reply;
	int status = 0;
	int rc = plain_request(host, port, EVHTTP_REQ_GET, path, NULL, 0, max, &status, &reply, len, fail);
	if (rc)
		return rc;
	if (status != 200) {
		free(reply);
		*len = 0;
		return fail_set(fail, status == 404 ? ASSAY_ENOTFOUND : ASSAY_EIO, status,
				"HTTP %d from %s:%u%s", status, host, port, path);
	}
	*body = (uint8_t *)reply;
	return 0;
}

int rpc_client_post(const char *host, unsigned port, const char *path, const char *body, size_t len,
		    size_t max, int *status, char **reply, size_t *reply_len, struct rpc_failure *fail)
{
	*reply = NULL;
	*reply_len = 0;
	return plain_request(host, port, EVHTTP_REQ_POST, path, body, len, max, status, reply, reply_len,
			     fail);
}

int rpc_client_request(const struct rpc_endpoint *ep, const char *path, const char *content_type,
		       const uint8_t *body, size_t len, size_t max, int *status, uint8_t **reply,
		       size_t *reply_len, struct rpc_failure *fail)
{
	struct request_spec r = {
		.host = ep->host,
		.port = ep->port,
		.method = body ? EVHTTP_REQ_POST : EVHTTP_REQ_GET,
		.path = path,
		.auth = ep->auth,
		.body = (const char *)body,
		.body_len = len,
		.content_type = content_type,
		.max = max,
		.timeout_ms = ep->timeout_ms > 0 ? ep->timeout_ms : RPC_CLIENT_TIMEOUT_MS,
	};
	char *text;
	int rc = exchange_run(&r, status, &text, reply_len, fail);
	*reply = (uint8_t *)text;
	return rc;
}

int rpc_client_wait_block(const struct rpc_endpoint *ep, uint64_t timeout_ms, long long after, long long *height,
			  struct rpc_failure *fail)
{
	json_t *got = NULL;
	json_t *params = after >= 0 ? json_pack("[I,I]", (json_int_t)timeout_ms, (json_int_t)after)
				    : json_pack("[I]", (json_int_t)timeout_ms);
	if (!params)
		return ASSAY_ENOMEM;
	int rc = rpc_client_call(ep, "waitfornewblock", params, &got, fail);
	json_decref(params);
	if (rc == 0 && !json_is_integer(json_object_get(got, "height"))) {
		snprintf(fail->message, sizeof(fail->message), "waitfornewblock: no height in the reply");
		rc = ASSAY_EDECODE;
	}
	if (rc == 0)
		*height = (long long)json_integer_value(json_object_get(got, "height"));
	json_decref(got);
	return rc;
}
