/* The address book and the ban list of the p2p layer, with their files
 * DATADIR/peers.dat and DATADIR/banlist.dat (formats in docs/p2p.md §10).
 * Pure bookkeeping plus plain file I/O; times are passed in.
 * Not for: deciding whom to ban (net/peer.c scores, net/net.c acts). */
#ifndef ASSAY_NET_BOOK_H
#define ASSAY_NET_BOOK_H

#include <stddef.h>
#include <stdint.h>

/* The address book is a simplified Bitcoin Core addrman (docs/p2p.md §10):
 * a "new" table of addresses heard of and a "tried" table of addresses we
 * completed a handshake with, each cut into buckets of NET_BOOK_BUCKET_SIZE
 * slots. An address heard from a source goes to one new bucket chosen by a
 * keyed hash of (source group, address group), and one source group can
 * reach only NET_BOOK_NEW_BUCKETS_PER_GROUP of the new buckets: one peer, or
 * one /16 of peers, cannot fill the book however many addresses it sends.
 * An occupied slot is only taken over from an entry that is "terrible"
 * (stale or failing). The key is secret and random per book (kept in
 * peers.dat), so nobody can aim addresses at chosen slots. */
#define NET_BOOK_NEW_BUCKETS 64            /* buckets of the new table */
#define NET_BOOK_TRIED_BUCKETS 16          /* buckets of the tried table */
#define NET_BOOK_BUCKET_SIZE 64            /* slots per bucket */
#define NET_BOOK_NEW_BUCKETS_PER_GROUP 8   /* new buckets one source group can reach (1/8) */
#define NET_BOOK_TRIED_BUCKETS_PER_GROUP 2 /* tried buckets one address group can reach (1/8) */
#define NET_BOOK_NEW_SLOTS (NET_BOOK_NEW_BUCKETS * NET_BOOK_BUCKET_SIZE)     /* 4096 */
#define NET_BOOK_TRIED_SLOTS (NET_BOOK_TRIED_BUCKETS * NET_BOOK_BUCKET_SIZE) /* 1024 */
#define NET_BOOK_MAX (NET_BOOK_NEW_SLOTS + NET_BOOK_TRIED_SLOTS)             /* addresses kept */
#define NET_BOOK_KEY_LEN 16   /* SipHash key of the bucket choice */
#define NET_BANS_MAX 4096     /* banned IPs kept */
#define NET_BAN_REASON_MAX 63 /* bytes of reason text stored */
/* Backoff: after f failed dials in a row an address waits
 * min(NET_BOOK_RETRY_MS * 2^(f-1), NET_BOOK_BACKOFF_MAX_MS) from the last. */
#define NET_BOOK_RETRY_MS 60000
#define NET_BOOK_BACKOFF_MAX_MS (3600u * 1000u)
/* "Terrible" entries, which a newcomer may replace and getaddr never sends:
 * last seen more than NET_BOOK_HORIZON_S ago or more than 10 min ahead;
 * never connected and NET_BOOK_NEW_RETRIES failures; or
 * NET_BOOK_MAX_FAILURES failures and no success for a week. */
#define NET_BOOK_HORIZON_S (30u * 24 * 3600)
#define NET_BOOK_NEW_RETRIES 3
#define NET_BOOK_MAX_FAILURES 10

/* Address gossip limits (docs/p2p.md §6). A peer's addr entries are
 * processed against a token bucket that starts at NET_ADDR_BURST (one full
 * getaddr answer) and refills at NET_ADDR_RATE_PER_S; entries over it are
 * dropped without points, as Bitcoin Core's addr rate limit. An addr of at
 * most NET_ADDR_RELAY_MAX entries, each seen in the last
 * NET_ADDR_RELAY_FRESH_S, is relayed to NET_ADDR_RELAY_PEERS other peers. */
#define NET_ADDR_BURST 1000.0
#define NET_ADDR_RATE_PER_S 0.1
#define NET_ADDR_RELAY_MAX 10
#define NET_ADDR_RELAY_PEERS 2
#define NET_ADDR_RELAY_FRESH_S 600

struct net_book_entry {
	uint8_t ip[16]; /* IPv6 or IPv4-mapped */
	uint16_t port;
	uint8_t source[16];    /* IP of the peer that told us (itself for seeds and peers) */
	uint64_t last_seen;    /* seconds since the epoch, as gossiped */
	uint64_t last_try_ms;  /* wall-clock ms of our last dial; 0 never */
	uint64_t last_good_ms; /* wall-clock ms of our last handshake with it; 0 never */
	uint32_t failures;     /* dials since the last success */
	uint8_t tried;         /* 1: in the tried table */
	uint8_t used;          /* 0: an empty slot */
};

struct net_book_ban {
	uint8_t ip[16];
	uint64_t until_ms; /* wall-clock ms since the epoch */
	char reason[NET_BAN_REASON_MAX + 1];
};

