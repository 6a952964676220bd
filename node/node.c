/* The node's lifecycle (see node.h): opening the chain, mempool, RPC, p2p
 * and producer in order and closing them in reverse, stop requests and
 * signals, the one clock, the one path by which a block joins the chain,
 * and the abort that stops the node when it cannot write. Not for: command
 * line and key files (assayd.c) or the rules of validity (chain.c). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "core/error.h"
#include "core/log.h"
#include "node/node.h"
#include "node/consensus.h"
#include "node/producer.h"
#include "node/sigcache.h"
#include "node/txaccept.h"

#define NODE_STOP_GRACE_US 100000 /* lets the reply to a stop RPC reach its caller */
#define NODE_MB (1024u * 1024u)

uint64_t node_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

void node_request_stop(struct node *n)
{
	struct timeval grace = {0, NODE_STOP_GRACE_US};
	n->stop_requested = 1;
	consensus_halt(n); /* no block after a stop was asked for */
	if (n->base)
		event_base_loopexit(n->base, &grace);
}

int node_check_free_space(const struct node *n, char *err, size_t errlen)
{
	uint64_t free_bytes;
	if (!n->cfg.minfreespace || store_free_space(n->cfg.datadir, &free_bytes) < 0)
		return 0;
	if (free_bytes / NODE_MB >= n->cfg.minfreespace)
		return 0;
	return assay_fail(err, errlen, ASSAY_EFULL,
			  "disk full: %llu MB free under %s, below -minfreespace=%llu MB: free space under %s and restart",
			  (unsigned long long)(free_bytes / NODE_MB), n->cfg.datadir,
			  (unsigned long long)n->cfg.minfreespace, n->cfg.datadir);
}

void node_abort(struct node *n, int rc, const char *what)
{
	char msg[1024];
	uint64_t free_bytes;
	if (n->aborted)
		return;
	n->aborted = 1;
	/* Full when LevelDB said so, or when a write failed with (almost) no
	 * room left: an fsync or a table file can fail for want of space too. */
	int full = rc != ASSAY_EFULL && ((n->chain && store_disk_full(chain_store(n->chain))) ||
					 (rc == ASSAY_EIO && store_free_space(n->cfg.datadir, &free_bytes) == 0 &&
					  free_bytes < NODE_MB));
	if (rc == ASSAY_EFULL) /* the free-space floor: what already says it all */
		snprintf(msg, sizeof(msg), "%s", what);
	else if (full)
		snprintf(msg, sizeof(msg), "disk full: free space under %s and restart (%s)", n->cfg.datadir, what);
	else
		snprintf(msg, sizeof(msg), "%s: the node stops; nothing more is written", what);
	log_error("%s", msg);
	fprintf(stderr, "assayd: error: %s\n", msg);
	node_request_stop(n);
}

