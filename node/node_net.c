/* The node's side of the p2p layer (docs/p2p.md §12): the net_node_ops
 * callbacks that let net/ read the chain and mempool and hand in blocks and
 * transactions, creation of net_t from the configuration, and the sync
 * progress line in the log. Not for: the wire protocol (net/) or the rules of
 * validity (chain.c, mempool.c), which it only calls. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <config.h>
#include "core/error.h"
#include "core/log.h"
#include "net/frame.h"
#include "net/net.h"
#include "node/chunkstore.h"
#include "node/consensus.h"
#include "node/node.h"
#include "node/txaccept.h"

#define NODE_NET_USER_AGENT "/assayd:" PACKAGE_VERSION "/"
#define NODE_SYNC_LOG_MS 2000 /* period of the "sync:" progress line while behind */

static void op_get_tip(void *ctx, uint64_t *height, uint8_t hash[32])
{
	struct node *n = ctx;
	*height = chain_height(n->chain);
	chain_tip_hash(n->chain, hash);
}

static int op_get_block_at(void *ctx, uint64_t height, uint8_t **enc, size_t *len)
{
	struct node *n = ctx;
	return chain_get_block_raw_at(n->chain, height, enc, len);
}

static int op_has_tx(void *ctx, const uint8_t txid[32])
{
	struct node *n = ctx;
	return mempool_get(n->mempool, txid) != NULL;
}

static int op_get_tx(void *ctx, const uint8_t txid[32], uint8_t **enc, size_t *len)
{
	struct node *n = ctx;
	const struct tx *t = mempool_get(n->mempool, txid);
	if (!t)
		return ASSAY_ENOTFOUND;
	struct buf b;
	buf_init(&b);
	tx_encode(t, &b);
	*enc = malloc(b.len ? b.len : 1);
	if (!*enc) {
		buf_free(&b);
		return ASSAY_ENOMEM;
	}
	memcpy(*enc, b.data, b.len);
	*len = b.len;
	buf_free(&b);
	return 0;
}

/* Only what is wrong with the transaction itself (encoding, chain, size, fee
 * floor, signature) counts against the peer. A mempool refusal (nonce already
 * used or too far ahead, funds, pool full, or our own failure) depends on our
 * state and on timing between honest nodes, so it is reported as "known": not
 * relayed, no points. On 0, net/ relays it to every peer but the sender. */
static int op_on_tx(void *ctx, const uint8_t *enc, size_t len, uint8_t txid[32])
{
	struct node *n = ctx;
	enum txaccept_stage stage;
	char err[256];
	int rc = txaccept_submit(n, enc, len, TXACCEPT_FROM_PEER, txid, &stage, err, sizeof(err));
	if (rc && rc != ASSAY_EEXISTS && stage == TXACCEPT_MEMPOOL)
		return ASSAY_EEXISTS;
	return rc;
}

/* The same verdicts, with the signature checked on the verification pool
 * in the batch of this event-loop turn: NET_TX_PENDING then, and the
 * verdict comes through node_net_tx_verdict. */
static int op_on_tx_from(void *ctx, uint64_t peer, const uint8_t *enc, size_t len, uint8_t txid[32])
{
	struct node *n = ctx;
	enum txaccept_stage stage;
	int rc = txaccept_relay(n, peer, enc, len, txid, &stage);
	if (rc == TXACCEPT_PENDING)
		return NET_TX_PENDING;
	if (rc && rc != ASSAY_EEXISTS && stage == TXACCEPT_MEMPOOL)
		return ASSAY_EEXISTS;
	return rc;
}

void node_net_tx_verdict(struct node *n, uint64_t peer, const uint8_t txid[HASH_LEN], int rc,
			 enum txaccept_stage stage)
{
	if (rc && rc != ASSAY_EEXISTS && stage == TXACCEPT_MEMPOOL)
		rc = ASSAY_EEXISTS;
	if (n->net)
		net_tx_verdict(n->net, peer, txid, rc);
}

