/* Faucet rate limits (see limit.h): a flat table of (key, first grant,
 * grants), searched linearly: a faucet serves a few requests a second at
 * most. An entry whose interval has passed is free for reuse. The
 * connection table is as flat, looked at once per accepted connection. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/ipkey.h"
#include "faucet/limit.h"

struct grant {
	char key[FAUCET_KEY_MAX];
	uint64_t at_ms; /* its interval's first grant; 0: free slot */
	uint32_t count; /* grants since at_ms */
};

struct faucet_limits {
	uint64_t interval_ms;
	uint32_t per_interval; /* grants a key may have in one interval */
	size_t used; /* slots ever used: [0, used) */
	struct grant grants[FAUCET_TRACKED_MAX];
};

faucet_limits_t *faucet_limits_new(uint64_t interval_ms, uint32_t grants)
{
	struct faucet_limits *l = calloc(1, sizeof(*l));
	if (l) {
		l->interval_ms = interval_ms;
		l->per_interval = grants ? grants : 1;
	}
	return l;
}

void faucet_limits_free(faucet_limits_t *l)
{
	free(l);
}

static int live(const struct faucet_limits *l, const struct grant *g, uint64_t now_ms)
{
	return g->at_ms && now_ms < g->at_ms + l->interval_ms;
}

static const struct grant *find(const struct faucet_limits *l, const char *key)
{
	for (size_t i = 0; i < l->used; i++)
		if (l->grants[i].at_ms && strcmp(l->grants[i].key, key) == 0)
			return &l->grants[i];
	return NULL;
}

uint64_t faucet_limits_wait(const faucet_limits_t *l, const char *key, uint64_t now_ms)
{
	const struct grant *g = find(l, key);
	if (!g || !live(l, g, now_ms) || g->count < l->per_interval)
		return 0;
	return g->at_ms + l->interval_ms - now_ms;
}

/* The slot key would take at now_ms: its own, a free or expired one, or NULL. */
static struct grant *slot_for(const struct faucet_limits *l, const char *key, uint64_t now_ms)
{
	struct grant *g = (struct grant *)find(l, key);
	if (g)
		return g;
	for (size_t i = 0; i < l->used; i++)
		if (!live(l, &l->grants[i], now_ms))
			return (struct grant *)&l->grants[i];
	return l->used < FAUCET_TRACKED_MAX ? (struct grant *)&l->grants[l->used] : NULL;
}

int faucet_limits_has_room(const faucet_limits_t *l, const char *key, uint64_t now_ms)
{
	return slot_for(l, key, now_ms) != NULL;
}

int faucet_limits_record(faucet_limits_t *l, const char *key, uint64_t now_ms)
{
	size_t len = strlen(key);
	if (len == 0 || len >= FAUCET_KEY_MAX || now_ms == 0)
		return ASSAY_EARG;
	struct grant *g = slot_for(l, key, now_ms);
	if (!g)
		return ASSAY_EFULL;
	if (g == &l->grants[l->used])
		l->used++;
	if (strcmp(g->key, key) == 0 && live(l, g, now_ms)) {
		g->count++; /* within its interval: the budget's window stays */
		return 0;
	}
	memcpy(g->key, key, len + 1);
	g->at_ms = now_ms;
	g->count = 1;
	return 0;
}

void faucet_client_key(const char *ip, char out[FAUCET_KEY_MAX])
{
	ipkey_client(ip, out, FAUCET_KEY_MAX);
}

void faucet_client_net_key(const char *ip, char out[FAUCET_KEY_MAX])
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN];
	out[0] = 0;
	if (inet_pton(AF_INET6, ip, a) != 1 || memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		return;
	memset(a + FAUCET_NET6_BITS / 8, 0, 16 - FAUCET_NET6_BITS / 8);
	if (inet_ntop(AF_INET6, a, text, sizeof(text)))
		snprintf(out, FAUCET_KEY_MAX, "%s/%d", text, FAUCET_NET6_BITS);
}

