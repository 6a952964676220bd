/* Unit tests of the clients' HTTP and chain-parameter code: rpc_client_call
 * and rpc_client_get against a real evhttp server on loopback (in a thread),
 * covering chunked and plain replies, auth failure, oversized bodies and
 * headers, a server that never answers (timeout), a non-HTTP peer and a
 * closed port; then client_chain_parse, txbuild_default_fee,
 * client_job_parse, client_job_sealed_check and client_blob_parse. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "consensus/compute/compute_codec.h"
#include "core/buf.h"
#include "core/error.h"
#include "tests/unit/test.h"
#include "wallet/client_app.h"
#include "wallet/client_chain.h"
#include "wallet/client_opts.h"
#include "wallet/rpc_client.h"
#include "wallet/txbuild.h"

static struct {
	struct event_base *base;
	struct evhttp *http;
	unsigned port;
	int silent_fd;  /* accepts and never answers */
	unsigned silent_port;
	int garbage_fd; /* answers with non-HTTP bytes */
	unsigned garbage_port;
	int drip_fd;    /* answers one body byte every 50 ms */
	unsigned drip_port;
} srv;

static void reply_text(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, code, "x", b);
	evbuffer_free(b);
}

/* POST /: a JSON-RPC node with one method, "echo", and Basic auth u:p.
 * GET /big/N: N bytes of 'a'; GET /chunked: three chunks; else 404. */
static void on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	const char *uri = evhttp_request_get_uri(req);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		if (strncmp(uri, "/big/", 5) == 0) {
			size_t n = strtoul(uri + 5, NULL, 10);
			char *s = malloc(n + 1);
			memset(s, 'a', n);
			s[n] = 0;
			reply_text(req, 200, s);
			free(s);
		} else if (strcmp(uri, "/bighdr") == 0) {
			char *v = malloc(RPC_CLIENT_HEADERS_MAX + 2);
			memset(v, 'b', RPC_CLIENT_HEADERS_MAX + 1);
			v[RPC_CLIENT_HEADERS_MAX + 1] = 0;
			evhttp_add_header(evhttp_request_get_output_headers(req), "X-Big", v);
			free(v);
			reply_text(req, 200, "x");
		} else if (strcmp(uri, "/chunked") == 0) {
			evhttp_send_reply_start(req, 200, "OK");
			for (int i = 0; i < 3; i++) {
				struct evbuffer *b = evbuffer_new();
				evbuffer_add_printf(b, "part%d;", i);
				evhttp_send_reply_chunk(req, b);
				evbuffer_free(b);
			}
			evhttp_send_reply_end(req);
		} else {
			reply_text(req, 404, "no");
		}
		return;
	}
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!auth || strcmp(auth, "Basic dTpw") != 0) { /* base64("u:p") */
		reply_text(req, 401, "");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *body = malloc(n + 1);
	evbuffer_remove(in, body, n);
	body[n] = 0;
	json_t *call = json_loads(body, 0, NULL);
	free(body);
	const char *method = json_string_value(json_object_get(call, "method"));
	json_t *reply;
	if (method && strcmp(method, "echo") == 0)
		reply = json_pack("{s:O,s:n,s:i}", "result", json_object_get(call, "params"), "error", "id", 1);
	else if (method && strcmp(method, "waitfornewblock") == 0) /* the block after AFTER_HEIGHT */
		reply = json_pack("{s:{s:s,s:I},s:n,s:i}", "result", "hash", "00",
				  "height", json_integer_value(json_array_get(json_object_get(call, "params"), 1)) + 1,
				  "error", "id", 1);
	else
		reply = json_pack("{s:n,s:{s:i,s:s},s:i}", "result", "error", "code", -32601, "message",
				  "Method not found", "id", 1);
	char *text = json_dumps(reply, JSON_COMPACT);
	reply_text(req, method && (strcmp(method, "echo") == 0 || strcmp(method, "waitfornewblock") == 0) ? 200 : 404, text);
	free(text);
	json_decref(reply);
	json_decref(call);
}

