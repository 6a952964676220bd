/* The protocol of one connection as a state machine without sockets or
 * clock (docs/p2p.md §5): bytes in → frames → (zstd) → messages; handshake,
 * ping/pong, timeouts and misbehaviour points are handled here; application
 * messages (inv, tx, block, ...) go up through a callback; messages out are
 * framed into an outbox the owner writes to its socket. Time is passed in.
 * Not for: choosing what to gossip or sync (net/net.c). */
#ifndef ASSAY_NET_PEER_H
#define ASSAY_NET_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/frame.h"
#include "net/msg.h"

#define NET_BAN_SCORE 100                  /* points at which a peer is banned */
#define NET_HANDSHAKE_TIMEOUT_MS 10000     /* version + verack within this */
#define NET_PING_INTERVAL_MS 30000         /* ping a quiet peer this often */
#define NET_PING_TIMEOUT_MS 20000          /* pong must come within this */
#define NET_IDLE_TIMEOUT_MS 90000          /* nothing received for this long */
#define NET_KNOWN_INV_MAX 4096             /* per-peer known-inventory set */

struct net_peer_params {
	uint32_t magic;              /* network magic of the frames */
	uint8_t chain_id[HASH_LEN];  /* ours; the peer's must match */
	uint64_t local_nonce;        /* ours; a peer with the same one is us */
	uint64_t best_height;        /* our tip when the connection starts */
	uint16_t listen_port;        /* announced; 0 if not listening */
	uint32_t flags;              /* NET_F_* we offer */
	const char *user_agent;      /* truncated to NET_MAX_USER_AGENT */
};

typedef struct net_peer net_peer_t;

struct net_peer_events {
	void *ctx;
	/* handshake complete: the remote version is available */
	void (*on_ready)(void *ctx, net_peer_t *p);
	/* an application message after the handshake (not version, verack,
	 * ping, pong); m and what it points to live only during the call */
	void (*on_msg)(void *ctx, net_peer_t *p, const struct net_msg *m);
};

struct net_peer_stats {
	uint64_t bytes_sent, bytes_recv;         /* message payloads, before compression */
	uint64_t bytes_sent_raw, bytes_recv_raw; /* on the wire, frames included */
	int64_t ping_ms;                         /* last round trip, -1 before the first */
	int score;                               /* misbehaviour points */
	int compressed;                          /* zstd negotiated */
};

/* NULL on allocation failure. */
net_peer_t *net_peer_new(const struct net_peer_params *params, int inbound, uint64_t now_ms);
void net_peer_free(net_peer_t *p);
/* Queues our version message: call once, right after the connection opens. */
int net_peer_start(net_peer_t *p);
/* Frames (and once negotiated compresses) m into the outbox. 0 or ASSAY_E*. */
int net_peer_send(net_peer_t *p, const struct net_msg *m);
/* Bytes waiting to be written; the owner writes them and buf_reset()s it. */
struct buf *net_peer_outbox(net_peer_t *p);
/* Consumes bytes from the socket. Returns 0, or a negative ASSAY_E* once the
 * connection must close (then see net_peer_close_reason / net_peer_banned). */
int net_peer_recv(net_peer_t *p, const uint8_t *data, size_t n, uint64_t now_ms,
		  const struct net_peer_events *ev);
/* Timers: handshake, ping and idle timeouts, periodic pings. Returns 0 or a
 * negative ASSAY_E* when the connection must close. */
int net_peer_tick(net_peer_t *p, uint64_t now_ms);
/* Adds the fault's points; at NET_BAN_SCORE the peer is marked banned and
 * closing. Returns 1 if now banned, else 0. */
int net_peer_misbehave(net_peer_t *p, enum net_fault f);
/* Marks the connection closing, queueing a reject (code != 0) first. */
void net_peer_close(net_peer_t *p, uint8_t reject_code, const char *reason);

int net_peer_ready(const net_peer_t *p);
int net_peer_closing(const net_peer_t *p);
int net_peer_banned(const net_peer_t *p);
/* The remote version carried our own nonce: we dialed ourselves. */
int net_peer_self(const net_peer_t *p);
int net_peer_inbound(const net_peer_t *p);
const char *net_peer_close_reason(const net_peer_t *p);
/* The peer's version message; valid once ready. */
const struct net_version *net_peer_remote(const net_peer_t *p);
void net_peer_stats(const net_peer_t *p, struct net_peer_stats *st);

/* Bytes the connection holds now: its buffers and zstd streams (not the
 * known-inventory set, which has a fixed size). Between messages this stays
 * about NET_BUF_KEEP per buffer plus the two zstd streams. */
size_t net_peer_memory(const net_peer_t *p);

/* Known inventory: what the peer has told us or we told it. */
int net_peer_knows(const net_peer_t *p, const uint8_t hash[HASH_LEN]);
void net_peer_add_known(net_peer_t *p, const uint8_t hash[HASH_LEN]);

#endif
