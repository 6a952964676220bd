/* Benchmark: a flood of signed transfers into one node's mempool over RPC,
 * from C client connections at once (default 4), as sendrawtransactions
 * batches of B (default 100) or one sendrawtransaction per request
 * (-batch=1), beside the bare 1-core libsodium verify rate measured right
 * before and after each run. In process: the node's RPC server and
 * admission on one event thread, as in assayd, the clients on their own
 * threads over loopback TCP; no blocks are made. Besides the rates it
 * prints where the CPU went (the event thread's per transfer, the
 * clients' share) and the CPU a transfer costs against a bare verify,
 * which bounds the rate when every CPU is the flood's. Prints; never fails.
 * Usage: bench_rpc [-dir=PATH] [-port=N] [-conns=C] [-batch=B] [-rounds=N] [transfers] */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/log.h"
#include "bench/bench_util.h"
#include "node/node.h"
#include "node/sigcache.h"
#include "node/txaccept.h"

#define SENDERS 1000
#define REF_VERIFIES 6000
#define MAX_CONNS 64
#define MAX_ROUNDS 15
#define AUTH "YmVuY2g6YmVuY2hwdw==" /* base64("bench:benchpw") */

static struct bench_keys keys;

static double sodium_verify_rate(void)
{
	return bench_verify_rate(&keys, 0, REF_VERIFIES);
}

/* The bare verify rate of nthreads threads at once (bench_util.h). */
static double sodium_verify_rate_all(int nthreads)
{
	return bench_verify_rate_all(&keys, nthreads, REF_VERIFIES);
}

/* One client: its requests, HTTP head and body each, prepared before the
 * clock starts, so that the client's own work is one write and one read
 * per request. */
struct client {
	int port;
	char **bodies;    /* whole requests */
	size_t *lens;
	size_t nbodies;
	size_t errors;    /* "error" objects in the replies */
	int failed;       /* the connection broke */
	double cpu;       /* CPU seconds of this client's thread */
};

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double clock_cpu(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one HTTP reply into buf (grown); its body's offset in *body. */
static int read_reply(int fd, char **buf, size_t *cap, size_t *body, size_t *blen)
{
	size_t have = 0;
	for (;;) {
		if (have + 1 >= *cap) {
			*cap *= 2;
			*buf = realloc(*buf, *cap);
			if (!*buf)
				return -1;
		}
		ssize_t r = read(fd, *buf + have, *cap - have - 1);
		if (r <= 0)
			return -1;
		have += (size_t)r;
		(*buf)[have] = 0;
		char *end = strstr(*buf, "\r\n\r\n");
		if (!end)
			continue;
		char *cl = strcasestr(*buf, "Content-Length:");
		if (!cl || cl > end)
			return -1;
		*blen = strtoul(cl + 15, NULL, 10);
		*body = (size_t)(end + 4 - *buf);
		if (have >= *body + *blen)
			return 0;
	}
}

static void *client_run(void *arg)
{
	struct client *c = arg;
	double cpu0 = thread_cpu();
	pthread_setname_np(pthread_self(), "bench-client");
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		c->failed = 1;
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 16, body, blen;
	char *buf = malloc(cap);
	for (size_t i = 0; i < c->nbodies && !c->failed; i++) {
		if (write_all(fd, c->bodies[i], c->lens[i]) || read_reply(fd, &buf, &cap, &body, &blen)) {
			c->failed = 1;
			break;
		}
		for (char *p = buf + body; (p = strstr(p, "\"error\":{")) != NULL; p++)
			c->errors++;
	}
	free(buf);
	close(fd);
	c->cpu = thread_cpu() - cpu0;
	return NULL;
}

/* Stops the event loop from another thread: a byte down a pipe. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *loop_run(void *arg)
{
	pthread_setname_np(pthread_self(), "bench-loop"); /* the node's event thread */
	event_base_dispatch(arg);
	return NULL;
}

/* The transfers, hex-encoded, client c's senders being those with
 * index % conns == c, each sender's in nonce order. */
static char **make_hex(const struct genesis *g, size_t n)
{
	char **hex = calloc(n, sizeof(*hex));
	uint64_t *nonce = calloc(SENDERS, sizeof(*nonce));
	for (size_t i = 0; i < n; i++) {
		int s = (int)(i % SENDERS);
		struct transfer_payload tp;
		struct tx t;
		struct buf b;
		memset(&t, 0, sizeof(t));
		memcpy(tp.to, keys.addr[(s + 1) % SENDERS], ADDR_LEN);
		tp.amount = 1;
		buf_init(&b);
		transfer_encode(&tp, &b);
		memcpy(t.chain_id, g->hash, HASH_LEN);
		t.nonce = nonce[s]++;
		memcpy(t.sender, keys.pk[s], PUBKEY_LEN);
		t.fee = 1000;
		tx_set_payload(&t, b.data, b.len);
		tx_sign(&t, keys.sk[s]);
		buf_reset(&b);
		tx_encode(&t, &b);
		hex[i] = malloc(2 * b.len + 1);
		hex_encode(b.data, b.len, hex[i]);
		buf_free(&b);
		tx_free(&t);
	}
	free(nonce);
	return hex;
}

