/* The node's side of the p2p layer (docs/p2p.md §12): the net_node_ops
 * callbacks that let net/ read the chain and mempool and hand in blocks and
 * transactions, creation of net_t from the configuration, and the sync
 * progress line in the log. Not for: the wire protocol (net/) or the rules of
 * validity (chain.c, mempool.c), which it only calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <config.h>
#include "core/error.h"
#include "core/log.h"
#include "net/frame.h"
#include "net/net.h"
#include "node/node.h"

#define NODE_NET_USER_AGENT "/assayd:" PACKAGE_VERSION "/"
#define NODE_SYNC_LOG_MS 2000 /* period of the "sync:" progress line while behind */

/* Wall clock for the block-time bound, as node_now_ms gives it; read here so
 * that the callbacks link without assayd's main (bench_sync uses them). */
static uint64_t wall_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
 * used or too far ahead, funds, pool full) depends on our state and on timing
 * between honest nodes, so it is reported as "known": not relayed, no points. */
static int op_on_tx(void *ctx, const uint8_t *enc, size_t len, uint8_t txid[32])
{
	struct node *n = ctx;
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	struct tx t;
	char err[256];
	if (len > p->max_tx_bytes)
		return ASSAY_ELIMIT;
	int rc = tx_decode(&t, enc, len, p->max_tx_bytes);
	if (rc)
		return rc;
	tx_id(&t, txid);
	if (mempool_get(n->mempool, txid)) {
		tx_free(&t);
		return ASSAY_EEXISTS;
	}
	rc = tx_rules_check(p, chain_genesis(n->chain)->hash, &t, 1, err, sizeof(err));
	if (rc) {
		char hex[65];
		hex_encode(txid, HASH_LEN, hex);
		log_info("net: invalid transaction %.16s from a peer: %s", hex, err);
		tx_free(&t);
		return rc;
	}
	rc = mempool_add_verified(n->mempool, &t, txid, err, sizeof(err));
	tx_free(&t);
	if (rc == 0) {
		log_debug("mempool: accepted a transaction from a peer");
		return 0;
	}
	if (rc != ASSAY_EEXISTS)
		log_debug("mempool: refused a transaction from a peer: %s", err);
	return ASSAY_EEXISTS;
}

/* A block from a peer carries the commit of its parent, not its own: it is
 * applied with commit NULL, and the precommits for it are checked when the
 * next block (which carries them in last_commit) is applied. */
static int op_on_block(void *ctx, const uint8_t *enc, size_t len, uint64_t *height)
{
	struct node *n = ctx;
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	struct block_limits lim = {p->max_block_txs, p->max_tx_bytes};
	struct block blk;
	char err[256];
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
	rc = chain_apply_block(n->chain, &blk, NULL, wall_now_ms(), err, sizeof(err));
	if (rc == ASSAY_EEXISTS || rc == ASSAY_ENOTFOUND) {
		log_debug("net: block %llu not applied: %s", (unsigned long long)blk.hdr.height, err);
		block_free(&blk);
		return rc;
	}
	if (rc == ASSAY_ENOMEM || rc == ASSAY_EIO) {
		/* Our failure, not the peer's: no points; the block is asked again. */
		log_error("net: cannot apply block %llu: %s", (unsigned long long)blk.hdr.height, err);
		block_free(&blk);
		return rc;
	}
	if (rc) {
		log_warn("net: invalid block %llu from a peer: %s", (unsigned long long)blk.hdr.height, err);
		block_free(&blk);
		return rc;
	}
	uint8_t hash[HASH_LEN];
	block_hash(&blk, hash);
	n->txs_committed += blk.ntx;
	mempool_on_block(n->mempool, &blk);
	if (blk.ntx && !n->was_syncing) {
		char hex[65];
		hex_encode(hash, HASH_LEN, hex);
		log_info("block %llu %.16s txs=%zu (from a peer)", (unsigned long long)blk.hdr.height, hex, blk.ntx);
	}
	node_net_block_applied(n, hash, blk.hdr.height);
	block_free(&blk);
	return 0;
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

static void on_sync_log(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct net_sync_status st;
	(void)fd;
	(void)what;
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

static uint32_t magic_of(const char *network)
{
	if (strcmp(network, "testnet") == 0)
		return NET_MAGIC_TESTNET;
	if (strcmp(network, "local") == 0)
		return NET_MAGIC_LOCAL;
	return NET_MAGIC_DEV;
}

void node_net_ops(struct node *n, struct net_node_ops *ops)
{
	static const struct net_node_ops ops_template = {NULL, op_get_tip, op_get_block_at, op_has_tx,
							 op_get_tx, op_on_tx, op_on_block};
	*ops = ops_template;
	ops->ctx = n;
}

int node_net_start(struct node *n, char *err, size_t errlen)
{
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
	nc.max_connections = n->cfg.maxconnections;
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
