/* Unit tests for the pure pieces of node/rpc.c: the request-head scan that
 * decides before any body is read (whole and fed in pieces), UTF-8-safe
 * cutting and cleaning of messages, the log rate limit, and the parameter
 * count a method's synopsis allows. Not for: sockets (rpc_abuse.py, feature_operator.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/error.h"
#include "node/rpc.h"
#include "test.h"

static void test_head_complete(void)
{
	const char *h = "POST / HTTP/1.1\r\nHost: x\r\nauthorization:  Basic YTpi  \r\n"
			"Content-Length: 12\r\n\r\n{\"id\":1}";
	struct rpc_head out;
	CHECK(rpc_head_scan(h, strlen(h), &out) == 1);
	CHECK(out.end == strlen(h) - strlen("{\"id\":1}"));
	CHECK(out.auth && out.auth_len == 10 && memcmp(out.auth, "Basic YTpi", 10) == 0);
	CHECK(out.content_length == 12 && !out.chunked && !out.bad);
}

static void test_head_partial_and_lf(void)
{
	struct rpc_head out;
	const char *h = "POST / HTTP/1.1\r\nContent-Length: 5\r\n";
	CHECK(rpc_head_scan(h, strlen(h), &out) == 0);
	CHECK(rpc_head_scan("GET /metrics HTTP/1.0\n\n", 23, &out) == 1);
	CHECK(out.end == 23 && out.auth == NULL && out.content_length == -1);
	/* Blank lines before the request line do not end the head (nor in evhttp). */
	CHECK(rpc_head_scan("\r\n\r\n", 4, &out) == 0);
	CHECK(rpc_head_scan("", 0, &out) == 0);
}

static void test_head_body_forms(void)
{
	struct rpc_head out;
	const char *chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	CHECK(rpc_head_scan(chunked, strlen(chunked), &out) == 1 && out.chunked);
	const char *ident = "POST / HTTP/1.1\r\nTransfer-Encoding: Identity\r\n\r\n";
	CHECK(rpc_head_scan(ident, strlen(ident), &out) == 1 && !out.chunked);
	const char *neg = "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n";
	CHECK(rpc_head_scan(neg, strlen(neg), &out) == 1 && out.bad);
	const char *huge = "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n";
	CHECK(rpc_head_scan(huge, strlen(huge), &out) == 1 && out.bad);
	const char *two = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 900000\r\n\r\n";
	CHECK(rpc_head_scan(two, strlen(two), &out) == 1 && out.bad);
	/* The first Authorization counts, as in evhttp_find_header. */
	const char *dup = "POST / HTTP/1.1\r\nAuthorization: A\r\nAuthorization: B\r\n\r\n";
	CHECK(rpc_head_scan(dup, strlen(dup), &out) == 1 && out.auth_len == 1 && out.auth[0] == 'A');
	/* A name that only starts like a known one is another header. */
	const char *near = "POST / HTTP/1.1\r\nContent-Lengthy: 5\r\n\r\n";
	CHECK(rpc_head_scan(near, strlen(near), &out) == 1 && out.content_length == -1);
}

/* Heads as clients send them; the byte-wise scan must agree with the
 * whole one on each. */
static const char *const split_heads[] = {
	"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\nContent-Length: 12\r\n\r\n{\"id\":1}",
	"\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", /* leading blank lines */
	"\n\nGET /metrics HTTP/1.0\nAuthorization: B\n\n",         /* bare LF throughout */
	"\r\n\nPOST / HTTP/1.1\nContent-Length: 7\r\nTransfer-Encoding: chunked\n\r\n", /* mixed */
	"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
	"POST / HTTP/1.1\r\nAuthorization: A\r\nAuthorization: B\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5\r\n", /* never completes */
	"\r\n\r\n\n",                               /* blank lines only */
	"GET / HTTP/1.1\r\r\n\r\n",                 /* a CR is part of a line */
};

