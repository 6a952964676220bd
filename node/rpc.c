/* JSON-RPC server (see rpc.h). One evhttp server on the node's event loop;
 * methods run on that thread, so they need no locking against each other
 * or against block production. Only a long body's parse and a method's
 * prepare step run elsewhere (rpc_set_executor): the one thing such a
 * thread shares with this one is the list of finished works, under
 * done_lock, announced by a byte down done_pipe. */
#define _GNU_SOURCE /* POLLRDHUP */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/ipkey.h"
#include "core/log.h"
#include "node/rpc.h"

#define RPC_MAX_METHODS 128
#define RPC_ECHO_MAX 64            /* bytes of an unknown method name echoed back */
#define RPC_ACCEPT_PAUSE_MS 100    /* listener paused this long after EMFILE */
#define RPC_SWEEP_MS 1000          /* period of the connection sweep */

/* Where a connection stands, as seen from the bytes it sent. evhttp parses
 * HTTP; this watch runs first on every byte read, so a client without valid
 * credentials never gets more than RPC_MAX_UNAUTH_BODY of body buffered.
 * (libevent 2.1 has no server-side hook between head and body: its header
 * callback exists only on requests we create, and evhttp_set_newreqcb came
 * in 2.2. So the watch reads the head itself from the input buffer.) */
enum conn_state {
	CONN_HEAD,    /* reading a request head */
	CONN_LIMITED, /* head without valid credentials: body_left bytes may follow */
	CONN_TRUSTED, /* sent valid credentials: evhttp alone from here */
	CONN_KILLED,  /* being closed; input is dropped */
};

/* One accepted RPC connection. The server holds a reference on its
 * bufferevent, so it can tell when evhttp has let go of it (evhttp clears
 * the callbacks) and count connections without evhttp's private structs. */
struct rpc_conn {
	rpc_t *rpc;
	struct bufferevent *bev;
	struct evbuffer_cb_entry *in_cb;
	enum conn_state state;
	int counted;         /* 1: counts against max_connections */
	int close_started;   /* the EOF has been handed to evhttp */
	int in_cb_busy;      /* our own drain is running: ignore the callback */
	int admitted;        /* its address was checked against -rpcallowip */
	uint64_t since_ms;   /* when the current state began */
	uint64_t body_left;  /* CONN_LIMITED: body bytes still allowed */
	size_t head_len;     /* CONN_HEAD: bytes of the head read so far */
	struct rpc_head_scanner scan; /* how far head[0..head_len) has been parsed */
	char head[RPC_MAX_HEADER_BYTES + 1];
	struct rpc_conn *next;
};

struct rpc {
	struct evhttp *http;
	struct evconnlistener *listener; /* evhttp's, for pausing on EMFILE */
	struct event *reaper;            /* closes killed connections, releases freed ones */
	struct event *sweep;             /* periodic: timeouts and releases */
	struct event *resume;            /* re-enables the listener after EMFILE */
	struct event *admit;             /* checks new connections' addresses (-rpcallowip) */
	struct rpc_conn *conns;
	int nconns;                      /* counted connections */
	int max_connections;
	size_t max_response;             /* RPC_MAX_RESPONSE, or lower in tests */
	struct log_rate auth_log;
	struct rpc_auth_guard auth_guard; /* addresses locked out for wrong credentials */
	struct rpc_allow allow[RPC_MAX_ALLOW]; /* -rpcallowip, besides 127.0.0.1 and ::1 */
	size_t nallow;
	char expected_auth[512]; /* "user:password" */
	char cookie_path[1024];
	struct rpc_method methods[RPC_MAX_METHODS];
	void *ctxs[RPC_MAX_METHODS];
	int max_params[RPC_MAX_METHODS]; /* rpc_synopsis_max_params of each; -1: any number */
	int named[RPC_MAX_METHODS];      /* 1: takes an object of named params (rpc_set_named_params) */
	size_t nmethods;
	size_t longest_name;
	rpc_metrics_fn metrics;
	void *metrics_ctx;
	struct rpc_route {
		const char *prefix;
		rpc_route_fn fn;
		void *ctx;
	} routes[RPC_MAX_ROUTES]; /* rpc_route: paths outside JSON-RPC */
	size_t nroutes;
	/* Deferred replies (rpc.h): the request being handled, for rpc_defer. */
	struct evhttp_request *cur_req;  /* NULL outside a single request */
	json_t *cur_id;
	int cur_deferred;                /* rpc_defer took the current request */
	int closing;                     /* rpc_shutdown: every request gets 503 */
	struct rpc_deferred *deferred;   /* waiting, newest first */
	size_t ndeferred;
	/* Work off the event thread (rpc.h). The executor's threads read
	 * methods, ctxs, max_params, longest_name and prepare/release, which
	 * are written only before the loop runs, and touch nothing else of
	 * the server but the done list. */
	rpc_executor_fn executor;
	void *executor_ctx;
	rpc_prepare_fn prepare[RPC_MAX_METHODS];
	void (*release[RPC_MAX_METHODS])(void *prepared);
	size_t nprepare;                 /* methods with a prepare step */
	size_t noffloaded;               /* bodies handed over, not yet run */
	void *cur_prepared;              /* the offloaded single call's prepared data */
	int cur_prepared_method;         /* its method's index (-1: none) */
	void *cur_visible;               /* rpc_prepared: the call being run's, or NULL */
	pthread_mutex_t done_lock;       /* guards done_head and done_tail */
	int done_lock_ok;
	struct rpc_work *done_head, *done_tail; /* finished works, oldest first */
	struct rpc_work *order_head, *order_tail; /* every work handed over, in the order received (event thread) */
	int done_pipe[2];                /* a byte when done_head becomes non-empty */
	struct event *done_ev;
};

/* A body parsed (and its call prepared) off the event thread. */
struct rpc_work {
	rpc_t *rpc;
	struct evhttp_request *req; /* NULL once evhttp has freed its connection */
	char *text;             /* the body, until parsed */
	size_t len;
	json_t *body;           /* parsed, or NULL with parse_err */
	char parse_err[300];
	int method;             /* index whose prepare step ran; -1: none */
	void *prepared;         /* what it returned */
	int holds;              /* atomic: the call runs when the last is released */
	int finished;           /* event thread: taken off the done list */
	struct rpc_work *next;  /* on the done list */
	struct rpc_work *order_next;
};

/* A request whose method answers later (rpc_defer). */
struct rpc_deferred {
	rpc_t *rpc;
	struct evhttp_request *req; /* NULL once evhttp has dropped it */
	json_t *id;                 /* the request's id (a reference) */
	rpc_defer_fn fn;
	void *arg;
	struct event *timer;
	struct event *watch;        /* readable socket: the client left, or pipelines */
	struct event *probe;        /* after pipelined bytes: polls for the client's hang-up */
	int busy;                   /* inside fn: rpc_deferred_reply must not free */
	int answered;
	struct rpc_deferred *next;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

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
	sodium_memzero(secret, sizeof(secret));
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* a new file of ours, mode 0600: one left there (a crash's, or anyone's)
	 * could have a looser mode, which O_CREAT would keep, or be a link */
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t len = strlen(r->expected_auth);
	int ok = fd >= 0 && write(fd, r->expected_auth, len) == (ssize_t)len && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		if (fd >= 0)
			unlink(tmp);
		snprintf(err, errlen, "cannot write the RPC cookie %s: %s", path, strerror(errno));
		return ASSAY_EIO;
	}
	snprintf(r->cookie_path, sizeof(r->cookie_path), "%s", path);
	return 0;
}

/* ---- pure pieces (rpc.h) ---- */

/* Length of the synopsis's first line up to " - " (or the line's end). */
static size_t synopsis_len(const char *help)
{
	size_t line = strcspn(help, "\n");
	const char *dash = strstr(help, " - ");
	return dash && (size_t)(dash - help) < line ? (size_t)(dash - help) : line;
}

int rpc_synopsis_max_params(const char *help)
{
	size_t len = synopsis_len(help), pos = strcspn(help, " ");
	int count = 0;
	while (pos < len) {
		while (pos < len && help[pos] == ' ')
			pos++;
		if (pos >= len)
			break;
		size_t end = pos;
		while (end < len && help[end] != ' ')
			end++;
		/* the word without its closing brackets: "ARG...]]" ends in "..." */
		size_t core = end;
		while (core > pos && help[core - 1] == ']')
			core--;
		int repeat = core - pos >= 3 && memcmp(help + core - 3, "...", 3) == 0 &&
			     !(core - pos >= 4 && help[core - 4] == ','); /* [HEX,...]: one array */
		if (repeat)
			return -1;
		count++;
		pos = end;
	}
	return count;
}

