/* JSON-RPC server (see rpc.h). One evhttp server on the node's event loop;
 * requests are handled to completion on that thread, so methods need no
 * locking against each other or against block production. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "node/rpc.h"

#define RPC_MAX_METHODS 128

struct rpc {
	struct evhttp *http;
	char expected_auth[512]; /* "user:password" */
	char cookie_path[1024];
	struct rpc_method methods[RPC_MAX_METHODS];
	void *ctxs[RPC_MAX_METHODS];
	size_t nmethods;
	rpc_metrics_fn metrics;
	void *metrics_ctx;
};

int rpc_fail(struct rpc_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

json_t *rpc_param(json_t *params, size_t i)
{
	return json_is_array(params) ? json_array_get(params, i) : NULL;
}

json_t *rpc_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return json_null();
	hex_encode(p, n, s);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static int write_cookie(rpc_t *r, const char *path, char *err, size_t errlen)
{
	uint8_t secret[32];
	char hex[65];
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		snprintf(err, errlen, "no randomness for the RPC cookie");
		return ASSAY_EIO;
	}
	hex_encode(secret, sizeof(secret), hex);
	snprintf(r->expected_auth, sizeof(r->expected_auth), "__cookie__:%s", hex);
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, r->expected_auth, strlen(r->expected_auth)) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot write the RPC cookie %s", path);
		return ASSAY_EIO;
	}
	snprintf(r->cookie_path, sizeof(r->cookie_path), "%s", path);
	return 0;
}

/* Constant-time check of the Basic credentials. */
static int authorized(rpc_t *r, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!h || strncmp(h, "Basic ", 6) != 0)
		return 0;
	unsigned char decoded[600];
	size_t n;
	if (sodium_base642bin(decoded, sizeof(decoded) - 1, h + 6, strlen(h + 6), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return 0;
	size_t want = strlen(r->expected_auth);
	if (n != want)
		return 0;
	return sodium_memcmp(decoded, r->expected_auth, want) == 0;
}

static json_t *error_obj(int code, const char *msg)
{
	return json_pack("{s:i,s:s}", "code", code, "message", msg);
}

static json_t *response(json_t *id, json_t *result, json_t *error)
{
	json_t *o = json_object();
	json_object_set_new(o, "jsonrpc", json_string("2.0"));
	if (error)
		json_object_set_new(o, "error", error);
	else
		json_object_set_new(o, "result", result ? result : json_null());
	json_object_set(o, "id", id ? id : json_null());
	return o;
}

static json_t *handle_one(rpc_t *r, json_t *req)
{
	json_t *id = json_object_get(req, "id");
	json_t *method = json_object_get(req, "method");
	json_t *params = json_object_get(req, "params");
	if (!json_is_object(req) || !json_is_string(method))
		return response(id, NULL, error_obj(RPC_INVALID_REQUEST, "invalid request: needs \"method\""));
	if (params && !json_is_array(params) && !json_is_object(params))
		return response(id, NULL,
				error_obj(RPC_INVALID_REQUEST, "\"params\" must be an array or an object"));
	const char *name = json_string_value(method);
	for (size_t i = 0; i < r->nmethods; i++) {
		if (strcmp(r->methods[i].name, name) != 0)
			continue;
		json_t *result = NULL;
		struct rpc_error e = {0};
		json_t *p = params ? params : json_array();
		int rc = r->methods[i].fn(r->ctxs[i], p, &result, &e);
		if (!params)
			json_decref(p);
		if (rc < 0)
			return response(id, NULL, error_obj(e.code ? e.code : RPC_MISC_ERROR, e.message));
		return response(id, result, NULL);
	}
	char msg[200];
	snprintf(msg, sizeof(msg), "method not found: %.100s", name);
	return response(id, NULL, error_obj(RPC_METHOD_NOT_FOUND, msg));
}

static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(body, JSON_COMPACT);
	evbuffer_add(out, text, strlen(text));
	evbuffer_add(out, "\n", 1);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", out);
	evbuffer_free(out);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	rpc_t *r = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd == EVHTTP_REQ_GET && uri && strcmp(uri, "/metrics") == 0 && r->metrics) {
		struct evbuffer *out = evbuffer_new();
		r->metrics(r->metrics_ctx, out);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "text/plain; version=0.0.4");
		evhttp_send_reply(req, 200, "OK", out);
		evbuffer_free(out);
		return;
	}
	if (!authorized(r, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
				  "Basic realm=\"assay-rpc\"");
		log_warn("rpc: rejected request with wrong or missing credentials");
		evhttp_send_error(req, 401, "Unauthorized");
		return;
	}
	if (cmd != EVHTTP_REQ_POST) {
		evhttp_send_error(req, 405, "JSON-RPC requires POST");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > RPC_MAX_BODY) {
		evhttp_send_error(req, 413, "Request too large");
		return;
	}
	json_error_t jerr;
	json_t *body = json_loadb((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len, 0, &jerr);
	if (!body) {
		char msg[300];
		snprintf(msg, sizeof(msg), "parse error: %s", jerr.text);
		json_t *resp = response(NULL, NULL, error_obj(RPC_PARSE_ERROR, msg));
		reply_json(req, 200, resp);
		json_decref(resp);
		return;
	}
	json_t *resp;
	if (json_is_array(body)) {
		resp = json_array();
		if (json_array_size(body) == 0 || json_array_size(body) > RPC_MAX_BATCH) {
			json_decref(resp);
			resp = response(NULL, NULL,
					error_obj(RPC_INVALID_REQUEST, "batch must hold 1 to 1000 requests"));
		} else {
			for (size_t i = 0; i < json_array_size(body); i++)
				json_array_append_new(resp, handle_one(r, json_array_get(body, i)));
		}
	} else {
		resp = handle_one(r, body);
	}
	reply_json(req, 200, resp);
	json_decref(resp);
	json_decref(body);
}

