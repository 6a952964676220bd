/* Benchmark: signed transfers per second through the node's real path —
 * admission (signature check, through the signature cache), mempool, block
 * building, block application and the LevelDB commit — beside the bare
 * Ed25519 verification rate of libsodium (the node's verifier) on one core,
 * measured right before and right after each phase so that a shift in the
 * machine's load moves both sides of a ratio. Also the follower path:
 * applying blocks made elsewhere, with signatures checked on 1 and 2
 * threads, and with the signatures already in the cache (admitted by relay
 * before the block came). Each round runs every phase once; the summary is
 * the median ratio over the rounds with its range. Prints; never fails.
 * -only=p1,p2,p0,f1,f2,fc runs only the phases named (to profile one; the
 * follower phases still need the 1-core producer's blocks, made untimed).
 * Usage: bench_chain [-dir=PATH] [-rounds=N] [-only=LIST] [blocks] [txs_per_block] */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/log.h"
#include "bench/bench_util.h"
#include "consensus/tx_rules.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "node/sigcache.h"
#include "node/sigcheck.h"

#define SENDERS 1000
#define REF_VERIFIES 6000 /* per reference measurement: about 0.4 s on one core */
#define MAX_ROUNDS 15

static struct bench_keys keys; /* SENDERS funded keys; key 0 validates */
static const uint8_t bench_salt[SIGCACHE_SALT_LEN] = {0x5a};

/* CPU seconds this thread has run (the producer phases run on it): on a
 * shared machine a steadier measure of the node's own work than the wall
 * clock, which also counts the time other jobs held the core. */
static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Thread CPU time per transfer of the last run_producer call, in seconds. */
static double producer_cpu_per_tx;

/* Every run must end on the same tip, block hash and state root alike
 * (the same transactions at the same times): the first run's, printed so
 * that two builds can be compared too. A mismatch is a consensus bug,
 * and the benchmark stops on it. */
static uint8_t first_tip[HASH_LEN], first_root[HASH_LEN];
static int have_first_tip;

static void check_tip(chain_t *c, const char *phase)
{
	uint8_t tip[HASH_LEN];
	const uint8_t *root = chain_tip(c)->state_root;
	chain_tip_hash(c, tip);
	if (!have_first_tip) {
		char th[2 * HASH_LEN + 1], rh[2 * HASH_LEN + 1];
		memcpy(first_tip, tip, HASH_LEN);
		memcpy(first_root, root, HASH_LEN);
		have_first_tip = 1;
		hex_encode(tip, HASH_LEN, th);
		hex_encode(root, HASH_LEN, rh);
		printf("tip after the run: block %s, state root %s (every run must end here)\n", th, rh);
		return;
	}
	if (memcmp(tip, first_tip, HASH_LEN) != 0 || memcmp(root, first_root, HASH_LEN) != 0) {
		fprintf(stderr, "%s ended on another tip or state root than the first run: consensus differs\n", phase);
		exit(1);
	}
}

static double sodium_verify_rate(void)
{
	return bench_verify_rate(&keys, 0, REF_VERIFIES);
}

static double openssl_verify_rate(void)
{
	uint8_t msg[32] = {1}, sig[SIG_LEN];
	size_t siglen = SIG_LEN;
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, keys.sk[0], 32);
	EVP_PKEY *pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, keys.pk[0], 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestSignInit(ctx, NULL, NULL, NULL, key);
	EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg));
	double t0 = bench_now();
	for (int i = 0; i < REF_VERIFIES; i++) {
		EVP_MD_CTX_reset(ctx);
		EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub);
		if (EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) != 1)
			abort();
	}
	double rate = REF_VERIFIES / (bench_now() - t0);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	return rate;
}

/* n transfers, round-robin over senders, nonces counted per sender. */
static struct tx *make_txs(const struct genesis *g, size_t n)
{
	struct tx *txs = calloc(n, sizeof(*txs));
	uint64_t *nonce = calloc(SENDERS, sizeof(*nonce));
	for (size_t i = 0; i < n; i++) {
		int s = (int)(i % SENDERS);
		struct transfer_payload tp;
		struct buf b;
		memcpy(tp.to, keys.addr[(s + 1) % SENDERS], ADDR_LEN);
		tp.amount = 1;
		buf_init(&b);
		transfer_encode(&tp, &b);
		memcpy(txs[i].chain_id, g->hash, HASH_LEN);
		txs[i].nonce = nonce[s]++;
		memcpy(txs[i].sender, keys.pk[s], PUBKEY_LEN);
		txs[i].fee = 1000;
		tx_set_payload(&txs[i], b.data, b.len);
		buf_free(&b);
		tx_sign(&txs[i], keys.sk[s]);
	}
	free(nonce);
	return txs;
}