char *rpc_method_help(const rpc_t *r, const char *name)
{
	for (size_t i = 0; i < r->nmethods; i++) {
		if (strcmp(r->methods[i].name, name) != 0)
			continue;
		const char *help = r->methods[i].help;
		size_t syn = synopsis_len(help), line = strcspn(help, "\n");
		const char *desc = syn + 3 <= line ? help + syn + 3 : "";
		size_t desc_len = syn + 3 <= line ? line - syn - 3 : 0;
		const char *rest = help[line] ? help + line + 1 : "";
		int max = r->max_params[i];
		char rule[160];
		if (max < 0)
			snprintf(rule, sizeof(rule), "any number of positional parameters");
		else if (max == 0)
			snprintf(rule, sizeof(rule), "no parameters; any given are refused (-32602)");
		else
			snprintf(rule, sizeof(rule),
				 "at most %d positional parameter%s%s; more are refused (-32602)", max,
				 max == 1 ? "" : "s", r->named[i] ? ", or one object of named ones" : "");
		size_t cap = strlen(help) + strlen(rule) + 2 * syn + 256;
		char *out = malloc(cap);
		if (!out)
			return NULL;
		const char *stop = !desc_len ? "" : desc[desc_len - 1] == '.' ? "\n" : ".\n";
		snprintf(out, cap, "%.*s\n\n%.*s%s%s%s\nParameters: %s.\nUsage: assay-cli %.*s\n", (int)syn, help,
			 (int)desc_len, desc, stop, rest, *rest ? "\n" : "", rule, (int)syn, help);
		return out;
	}
	return NULL;
}

static int header_is(const char *line, size_t len, const char *name, const char **value,
		     size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return 0;
	const char *v = line + n + 1, *e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*value = v;
	*vlen = (size_t)(e - v);
	return 1;
}

/* Takes one header line (its line end cut off) into h. */
static void head_parse_line(struct rpc_head *h, const char *line, size_t line_len)
{
	const char *v;
	size_t vlen;
	if (!h->auth && header_is(line, line_len, "Authorization", &v, &vlen)) {
		h->auth = v;
		h->auth_len = vlen;
	} else if (header_is(line, line_len, "Content-Length", &v, &vlen)) {
		long long n = 0;
		if (vlen == 0 || vlen > 18)
			h->bad = 1;
		for (size_t i = 0; i < vlen && !h->bad; i++) {
			if (v[i] < '0' || v[i] > '9')
				h->bad = 1;
			else
				n = n * 10 + (v[i] - '0');
		}
		if (h->content_length >= 0 && h->content_length != n)
			h->bad = 1;
		h->content_length = n;
	} else if (header_is(line, line_len, "Transfer-Encoding", &v, &vlen)) {
		if (!(vlen == 8 && strncasecmp(v, "identity", 8) == 0))
			h->chunked = 1;
	}
}

void rpc_head_scanner_init(struct rpc_head_scanner *s)
{
	memset(s, 0, sizeof(*s));
	s->head.content_length = -1;
}

int rpc_head_scanner_feed(struct rpc_head_scanner *s, const char *head, size_t len)
{
	if (s->head.end)
		return 1; /* complete: end is never 0 then, a head has a line end */
	while (s->searched < len) {
		const char *nl = memchr(head + s->searched, '\n', len - s->searched);
		if (!nl) {
			s->searched = len; /* the next piece's search starts past these */
			return 0;
		}
		const char *line = head + s->line;
		size_t line_len = (size_t)(nl - line);
		s->line = s->searched = (size_t)(nl - head) + 1;
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (line_len == 0) {
			if (!s->request_line)
				continue; /* evhttp also skips blank lines before the request line */
			s->head.end = s->line;
			return 1;
		}
		if (!s->request_line) {
			s->request_line = 1;
			continue; /* the request line: evhttp checks it */
		}
		head_parse_line(&s->head, line, line_len);
	}
	return 0;
}

int rpc_head_scan(const char *head, size_t len, struct rpc_head *out)
{
	struct rpc_head_scanner s;
	rpc_head_scanner_init(&s);
	int done = rpc_head_scanner_feed(&s, head, len);
	*out = s.head;
	return done;
}

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t want;
	unsigned min;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		want = 2;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		want = 3;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		want = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < want)
		return 0;
	unsigned cp = p[0] & (0x7f >> want);
	for (size_t i = 1; i < want; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return want;
}

size_t rpc_utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return n;
	/* Back off continuation bytes so the cut falls before a lead byte. */
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

void rpc_utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(p + i, n - i);
		if (k == 0) {
			p[i++] = '?';
			continue;
		}
		i += k;
	}
}

/* ---- credentials ---- */

/* Constant-time check of a Basic Authorization value. */
static int credentials_ok(const rpc_t *r, const char *value, size_t len)
{
	if (!value || len < 6 || strncmp(value, "Basic ", 6) != 0)
		return 0;
	unsigned char decoded[600];
	size_t n;
	if (sodium_base642bin(decoded, sizeof(decoded) - 1, value + 6, len - 6, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return 0;
	size_t want = strlen(r->expected_auth);
	int ok = n == want && sodium_memcmp(decoded, r->expected_auth, want) == 0;
	sodium_memzero(decoded, sizeof(decoded));
	return ok;
}

static int authorized(rpc_t *r, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	return h && credentials_ok(r, h, strlen(h));
}

/* One line per RPC_AUTH_LOG_INTERVAL_MS at most, so a flood of bad requests
 * cannot fill the disk; the next line says how many were left out. */
static void log_rejected_from(rpc_t *r, const char *what, const char *from)
{
	unsigned dropped;
	if (!log_rate_allow(&r->auth_log, now_ms(), RPC_AUTH_LOG_INTERVAL_MS, &dropped))
		return;
	if (dropped)
		log_warn("rpc: rejected %s%s%s (and %u more not logged)", what, from ? " from " : "",
			 from ? from : "", dropped);
	else
		log_warn("rpc: rejected %s%s%s", what, from ? " from " : "", from ? from : "");
}

static void log_rejected(rpc_t *r, const char *what)
{
	log_rejected_from(r, what, NULL);
}

/* ---- wrong credentials, by address ---- */

static int guard_exempt(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 || strcmp(host, "::ffff:127.0.0.1") == 0;
}

static const struct rpc_auth_fails *guard_find(const struct rpc_auth_guard *g, const char *key,
					       uint64_t now_ms)
{
	for (size_t i = 0; i < RPC_AUTH_FAIL_HOSTS; i++) {
		const struct rpc_auth_fails *f = &g->e[i];
		if (f->host[0] && strcmp(f->host, key) == 0)
			return now_ms - f->since_ms < RPC_AUTH_FAIL_WINDOW_MS ? f : NULL;
	}
	return NULL;
}

int rpc_auth_guard_locked(const struct rpc_auth_guard *g, const char *host, uint64_t now_ms)
{
	char key[RPC_AUTH_KEY_MAX];
	if (guard_exempt(host))
		return 0;
	ipkey_client(host, key, sizeof(key)); /* an IPv6 client's /64 (core/ipkey.h) */
	const struct rpc_auth_fails *f = guard_find(g, key, now_ms);
	return f && f->fails >= RPC_AUTH_FAILS_MAX;
}

void rpc_auth_guard_failed(struct rpc_auth_guard *g, const char *host, uint64_t now_ms)
{
	char key[RPC_AUTH_KEY_MAX];
	if (guard_exempt(host) || strlen(host) >= sizeof(g->e[0].host))
		return;
	ipkey_client(host, key, sizeof(key));
	host = key;
	struct rpc_auth_fails *slot = &g->e[0];
	for (size_t i = 0; i < RPC_AUTH_FAIL_HOSTS; i++) {
		struct rpc_auth_fails *f = &g->e[i];
		if (f->host[0] && strcmp(f->host, host) == 0) {
			slot = f;
			break;
		}
		if (slot->host[0] && (!f->host[0] || f->since_ms < slot->since_ms))
			slot = f; /* a free one, else the oldest window */
	}
	if (strcmp(slot->host, host) != 0 || now_ms - slot->since_ms >= RPC_AUTH_FAIL_WINDOW_MS) {
		snprintf(slot->host, sizeof(slot->host), "%s", host);
		slot->since_ms = now_ms;
		slot->fails = 0;
	}
	slot->fails++;
}

/* ---- who may connect (-rpcallowip) ---- */

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* text as an address: its family, with its bytes in out (an IPv4-mapped
 * IPv6 address as AF_INET), or 0. */
static int allow_addr(const char *text, uint8_t out[16])
{
	if (inet_pton(AF_INET, text, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, text, out) != 1)
		return 0;
	if (memcmp(out, V4_MAPPED, sizeof(V4_MAPPED)) == 0) {
		memmove(out, out + 12, 4);
		return AF_INET;
	}
	return AF_INET6;
}

/* The prefix length of a contiguous IPv4 netmask, or -1. */
static int netmask_bits(const uint8_t mask[4])
{
	uint32_t m = (uint32_t)mask[0] << 24 | (uint32_t)mask[1] << 16 | (uint32_t)mask[2] << 8 | mask[3];
	int bits = 0;
	while (bits < 32 && (m & (0x80000000u >> bits)))
		bits++;
	return bits == 32 || (m << bits) == 0 ? bits : -1;
}

static int prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xff00 >> rest);
	return (a[whole] & mask) == (b[whole] & mask);
}

