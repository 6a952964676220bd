/* The p2p layer as the node sees it (docs/p2p.md): listen and dial on a
 * libevent base, keep peers, gossip transactions and blocks the node says are
 * valid, download blocks in ranges and hand them to the node in height
 * order, persist the address book and bans in the datadir.
 * Everything runs on the thread of the event base; callbacks into the node are
 * made from it. Not for: validating anything (the node does, via ops). */
#ifndef ASSAY_NET_NET_H
#define ASSAY_NET_NET_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define NET_DEFAULT_MAX_CONNECTIONS 64 /* when net_config.max_connections is 0; assayd -maxconnections default */
#define NET_OUTBOUND_TARGET 8           /* outbound peers we keep from the address book */
#define NET_MAX_TARGETS 64              /* -addnode / -connect / net_addnode entries */
#define NET_BAN_DEFAULT_S (24 * 3600)   /* misbehaviour ban length */
/* Inbound connections that come to nothing (refused, or closed before the
 * handshake) are anyone's to make: one info line per this interval, saying
 * how many more there were; each is a -debug=net line. */
#define NET_INBOUND_LOG_INTERVAL_MS 60000
#define NET_BAN_MAX_S (10 * 365 * 86400) /* longest ban net_setban makes: 10 years */

#define NET_BLOCK_WAIT 1         /* on_block: no commit known for it yet */
#define NET_BLOCK_NEXT_INVALID 2 /* on_block: the next block is invalid */
/* A block answered NET_BLOCK_WAIT is offered again, while the block after
 * it has not come, at most this often (or at once after
 * net_block_wait_retry): each offer decodes and hashes it again, up to the
 * chain's block limit, and sync steps run every few hundred ms. */
#define NET_BLOCK_WAIT_RETRY_MS 2000

struct net_node_ops {       /* callbacks into the node; all run on the libevent thread */
	void *ctx;
	void (*get_tip)(void *ctx, uint64_t *height, uint8_t hash[32]);
	int (*get_block_at)(void *ctx, uint64_t height, uint8_t **enc, size_t *len);   /* malloc()ed encoded block */
	int (*has_tx)(void *ctx, const uint8_t txid[32]);
	int (*get_tx)(void *ctx, const uint8_t txid[32], uint8_t **enc, size_t *len);   /* from the mempool */
	int (*on_tx)(void *ctx, const uint8_t *enc, size_t len, uint8_t txid[32]);      /* 0 accepted (relay), ASSAY_EEXISTS known, other <0 invalid (score) */
	/* 0 applied, ASSAY_EEXISTS height at or below the tip, ASSAY_ENOTFOUND does
	 * not extend the tip, ASSAY_ENOMEM/ASSAY_EIO our own failure (no points),
	 * ASSAY_EUNAVAIL the node keeps it until its chunks come (no points),
	 * NET_BLOCK_WAIT no commit for it is known yet (no points: sync keeps it
	 * and offers it again), NET_BLOCK_NEXT_INVALID next (below) is what is
	 * invalid (its sender is scored and it is fetched again; this block is
	 * not judged), other <0 invalid (score + ban). *height: the header's
	 * height (0 if it does not decode). A block sent as tip + 1 that is
	 * EEXISTS/ENOTFOUND, or whose header height is not the one it was sent
	 * under, is invalid too: finalized chains have no honest forks
	 * (docs/p2p.md §7). next: the block sync holds for the height after it
	 * (whose last_commit may be this block's commit), NULL if none; it is
	 * read before anything is applied, and not kept. */
	int (*on_block)(void *ctx, const uint8_t *enc, size_t len, const uint8_t *next, size_t next_len,
			uint64_t *height);
	/* Output chunks (docs/p2p.md §4): has 1/0; get malloc()ed encoding;
	 * on_chunk 0 accepted (relay), ASSAY_EEXISTS or ASSAY_ENOTFOUND (held,
	 * or not checkable here yet: no points), ASSAY_EIO ours, other <0
	 * invalid (score). NULL: chunks ignored. */
	int (*has_chunk)(void *ctx, const uint8_t hash[32]);
	int (*get_chunk)(void *ctx, const uint8_t hash[32], uint8_t **enc, size_t *len);
	int (*on_chunk)(void *ctx, const uint8_t *enc, size_t len, uint8_t hash[32]);
};

