/* Address book and ban list (see book.h). The book is two tables of slots
 * (docs/p2p.md §10); each address sits in exactly one slot, and the slot
 * array is the storage, so memory is fixed. Lookups by address are linear
 * (a few thousand slots, touched a few times a second). The ban list is a
 * flat array. The files are canonical encodings (core/buf.h) sealed with a
 * SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/sha256.h"
#include "net/book.h"
#include "net/evict.h"

#define PEERS_MAGIC "ASYP"
#define BANS_MAGIC "ASYB"
#define FILE_VERSION 1            /* banlist.dat; peers.dat version 1 is still read */
#define PEERS_VERSION 2           /* peers.dat with the key, sources and tables */
#define FILE_MAX_BYTES (4u << 20) /* both files are far smaller; refuse larger */
#define SELECT_RANDOM_TRIES 64    /* random slot picks before a full scan */

struct net_book {
	uint8_t key[NET_BOOK_KEY_LEN];
	struct net_book_entry slots[NET_BOOK_MAX]; /* new slots, then tried slots */
	size_t naddrs, ntried;
	struct net_book_ban bans[NET_BANS_MAX];
	size_t nbans;
};

net_book_t *net_book_new(const uint8_t *key)
{
	struct net_book *b = calloc(1, sizeof(struct net_book));
	if (!b)
		return NULL;
	if (key)
		memcpy(b->key, key, NET_BOOK_KEY_LEN);
	else
		randombytes_buf(b->key, NET_BOOK_KEY_LEN);
	return b;
}

void net_book_free(net_book_t *b)
{
	free(b);
}

/* SipHash-2-4 under the book's key of tag || parts: the only source of slot
 * positions, so they are unpredictable without the key. */
static uint64_t keyed_hash(const net_book_t *b, char tag, const uint8_t *p1, size_t n1, const uint8_t *p2,
			   size_t n2, uint64_t word)
{
	uint8_t msg[1 + 32 + 32 + 8], out[crypto_shorthash_BYTES];
	size_t k = 0;
	msg[k++] = (uint8_t)tag;
	if (n1)
		memcpy(msg + k, p1, n1);
	k += n1;
	if (n2)
		memcpy(msg + k, p2, n2);
	k += n2;
	for (int i = 0; i < 8; i++)
		msg[k++] = (uint8_t)(word >> (8 * i));
	crypto_shorthash(out, msg, k, b->key);
	uint64_t h = 0;
	for (int i = 7; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

static void addr_bytes(const uint8_t ip[16], uint16_t port, uint8_t out[18])
{
	memcpy(out, ip, 16);
	out[16] = (uint8_t)port;
	out[17] = (uint8_t)(port >> 8);
}

/* New bucket: the source group picks one of NET_BOOK_NEW_BUCKETS_PER_GROUP
 * buckets by the address group, so one source reaches only those. */
static size_t new_bucket(const net_book_t *b, const uint8_t ip[16], const uint8_t source[16])
{
	uint8_t ag[16], sg[16];
	net_ip_group(ip, ag);
	net_ip_group(source, sg);
	uint64_t h1 = keyed_hash(b, 'n', ag, 16, sg, 16, 0) % NET_BOOK_NEW_BUCKETS_PER_GROUP;
	return (size_t)(keyed_hash(b, 'N', sg, 16, NULL, 0, h1) % NET_BOOK_NEW_BUCKETS);
}

/* Tried bucket: the address group picks one of NET_BOOK_TRIED_BUCKETS_PER_GROUP. */
static size_t tried_bucket(const net_book_t *b, const uint8_t ip[16], uint16_t port)
{
	uint8_t ag[16], a[18];
	net_ip_group(ip, ag);
	addr_bytes(ip, port, a);
	uint64_t h1 = keyed_hash(b, 't', a, 18, NULL, 0, 0) % NET_BOOK_TRIED_BUCKETS_PER_GROUP;
	return (size_t)(keyed_hash(b, 'T', ag, 16, NULL, 0, h1) % NET_BOOK_TRIED_BUCKETS);
}

static size_t slot_in(const net_book_t *b, int tried, size_t bucket, const uint8_t ip[16], uint16_t port)
{
	uint8_t a[18];
	addr_bytes(ip, port, a);
	size_t pos =
		(size_t)(keyed_hash(b, tried ? 'Q' : 'P', a, 18, NULL, 0, bucket) % NET_BOOK_BUCKET_SIZE);
	return (tried ? NET_BOOK_NEW_SLOTS : 0) + bucket * NET_BOOK_BUCKET_SIZE + pos;
}

/* The tried slot an address takes: its own slot if free, else the first
 * free slot of its bucket after it (wrapping), so that a bucket fills
 * before anything in it is pushed out; a full bucket gives the address's
 * own slot, whose occupant is then evicted (docs/p2p.md, the address book). */
static size_t tried_slot(const net_book_t *b, const uint8_t ip[16], uint16_t port)
{
	size_t bucket = tried_bucket(b, ip, port);
	size_t own = slot_in(b, 1, bucket, ip, port);
	size_t first = NET_BOOK_NEW_SLOTS + bucket * NET_BOOK_BUCKET_SIZE;
	for (size_t i = 0; i < NET_BOOK_BUCKET_SIZE; i++) {
		size_t slot = first + (own - first + i) % NET_BOOK_BUCKET_SIZE;
		if (!b->slots[slot].used)
			return slot;
	}
	return own;
}

static struct net_book_entry *find_addr(net_book_t *b, const uint8_t ip[16], uint16_t port)
{
	for (size_t i = 0; i < NET_BOOK_MAX; i++)
		if (b->slots[i].used && b->slots[i].port == port && memcmp(b->slots[i].ip, ip, 16) == 0)
			return &b->slots[i];
	return NULL;
}

const struct net_book_entry *net_book_find(const net_book_t *b, const uint8_t ip[16], uint16_t port)
{
	return find_addr((net_book_t *)b, ip, port);
}

static int routable(const uint8_t ip[16])
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(ip, v4mapped, 12) == 0)
		return ip[12] != 0 && ip[12] < 224; /* not 0.0.0.0/8, multicast or reserved */
	static const uint8_t zero[16];
	return memcmp(ip, zero, 16) != 0 && ip[0] != 0xff;
}