int node_connect_block(struct node *n, const struct block *blk, const struct commit *commit,
		       enum node_block_origin origin, char *err, size_t errlen)
{
	char what[320];
	if (n->aborted)
		return assay_fail(err, errlen, ASSAY_EIO, "the node is stopping after an abort");
	int rc = node_check_free_space(n, err, errlen);
	if (rc) {
		node_abort(n, rc, err);
		return ASSAY_EIO; /* a local failure, like the write it forestalls */
	}
	/* avail: the tip's chunks marked first, where out of memory left them
	 * unmarked: this block's marking may delete what carries no mark */
	if ((rc = node_chunks_mark_owed(n, err, errlen)) != 0) {
		node_abort(n, rc, err); /* the restart marks the tip's chunks (node_chunks_restore) */
		return rc;
	}
	/* avail: a peer's block must have its chunks here first (compute.md §15.4) */
	if (origin == NODE_BLOCK_PEER && blk->hdr.height == chain_height(n->chain) + 1 &&
	    (rc = node_chunks_check_block(n, blk, commit, err, errlen)) != 0) {
		if (assay_err_is_local(rc))
			node_abort(n, rc, err);
		return rc;
	}
	rc = chain_apply_block(n->chain, blk, commit, node_now_ms(), err, errlen);
	if (rc) {
		if (assay_err_is_local(rc)) {
			snprintf(what, sizeof(what), "cannot apply block %llu: %s", (unsigned long long)blk->hdr.height,
				 err);
			node_abort(n, rc, what);
		}
		return rc;
	}
	/* chain_apply_block returned after its synced write: the block is
	 * durable before anything below serves or announces it. */
	uint8_t hash[HASH_LEN];
	char hex[65];
	block_hash(blk, hash);
	hex_encode(hash, HASH_LEN, hex);
	if (origin == NODE_BLOCK_PRODUCED)
		n->blocks_produced++;
	n->txs_committed += blk->ntx;
	mempool_on_block(n->mempool, blk);
	if (origin == NODE_BLOCK_PRODUCED && (blk->ntx || blk->hdr.height % 60 == 0))
		log_info("block %llu %.16s txs=%zu mempool=%zu", (unsigned long long)blk->hdr.height, hex, blk->ntx,
			 mempool_size(n->mempool));
	else if (origin == NODE_BLOCK_PEER && blk->ntx && !n->was_syncing)
		log_info("block %llu %.16s txs=%zu (from a peer)", (unsigned long long)blk->hdr.height, hex, blk->ntx);
	node_net_block_applied(n, hash, blk->hdr.height);
	node_chunks_mark(n, blk);
	node_chunks_block_connected(n, blk->hdr.height); /* avail: pruning, a waiting block */
	rpc_deferred_wake(n->rpc); /* long polls waiting for a block (rpc_extra.c) */
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct node *n = arg;
	(void)what;
	if (n->stop_requested) {
		log_info("received %s: already stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		return;
	}
	log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	node_request_stop(n);
}

/* SIGINT/SIGTERM when no event takes them: in the instant before the
 * events are added, and from node_close, when the events are freed, to the
 * exit. libevent saves this handler when the events are added and puts it
 * back when they go, so a repeated signal during the close (the RPC flush
 * takes up to RPC_SHUTDOWN_FLUSH_MS, then LevelDB closes) is noted here
 * instead of killing the node half way (SIG_DFL) with the database open
 * and the pid file left. */
static volatile sig_atomic_t unlooped_signal;

static void on_unlooped_signal(int sig)
{
	unlooped_signal = sig;
}

/* SIGHUP: logrotate has renamed debug.log; write to a new file of that name
 * (docs/operations.md "Logs"). The node goes on. */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (log_reopen() < 0)
		log_warn("received SIGHUP: cannot reopen debug.log; still writing to the old file");
	else
		log_info("received SIGHUP: reopened debug.log");
}

/* Set by SIGINT/SIGTERM while a reindex runs (before the event loop takes
 * the signals over): the replay stops after the current block. */
static volatile sig_atomic_t reindex_stop;

static void reindex_on_signal(int sig)
{
	(void)sig;
	reindex_stop = 1;
}

static int reindex_progress(uint64_t h, uint64_t tip)
{
	if (h % 1000 == 0 || h == tip)
		log_info("reindex: %llu / %llu blocks", (unsigned long long)h, (unsigned long long)tip);
	return reindex_stop;
}

/* Runs -reindex, or resumes one a kill interrupted (docs/storage.md,
 * "Reindex"). 0; ASSAY_ECANCELED when a signal stopped it (the next start
 * resumes); or the error, with err filled. */