struct net_config {
	uint32_t magic;                /* NET_MAGIC_* of net/frame.h */
	uint8_t chain_id[32];          /* genesis hash */
	const char *datadir;           /* banlist.dat and peers.dat live here; NULL: not persisted */
	int listen;                    /* accept inbound connections */
	const char *bind;              /* numeric address to listen on; NULL: all (0.0.0.0) */
	uint16_t port;                 /* listen port; 0 picks a free one (see net_listen_port) */
	const char *const *addnode;    /* "ip:port" peers to keep connected */
	int naddnode;
	const char *const *connect;    /* if nconnect > 0: only these, no address book dialing */
	int nconnect;
	const char *const *seeds;      /* "ip:port" seed nodes (numeric): put in the address book */
	int nseeds;
	int max_connections;           /* inbound + outbound; 0: NET_DEFAULT_MAX_CONNECTIONS; at most NET_SYNC_MAX_PEERS */
	const char *user_agent;        /* e.g. "/assayd:0.1.0/"; at most 64 bytes are sent */
	uint64_t max_block_bytes;      /* the chain's block size limit; 0: NET_MAX_OBJECT. Sync
					* refuses (and scores) larger blocks on arrival */
};

typedef struct net net_t;

/* Starts listening (if asked) and dialing. NULL on failure, with a message
 * in err. The config's strings are copied. */
net_t *net_new(struct event_base *base, const struct net_config *cfg, const struct net_node_ops *ops, char *err, size_t errlen);
void net_free(net_t *n);              /* closes sockets, persists address book and bans */
/* A transaction handler used instead of ops.on_tx once set: the same
 * verdicts, or NET_TX_PENDING with txid filled when the verdict comes
 * later, through net_tx_verdict with the sending peer's id (the node
 * checks signatures in batches). */
#define NET_TX_PENDING 1
typedef int (*net_tx_fn)(void *ctx, uint64_t peer, const uint8_t *enc, size_t len, uint8_t txid[32]);
void net_set_tx_handler(net_t *n, net_tx_fn fn, void *ctx);
/* The later verdict (as on_tx's) on a transaction the handler took as
 * NET_TX_PENDING from peer `peer`: relayed to every peer but that one on
 * 0, the peer scored when invalid (nothing when it has left). */
void net_tx_verdict(net_t *n, uint64_t peer, const uint8_t txid[32], int rc);
/* The node accepted a tx into its mempool: offer it to peers. */
void net_announce_tx(net_t *n, const uint8_t txid[32]);
/* The node applied a block: offer it to peers that are behind, and remember
 * hash → height so that getdata for it can be answered. */
void net_announce_block(net_t *n, const uint8_t hash[32], uint64_t height);
/* Announces an output chunk the node accepted to every peer (inv). */
void net_announce_chunk(net_t *n, const uint8_t hash[32]);
/* Asks every ready peer for these chunks (getdata), for a block that
 * references them (docs/compute.md §15.4); one that lacks them answers
 * notfound. */
void net_request_chunks(net_t *n, const uint8_t (*hashes)[32], size_t count);
void net_on_tip_changed(net_t *n);
/* The node learnt a commit for a height whose block it may not hold (the
 * engine decided it without the block): a buffered block waiting for its
 * commit is offered again at the next sync step, not after
 * NET_BLOCK_WAIT_RETRY_MS. */