/* Producer path: per block, admission as txaccept does it (txid and the
 * stateless rules once, the signatures through the cache, then the
 * mempool's nonce and funds checks), build, apply, commit.
 * threads = 1: all on this thread. threads = 2: the next block's admission
 * signatures are checked on a helper thread while this one builds and
 * applies the current block, then this thread joins what is left: the
 * node's verification threads beside its event thread. threads = 0 skips
 * the signatures (to isolate the node's own cost). Keeps the blocks for
 * the follower runs when blocks_out is set. Returns transfers/s. */
static double run_producer(const struct genesis *g, struct tx *txs, size_t nblocks, size_t per, int threads,
			   struct block **blocks_out, struct commit **commits_out)
{
	char dir[BENCH_DIR_LEN], err[256];
	chain_t *c = bench_open_fresh(g, dir);
	mempool_t *m = mempool_new(c, per * 2, 1u << 30);
	sigcache_t *cache = sigcache_new(SIGCACHE_DEFAULT_ENTRIES, bench_salt);
	const struct tx **sel = malloc(per * sizeof(*sel));
	uint8_t(*sel_ids)[HASH_LEN] = malloc(per * sizeof(*sel_ids));
	uint8_t(*txids)[HASH_LEN] = malloc(2 * per * sizeof(*txids)); /* two blocks' worth, in turn */
	struct block *blocks = calloc(nblocks, sizeof(*blocks));
	struct commit *commits = calloc(nblocks, sizeof(*commits));
	sigcheck_t *ahead = NULL; /* threads = 2: the next block's signatures */
	double t0 = bench_now(), cpu0 = thread_cpu();
	for (size_t b = 0; b < nblocks; b++) {
		struct tx *batch = txs + b * per;
		uint8_t(*ids)[HASH_LEN] = txids + (b % 2) * per;
		if (threads == 1 || (threads == 2 && b == 0)) {
			for (size_t i = 0; i < per; i++)
				tx_id(&batch[i], ids[i]);
			uint8_t *bad = malloc(per);
			if (sigcheck_verify_cached(batch, (const uint8_t(*)[HASH_LEN])ids, per, threads, cache, bad))
				abort();
			free(bad);
		} else if (threads == 2 && sigcheck_finish(ahead, err, sizeof(err)) != 0) {
			abort();
		}
		if (threads == 2 && b + 1 < nblocks) {
			uint8_t(*next)[HASH_LEN] = txids + ((b + 1) % 2) * per;
			for (size_t i = 0; i < per; i++)
				tx_id(&batch[per + i], next[i]);
			ahead = sigcheck_start_cached(batch + per, (const uint8_t(*)[HASH_LEN])next, per, 2, cache, 1);
		}
		if (threads == 0)
			for (size_t i = 0; i < per; i++)
				tx_id(&batch[i], ids[i]);
		for (size_t i = 0; i < per; i++) {
			/* txaccept's pass 1 (the stateless rules but the signature),
			 * then the mempool without them again */
			int rc = tx_rules_check(&g->params, g->hash, &batch[i], 0, err, sizeof(err));
			if (!rc)
				rc = mempool_add_checked(m, &batch[i], ids[i], err, sizeof(err));
			if (rc) {
				fprintf(stderr, "admission: %s\n", err);
				exit(1);
			}
		}
		size_t k = mempool_select_ids(m, sel, sel_ids, per); /* as the node's proposer does */
		uint8_t hash[HASH_LEN];
		if (chain_build_block_ids(c, sel, (const uint8_t(*)[HASH_LEN])sel_ids, k, 2000 + b * 1000, keys.sk[0],
					  &blocks[b], NULL, NULL, err, sizeof(err)) ||
		    blocks[b].ntx != per) {
			fprintf(stderr, "build: %s (%zu txs)\n", err, blocks[b].ntx);
			exit(1);
		}
		block_hash(&blocks[b], hash);
		chain_sign_commit(c, keys.sk[0], blocks[b].hdr.height, hash, &commits[b]);
		if (chain_apply_block(c, &blocks[b], &commits[b], UINT64_MAX, err, sizeof(err))) {
			fprintf(stderr, "apply: %s\n", err);
			exit(1);
		}
		mempool_on_block(m, &blocks[b]);
	}
	double rate = (double)(nblocks * per) / (bench_now() - t0);
	producer_cpu_per_tx = (thread_cpu() - cpu0) / (double)(nblocks * per);
	check_tip(c, "a producer run");
	free(sel);
	free(sel_ids);
	free(txids);
	sigcache_free(cache);
	mempool_free(m);
	chain_close(c);
	bench_remove_dir(dir);
	if (blocks_out) {
		*blocks_out = blocks;
		*commits_out = commits;
	} else {
		for (size_t b = 0; b < nblocks; b++) {
			block_free(&blocks[b]);
			commit_free(&commits[b]);
		}
		free(blocks);
		free(commits);
	}
	return rate;
}