int net_book_terrible(const struct net_book_entry *e, uint64_t now_ms)
{
	uint64_t now_s = now_ms / 1000;
	if (e->last_try_ms && e->last_try_ms <= now_ms && now_ms - e->last_try_ms < 60000)
		return 0; /* tried in the last minute: not judged yet */
	if (e->last_seen > now_s + 600 || e->last_seen + NET_BOOK_HORIZON_S < now_s)
		return 1;
	if (!e->last_good_ms && e->failures >= NET_BOOK_NEW_RETRIES)
		return 1;
	if (e->failures >= NET_BOOK_MAX_FAILURES && now_ms - e->last_good_ms > 7ull * 24 * 3600 * 1000)
		return 1;
	return 0;
}

static void put_entry(net_book_t *b, size_t slot, const struct net_book_entry *e)
{
	struct net_book_entry *s = &b->slots[slot];
	if (s->used) {
		b->naddrs--;
		b->ntried -= s->tried;
	}
	*s = *e;
	s->used = 1;
	s->tried = slot >= NET_BOOK_NEW_SLOTS;
	b->naddrs++;
	b->ntried += s->tried;
}

static void clear_slot(net_book_t *b, struct net_book_entry *s)
{
	if (!s->used)
		return;
	b->naddrs--;
	b->ntried -= s->tried;
	memset(s, 0, sizeof(*s));
}

int net_book_add(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t last_seen,
		 const uint8_t source[16], uint64_t now_ms)
{
	if (port == 0 || !routable(ip))
		return ASSAY_EARG;
	struct net_book_entry *e = find_addr(b, ip, port);
	if (e) {
		if (last_seen > e->last_seen)
			e->last_seen = last_seen;
		return 0;
	}
	size_t slot = slot_in(b, 0, new_bucket(b, ip, source), ip, port);
	if (b->slots[slot].used && !net_book_terrible(&b->slots[slot], now_ms))
		return 0; /* the first comer keeps its slot: what stops a flood */
	struct net_book_entry fresh = {.port = port, .last_seen = last_seen};
	memcpy(fresh.ip, ip, 16);
	memcpy(fresh.source, source, 16);
	put_entry(b, slot, &fresh);
	return 1;
}