/* Same verdict and same fields (auth as an offset into its head). */
static int heads_equal(const char *a_base, const struct rpc_head *a, const char *b_base,
		       const struct rpc_head *b)
{
	if ((a->auth == NULL) != (b->auth == NULL))
		return 0;
	if (a->auth && (a->auth - a_base != b->auth - b_base || a->auth_len != b->auth_len))
		return 0;
	return a->end == b->end && a->content_length == b->content_length &&
	       a->chunked == b->chunked && a->bad == b->bad;
}

/* Feeds h in pieces of at most `piece` bytes (0: random sizes of 1 to 7
 * from seed) and checks, after every piece, the verdict rpc_head_scan gives
 * on the bytes so far, and on completion its fields. */
static void check_head_in_pieces(const char *h, size_t piece, uint64_t seed)
{
	size_t len = strlen(h);
	struct rpc_head_scanner s;
	rpc_head_scanner_init(&s);
	int done = 0;
	for (size_t have = 0; have < len && !done;) {
		size_t n = piece ? piece : 1 + (size_t)(test_xorshift(&seed) % 7);
		have = have + n < len ? have + n : len;
		struct rpc_head whole;
		int want = rpc_head_scan(h, have, &whole);
		done = rpc_head_scanner_feed(&s, h, have);
		CHECK_EQ_INT(done, want);
		if (done && want)
			CHECK(heads_equal(h, &s.head, h, &whole));
	}
	struct rpc_head whole;
	CHECK_EQ_INT(done, rpc_head_scan(h, len, &whole));
	if (done) {
		struct rpc_head first = s.head;
		CHECK(rpc_head_scanner_feed(&s, h, len) == 1); /* complete stays complete */
		CHECK(heads_equal(h, &s.head, h, &first));
	}
}

static void test_head_in_pieces(void)
{
	for (size_t i = 0; i < sizeof(split_heads) / sizeof(split_heads[0]); i++) {
		check_head_in_pieces(split_heads[i], 1, 0);
		check_head_in_pieces(split_heads[i], 2, 0);
		check_head_in_pieces(split_heads[i], 0, 0x9e3779b97f4a7c15ull + i);
	}
	/* And the values themselves, so that both scans cannot be wrong alike. */
	struct rpc_head_scanner s;
	const char *lead = split_heads[1];
	rpc_head_scanner_init(&s);
	for (size_t have = 1; have <= strlen(lead); have++)
		if (rpc_head_scanner_feed(&s, lead, have))
			break;
	CHECK_EQ_U64(s.head.end, strlen(lead) - 3);
	CHECK_EQ_INT(s.head.content_length, 3);
	const char *lf = split_heads[2];
	rpc_head_scanner_init(&s);
	for (size_t have = 1; have <= strlen(lf); have++)
		if (rpc_head_scanner_feed(&s, lf, have))
			break;
	CHECK_EQ_U64(s.head.end, strlen(lf));
	CHECK(s.head.auth_len == 1 && s.head.auth && s.head.auth[0] == 'B');
	CHECK_EQ_INT(s.head.content_length, -1);
	const char *blank = split_heads[8];
	rpc_head_scanner_init(&s);
	for (size_t have = 1; have <= strlen(blank); have++)
		CHECK(rpc_head_scanner_feed(&s, blank, have) == 0);
}

/* A head at the size limit, a byte at a time: the verdict comes at its
 * last byte, with the header lines spread over the whole of it. */
static void test_head_in_pieces_long(void)
{
	static char h[RPC_MAX_HEADER_BYTES + 1];
	size_t n = (size_t)snprintf(h, sizeof(h), "\n\nPOST / HTTP/1.1\r\nContent-Length: 4\r\n");
	while (n + 40 < RPC_MAX_HEADER_BYTES)
		n += (size_t)snprintf(h + n, sizeof(h) - n, "X-Pad-%05zu: %s", n, n % 3 ? "v\r\n" : "v\n");
	n += (size_t)snprintf(h + n, sizeof(h) - n, "Authorization: Basic YTpi\n\r\n");
	CHECK(n <= RPC_MAX_HEADER_BYTES);
	struct rpc_head_scanner s;
	rpc_head_scanner_init(&s);
	size_t done_at = 0;
	for (size_t have = 1; have <= n && !done_at; have++)
		if (rpc_head_scanner_feed(&s, h, have))
			done_at = have;
	CHECK_EQ_U64(done_at, n);
	struct rpc_head whole;
	CHECK(rpc_head_scan(h, n, &whole) == 1);
	CHECK(heads_equal(h, &s.head, h, &whole));
	CHECK(s.head.auth_len == 10 && s.head.content_length == 4);
}

