/* Block download scheduler (docs/p2p.md §7), pure: it knows the node's tip
 * and each peer's best height, cuts the heights ahead into ranges, assigns
 * them to idle peers (several in parallel), re-assigns a range whose peer
 * stalls, buffers what arrives and releases blocks strictly in height order.
 * Time is passed in. Not for: sockets or validating blocks (the node). */
#ifndef ASSAY_NET_SYNC_H
#define ASSAY_NET_SYNC_H

#include <stddef.h>
#include <stdint.h>

#define NET_SYNC_RANGE 100            /* blocks per getblocks (<= NET_MAX_GETBLOCKS) */
#define NET_SYNC_WINDOW 1024          /* heights past the tip requested or buffered */
#define NET_SYNC_MAX_BYTES (64u << 20) /* buffered block bytes before we stop asking; blocks
					* arriving after that are kept up to this plus one range
					* of blocks at the chain's size limit, never more */
#define NET_SYNC_TIMEOUT_MS 15000     /* a range with no progress for this long moves */
#define NET_SYNC_STALL_MIN_MS 15000   /* a range holding up a full window must finish in this, */
#define NET_SYNC_STALL_MAX_MS 120000  /* doubled after each stall up to this, eased as ranges finish */
#define NET_SYNC_MAX_PEERS 256        /* peers tracked; net_new lowers the connection cap to it */
#define NET_SYNC_FAILED_MAX 1024      /* hosts remembered for a timed-out range (oldest goes) */
#define NET_SYNC_FAILED_MS (4ull * 3600 * 1000) /* how long a host's failure is remembered */

typedef struct net_sync net_sync_t;

/* max_block_bytes: the chain's block size limit (0 or over NET_MAX_OBJECT:
 * NET_MAX_OBJECT). */
net_sync_t *net_sync_new(uint64_t tip, size_t max_block_bytes);
void net_sync_free(net_sync_t *s);
/* The node's applied tip; buffered blocks at or below it are dropped. */
void net_sync_set_tip(net_sync_t *s, uint64_t tip);
uint64_t net_sync_tip(const net_sync_t *s);
/* What we are syncing to (at least the tip): the highest claim of a peer that
 * has connected a block and never let a range time out, nor has a host that
 * did within NET_SYNC_FAILED_MS, else what the peer proved. A bare claim (version, gossip) never counts by itself, so a
 * peer that lies about its height cannot make us look behind forever. */
uint64_t net_sync_target(const net_sync_t *s);
/* The peer's host (16 bytes, net_ip_host of its IP), told when it connects
 * and before its blocks (adds the peer if new). A peer whose host let a range
 * time out in the NET_SYNC_FAILED_MS before now_ms starts out failed: its
 * claims never count, however it reconnects. */
void net_sync_peer_host(net_sync_t *s, uint64_t peer, const uint8_t host[16], uint64_t now_ms);
/* Raises a peer's claimed best height (adds the peer if new). Ranges are
 * asked of a peer up to its claim; when one times out the claim falls back
 * to the proven height. */
void net_sync_peer_height(net_sync_t *s, uint64_t peer, uint64_t height);
/* The peer sent the block at height and the node connected it: raises its
 * proven height (and its claim, if lower) and lets its claim count for the
 * target again. */
void net_sync_peer_proven(net_sync_t *s, uint64_t peer, uint64_t height);
/* Forgets a peer; its range goes back to the pool and the blocks it sent
 * that wait in the buffer are dropped. */
void net_sync_peer_gone(net_sync_t *s, uint64_t peer);
/* Expires stalled ranges (each one's peer fails, with its host and every
 * peer of that host) and picks the next request to send. Returns 1 with
 * (peer, from, count) filled, or 0 when nothing is to be asked now. Call
 * until it returns 0. */
int net_sync_next_request(net_sync_t *s, uint64_t now_ms, uint64_t *peer, uint64_t *from,
			  uint32_t *count);
/* A block from peer. Returns 1 if it answers a range asked of that peer
 * (copied into the buffer, or a harmless duplicate), 0 if we never asked
 * that peer for it, ASSAY_ELIMIT if it is over max_block_bytes (an invalid
 * block: score it), ASSAY_EFULL if the buffer cannot take it (not buffered;
 * the peer's range is given back, no fault of its own), ASSAY_ENOMEM. */
int net_sync_on_block(net_sync_t *s, uint64_t peer, uint64_t height, const uint8_t *data, size_t len,
		      uint64_t now_ms);
/* Takes the block at tip + 1 if it is buffered: 1 with a malloc()ed copy the
 * caller frees and the peer that sent it, else 0. The tip does not move until
 * net_sync_set_tip. */
int net_sync_pop(net_sync_t *s, uint8_t **data, size_t *len, uint64_t *peer);
/* The block buffered for height, without taking it: 1 with a pointer into
 * the buffer (valid until the buffer next changes) and its sender, else 0. */
int net_sync_peek(const net_sync_t *s, uint64_t height, const uint8_t **data, size_t *len, uint64_t *peer);
/* Gives back a block taken by net_sync_pop that the node cannot connect
 * yet (no commit known for it): kept as it was, unless the tip has passed
 * its height or the slot holds another meanwhile (then freed). Takes data. */
void net_sync_unpop(net_sync_t *s, uint64_t height, uint8_t *data, size_t len, uint64_t peer);
/* Drops the block buffered for height (the node found it invalid): that
 * height is fetched again. */
void net_sync_drop(net_sync_t *s, uint64_t height);
/* Heights in ranges being fetched or buffered, for progress reports. */
size_t net_sync_buffered(const net_sync_t *s);

#endif