int rpc_allow_parse(const char *text, struct rpc_allow *out, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	memset(out, 0, sizeof(*out));
	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, text, alen);
	addr[alen] = 0;
	int mapped = strchr(addr, ':') != NULL; /* written as IPv6: a mapped one's BITS count from 128 */
	out->family = allow_addr(addr, out->net);
	if (!out->family)
		goto bad;
	unsigned max = out->family == AF_INET ? 32 : 128;
	mapped = mapped && out->family == AF_INET;
	out->bits = max;
	if (slash) {
		const char *suffix = slash + 1;
		uint8_t mask[16];
		if (*suffix && strspn(suffix, "0123456789") == strlen(suffix) && strlen(suffix) <= 3) {
			unsigned long bits = strtoul(suffix, NULL, 10);
			if (mapped) {
				if (bits < 96 || bits > 128)
					goto bad;
				bits -= 96;
			}
			if (bits > max)
				goto bad;
			out->bits = (unsigned)bits;
		} else if (out->family == AF_INET && !mapped && inet_pton(AF_INET, suffix, mask) == 1 &&
			   netmask_bits(mask) >= 0) {
			out->bits = (unsigned)netmask_bits(mask);
		} else {
			goto bad;
		}
	}
	size_t len = out->family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < len; i++) { /* clear the host bits */
		unsigned keep = out->bits > i * 8 ? out->bits - (unsigned)i * 8 : 0;
		if (keep < 8)
			out->net[i] &= (uint8_t)(0xff00 >> keep);
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "invalid -rpcallowip=%s: give an address (192.0.2.7, 2001:db8::7), a subnet ADDR/BITS "
		 "(192.0.2.0/24, 2001:db8::/32) or ADDR/NETMASK (192.0.2.0/255.255.255.0)",
		 text);
	return ASSAY_EARG;
}

int rpc_allow_permits(const struct rpc_allow *list, size_t n, const char *host)
{
	static const uint8_t v4_loopback[4] = {127, 0, 0, 1};
	static const uint8_t v6_loopback[16] = {[15] = 1};
	uint8_t addr[16];
	int family = allow_addr(host, addr);
	if (!family)
		return 0;
	/* the node's own clients, not the whole of 127.0.0.0/8: a container
	 * or a proxy on another loopback address is someone else */
	if (memcmp(addr, family == AF_INET ? v4_loopback : v6_loopback, family == AF_INET ? 4 : 16) == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (list[i].family == family && prefix_match(addr, list[i].net, list[i].bits))
			return 1;
	return 0;
}

int rpc_bind_is_loopback(const char *bind)
{
	uint8_t addr[16];
	int family = allow_addr(bind, addr);
	if (family == AF_INET)
		return addr[0] == 127;
	if (family == AF_INET6)
		return memcmp(addr, (const uint8_t[16]){[15] = 1}, 16) == 0;
	return strcmp(bind, "localhost") == 0;
}

int rpc_allow_is_loopback(const struct rpc_allow *a)
{
	if (a->family == AF_INET)
		return a->bits >= 8 && a->net[0] == 127;
	return a->bits == 128 && memcmp(a->net, (const uint8_t[16]){[15] = 1}, 16) == 0;
}

void rpc_set_allow(rpc_t *r, const struct rpc_allow *list, size_t n)
{
	r->nallow = n < RPC_MAX_ALLOW ? n : RPC_MAX_ALLOW;
	if (r->nallow)
		memcpy(r->allow, list, r->nallow * sizeof(*list));
}

/* The client's address on socket fd as text into host (cap bytes), its
 * port into *port: its family (AF_INET, AF_INET6), or 0 with host "?". */
static int peer_addr(evutil_socket_t fd, char *host, size_t cap, unsigned *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	snprintf(host, cap, "?");
	*port = 0;
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)cap);
		*port = ntohs(in->sin_port);
		return AF_INET;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t)cap);
		*port = ntohs(in6->sin6_port);
		return AF_INET6;
	}
	return 0;
}

/* The client's address on socket fd as text (no port), or "?". */
static const char *peer_host(evutil_socket_t fd, char *out, size_t cap)
{
	unsigned port;
	peer_addr(fd, out, cap, &port);
	return out;
}

/* "IP:PORT" of the client on socket fd, or "?" (an operator reading the
 * log of rejected credentials wants to know who knocked). */
static const char *peer_text(evutil_socket_t fd, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	int family = peer_addr(fd, host, sizeof(host), &port);
	if (family == AF_INET)
		snprintf(out, cap, "%s:%u", host, port);
	else if (family == AF_INET6)
		snprintf(out, cap, "[%s]:%u", host, port);
	else
		snprintf(out, cap, "?");
	return out;
}

static const char *request_peer_text(struct evhttp_request *req, char *out, size_t cap)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	return peer_text(bev ? bufferevent_getfd(bev) : -1, out, cap);
}

/* ---- connections ---- */

static int evhttp_let_go(const struct rpc_conn *c)
{
	bufferevent_event_cb ecb = NULL;
	bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
	return ecb == NULL;
}

static void conn_drain(struct rpc_conn *c, struct evbuffer *in)
{
	c->in_cb_busy = 1;
	evbuffer_drain(in, evbuffer_get_length(in));
	c->in_cb_busy = 0;
}

/* Closes c from the reaper (never from inside a bufferevent callback, where
 * evhttp freeing the connection would pull the stack from under it). A short
 * reply goes straight to the socket first, when there is one to give. */
static void conn_kill(struct rpc_conn *c, const char *reply)
{
	if (c->state == CONN_KILLED)
		return;
	c->state = CONN_KILLED;
	int fd = bufferevent_getfd(c->bev);
	if (reply && fd >= 0) {
		ssize_t w = send(fd, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)w; /* best effort: the connection closes either way */
	}
	conn_drain(c, bufferevent_get_input(c->bev));
	bufferevent_disable(c->bev, EV_READ);
	event_active(c->rpc->reaper, EV_TIMEOUT, 0);
}

#define REPLY_401 "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"assay-rpc\"\r\n" \
		  "Connection: close\r\nContent-Length: 0\r\n\r\n"
#define REPLY_431 "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n" \
		  "Content-Length: 0\r\n\r\n"
#define REPLY_400 "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
#define REPLY_429 "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
#define REPLY_403 "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

static void conn_take_place(struct rpc_conn *c);

/* Checks c's address against -rpcallowip once, before any of its bytes is
 * looked at: 0 when it may go on (and it takes its place under the
 * connection cap); else it is answered 403 and closed, and -1. */
static int conn_admit(struct rpc_conn *c)
{
	if (c->admitted || c->state == CONN_KILLED)
		return c->state == CONN_KILLED ? -1 : 0;
	int fd = bufferevent_getfd(c->bev);
	if (fd < 0)
		return 0; /* evhttp has not handed it its socket yet: at the next look */
	c->admitted = 1;
	char host[INET6_ADDRSTRLEN];
	peer_host(fd, host, sizeof(host));
	if (rpc_allow_permits(c->rpc->allow, c->rpc->nallow, host)) {
		conn_take_place(c);
		return c->state == CONN_KILLED ? -1 : 0;
	}
	char from[80];
	log_rejected_from(c->rpc, "a connection from an address no -rpcallowip allows",
			  peer_text(fd, from, sizeof(from)));
	conn_kill(c, REPLY_403);
	return -1;
}

/* Runs right after accept, in the same turn of the loop (evhttp gives the
 * bufferevent its socket once on_new_connection returns): a client that
 * sends nothing is refused as surely as one that sends a request. */
static void on_admit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rpc_t *r = arg;
	for (struct rpc_conn *c = r->conns; c; c = c->next)
		if (!c->admitted)
			conn_admit(c);
}