static void test_utf8_prefix(void)
{
	char name[128];
	memset(name, 'a', 99);
	strcpy(name + 99, "\xc3\xa9"); /* 99 x a then e-acute: 101 bytes */
	CHECK(rpc_utf8_prefix(name, 100) == 99); /* never inside the e-acute */
	CHECK(rpc_utf8_prefix(name, 101) == 101);
	CHECK(rpc_utf8_prefix(name, 500) == 101);
	CHECK(rpc_utf8_prefix("\xe2\x82\xac\xe2\x82\xac", 4) == 3);
	CHECK(rpc_utf8_prefix("abc", 0) == 0);
}

static void test_utf8_sanitize(void)
{
	char s1[] = "ok \xc3\xa9 cut \xc3";
	rpc_utf8_sanitize(s1);
	CHECK(strcmp(s1, "ok \xc3\xa9 cut ?") == 0);
	char s2[] = "\xff\xfe\xc0\xaf\xed\xa0\x80x";
	rpc_utf8_sanitize(s2); /* bad bytes, overlong form, a surrogate */
	CHECK(strcmp(s2, "???????x") == 0);
	char s3[] = "\xf0\x9f\x98\x80 fine";
	rpc_utf8_sanitize(s3);
	CHECK(strcmp(s3, "\xf0\x9f\x98\x80 fine") == 0);
}

static void test_synopsis_params(void)
{
	CHECK(rpc_synopsis_max_params("stop - shut the node down cleanly") == 0);
	CHECK(rpc_synopsis_max_params("getblockcount - height of the tip") == 0);
	CHECK(rpc_synopsis_max_params("getblockhash HEIGHT - hash of the block at HEIGHT") == 1);
	CHECK(rpc_synopsis_max_params("getblock HASH|HEIGHT [VERBOSITY] - block as JSON (0: hex, 1 - x)") == 2);
	CHECK(rpc_synopsis_max_params("listjobs [STATE [SUBMITTER [WORKER]]] - live jobs") == 3);
	CHECK(rpc_synopsis_max_params("setban IP add|remove [SECONDS] - ban an IP") == 3);
	CHECK(rpc_synopsis_max_params("querycontract ADDRESS METHOD [ARG...] - read-only call") == -1);
	CHECK(rpc_synopsis_max_params("sendrawtransactions [HEX,...] - submit up to 1000") == 1);
	CHECK(rpc_synopsis_max_params("help [METHOD] - list\nmore words - here [X] Y Z") == 1);
	CHECK(rpc_synopsis_max_params("bare") == 0);
}

/* The body's tree from jansson and from the direct scan, as compact text in
 * key order; "" when the scan declined. 1 when they agree: the scan gave
 * nothing (and rpc_json_parse is then json_loadb itself) or the very tree
 * jansson gives; *scanned says which. */
static int scan_agrees(const char *text, size_t len, int *scanned)
{
	json_error_t err;
	json_t *want = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	json_t *got = rpc_json_scan(text, len);
	*scanned = got != NULL;
	int ok = 1;
	if (got) {
		char *a = want ? json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		ok = a && b && strcmp(a, b) == 0;
		if (!ok)
			fprintf(stderr, "scan of \"%.*s\": %s, jansson: %s\n", (int)len, text, b ? b : "?",
				a ? a : err.text);
		free(a);
		free(b);
	}
	/* rpc_json_parse: the same tree, or jansson's very error */
	json_error_t perr;
	json_t *parsed = rpc_json_parse(text, len, &perr);
	ok = ok && (parsed != NULL) == (want != NULL) && (want ? json_equal(parsed, want) : strcmp(perr.text, err.text) == 0);
	json_decref(parsed);
	json_decref(got);
	json_decref(want);
	return ok;
}