/* Request bodies for client c: batches of `batch` (1: the single form). */
static void make_bodies(struct client *c, char **hex, size_t n, int conns, int ci, size_t batch)
{
	size_t mine = 0;
	for (size_t i = 0; i < n; i++)
		mine += (int)(i % SENDERS) % conns == ci;
	c->nbodies = (mine + batch - 1) / batch;
	c->bodies = calloc(c->nbodies ? c->nbodies : 1, sizeof(*c->bodies));
	c->lens = calloc(c->nbodies ? c->nbodies : 1, sizeof(*c->lens));
	size_t k = 0, in_body = 0;
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i <= n; i++) {
		int last = i == n;
		if (!last && (int)(i % SENDERS) % conns != ci)
			continue;
		if (in_body && (last || in_body == batch)) {
			buf_put(&b, batch == 1 ? "]}" : "]]}", batch == 1 ? 2 : 3);
			char head[256];
			int hl = snprintf(head, sizeof(head),
					  "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " AUTH
					  "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
					  b.len);
			char *req = malloc((size_t)hl + b.len + 1);
			memcpy(req, head, (size_t)hl);
			memcpy(req + hl, b.data, b.len);
			req[(size_t)hl + b.len] = 0;
			c->lens[k] = (size_t)hl + b.len;
			c->bodies[k++] = req;
			buf_reset(&b);
			in_body = 0;
		}
		if (last)
			break;
		if (!in_body) {
			const char *open = batch == 1 ? "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
							"\"sendrawtransaction\",\"params\":["
						      : "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
							"\"sendrawtransactions\",\"params\":[[";
			buf_put(&b, open, strlen(open));
		} else {
			buf_put_u8(&b, ',');
		}
		buf_put_u8(&b, '"');
		buf_put(&b, hex[i], strlen(hex[i]));
		buf_put_u8(&b, '"');
		in_body++;
	}
	buf_free(&b);
	c->nbodies = k;
}

/* CPU seconds this process has used, all threads. */
static double process_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* One flood into a fresh node; *cpus: the CPUs it kept busy on average
 * (process CPU time over wall time: under nproc when the machine is shared
 * or the node leaves CPUs idle); transfers admitted per second, or -1. */
/* Where a flood's CPU went, in CPUs (CPU seconds over wall seconds). */
struct cpu_split {
	double all;    /* the process */
	double loop;   /* the node's event thread */
	double client; /* the client threads together */
};

