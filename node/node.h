/* The running node: the chain, the mempool, the RPC server, the dev block
 * producer and the event loop that drives them (one thread; signature checks
 * fan out to worker threads inside chain_apply_block). Not for: rules of
 * validity (chain.c) or wire formats (core/, net/). */
#ifndef ASSAY_NODE_NODE_H
#define ASSAY_NODE_NODE_H

#include <stdint.h>

#include <event2/event.h>

#include "node/chain.h"
#include "node/config.h"
#include "node/mempool.h"
#include "node/rpc.h"

struct net;
struct net_node_ops;

struct node {
	struct config cfg;
	struct genesis genesis;
	chain_t *chain;
	mempool_t *mempool;
	rpc_t *rpc;
	struct event_base *base;
	struct event *produce_ev;
	struct event *sigint_ev, *sigterm_ev;
	int has_key;                  /* a validator key is loaded */
	uint8_t key_pk[PUBKEY_LEN];
	uint8_t key_sk[SECKEY_LEN];
	uint64_t blocktime_ms;
	uint64_t started_ms;
	/* counters for /metrics */
	uint64_t blocks_produced, txs_committed, txs_rejected;
	struct net *net;              /* p2p (node_net.c); NULL until started */
	struct event *sync_log_ev;    /* periodic sync progress line */
	int was_syncing;
};

/* Wall clock in ms since the epoch (the node passes it into the chain). */
uint64_t node_now_ms(void);
void node_register_rpc(struct node *n);
void node_register_contract_rpc(struct node *n);
/* getjob, listjobs, getworker, listworkers, getblob, getcomputeparams. */
void node_register_compute_rpc(struct node *n);
void node_metrics(void *ctx, struct evbuffer *out);
/* Produces one block now (dev producer); logs and returns the error if any. */
int node_produce_block(struct node *n);
void node_request_stop(struct node *n);
/* node_net.c: starts p2p from the configuration (0, or an error in err),
 * offers a block the node applied to peers, and stops p2p. */
int node_net_start(struct node *n, char *err, size_t errlen);
void node_net_block_applied(struct node *n, const uint8_t hash[HASH_LEN], uint64_t height);
void node_net_stop(struct node *n);
/* The node's net_node_ops (ctx = n), for net_new; n needs chain and mempool
 * (and net once created, for relaying). */
void node_net_ops(struct node *n, struct net_node_ops *ops);
/* rpc_net.c: getpeerinfo, addnode, disconnectnode, listbanned, setban,
 * clearbanned. */
void node_register_rpc_net(struct node *n);

#endif
