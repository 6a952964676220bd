/* What is being fetched by getdata (docs/p2p.md §6), pure: for each hash in
 * flight (one table for txs, one for gossip blocks), the peer asked, a
 * deadline, and a few other peers that announced it, so that a timeout, a
 * notfound or a disconnect moves the request to the next announcer instead
 * of losing the object; bounds per peer and per net group; and per peer the
 * gossip blocks asked of it. Time is passed in.
 * Not for: what was received (the recently-seen set) or sockets (net/net.c). */
#ifndef ASSAY_NET_REQUEST_H
#define ASSAY_NET_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define NET_REQ_MAX 8192          /* hashes in flight at once, from all peers */
#define NET_REQ_PER_PEER 1000     /* new requests in flight from one peer */
/* New requests in flight from one net group (net/evict.h): several
 * connections from one address share this, so it takes more than
 * NET_REQ_MAX / NET_REQ_PER_GROUP = 4 groups to fill the table. */
#define NET_REQ_PER_GROUP 2000
#define NET_REQ_ALTS 4            /* other announcers remembered per hash */
#define NET_REQ_TIMEOUT_MS 10000  /* a tx request unanswered this long moves on */
/* A gossip block asked and not applied this long is asked of its next
 * announcer; the peer asked, if it answered nothing, stalled the download
 * and is disconnected (docs/p2p.md §6). */
#define NET_BLOCK_REQ_TIMEOUT_MS 10000
#define NET_MAX_BLOCK_REQUESTS 64 /* gossip blocks asked of one peer at a time */

typedef struct net_req net_req_t;

/* A request to (re)send, or to forget: from the peer `from` (0 if none) to
 * the peer `to`; to == 0: nobody is left to ask, the hash is forgotten. */
struct net_req_move {
	uint8_t hash[32];
	uint64_t from, to;
};

/* timeout_ms: how long a request waits for its answer before it moves on
 * (NET_REQ_TIMEOUT_MS for txs, NET_BLOCK_REQ_TIMEOUT_MS for blocks). NULL on
 * allocation failure. */
net_req_t *net_req_new(uint64_t timeout_ms);
void net_req_free(net_req_t *r);
/* Peer (ids are nonzero) of net group `group` announced hash. Returns 1 if
 * it was not in flight: now it is, asked of peer until now_ms +
 * the table's timeout; the caller sends getdata. 0 if it is in flight already
 * (peer kept as an alternative while there is room). ASSAY_ELIMIT if the
 * peer has NET_REQ_PER_PEER or its group NET_REQ_PER_GROUP requests in
 * flight, ASSAY_EFULL if NET_REQ_MAX hashes are (not tracked either way: a
 * later inv tries again). Nothing already in flight is ever displaced, so
 * one source cannot evict another's requests. */
int net_req_announce(net_req_t *r, const uint8_t hash[32], uint64_t peer, uint64_t group,
		     uint64_t now_ms);
/* The tx arrived (from anyone) or is known otherwise: forgets it. Returns 1
 * with *asked set to the peer it was asked of if it was in flight, else 0. */
int net_req_received(net_req_t *r, const uint8_t hash[32], uint64_t *asked);
/* Peer answered notfound for hash: if it was the one asked, the request
 * moves at once to its next announcer (with a new deadline) or, with none
 * left, is forgotten: returns 1 with *mv filled, as net_req_next_due does;
 * the caller sends the getdata. If it was an alternative, it is dropped (0,
 * as for a hash not in flight). Costs one lookup: nothing else in flight is
 * looked at, so a peer cannot make us walk the table per notfound. */
int net_req_notfound(net_req_t *r, const uint8_t hash[32], uint64_t peer, uint64_t now_ms,
		     struct net_req_move *mv);
/* The peer a hash in flight is asked of: 0 if it is not in flight, or its
 * peer left and it waits for the next step. One lookup. */
uint64_t net_req_asked_of(net_req_t *r, const uint8_t hash[32]);
/* Peer disconnected: what was asked of it is due; it is no one's alternative.
 * Looks at the places the peer holds (asked or alternative) and nothing else
 * in flight: with a full table, connections that come and go would
 * otherwise cost a walk of it each. */
void net_req_peer_gone(net_req_t *r, uint64_t peer);
/* The next request that timed out or was made due: moved to its next
 * announcer (with a new deadline) or, with none left, forgotten. Returns 1
 * with *mv filled, 0 when nothing more is due now. Call until it returns 0. */
int net_req_next_due(net_req_t *r, uint64_t now_ms, struct net_req_move *mv);
/* Hashes in flight. */
size_t net_req_count(const net_req_t *r);
/* Entries the walks have looked at since the table was made (each entry
 * net_req_next_due steps over, each place net_req_peer_gone takes back):
 * what tests weigh a peer's traffic against. */
uint64_t net_req_visited(const net_req_t *r);
/* Requests in flight asked of peer, and of peers of group. */
size_t net_req_peer_count(const net_req_t *r, uint64_t peer);
size_t net_req_group_count(const net_req_t *r, uint64_t group);

/* Gossip blocks asked of one peer by getdata, oldest first: a notfound or a
 * block frees a slot only for a hash that was asked (docs/p2p.md §6). */
struct net_block_reqs {
	uint8_t hash[NET_MAX_BLOCK_REQUESTS][32];
	size_t count;
};

/* Records a block hash asked of the peer: 0, or ASSAY_EFULL at
 * NET_MAX_BLOCK_REQUESTS (the caller does not ask). */
int net_block_reqs_add(struct net_block_reqs *q, const uint8_t hash[32]);
/* The peer answered for hash, with notfound or with a block of that hash:
 * 1 if it was asked (the oldest slot asked for it is free), 0 if it was
 * never asked (nothing changes: a block that answers no request of its own
 * hash is unsolicited, whatever else is outstanding). */
int net_block_reqs_answered(struct net_block_reqs *q, const uint8_t hash[32]);
/* 1 if hash was asked of the peer and it has answered nothing for it yet. */
int net_block_reqs_holds(const struct net_block_reqs *q, const uint8_t hash[32]);

#endif
