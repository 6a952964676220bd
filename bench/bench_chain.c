/* Benchmark: signed transfers per second through the node's real path —
 * mempool admission (signature check), block building, block application
 * and the LevelDB commit — beside the bare Ed25519 verification rate of
 * libsodium (the node's verifier) and of OpenSSL, measured in the same run
 * on one core. Also the follower path: applying blocks made elsewhere, with
 * signature checks on 1 and 2 threads. Prints figures; never fails on time.
 * Usage: bench_chain [blocks] [txs_per_block] */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/log.h"
#include "bench/bench_util.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "node/sigcheck.h"

#define SENDERS 1000

static struct bench_keys keys; /* SENDERS funded keys; key 0 validates */

static double sodium_verify_rate(void)
{
	uint8_t msg[32] = {1}, sig[SIG_LEN];
	sig_sign(keys.sk[0], msg, sizeof(msg), sig);
	int n = 20000;
	double t0 = bench_now();
	for (int i = 0; i < n; i++)
		if (sig_verify(keys.pk[0], msg, sizeof(msg), sig) != 0)
			abort();
	return n / (bench_now() - t0);
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
	int n = 20000;
	double t0 = bench_now();
	for (int i = 0; i < n; i++) {
		EVP_MD_CTX_reset(ctx);
		EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub);
		if (EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) != 1)
			abort();
	}
	double rate = n / (bench_now() - t0);
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

/* Producer path. threads > 1 batches admission's signature checks over
 * that many threads; threads = 0 skips them (to isolate the node's own cost). Keeps
 * the blocks (encoded) for the follower run. Returns transfers/s. */
static double run_producer(const struct genesis *g, struct tx *txs, size_t nblocks, size_t per, int threads,
			   struct block **blocks_out, struct commit **commits_out)
{
	char dir[64], err[256];
	chain_t *c = bench_open_fresh(g, dir);
	mempool_t *m = mempool_new(c, per * 2, 1u << 30);
	const struct tx **sel = malloc(per * sizeof(*sel));
	uint8_t *bad = malloc(per);
	struct block *blocks = calloc(nblocks, sizeof(*blocks));
	struct commit *commits = calloc(nblocks, sizeof(*commits));
	double t0 = bench_now();
	for (size_t b = 0; b < nblocks; b++) {
		struct tx *batch = txs + b * per;
		if (threads > 1 && sigcheck_verify(batch, per, threads, bad) != 0)
			abort();
		for (size_t i = 0; i < per; i++) {
			int rc = threads != 1 ? mempool_add_verified(m, &batch[i], NULL, err, sizeof(err))
					      : mempool_add(m, &batch[i], NULL, err, sizeof(err));
			if (rc) {
				fprintf(stderr, "admission: %s\n", err);
				exit(1);
			}
		}
		size_t k = mempool_select(m, sel, per);
		uint8_t hash[HASH_LEN];
		if (chain_build_block(c, sel, k, 2000 + b * 1000, keys.sk[0], &blocks[b], NULL, NULL, err, sizeof(err)) ||
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
	free(sel);
	free(bad);
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

/* Follower path: full validation of blocks made elsewhere. */
static double run_follower(const struct genesis *g, struct block *blocks, struct commit *commits, size_t nblocks,
			   size_t per, int threads)
{
	char dir[64], err[256];
	chain_t *c = bench_open_fresh(g, dir);
	chain_set_verify_threads(c, threads);
	double t0 = bench_now();
	for (size_t b = 0; b < nblocks; b++) {
		if (chain_apply_block(c, &blocks[b], &commits[b], UINT64_MAX, err, sizeof(err))) {
			fprintf(stderr, "follower apply: %s\n", err);
			exit(1);
		}
	}
	double rate = (double)(nblocks * per) / (bench_now() - t0);
	chain_close(c);
	bench_remove_dir(dir);
	return rate;
}

int main(int argc, char **argv)
{
	size_t nblocks = argc > 1 ? strtoul(argv[1], NULL, 10) : 20;
	size_t per = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	struct genesis g;
	keys_init();
	log_set_level(LOG_WARN);
	bench_keys_make(&keys, SENDERS);
	bench_genesis(&g, &keys);
	printf("bench_chain: %zu blocks x %zu transfers, %d senders, LevelDB commit with fsync per block\n", nblocks,
	       per, SENDERS);
	/* The reference is the best of three rounds: a round slowed by other
	 * work on the machine would flatter every ratio below. */
	double sodium = 0, ossl = 0;
	for (int round = 0; round < 3; round++) {
		double r = sodium_verify_rate(), o = openssl_verify_rate();
		sodium = r > sodium ? r : sodium;
		ossl = o > ossl ? o : ossl;
	}
	printf("Ed25519 verify, 1 core, best of 3:  libsodium %.0f/s   OpenSSL %.0f/s   (libsodium %.2fx OpenSSL)\n", sodium, ossl,
	       sodium / ossl);
	struct tx *txs = make_txs(&g, nblocks * per);
	struct block *blocks;
	struct commit *commits;
	double p1 = run_producer(&g, txs, nblocks, per, 1, &blocks, &commits);
	double p2 = run_producer(&g, txs, nblocks, per, 2, NULL, NULL);
	/* threads = 0: signatures taken as checked, to show what the rest costs. */
	double p0 = run_producer(&g, txs, nblocks, per, 0, NULL, NULL);
	double f1 = run_follower(&g, blocks, commits, nblocks, per, 1);
	double f2 = run_follower(&g, blocks, commits, nblocks, per, 2);
	printf("producer, admission + build + apply + commit, 1 core:      %8.0f transfers/s  = %.2fx libsodium verify, %.2fx OpenSSL verify\n",
	       p1, p1 / sodium, p1 / ossl);
	printf("producer, admission checks on 2 threads:                   %8.0f transfers/s  = %.2fx libsodium verify, %.2fx OpenSSL verify\n",
	       p2, p2 / sodium, p2 / ossl);
	printf("producer without signature checks (the node's own work):   %8.0f transfers/s  = %.1f us per transfer\n",
	       p0, 1e6 / p0);
	printf("follower, validate + apply + commit, signatures 1 thread:  %8.0f transfers/s  = %.2fx libsodium verify\n",
	       f1, f1 / sodium);
	printf("follower, validate + apply + commit, signatures 2 threads: %8.0f transfers/s  = %.2fx libsodium verify\n",
	       f2, f2 / sodium);
	for (size_t i = 0; i < nblocks * per; i++)
		tx_free(&txs[i]);
	for (size_t b = 0; b < nblocks; b++) {
		block_free(&blocks[b]);
		commit_free(&commits[b]);
	}
	free(txs);
	free(blocks);
	free(commits);
	genesis_free(&g);
	return 0;
}
