/* Net groups, hosts, and the choice of an inbound peer to evict when the
 * inbound slots are full (docs/p2p.md §8), pure: the caller describes its
 * inbound connections and gets back the one to close, as Bitcoin Core's
 * inbound eviction does. Not for: closing it, or counting slots (net/net.c). */
#ifndef ASSAY_NET_EVICT_H
#define ASSAY_NET_EVICT_H

#include <stddef.h>
#include <stdint.h>

/* Protected from eviction, in this order (docs/p2p.md §8): */
#define NET_EVICT_PROTECT_GROUPS 4  /* one peer each of this many net groups */
#define NET_EVICT_PROTECT_PING 8    /* the lowest measured ping times */
#define NET_EVICT_PROTECT_TX 4      /* the latest to send a tx we accepted */
#define NET_EVICT_PROTECT_BLOCK 4   /* the latest to send a block that connected */
/* ... and then half of those left, the longest connected. */

/* The net group of an IP (16 bytes, IPv4 as ::ffff:a.b.c.d) into group[16]:
 * connections from one group are taken as one source, for eviction and for
 * the tx request bounds. IPv4: the /16 (a.b); IPv6: the /32; loopback
 * (127.0.0.0/8, ::1): the whole address, so that tests on one machine can
 * stand for distinct sources with 127.0.0.x. */
void net_ip_group(const uint8_t ip[16], uint8_t group[16]);
/* The host an IP (as above) is taken for, into host[16]: what a judgement
 * of one peer that must outlive its connection is keyed on (the port is
 * left out, since an inbound peer's changes with each connection). IPv4:
 * the address; IPv6: the /64, which one host is commonly given whole, so
 * that it cannot step to a fresh address of its own each time. */
void net_ip_host(const uint8_t ip[16], uint8_t host[16]);

struct net_evict_candidate {
	uint64_t id;             /* the caller's connection id */
	uint64_t group;          /* keyed hash of its net group (net_ip_group) */
	uint64_t connected_ms;   /* when it connected (monotonic) */
	int64_t ping_ms;         /* last measured round trip; -1 none yet */
	uint64_t last_tx_ms;     /* last tx it sent that we accepted; 0 never */
	uint64_t last_block_ms;  /* last block it sent that connected; 0 never */
	int ready;               /* handshake complete */
	int is_protected;        /* out: set by net_evict_select if protected */
};

/* Chooses the inbound peer to evict among n candidates (reordered in place):
 * the protected ones are set aside (a peer still in its handshake is never
 * protected), and of the rest, the youngest of the net group with most
 * connections goes (ties: the group whose youngest is youngest). Returns the
 * chosen candidate's id, or 0 if every candidate is protected (then the new
 * connection is refused instead). */
uint64_t net_evict_select(struct net_evict_candidate *c, size_t n);

#endif