/* Follower path: full validation of blocks made elsewhere. cached: the
 * signatures were checked on admission (relay) before the blocks came, so
 * the cache holds them; that admission is not timed here. */
static double run_follower(const struct genesis *g, struct block *blocks, struct commit *commits, size_t nblocks,
			   size_t per, int threads, int cached)
{
	char dir[BENCH_DIR_LEN], err[256];
	chain_t *c = bench_open_fresh(g, dir);
	sigcache_t *cache = NULL;
	chain_set_verify_threads(c, threads);
	if (cached) {
		cache = sigcache_new(SIGCACHE_DEFAULT_ENTRIES, bench_salt);
		uint8_t(*ids)[HASH_LEN] = malloc(per * sizeof(*ids));
		uint8_t *bad = malloc(per);
		for (size_t b = 0; b < nblocks; b++) {
			for (size_t i = 0; i < per; i++)
				tx_id(&blocks[b].txs[i], ids[i]);
			if (sigcheck_verify_cached(blocks[b].txs, (const uint8_t(*)[HASH_LEN])ids, per, 2, cache, bad))
				abort();
		}
		free(ids);
		free(bad);
		chain_set_sigcache(c, cache);
	}
	double t0 = bench_now();
	for (size_t b = 0; b < nblocks; b++) {
		if (chain_apply_block(c, &blocks[b], &commits[b], UINT64_MAX, err, sizeof(err))) {
			fprintf(stderr, "follower apply: %s\n", err);
			exit(1);
		}
	}
	double rate = (double)(nblocks * per) / (bench_now() - t0);
	check_tip(c, "a follower run");
	chain_close(c);
	sigcache_free(cache);
	bench_remove_dir(dir);
	return rate;
}

enum phase { P1, P2, P0, F1, F2, FC, NPHASES };

static const char *const phase_key[NPHASES] = {"p1", "p2", "p0", "f1", "f2", "fc"};

/* The phases a comma-separated list names, as a bit mask (0: a bad name). */
static unsigned phases_of(const char *list)
{
	unsigned mask = 0;
	while (*list) {
		size_t len = strcspn(list, ",");
		int found = 0;
		for (int ph = 0; ph < NPHASES; ph++)
			if (len == strlen(phase_key[ph]) && strncmp(list, phase_key[ph], len) == 0) {
				mask |= 1u << ph;
				found = 1;
			}
		if (!found)
			return 0;
		list += len + (list[len] == ',');
	}
	return mask;
}

/* The phases that verify on two threads: they are also given as a ratio
 * of two threads' bare verify rate, measured right after each run. */
static int two_threads(int ph)
{
	return ph == P2 || ph == F2 || ph == FC;
}

static const char *const phase_name[NPHASES] = {
	"producer, 1 core (admission + build + apply + commit)",
	"producer, admission signatures on 2 threads, pipelined",
	"producer without signature checks (the node's own work)",
	"follower, validate + apply + commit, signatures 1 thread",
	"follower, signatures 2 threads",
	"follower, signatures in the cache (admitted by relay)",
};