/* ---- connections per client ---- */

struct conn_entry {
	int id; /* descriptor; -1: free */
	char key[FAUCET_KEY_MAX];
	char peer[FAUCET_PEER_MAX];
	uint64_t since_ms; /* its accept, or its last answer (faucet_conns_mark); 0: not timed */
};

struct faucet_conns {
	struct conn_entry e[FAUCET_CONNS_TRACKED_MAX];
	unsigned full_refused; /* refusals of a full table since its last look at every entry */
};

faucet_conns_t *faucet_conns_new(void)
{
	struct faucet_conns *c = malloc(sizeof(*c));
	if (c) {
		for (size_t i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++)
			c->e[i].id = -1;
		c->full_refused = 0;
	}
	return c;
}

void faucet_conns_free(faucet_conns_t *c)
{
	free(c);
}

size_t faucet_conns_count(const faucet_conns_t *c, const char *key)
{
	size_t n = 0;
	for (size_t i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++)
		n += c->e[i].id >= 0 && strcmp(c->e[i].key, key) == 0;
	return n;
}

/* Forgets the closed ones among the entries of key (NULL: all). */
static void conns_prune(faucet_conns_t *c, const char *key, faucet_conn_open_fn still_open, void *arg)
{
	for (size_t i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++) {
		struct conn_entry *e = &c->e[i];
		if (e->id >= 0 && (!key || strcmp(e->key, key) == 0) && !still_open(e->id, e->peer, arg))
			e->id = -1;
	}
}

static struct conn_entry *conns_free_slot(faucet_conns_t *c)
{
	for (size_t i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++)
		if (c->e[i].id < 0)
			return &c->e[i];
	return NULL;
}

int faucet_conns_admit(faucet_conns_t *c, int id, const char *key, const char *peer,
		       faucet_conn_open_fn still_open, void *arg)
{
	if (id < 0 || strlen(key) >= FAUCET_KEY_MAX || strlen(peer) >= FAUCET_PEER_MAX)
		return ASSAY_EARG;
	for (size_t i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++)
		if (c->e[i].id == id)
			c->e[i].id = -1;
	if (key[0] && faucet_conns_count(c, key) >= FAUCET_CONNS_PER_CLIENT) {
		conns_prune(c, key, still_open, arg);
		if (faucet_conns_count(c, key) >= FAUCET_CONNS_PER_CLIENT)
			return ASSAY_EFULL;
	}
	struct conn_entry *slot = conns_free_slot(c);
	if (!slot && c->full_refused == 0) {
		conns_prune(c, NULL, still_open, arg);
		slot = conns_free_slot(c);
	}
	if (!slot) {
		c->full_refused = (c->full_refused + 1) % FAUCET_CONNS_FULL_LOOK_EVERY;
		return ASSAY_EFULL;
	}
	c->full_refused = 0;
	slot->id = id;
	snprintf(slot->key, sizeof(slot->key), "%s", key);
	snprintf(slot->peer, sizeof(slot->peer), "%s", peer);
	slot->since_ms = 0;
	return 0;
}

void faucet_conns_mark(faucet_conns_t *c, int id, uint64_t now_ms)
{
	for (size_t i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++)
		if (c->e[i].id == id)
			c->e[i].since_ms = now_ms;
}

size_t faucet_conns_expire(faucet_conns_t *c, uint64_t before_ms, faucet_conn_open_fn still_open,
			   faucet_conn_close_fn close, void *arg)
{
	size_t closed = 0;
	for (size_t i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++) {
		struct conn_entry *e = &c->e[i];
		if (e->id < 0 || e->since_ms == 0 || e->since_ms >= before_ms)
			continue;
		if (still_open(e->id, e->peer, arg)) {
			close(e->id, arg);
			closed++;
		}
		e->id = -1;
	}
	return closed;
}