rpc_t *rpc_new(struct event_base *base, const char *bind, int port, const char *user,
	       const char *password, const char *cookie_path, char *err, size_t errlen)
{
	rpc_t *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->http = evhttp_new(base);
	if (!r->http) {
		free(r);
		snprintf(err, errlen, "cannot create the HTTP server");
		return NULL;
	}
	evhttp_set_max_body_size(r->http, RPC_MAX_BODY);
	evhttp_set_timeout(r->http, 30);
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(r->http, on_request, r);
	if (evhttp_bind_socket(r->http, bind, (ev_uint16_t)port) != 0) {
		snprintf(err, errlen, "cannot bind RPC to %s:%d (in use, or not a local address?)", bind, port);
		rpc_free(r);
		return NULL;
	}
	if (user && password) {
		snprintf(r->expected_auth, sizeof(r->expected_auth), "%s:%s", user, password);
	} else if (write_cookie(r, cookie_path, err, errlen) < 0) {
		rpc_free(r);
		return NULL;
	}
	return r;
}

void rpc_free(rpc_t *r)
{
	if (!r)
		return;
	if (r->http)
		evhttp_free(r->http);
	if (r->cookie_path[0])
		unlink(r->cookie_path);
	sodium_memzero(r->expected_auth, sizeof(r->expected_auth));
	free(r);
}

void rpc_register(rpc_t *r, const struct rpc_method *methods, size_t n, void *ctx)
{
	for (size_t i = 0; i < n && r->nmethods < RPC_MAX_METHODS; i++) {
		r->methods[r->nmethods] = methods[i];
		r->ctxs[r->nmethods++] = ctx;
	}
}

void rpc_set_metrics(rpc_t *r, rpc_metrics_fn fn, void *ctx)
{
	r->metrics = fn;
	r->metrics_ctx = ctx;
}

const struct rpc_method *rpc_methods(const rpc_t *r, size_t *n)
{
	*n = r->nmethods;
	return r->methods;
}
