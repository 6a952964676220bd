/* The address book and the ban list of the p2p layer, with their files
 * DATADIR/peers.dat and DATADIR/banlist.dat (formats in docs/p2p.md §10).
 * Pure bookkeeping plus plain file I/O; times are passed in.
 * Not for: deciding whom to ban (net/peer.c scores, net/net.c acts). */
#ifndef ASSAY_NET_BOOK_H
#define ASSAY_NET_BOOK_H

#include <stddef.h>
#include <stdint.h>

#define NET_BOOK_MAX 4096       /* addresses kept; the stalest is dropped */
#define NET_BANS_MAX 4096       /* banned IPs kept */
#define NET_BAN_REASON_MAX 63   /* bytes of reason text stored */
#define NET_BOOK_RETRY_MS 60000 /* an address is not re-dialed sooner than this */

struct net_book_entry {
	uint8_t ip[16];         /* IPv6 or IPv4-mapped */
	uint16_t port;
	uint64_t last_seen;     /* seconds since the epoch, as gossiped */
	uint64_t last_try_ms;   /* wall-clock ms of our last dial; not persisted */
	uint32_t failures;      /* dials that failed since the last success */
};

struct net_book_ban {
	uint8_t ip[16];
	uint64_t until_ms;      /* wall-clock ms since the epoch */
	char reason[NET_BAN_REASON_MAX + 1];
};

typedef struct net_book net_book_t;

net_book_t *net_book_new(void);
void net_book_free(net_book_t *b);

/* Adds or refreshes (keeps the newer last_seen). Port 0 is refused. Returns
 * 1 if new, 0 if known, ASSAY_EARG. When full, the stalest entry goes. */
int net_book_add(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t last_seen);
/* Removes an address (e.g. it turned out to be ourselves). */
void net_book_remove(net_book_t *b, const uint8_t ip[16], uint16_t port);
void net_book_tried(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t now_ms, int ok);
size_t net_book_count(const net_book_t *b);
const struct net_book_entry *net_book_at(const net_book_t *b, size_t i);

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
 * in-memory set; a missing file is an empty set (0). ASSAY_EIO, ASSAY_EDECODE
 * (bad magic, version, checksum or encoding: the file is ignored). */
int net_book_save_peers(const net_book_t *b, const char *path);
int net_book_load_peers(net_book_t *b, const char *path);
int net_book_save_bans(const net_book_t *b, const char *path);
int net_book_load_bans(net_book_t *b, const char *path);

#endif