static void test_json_scan_plain_bodies(void)
{
	static const char *const plain[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"sendrawtransactions\",\"params\":[[\"00ab\",\"CDef\",\"\"]]}",
		" {\"method\" : \"sendrawtransaction\", \"params\" : [\"0011\"], \"id\" : \"x-1\"}\r\n",
		"[{\"id\":1,\"method\":\"getblockcount\"},{\"id\":0,\"method\":\"a\",\"params\":{\"k\":[true,false,null]}}]",
		"{}", "[]", "[[],{}]", "{\"id\":123456789012345678}", "{\"\":\"\"}",
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		int scanned;
		CHECK(scan_agrees(plain[i], strlen(plain[i]), &scanned));
		CHECK(scanned);
	}
}

/* Bodies outside the subset or not JSON at all: jansson decides, with its
 * own error text (rpc_json_parse is checked against it in scan_agrees). */
static void test_json_scan_declines(void)
{
	static const char *const other[] = {
		"", " ", "1", "\"x\"", "null", "{", "[", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]",
		"{\"a\":1}x", "{\"a\":1} {}", "[01]", "[1.5]", "[1e3]", "[-1]", "[1234567890123456789]",
		"[\"a\\\"b\"]", "[\"\\u00e9\"]", "[\"\xc3\xa9\"]", "[\"tab\there\"]", "[\"\x7f\"]", "[tru]", "[truex]",
		"[nul]", "{\"a\":1,\"a\":2}", "{\"a\" 1}", "{1:2}", "[\"unterminated]", "\xef\xbb\xbf{}",
		"[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]",
		"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		int scanned;
		CHECK(scan_agrees(other[i], strlen(other[i]), &scanned));
		CHECK(!scanned);
	}
	int scanned;
	CHECK(scan_agrees("[\"a\0b\"]", 6, &scanned) && !scanned); /* a NUL in the body */
	CHECK(scan_agrees("{}\0", 3, &scanned) && !scanned);
}

/* A repeated key, at the top or deeper, is a parse error: jansson left
 * alone keeps the last one, so a body that reads as getblockcount to
 * whoever looks at its first "method" ran stop. */
static void test_json_duplicate_keys(void)
{
	static const char *const dup[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getblockcount\",\"method\":\"stop\"}",
		"[{\"id\":1,\"method\":\"listjobs\",\"params\":{\"state\":\"open\",\"state\":\"verified\"}}]",
		"{\"id\":1,\"id\":2,\"method\":\"getblockcount\"}",
	};
	for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
		json_error_t err;
		json_t *v = rpc_json_parse(dup[i], strlen(dup[i]), &err);
		CHECK(v == NULL);
		CHECK(strstr(err.text, "duplicate") != NULL);
		json_decref(v);
	}
}

/* A sendrawtransactions body with every byte replaced by each of a set of
 * bytes that matter to JSON, removed, or the body cut there: whatever the
 * scan accepts, jansson parses to the same tree. */
static void test_json_scan_mutations(void)
{
	static const char base[] = "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"sendrawtransactions\","
				   "\"params\":[[\"0a1B\",\"ff\"],true,null,{\"k\":0}]}";
	static const char swaps[] = "{}[],:\" \t\n\\0123456789-+.eEtrufalsn\x01\x7f\x80";
	size_t n = strlen(base), scanned_count = 0, total = 0;
	char text[sizeof(base)];
	int scanned;
	for (size_t at = 0; at < n; at++) {
		for (size_t k = 0; k < sizeof(swaps) - 1; k++) {
			memcpy(text, base, n);
			text[at] = swaps[k];
			CHECK(scan_agrees(text, n, &scanned));
			scanned_count += (size_t)scanned;
			total++;
		}
		memcpy(text, base, at);
		memcpy(text + at, base + at + 1, n - at - 1);
		CHECK(scan_agrees(text, n - 1, &scanned));
		CHECK(scan_agrees(base, at, &scanned));
		CHECK(!scanned); /* a cut body is never whole */
	}
	CHECK(scanned_count > 0 && scanned_count < total); /* both paths were taken */
}