int main(int argc, char **argv)
{
	size_t pos[2] = {20, 1000}, npos = 0;
	int rounds = 3;
	unsigned only = (1u << NPHASES) - 1;
	for (int i = 1; i < argc; i++) {
		if (bench_dir_arg(argv[i]))
			continue;
		if (strncmp(argv[i], "-rounds=", 8) == 0)
			rounds = atoi(argv[i] + 8);
		else if (strncmp(argv[i], "-only=", 6) == 0)
			only = phases_of(argv[i] + 6);
		else if (npos < 2)
			pos[npos++] = strtoul(argv[i], NULL, 10);
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || pos[0] < 2 || pos[1] < 1 || !only) {
		fprintf(stderr,
			"usage: bench_chain [-dir=PATH] [-rounds=1..%d] [-only=p1,p2,p0,f1,f2,fc] [blocks >= 2] "
			"[txs_per_block]\n",
			MAX_ROUNDS);
		return 2;
	}
	size_t nblocks = pos[0], per = pos[1];
	struct genesis g;
	keys_init();
	log_set_level(LOG_WARN);
	bench_keys_make(&keys, SENDERS);
	bench_genesis(&g, &keys);
	printf("bench_chain: %zu blocks x %zu transfers, %d senders, LevelDB commit with fsync per block, under %s, "
	       "%d rounds\n",
	       nblocks, per, SENDERS, bench_base_dir(), rounds);
	double sodium = sodium_verify_rate(), ossl = openssl_verify_rate();
	printf("Ed25519 verify, 1 core, at start: libsodium %.0f/s, OpenSSL %.0f/s (libsodium %.2fx OpenSSL)\n", sodium,
	       ossl, sodium / ossl);
	struct tx *txs = make_txs(&g, nblocks * per);
	double rate[NPHASES][MAX_ROUNDS], ratio[NPHASES][MAX_ROUNDS], spread[NPHASES][MAX_ROUNDS];
	double ratio2[NPHASES][MAX_ROUNDS] = {{0}}; /* 2-thread phases: over 2 threads' bare verify */
	double cpu[NPHASES][MAX_ROUNDS] = {{0}}; /* producer phases: this thread's CPU s per transfer */
	for (int r = 0; r < rounds; r++) {
		struct block *blocks = NULL;
		struct commit *commits = NULL;
		printf("round %d:\n", r + 1);
		if (!(only & (1u << P1)) && only >> F1)
			run_producer(&g, txs, nblocks, per, 1, &blocks, &commits); /* the followers' blocks */
		for (int ph = 0; ph < NPHASES; ph++) {
			if (!(only & (1u << ph)))
				continue;
			double before = sodium_verify_rate(), v;
			switch (ph) {
			case P1: v = run_producer(&g, txs, nblocks, per, 1, &blocks, &commits); break;
			case P2: v = run_producer(&g, txs, nblocks, per, 2, NULL, NULL); break;
			case P0: v = run_producer(&g, txs, nblocks, per, 0, NULL, NULL); break;
			case F1: v = run_follower(&g, blocks, commits, nblocks, per, 1, 0); break;
			case F2: v = run_follower(&g, blocks, commits, nblocks, per, 2, 0); break;
			default: v = run_follower(&g, blocks, commits, nblocks, per, 2, 1); break;
			}
			double after = sodium_verify_rate(), ref = (before + after) / 2;
			if (ph <= P0)
				cpu[ph][r] = producer_cpu_per_tx;
			rate[ph][r] = v;
			ratio[ph][r] = v / ref;
			spread[ph][r] = (before > after ? before - after : after - before) / ref;
			printf("  %-58s %8.0f/s  verify before %.0f/s after %.0f/s  = %.2fx", phase_name[ph], v, before,
			       after, ratio[ph][r]);
			if (two_threads(ph)) {
				/* what the two CPUs give together right now: below 2x
				 * the 1-core rate when other tenants share them */
				double both = bench_verify_rate_all(&keys, 2, REF_VERIFIES);
				ratio2[ph][r] = v / both;
				printf("; 2 threads' bare verify %.0f/s (%.2fx 1 core) -> %.2fx of it", both, both / ref,
				       ratio2[ph][r]);
			}
			printf("\n");
		}
		for (size_t b = 0; blocks && b < nblocks; b++) {
			block_free(&blocks[b]);
			commit_free(&commits[b]);
		}
		free(blocks);
		free(commits);
	}
	printf("summary, median over %d rounds [least, greatest]; ratios against the mean of the verify rates taken "
	       "right before and after each run:\n",
	       rounds);
	for (int ph = 0; ph < NPHASES; ph++) {
		if (!(only & (1u << ph)))
			continue;
		double lo, hi, rlo, rhi, slo, shi;
		double mr = bench_median(ratio[ph], (size_t)rounds, &lo, &hi);
		double mv = bench_median(rate[ph], (size_t)rounds, &rlo, &rhi);
		double ms = bench_median(spread[ph], (size_t)rounds, &slo, &shi);
		printf("  %-58s %8.0f/s [%.0f, %.0f]  = %.2fx [%.2f, %.2f] libsodium verify (reference moved %.0f%% median)",
		       phase_name[ph], mv, rlo, rhi, mr, lo, hi, ms * 100);
		if (ph == P0)
			printf("  %.1f us per transfer", 1e6 / mv);
		if (two_threads(ph)) {
			double qlo, qhi, mq = bench_median(ratio2[ph], (size_t)rounds, &qlo, &qhi);
			printf("  = %.2fx [%.2f, %.2f] of 2 threads' bare verify", mq, qlo, qhi);
		}
		if (ph <= P0) {
			double clo, chi, mc = bench_median(cpu[ph], (size_t)rounds, &clo, &chi);
			printf("  (%.1f us CPU [%.1f, %.1f] on its thread)", mc * 1e6, clo * 1e6, chi * 1e6);
		}
		printf("\n");
	}
	for (size_t i = 0; i < nblocks * per; i++)
		tx_free(&txs[i]);
	free(txs);
	genesis_free(&g);
	return 0;
}
