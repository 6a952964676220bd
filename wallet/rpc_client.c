/* Blocking JSON-RPC over HTTP/1.1 (see rpc_client.h). "Connection: close" on
 * every request, so the reply ends at EOF or Content-Length, whichever comes
 * first; chunked replies are decoded too. */
#define _GNU_SOURCE /* memmem, asprintf */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

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

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

/* Non-blocking connect bounded by timeout_ms, to each address in turn. */
static int dial(const struct rpc_endpoint *ep, int timeout_ms, struct rpc_failure *f)
{
	char port[16];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	snprintf(port, sizeof(port), "%u", ep->port);
	int gai = getaddrinfo(ep->host, port, &hints, &res);
	if (gai != 0)
		return fail_set(f, ASSAY_EIO, 0, "cannot resolve %s: %s", ep->host, gai_strerror(gai));
	int fd = -1, last = 0;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		int flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r != 0 && errno == EINPROGRESS) {
			int soerr = ETIMEDOUT;
			socklen_t sl = sizeof(soerr);
			if (wait_fd(fd, POLLOUT, timeout_ms) == 0)
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			r = soerr ? -1 : 0;
			errno = soerr;
		}
		if (r == 0) {
			fcntl(fd, F_SETFL, flags);
			break;
		}
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail_set(f, ASSAY_EIO, 0, "cannot connect to %s:%u: %s", ep->host, ep->port,
				strerror(last));
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Finds header name (case-insensitive) in the header block; returns a pointer
 * to its value (after spaces) or NULL. */
static const char *header_value(const char *headers, const char *end, const char *name)
{
	size_t nl = strlen(name);
	for (const char *line = headers; line && line < end;) {
		if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		line = strstr(line, "\r\n");
		if (line)
			line += 2;
	}
	return NULL;
}

/* Decodes a chunked body in place; returns the decoded length or -1. */
static long dechunk(char *body, size_t n)
{
	size_t in = 0, out = 0;
	for (;;) {
		char *end;
		if (in >= n)
			return -1;
		unsigned long len = strtoul(body + in, &end, 16);
		if (end == body + in)
			return -1;
		char *crlf = memmem(end, n - (size_t)(end - body), "\r\n", 2);
		if (!crlf)
			return -1;
		in = (size_t)(crlf - body) + 2;
		if (len == 0)
			return (long)out;
		if (len > n - in || n - in - len < 2)
			return -1;
		memmove(body + out, body + in, len);
		out += len;
		in += len + 2;
	}
}

int rpc_client_parse_response(const char *raw, size_t n, json_t **result,
			      struct rpc_failure *fail)
{
	int status = 0;
	*result = NULL;
	if (n < 12 || sscanf(raw, "HTTP/1.%*d %d", &status) != 1)
		return fail_set(fail, ASSAY_EDECODE, 0, "the reply is not HTTP");
	const char *hend = memmem(raw, n, "\r\n\r\n", 4);
	if (!hend)
		return fail_set(fail, ASSAY_EDECODE, 0, "the HTTP reply has no end of headers");
	if (status == 401 || status == 403)
		return fail_set(fail, ASSAY_EAUTH, status,
				"authorization failed (HTTP %d): check DATADIR/.cookie or "
				"-rpcuser/-rpcpassword",
				status);
	const char *body_start = hend + 4;
	size_t body_len = n - (size_t)(body_start - raw);
	char *body = malloc(body_len + 1);
	if (!body)
		return fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");
	memcpy(body, body_start, body_len);
	body[body_len] = 0;
	const char *te = header_value(raw, hend, "Transfer-Encoding");
	const char *cl = header_value(raw, hend, "Content-Length");
	if (te && strncasecmp(te, "chunked", 7) == 0) {
		long dl = dechunk(body, body_len);
		if (dl < 0) {
			free(body);
			return fail_set(fail, ASSAY_EDECODE, 0, "bad chunked encoding in the reply");
		}
		body_len = (size_t)dl;
	} else if (cl) {
		unsigned long long want = strtoull(cl, NULL, 10);
		if (want > body_len) {
			free(body);
			return fail_set(fail, ASSAY_EDECODE, 0, "the reply was cut short");
		}
		body_len = (size_t)want;
	}
	json_error_t jerr;
	json_t *reply = json_loadb(body, body_len, 0, &jerr);
	free(body);
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

/* True once a reply with Content-Length has all its body, so a server that
 * keeps the connection open despite "Connection: close" does not stall us. */
static int reply_complete(const char *raw, size_t len)
{
	const char *hend = memmem(raw, len, "\r\n\r\n", 4);
	if (!hend)
		return 0;
	const char *cl = header_value(raw, hend, "Content-Length");
	if (!cl)
		return 0;
	unsigned long long want = strtoull(cl, NULL, 10);
	return (size_t)(hend + 4 - raw) + want <= len;
}

int rpc_client_call(const struct rpc_endpoint *ep, const char *method, json_t *params,
		    json_t **result, struct rpc_failure *fail)
{
	int timeout_ms = ep->timeout_ms > 0 ? ep->timeout_ms : RPC_CLIENT_TIMEOUT_MS;
	char auth64[sodium_base64_ENCODED_LEN(RPC_CLIENT_AUTH_MAX, sodium_base64_VARIANT_ORIGINAL)];
	char *body = NULL, *req = NULL, *raw = NULL;
	size_t len = 0, cap = 0;
	int rc, fd = -1;

	*result = NULL;
	json_t *envelope = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method",
				     method, "params", params ? json_incref(params) : json_array());
	body = envelope ? json_dumps(envelope, JSON_COMPACT) : NULL;
	json_decref(envelope);
	if (!body)
		return fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");
	sodium_bin2base64(auth64, sizeof(auth64), (const unsigned char *)ep->auth,
			  strlen(ep->auth), sodium_base64_VARIANT_ORIGINAL);
	size_t blen = strlen(body);
	int rl = asprintf(&req,
			  "POST / HTTP/1.1\r\nHost: %s:%u\r\nAuthorization: Basic %s\r\n"
			  "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n%s",
			  ep->host, ep->port, auth64, blen, body);
	sodium_memzero(auth64, sizeof(auth64));
	free(body);
	if (rl < 0)
		return fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");

