/* Framing, command names, fault points and the zstd message streams of
 * frame.h. Everything here is pure and driven by the byte stream alone, so
 * the unit tests and the fuzzer exercise exactly what a socket sees. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/error.h"
#include "core/network.h"
#include "core/sha256.h"
#include "net/frame.h"

static const char *const cmd_names[NET_CMD_COUNT] = {
	[NET_CMD_VERSION] = "version",   [NET_CMD_VERACK] = "verack",
	[NET_CMD_PING] = "ping",         [NET_CMD_PONG] = "pong",
	[NET_CMD_INV] = "inv",           [NET_CMD_GETDATA] = "getdata",
	[NET_CMD_TX] = "tx",             [NET_CMD_BLOCK] = "block",
	[NET_CMD_GETBLOCKS] = "getblocks", [NET_CMD_NOTFOUND] = "notfound",
	[NET_CMD_ADDR] = "addr",         [NET_CMD_GETADDR] = "getaddr",
	[NET_CMD_REJECT] = "reject",     [NET_CMD_PROPOSAL] = "proposal",
	[NET_CMD_VOTE] = "vote", [NET_CMD_CHUNK] = "chunk",
};

/* Points per fault (docs/p2p.md §9). Stream-level faults leave the stream
 * unusable, so they also disconnect whatever their points. */
static const struct {
	int points;
	const char *name;
} faults[NET_FAULT_COUNT] = {
	[NET_FAULT_NONE] = {0, "none"},
	[NET_FAULT_BAD_MAGIC] = {100, "bad magic"},
	[NET_FAULT_OVERSIZE] = {100, "oversize frame"},
	[NET_FAULT_BAD_CHECKSUM] = {50, "bad checksum"},
	[NET_FAULT_UNKNOWN_CMD] = {50, "unknown command"},
	[NET_FAULT_BAD_COMPRESSION] = {100, "bad compression or bomb"},
	[NET_FAULT_MALFORMED] = {50, "malformed payload"},
	[NET_FAULT_OVER_LIMIT] = {50, "count over limit"},
	[NET_FAULT_HANDSHAKE] = {20, "handshake violation"},
	[NET_FAULT_SLOW_HANDSHAKE] = {20, "slow handshake"},
	[NET_FAULT_INVALID_TX] = {10, "invalid tx"},
	[NET_FAULT_INVALID_BLOCK] = {100, "invalid block"},
	[NET_FAULT_UNSOLICITED] = {10, "unsolicited block"},
	[NET_FAULT_MANUAL] = {100, "banned by operator"},
	[NET_FAULT_INFLATE] = {50, "inflates over the ratio limit"},
	[NET_FAULT_INVALID_CONSENSUS] = {20, "invalid proposal or vote"},
	[NET_FAULT_OTHER_NETWORK] = {0, "peer of another network"},
	[NET_FAULT_INVALID_CHUNK] = {20, "invalid output chunk"},
};

int net_fault_points(enum net_fault f)
{
	return (unsigned)f < NET_FAULT_COUNT ? faults[f].points : 0;
}

const char *net_fault_name(enum net_fault f)
{
	return (unsigned)f < NET_FAULT_COUNT ? faults[f].name : "?";
}

const char *net_cmd_name(enum net_cmd c)
{
	return (unsigned)c < NET_CMD_COUNT ? cmd_names[c] : "?";
}

int net_cmd_parse(const uint8_t field[NET_CMD_LEN])
{
	size_t n = 0;
	while (n < NET_CMD_LEN && field[n])
		n++;
	for (size_t i = n; i < NET_CMD_LEN; i++)
		if (field[i])
			return -1; /* bytes after the terminator: not canonical */
	for (int c = 0; c < NET_CMD_COUNT; c++)
		if (strlen(cmd_names[c]) == n && memcmp(cmd_names[c], field, n) == 0)
			return c;
	return -1;
}

void net_buf_release(struct buf *b)
{
	if (b->cap > NET_BUF_KEEP) {
		buf_free(b);
		buf_init(b);
	}
	buf_reset(b);
}