/* An address that sent RPC_AUTH_FAILS_MAX wrong credentials within the
 * window is locked out until the window ends; others are not; the node's
 * own loopback addresses never are; the table is bounded. */
static void test_auth_guard(void)
{
	static struct rpc_auth_guard g; /* 16 KiB: not on the stack */
	memset(&g, 0, sizeof(g));
	uint64_t t = 1000000;
	for (int i = 0; i < RPC_AUTH_FAILS_MAX - 1; i++)
		rpc_auth_guard_failed(&g, "203.0.113.7", t + (uint64_t)i);
	CHECK(!rpc_auth_guard_locked(&g, "203.0.113.7", t + 100));
	rpc_auth_guard_failed(&g, "203.0.113.7", t + 100);
	CHECK(rpc_auth_guard_locked(&g, "203.0.113.7", t + 101));
	CHECK(!rpc_auth_guard_locked(&g, "203.0.113.8", t + 101));
	CHECK(rpc_auth_guard_locked(&g, "203.0.113.7", t + RPC_AUTH_FAIL_WINDOW_MS - 1));
	CHECK(!rpc_auth_guard_locked(&g, "203.0.113.7", t + RPC_AUTH_FAIL_WINDOW_MS));
	/* a new window starts from nothing */
	rpc_auth_guard_failed(&g, "203.0.113.7", t + RPC_AUTH_FAIL_WINDOW_MS);
	CHECK(!rpc_auth_guard_locked(&g, "203.0.113.7", t + RPC_AUTH_FAIL_WINDOW_MS + 1));
	/* an IPv6 client counts with its /64 (in any spelling), an IPv4-mapped
	 * one as its IPv4 address */
	for (int i = 0; i < RPC_AUTH_FAILS_MAX; i++) {
		char host[48];
		snprintf(host, sizeof(host), "2001:db8:1:2::%x", i + 1);
		rpc_auth_guard_failed(&g, host, t);
		snprintf(host, sizeof(host), "::ffff:198.51.100.%d", i + 1);
		rpc_auth_guard_failed(&g, i % 2 ? host : "198.51.100.1", t);
	}
	CHECK(rpc_auth_guard_locked(&g, "2001:db8:1:2:abcd::1", t + 1));
	CHECK(rpc_auth_guard_locked(&g, "2001:0db8:0001:0002::ffff", t + 1));
	CHECK(!rpc_auth_guard_locked(&g, "2001:db8:1:3::1", t + 1));
	CHECK(!rpc_auth_guard_locked(&g, "198.51.100.1", t + 1)); /* 5 of its 10 */
	for (int i = 0; i < RPC_AUTH_FAILS_MAX / 2; i++)
		rpc_auth_guard_failed(&g, "::ffff:198.51.100.1", t);
	CHECK(rpc_auth_guard_locked(&g, "198.51.100.1", t + 1));
	CHECK(rpc_auth_guard_locked(&g, "::ffff:198.51.100.1", t + 1));
	/* loopback as the node's own clients use it: never */
	for (int i = 0; i < 3 * RPC_AUTH_FAILS_MAX; i++) {
		rpc_auth_guard_failed(&g, "127.0.0.1", t);
		rpc_auth_guard_failed(&g, "::1", t);
		rpc_auth_guard_failed(&g, "127.0.0.2", t);
	}
	CHECK(!rpc_auth_guard_locked(&g, "127.0.0.1", t + 1));
	CHECK(!rpc_auth_guard_locked(&g, "::1", t + 1));
	CHECK(rpc_auth_guard_locked(&g, "127.0.0.2", t + 1));
	/* more addresses than the table: the oldest windows give way, the
	 * newest are kept */
	char host[48];
	for (int i = 0; i < RPC_AUTH_FAIL_HOSTS + 10; i++) {
		snprintf(host, sizeof(host), "198.51.100.%d", i);
		for (int k = 0; k < RPC_AUTH_FAILS_MAX; k++)
			rpc_auth_guard_failed(&g, host, t + 10 + (uint64_t)i);
	}
	CHECK(rpc_auth_guard_locked(&g, host, t + 20 + RPC_AUTH_FAIL_HOSTS));
	CHECK(!rpc_auth_guard_locked(&g, "198.51.100.0", t + 20 + RPC_AUTH_FAIL_HOSTS));
}