void net_block_wait_retry(net_t *n);
/* A BFT proposal (with its block) or vote from a peer, payload as sent
 * (docs/p2p.md §4), is handed to fn: 0 new and taken (relayed to every other
 * peer); ASSAY_EEXISTS, ASSAY_ELIMIT (a peer ahead of us) and our own
 * failures (ENOMEM/EIO) not relayed, no points; other <0 invalid (scored,
 * NET_FAULT_INVALID_CONSENSUS). Without a handler they are ignored. */
typedef int (*net_consensus_fn)(void *ctx, int is_vote, const uint8_t *p, size_t len);
void net_set_consensus_handler(net_t *n, net_consensus_fn fn, void *ctx);
/* Sends our BFT proposal (is_vote 0) or vote payload to every ready peer
 * that has not seen it; remembered by hash, so an echo is not taken again. */
void net_broadcast_consensus(net_t *n, int is_vote, const uint8_t *p, size_t len);    /* node applied blocks: continue sync */

struct net_peer_info { uint64_t id; char addr[64]; int inbound; uint64_t best_height; uint64_t bytes_sent, bytes_recv, bytes_sent_raw, bytes_recv_raw; int64_t ping_ms; uint64_t connected_at_ms; int score; char user_agent[65]; int ready; /* handshake done */ };
/* Bytes on the wire (frames included) sent to and received from peers since
 * start, connections since closed included: they never fall. */
void net_traffic_totals(net_t *n, uint64_t *sent, uint64_t *recv);
/* Entries of the tx request table looked at by its walks since start
 * (net_req_visited): the work a peer's inv and notfound traffic costs. */
uint64_t net_tx_requests_visited(net_t *n);
/* Connected peers (handshake done or not). *out is malloc()ed; the caller frees. */
int net_peers(net_t *n, struct net_peer_info **out, size_t *count);
int net_addnode(net_t *n, const char *hostport);                      /* connect and keep */
/* Stops keeping hostport connected (a live connection stays): 0, ASSAY_ENOTFOUND. */
int net_removenode(net_t *n, const char *hostport);
/* Closes a peer by id ("12") or address ("127.0.0.1:18444"): 0 or ASSAY_ENOTFOUND. */
int net_disconnect(net_t *n, const char *addr_or_id);

/* One address book entry, for RPC (docs/p2p.md §10). */
struct net_book_info {
	char addr[64];          /* "ip:port" */
	char source[48];        /* IP of the peer that told us */
	uint64_t last_seen;     /* seconds since the epoch */
	uint64_t next_try_ms;   /* wall clock; 0: may be dialed now */
	uint32_t failures;      /* failed dials since the last success */
	int tried;              /* in the tried table: we completed a handshake with it */
};
/* Up to max entries of the address book (0: all), a random sample if the
 * book holds more. *out is malloc()ed; the caller frees. 0 or ASSAY_ENOMEM. */
int net_addresses(net_t *n, size_t max, struct net_book_info **out, size_t *count);

struct net_ban { char addr[64]; uint64_t until_ms; char reason[64]; };
/* Current bans (IP only in addr; until_ms is wall-clock ms since the epoch).
 * *out is malloc()ed; the caller frees. */
int net_bans(net_t *n, struct net_ban **out, size_t *count);
/* add: ban ip for seconds (0: NET_BAN_DEFAULT_S, at most NET_BAN_MAX_S) and
 * drop its connections; !add: lift the ban. 0, ASSAY_EARG (not an IP),
 * ASSAY_ELIMIT (seconds over NET_BAN_MAX_S), ASSAY_ENOTFOUND, ASSAY_EFULL. */
int net_setban(net_t *n, const char *ip, int add, uint64_t seconds);
void net_clearbans(net_t *n);

struct net_sync_status { int syncing; uint64_t height, target; double blocks_per_s; double progress; };
void net_sync_status(net_t *n, struct net_sync_status *st);

/* The port actually listened on (useful with port 0), or 0. */
uint16_t net_listen_port(net_t *n);

#endif