void net_frame_encode(struct buf *out, uint32_t magic, enum net_cmd cmd, const uint8_t *payload,
		      size_t len)
{
	uint8_t hdr[NET_HDR_LEN] = {0};
	uint8_t digest[HASH_LEN];
	le32_put(hdr, magic);
	memcpy(hdr + 4, cmd_names[cmd], strlen(cmd_names[cmd]));
	le32_put(hdr + 16, (uint32_t)len);
	sha256(payload, len, digest);
	memcpy(hdr + 20, digest, 4);
	buf_put(out, hdr, sizeof(hdr));
	buf_put(out, payload, len);
}

void net_decoder_init(struct net_decoder *d, uint32_t magic)
{
	memset(d, 0, sizeof(*d));
	d->magic = magic;
	buf_init(&d->payload);
}

void net_decoder_free(struct net_decoder *d)
{
	buf_free(&d->payload);
	memset(d, 0, sizeof(*d));
}

static int decoder_fail(struct net_decoder *d, enum net_fault f, int err)
{
	d->fault = f;
	return err;
}

/* A magic that is not ours: another Assay network's (an honest node that
 * was pointed at the wrong port: no points), or garbage (docs/p2p.md §9). */
static int decoder_bad_magic(struct net_decoder *d)
{
	uint32_t magic = le32_get(d->hdr);
	const struct network_info *net;
	for (unsigned i = 0; (net = network_at(i)); i++)
		if (net->magic == magic)
			return decoder_fail(d, NET_FAULT_OTHER_NETWORK, ASSAY_ECHAIN);
	return decoder_fail(d, NET_FAULT_BAD_MAGIC, ASSAY_EDECODE);
}

/* Validates a complete header; the payload is not looked at yet. */
static int decoder_check_header(struct net_decoder *d)
{
	if (le32_get(d->hdr) != d->magic)
		return decoder_bad_magic(d);
	d->payload_len = le32_get(d->hdr + 16);
	if (d->payload_len > NET_MAX_FRAME)
		return decoder_fail(d, NET_FAULT_OVERSIZE, ASSAY_ELIMIT);
	d->cmd = net_cmd_parse(d->hdr + 4);
	if (d->cmd < 0)
		return decoder_fail(d, NET_FAULT_UNKNOWN_CMD, ASSAY_EDECODE);
	return 0;
}

int net_decoder_feed(struct net_decoder *d, const uint8_t *p, size_t n, size_t *used)
{
	size_t pos = 0;
	*used = 0;
	if (d->fault)
		return ASSAY_EDECODE;
	if (d->ready) { /* the caller took the last frame: start the next */
		d->ready = 0;
		d->hdr_have = 0;
		buf_reset(&d->payload);
	}
	if (d->hdr_have < NET_HDR_LEN) {
		size_t take = NET_HDR_LEN - d->hdr_have;
		if (take > n)
			take = n;
		/* Check the magic as soon as its 4 bytes are in: garbage is
		 * refused without waiting for a whole header. */
		memcpy(d->hdr + d->hdr_have, p, take);
		d->hdr_have += take;
		pos += take;
		*used = pos;
		if (d->hdr_have >= 4 && le32_get(d->hdr) != d->magic)
			return decoder_bad_magic(d);
		if (d->hdr_have < NET_HDR_LEN)
			return 0;
		int rc = decoder_check_header(d);
		if (rc < 0)
			return rc;
	}
	size_t want = d->payload_len - d->payload.len;
	size_t take = n - pos < want ? n - pos : want;
	buf_put(&d->payload, p + pos, take);
	if (d->payload.oom)
		return decoder_fail(d, NET_FAULT_NONE, ASSAY_ENOMEM);
	pos += take;
	*used = pos;
	if (d->payload.len < d->payload_len)
		return 0;
	uint8_t digest[HASH_LEN];
	sha256(d->payload.data, d->payload.len, digest);
	if (memcmp(digest, d->hdr + 20, 4) != 0)
		return decoder_fail(d, NET_FAULT_BAD_CHECKSUM, ASSAY_EDECODE);
	d->ready = 1;
	return 1;
}

void net_decoder_frame(struct net_decoder *d, enum net_cmd *cmd, const uint8_t **payload,
		       size_t *len)
{
	*cmd = (enum net_cmd)d->cmd;
	*payload = d->payload.data;
	*len = d->payload.len;
}