/* -rpcallowip entries: what parses, what each one lets in, and that
 * loopback means 127.0.0.1 and ::1, not the whole of 127.0.0.0/8. */
static void test_allow(void)
{
	struct rpc_allow a[8] = {{0}};
	char err[256];
	/* with no entries: the node's own clients only */
	CHECK(rpc_allow_permits(a, 0, "127.0.0.1"));
	CHECK(rpc_allow_permits(a, 0, "::1"));
	CHECK(rpc_allow_permits(a, 0, "::ffff:127.0.0.1"));
	CHECK(!rpc_allow_permits(a, 0, "127.0.0.2"));
	CHECK(!rpc_allow_permits(a, 0, "192.0.2.7"));
	CHECK(!rpc_allow_permits(a, 0, "?"));
	CHECK(!rpc_allow_permits(a, 0, ""));

	CHECK_EQ_INT(rpc_allow_parse("192.0.2.7", &a[0], err, sizeof(err)), 0);
	CHECK_EQ_INT(a[0].bits, 32);
	CHECK(rpc_allow_permits(a, 1, "192.0.2.7"));
	CHECK(rpc_allow_permits(a, 1, "::ffff:192.0.2.7")); /* a dual-stack socket's view of it */
	CHECK(!rpc_allow_permits(a, 1, "192.0.2.8"));

	CHECK_EQ_INT(rpc_allow_parse("10.1.2.3/8", &a[0], err, sizeof(err)), 0); /* host bits cleared */
	CHECK(a[0].net[1] == 0 && a[0].net[3] == 0 && a[0].bits == 8);
	CHECK(rpc_allow_permits(a, 1, "10.255.0.1"));
	CHECK(!rpc_allow_permits(a, 1, "11.0.0.1"));

	CHECK_EQ_INT(rpc_allow_parse("198.51.100.0/255.255.254.0", &a[0], err, sizeof(err)), 0);
	CHECK_EQ_INT(a[0].bits, 23);
	CHECK(rpc_allow_permits(a, 1, "198.51.101.200"));
	CHECK(!rpc_allow_permits(a, 1, "198.51.102.1"));

	CHECK_EQ_INT(rpc_allow_parse("172.16.0.0/12", &a[0], err, sizeof(err)), 0); /* a prefix off a byte */
	CHECK(rpc_allow_permits(a, 1, "172.31.255.255"));
	CHECK(!rpc_allow_permits(a, 1, "172.32.0.0"));
	CHECK(!rpc_allow_permits(a, 1, "172.15.255.255"));

	CHECK_EQ_INT(rpc_allow_parse("2001:db8::/32", &a[0], err, sizeof(err)), 0);
	CHECK_EQ_INT(rpc_allow_parse("fd00::7", &a[1], err, sizeof(err)), 0);
	CHECK_EQ_INT(rpc_allow_parse("127.0.0.2", &a[2], err, sizeof(err)), 0);
	CHECK(rpc_allow_permits(a, 3, "2001:db8:ffff::1"));
	CHECK(!rpc_allow_permits(a, 3, "2001:db9::1"));
	CHECK(rpc_allow_permits(a, 3, "fd00::7"));
	CHECK(!rpc_allow_permits(a, 3, "fd00::8"));
	CHECK(rpc_allow_permits(a, 3, "127.0.0.2"));
	CHECK(!rpc_allow_permits(a, 3, "127.0.0.3"));
	CHECK(!rpc_allow_permits(a, 3, "192.0.2.7")); /* an IPv4 address never matches an IPv6 entry */

	CHECK_EQ_INT(rpc_allow_parse("0.0.0.0/0", &a[0], err, sizeof(err)), 0); /* every IPv4 client */
	CHECK(rpc_allow_permits(a, 1, "203.0.113.9"));
	CHECK(!rpc_allow_permits(a, 1, "2001:db8::1"));
	CHECK_EQ_INT(rpc_allow_parse("::/0", &a[0], err, sizeof(err)), 0);
	CHECK(rpc_allow_permits(a, 1, "2001:db8::1"));

	/* an IPv4-mapped entry is its IPv4 one, its prefix counted from 128 */
	CHECK_EQ_INT(rpc_allow_parse("::ffff:192.0.2.0/120", &a[0], err, sizeof(err)), 0);
	CHECK(a[0].family == AF_INET && a[0].bits == 24);
	CHECK(rpc_allow_permits(a, 1, "192.0.2.99"));
	CHECK(rpc_allow_parse("::ffff:192.0.2.0/24", &a[0], err, sizeof(err)) == ASSAY_EARG);

	static const char *const bad[] = {"", "/", "192.0.2.7/", "192.0.2.7/33", "2001:db8::/129",
					  "192.0.2.0/255.0.255.0", "2001:db8::/ffff::", "192.0.2.7/-1",
					  "192.0.2.7/+8", "192.0.2.7/8/8", "192.0.2", "example.com",
					  "*", "192.0.2.7 ", "192.0.2.0/0024"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK(rpc_allow_parse(bad[i], &a[0], err, sizeof(err)) == ASSAY_EARG);
		CHECK(strstr(err, "invalid -rpcallowip=") != NULL);
	}

	CHECK(rpc_allow_parse("127.0.0.0/8", &a[0], err, sizeof(err)) == 0 && rpc_allow_is_loopback(&a[0]));
	CHECK(rpc_allow_parse("127.0.0.2", &a[0], err, sizeof(err)) == 0 && rpc_allow_is_loopback(&a[0]));
	CHECK(rpc_allow_parse("::1", &a[0], err, sizeof(err)) == 0 && rpc_allow_is_loopback(&a[0]));
	CHECK(rpc_allow_parse("126.0.0.0/7", &a[0], err, sizeof(err)) == 0 && !rpc_allow_is_loopback(&a[0]));
	CHECK(rpc_allow_parse("192.0.2.7", &a[0], err, sizeof(err)) == 0 && !rpc_allow_is_loopback(&a[0]));
	CHECK(rpc_allow_parse("::/0", &a[0], err, sizeof(err)) == 0 && !rpc_allow_is_loopback(&a[0]));
	CHECK(rpc_bind_is_loopback("127.0.0.1") && rpc_bind_is_loopback("127.0.0.2"));
	CHECK(rpc_bind_is_loopback("::1") && rpc_bind_is_loopback("localhost"));
	CHECK(!rpc_bind_is_loopback("0.0.0.0") && !rpc_bind_is_loopback("::"));
	CHECK(!rpc_bind_is_loopback("192.0.2.7"));
}

int main(void)
{
	RUN(test_synopsis_params);
	RUN(test_head_complete);
	RUN(test_head_partial_and_lf);
	RUN(test_head_body_forms);
	RUN(test_head_in_pieces);
	RUN(test_head_in_pieces_long);
	RUN(test_utf8_prefix);
	RUN(test_utf8_sanitize);
	RUN(test_json_scan_plain_bodies);
	RUN(test_json_scan_declines);
	RUN(test_json_scan_mutations);
	RUN(test_json_duplicate_keys);
	RUN(test_auth_guard);
	RUN(test_allow);
	return test_report("rpc");
}
