/* Benchmark: p2p block sync over loopback. Builds a chain of signed transfers
 * in-process with the chain API, serves it from one net_t and syncs a fresh
 * chain from it with a second net_t on the same event base, both driven by
 * the node's own callbacks (node_net.c), so the follower decodes, validates,
 * applies and commits every block exactly as assayd does. Prints blocks/s,
 * transfers/s, bytes on the wire with and without zstd, and beside them the
 * rate of applying the same blocks directly (bench_chain's follower figure),
 * measured in the same run. Never fails on time.
 * Usage: bench_sync [blocks] [txs_per_block] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench/bench_util.h"
#include "core/error.h"
#include "core/keys.h"
#include "core/log.h"
#include "net/frame.h"
#include "net/net.h"
#include "node/node.h"

#define SENDERS 1000        /* funded accounts the transfers rotate over */
#define SIGN_THREADS_MAX 16 /* threads that sign each block's transfers */

static struct bench_keys keys; /* SENDERS funded keys; key 0 validates */

struct sign_job {
	struct tx *txs;
	const int *sender; /* index into keys.sk[] for each tx */
	size_t from, to;
};

static void *sign_range(void *arg)
{
	struct sign_job *j = arg;
	for (size_t i = j->from; i < j->to; i++)
		tx_sign(&j->txs[i], keys.sk[j->sender[i]]);
	return NULL;
}