/* The commit that lets a peer's block at tip + 1 join the chain. A block
 * carries its parent's commit, not its own, and nothing in it that only the
 * validators could make binds its transactions: anyone can take a real
 * header, change the transactions and recompute tx_root and state_root (the
 * proposer's beacon proof is deterministic, so it still holds). Only the
 * precommits for the block's hash say it is the one finalized. They come
 * from the engine (consensus_known_commit) or from the block after it
 * (next, from sync), whose last_commit is checked first: if it does not
 * hold, next is what is wrong (*bad_next); if it holds for another hash,
 * this block is not the one the validators committed. 0 with *cm filled;
 * ASSAY_EUNAVAIL none known yet; the block's fault; a local failure. */
static int block_commit(struct node *n, const struct block *blk, const uint8_t hash[HASH_LEN],
			const uint8_t *next, size_t next_len, struct commit *cm, int *bad_next, char *err,
			size_t errlen)
{
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	struct block_limits lim = {p->max_block_txs, p->max_tx_bytes};
	uint64_t h = blk->hdr.height;
	int rc = consensus_known_commit(n, h, hash, cm);
	if (rc == 1) {
		/* rare: the engine saw the votes but not the proposal in time */
		log_info("net: block %llu joins with the commit the engine knows (round %u)", (unsigned long long)h,
			 cm->round);
		return 0;
	}
	if (rc == ASSAY_EINVALID)
		return assay_fail(err, errlen, rc, "the validators committed another block at height %llu",
				  (unsigned long long)h);
	struct block_header nh;
	struct commit ncm;
	if (next && (next_len > p->max_block_bytes || (rc = block_read_commit(next, next_len, &lim, &nh, &ncm)) != 0)) {
		if (next_len > p->max_block_bytes || !assay_err_is_local(rc))
			*bad_next = 1;
		next = NULL;
	}
	if (next) {
		char why[200];
		rc = nh.height != h + 1 ? ASSAY_EINVALID : chain_check_next_commit(n->chain, &ncm, why, sizeof(why));
		if (rc == 0 && memcmp(ncm.block_hash, hash, HASH_LEN) != 0)
			rc = assay_fail(err, errlen, ASSAY_EINVALID,
					"the validators committed another block at height %llu (block %llu's last_commit)",
					(unsigned long long)h, (unsigned long long)h + 1);
		else if (rc == 0) {
			*cm = ncm; /* moved */
			memset(&ncm, 0, sizeof(ncm));
		} else if (assay_err_is_local(rc))
			rc = assay_fail(err, errlen, rc, "%s", why);
		else
			*bad_next = 1;
		commit_free(&ncm);
		if (!*bad_next)
			return rc;
	}
	/* no commit yet: a block that breaks a rule is refused now (no commit
	 * could make it valid), else it waits for one; the execution is kept,
	 * so connecting it then costs no second one */
	if ((rc = chain_check_block(n->chain, blk, node_now_ms(), err, errlen)) != 0)
		return rc;
	return assay_fail(err, errlen, ASSAY_EUNAVAIL, "no commit known for block %llu yet", (unsigned long long)h);
}

/* A block from a peer, connected only with its own commit (block_commit).
 * Blocks at other heights than tip + 1 get the chain's verdict (at or below
 * the tip, or not extending it). */