void net_book_remove(net_book_t *b, const uint8_t ip[16], uint16_t port)
{
	struct net_book_entry *e = find_addr(b, ip, port);
	if (e)
		clear_slot(b, e);
}

void net_book_attempt(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t now_ms)
{
	struct net_book_entry *e = find_addr(b, ip, port);
	if (!e)
		return;
	e->last_try_ms = now_ms;
	e->failures++;
}

void net_book_good(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t now_ms)
{
	struct net_book_entry *e = find_addr(b, ip, port);
	if (!e)
		return;
	e->failures = 0;
	e->last_try_ms = now_ms;
	e->last_good_ms = now_ms;
	e->last_seen = now_ms / 1000;
	if (e->tried)
		return;
	struct net_book_entry moving = *e;
	clear_slot(b, e);
	size_t slot = tried_slot(b, ip, port);
	struct net_book_entry *occupant = &b->slots[slot];
	if (occupant->used) {
		/* the older tried entry goes back to the new table, over whatever
		 * was in its new slot (as Bitcoin Core's MakeTried) */
		struct net_book_entry back = *occupant;
		back.tried = 0;
		clear_slot(b, occupant);
		put_entry(b, slot_in(b, 0, new_bucket(b, back.ip, back.source), back.ip, back.port), &back);
	}
	put_entry(b, slot, &moving);
}

uint64_t net_book_next_try_ms(const struct net_book_entry *e)
{
	if (!e->failures || !e->last_try_ms)
		return 0;
	uint64_t wait = NET_BOOK_BACKOFF_MAX_MS;
	if (e->failures - 1 < 16) {
		wait = (uint64_t)NET_BOOK_RETRY_MS << (e->failures - 1);
		if (wait > NET_BOOK_BACKOFF_MAX_MS)
			wait = NET_BOOK_BACKOFF_MAX_MS;
	}
	return e->last_try_ms + wait;
}

int net_book_due(const struct net_book_entry *e, uint64_t now_ms)
{
	return now_ms >= net_book_next_try_ms(e);
}

size_t net_book_count(const net_book_t *b)
{
	return b->naddrs;
}

size_t net_book_count_tried(const net_book_t *b)
{
	return b->ntried;
}

const struct net_book_entry *net_book_slot(const net_book_t *b, size_t i)
{
	return i < NET_BOOK_MAX && b->slots[i].used ? &b->slots[i] : NULL;
}

size_t net_book_bucket_of(const net_book_t *b, const struct net_book_entry *e)
{
	size_t slot = (size_t)(e - b->slots);
	return slot < NET_BOOK_NEW_SLOTS
		       ? slot / NET_BOOK_BUCKET_SIZE
		       : NET_BOOK_NEW_BUCKETS + (slot - NET_BOOK_NEW_SLOTS) / NET_BOOK_BUCKET_SIZE;
}

static uint64_t draw(const net_book_t *b, uint64_t rnd, uint64_t i)
{
	uint8_t r[8];
	for (int k = 0; k < 8; k++)
		r[k] = (uint8_t)(rnd >> (8 * k));
	return keyed_hash(b, 'R', r, 8, NULL, 0, i);
}