/* A complete head arrived: decide before evhttp reads any body. */
static void conn_head_done(struct rpc_conn *c, const struct rpc_head *h)
{
	rpc_t *r = c->rpc;
	char host[48];
	uint64_t now = now_ms();
	peer_host(bufferevent_getfd(c->bev), host, sizeof(host));
	if (h->auth && rpc_auth_guard_locked(&r->auth_guard, host, now)) {
		/* not even checked: a guess here would tell its guesser nothing */
		log_rejected_from(r, "credentials from an address locked out for wrong ones "
				  "(RPC_AUTH_FAILS_MAX)", host);
		conn_kill(c, REPLY_429);
		return;
	}
	if (credentials_ok(r, h->auth, h->auth_len)) {
		c->state = CONN_TRUSTED;
		return;
	}
	if (h->auth)
		rpc_auth_guard_failed(&r->auth_guard, host, now);
	if (h->bad) {
		conn_kill(c, REPLY_400);
		return;
	}
	if (h->chunked || h->content_length > (long long)RPC_MAX_UNAUTH_BODY) {
		char from[80];
		log_rejected_from(r, "a request with wrong or missing credentials (body not read)",
				  peer_text(bufferevent_getfd(c->bev), from, sizeof(from)));
		conn_kill(c, REPLY_401);
		return;
	}
	/* A small body may follow; evhttp then answers 401 itself (or serves
	 * /metrics, which needs no credentials). */
	c->state = CONN_LIMITED;
	c->since_ms = now_ms();
	c->body_left = h->content_length > 0 ? (uint64_t)h->content_length : 0;
}

/* Starts reading the next request head. */
static void conn_head_reset(struct rpc_conn *c)
{
	c->head_len = 0;
	rpc_head_scanner_init(&c->scan);
}

/* Feeds the n new bytes at offset off of the input buffer to the watch. */
static void conn_feed(struct rpc_conn *c, struct evbuffer *in, size_t off, size_t n)
{
	while (n > 0 && (c->state == CONN_HEAD || c->state == CONN_LIMITED)) {
		if (c->state == CONN_LIMITED) {
			if (c->body_left == 0) {
				c->state = CONN_HEAD;
				c->since_ms = now_ms();
				conn_head_reset(c);
				continue;
			}
			size_t take = n < c->body_left ? n : (size_t)c->body_left;
			c->body_left -= take;
			off += take;
			n -= take;
			continue;
		}
		size_t room = RPC_MAX_HEADER_BYTES + 1 - c->head_len;
		size_t take = n < room ? n : room;
		struct evbuffer_ptr pos;
		if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(in, &pos, c->head + c->head_len, take) != (ev_ssize_t)take) {
			conn_kill(c, NULL);
			return;
		}
		c->head_len += take;
		/* only the new bytes are scanned: a head sent a byte at a time
		 * must not cost its length squared */
		if (!rpc_head_scanner_feed(&c->scan, c->head, c->head_len)) {
			if (c->head_len > RPC_MAX_HEADER_BYTES) {
				log_rejected(c->rpc, "a request head over RPC_MAX_HEADER_BYTES");
				conn_kill(c, REPLY_431);
				return;
			}
			off += take;
			n -= take;
			continue;
		}
		struct rpc_head h = c->scan.head; /* h.auth stays in c->head until the next feed */
		size_t beyond = c->head_len - h.end; /* bytes after the head, read just now */
		off += take - beyond;
		n -= take - beyond;
		conn_head_reset(c);
		conn_head_done(c, &h);
	}
	if (n > 0 && c->state == CONN_KILLED)
		conn_drain(c, in);
}

static void conn_on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct rpc_conn *c = arg;
	if (c->in_cb_busy || info->n_added == 0)
		return;
	if (c->state != CONN_KILLED && evhttp_let_go(c))
		c->state = CONN_KILLED; /* evhttp is done; nobody will read this */
	if (c->state == CONN_TRUSTED)
		return;
	if (c->state == CONN_KILLED || conn_admit(c) < 0) {
		conn_drain(c, in);
		return;
	}
	size_t len = evbuffer_get_length(in);
	size_t added = info->n_added < len ? info->n_added : len; /* new bytes are at the end */
	conn_feed(c, in, len - added, added);
}

static void conn_release(struct rpc_conn *c)
{
	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->counted)
		c->rpc->nconns--;
	bufferevent_decref(c->bev);
	free(c);
}

/* Hands the EOF of killed connections to evhttp, then releases every
 * connection evhttp has freed (the descriptor closes here). */
static void conns_reap(rpc_t *r)
{
	for (struct rpc_conn *c = r->conns; c; c = c->next) {
		if (c->state != CONN_KILLED || c->close_started)
			continue;
		c->close_started = 1;
		if (!evhttp_let_go(c))
			bufferevent_trigger_event(c->bev, BEV_EVENT_EOF | BEV_EVENT_READING, 0);
	}
	struct rpc_conn **pp = &r->conns;
	while (*pp) {
		struct rpc_conn *c = *pp;
		if (evhttp_let_go(c)) {
			*pp = c->next;
			conn_release(c);
		} else {
			pp = &c->next;
		}
	}
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conns_reap(arg);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rpc_t *r = arg;
	uint64_t now = now_ms();
	for (struct rpc_conn *c = r->conns; c; c = c->next)
		if ((c->state == CONN_HEAD || c->state == CONN_LIMITED) &&
		    now - c->since_ms > RPC_HEAD_TIMEOUT_S * 1000u)
			conn_kill(c, NULL);
	conns_reap(r);
}

/* Descriptors still free under the soft limit, or -1 if unknown. */
static long fds_free(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return -1;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long open_fds = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			open_fds++;
	closedir(d);
	return (long)rl.rlim_cur - open_fds;
}

/* The counted connection, other than c, that has sent no valid
 * credentials for the longest (reading its head, or a body after a 401
 * head), or NULL. */
static struct rpc_conn *oldest_untrusted(rpc_t *r, const struct rpc_conn *c)
{
	struct rpc_conn *best = NULL;
	for (struct rpc_conn *o = r->conns; o; o = o->next)
		if (o != c && o->counted && (o->state == CONN_HEAD || o->state == CONN_LIMITED) &&
		    (!best || o->since_ms < best->since_ms))
			best = o;
	return best;
}

/* An allowed connection takes its place under -rpcmaxconnections, or is
 * closed. Only after the address check: a refused address must neither
 * count nor push out someone else's connection. */
static void conn_take_place(struct rpc_conn *c)
{
	rpc_t *r = c->rpc;
	long avail;
	struct rpc_conn *idle = r->nconns >= r->max_connections ? oldest_untrusted(r, c) : NULL;
	if (idle) {
		/* at the cap, a connection that has sent no credentials gives
		 * its place: else anyone could hold every slot with silent
		 * sockets and keep authenticated clients out */
		log_rejected(r, "an unauthenticated connection, for a new one (-rpcmaxconnections reached)");
		conn_kill(idle, NULL);
		idle->counted = 0;
		r->nconns--;
	}
	if (r->nconns >= r->max_connections) {
		log_rejected(r, "a connection over -rpcmaxconnections");
		conn_kill(c, NULL);
	} else if ((avail = fds_free()) >= 0 && avail < RPC_RESERVED_FDS) {
		log_rejected(r, "a connection: fewer than RPC_RESERVED_FDS descriptors free");
		conn_kill(c, NULL);
	} else {
		c->counted = 1;
		r->nconns++;
	}
}

/* evhttp asks for a bufferevent for every accepted connection. Its
 * address is checked, and it takes its place or not, in on_admit, in this
 * same turn of the loop. Past the connection cap, or short of descriptors,
 * the connection is accepted only to be closed: the listener keeps
 * draining the backlog instead of spinning on it. */
static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
	rpc_t *r = arg;
	struct rpc_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = c ? bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (!bev) {
		free(c);
		return NULL; /* evhttp makes its own; that one goes uncounted */
	}
	conns_reap(r);
	c->rpc = r;
	c->bev = bev;
	c->since_ms = now_ms();
	conn_head_reset(c);
	bufferevent_incref(bev);
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), conn_on_input, c);
	c->next = r->conns;
	r->conns = c;
	event_active(r->admit, EV_TIMEOUT, 0); /* its place is taken there, once its address is allowed */
	return bev;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rpc_t *r = arg;
	evconnlistener_enable(r->listener);
}

/* Live servers, to find ours from a listener: libevent hands an accept
 * error callback the listener's own argument, which evhttp owns. */
#define RPC_MAX_SERVERS 8
static rpc_t *live_servers[RPC_MAX_SERVERS];

static void server_track(rpc_t *r, int add)
{
	for (size_t i = 0; i < RPC_MAX_SERVERS; i++) {
		if (add && !live_servers[i]) {
			live_servers[i] = r;
			return;
		}
		if (!add && live_servers[i] == r)
			live_servers[i] = NULL;
	}
}

