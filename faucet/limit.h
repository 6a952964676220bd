/* The faucet's rate limits (docs/faucet.md): when each key (an address, or a
 * client IP) was last given coins, and how long it must wait before the
 * next time. Pure: the caller passes the time in. Not for: HTTP or sending
 * (faucet/main.c). */
#ifndef ASSAY_FAUCET_LIMIT_H
#define ASSAY_FAUCET_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define FAUCET_KEY_MAX 96       /* longest key with its NUL: an address's text (ADDR_STR_MAX) */
#define FAUCET_TRACKED_MAX 8192 /* keys remembered inside their interval; past it, requests wait */

typedef struct faucet_limits faucet_limits_t;

/* A table where a key may be served once per interval_ms. NULL on out of
 * memory. */
faucet_limits_t *faucet_limits_new(uint64_t interval_ms);
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

#endif