const struct net_book_entry *net_book_select(const net_book_t *b, uint64_t now_ms, uint64_t rnd,
					     int (*skip)(void *ctx, const struct net_book_entry *e),
					     void *ctx)
{
	if (!b->naddrs)
		return NULL;
	/* random picks first: half from tried when both tables have entries */
	for (uint64_t i = 0; i < SELECT_RANDOM_TRIES; i++) {
		uint64_t d = draw(b, rnd, i);
		int tried = b->ntried && (b->ntried == b->naddrs || (d & 1));
		size_t slot = tried ? NET_BOOK_NEW_SLOTS + (size_t)((d >> 1) % NET_BOOK_TRIED_SLOTS)
				    : (size_t)((d >> 1) % NET_BOOK_NEW_SLOTS);
		const struct net_book_entry *e = &b->slots[slot];
		if (e->used && net_book_due(e, now_ms) && !(skip && skip(ctx, e)))
			return e;
	}
	/* a sparse book: scan every slot from a random start */
	size_t start = (size_t)(draw(b, rnd, SELECT_RANDOM_TRIES) % NET_BOOK_MAX);
	for (size_t k = 0; k < NET_BOOK_MAX; k++) {
		const struct net_book_entry *e = &b->slots[(start + k) % NET_BOOK_MAX];
		if (e->used && net_book_due(e, now_ms) && !(skip && skip(ctx, e)))
			return e;
	}
	return NULL;
}

size_t net_book_sample(const net_book_t *b, struct net_book_entry *out, size_t max, uint64_t now_ms,
		       uint64_t rnd)
{
	size_t n = 0, seen = 0;
	/* reservoir sampling over the slots: each good entry equally likely */
	for (size_t i = 0; i < NET_BOOK_MAX; i++) {
		const struct net_book_entry *e = &b->slots[i];
		if (!e->used || net_book_terrible(e, now_ms))
			continue;
		seen++;
		if (n < max) {
			out[n++] = *e;
			continue;
		}
		uint64_t j = draw(b, rnd, i) % seen;
		if (j < max)
			out[j] = *e;
	}
	/* shuffle, so the order says nothing about the slots */
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(draw(b, rnd, NET_BOOK_MAX + i) % i);
		struct net_book_entry t = out[i - 1];
		out[i - 1] = out[j];
		out[j] = t;
	}
	return n;
}

void net_addr_budget_init(struct net_addr_budget *r, uint64_t now_ms)
{
	r->tokens = NET_ADDR_BURST;
	r->at_ms = now_ms;
}

int net_addr_budget_take(struct net_addr_budget *r, uint64_t now_ms)
{
	if (now_ms > r->at_ms) {
		r->tokens += (double)(now_ms - r->at_ms) / 1000.0 * NET_ADDR_RATE_PER_S;
		if (r->tokens > NET_ADDR_BURST)
			r->tokens = NET_ADDR_BURST;
		r->at_ms = now_ms;
	}
	if (r->tokens < 1.0)
		return 0;
	r->tokens -= 1.0;
	return 1;
}

static struct net_book_ban *find_ban(net_book_t *b, const uint8_t ip[16])
{
	for (size_t i = 0; i < b->nbans; i++)
		if (memcmp(b->bans[i].ip, ip, 16) == 0)
			return &b->bans[i];
	return NULL;
}

int net_book_ban(net_book_t *b, const uint8_t ip[16], uint64_t until_ms, const char *reason)
{
	struct net_book_ban *e = find_ban(b, ip);
	if (!e) {
		if (b->nbans == NET_BANS_MAX)
			return ASSAY_EFULL;
		e = &b->bans[b->nbans++];
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->ip, ip, 16);
	e->until_ms = until_ms;
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	return 0;
}

int net_book_unban(net_book_t *b, const uint8_t ip[16])
{
	struct net_book_ban *e = find_ban(b, ip);
	if (!e)
		return ASSAY_ENOTFOUND;
	*e = b->bans[--b->nbans];
	return 0;
}

int net_book_is_banned(const net_book_t *b, const uint8_t ip[16], uint64_t now_ms)
{
	for (size_t i = 0; i < b->nbans; i++)
		if (memcmp(b->bans[i].ip, ip, 16) == 0)
			return b->bans[i].until_ms > now_ms;
	return 0;
}

void net_book_clear_bans(net_book_t *b)
{
	b->nbans = 0;
}