static int listen_raw(unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static void *garbage_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(srv.garbage_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		char buf[4096];
		if (recv(fd, buf, sizeof(buf), 0) > 0) {
			const char *ssh = "SSH-2.0-OpenSSH_9.0\r\n\r\n";
			if (send(fd, ssh, strlen(ssh), MSG_NOSIGNAL) < 0)
				buf[0] = 0;
		}
		close(fd);
	}
}

static void *drip_main(void *arg)
{
	(void)arg;
	int fd = accept(srv.drip_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	char buf[4096];
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	if (recv(fd, buf, sizeof(buf), 0) > 0 && send(fd, head, strlen(head), MSG_NOSIGNAL) > 0) {
		struct timespec nap = {0, 50000000L};
		for (int i = 0; i < 100 && send(fd, "x", 1, MSG_NOSIGNAL) == 1; i++)
			nanosleep(&nap, NULL);
	}
	close(fd);
	return NULL;
}

static void *server_main(void *arg)
{
	(void)arg;
	event_base_dispatch(srv.base);
	return NULL;
}

static void test_against_evhttp(void)
{
	pthread_t th, gth;
	srv.base = event_base_new();
	srv.http = evhttp_new(srv.base);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
	CHECK(bs != NULL);
	if (!bs)
		return;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
	srv.port = ntohs(sa.sin_port);
	evhttp_set_gencb(srv.http, on_request, NULL);
	srv.silent_fd = listen_raw(&srv.silent_port);
	srv.garbage_fd = listen_raw(&srv.garbage_port);
	CHECK(srv.silent_fd >= 0 && srv.garbage_fd >= 0);
	pthread_create(&th, NULL, server_main, NULL);
	pthread_create(&gth, NULL, garbage_main, NULL);

	struct rpc_endpoint ep = {.host = "127.0.0.1", .port = srv.port, .auth = "u:p"};
	struct rpc_failure f;
	json_t *r, *params = json_pack("[s,i]", "hi", 7);
	CHECK(rpc_client_call(&ep, "echo", params, &r, &f) == 0);
	CHECK(json_equal(r, params));
	json_decref(r);
	CHECK(rpc_client_call(&ep, "nosuch", NULL, &r, &f) == ASSAY_EINVALID && f.code == -32601 && !r);
	CHECK(strcmp(f.message, "Method not found") == 0);
	/* the long poll: the height of the block after the one given; a node
	 * without the method is ASSAY_EINVALID, so the caller polls */
	long long height = 0;
	CHECK(rpc_client_wait_block(&ep, 100, 41, &height, &f) == 0 && height == 42);
	snprintf(ep.auth, sizeof(ep.auth), "u:wrong");
	CHECK(rpc_client_wait_block(&ep, 100, 41, &height, &f) == ASSAY_EAUTH);
	CHECK(rpc_client_call(&ep, "echo", params, &r, &f) == ASSAY_EAUTH && f.code == 401);
	json_decref(params);

	/* bounded GET: exact size, one byte over, chunked, 404 */
	uint8_t *body;
	size_t len;
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/big/100000", 100000, &body, &len, &f) == 0);
	CHECK(len == 100000 && body[0] == 'a' && body[len - 1] == 'a');
	free(body);
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/big/100001", 100000, &body, &len, &f) == ASSAY_ELIMIT);
	CHECK(body == NULL && len == 0);
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/chunked", 1000, &body, &len, &f) == 0);
	CHECK(len == 18 && memcmp(body, "part0;part1;part2;", 18) == 0);
	free(body);
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/chunked", 10, &body, &len, &f) == ASSAY_ELIMIT);
	/* evhttp reports headers over the limit as malformed */
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/bighdr", 1000, &body, &len, &f) == ASSAY_EDECODE);
	CHECK(strstr(f.message, "headers") != NULL);
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/missing", 1000, &body, &len, &f) == ASSAY_ENOTFOUND);
	CHECK(f.code == 404);
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/a b", 1000, &body, &len, &f) == ASSAY_EARG);
	CHECK(rpc_client_get("127.0.0.1", srv.port, "/a\r\nX: y", 1000, &body, &len, &f) == ASSAY_EARG);

	/* a peer that is not HTTP, one that never answers, and nobody at all */
	CHECK(rpc_client_get("127.0.0.1", srv.garbage_port, "/", 1000, &body, &len, &f) == ASSAY_EDECODE);
	struct rpc_endpoint slow = {.host = "127.0.0.1", .port = srv.silent_port, .timeout_ms = 300};
	CHECK(rpc_client_call(&slow, "echo", NULL, &r, &f) == ASSAY_EIO);
	CHECK(strstr(f.message, "timed out") != NULL);
	/* a peer that trickles a byte at a time never resets the whole-exchange
	 * deadline: the call ends at about timeout_ms, not at the 5 s of bytes */
	pthread_t dth;
	srv.drip_fd = listen_raw(&srv.drip_port);
	CHECK(srv.drip_fd >= 0);
	pthread_create(&dth, NULL, drip_main, NULL);
	struct rpc_endpoint drip = {.host = "127.0.0.1", .port = srv.drip_port, .timeout_ms = 300};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(rpc_client_call(&drip, "echo", NULL, &r, &f) == ASSAY_EIO && strstr(f.message, "timed out"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 3);
	pthread_join(dth, NULL);
	close(srv.drip_fd);
	close(srv.silent_fd);
	struct rpc_endpoint gone = {.host = "127.0.0.1", .port = srv.silent_port};
	CHECK(rpc_client_call(&gone, "echo", NULL, &r, &f) == ASSAY_EIO);

	shutdown(srv.garbage_fd, SHUT_RDWR);
	close(srv.garbage_fd);
	pthread_join(gth, NULL);
	event_base_loopbreak(srv.base);
	/* the loop notices the break on its next event: poke it with one call */
	struct rpc_endpoint poke = {.host = "127.0.0.1", .port = srv.port, .auth = "u:p", .timeout_ms = 500};
	rpc_client_call(&poke, "echo", NULL, &r, &f);
	json_decref(r);
	pthread_join(th, NULL);
	evhttp_free(srv.http);
	event_base_free(srv.base);
}

/* Which -rpcconnect may be handed the datadir's cookie: this machine, by
 * address or the name localhost, and nothing that needs resolving. */
static void test_host_is_loopback(void)
{
	static const char *const yes[] = {"127.0.0.1", "127.0.0.2",       "127.255.255.254", "127.1.2.3",
					  "localhost", "LocalHost",       "localhost.",      "::1",
					  "[::1]",     "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"};
	static const char *const no[] = {"10.1.2.3",
					 "128.0.0.1",
					 "126.255.255.255",
					 "0.0.0.0",
					 "127.1",
					 "0x7f.0.0.1",
					 "127.0.0.1.example.com",
					 "localhost.example.com",
					 "evil-localhost",
					 "example.com",
					 "::",
					 "::2",
					 "[::1",
					 "::ffff:10.0.0.1",
					 "fe80::1",
					 "",
					 " 127.0.0.1"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!rpc_client_host_is_loopback(yes[i])) {
			fprintf(stderr, "  not loopback: '%s'\n", yes[i]);
			CHECK(0);
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (rpc_client_host_is_loopback(no[i])) {
			fprintf(stderr, "  loopback: '%s'\n", no[i]);
			CHECK(0);
		}
}

/* assay-worker's and assay-faucet's connection: the datadir's cookie only
 * to a loopback node, credentials to any. */
static void test_client_cookie_only_to_loopback(void)
{
	char dir[] = "/tmp/assay-test-client-XXXXXX", path[64];
	struct client_app_conn conn;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/.cookie", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("__cookie__:local\n", f);
		fclose(f);
	}
	CHECK(client_app_connect(&conn, "127.0.0.2", 1, "", "", "", dir) == 0);
	CHECK(strcmp(conn.ep.auth, "__cookie__:local") == 0 && !conn.cookie_withheld);
	memset(&conn, 0, sizeof(conn));
	CHECK(client_app_connect(&conn, "10.1.2.3", 1, "", "", "", dir) == -1);
	CHECK(conn.ep.auth[0] == 0 && conn.cookie_withheld);
	CHECK(client_app_read_cookie(&conn) == -1 && conn.ep.auth[0] == 0); /* the retry after a 401 too */
	CHECK(client_app_connect(&conn, "10.1.2.3", 1, "u", "p", "", dir) == 0);
	CHECK(strcmp(conn.ep.auth, "u:p") == 0);
	/* a password alone (ASSAY_RPCPASSWORD, no -rpcuser) is sent, as assay-cli
	 * sends it, not dropped for the cookie */
	memset(&conn, 0, sizeof(conn));
	CHECK(client_app_connect(&conn, "10.1.2.3", 1, "", "p", "", dir) == 0);
	CHECK(strcmp(conn.ep.auth, ":p") == 0 && !conn.cookie_withheld);
	/* -rpccookiefile names a cookie sent to any host, read again on a 401;
	 * one that cannot be read is said (-1) */
	char named[80];
	snprintf(named, sizeof(named), "%s/remote.cookie", dir);
	f = fopen(named, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("__cookie__:remote\n", f);
		fclose(f);
	}
	memset(&conn, 0, sizeof(conn));
	CHECK(client_app_connect(&conn, "10.1.2.3", 1, "", "", named, dir) == 0);
	CHECK(strcmp(conn.ep.auth, "__cookie__:remote") == 0 && !conn.cookie_withheld);
	f = fopen(named, "w");
	if (f) {
		fputs("__cookie__:restarted\n", f);
		fclose(f);
	}
	CHECK(client_app_read_cookie(&conn) == 0 && strcmp(conn.ep.auth, "__cookie__:restarted") == 0);
	unlink(named);
	memset(&conn, 0, sizeof(conn));
	CHECK(client_app_connect(&conn, "10.1.2.3", 1, "", "", named, dir) == -1);
	CHECK(conn.cookie_named && !conn.cookie_withheld && conn.ep.auth[0] == 0);
	unlink(path);
	rmdir(dir);
}

/* -rpccookiefile is one of the clients' shared flags. */
static void test_client_rpccookiefile_flag(void)
{
	static const struct option table[] = {CLIENT_OPTS_LONG, {NULL, 0, NULL, 0}};
	struct client_opts o;
	char *argv[] = {"prog", "-rpccookiefile=/some/where/.cookie", NULL};
	client_opts_init(&o, "127.0.0.1:1");
	optind = 0;
	CHECK(client_opts_parse(&o, 2, argv, table, NULL, NULL) == 0);
	CHECK(strcmp(o.rpccookiefile, "/some/where/.cookie") == 0);
}

/* Their RPC password from ASSAY_RPCPASSWORD when no flag gives one: it
 * then beats the file's, as a flag does. */
static void test_client_rpcpassword_env(void)
{
	static const struct option table[] = {CLIENT_OPTS_LONG, {NULL, 0, NULL, 0}};
	struct client_opts o;
	char *argv[] = {"prog", "-rpcuser=u", NULL};
	setenv(CLIENT_RPCPASSWORD_ENV, "fromenv", 1);
	client_opts_init(&o, "127.0.0.1:1");
	optind = 0;
	CHECK(client_opts_parse(&o, 2, argv, table, NULL, NULL) == 0);
	CHECK(strcmp(o.rpcpassword, "fromenv") == 0 && (o.given & CLIENT_SET_RPCPASSWORD));
	char err[128];
	CHECK(client_opts_node_entry(&o, "rpcpassword", "fromfile", err, sizeof(err)) == 0);
	CHECK(strcmp(o.rpcpassword, "fromenv") == 0);
	char *argv2[] = {"prog", "-rpcpassword=flag", NULL};
	client_opts_init(&o, "127.0.0.1:1");
	optind = 0;
	CHECK(client_opts_parse(&o, 2, argv2, table, NULL, NULL) == 0);
	CHECK(strcmp(o.rpcpassword, "flag") == 0);
	unsetenv(CLIENT_RPCPASSWORD_ENV);
}

static void test_chain_parse(void)
{
	const char *good = "{\"chain\":\"assay-test\",\"network\":\"testnet\",\"hrp\":\"tassay\",\"chain_id\":"
			   "\"1111111111111111111111111111111111111111111111111111111111111111\","
			   "\"block_time_ms\":2000,\"max_block_txs\":5000,\"max_block_bytes\":4194304,"
			   "\"max_tx_bytes\":1048576,\"max_block_gas\":100000000,\"min_fee\":5000,"
			   "\"gas_price\":7,\"max_future_ms\":15000}";
	json_t *j = json_loads(good, 0, NULL);
	struct client_chain c;
	char err[256];
	CHECK(client_chain_parse(j, &c, err, sizeof(err)) == 0);
	CHECK(c.network && strcmp(c.network->name, "testnet") == 0);
	CHECK(c.chain_id[0] == 0x11 && c.chain_id[31] == 0x11);
	CHECK(c.params.min_fee == 5000 && c.params.gas_price == 7 && c.params.block_time_ms == 2000);
	CHECK(c.params.max_block_txs == 5000 && c.params.max_tx_bytes == 1048576);
	uint64_t fee;
	CHECK(txbuild_default_fee(&c.params, 0, &fee) == 0 && fee == TXBUILD_DEFAULT_FEE);
	CHECK(txbuild_default_fee(&c.params, 10, &fee) == 0 && fee == TXBUILD_DEFAULT_FEE + 70);
	c.params.min_fee = 300000;
	CHECK(txbuild_default_fee(&c.params, 10, &fee) == 0 && fee == 300070);
	CHECK(txbuild_default_fee(&c.params, UINT64_MAX / 2, &fee) == ASSAY_EOVERFLOW);
	/* a floor a hostile node names: not paid unasked (the clients refuse
	 * without --fee), though computed */
	c.params.min_fee = 900000000000000ull;
	CHECK(txbuild_default_fee(&c.params, 0, &fee) == ASSAY_ELIMIT && fee == 900000000000000ull);
	c.params.min_fee = TXBUILD_MAX_DEFAULT_FEE;
	CHECK(txbuild_default_fee(&c.params, 0, &fee) == 0 && fee == TXBUILD_MAX_DEFAULT_FEE);
	CHECK(txbuild_default_fee(&c.params, 1, &fee) == ASSAY_ELIMIT);
	c.params.min_fee = 300000;

	json_object_del(j, "gas_price");
	CHECK(client_chain_parse(j, &c, err, sizeof(err)) == ASSAY_EDECODE && strstr(err, "gas_price"));
	json_object_set_new(j, "gas_price", json_integer(-1));
	CHECK(client_chain_parse(j, &c, err, sizeof(err)) == ASSAY_EDECODE);
	json_object_set_new(j, "gas_price", json_integer(1));
	json_object_set_new(j, "max_block_txs", json_integer(1ll << 32));
	CHECK(client_chain_parse(j, &c, err, sizeof(err)) == ASSAY_EDECODE && strstr(err, "max_block_txs"));
	json_object_set_new(j, "max_block_txs", json_integer(9));
	CHECK(client_chain_parse(j, &c, err, sizeof(err)) == 0);
	json_object_set_new(j, "network", json_string("regtest"));
	CHECK(client_chain_parse(j, &c, err, sizeof(err)) == ASSAY_EDECODE && strstr(err, "regtest"));
	json_object_set_new(j, "network", json_string("dev"));
	json_object_set_new(j, "chain_id", json_string("11"));
	CHECK(client_chain_parse(j, &c, err, sizeof(err)) == ASSAY_EDECODE && strstr(err, "chain_id"));
	json_decref(j);
}

/* rec as a listjobs entry: {"record": hex}; a new reference. */
static json_t *job_entry(const struct job_record *rec)
{
	struct buf b;
	buf_init(&b);
	compute_job_encode(rec, &b);
	char *hex = malloc(2 * b.len + 1);
	hex_encode(b.data, b.len, hex);
	json_t *j = json_pack("{s:s}", "record", hex);
	free(hex);
	buf_free(&b);
	return j;
}

/* The record of a job the chain accepted parses; one whose shape no chain
 * accepts (a zero tile that a client would divide by, dimensions whose
 * output size wraps in 64 bits) or whose k is out of range does not, and
 * neither does hex that is not a record. */
static void test_job_parse(void)
{
	struct job_record rec, got;
	memset(&rec, 0, sizeof(rec));
	rec.spec.shape = (struct job_shape){.kind = JOB_MATMUL_I8, .m = 64, .n = 64, .k = 64, .tile_rows = 8,
					    .tile_cols = 8};
	rec.spec.input_kind = JOB_INPUT_SEED;
	rec.spec.samples = 66;
	rec.spec.redundancy = 2;
	rec.spec.reward = 1000;
	rec.id[0] = 0xab;
	char err[256];
	json_t *j = job_entry(&rec);
	CHECK_EQ_INT(client_job_parse(j, &got, err, sizeof(err)), 0);
	CHECK(got.id[0] == 0xab && got.spec.shape.m == 64 && got.spec.samples == 66 && got.spec.redundancy == 2);
	json_decref(j);

	struct job_record bad = rec;
	bad.spec.shape.tile_rows = 0;
	j = job_entry(&bad);
	CHECK_EQ_INT(client_job_parse(j, &got, err, sizeof(err)), ASSAY_EDECODE);
	CHECK(strstr(err, "tile shape") != NULL);
	json_decref(j);

	bad = rec;
	bad.spec.shape.m = bad.spec.shape.n = bad.spec.shape.tile_rows = bad.spec.shape.tile_cols = 1u << 31;
	j = job_entry(&bad);
	CHECK_EQ_INT(client_job_parse(j, &got, err, sizeof(err)), ASSAY_EDECODE);
	CHECK(strstr(err, "max_dim") != NULL);
	json_decref(j);

	bad = rec;
	bad.spec.shape.m = bad.spec.shape.n = KERNEL_MAX_K; /* 2^36 bytes of output */
	j = job_entry(&bad);
	CHECK_EQ_INT(client_job_parse(j, &got, err, sizeof(err)), ASSAY_EDECODE);
	CHECK(strstr(err, "max_output_bytes") != NULL);
	json_decref(j);

	for (unsigned k = 0; k <= JOB_MAX_SAMPLES + 1; k += JOB_MAX_SAMPLES + 1) {
		bad = rec;
		bad.spec.samples = k;
		j = job_entry(&bad);
		CHECK_EQ_INT(client_job_parse(j, &got, err, sizeof(err)), ASSAY_EDECODE);
		CHECK(strstr(err, "samples") != NULL);
		json_decref(j);
	}

	const char *not_records[] = {"", "0", "zz", "abcd"};
	for (size_t i = 0; i < sizeof(not_records) / sizeof(not_records[0]); i++) {
		j = json_pack("{s:s}", "record", not_records[i]);
		CHECK_EQ_INT(client_job_parse(j, &got, err, sizeof(err)), ASSAY_EDECODE);
		CHECK(strstr(err, "does not decode") != NULL);
		json_decref(j);
	}
	j = json_pack("{s:i}", "record", 5);
	CHECK_EQ_INT(client_job_parse(j, &got, err, sizeof(err)), ASSAY_EDECODE);
	json_decref(j);
}

/* A two-slot job submitted at 10 with d = 2, both slots drawn at 12,
 * committed at 14 and 15 (sealed at 15), read at tip 16. */
static void sealed_job(struct job_record *j)
{
	memset(j, 0, sizeof(*j));
	j->spec.redundancy = 2;
	j->submit_height = 10;
	j->deadline_height = 100;
	j->sealed_height = 15;
	for (unsigned i = 0; i < 2; i++) {
		j->slots[i].state = SLOT_COMMITTED;
		j->slots[i].assigned_height = 12;
		j->slots[i].commit_height = 14 + i;
		memset(j->slots[i].commitment, 0x30 + (int)i, HASH_LEN);
	}
}

/* What a client may believe of a sealed job (client_job_sealed_check): the
 * honest record at each stage passes, and each lie the rules exclude is
 * caught: a job not sealed, or sealed too early, in the future, with a slot
 * still to commit or committing after the seal, a challenge before c + d,
 * a verified slot with no root or a reveal before its challenge. */
static void test_sealed_check(void)
{
	struct job_record j, bad;
	char err[256];
	sealed_job(&j);
	CHECK_EQ_INT(client_job_sealed_check(&j, 2, 16, err, sizeof(err)), 0);
	CHECK_EQ_INT(client_job_sealed_check(&j, 0, 15, err, sizeof(err)), 0); /* d raised to 2 */

	bad = j;
	bad.sealed_height = 0;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
	CHECK(strstr(err, "not sealed") != NULL);
	bad = j; /* beyond the tip the node read it at */
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 14, err, sizeof(err)), ASSAY_EINVALID);
	bad = j; /* before any slot could have been drawn and committed */
	bad.sealed_height = bad.slots[1].commit_height = 12;
	bad.slots[0].commit_height = 12;
	bad.slots[0].assigned_height = bad.slots[1].assigned_height = 11;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
	CHECK(strstr(err, "submitted at 10") != NULL);
	bad = j; /* a larger d than the node says would refuse it, too */
	CHECK_EQ_INT(client_job_sealed_check(&bad, 5, 16, err, sizeof(err)), ASSAY_EINVALID);
	for (unsigned st = SLOT_EMPTY; st <= SLOT_ASSIGNED; st++) {
		bad = j; /* "sealed" with a slot that has not committed */
		bad.slots[1].state = (uint8_t)st;
		CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
		CHECK(strstr(err, "slot 1 is still") != NULL);
	}
	bad = j; /* a commit after the seal, or before the draw */
	bad.slots[0].commit_height = 16;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
	bad = j;
	bad.slots[0].commit_height = 12;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
	bad = j; /* sealed at 15, but no commit there */
	bad.slots[1].commit_height = 14;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
	bad = j; /* challenged or verified before any challenge */
	bad.slots[0].state = SLOT_VERIFIED;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
	CHECK(strstr(err, "no challenge is fixed") != NULL);
	/* sealed again after a redraw, with a slot failed for good before it:
	 * the chain's record (compute.md §1.2); the sealing commit must be the
	 * live slot's */
	struct job_record again = j;
	again.slots[0].state = SLOT_FAILED;
	again.slots[0].commit_height = 0;
	CHECK_EQ_INT(client_job_sealed_check(&again, 2, 16, err, sizeof(err)), 0);
	again.slots[1].commit_height = 14;
	CHECK_EQ_INT(client_job_sealed_check(&again, 2, 16, err, sizeof(err)), ASSAY_EINVALID);
	again.slots[1].state = SLOT_FAILED;
	CHECK_EQ_INT(client_job_sealed_check(&again, 2, 16, err, sizeof(err)), ASSAY_EINVALID);

	/* challenged at 17 = c + d, slot 0 verified at 18 */
	struct job_record ch = j;
	ch.challenge_height = 17;
	for (unsigned i = 0; i < 2; i++) {
		ch.slots[i].state = SLOT_CHALLENGED;
		ch.slots[i].challenge_height = 17;
	}
	ch.slots[0].state = SLOT_VERIFIED;
	ch.slots[0].reveal_height = 18;
	memset(ch.slots[0].root, 0x77, HASH_LEN);
	CHECK_EQ_INT(client_job_sealed_check(&ch, 2, 18, err, sizeof(err)), 0);
	bad = ch; /* a failed slot's heights are not judged */
	bad.slots[1].state = SLOT_FAILED;
	bad.slots[1].commit_height = 0;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 18, err, sizeof(err)), 0);
	bad = ch;
	bad.challenge_height = bad.slots[0].challenge_height = bad.slots[1].challenge_height = 16;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 18, err, sizeof(err)), ASSAY_EINVALID);
	bad = ch;
	bad.slots[1].challenge_height = 18;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 18, err, sizeof(err)), ASSAY_EINVALID);
	bad = ch; /* verified in the block that fixed the challenge */
	bad.slots[0].reveal_height = 17;
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 18, err, sizeof(err)), ASSAY_EINVALID);
	CHECK_EQ_INT(client_job_sealed_check(&ch, 2, 17, err, sizeof(err)), ASSAY_EINVALID); /* reveal past tip */
	bad = ch;
	memset(bad.slots[0].root, 0, HASH_LEN);
	CHECK_EQ_INT(client_job_sealed_check(&bad, 2, 18, err, sizeof(err)), ASSAY_EINVALID);
	CHECK(strstr(err, "no root") != NULL);
}