static int run_reindex(struct node *n, char *err, size_t errlen)
{
	uint64_t target = 0;
	int pending = chain_reindex_pending(n->chain, &target);
	if (!n->cfg.reindex && !pending)
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reindex_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc;
	if (n->cfg.reindex) {
		log_info("reindex: replaying the stored blocks from genesis");
		rc = chain_reindex(n->chain, reindex_progress, err, errlen);
	} else {
		log_info("reindex: resuming an interrupted reindex at height %llu of %llu",
			 (unsigned long long)chain_height(n->chain), (unsigned long long)target);
		rc = chain_reindex_resume(n->chain, reindex_progress, err, errlen);
	}
	sa.sa_handler = SIG_DFL; /* until the event loop takes the signals */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (rc == 0 && reindex_stop)
		rc = assay_fail(err, errlen, ASSAY_ECANCELED, "reindex done, stopping as asked");
	if (rc == ASSAY_ECANCELED)
		log_info("reindex: %s", err);
	else if (rc == 0)
		log_info("reindex: done, state root matches at height %llu", (unsigned long long)chain_height(n->chain));
	return rc;
}

int node_open(struct node *n, char *err, size_t errlen)
{
	char path[1200];
	int rc = node_check_free_space(n, err, errlen);
	if (rc)
		return rc;
	/* before any state table: where keys go in them is secret to this
	 * process, so no sender can pile grindable keys onto one slot */
	uint8_t seed[LEDGER_HASH_SEED_LEN];
	randombytes_buf(seed, sizeof(seed));
	ledger_hash_seed(seed);
	snprintf(path, sizeof(path), "%s/chaindata", n->cfg.datadir);
	n->chain = n->cfg.reindex ? chain_open_for_reindex(path, &n->genesis, err, errlen)
				  : chain_open(path, &n->genesis, err, errlen);
	if (!n->chain)
		return ASSAY_EIO;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	chain_set_verify_threads(n->chain, n->cfg.verifythreads ? n->cfg.verifythreads : (int)(ncpu > 0 ? ncpu : 1));
	if ((rc = run_reindex(n, err, errlen)) < 0)
		goto fail;
	n->mempool = mempool_new(n->chain, MEMPOOL_DEFAULT_MAX_TXS, MEMPOOL_DEFAULT_MAX_BYTES);
	n->base = event_base_new();
	uint8_t salt[SIGCACHE_SALT_LEN]; /* per process: nobody outside can aim at a bucket */
	randombytes_buf(salt, sizeof(salt));
	n->sigcache = sigcache_new(SIGCACHE_DEFAULT_ENTRIES, salt);
	chain_set_sigcache(n->chain, n->sigcache);
	if (!n->mempool || !n->base || !n->sigcache) {
		rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = txaccept_start(n, 0, err, errlen)) < 0) /* the verification pool, one thread per CPU */
		goto fail;
	if (n->cfg.rpcuser[0] && !n->cfg.rpcpassword[0]) {
		rc = assay_fail(err, errlen, ASSAY_EARG, "-rpcuser needs -rpcpassword (an empty password would let anyone in)");
		goto fail;
	}
	struct rpc_allow allow[CONFIG_MAX_MULTI];
	int nallow = config_rpc_allow(&n->cfg, allow, err, errlen); /* assayd checked it already */
	if (nallow < 0) {
		rc = nallow;
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/.cookie", n->cfg.datadir);
	n->rpc = rpc_new(n->base, n->cfg.rpcbind, n->cfg.rpcport, n->cfg.rpcuser[0] ? n->cfg.rpcuser : NULL,
			 n->cfg.rpcuser[0] ? n->cfg.rpcpassword : NULL, path, err, errlen);
	if (!n->rpc) {
		rc = ASSAY_EIO;
		goto fail;
	}
	rpc_set_allow(n->rpc, allow, (size_t)nallow);
	if (rpc_bind_is_loopback(n->cfg.rpcbind))
		for (int i = 0; i < nallow; i++)
			if (!rpc_allow_is_loopback(&allow[i])) {
				/* as Bitcoin Core warns: the entry lets in clients
				 * that cannot reach a loopback listener */
				log_warn("rpc: -rpcallowip=%s names addresses beyond this machine, but "
					 "-rpcbind=%s listens on loopback only: give -rpcbind an address "
					 "they can reach",
					 n->cfg.rpcallowip[i], n->cfg.rpcbind);
				break;
			}
	if (!rpc_bind_is_loopback(n->cfg.rpcbind))
		log_warn("rpc: listening on %s, beyond this machine: requests, replies and credentials go as plain "
			 "HTTP, so put TLS or an SSH tunnel in front, and only the credentials guard it "
			 "(docs/operations.md)", n->cfg.rpcbind);
	rpc_set_max_connections(n->rpc, n->cfg.rpcmaxconnections);
	node_register_rpc(n);
	node_register_contract_rpc(n);
	node_register_rpc_net(n);
	node_register_compute_rpc(n);
	node_register_chunks_rpc(n);
	node_register_simulate_rpc(n);
	node_register_validators_rpc(n);
	node_register_extra_rpc(n);
	n->sigint_ev = evsignal_new(n->base, SIGINT, on_signal, n);
	n->sigterm_ev = evsignal_new(n->base, SIGTERM, on_signal, n);
	n->sighup_ev = evsignal_new(n->base, SIGHUP, on_sighup, n);
	if (!n->sigint_ev || !n->sigterm_ev || !n->sighup_ev) {
		rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		goto fail;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_unlooped_signal;
	sa.sa_flags = SA_RESTART; /* as libevent sets its own: LevelDB's writes are not cut short */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	event_add(n->sigint_ev, NULL);
	event_add(n->sigterm_ev, NULL);
	event_add(n->sighup_ev, NULL);
	if (unlooped_signal) /* came before the events took over: handled once the loop runs */
		event_active(unlooped_signal == SIGINT ? n->sigint_ev : n->sigterm_ev, EV_SIGNAL, 1);
	unlooped_signal = 0;
	signal(SIGPIPE, SIG_IGN);

	uint8_t tip[HASH_LEN];
	char tiphex[65];
	chain_tip_hash(n->chain, tip);
	hex_encode(tip, HASH_LEN, tiphex);
	log_info("chain tip: height %llu %s", (unsigned long long)chain_height(n->chain), tiphex);
	log_info("JSON-RPC on http://%s:%d/ (%s)", n->cfg.rpcbind, n->cfg.rpcport,
		 n->cfg.rpcuser[0] ? "user/password" : "cookie auth, DATADIR/.cookie");
	if ((rc = node_net_start(n, err, errlen)) < 0)
		goto fail;
	if ((rc = producer_start(n, err, errlen)) < 0)
		goto fail;
	if ((rc = node_chunks_restore(n, err, errlen)) < 0) /* avail: what waited before a restart */
		goto fail;
	n->started_ms = node_now_ms();
	return 0;
fail:
	node_close(n);
	return rc;
}

int node_run(struct node *n)
{
	event_base_dispatch(n->base);
	return n->aborted ? 1 : 0;
}

void node_close(struct node *n)
{
	txaccept_stop(n); /* batches in flight admitted and answered while RPC and p2p still run */
	node_net_stop(n);
	node_chunks_free(n);
	producer_stop(n);
	if (n->sigint_ev)
		event_free(n->sigint_ev);
	if (n->sigterm_ev)
		event_free(n->sigterm_ev);
	if (n->sighup_ev)
		event_free(n->sighup_ev);
	n->sigint_ev = n->sigterm_ev = n->sighup_ev = NULL;
	/* Nothing but the RPC server is left on the loop: its queued replies
	 * (those txaccept_stop made, the 503s of waiting calls) go out now. */
	rpc_shutdown(n->rpc);
	rpc_free(n->rpc);
	n->rpc = NULL;
	mempool_free(n->mempool);
	n->mempool = NULL;
	chain_close(n->chain);
	n->chain = NULL;
	if (unlooped_signal) /* on_unlooped_signal has them until the exit */
		log_info("received %s while closing: already stopping", unlooped_signal == SIGINT ? "SIGINT" : "SIGTERM");
	unlooped_signal = 0;
	sigcache_free(n->sigcache);
	n->sigcache = NULL;
	if (n->base)
		event_base_free(n->base);
	n->base = NULL;
}