size_t net_book_expire_bans(net_book_t *b, uint64_t now_ms)
{
	size_t dropped = 0;
	for (size_t i = 0; i < b->nbans;) {
		if (b->bans[i].until_ms <= now_ms) {
			b->bans[i] = b->bans[--b->nbans];
			dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}

size_t net_book_nbans(const net_book_t *b)
{
	return b->nbans;
}

const struct net_book_ban *net_book_ban_at(const net_book_t *b, size_t i)
{
	return i < b->nbans ? &b->bans[i] : NULL;
}

/* Seals body with its SHA-256 and writes it atomically. */
static int write_file(const char *path, struct buf *body)
{
	uint8_t digest[HASH_LEN];
	sha256(body->data, body->len, digest);
	buf_put(body, digest, HASH_LEN);
	if (body->oom)
		return ASSAY_ENOMEM;
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ASSAY_EARG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return ASSAY_EIO;
	size_t off = 0;
	while (off < body->len) {
		ssize_t w = write(fd, body->data + off, body->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return ASSAY_EIO;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return ASSAY_EIO;
	}
	return 0;
}

/* Reads a whole sealed file; *body is malloc()ed and excludes the seal.
 * Returns 1 if read, 0 if missing, or an error. */
static int read_file(const char *path, uint8_t **body, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? 0 : ASSAY_EIO;
	struct buf b;
	buf_init(&b);
	uint8_t chunk[8192];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf_put(&b, chunk, got);
		if (b.len > FILE_MAX_BYTES)
			break;
	}
	int io_err = ferror(f);
	fclose(f);
	if (io_err || b.oom) {
		buf_free(&b);
		return io_err ? ASSAY_EIO : ASSAY_ENOMEM;
	}
	uint8_t digest[HASH_LEN];
	if (b.len > FILE_MAX_BYTES || b.len < HASH_LEN) {
		buf_free(&b);
		return ASSAY_EDECODE;
	}
	sha256(b.data, b.len - HASH_LEN, digest);
	if (memcmp(digest, b.data + b.len - HASH_LEN, HASH_LEN) != 0) {
		buf_free(&b);
		return ASSAY_EDECODE;
	}
	*len = b.len - HASH_LEN;
	*body = buf_take(&b, NULL);
	return 1;
}

static void put_header(struct buf *b, const char *magic, uint32_t version, size_t count)
{
	buf_put(b, magic, 4);
	buf_put_u32(b, version);
	buf_put_varint(b, count);
}

/* The magic and version (one of the versions given, into *version). */
static void read_magic(struct reader *r, const char *magic, uint32_t v1, uint32_t v2, uint32_t *version)
{
	const uint8_t *m = rd_fixed(r, 4);
	if (m && memcmp(m, magic, 4) != 0)
		r->err = ASSAY_EDECODE;
	*version = rd_u32(r);
	if (*version != v1 && *version != v2 && !r->err)
		r->err = ASSAY_EDECODE;
}

int net_book_save_peers(const net_book_t *b, const char *path)
{
	struct buf body;
	buf_init(&body);
	buf_put(&body, PEERS_MAGIC, 4);
	buf_put_u32(&body, PEERS_VERSION);
	buf_put(&body, b->key, NET_BOOK_KEY_LEN);
	buf_put_varint(&body, b->naddrs);
	for (size_t i = 0; i < NET_BOOK_MAX; i++) {
		const struct net_book_entry *e = &b->slots[i];
		if (!e->used)
			continue;
		buf_put(&body, e->ip, 16);
		buf_put_u16(&body, e->port);
		buf_put(&body, e->source, 16);
		buf_put_u64(&body, e->last_seen);
		buf_put_u64(&body, e->last_try_ms);
		buf_put_u64(&body, e->last_good_ms);
		buf_put_u32(&body, e->failures);
		buf_put_u8(&body, e->tried);
	}
	int rc = write_file(path, &body);
	buf_free(&body);
	return rc;
}

/* Puts a loaded entry back in its slot (the key decides it); a slot taken
 * already (a full tried bucket, or a file not written by us) keeps its
 * first entry. */
static void place_loaded(net_book_t *b, struct net_book_entry *e)
{
	if (e->port == 0 || !routable(e->ip) || find_addr(b, e->ip, e->port))
		return;
	size_t slot = e->tried ? tried_slot(b, e->ip, e->port)
			       : slot_in(b, 0, new_bucket(b, e->ip, e->source), e->ip, e->port);
	if (!b->slots[slot].used)
		put_entry(b, slot, e);
}

int net_book_load_peers(net_book_t *b, const char *path)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = read_file(path, &body, &len);
	if (rc <= 0)
		return rc;
	struct reader r;
	rd_init(&r, body, len);
	uint32_t version = 0;
	uint8_t key[NET_BOOK_KEY_LEN];
	memcpy(key, b->key, sizeof(key));
	read_magic(&r, PEERS_MAGIC, 1, PEERS_VERSION, &version);
	if (version == PEERS_VERSION)
		rd_copy(&r, key, NET_BOOK_KEY_LEN);
	uint64_t count = rd_count(&r, NET_BOOK_MAX);
	struct net_book_entry *loaded = calloc(count ? count : 1, sizeof(*loaded));
	if (!loaded) {
		free(body);
		return ASSAY_ENOMEM;
	}
	for (uint64_t i = 0; i < count && !r.err; i++) {
		struct net_book_entry *e = &loaded[i];
		rd_copy(&r, e->ip, 16);
		e->port = rd_u16(&r);
		if (version == 1) { /* ip, port, last_seen: heard from itself, never tried */
			memcpy(e->source, e->ip, 16);
			e->last_seen = rd_u64(&r);
			continue;
		}
		rd_copy(&r, e->source, 16);
		e->last_seen = rd_u64(&r);
		e->last_try_ms = rd_u64(&r);
		e->last_good_ms = rd_u64(&r);
		e->failures = rd_u32(&r);
		e->tried = rd_u8(&r);
		if (e->tried > 1 && !r.err)
			r.err = ASSAY_EDECODE;
	}
	rc = rd_finish(&r);
	if (rc == 0) {
		memcpy(b->key, key, sizeof(key));
		for (size_t i = 0; i < NET_BOOK_MAX; i++)
			clear_slot(b, &b->slots[i]);
		for (uint64_t i = 0; i < count; i++)
			if (loaded[i].tried)
				place_loaded(b, &loaded[i]);
		for (uint64_t i = 0; i < count; i++)
			if (!loaded[i].tried)
				place_loaded(b, &loaded[i]);
	}
	free(loaded);
	free(body);
	return rc;
}

int net_book_save_bans(const net_book_t *b, const char *path)
{
	struct buf body;
	buf_init(&body);
	put_header(&body, BANS_MAGIC, FILE_VERSION, b->nbans);
	for (size_t i = 0; i < b->nbans; i++) {
		buf_put(&body, b->bans[i].ip, 16);
		buf_put_u64(&body, b->bans[i].until_ms);
		buf_put_bytes(&body, b->bans[i].reason, strlen(b->bans[i].reason));
	}
	int rc = write_file(path, &body);
	buf_free(&body);
	return rc;
}

int net_book_load_bans(net_book_t *b, const char *path, uint64_t max_until_ms)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = read_file(path, &body, &len);
	if (rc <= 0)
		return rc;
	struct reader r;
	rd_init(&r, body, len);
	uint32_t version;
	read_magic(&r, BANS_MAGIC, FILE_VERSION, FILE_VERSION, &version);
	uint64_t count = rd_count(&r, NET_BANS_MAX);
	struct net_book_ban *loaded = calloc(count ? count : 1, sizeof(*loaded));
	if (!loaded) {
		free(body);
		return ASSAY_ENOMEM;
	}
	for (uint64_t i = 0; i < count && !r.err; i++) {
		size_t rlen;
		rd_copy(&r, loaded[i].ip, 16);
		loaded[i].until_ms = rd_u64(&r);
		if (loaded[i].until_ms > max_until_ms)
			loaded[i].until_ms = max_until_ms;
		const uint8_t *reason = rd_bytes(&r, &rlen, NET_BAN_REASON_MAX);
		if (reason)
			memcpy(loaded[i].reason, reason, rlen);
	}
	rc = rd_finish(&r);
	if (rc == 0) {
		memcpy(b->bans, loaded, count * sizeof(*loaded));
		b->nbans = (size_t)count;
	}
	free(loaded);
	free(body);
	return rc;
}