typedef struct net_book net_book_t;

/* A book keyed with key (NET_BOOK_KEY_LEN bytes), or a random key if NULL.
 * NULL on out of memory. */
net_book_t *net_book_new(const uint8_t *key);
void net_book_free(net_book_t *b);

/* Heard of ip:port from source at now_ms, last seen last_seen (seconds).
 * Known: keeps the newer last_seen, returns 0. New: placed in its new-table
 * slot; 1 if placed, 0 if the slot holds an entry that is not terrible (the
 * newcomer is dropped). Port 0 and unroutable IPs (0.0.0.0/8, ::,
 * multicast) are ASSAY_EARG. */
int net_book_add(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t last_seen,
		 const uint8_t source[16], uint64_t now_ms);
/* Removes an address (e.g. it turned out to be ourselves). */
void net_book_remove(net_book_t *b, const uint8_t ip[16], uint16_t port);
/* We are dialing it: counts as a failure until net_book_good says otherwise. */
void net_book_attempt(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t now_ms);
/* A handshake with it completed: failures reset, moved to the tried table
 * (the entry in its tried slot, if any, goes back to the new table). */
void net_book_good(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t now_ms);
const struct net_book_entry *net_book_find(const net_book_t *b, const uint8_t ip[16], uint16_t port);
/* Whether e may be dialed at now_ms (its backoff has passed). */
int net_book_due(const struct net_book_entry *e, uint64_t now_ms);
/* The earliest time e may be dialed again (0: now). */
uint64_t net_book_next_try_ms(const struct net_book_entry *e);
int net_book_terrible(const struct net_book_entry *e, uint64_t now_ms);
size_t net_book_count(const net_book_t *b);
size_t net_book_count_tried(const net_book_t *b);
/* Slot i (0 .. NET_BOOK_MAX-1; tried slots after new ones): the entry there,
 * or NULL if the slot is empty or past the end. */
const struct net_book_entry *net_book_slot(const net_book_t *b, size_t i);
/* The bucket an entry is in (new table: 0 .. NET_BOOK_NEW_BUCKETS-1; tried:
 * NET_BOOK_NEW_BUCKETS + its tried bucket). For tests and getpeerinfo-like views. */
size_t net_book_bucket_of(const net_book_t *b, const struct net_book_entry *e);

/* One address to dial at now_ms: due, and not refused by skip (e.g.
 * connected already; skip may be NULL). Tried and new table alike, chosen at
 * random from rnd (the caller's randomness, so the book stays pure); NULL
 * if none is due. */
const struct net_book_entry *net_book_select(const net_book_t *b, uint64_t now_ms, uint64_t rnd,
					     int (*skip)(void *ctx, const struct net_book_entry *e),
					     void *ctx);
/* Up to max addresses that are not terrible, in random order (from rnd),
 * for a getaddr answer. Returns how many were written to out. */
size_t net_book_sample(const net_book_t *b, struct net_book_entry *out, size_t max, uint64_t now_ms,
		       uint64_t rnd);

/* The addr token bucket of one peer (NET_ADDR_BURST, NET_ADDR_RATE_PER_S). */
struct net_addr_budget {
	double tokens;
	uint64_t at_ms; /* when tokens was last brought up to date */
};
void net_addr_budget_init(struct net_addr_budget *r, uint64_t now_ms);
/* 1 and one token spent if one is left at now_ms, else 0. */
int net_addr_budget_take(struct net_addr_budget *r, uint64_t now_ms);

/* Bans ip until until_ms (replacing an earlier ban). 0 or ASSAY_EFULL. */
int net_book_ban(net_book_t *b, const uint8_t ip[16], uint64_t until_ms, const char *reason);
/* 0 or ASSAY_ENOTFOUND. */
int net_book_unban(net_book_t *b, const uint8_t ip[16]);
int net_book_is_banned(const net_book_t *b, const uint8_t ip[16], uint64_t now_ms);
void net_book_clear_bans(net_book_t *b);
/* Drops bans that ended at or before now_ms. Returns how many. */
size_t net_book_expire_bans(net_book_t *b, uint64_t now_ms);
size_t net_book_nbans(const net_book_t *b);
const struct net_book_ban *net_book_ban_at(const net_book_t *b, size_t i);

/* Files: written to path.tmp, synced, renamed over path. A load replaces the
 * in-memory set (peers.dat also the key); a missing file is an empty set (0). ASSAY_EIO, ASSAY_EDECODE
 * (bad magic, version, checksum or encoding: the file is ignored). */
int net_book_save_peers(const net_book_t *b, const char *path);
int net_book_load_peers(net_book_t *b, const char *path);
int net_book_save_bans(const net_book_t *b, const char *path);
/* Bans that would end after max_until_ms (a file from an older version,
 * or edited by hand) end at max_until_ms instead. */
int net_book_load_bans(net_book_t *b, const char *path, uint64_t max_until_ms);

#endif
