/* The faucet's rate limits (docs/faucet.md): when each key (an address, a
 * client IP, an IPv6 network) was given coins, how long it must wait before
 * the next time, and how many connections each client holds open. Pure:
 * the caller passes the time and the connections' liveness in. Not for:
 * HTTP or sending (faucet/main.c). */
#ifndef ASSAY_FAUCET_LIMIT_H
#define ASSAY_FAUCET_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define FAUCET_KEY_MAX 96       /* longest key with its NUL: an address's text (ADDR_STR_MAX) */
#define FAUCET_TRACKED_MAX 8192 /* keys remembered inside their interval; past it, requests wait */

/* The coarser budget for IPv6: a client given a /48 holds 65,536 /64
 * keys, so every /32 (FAUCET_NET6_BITS, what a registry gives one ISP or
 * broker) shares FAUCET_NET6_GRANTS grants per -ip-interval, beside the
 * /64's own limit. IPv4 has no such budget: an address is already scarce. */
#define FAUCET_NET6_BITS 32
#define FAUCET_NET6_GRANTS 16

typedef struct faucet_limits faucet_limits_t;

/* A table where a key may be served grants times (at least 1) in an
 * interval_ms that starts at its first grant. NULL on out of memory. */
faucet_limits_t *faucet_limits_new(uint64_t interval_ms, uint32_t grants);
void faucet_limits_free(faucet_limits_t *l);
/* Milliseconds key must still wait at now_ms (0: it may be served now). */
uint64_t faucet_limits_wait(const faucet_limits_t *l, const char *key, uint64_t now_ms);
/* key was served at now_ms. 0, ASSAY_EARG (key too long or empty), or
 * ASSAY_EFULL when FAUCET_TRACKED_MAX keys are all inside their interval:
 * the caller refuses then, so a flood of new keys cannot erase the others. */
int faucet_limits_record(faucet_limits_t *l, const char *key, uint64_t now_ms);
/* Whether a grant to key could be recorded now (faucet_limits_record would
 * not say ASSAY_EFULL): asked before sending, so nothing is sent unrecorded. */
int faucet_limits_has_room(const faucet_limits_t *l, const char *key, uint64_t now_ms);

/* The per-client key of a peer's IP text: an IPv4 address as it is (an
 * IPv4-mapped IPv6 one as its IPv4 part), an IPv6 address as its /64
 * ("2001:db8:1:2::/64"), since one subscriber is commonly given a whole
 * /64 and could otherwise ask once per address in it. Text that is not an
 * address is kept as it is. out holds FAUCET_KEY_MAX bytes. */
void faucet_client_key(const char *ip, char out[FAUCET_KEY_MAX]);
/* The key of the coarser budget of a peer's IP text: an IPv6 address as
 * its FAUCET_NET6_BITS network ("2001:db8::/32"); "" for IPv4 (mapped or
 * not) and for text that is not an address, which have none. */
void faucet_client_net_key(const char *ip, char out[FAUCET_KEY_MAX]);

/* Connections open at once from one client key (faucet_client_key: an
 * IPv4 address, an IPv6 /64): one more is closed as soon as it is
 * accepted, so one client cannot hold every descriptor with idle sockets
 * and keep everyone else out. */
#define FAUCET_CONNS_PER_CLIENT 8
#define FAUCET_CONNS_TRACKED_MAX 4096 /* connections tracked at once; past it new ones are closed */
#define FAUCET_PEER_MAX 64            /* "[IPv6]:port" text with its NUL */
/* A full table looks at every entry (a system call each) on one refusal
 * in this many: a flood of accepts while it is full costs
 * FAUCET_CONNS_TRACKED_MAX / FAUCET_CONNS_FULL_LOOK_EVERY calls each, not
 * FAUCET_CONNS_TRACKED_MAX, and a place freed meanwhile is found within
 * as many accepts. */
#define FAUCET_CONNS_FULL_LOOK_EVERY 256

typedef struct faucet_conns faucet_conns_t;

faucet_conns_t *faucet_conns_new(void); /* NULL on out of memory */
void faucet_conns_free(faucet_conns_t *c);
/* Whether the connection tracked as descriptor id from peer is still
 * open (the caller checks that id is still a socket to peer). */
typedef int (*faucet_conn_open_fn)(int id, const char *peer, void *arg);
/* Connection id (its descriptor), from peer ("IP:port"), of client key:
 * 0 when tracked; ASSAY_EFULL, and not tracked, when key has
 * FAUCET_CONNS_PER_CLIENT open or the table is full of open ones;
 * ASSAY_EARG for a key or peer too long. An id tracked already is
 * replaced first (its descriptor was closed and reused). Entries are
 * checked with still_open only when they would refuse: key's own at its
 * cap, every one when the table is full (on one refusal in
 * FAUCET_CONNS_FULL_LOOK_EVERY), so an accept under no pressure costs no
 * system call, and one from a client at its cap costs eight. An empty key
 * (-ip-interval=0, behind a proxy) has no per-client cap: such
 * connections are tracked only for the table's bound and their deadline. */
int faucet_conns_admit(faucet_conns_t *c, int id, const char *key, const char *peer,
		       faucet_conn_open_fn still_open, void *arg);
/* Connections of key tracked now. */
size_t faucet_conns_count(const faucet_conns_t *c, const char *key);
/* Starts connection id's clock for its next request at now_ms (> 0): at
 * its admission, and again after each answer. An id not tracked is
 * ignored; one never marked is not timed. */
void faucet_conns_mark(faucet_conns_t *c, int id, uint64_t now_ms);
/* Closes a connection still open by its descriptor and peer. */
typedef void (*faucet_conn_close_fn)(int id, void *arg);
/* Forgets every tracked connection marked before before_ms, calling close
 * on those still_open says are open: a client that has not sent a whole
 * request within its deadline (a slow sender's one byte a second keeps an
 * idle timeout from ever firing). Returns how many it closed. */
size_t faucet_conns_expire(faucet_conns_t *c, uint64_t before_ms, faucet_conn_open_fn still_open,
			   faucet_conn_close_fn close, void *arg);

#endif