struct net_zenc {
	ZSTD_CStream *cs;
};

struct net_zdec {
	ZSTD_DStream *ds;
};

net_zenc_t *net_zenc_new(void)
{
	net_zenc_t *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->cs = ZSTD_createCStream();
	if (!z->cs || ZSTD_isError(ZSTD_CCtx_setParameter(z->cs, ZSTD_c_compressionLevel,
							    NET_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cs, ZSTD_c_windowLog, NET_ZSTD_WINDOW_LOG)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cs, ZSTD_c_hashLog, NET_ZSTD_TABLE_LOG)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cs, ZSTD_c_chainLog, NET_ZSTD_TABLE_LOG))) {
		net_zenc_free(z);
		return NULL;
	}
	return z;
}

void net_zenc_free(net_zenc_t *z)
{
	if (!z)
		return;
	ZSTD_freeCStream(z->cs);
	free(z);
}

/* Makes room for at least `room` more bytes after out->len. */
static int buf_room(struct buf *out, size_t room)
{
	if (out->oom)
		return ASSAY_ENOMEM;
	if (out->cap - out->len >= room)
		return 0;
	size_t want = out->len + room;
	if (want < 2 * out->cap)
		want = 2 * out->cap;
	uint8_t *p = realloc(out->data, want);
	if (!p)
		return ASSAY_ENOMEM;
	out->data = p;
	out->cap = want;
	return 0;
}

int net_zenc_message(net_zenc_t *z, const uint8_t *p, size_t n, struct buf *out)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t remaining;
	do {
		if (buf_room(out, ZSTD_CStreamOutSize()) < 0)
			return ASSAY_ENOMEM;
		ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
		remaining = ZSTD_compressStream2(z->cs, &ob, &in, ZSTD_e_flush);
		if (ZSTD_isError(remaining))
			return ASSAY_EIO;
		out->len += ob.pos;
	} while (remaining != 0 || in.pos < in.size);
	return 0;
}

net_zdec_t *net_zdec_new(void)
{
	net_zdec_t *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->ds = ZSTD_createDStream();
	if (!z->ds ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(z->ds, ZSTD_d_windowLogMax, NET_ZSTD_WINDOW_LOG))) {
		net_zdec_free(z);
		return NULL;
	}
	return z;
}

void net_zdec_free(net_zdec_t *z)
{
	if (!z)
		return;
	ZSTD_freeDStream(z->ds);
	free(z);
}

size_t net_zstd_inflate_limit(size_t n)
{
	if (n >= NET_MAX_FRAME / NET_ZSTD_MAX_RATIO)
		return NET_MAX_FRAME;
	size_t limit = n * NET_ZSTD_MAX_RATIO;
	return limit > NET_ZSTD_RATIO_FLOOR ? limit : NET_ZSTD_RATIO_FLOOR;
}

size_t net_zenc_memory(const net_zenc_t *z)
{
	return z ? sizeof(*z) + ZSTD_sizeof_CStream(z->cs) : 0;
}

size_t net_zdec_memory(const net_zdec_t *z)
{
	return z ? sizeof(*z) + ZSTD_sizeof_DStream(z->ds) : 0;
}

int net_zdec_message(net_zdec_t *z, const uint8_t *p, size_t n, struct buf *out)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t bound = net_zstd_inflate_limit(n);
	buf_reset(out);
	for (;;) {
		/* One byte beyond the limit is allowed into the buffer so that
		 * reaching it is seen as "too large", not as "exactly full". */
		size_t limit = bound + 1;
		size_t room = ZSTD_DStreamOutSize();
		if (room > limit - out->len)
			room = limit - out->len;
		if (buf_room(out, room) < 0)
			return ASSAY_ENOMEM;
		ZSTD_outBuffer ob = {out->data + out->len, room, 0};
		size_t rc = ZSTD_decompressStream(z->ds, &ob, &in);
		if (ZSTD_isError(rc))
			return ASSAY_EDECODE;
		out->len += ob.pos;
		if (out->len > bound)
			return ASSAY_ELIMIT;
		/* Done when all input is used and the output was not filled:
		 * zstd then holds nothing more it could flush for us. */
		if (in.pos == in.size && ob.pos < ob.size)
			return 0;
	}
}