static int op_on_block(void *ctx, const uint8_t *enc, size_t len, const uint8_t *next, size_t next_len,
		       uint64_t *height)
{
	struct node *n = ctx;
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	struct block_limits lim = {p->max_block_txs, p->max_tx_bytes};
	struct block blk;
	struct commit cm = {0};
	uint8_t hash[HASH_LEN];
	char err[256];
	int bad_next = 0, have_commit = 0;
	*height = 0;
	if (len > p->max_block_bytes) {
		log_info("net: refused a block of %zu bytes (limit %llu)", len, (unsigned long long)p->max_block_bytes);
		return ASSAY_ELIMIT;
	}
	int rc = block_decode(&blk, enc, len, &lim);
	if (rc) {
		log_info("net: refused a block that does not decode: %s", assay_strerror(rc));
		return rc;
	}
	*height = blk.hdr.height;
	block_hash(&blk, hash);
	if (blk.hdr.height == chain_height(n->chain) + 1) {
		rc = block_commit(n, &blk, hash, next, next_len, &cm, &bad_next, err, sizeof(err));
		have_commit = rc == 0;
	}
	if (rc == 0)
		rc = node_connect_block(n, &blk, have_commit ? &cm : NULL, NODE_BLOCK_PEER, err, sizeof(err));
	commit_free(&cm);
	if (rc == ASSAY_EUNAVAIL && !have_commit) {
		log_debugc(LOG_CAT_NET, "net: block %llu waits: %s", (unsigned long long)blk.hdr.height, err);
		rc = bad_next ? NET_BLOCK_NEXT_INVALID : NET_BLOCK_WAIT;
	} else if (rc == ASSAY_EEXISTS || rc == ASSAY_ENOTFOUND || rc == ASSAY_EUNAVAIL) /* EUNAVAIL: waits for chunks */
		log_debugc(LOG_CAT_NET, "net: block %llu not applied: %s", (unsigned long long)blk.hdr.height, err);
	else if (rc && !assay_err_is_local(rc))
		log_warn("net: invalid block %llu from a peer: %s", (unsigned long long)blk.hdr.height, err);
	block_free(&blk);
	/* Our own failure (node_connect_block aborted the node) is no fault of
	 * the peer's: reported as ASSAY_EIO, no points. */
	return assay_err_is_local(rc) ? ASSAY_EIO : rc;
}

/* A proposal or vote: the engine's verdict, with our own failure reported
 * as ASSAY_EIO (no points for the peer). */
static int op_on_consensus(void *ctx, int is_vote, const uint8_t *p, size_t len)
{
	int rc = consensus_on_message(ctx, is_vote, p, len);
	return assay_err_is_local(rc) ? ASSAY_EIO : rc;
}