/* Fills and signs per transfers (sender i % SENDERS pays the next one). */
static void make_transfers(const struct genesis *g, struct tx *txs, int *sender, size_t per, uint64_t *nonce,
			   int threads)
{
	for (size_t i = 0; i < per; i++) {
		int s = (int)(i % SENDERS);
		struct transfer_payload tp;
		struct buf b;
		memset(&txs[i], 0, sizeof(txs[i]));
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
		sender[i] = s;
	}
	pthread_t tids[SIGN_THREADS_MAX];
	struct sign_job jobs[SIGN_THREADS_MAX];
	size_t chunk = (per + (size_t)threads - 1) / (size_t)threads;
	for (int t = 0; t < threads; t++) {
		size_t from = (size_t)t * chunk < per ? (size_t)t * chunk : per;
		jobs[t] = (struct sign_job){txs, sender, from, from + chunk < per ? from + chunk : per};
	}
	int started[SIGN_THREADS_MAX] = {0};
	for (int t = 1; t < threads; t++)
		started[t] = pthread_create(&tids[t], NULL, sign_range, &jobs[t]) == 0;
	for (int t = 0; t < threads; t++)
		if (!started[t])
			sign_range(&jobs[t]); /* this thread: the first range, and any whose thread did not start */
	for (int t = 1; t < threads; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
}

/* The source chain: nblocks blocks of per transfers, built and committed. */
static void build_chain(chain_t *c, const struct genesis *g, size_t nblocks, size_t per, int threads)
{
	struct tx *txs = calloc(per, sizeof(*txs));
	int *sender = calloc(per, sizeof(*sender));
	const struct tx **cand = calloc(per, sizeof(*cand));
	uint64_t *nonce = calloc(SENDERS, sizeof(*nonce));
	char err[256];
	if (!txs || !sender || !cand || !nonce)
		abort();
	for (size_t b = 0; b < nblocks; b++) {
		make_transfers(g, txs, sender, per, nonce, threads);
		for (size_t i = 0; i < per; i++)
			cand[i] = &txs[i];
		struct block blk;
		struct commit commit;
		uint8_t hash[HASH_LEN];
		if (chain_build_block(c, cand, per, 2000 + b * 1000, keys.sk[0], &blk, NULL, NULL, err, sizeof(err)) ||
		    blk.ntx != per) {
			fprintf(stderr, "build: %s\n", err);
			exit(1);
		}
		block_hash(&blk, hash);
		chain_sign_commit(c, keys.sk[0], blk.hdr.height, hash, &commit);
		if (chain_apply_block(c, &blk, &commit, UINT64_MAX, err, sizeof(err))) {
			fprintf(stderr, "apply: %s\n", err);
			exit(1);
		}
		commit_free(&commit);
		block_free(&blk);
		for (size_t i = 0; i < per; i++)
			tx_free(&txs[i]);
	}
	free(txs);
	free(sender);
	free(cand);
	free(nonce);
}

/* bench_chain's follower path on the same blocks: read each block from the
 * source (not timed), apply it to a fresh chain (timed), as a syncing node
 * does with commit NULL. Returns transfers/s. */
static double direct_apply_rate(chain_t *src, const struct genesis *g, size_t nblocks, size_t per, int threads)
{
	char dir[BENCH_DIR_LEN], err[256];
	chain_t *c = bench_open_fresh(g, dir);
	chain_set_verify_threads(c, threads);
	double spent = 0;
	for (size_t h = 1; h <= nblocks; h++) {
		struct block blk;
		if (chain_get_block_at(src, h, &blk))
			abort();
		double t0 = bench_now();
		if (chain_apply_block(c, &blk, NULL, UINT64_MAX, err, sizeof(err))) {
			fprintf(stderr, "direct apply %zu: %s\n", h, err);
			exit(1);
		}
		spent += bench_now() - t0;
		block_free(&blk);
	}
	chain_close(c);
	bench_remove_dir(dir);
	return (double)(nblocks * per) / spent;
}

static int listen_port = 29470; /* -port=N; 0: one the kernel picks */

static net_t *start_net(struct node *nd, const struct genesis *g, int listen, const char *connect, char *err,
			size_t errlen)
{
	struct net_node_ops ops;
	struct net_config nc;
	const char *targets[1] = {connect};
	memset(&nc, 0, sizeof(nc));
	node_net_ops(nd, &ops);
	nc.magic = NET_MAGIC_LOCAL;
	memcpy(nc.chain_id, g->hash, HASH_LEN);
	nc.listen = listen;
	nc.port = listen ? (uint16_t)listen_port : 0;
	nc.bind = "127.0.0.1";
	nc.connect = connect ? targets : NULL;
	nc.nconnect = connect ? 1 : 0;
	nc.user_agent = "/bench_sync/";
	nd->net = net_new(nd->base, &nc, &ops, err, errlen);
	return nd->net;
}

int main(int argc, char **argv)
{
	size_t pos[2] = {2000, 1000}, npos = 0;
	for (int i = 1; i < argc; i++) {
		if (bench_dir_arg(argv[i]))
			continue;
		if (strncmp(argv[i], "-port=", 6) == 0)
			listen_port = atoi(argv[i] + 6);
		else if (npos < 2)
			pos[npos++] = strtoul(argv[i], NULL, 10);
	}
	size_t nblocks = pos[0], per = pos[1];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = ncpu < 1 ? 1 : ncpu > SIGN_THREADS_MAX ? SIGN_THREADS_MAX : (int)ncpu;
	struct genesis g;
	char err[256], src_dir[BENCH_DIR_LEN], dst_dir[BENCH_DIR_LEN], hostport[64];
	if (nblocks < 1 || per < 1 || listen_port < 0 || listen_port > 65535) {
		fprintf(stderr, "usage: bench_sync [-dir=PATH] [-port=N] [blocks] [txs_per_block]\n");
		return 2;
	}
	keys_init();
	log_set_level(LOG_WARN);
	bench_keys_make(&keys, SENDERS);
	bench_genesis(&g, &keys);
	printf("bench_sync: %zu blocks x %zu transfers, %d senders, loopback, %d signature threads\n", nblocks, per,
	       SENDERS, threads);

	double t0 = bench_now();
	chain_t *src = bench_open_fresh(&g, src_dir);
	/* one block more than is synced: a block joins a follower's chain only
	 * with its commit, which the next block carries (docs/p2p.md §7) */
	build_chain(src, &g, nblocks + 1, per, threads);
	printf("source chain built and committed in %.1f s\n", bench_now() - t0);

	double direct = direct_apply_rate(src, &g, nblocks, per, threads);

	struct node server, client;
	memset(&server, 0, sizeof(server));
	memset(&client, 0, sizeof(client));
	struct event_base *base = event_base_new();
	chain_t *dst = bench_open_fresh(&g, dst_dir);
	chain_set_verify_threads(dst, threads);
	server.chain = src;
	client.chain = dst;
	server.base = client.base = base;
	server.mempool = mempool_new(src, MEMPOOL_DEFAULT_MAX_TXS, MEMPOOL_DEFAULT_MAX_BYTES);
	client.mempool = mempool_new(dst, MEMPOOL_DEFAULT_MAX_TXS, MEMPOOL_DEFAULT_MAX_BYTES);
	if (!base || !server.mempool || !client.mempool || !start_net(&server, &g, 1, NULL, err, sizeof(err))) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%u", net_listen_port(server.net));
	double s0 = bench_now();
	if (!start_net(&client, &g, 0, hostport, err, sizeof(err))) {
		fprintf(stderr, "client: %s\n", err);
		return 1;
	}
	uint64_t last_height = 0;
	double last_progress = bench_now();
	while (chain_height(dst) < nblocks) {
		event_base_loop(base, EVLOOP_ONCE);
		if (chain_height(dst) != last_height) {
			last_height = chain_height(dst);
			last_progress = bench_now();
		} else if (bench_now() - last_progress > 60) {
			fprintf(stderr, "sync stalled at height %llu\n", (unsigned long long)last_height);
			return 1;
		}
	}
	double secs = bench_now() - s0;

	struct net_peer_info *peers = NULL;
	size_t npeers = 0;
	uint64_t payload = 0, wire = 0;
	net_peers(client.net, &peers, &npeers);
	for (size_t i = 0; i < npeers; i++) {
		payload += peers[i].bytes_recv;
		wire += peers[i].bytes_recv_raw;
	}
	free(peers);
	/* Both sides measured by the client's peer counters: the bytes read
	 * off the socket, and the message bytes its zstd stream inflated to
	 * (every message, the handshake and requests included). Only the
	 * frame headers an uncompressed link would add are not on either
	 * side; they are printed apart, as an estimate. */
	uint64_t plain = payload;
	uint64_t headers_est = (uint64_t)NET_HDR_LEN * nblocks;
	struct block at;
	if (chain_get_block_at(src, nblocks, &at))
		abort();
	int same = memcmp(at.hdr.state_root, chain_tip(dst)->state_root, HASH_LEN) == 0;
	block_free(&at);

	/* Again after the sync, so that LevelDB's background compaction of the
	 * freshly built source weighs on both sides alike. */
	double direct_after = direct_apply_rate(src, &g, nblocks, per, threads);
	double sync_tps = (double)(nblocks * per) / secs;
	printf("sync over loopback:           %8.1f blocks/s  %9.0f transfers/s  (%zu blocks in %.1f s)\n",
	       nblocks / secs, sync_tps, nblocks, secs);
	printf("direct apply (bench_chain follower path, same blocks, %d threads): %9.0f transfers/s before the "
	       "sync, %.0f after\n",
	       threads, direct, direct_after);
	printf("sync rate / direct apply rate: %.2f (against the mean of both)\n",
	       sync_tps / ((direct + direct_after) / 2));
	printf("bytes received, measured: %.1f MiB on the wire with zstd, %.1f MiB of messages after inflation; "
	       "zstd saves %.1f%% (%.2fx); an uncompressed link would add about %.1f MiB of frame headers "
	       "(estimate, one per block)\n",
	       wire / 1048576.0, plain / 1048576.0, 100.0 * (1.0 - (double)wire / (double)plain),
	       (double)plain / (double)wire, headers_est / 1048576.0);
	printf("per block: %.0f bytes with zstd, %.0f inflated\n", (double)wire / nblocks, (double)plain / nblocks);
	printf("state root after sync matches the source: %s\n", same ? "yes" : "NO");

	net_free(client.net);
	net_free(server.net);
	mempool_free(client.mempool);
	mempool_free(server.mempool);
	chain_close(dst);
	chain_close(src);
	event_base_free(base);
	bench_remove_dir(dst_dir);
	bench_remove_dir(src_dir);
	genesis_free(&g);
	return same ? 0 : 1;
}
