/* Address book and ban list (see book.h). Both are small flat arrays with
 * linear search: a few thousand entries, touched a few times a second. The
 * files are canonical encodings (core/buf.h) sealed with a SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/sha256.h"
#include "net/book.h"

#define PEERS_MAGIC "ASYP"
#define BANS_MAGIC "ASYB"
#define FILE_VERSION 1
#define FILE_MAX_BYTES (4u << 20) /* both files are far smaller; refuse larger */

struct net_book {
	struct net_book_entry addrs[NET_BOOK_MAX];
	size_t naddrs;
	struct net_book_ban bans[NET_BANS_MAX];
	size_t nbans;
};

net_book_t *net_book_new(void)
{
	return calloc(1, sizeof(struct net_book));
}

void net_book_free(net_book_t *b)
{
	free(b);
}

static struct net_book_entry *find_addr(net_book_t *b, const uint8_t ip[16], uint16_t port)
{
	for (size_t i = 0; i < b->naddrs; i++)
		if (b->addrs[i].port == port && memcmp(b->addrs[i].ip, ip, 16) == 0)
			return &b->addrs[i];
	return NULL;
}

int net_book_add(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t last_seen)
{
	if (port == 0)
		return ASSAY_EARG;
	struct net_book_entry *e = find_addr(b, ip, port);
	if (e) {
		if (last_seen > e->last_seen)
			e->last_seen = last_seen;
		return 0;
	}
	if (b->naddrs == NET_BOOK_MAX) {
		size_t stalest = 0;
		for (size_t i = 1; i < b->naddrs; i++)
			if (b->addrs[i].last_seen < b->addrs[stalest].last_seen)
				stalest = i;
		e = &b->addrs[stalest];
	} else {
		e = &b->addrs[b->naddrs++];
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->ip, ip, 16);
	e->port = port;
	e->last_seen = last_seen;
	return 1;
}

void net_book_remove(net_book_t *b, const uint8_t ip[16], uint16_t port)
{
	struct net_book_entry *e = find_addr(b, ip, port);
	if (e)
		*e = b->addrs[--b->naddrs];
}

void net_book_tried(net_book_t *b, const uint8_t ip[16], uint16_t port, uint64_t now_ms, int ok)
{
	struct net_book_entry *e = find_addr(b, ip, port);
	if (!e)
		return;
	e->last_try_ms = now_ms;
	if (ok) {
		e->failures = 0;
		e->last_seen = now_ms / 1000;
	} else {
		e->failures++;
	}
}

size_t net_book_count(const net_book_t *b)
{
	return b->naddrs;
}

const struct net_book_entry *net_book_at(const net_book_t *b, size_t i)
{
	return i < b->naddrs ? &b->addrs[i] : NULL;
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

static void put_header(struct buf *b, const char *magic, size_t count)
{
	buf_put(b, magic, 4);
	buf_put_u32(b, FILE_VERSION);
	buf_put_varint(b, count);
}

static uint64_t read_header(struct reader *r, const char *magic, uint64_t max)
{
	const uint8_t *m = rd_fixed(r, 4);
	if (m && memcmp(m, magic, 4) != 0)
		r->err = ASSAY_EDECODE;
	if (rd_u32(r) != FILE_VERSION && !r->err)
		r->err = ASSAY_EDECODE;
	return rd_count(r, max);
}

int net_book_save_peers(const net_book_t *b, const char *path)
{
	struct buf body;
	buf_init(&body);
	put_header(&body, PEERS_MAGIC, b->naddrs);
	for (size_t i = 0; i < b->naddrs; i++) {
		buf_put(&body, b->addrs[i].ip, 16);
		buf_put_u16(&body, b->addrs[i].port);
		buf_put_u64(&body, b->addrs[i].last_seen);
	}
	int rc = write_file(path, &body);
	buf_free(&body);
	return rc;
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
	uint64_t count = read_header(&r, PEERS_MAGIC, NET_BOOK_MAX);
	struct net_book_entry *loaded = calloc(count ? count : 1, sizeof(*loaded));
	if (!loaded) {
		free(body);
		return ASSAY_ENOMEM;
	}
	for (uint64_t i = 0; i < count && !r.err; i++) {
		rd_copy(&r, loaded[i].ip, 16);
		loaded[i].port = rd_u16(&r);
		loaded[i].last_seen = rd_u64(&r);
	}
	rc = rd_finish(&r);
	if (rc == 0) {
		b->naddrs = 0;
		for (uint64_t i = 0; i < count; i++)
			net_book_add(b, loaded[i].ip, loaded[i].port, loaded[i].last_seen);
	}
	free(loaded);
	free(body);
	return rc;
}

int net_book_save_bans(const net_book_t *b, const char *path)
{
	struct buf body;
	buf_init(&body);
	put_header(&body, BANS_MAGIC, b->nbans);
	for (size_t i = 0; i < b->nbans; i++) {
		buf_put(&body, b->bans[i].ip, 16);
		buf_put_u64(&body, b->bans[i].until_ms);
		buf_put_bytes(&body, b->bans[i].reason, strlen(b->bans[i].reason));
	}
	int rc = write_file(path, &body);
	buf_free(&body);
	return rc;
}

int net_book_load_bans(net_book_t *b, const char *path)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = read_file(path, &body, &len);
	if (rc <= 0)
		return rc;
	struct reader r;
	rd_init(&r, body, len);
	uint64_t count = read_header(&r, BANS_MAGIC, NET_BANS_MAX);
	struct net_book_ban *loaded = calloc(count ? count : 1, sizeof(*loaded));
	if (!loaded) {
		free(body);
		return ASSAY_ENOMEM;
	}
	for (uint64_t i = 0; i < count && !r.err; i++) {
		size_t rlen;
		rd_copy(&r, loaded[i].ip, 16);
		loaded[i].until_ms = rd_u64(&r);
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