/* A blob parses only as the bytes its name is the hash of, at its length. */
static void test_blob_parse(void)
{
	const uint8_t bytes[4] = {1, 2, 3, 4};
	uint8_t name[HASH_LEN], *data;
	sha256(bytes, sizeof(bytes), name);
	char err[256];
	json_t *j = json_pack("{s:s}", "data", "01020304");
	CHECK_EQ_INT(client_blob_parse(j, name, 4, &data, err, sizeof(err)), 0);
	CHECK(data && memcmp(data, bytes, 4) == 0);
	free(data);
	CHECK_EQ_INT(client_blob_parse(j, name, 3, &data, err, sizeof(err)), ASSAY_EDECODE);
	CHECK(data == NULL && strstr(err, "not 3 bytes"));
	json_decref(j);
	const char *wrong[] = {"01020305", "0102030", "010203zz", "0102030405"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		j = json_pack("{s:s}", "data", wrong[i]);
		CHECK_EQ_INT(client_blob_parse(j, name, 4, &data, err, sizeof(err)), ASSAY_EDECODE);
		CHECK(data == NULL);
		json_decref(j);
	}
	j = json_pack("{s:s}", "data", "01020305");
	client_blob_parse(j, name, 4, &data, err, sizeof(err));
	CHECK(strstr(err, "does not match its hash") != NULL);
	json_decref(j);
	j = json_pack("{}");
	CHECK_EQ_INT(client_blob_parse(j, name, 4, &data, err, sizeof(err)), ASSAY_EDECODE);
	json_decref(j);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the programs do (rpc_client.h) */
	evthread_use_pthreads();
	RUN(test_against_evhttp);
	RUN(test_host_is_loopback);
	RUN(test_client_cookie_only_to_loopback);
	RUN(test_client_rpcpassword_env);
	RUN(test_client_rpccookiefile_flag);
	RUN(test_chain_parse);
	RUN(test_job_parse);
	RUN(test_sealed_check);
	RUN(test_blob_parse);
	return test_report("rpc_client");
}