	if ((fd = dial(ep, timeout_ms, fail)) < 0) {
		rc = ASSAY_EIO;
		goto out;
	}
	if (send_all(fd, req, (size_t)rl) != 0) {
		rc = fail_set(fail, ASSAY_EIO, 0, "sending to %s:%u failed: %s", ep->host, ep->port,
			      strerror(errno));
		goto out;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *grown = realloc(raw, ncap);
			if (!grown) {
				rc = fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");
				goto out;
			}
			raw = grown;
			cap = ncap;
		}
		ssize_t r = recv(fd, raw + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail_set(fail, ASSAY_EIO, 0, "reading from %s:%u failed: %s", ep->host,
				      ep->port,
				      errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		raw[len] = 0;
		if (reply_complete(raw, len))
			break;
		if (len > RPC_CLIENT_RESPONSE_MAX) {
			rc = fail_set(fail, ASSAY_ELIMIT, 0, "reply larger than %u bytes",
				      RPC_CLIENT_RESPONSE_MAX);
			goto out;
		}
	}
	if (len == 0) {
		rc = fail_set(fail, ASSAY_EIO, 0, "%s:%u closed the connection without a reply",
			      ep->host, ep->port);
		goto out;
	}
	raw[len] = 0;
	rc = rpc_client_parse_response(raw, len, result, fail);
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(raw);
	return rc;
}

int rpc_client_get(const char *host, unsigned port, const char *path, size_t max, uint8_t **body,
		   size_t *len, struct rpc_failure *fail)
{
	struct rpc_endpoint ep = {.port = port};
	char *req = NULL, *raw = NULL;
	size_t got = 0, cap = 0;
	int rc = 0, fd;
	*body = NULL;
	*len = 0;
	if (snprintf(ep.host, sizeof(ep.host), "%s", host) >= (int)sizeof(ep.host))
		return fail_set(fail, ASSAY_EARG, 0, "host name too long");
	int rl = asprintf(&req, "GET %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n\r\n", path, host, port);
	if (rl < 0)
		return fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");
	if ((fd = dial(&ep, RPC_CLIENT_TIMEOUT_MS, fail)) < 0) {
		free(req);
		return ASSAY_EIO;
	}
	if (send_all(fd, req, (size_t)rl) != 0)
		rc = fail_set(fail, ASSAY_EIO, 0, "sending to %s:%u failed: %s", host, port, strerror(errno));
	while (rc == 0) {
		if (got + 65536 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 65536 * 2;
			char *grown = realloc(raw, ncap);
			if (!grown) {
				rc = fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");
				break;
			}
			raw = grown;
			cap = ncap;
		}
		ssize_t r = recv(fd, raw + got, cap - got - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail_set(fail, ASSAY_EIO, 0, "reading from %s:%u failed: %s", host, port,
				      errno == EAGAIN ? "timed out" : strerror(errno));
			break;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		raw[got] = 0;
		if (reply_complete(raw, got))
			break;
		if (got > max + 65536)
			rc = fail_set(fail, ASSAY_ELIMIT, 0, "reply larger than %zu bytes", max);
	}
	close(fd);
	free(req);
	int status = 0;
	const char *hend = rc == 0 && raw ? memmem(raw, got, "\r\n\r\n", 4) : NULL;
	if (rc == 0 && (!hend || sscanf(raw, "HTTP/1.%*d %d", &status) != 1))
		rc = fail_set(fail, ASSAY_EDECODE, 0, "the reply from %s:%u is not HTTP", host, port);
	if (rc == 0 && status != 200)
		rc = fail_set(fail, status == 404 ? ASSAY_ENOTFOUND : ASSAY_EIO, status, "HTTP %d from %s:%u%s",
			      status, host, port, path);
	if (rc == 0) {
		char *start = (char *)hend + 4;
		size_t blen = got - (size_t)(start - raw);
		const char *te = header_value(raw, hend, "Transfer-Encoding");
		const char *cl = header_value(raw, hend, "Content-Length");
		if (te && strncasecmp(te, "chunked", 7) == 0) {
			long dl = dechunk(start, blen);
			if (dl < 0)
				rc = fail_set(fail, ASSAY_EDECODE, 0, "bad chunked encoding in the reply");
			blen = dl < 0 ? 0 : (size_t)dl;
		} else if (cl) {
			unsigned long long want = strtoull(cl, NULL, 10);
			if (want > blen)
				rc = fail_set(fail, ASSAY_EIO, 0, "the reply was cut short");
			blen = (size_t)want < blen ? (size_t)want : blen;
		}
		if (rc == 0 && blen > max)
			rc = fail_set(fail, ASSAY_ELIMIT, 0, "reply larger than %zu bytes", max);
		if (rc == 0 && !(*body = malloc(blen ? blen : 1)))
			rc = fail_set(fail, ASSAY_ENOMEM, 0, "out of memory");
		if (rc == 0) {
			memcpy(*body, start, blen);
			*len = blen;
		}
	}
	free(raw);
	return rc;
}