/* accept() failed (EMFILE, ENFILE, ENOBUFS): pause instead of spinning on a
 * listener that stays readable. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)arg; /* evhttp's, not ours */
	rpc_t *r = NULL;
	for (size_t i = 0; i < RPC_MAX_SERVERS && !r; i++)
		if (live_servers[i] && live_servers[i]->listener == lev)
			r = live_servers[i];
	evconnlistener_disable(lev);
	if (!r)
		return;
	log_rejected(r, "connections: accept failed (out of descriptors?)");
	struct timeval tv = {0, RPC_ACCEPT_PAUSE_MS * 1000};
	evtimer_add(r->resume, &tv);
	conns_reap(r);
}

/* Raises the soft descriptor limit to the hard one, so RPC_RESERVED_FDS is a
 * small share of it. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("rpc: cannot raise the descriptor limit: %s", strerror(errno));
	}
}

/* RPC_MAX_RESPONSE, or a lower figure from ASSAY_RPC_MAX_RESPONSE when
 * ASSAY_TESTING=1: tests cannot cheaply build 32 MiB of blocks. Never higher. */
static size_t response_limit(void)
{
	const char *testing = getenv("ASSAY_TESTING");
	const char *v = getenv("ASSAY_RPC_MAX_RESPONSE");
	if (!testing || strcmp(testing, "1") != 0 || !v || !*v)
		return RPC_MAX_RESPONSE;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || *end || n == 0 || n > RPC_MAX_RESPONSE)
		return RPC_MAX_RESPONSE;
	return (size_t)n;
}

/* ---- JSON-RPC ---- */