static double flood(const struct genesis *g, char **hex, size_t n, int port, int conns, size_t batch,
		    int use_pool, size_t *errors, struct cpu_split *cpus)
{
	char dir[BENCH_DIR_LEN], err[256];
	struct node nd;
	memset(&nd, 0, sizeof(nd));
	nd.genesis = *g;
	nd.chain = bench_open_fresh(g, dir);
	nd.mempool = mempool_new(nd.chain, n + 1, 1u << 30);
	uint8_t salt[SIGCACHE_SALT_LEN] = {7};
	nd.sigcache = sigcache_new(SIGCACHE_DEFAULT_ENTRIES, salt);
	nd.base = event_base_new();
	nd.rpc = rpc_new(nd.base, "127.0.0.1", port, "bench", "benchpw", NULL, err, sizeof(err));
	if (!nd.rpc) {
		fprintf(stderr, "bench_rpc: %s (choose another with -port=N)\n", err);
		exit(1);
	}
	rpc_set_max_connections(nd.rpc, MAX_CONNS + 1);
	if (use_pool && txaccept_start(&nd, 0, err, sizeof(err)) < 0) { /* the verification pool, as assayd starts it */
		fprintf(stderr, "bench_rpc: %s\n", err);
		exit(1);
	}
	node_register_rpc(&nd);
	int pfd[2];
	if (pipe(pfd) != 0)
		abort();
	struct event *stop = event_new(nd.base, pfd[0], EV_READ, on_stop, nd.base);
	event_add(stop, NULL);
	struct client cl[MAX_CONNS];
	memset(cl, 0, sizeof(cl));
	for (int c = 0; c < conns; c++) {
		cl[c].port = port;
		make_bodies(&cl[c], hex, n, conns, c, batch);
	}
	pthread_t loop, tids[MAX_CONNS];
	pthread_create(&loop, NULL, loop_run, nd.base);
	clockid_t loop_clock;
	if (pthread_getcpuclockid(loop, &loop_clock) != 0)
		abort();
	double t0 = bench_now(), cpu0 = process_cpu(), loop0 = clock_cpu(loop_clock);
	for (int c = 0; c < conns; c++)
		pthread_create(&tids[c], NULL, client_run, &cl[c]);
	int failed = 0;
	*errors = 0;
	for (int c = 0; c < conns; c++) {
		pthread_join(tids[c], NULL);
		failed |= cl[c].failed;
		*errors += cl[c].errors;
	}
	double secs = bench_now() - t0;
	cpus->all = (process_cpu() - cpu0) / secs;
	cpus->loop = (clock_cpu(loop_clock) - loop0) / secs;
	cpus->client = 0;
	for (int c = 0; c < conns; c++)
		cpus->client += cl[c].cpu / secs;
	size_t pooled = mempool_size(nd.mempool);
	if (write(pfd[1], "x", 1) != 1)
		abort();
	pthread_join(loop, NULL);
	event_free(stop);
	close(pfd[0]);
	close(pfd[1]);
	for (int c = 0; c < conns; c++) {
		for (size_t i = 0; i < cl[c].nbodies; i++)
			free(cl[c].bodies[i]);
		free(cl[c].bodies);
		free(cl[c].lens);
	}
	txaccept_stop(&nd);
	rpc_free(nd.rpc);
	event_base_free(nd.base);
	mempool_free(nd.mempool);
	chain_close(nd.chain);
	sigcache_free(nd.sigcache);
	bench_remove_dir(dir);
	if (failed || pooled != n) {
		fprintf(stderr, "bench_rpc: %s; %zu of %zu pooled, %zu errors\n",
			failed ? "a connection broke" : "not all admitted", pooled, n, *errors);
		return -1;
	}
	return (double)n / secs;
}

