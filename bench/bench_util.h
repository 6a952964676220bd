/* Shared set-up for the chain benchmarks (bench_chain, bench_sync): a clock,
 * deterministic funded keys, a one-validator genesis over them, fresh
 * chains in directories under a working directory the caller may choose
 * (-dir=PATH); clocks and medians come from bench_stats.h. Header-only; not
 * for tests. */
#ifndef ASSAY_BENCH_UTIL_H
#define ASSAY_BENCH_UTIL_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_stats.h"
#include "core/keys.h"
#include "node/chain.h"
#include "node/genesis.h"

#define BENCH_FUNDS 1000000000000000ull /* per sender: 10^6 ASY */

struct bench_keys {
	size_t n;
	uint8_t (*pk)[PUBKEY_LEN];
	uint8_t (*sk)[SECKEY_LEN];
	uint8_t (*addr)[ADDR_LEN];
};

/* The bare libsodium verify rate on this thread (signatures per second)
 * with key k of keys: the reference every throughput figure is a ratio of. */
static inline double bench_verify_rate(const struct bench_keys *keys, size_t k, int verifies)
{
	uint8_t msg[32] = {1}, sig[SIG_LEN];
	sig_sign(keys->sk[k], msg, sizeof(msg), sig);
	double t0 = bench_now();
	for (int i = 0; i < verifies; i++)
		if (sig_verify(keys->pk[k], msg, sizeof(msg), sig) != 0)
			abort();
	return verifies / (bench_now() - t0);
}

#define BENCH_MAX_VERIFY_THREADS 64

struct bench_verify_arg { const struct bench_keys *keys; int verifies; double rate; };

static inline void *bench_verify_thread(void *arg)
{
	struct bench_verify_arg *a = arg;
	a->rate = bench_verify_rate(a->keys, 0, a->verifies);
	return NULL;
}

/* The bare verify rate of nthreads threads at once, summed: what this
 * machine's CPUs give together right now (less than nthreads x the 1-core
 * rate when others share them), the fair reference of a run on nthreads. */
static inline double bench_verify_rate_all(const struct bench_keys *keys, int nthreads, int verifies)
{
	pthread_t t[BENCH_MAX_VERIFY_THREADS];
	struct bench_verify_arg a[BENCH_MAX_VERIFY_THREADS];
	double sum = 0;
	if (nthreads > BENCH_MAX_VERIFY_THREADS)
		nthreads = BENCH_MAX_VERIFY_THREADS;
	for (int i = 0; i < nthreads; i++) {
		a[i] = (struct bench_verify_arg){.keys = keys, .verifies = verifies};
		if (pthread_create(&t[i], NULL, bench_verify_thread, &a[i]) != 0)
			abort();
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		sum += a[i].rate;
	}
	return sum;
}

/* n keys from seeds 0, 1, 2, ... (the index in the seed's first bytes). */
static inline void bench_keys_make(struct bench_keys *k, size_t n)
{
	k->n = n;
	k->pk = malloc(n * sizeof(*k->pk));
	k->sk = malloc(n * sizeof(*k->sk));
	k->addr = malloc(n * sizeof(*k->addr));
	if (!k->pk || !k->sk || !k->addr)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint8_t seed[SEED_LEN] = {0};
		uint32_t idx = (uint32_t)i;
		memcpy(seed, &idx, sizeof(idx));
		key_from_seed(seed, k->pk[i], k->sk[i]);
		address_from_pubkey(k->pk[i], k->addr[i]);
	}
}

/* Every key funded; key 0 the only validator. */
static inline void bench_genesis(struct genesis *g, const struct bench_keys *k)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->chain, sizeof(g->chain), "assay-bench");
	snprintf(g->network_name, sizeof(g->network_name), "local");
	g->net = NET_DEV;
	g->time_ms = 1000;
	chain_params_default(&g->params, 1);
	compute_params_default(&g->compute);
	g->allocs = calloc(k->n, sizeof(*g->allocs));
	g->validators = calloc(1, sizeof(*g->validators));
	if (!g->allocs || !g->validators)
		abort();
	for (size_t i = 0; i < k->n; i++) {
		memcpy(g->allocs[i].addr, k->addr[i], ADDR_LEN);
		g->allocs[i].amount = BENCH_FUNDS;
	}
	g->nallocs = k->n;
	memcpy(g->validators[0].pubkey, k->pk[0], PUBKEY_LEN);
	g->validators[0].stake = 1;
	g->nvalidators = 1;
	genesis_finish(g);
}

/* The directory benchmarks work under: -dir=PATH when given (bench_dir_arg),
 * else $TMPDIR, else /tmp. */
static const char *bench_workdir;

static inline const char *bench_base_dir(void)
{
	if (bench_workdir)
		return bench_workdir;
	return getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
}

/* Takes "-dir=PATH" out of the arguments; 1 when arg was it. */
static inline int bench_dir_arg(const char *arg)
{
	if (strncmp(arg, "-dir=", 5) != 0)
		return 0;
	bench_workdir = arg + 5;
	return 1;
}

/* A new chain in a new directory under bench_base_dir() (its path in dir,
 * BENCH_DIR_LEN bytes). */
#define BENCH_DIR_LEN 512
static inline chain_t *bench_open_fresh(const struct genesis *g, char *dir)
{
	char err[256], path[BENCH_DIR_LEN + 16];
	int prefix = snprintf(dir, BENCH_DIR_LEN - 7, "%s/assay-bench-", bench_base_dir());
	if (prefix < 0 || prefix >= BENCH_DIR_LEN - 7) {
		fprintf(stderr, "working directory path too long\n");
		exit(1);
	}
	memset(dir + prefix, 'X', 6); /* mkdtemp's placeholder */
	dir[prefix + 6] = 0;
	if (!mkdtemp(dir)) {
		fprintf(stderr, "cannot create a directory under %s\n", bench_base_dir());
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/chaindata", dir);
	chain_t *c = chain_open(path, g, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return c;
}

static inline void bench_remove_dir(const char *dir)
{
	char cmd[BENCH_DIR_LEN + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

#endif