static void format_eta(double seconds, char *out, size_t outlen)
{
	if (seconds < 0 || seconds > 1e7) {
		snprintf(out, outlen, "unknown");
		return;
	}
	unsigned long s = (unsigned long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(out, outlen, "%luh%02lum", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(out, outlen, "%lum%02lus", s / 60, s % 60);
	else
		snprintf(out, outlen, "%lus", s);
}

/* A transaction admitted while the node had no peers (or before a peer
 * came) was announced to nobody, and nothing would announce it later: each
 * peer that has come since the last tick hears of the whole mempool, as a
 * Bitcoin Core node answers a new peer's `mempool`. net/ skips a peer that
 * knows a hash already, so the older peers are not sent it again. */
static void announce_mempool_to_new_peers(struct node *n)
{
	struct net_peer_info *info;
	size_t count;
	if (net_peers(n->net, &info, &count) < 0)
		return;
	uint64_t newest = n->announced_to_peer;
	for (size_t i = 0; i < count; i++)
		if (info[i].ready && info[i].id > newest)
			newest = info[i].id;
	free(info);
	if (newest == n->announced_to_peer)
		return;
	n->announced_to_peer = newest;
	size_t cap = mempool_size(n->mempool);
	const struct tx **txs = cap ? malloc(cap * sizeof(*txs)) : NULL;
	if (!txs)
		return; /* empty, or out of memory: the next new peer tries again */
	size_t k = mempool_select(n->mempool, txs, cap);
	for (size_t i = 0; i < k; i++) {
		uint8_t txid[HASH_LEN];
		tx_id(txs[i], txid);
		net_announce_tx(n->net, txid);
	}
	free(txs);
}

static void on_sync_log(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct net_sync_status st;
	(void)fd;
	(void)what;
	announce_mempool_to_new_peers(n);
	net_sync_status(n->net, &st);
	if (st.syncing) {
		char eta[32];
		double left = (double)(st.target - st.height);
		format_eta(st.blocks_per_s > 0.01 ? left / st.blocks_per_s : -1, eta, sizeof(eta));
		log_info("sync: height %llu / %llu (%.1f%%), %.1f blocks/s, ETA %s", (unsigned long long)st.height,
			 (unsigned long long)st.target, 100.0 * st.progress, st.blocks_per_s, eta);
	} else if (n->was_syncing) {
		log_info("sync: caught up at height %llu", (unsigned long long)st.height);
	}
	n->was_syncing = st.syncing;
}

/* The wire magic of the genesis's network (core/network.h); the genesis
 * parser accepts only known names, so the dev fallback is never taken. */
static uint32_t magic_of(const char *network)
{
	const struct network_info *info = network_find(network);
	return info ? info->magic : NET_MAGIC_DEV;
}

static int op_has_chunk(void *ctx, const uint8_t hash[32])
{
	struct node *n = ctx;
	return chunkstore_has(chain_store(n->chain), hash) == 1;
}

static int op_get_chunk(void *ctx, const uint8_t hash[32], uint8_t **enc, size_t *len)
{
	struct node *n = ctx;
	return chunkstore_get(chain_store(n->chain), hash, enc, len);
}

/* A chunk from a peer: our own failure is reported as ASSAY_EIO (no points). */
static int op_on_chunk(void *ctx, const uint8_t *enc, size_t len, uint8_t hash[32])
{
	char err[200];
	int rc = node_chunks_accept(ctx, enc, len, hash, err, sizeof(err));
	if (rc && rc != ASSAY_EEXISTS)
		log_debug("net: chunk not taken: %s", err);
	return assay_err_is_local(rc) ? ASSAY_EIO : rc;
}

void node_net_ops(struct node *n, struct net_node_ops *ops)
{
	static const struct net_node_ops ops_template = {NULL,	     op_get_tip,   op_get_block_at, op_has_tx,
							 op_get_tx,  op_on_tx,	   op_on_block,	    op_has_chunk,
							 op_get_chunk, op_on_chunk};
	*ops = ops_template;
	ops->ctx = n;
}

/* Descriptors p2p peers may never take, beside RPC's own connections:
 * LevelDB's table files, what RPC keeps free for everyone else, and the
 * process's own (log, lock, event loop, pipes). Peers that took these would
 * make a LevelDB read fail, and the node would stop (docs/reliability.md §2). */
#define NODE_NET_FD_RESERVE (STORE_MAX_OPEN_FILES + RPC_RESERVED_FDS + 32)

/* The p2p connection cap: -maxconnections, lowered to what the descriptor
 * limit leaves (as Bitcoin Core does), at least one outbound target's worth. */
static int p2p_connection_budget(int wanted, int rpc_connections)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return wanted;
	long room = (long)rl.rlim_cur - NODE_NET_FD_RESERVE - rpc_connections;
	if (room >= wanted)
		return wanted;
	int cap = room > NET_OUTBOUND_TARGET + 1 ? (int)room : NET_OUTBOUND_TARGET + 1;
	log_warn("p2p: at most %d connections of the %d asked: the descriptor limit is %llu (raise it with "
		 "ulimit -n)", cap, wanted, (unsigned long long)rl.rlim_cur);
	return cap;
}

/* HOST:PORT as a numeric "ip:port" ("[v6]:port") in out: a name is resolved
 * once, here, because net/ takes numeric addresses only. 0, or -1 (logged:
 * a seed that cannot be resolved costs the node nothing else). */
static int resolve_seed(const char *hostport, char *out, size_t outlen)
{
	char host[128];
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host) || !colon[1]) {
		log_warn("p2p: seed %s: want HOST:PORT", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [v6]:port */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0 || !res) {
		log_warn("p2p: seed %s: cannot resolve (%s)", hostport, gai_strerror(rc));
		return -1;
	}
	char ip[64];
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST);
	int v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	if (rc != 0)
		return -1;
	snprintf(out, outlen, v6 ? "[%s]:%s" : "%s:%s", ip, colon + 1);
	return 0;
}

/* The seeds to start from: the compiled network's seeds.txt when the node
 * runs that network's own genesis (a private chain of the same network name
 * does not ask the public seeds), then -seednode. Not with -connect. */
