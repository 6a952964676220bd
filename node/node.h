/* The running node: the chain, the mempool, the RPC server, the block
 * producer and the event loop that drives them (one thread; signature checks
 * fan out to worker threads inside chain_apply_block, and admission's to the
 * verification pool, txaccept.h), with its lifecycle
 * (node.c), its single entry points for a transaction (txaccept.h) and a
 * block (node_connect_block), and its abort on a local failure. Not for:
 * rules of validity (chain.c) or wire formats (core/, net/). */
#ifndef ASSAY_NODE_NODE_H
#define ASSAY_NODE_NODE_H

#include <stdint.h>

#include <event2/event.h>

#include "node/chain.h"
#include "node/config.h"
#include "node/mempool.h"
#include "node/rpc.h"

struct net;
struct txaccept;
struct net_node_ops;

/* Chunks asked of peers for the blocks and proposals being checked that
 * are remembered as wanted (node_chunks.c): one check's worth. */
#define NODE_CHUNKS_ASKED_MAX 256

struct node {
	struct config cfg;
	struct genesis genesis;
	chain_t *chain;
	mempool_t *mempool;
	struct sigcache *sigcache;    /* signatures verified on admission (sigcache.h) */
	struct txaccept *txaccept;    /* admission's verification pool (txaccept.h); NULL: none */
	rpc_t *rpc;
	struct event_base *base;
	struct consensus *consensus;  /* the BFT driver (consensus.c); NULL: not started */
	struct event *sigint_ev, *sigterm_ev, *sighup_ev; /* sighup: reopen debug.log */
	int has_key;                  /* a validator key is loaded */
	uint8_t key_pk[PUBKEY_LEN];
	uint8_t key_sk[SECKEY_LEN];
	uint64_t blocktime_ms;
	uint64_t started_ms;
	/* counters for /metrics */
	uint64_t blocks_produced, txs_committed, txs_rejected;
	struct net *net;              /* p2p (node_net.c); NULL until started */
	struct event *sync_log_ev;    /* every NODE_SYNC_LOG_MS: sync progress line, mempool to new peers */
	uint64_t announced_to_peer;   /* highest peer id our mempool was announced to (node_net.c) */
	int was_syncing;
	int aborted;                  /* node_abort ran: nothing more is written; exit status 1 */
	int stop_requested;           /* node_request_stop ran: a repeated SIGTERM only says so */
	int addrindex_ready;          /* rpc_extra.c: -addrindex is built to the tip and kept */
	uint8_t *avail_pending;       /* node_chunks.c: a peer's block waiting for its chunks (encoded) */
	size_t avail_pending_len;
	struct buf *avail_parked;     /* node_chunks.c: job_chunks txs waiting for their chunks (encoded) */
	size_t avail_nparked;
	int avail_unparking;          /* node_chunks.c: offering the parked ones again */
	/* node_chunks.c: the tip's height when out of memory left its block's
	 * chunks unmarked (0: none); they are marked before the next block */
	uint64_t avail_marks_owed;
	/* node_chunks.c: the chunks last asked of peers for a block or a
	 * proposal being checked, newest over oldest */
	uint8_t avail_asked[NODE_CHUNKS_ASKED_MAX][HASH_LEN];
	size_t avail_nasked, avail_asked_next;
};

/* Where a block to connect comes from (what is counted and logged). */
enum node_block_origin {
	NODE_BLOCK_PRODUCED, /* decided by this node's consensus engine (consensus.c) */
	NODE_BLOCK_PEER,     /* received from a peer, relayed or during sync */
};

/* node.c: the lifecycle and the one clock. */
/* Wall clock in ms since the epoch; the one clock of the node, passed into
 * the chain (block time bounds) and read by nothing else. */
uint64_t node_now_ms(void);
/* Opens everything from n->cfg, n->genesis and the key already in n: checks
 * the free-space floor, opens the chain (and replays it with -reindex), the
 * mempool, the event loop, RPC, signals, p2p and the producer. 0, or an
 * error in err with everything opened so far closed again; ASSAY_ECANCELED
 * when SIGINT/SIGTERM stopped a reindex (the next start resumes it). */