static json_t *error_obj(int code, const char *msg)
{
	json_t *o = json_pack("{s:i,s:s}", "code", code, "message", msg);
	if (o)
		return o;
	/* Not valid UTF-8 (a message cut inside a character, or a method that
	 * echoed bytes): still an error, never a silent null result. */
	char clean[512];
	snprintf(clean, sizeof(clean), "%s", msg);
	rpc_utf8_sanitize(clean);
	o = json_pack("{s:i,s:s}", "code", code, "message", clean);
	return o ? o : json_pack("{s:i,s:s}", "code", code, "message", "error");
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

/* A call with a method and no "id" member is a notification (JSON-RPC 2.0
 * §4.1): it runs, and gets no reply. "id": null is a call like any other. */
static int is_notification(json_t *req)
{
	return json_is_object(req) && json_is_string(json_object_get(req, "method")) &&
	       !json_object_get(req, "id");
}

/* More positional parameters than the synopsis names: refused before the
 * method runs ("stop extra" must not stop the node). */
static json_t *too_many_params(const rpc_t *r, size_t i, json_t *id, size_t given)
{
	char msg[400];
	const char *help = r->methods[i].help;
	size_t syn = synopsis_len(help);
	if (r->max_params[i] == 0)
		snprintf(msg, sizeof(msg), "%s takes no parameters, got %zu (usage: %.*s)", r->methods[i].name, given,
			 (int)syn, help);
	else
		snprintf(msg, sizeof(msg), "%s takes at most %d parameter%s, got %zu (usage: %.*s)", r->methods[i].name,
			 r->max_params[i], r->max_params[i] == 1 ? "" : "s", given, (int)syn, help);
	return response(id, NULL, error_obj(RPC_INVALID_PARAMS, msg));
}

/* An object for a method whose parameters are positional only: refused
 * before the method runs, which would read none of it (so "stop" with
 * {"x": 1} does not stop the node). */
static json_t *positional_only(const rpc_t *r, size_t i, json_t *id)
{
	char msg[400];
	const char *help = r->methods[i].help;
	snprintf(msg, sizeof(msg),
		 "%s takes positional parameters (a JSON array), not an object (usage: %.*s)",
		 r->methods[i].name, (int)synopsis_len(help), help);
	return response(id, NULL, error_obj(RPC_INVALID_PARAMS, msg));
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
	/* A name longer than every registered one cannot match; skip the scan. */
	for (size_t i = 0; strlen(name) <= r->longest_name && i < r->nmethods; i++) {
		if (strcmp(r->methods[i].name, name) != 0)
			continue;
		if (json_is_array(params) && r->max_params[i] >= 0 &&
		    json_array_size(params) > (size_t)r->max_params[i])
			return too_many_params(r, i, id, json_array_size(params));
		if (json_is_object(params) && !r->named[i]) {
			if (json_object_size(params) > 0)
				return positional_only(r, i, id);
			params = NULL; /* {} names nothing: the same as no params */
		}
		log_debugc(LOG_CAT_RPC, "rpc: %s%s", name, id ? "" : " (notification)");
		json_t *result = NULL;
		struct rpc_error e = {0};
		json_t *p = params ? params : json_array();
		struct evhttp_request *req_saved = r->cur_req;
		if (!id)
			r->cur_req = NULL; /* nobody waits for a notification: no deferral */
		r->cur_id = id;
		r->cur_deferred = 0;
		r->cur_visible = r->cur_prepared_method == (int)i ? r->cur_prepared : NULL;
		int rc = r->methods[i].fn(r->ctxs[i], p, &result, &e);
		r->cur_visible = NULL;
		r->cur_id = NULL;
		r->cur_req = req_saved;
		if (!params)
			json_decref(p);
		if (rc == RPC_DEFERRED && r->cur_deferred)
			return NULL; /* answered later, by rpc_deferred_reply */
		if (rc == RPC_DEFERRED)
			return response(id, NULL, error_obj(RPC_INTERNAL_ERROR, "method deferred without rpc_defer"));
		if (rc < 0)
			return response(id, NULL, error_obj(e.code ? e.code : RPC_MISC_ERROR, e.message));
		return response(id, result, NULL);
	}
	/* Echo a prefix cut at a character boundary: a cut inside a UTF-8
	 * sequence made the message invalid and the reply {"result":null}. */
	char msg[RPC_ECHO_MAX + 64];
	size_t echo = rpc_utf8_prefix(name, RPC_ECHO_MAX);
	snprintf(msg, sizeof(msg), "method not found: %.*s%s", (int)echo, name,
		 echo < strlen(name) ? "..." : "");
	return response(id, NULL, error_obj(RPC_METHOD_NOT_FOUND, msg));
}

static void free_dumped(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Appends j to out unless that takes *total past RPC_MAX_RESPONSE.
 * 0; ASSAY_ELIMIT; ASSAY_ENOMEM. */
static int append_json(struct evbuffer *out, json_t *j, size_t *total, size_t max)
{
	char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return ASSAY_ENOMEM;
	size_t len = strlen(text);
	if (len > max - *total) {
		free(text);
		return ASSAY_ELIMIT;
	}
	if (evbuffer_add_reference(out, text, len, free_dumped, NULL) != 0) {
		free(text);
		return ASSAY_ENOMEM;
	}
	*total += len;
	return 0;
}

static void send_body(struct evhttp_request *req, struct evbuffer *out)
{
	evbuffer_add(out, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", out);
}

static void reply_json(struct evhttp_request *req, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	size_t total = 0;
	if (out && append_json(out, body, &total, RPC_MAX_RESPONSE) == 0)
		send_body(req, out);
	else
		evhttp_send_error(req, 500, "Out of memory");
	if (out)
		evbuffer_free(out);
}

/* The reply when the answer would pass RPC_MAX_RESPONSE (or memory ran out
 * building it): one error object, whatever the request's shape. */
static void reply_too_large(struct evhttp_request *req, int rc, size_t max)
{
	char msg[200];
	if (rc == ASSAY_ELIMIT)
		snprintf(msg, sizeof(msg),
			 "response too large: over %zu bytes (RPC_MAX_RESPONSE); ask for fewer or smaller results",
			 max);
	else
		snprintf(msg, sizeof(msg), "out of memory building the response");
	json_t *resp = response(NULL, NULL,
				error_obj(rc == ASSAY_ELIMIT ? RPC_RESPONSE_TOO_LARGE : RPC_INTERNAL_ERROR, msg));
	reply_json(req, resp);
	json_decref(resp);
}

/* Runs a request or a batch, writing each answer as it is made so that only
 * one result tree is alive at a time. A batch stops at the call whose answer
 * would pass RPC_MAX_RESPONSE; the calls before it have run. */
static void run_body(rpc_t *r, struct evhttp_request *req, json_t *body)
{
	if (!req) { /* an offloaded body whose client left: the calls run, nobody hears */
		size_t n = json_is_array(body) ? json_array_size(body) : 0;
		if (!json_is_array(body))
			json_decref(handle_one(r, body));
		for (size_t i = 0; n <= RPC_MAX_BATCH && i < n; i++)
			json_decref(handle_one(r, json_array_get(body, i)));
		return;
	}
	struct evbuffer *out = evbuffer_new();
	size_t total = 0;
	int rc = out ? 0 : ASSAY_ENOMEM;
	if (rc == 0 && json_is_array(body)) {
		size_t n = json_array_size(body);
		if (n == 0 || n > RPC_MAX_BATCH) {
			char msg[120];
			snprintf(msg, sizeof(msg), "batch must hold 1 to %d requests (RPC_MAX_BATCH)",
				 RPC_MAX_BATCH);
			json_t *resp = response(NULL, NULL, error_obj(RPC_INVALID_REQUEST, msg));
			rc = append_json(out, resp, &total, r->max_response);
			json_decref(resp);
		} else {
			size_t answers = 0;
			evbuffer_add(out, "[", 1);
			for (size_t i = 0; i < n && rc == 0; i++) {
				json_t *call = json_array_get(body, i);
				int quiet = is_notification(call);
				json_t *resp = handle_one(r, call);
				if (quiet) { /* ran; its answer is nobody's */
					json_decref(resp);
					continue;
				}
				if (answers++ > 0 && evbuffer_add(out, ",", 1) != 0)
					rc = ASSAY_ENOMEM;
				if (rc == 0)
					rc = append_json(out, resp, &total, r->max_response);
				json_decref(resp);
			}
			if (rc == 0 && evbuffer_add(out, "]", 1) != 0)
				rc = ASSAY_ENOMEM;
			if (rc == 0 && answers == 0) { /* only notifications: nothing to say */
				evhttp_send_reply(req, 204, "No Content", NULL);
				evbuffer_free(out);
				return;
			}
		}
	} else if (rc == 0) {
		r->cur_req = req;
		int quiet = is_notification(body);
		json_t *resp = handle_one(r, body);
		r->cur_req = NULL;
		if (!resp) { /* deferred: no reply now */
			evbuffer_free(out);
			return;
		}
		if (quiet) { /* a notification: HTTP 204, no JSON-RPC reply */
			json_decref(resp);
			evhttp_send_reply(req, 204, "No Content", NULL);
			evbuffer_free(out);
			return;
		}
		rc = append_json(out, resp, &total, r->max_response);
		json_decref(resp);
	}
	if (rc == 0)
		send_body(req, out);
	if (out)
		evbuffer_free(out);
	if (rc != 0)
		reply_too_large(req, rc, r->max_response);
}

static int offload(rpc_t *r, struct evhttp_request *req, struct evbuffer *in, size_t len);

/* The route whose prefix uri's path is, or starts with before '/' or '?'. */
static const struct rpc_route *route_of(const rpc_t *r, const char *uri)
{
	for (size_t i = 0; uri && i < r->nroutes; i++) {
		size_t n = strlen(r->routes[i].prefix);
		if (strncmp(uri, r->routes[i].prefix, n) == 0 && (!uri[n] || uri[n] == '/' || uri[n] == '?'))
			return &r->routes[i];
	}
	return NULL;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	rpc_t *r = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (r->closing) { /* the methods' state is being torn down */
		evhttp_send_error(req, 503, "Service Unavailable");
		return;
	}
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	char host[INET6_ADDRSTRLEN];
	peer_host(bev ? bufferevent_getfd(bev) : -1, host, sizeof(host));
	if (!rpc_allow_permits(r->allow, r->nallow, host)) {
		/* only a connection that on_new_connection could not track (out
		 * of memory) gets here; every other was refused unread */
		evhttp_send_error(req, 403, "Forbidden");
		return;
	}
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
		char from[80];
		log_rejected_from(r, "a request with wrong or missing credentials",
				  request_peer_text(req, from, sizeof(from)));
		evhttp_send_error(req, 401, "Unauthorized");
		return;
	}
	const struct rpc_route *route = route_of(r, uri);
	if (route) {
		route->fn(route->ctx, req);
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
	if (offload(r, req, in, len))
		return; /* parsed and run later (work_finish) */
	json_error_t jerr;
	json_t *body = NULL;
	if (len == 0) /* pulled up, it is NULL, which jansson calls "wrong arguments" */
		snprintf(jerr.text, sizeof(jerr.text), "empty request body");
	else
		body = rpc_json_parse((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len, &jerr);
	if (!body) {
		char msg[300];
		snprintf(msg, sizeof(msg), "parse error: %s", jerr.text);
		json_t *resp = response(NULL, NULL, error_obj(RPC_PARSE_ERROR, msg));
		reply_json(req, resp);
		json_decref(resp);
		return;
	}
	run_body(r, req, body);
	json_decref(body);
}

/* ---- deferred replies ---- */

static void deferred_unlink(struct rpc_deferred *d)
{
	rpc_t *r = d->rpc;
	for (struct rpc_deferred **pp = &r->deferred; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			r->ndeferred--;
			break;
		}
	}
	if (d->timer)
		event_del(d->timer);
	if (d->watch)
		event_del(d->watch);
	if (d->req) /* evhttp must not tell us about a connection we let go of */
		evhttp_connection_set_closecb(evhttp_request_get_connection(d->req), NULL, NULL);
}

static void deferred_free(struct rpc_deferred *d)
{
	if (d->timer)
		event_free(d->timer);
	if (d->watch)
		event_free(d->watch);
	if (d->probe)
		event_free(d->probe);
	json_decref(d->id);
	free(d);
}

/* Sends the answer once and takes d off the list; freeing is the caller's. */
static void deferred_send(struct rpc_deferred *d, json_t *result, const struct rpc_error *e)
{
	if (d->answered) {
		json_decref(result);
		return;
	}
	d->answered = 1;
	deferred_unlink(d);
	if (!d->req) {
		json_decref(result);
		return;
	}
	json_t *resp = e ? response(d->id, NULL, error_obj(e->code ? e->code : RPC_MISC_ERROR, e->message))
			 : response(d->id, result, NULL);
	struct evbuffer *out = evbuffer_new();
	size_t total = 0;
	int rc = out ? append_json(out, resp, &total, d->rpc->max_response) : ASSAY_ENOMEM;
	if (rc == 0)
		send_body(d->req, out);
	if (out)
		evbuffer_free(out);
	if (rc != 0)
		reply_too_large(d->req, rc, d->rpc->max_response);
	json_decref(resp);
	d->req = NULL;
}

/* Hands ev to d's callback, then finishes what the callback left: a
 * timeout always gets an answer, a gone client never does. */
static void deferred_event(struct rpc_deferred *d, enum rpc_defer_event ev)
{
	d->busy = 1;
	d->fn(d->arg, d, ev);
	d->busy = 0;
	if (ev == RPC_DEFER_TIMEOUT && !d->answered)
		deferred_send(d, NULL, NULL);
	if (ev == RPC_DEFER_GONE && !d->answered) {
		d->answered = 1;
		deferred_unlink(d);
		if (d->req) /* lets evhttp finish and free the connection */
			evhttp_send_error(d->req, 503, "Service Unavailable");
		d->req = NULL;
	}
	if (d->answered)
		deferred_free(d);
}

static void on_deferred_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deferred_event(arg, RPC_DEFER_TIMEOUT);
}

/* After pipelined bytes the socket stays readable, so it is not watched:
 * every RPC_DEFER_PROBE_MS a poll for the peer's hang-up (POLLRDHUP sees
 * it behind unread bytes) says whether the client is still there. */
static void on_deferred_probe(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_deferred *d = arg;
	(void)fd;
	(void)what;
	struct pollfd p = {.fd = event_get_fd(d->watch), .events = POLLRDHUP};
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		deferred_event(d, RPC_DEFER_GONE);
}

/* The waiting client's socket became readable: end of file or an error
 * means it left; bytes mean it pipelines another request, so it is still
 * there: the watch stops, and the probe looks for its hang-up from then
 * on (the timeout still ends the wait). */
static void on_deferred_watch(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_deferred *d = arg;
	char byte;
	(void)what;
	ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		event_del(d->watch);
		struct timeval tv = {0, RPC_DEFER_PROBE_MS * 1000};
		if (!d->probe)
			d->probe = event_new(event_get_base(d->watch), -1, EV_PERSIST, on_deferred_probe, d);
		if (d->probe)
			event_add(d->probe, &tv);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	deferred_event(d, RPC_DEFER_GONE);
}

/* evhttp is freeing the connection under a waiting request. */
static void on_deferred_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct rpc_deferred *d = arg;
	(void)evcon;
	d->req = NULL;
	deferred_event(d, RPC_DEFER_GONE);
}

rpc_deferred_t *rpc_defer(rpc_t *r, uint64_t timeout_ms, rpc_defer_fn fn, void *arg, struct rpc_error *e)
{
	if (!r->cur_req || r->cur_deferred) {
		rpc_fail(e, RPC_INVALID_REQUEST, "a waiting call cannot be part of a batch");
		return NULL;
	}
	if (r->ndeferred >= RPC_MAX_DEFERRED) {
		rpc_fail(e, RPC_MISC_ERROR,
			 "too many waiting calls (at most %d, RPC_MAX_DEFERRED); try again later",
			 RPC_MAX_DEFERRED);
		return NULL;
	}
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->cur_req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	struct event_base *base = event_get_base(r->sweep);
	struct rpc_deferred *d = calloc(1, sizeof(*d));
	if (d) {
		d->timer = evtimer_new(base, on_deferred_timer, d);
		d->watch = fd >= 0 ? event_new(base, fd, EV_READ | EV_PERSIST, on_deferred_watch, d) : NULL;
	}
	if (!d || !d->timer || fd < 0 || !d->watch) {
		if (d)
			deferred_free(d);
		rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	if (timeout_ms > RPC_MAX_DEFER_MS)
		timeout_ms = RPC_MAX_DEFER_MS;
	d->rpc = r;
	d->req = r->cur_req;
	d->id = json_incref(r->cur_id ? r->cur_id : json_null());
	d->fn = fn;
	d->arg = arg;
	struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
	evtimer_add(d->timer, &tv);
	event_add(d->watch, NULL);
	evhttp_connection_set_closecb(evcon, on_deferred_conn_close, d);
	d->next = r->deferred;
	r->deferred = d;
	r->ndeferred++;
	r->cur_deferred = 1;
	return d;
}

void rpc_deferred_reply(rpc_deferred_t *d, json_t *result, const struct rpc_error *e)
{
	deferred_send(d, result, e);
	if (!d->busy)
		deferred_free(d);
}

void rpc_deferred_wake(rpc_t *r)
{
	if (!r)
		return;
	struct rpc_deferred *d = r->deferred, *next;
	for (; d; d = next) {
		next = d->next; /* d may be answered and freed below */
		deferred_event(d, RPC_DEFER_WAKE);
	}
}

size_t rpc_deferred_count(const rpc_t *r)
{
	return r ? r->ndeferred : 0;
}

/* ---- work off the event thread ---- */

/* evhttp is freeing the connection under a request whose body is off the
 * event thread (the client left and evhttp noticed, or the server is
 * closing). The work goes on; its call still runs, unanswered. Unlike a
 * deferred call's, the socket is not watched: the work ends within
 * moments, and a reply to a client that left only fails to be written. */
static void on_work_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct rpc_work *w = arg;
	(void)evcon;
	w->req = NULL;
}

/* Frees w and what it holds (any thread). */
static void work_free(struct rpc_work *w)
{
	const rpc_t *r = w->rpc;
	if (w->prepared && r->release[w->method])
		r->release[w->method](w->prepared);
	json_decref(w->body);
	free(w->text);
	free(w);
}

static void work_free_task(void *arg)
{
	work_free(arg);
}

/* Event thread: runs w's call as on_request would have, then frees w, on
 * the executor when the body was long: the body and the prepared data
 * were allocated there, and freeing a thousand pieces is per-call work
 * the event thread need not do. */
static void work_finish(rpc_t *r, struct rpc_work *w)
{
	struct evhttp_request *req = w->req;
	r->noffloaded--;
	if (req) /* the call may defer, which sets its own */
		evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
	if (!w->body && req) {
		json_t *resp = response(NULL, NULL, error_obj(RPC_PARSE_ERROR, w->parse_err));
		reply_json(req, resp);
		json_decref(resp);
	} else if (w->body) {
		r->cur_prepared = w->prepared;
		r->cur_prepared_method = w->method;
		run_body(r, req, w->body);
		r->cur_prepared = NULL;
		r->cur_prepared_method = -1;
	}
	if (w->len < RPC_OFFLOAD_MIN_BODY || !r->executor || r->executor(r->executor_ctx, work_free_task, w) != 0)
		work_free(w); /* a short body's frees cost less than waking a thread */
}

/* Any thread: w is finished; the event loop hears of it. */
static void work_post(struct rpc_work *w)
{
	rpc_t *r = w->rpc;
	pthread_mutex_lock(&r->done_lock);
	int was_empty = !r->done_head;
	w->next = NULL;
	if (r->done_tail)
		r->done_tail->next = w;
	else
		r->done_head = w;
	r->done_tail = w;
	pthread_mutex_unlock(&r->done_lock);
	/* One byte per empty-to-non-empty: the drain reads the pipe before it
	 * takes the list, so a work appended meanwhile is never left behind. */
	if (was_empty) {
		ssize_t wr = write(r->done_pipe[1], "", 1);
		(void)wr; /* a full pipe is already a wake-up */
	}
}

void rpc_work_hold(rpc_work_t *w)
{
	__atomic_add_fetch(&w->holds, 1, __ATOMIC_RELAXED);
}

void rpc_work_release(rpc_work_t *w)
{
	/* acq_rel: what each holder wrote is seen by the one who posts */
	if (__atomic_sub_fetch(&w->holds, 1, __ATOMIC_ACQ_REL) == 0)
		work_post(w);
}

/* The method of a single call with a prepare step that handle_one would
 * run (params fit), or -1. Reads only what is fixed before the loop runs. */
static int prepared_method(const rpc_t *r, json_t *call)
{
	json_t *method = json_object_get(call, "method");
	json_t *params = json_object_get(call, "params");
	if (!json_is_string(method) || (params && !json_is_array(params) && !json_is_object(params)))
		return -1;
	const char *name = json_string_value(method);
	for (size_t i = 0; strlen(name) <= r->longest_name && i < r->nmethods; i++) {
		if (strcmp(r->methods[i].name, name) != 0)
			continue;
		if (!r->prepare[i] || (json_is_array(params) && r->max_params[i] >= 0 &&
				       json_array_size(params) > (size_t)r->max_params[i]))
			return -1;
		if (json_is_object(params) && !r->named[i] && json_object_size(params) > 0)
			return -1;
		return (int)i;
	}
	return -1;
}

/* On the executor's thread: the parse, then the prepare step. */
static void work_run(void *arg)
{
	struct rpc_work *w = arg;
	const rpc_t *r = w->rpc;
	json_error_t jerr;
	w->body = rpc_json_parse(w->text, w->len, &jerr);
	free(w->text);
	w->text = NULL;
	if (!w->body)
		snprintf(w->parse_err, sizeof(w->parse_err), "parse error: %s", jerr.text);
	else if (json_is_object(w->body) && (w->method = prepared_method(r, w->body)) >= 0)
		w->prepared = r->prepare[w->method](r->ctxs[w->method], json_object_get(w->body, "params"), w);
	rpc_work_release(w); /* the hold the server took for this step */
}

/* Worth a thread hop: a long body, or one that names a method with a
 * prepare step (a guess from the bytes; the parse decides what runs). */
static int worth_offloading(const rpc_t *r, struct evbuffer *in, size_t len)
{
	if (len >= RPC_OFFLOAD_MIN_BODY)
		return 1;
	for (size_t i = 0; r->nprepare && i < r->nmethods; i++) {
		char quoted[RPC_ECHO_MAX + 2];
		size_t n = strlen(r->methods[i].name);
		if (!r->prepare[i] || n > RPC_ECHO_MAX)
			continue;
		quoted[0] = quoted[n + 1] = '"';
		memcpy(quoted + 1, r->methods[i].name, n);
		if (evbuffer_search(in, quoted, n + 2, NULL).pos >= 0)
			return 1;
	}
	return 0;
}

/* Hands req's body to the executor: 1, or 0 when it stays here. */
static int offload(rpc_t *r, struct evhttp_request *req, struct evbuffer *in, size_t len)
{
	if (!r->executor || r->noffloaded >= RPC_MAX_OFFLOADED || !worth_offloading(r, in, len))
		return 0;
	struct rpc_work *w = calloc(1, sizeof(*w));
	if (w)
		w->text = malloc(len ? len : 1);
	if (!w || !w->text || evbuffer_copyout(in, w->text, len) != (ev_ssize_t)len) {
		if (w)
			free(w->text);
		free(w);
		return 0;
	}
	w->rpc = r;
	w->len = len;
	w->method = -1;
	w->holds = 1;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (!evcon || r->executor(r->executor_ctx, work_run, w) != 0) {
		free(w->text);
		free(w);
		return 0;
	}
	w->req = req;
	evhttp_connection_set_closecb(evcon, on_work_conn_close, w);
	r->noffloaded++;
	if (r->order_tail)
		r->order_tail->order_next = w;
	else
		r->order_head = w;
	r->order_tail = w;
	return 1;
}

void rpc_offload_drain(rpc_t *r)
{
	if (!r || r->done_pipe[0] < 0)
		return;
	char buf[64];
	while (read(r->done_pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&r->done_lock);
	struct rpc_work *w = r->done_head;
	r->done_head = r->done_tail = NULL;
	pthread_mutex_unlock(&r->done_lock);
	for (; w; w = w->next)
		w->finished = 1;
	/* The calls run in the order their requests were received, as they
	 * would have on the event thread: a batch whose transactions need an
	 * earlier call's nonces still finds them pooled, however much sooner
	 * its own parse and signatures were done. */
	while (r->order_head && r->order_head->finished) {
		w = r->order_head;
		r->order_head = w->order_next;
		if (!r->order_head)
			r->order_tail = NULL;
		work_finish(r, w);
	}
}

static void on_work_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rpc_offload_drain(arg);
}

void rpc_set_executor(rpc_t *r, rpc_executor_fn fn, void *ctx)
{
	if (!r->done_ev) {
		if (pipe(r->done_pipe) != 0) {
			r->done_pipe[0] = r->done_pipe[1] = -1;
			log_warn("rpc: no pipe for work off the event thread; bodies are parsed on it");
			return;
		}
		evutil_make_socket_nonblocking(r->done_pipe[0]);
		evutil_make_socket_nonblocking(r->done_pipe[1]);
		r->done_ev = event_new(event_get_base(r->sweep), r->done_pipe[0], EV_READ | EV_PERSIST, on_work_done, r);
		if (!r->done_ev || event_add(r->done_ev, NULL) != 0) {
			log_warn("rpc: cannot watch work off the event thread; bodies are parsed on it");
			return;
		}
	}
	r->executor = fn;
	r->executor_ctx = ctx;
}

int rpc_set_prepare(rpc_t *r, const char *name, rpc_prepare_fn prepare, void (*release)(void *prepared))
{
	for (size_t i = 0; i < r->nmethods; i++) {
		if (strcmp(r->methods[i].name, name) != 0)
			continue;
		r->nprepare += !r->prepare[i];
		r->prepare[i] = prepare;
		r->release[i] = release;
		return 0;
	}
	return -1;
}

int rpc_set_named_params(rpc_t *r, const char *name)
{
	for (size_t i = 0; i < r->nmethods; i++) {
		if (strcmp(r->methods[i].name, name) == 0) {
			r->named[i] = 1;
			return 0;
		}
	}
	return -1;
}

void *rpc_prepared(const rpc_t *r)
{
	return r->cur_visible;
}

rpc_t *rpc_new(struct event_base *base, const char *bind, int port, const char *user,
	       const char *password, const char *cookie_path, char *err, size_t errlen)
{
	rpc_t *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->max_connections = RPC_DEFAULT_MAX_CONNECTIONS;
	r->max_response = response_limit();
	r->cur_prepared_method = -1;
	r->done_pipe[0] = r->done_pipe[1] = -1;
	r->done_lock_ok = pthread_mutex_init(&r->done_lock, NULL) == 0;
	if (!r->done_lock_ok) {
		free(r);
		snprintf(err, errlen, "cannot create a mutex");
		return NULL;
	}
	raise_fd_limit();
	r->http = evhttp_new(base);
	r->reaper = event_new(base, -1, 0, on_reap, r);
	r->sweep = event_new(base, -1, EV_PERSIST, on_sweep, r);
	r->resume = evtimer_new(base, on_resume, r);
	r->admit = event_new(base, -1, 0, on_admit, r);
	if (!r->http || !r->reaper || !r->sweep || !r->resume || !r->admit) {
		rpc_free(r);
		snprintf(err, errlen, "cannot create the HTTP server");
		return NULL;
	}
	evhttp_set_max_body_size(r->http, RPC_MAX_BODY);
	evhttp_set_max_headers_size(r->http, RPC_MAX_HEADER_BYTES);
	evhttp_set_timeout(r->http, RPC_IDLE_TIMEOUT_S);
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(r->http, on_request, r);
	evhttp_set_bevcb(r->http, on_new_connection, r);
	struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(r->http, bind, (ev_uint16_t)port);
	if (!bound) {
		snprintf(err, errlen, "cannot bind RPC to %s:%d (in use, or not a local address?)", bind, port);
		rpc_free(r);
		return NULL;
	}
	r->listener = evhttp_bound_socket_get_listener(bound);
	server_track(r, 1);
	evconnlistener_set_error_cb(r->listener, on_accept_error);
	struct timeval tv = {RPC_SWEEP_MS / 1000, (RPC_SWEEP_MS % 1000) * 1000};
	event_add(r->sweep, &tv);
	if (user && password) {
		snprintf(r->expected_auth, sizeof(r->expected_auth), "%s:%s", user, password);
	} else if (write_cookie(r, cookie_path, err, errlen) < 0) {
		rpc_free(r);
		return NULL;
	}
	return r;
}

void rpc_set_max_connections(rpc_t *r, int max_connections)
{
	r->max_connections = max_connections > 0 ? max_connections : 1;
}

/* 1 while a connection evhttp still holds has reply bytes not yet handed
 * to the kernel. */
static int output_pending(const rpc_t *r)
{
	for (const struct rpc_conn *c = r->conns; c; c = c->next)
		if (!evhttp_let_go(c) && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			return 1;
	return 0;
}

static void on_flush_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

void rpc_shutdown(rpc_t *r)
{
	if (!r || r->closing)
		return;
	r->closing = 1;
	if (r->listener)
		evconnlistener_disable(r->listener);
	event_del(r->resume); /* it would enable the listener again */
	while (r->deferred)
		deferred_event(r->deferred, RPC_DEFER_GONE); /* each gets its 503 */
	/* A client that does not read cannot hold the node up for longer than
	 * the deadline: EVLOOP_ONCE returns at the latest when it fires. */
	struct event_base *base = event_get_base(r->sweep);
	int expired = 0;
	struct event *deadline = evtimer_new(base, on_flush_deadline, &expired);
	struct timeval tv = {RPC_SHUTDOWN_FLUSH_MS / 1000, (RPC_SHUTDOWN_FLUSH_MS % 1000) * 1000};
	if (!deadline)
		return; /* out of memory: rpc_free closes the sockets as before */
	evtimer_add(deadline, &tv);
	while (!expired && output_pending(r))
		event_base_loop(base, EVLOOP_ONCE);
	event_free(deadline);
}

void rpc_free(rpc_t *r)
{
	if (!r)
		return;
	server_track(r, 0);
	while (r->deferred)
		deferred_event(r->deferred, RPC_DEFER_GONE); /* before evhttp frees their requests */
	if (r->done_ev)
		event_free(r->done_ev);
	for (int i = 0; i < 2; i++)
		if (r->done_pipe[i] >= 0)
			close(r->done_pipe[i]);
	if (r->http)
		evhttp_free(r->http); /* frees every connection; ours are then let go */
	/* Works left never run now (the executor is stopped); freed after
	 * evhttp_free, whose close callbacks write to them. */
	if (r->done_lock_ok) {
		struct rpc_work *w = r->order_head;
		for (struct rpc_work *next; w; w = next) {
			next = w->order_next;
			work_free(w);
		}
		pthread_mutex_destroy(&r->done_lock);
	}
	while (r->conns) {
		struct rpc_conn *c = r->conns;
		r->conns = c->next;
		conn_release(c);
	}
	if (r->reaper)
		event_free(r->reaper);
	if (r->sweep)
		event_free(r->sweep);
	if (r->resume)
		event_free(r->resume);
	if (r->admit)
		event_free(r->admit);
	if (r->cookie_path[0])
		unlink(r->cookie_path);
	sodium_memzero(r->expected_auth, sizeof(r->expected_auth));
	free(r);
}

void rpc_register(rpc_t *r, const struct rpc_method *methods, size_t n, void *ctx)
{
	for (size_t i = 0; i < n && r->nmethods < RPC_MAX_METHODS; i++) {
		r->methods[r->nmethods] = methods[i];
		r->max_params[r->nmethods] = rpc_synopsis_max_params(methods[i].help);
		r->ctxs[r->nmethods++] = ctx;
		if (strlen(methods[i].name) > r->longest_name)
			r->longest_name = strlen(methods[i].name);
	}
}

void rpc_set_metrics(rpc_t *r, rpc_metrics_fn fn, void *ctx)
{
	r->metrics = fn;
	r->metrics_ctx = ctx;
}

void rpc_route(rpc_t *r, const char *prefix, rpc_route_fn fn, void *ctx)
{
	if (r->nroutes < RPC_MAX_ROUTES)
		r->routes[r->nroutes++] = (struct rpc_route){prefix, fn, ctx};
}

const struct rpc_method *rpc_methods(const rpc_t *r, size_t *n)
{
	*n = r->nmethods;
	return r->methods;
}