int main(int argc, char **argv)
{
	size_t n = 20000, batch = 100;
	int port = 29480, conns = 4, rounds = 3, pool = 2; /* 2: both, paired */
	for (int i = 1; i < argc; i++) {
		if (bench_dir_arg(argv[i]))
			continue;
		if (strncmp(argv[i], "-port=", 6) == 0)
			port = atoi(argv[i] + 6);
		else if (strncmp(argv[i], "-conns=", 7) == 0)
			conns = atoi(argv[i] + 7);
		else if (strncmp(argv[i], "-batch=", 7) == 0)
			batch = strtoul(argv[i] + 7, NULL, 10);
		else if (strncmp(argv[i], "-rounds=", 8) == 0)
			rounds = atoi(argv[i] + 8);
		else if (strncmp(argv[i], "-pool=", 6) == 0)
			pool = atoi(argv[i] + 6);
		else
			n = strtoul(argv[i], NULL, 10);
	}
	if (port < 1 || port > 65535 - 2 * MAX_ROUNDS || pool < 0 || pool > 2 || conns < 1 || conns > MAX_CONNS || batch < 1 ||
	    batch > 1000 || rounds < 1 || rounds > MAX_ROUNDS || n < 1) {
		fprintf(stderr,
			"usage: bench_rpc [-dir=PATH] [-port=N] [-conns=1..%d] [-batch=1..1000] "
			"[-rounds=1..%d] [-pool=0|1|2] "
			"[transfers]\n",
			MAX_CONNS, MAX_ROUNDS);
		return 2;
	}
	struct genesis g;
	keys_init();
	log_set_level(LOG_WARN);
	bench_keys_make(&keys, SENDERS);
	bench_genesis(&g, &keys);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	printf("bench_rpc: %zu transfers over %d connections, %s of %zu, %ld CPUs, ports from %d, under %s\n",
	       n, conns, batch == 1 ? "sendrawtransaction" : "sendrawtransactions batches", batch, ncpu, port,
	       bench_base_dir());
	char **hex = make_hex(&g, n);
	/* mode 0: checked while each call waits (no pool); 1: the pool with
	 * deferred replies (assayd); pool=2 runs both in every round, back to
	 * back, so that their ratio is paired. */
	static const char *const mode_name[2] = {"calls wait (no pool)", "verification pool, deferred"};
	double ratio[2][MAX_ROUNDS], rate[2][MAX_ROUNDS], of_all[2][MAX_ROUNDS], paired[MAX_ROUNDS];
	double loop_us[2][MAX_ROUNDS], client_share[2][MAX_ROUNDS], ceiling[2][MAX_ROUNDS];
	int ok[2] = {0, 0}, npaired = 0;
	double allr[MAX_ROUNDS];
	for (int r = 0; r < rounds; r++) {
		double got[2] = {-1, -1};
		allr[r] = sodium_verify_rate_all((int)ncpu);
		printf("  round %d: bare verify on %ld threads at once %.0f/s (%.2fx the 1-core rate)\n", r + 1, ncpu,
		       allr[r], allr[r] / sodium_verify_rate());
		for (int mode = 0; mode < 2; mode++) {
			if (pool != 2 && pool != mode)
				continue;
			size_t errors;
			struct cpu_split cpus;
			double before = sodium_verify_rate();
			double v = flood(&g, hex, n, port + 2 * r + mode, conns, batch, mode, &errors, &cpus);
			double after = sodium_verify_rate(), ref = (before + after) / 2;
			if (v < 0)
				continue;
			got[mode] = v;
			rate[mode][ok[mode]] = v;
			of_all[mode][ok[mode]] = v / allr[r];
			ratio[mode][ok[mode]++] = v / (ref * (double)ncpu);
			loop_us[mode][ok[mode] - 1] = 1e6 * cpus.loop / v;
			/* with every CPU the process's alone, the rate is nproc CPUs
			 * over the CPU a transfer costs: this much of nproc x verify */
			ceiling[mode][ok[mode] - 1] = (v / cpus.all) / ref;
			client_share[mode][ok[mode] - 1] = cpus.client / cpus.all;
			printf("    %-30s %8.0f tx/s admitted  verify before %.0f/s after %.0f/s  = %.2fx 1-core "
			       "verify, %.2fx nproc x verify, %.2f CPUs busy\n"
			       "      %-28s event thread %.2f CPUs = %.1f us/tx (alone it would carry %.0f tx/s), "
			       "clients %.2f CPUs = %.0f%% of the process, the rest (pool, main) %.1f us/tx; 1-core "
			       "verify %.1f us; all %.1f us/tx: with the CPUs free %.2fx nproc x verify\n",
			       mode_name[mode], v, before, after, v / ref, v / (ref * (double)ncpu), cpus.all, "",
			       cpus.loop, 1e6 * cpus.loop / v, v / cpus.loop, cpus.client,
			       100 * cpus.client / cpus.all, 1e6 * (cpus.all - cpus.loop - cpus.client) / v, 1e6 / ref,
			       1e6 * cpus.all / v, (v / cpus.all) / ref);
		}
		if (got[0] > 0 && got[1] > 0)
			paired[npaired++] = got[1] / got[0];
	}
	for (int mode = 0; mode < 2; mode++) {
		if (!ok[mode])
			continue;
		double lo, hi, rlo, rhi;
		double mr = bench_median(ratio[mode], (size_t)ok[mode], &lo, &hi),
		       mv = bench_median(rate[mode], (size_t)ok[mode], &rlo, &rhi);
		double alo, ahi, ma = bench_median(of_all[mode], (size_t)ok[mode], &alo, &ahi);
		printf("summary, %s, median of %d: %.0f tx/s [%.0f, %.0f] = %.2fx [%.2f, %.2f] of %ld x the "
		       "1-core verify rate, %.2fx [%.2f, %.2f] of the %ld-thread bare rate of its round\n",
		       mode_name[mode], ok[mode], mv, rlo, rhi, mr, lo, hi, ncpu, ma, alo, ahi, ncpu);
		double llo, lhi, ml = bench_median(loop_us[mode], (size_t)ok[mode], &llo, &lhi);
		double clo, chi, mc = bench_median(client_share[mode], (size_t)ok[mode], &clo, &chi);
		double elo, ehi, me = bench_median(ceiling[mode], (size_t)ok[mode], &elo, &ehi);
		printf("summary, %s, event thread per transfer: %.1f us [%.1f, %.1f]; clients' share of the "
		       "process's CPU: %.1f%% [%.1f, %.1f]; with the CPUs free (1-core verify time over CPU per "
		       "transfer): %.2fx [%.2f, %.2f] of nproc x verify\n",
		       mode_name[mode], ml, llo, lhi, 100 * mc, 100 * clo, 100 * chi, me, elo, ehi);
	}
	if (rounds) {
		double lo, hi, m = bench_median(allr, (size_t)rounds, &lo, &hi);
		printf("summary, bare verify on %ld threads at once, median of %d: %.0f/s [%.0f, %.0f]\n", ncpu, rounds,
		       m, lo, hi);
	}
	if (npaired) {
		double lo, hi, m = bench_median(paired, (size_t)npaired, &lo, &hi);
		printf("summary, pool / waiting in the same round, median of %d: %.2fx [%.2f, %.2f]\n", npaired, m, lo,
		       hi);
	}
	for (size_t i = 0; i < n; i++)
		free(hex[i]);
	free(hex);
	genesis_free(&g);
	return 0;
}