int node_open(struct node *n, char *err, size_t errlen);
/* Runs the event loop until a stop; 0, or 1 when the node aborted. */
int node_run(struct node *n);
/* Closes what node_open opened (after node_run, or never run). */
void node_close(struct node *n);
/* Asks the loop to stop (stop RPC, SIGINT/SIGTERM, abort): no block is
 * produced after it, and a short grace lets an RPC reply leave. */
void node_request_stop(struct node *n);
/* The node cannot go on (a local failure writing or applying a block, or
 * the free-space floor): logs one error, ("disk full: free space under DIR
 * and restart" when the filesystem is full), stops producing, writes
 * nothing more, and stops with exit status 1 (Bitcoin Core's AbortNode).
 * Once only; later calls do nothing. */
void node_abort(struct node *n, int rc, const char *what);
/* 0 when the datadir's filesystem has at least -minfreespace MB free (or
 * the floor is off, or the filesystem cannot be examined); ASSAY_EFULL with
 * a message naming DIR otherwise. */
int node_check_free_space(const struct node *n, char *err, size_t errlen);
/* The one way a block joins the chain, for the producer, p2p relay and
 * sync: checks the free-space floor, applies blk (commit may be NULL, see
 * chain_apply_block), and once it is durably written drops what it included
 * from the mempool, counts it, logs it and announces it to peers. A local
 * failure aborts the node (node_abort); after an abort every call fails
 * with ASSAY_EIO without writing. Returns chain_apply_block's code, with its
 * message in err. */
int node_connect_block(struct node *n, const struct block *blk, const struct commit *commit,
		       enum node_block_origin origin, char *err, size_t errlen);

void node_register_rpc(struct node *n);
void node_register_contract_rpc(struct node *n);
/* getjob, listjobs, getworker, listworkers, getblob, getcomputeparams. */
void node_register_compute_rpc(struct node *n);
/* node_chunks.c / rpc_chunks.c: output chunks (docs/compute.md §15). */
void node_register_chunks_rpc(struct node *n);
/* The one "accept a chunk" path (RPC and p2p): checks it against the tip
 * state, stores it, announces it to peers, and connects a waiting block it
 * completes. Errors as chunkstore_accept's. */
int node_chunks_accept(struct node *n, const uint8_t *enc, size_t len, uint8_t hash[HASH_LEN], char *err,
		       size_t errlen);
/* Availability of a peer's block before it is applied: 0 available;
 * ASSAY_EUNAVAIL (the missing chunks are asked of the peers, and the block
 * kept with its commit cm to connect when they arrive; cm NULL: not kept);
 * ASSAY_EINVALID; or a local failure. */
int node_chunks_check_block(struct node *n, const struct block *blk, const struct commit *cm, char *err,
			    size_t errlen);
/* The same for a BFT proposal (consensus.c): missing chunks are asked for,
 * the block is not kept (consensus.c keeps the proposal and judges it again
 * when node_chunks_completes says its chunks are in). */
int node_chunks_check_proposal(struct node *n, const struct block *blk, char *err, size_t errlen);
/* Whether chunk, just stored, completes blk: 1 when blk names it and
 * every chunk blk names is held (nothing is asked of the peers), 0 when
 * not, or a local failure. */
int node_chunks_completes(struct node *n, const struct block *blk, const uint8_t chunk[HASH_LEN]);
/* Whether a block at height skips the availability check (compute.md
 * §15.4): only one that came with its own commit (committed: the
 * validators that finalized it checked its chunks, which may be pruned
 * everywhere since), and only more than retention blocks below best, the
 * best height known. A proposal never does: best is what peers claim, and a
 * peer claiming a huge height would otherwise have validators vote for
 * blocks whose chunks nobody holds. */
int node_chunks_exempt(uint64_t height, uint64_t best, uint64_t retention, int committed);
/* Mempool policy: a job_chunks transaction is admitted only when every
 * chunk it references is held (so a block built from the mempool is
 * available here). 0, or ASSAY_EUNAVAIL with a message; such a transaction
 * is parked (NODE_CHUNKS_PARKED_MAX in all, NODE_CHUNKS_PARKED_PER_SENDER
 * of one sender) and offered to the mempool again as chunks arrive, while
 * its chunks are asked of the peers. Only for a transaction whose
 * signature verified and that the mempool would admit now: txaccept.c has
 * the mempool ask it after its own checks (mempool_add_checked_when), so
 * that nothing that cannot be mined is parked. */