static int collect_seeds(struct node *n, char seeds[][128], int max)
{
	int count = 0;
	if (n->cfg.nconnect > 0)
		return 0;
	const struct network_builtin *b = genesis_builtin_of(&n->genesis);
	const char *cursor = b ? b->seeds : NULL;
	char hostport[128];
	while (cursor && count < max && network_seed_next(&cursor, hostport, sizeof(hostport)))
		if (resolve_seed(hostport, seeds[count], 128) == 0)
			count++;
	for (int i = 0; i < n->cfg.nseednode && count < max; i++)
		if (resolve_seed(n->cfg.seednode[i], seeds[count], 128) == 0)
			count++;
	return count;
}

int node_net_start(struct node *n, char *err, size_t errlen)
{
	char seeds[2 * CONFIG_MAX_MULTI][128];
	const char *seedp[2 * CONFIG_MAX_MULTI];
	const char *addnode[CONFIG_MAX_MULTI], *connect[CONFIG_MAX_MULTI];
	struct net_node_ops ops;
	struct net_config nc;
	memset(&nc, 0, sizeof(nc));
	node_net_ops(n, &ops);
	nc.magic = magic_of(n->genesis.network_name);
	memcpy(nc.chain_id, n->genesis.hash, HASH_LEN);
	nc.datadir = n->cfg.datadir;
	nc.listen = n->cfg.listen;
	nc.bind = n->cfg.bind[0] ? n->cfg.bind : NULL;
	nc.port = (uint16_t)n->cfg.port;
	for (int i = 0; i < n->cfg.naddnode; i++)
		addnode[i] = n->cfg.addnode[i];
	for (int i = 0; i < n->cfg.nconnect; i++)
		connect[i] = n->cfg.connect[i];
	nc.addnode = addnode;
	nc.naddnode = n->cfg.naddnode;
	nc.connect = connect;
	nc.nconnect = n->cfg.nconnect;
	nc.nseeds = collect_seeds(n, seeds, 2 * CONFIG_MAX_MULTI);
	for (int i = 0; i < nc.nseeds; i++)
		seedp[i] = seeds[i];
	nc.seeds = seedp;
	nc.max_connections = p2p_connection_budget(n->cfg.maxconnections, n->cfg.rpcmaxconnections);
	nc.user_agent = NODE_NET_USER_AGENT;
	nc.max_block_bytes = chain_genesis(n->chain)->params.max_block_bytes;
	if (n->cfg.port < 0 || n->cfg.port > 65535) {
		snprintf(err, errlen, "-port must be between 0 and 65535");
		return ASSAY_EARG;
	}
	char nerr[256];
	n->net = net_new(n->base, &nc, &ops, nerr, sizeof(nerr));
	if (!n->net) {
		snprintf(err, errlen, "p2p: %s", nerr);
		return ASSAY_EIO;
	}
	net_set_consensus_handler(n->net, op_on_consensus, n);
	net_set_tx_handler(n->net, op_on_tx_from, n); /* signatures in batches on the pool */
	struct timeval tv = {NODE_SYNC_LOG_MS / 1000, (NODE_SYNC_LOG_MS % 1000) * 1000};
	n->sync_log_ev = event_new(n->base, -1, EV_PERSIST, on_sync_log, n);
	if (n->sync_log_ev)
		event_add(n->sync_log_ev, &tv);
	if (nc.listen)
		log_info("p2p: listening on %s:%u", nc.bind ? nc.bind : "0.0.0.0", net_listen_port(n->net));
	else
		log_info("p2p: not listening (-nolisten)");
	return 0;
}

void node_net_block_applied(struct node *n, const uint8_t hash[HASH_LEN], uint64_t height)
{
	if (n->net)
		net_announce_block(n->net, hash, height);
	consensus_on_block_connected(n, height);
}

void node_net_stop(struct node *n)
{
	if (n->sync_log_ev) {
		event_free(n->sync_log_ev);
		n->sync_log_ev = NULL;
	}
	if (n->net) {
		net_free(n->net);
		n->net = NULL;
	}
}