int node_chunks_tx_ready(struct node *n, const struct tx *t, char *err, size_t errlen);
/* job_chunks transactions kept while their chunks are on the way; the
 * oldest is dropped beyond this. */
#define NODE_CHUNKS_PARKED_MAX 64
/* Of them, the most of one sender: its oldest is dropped beyond this. */
#define NODE_CHUNKS_PARKED_PER_SENDER 4
/* The chunk store is pruned at the heights that are multiples of this: a
 * pass reads one record per root held, so it runs once in this many blocks
 * rather than after each, and a job's chunks outlive
 * chunk_retention_blocks after its end by less than this many blocks. */
#define NODE_CHUNKS_PRUNE_EVERY 32
/* After blk joined the chain: the chunks it names are marked, so that
 * clients walking an output are served the chain's own chunks, and an
 * uploaded root's other chunks go (chunkstore_mark_block). Out of memory
 * leaves them unmarked and owed (n->avail_marks_owed): they must be marked
 * before the next block's, since that one's marking deletes the chunks of
 * an uploaded root that carry no mark, those a connected block named but
 * could not mark included. A failed write stops the node as any chunk
 * write does. Marking is idempotent: node_chunks_restore marks the tip
 * block again. */
void node_chunks_mark(struct node *n, const struct block *blk);
/* Marks what node_chunks_mark owes, before the next block joins
 * (node_connect_block): 0 when nothing is owed or it is marked now, else
 * the local failure (out of memory again, a failed read of the block) with
 * err filled; the block must not join then. */
int node_chunks_mark_owed(struct node *n, char *err, size_t errlen);
/* After a block connected: prunes chunks past their retention (every
 * NODE_CHUNKS_PRUNE_EVERY blocks) and connects a block that waited. */
void node_chunks_block_connected(struct node *n, uint64_t height);
/* At start: marks the tip block's chunks again (a process killed after
 * the block's write missed them) and takes up the block and transactions
 * that waited for chunks when the node last stopped (kept in the store).
 * 0, or the local failure that must stop the start (a record or the tip
 * block the store fails to read: taken for none, it would be forgotten),
 * with err filled. */
int node_chunks_restore(struct node *n, char *err, size_t errlen);
void node_chunks_free(struct node *n);
/* rpc_simulate.c: simulatetransaction (a dry run on the committed state). */
void node_register_simulate_rpc(struct node *n);
/* rpc_extra.c: getbestblockhash, getblockheader, getnetworkinfo,
 * getconnectioncount, uptime, validateaddress, decoderawtransaction,
 * estimatefee, listtransactions (with -addrindex, which it builds for the
 * stored blocks and keeps from then on), waitfornewblock and waitforjob
 * (long polls woken by rpc_deferred_wake from node_connect_block). */
void node_register_extra_rpc(struct node *n);
/* node_rpc.c: the transaction object of getblock verbosity 2 and
 * gettransaction (a new reference). */
json_t *node_tx_json(const struct node *n, const struct tx *t);
/* node_rpc.c: a transaction's bytes from a hex parameter of method `what`:
 * 0, or -1 with e filled (-32602 not a string, -22 not hex). *raw is
 * malloc()ed; the caller frees it. */
int node_raw_tx_param(json_t *hex, const char *what, uint8_t **raw, size_t *len, struct rpc_error *e);
/* rpc_validators.c: getvalidators. */
void node_register_validators_rpc(struct node *n);
/* rpc_consensus.c: getconsensusstate (registered when consensus starts). */
void node_register_consensus_rpc(struct node *n);
/* rpc_consensus.c: getblock's last_commit object (round, signers with
 * address and power, power signed, total power; powers null once the state
 * no longer keeps that height's set); a new reference. */
json_t *node_commit_json(struct node *n, const struct commit *c);
void node_metrics(void *ctx, struct evbuffer *out);
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
