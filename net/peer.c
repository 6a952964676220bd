/* Per-connection protocol state machine (see peer.h). The handshake is
 * symmetric: both sides send version at start, answer a valid version with
 * verack, and are ready on receiving verack. Frames after a side's verack are
 * compressed when both versions carried NET_F_ZSTD (docs/p2p.md §3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "net/hashset.h"
#include "net/peer.h"

struct net_peer {
	struct net_peer_params params;
	char user_agent[NET_MAX_USER_AGENT + 1];
	int inbound;
	struct net_decoder dec;
	struct buf outbox;          /* framed bytes waiting for the socket */
	struct buf scratch;         /* encoded payload being sent */
	struct buf zscratch;        /* its compressed form */
	struct buf inflated;        /* decompressed payload being received */
	net_zenc_t *zenc;           /* our direction, once compressing */
	net_zdec_t *zdec;           /* theirs */
	int got_version, sent_verack, got_verack;
	int tx_compress, rx_compress; /* per direction, see file comment */
	struct net_version remote;
	uint64_t created_ms;
	uint64_t last_recv_ms;
	uint64_t ping_nonce;        /* outstanding ping, 0 if none */
	uint64_t ping_sent_ms;
	uint64_t next_ping_ms;
	struct net_peer_stats stats;
	int closing, banned;
	int self;                   /* remote nonce == ours */
	char close_reason[96];
	net_hashset_t *known;
};

net_peer_t *net_peer_new(const struct net_peer_params *params, int inbound, uint64_t now_ms)
{
	net_peer_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->params = *params;
	snprintf(p->user_agent, sizeof(p->user_agent), "%s",
		 params->user_agent ? params->user_agent : "");
	p->params.user_agent = p->user_agent;
	p->inbound = inbound;
	net_decoder_init(&p->dec, params->magic);
	buf_init(&p->outbox);
	buf_init(&p->scratch);
	buf_init(&p->zscratch);
	buf_init(&p->inflated);
	p->created_ms = p->last_recv_ms = now_ms;
	p->next_ping_ms = now_ms + NET_PING_INTERVAL_MS;
	p->stats.ping_ms = -1;
	p->known = net_hashset_new(NET_KNOWN_INV_MAX);
	if (!p->known) {
		net_peer_free(p);
		return NULL;
	}
	return p;
}

void net_peer_free(net_peer_t *p)
{
	if (!p)
		return;
	net_decoder_free(&p->dec);
	buf_free(&p->outbox);
	buf_free(&p->scratch);
	buf_free(&p->zscratch);
	buf_free(&p->inflated);
	net_zenc_free(p->zenc);
	net_zdec_free(p->zdec);
	net_hashset_free(p->known);
	free(p);
}

struct buf *net_peer_outbox(net_peer_t *p)
{
	return &p->outbox;
}

int net_peer_send(net_peer_t *p, const struct net_msg *m)
{
	buf_reset(&p->scratch);
	net_msg_encode(m, &p->scratch);
	if (p->scratch.oom)
		return ASSAY_ENOMEM;
	const uint8_t *payload = p->scratch.data;
	size_t len = p->scratch.len;
	if (p->tx_compress) {
		buf_reset(&p->zscratch);
		int rc = net_zenc_message(p->zenc, payload, len, &p->zscratch);
		if (rc < 0)
			return rc;
		payload = p->zscratch.data;
		len = p->zscratch.len;
	}
	if (len > NET_MAX_FRAME)
		return ASSAY_ELIMIT;
	size_t before = p->outbox.len;
	net_frame_encode(&p->outbox, p->params.magic, m->cmd, payload, len);
	if (p->outbox.oom)
		return ASSAY_ENOMEM;
	p->stats.bytes_sent += p->scratch.len;
	p->stats.bytes_sent_raw += p->outbox.len - before;
	net_buf_release(&p->scratch); /* one big message does not stay held */
	net_buf_release(&p->zscratch);
	return 0;
}

int net_peer_start(net_peer_t *p)
{
	struct net_msg m = {.cmd = NET_CMD_VERSION};
	struct net_version *v = &m.u.version;
	v->protocol = NET_PROTOCOL_VERSION;
	memcpy(v->chain_id, p->params.chain_id, HASH_LEN);
	v->best_height = p->params.best_height;
	v->nonce = p->params.local_nonce;
	v->listen_port = p->params.listen_port;
	v->flags = p->params.flags;
	snprintf(v->user_agent, sizeof(v->user_agent), "%s", p->user_agent);
	return net_peer_send(p, &m);
}

void net_peer_close(net_peer_t *p, uint8_t reject_code, const char *reason)
{
	if (p->closing)
		return;
	if (reject_code) {
		struct net_msg m = {.cmd = NET_CMD_REJECT};
		m.u.reject.code = reject_code;
		snprintf(m.u.reject.reason, sizeof(m.u.reject.reason), "%s", reason);
		net_peer_send(p, &m);
	}
	p->closing = 1;
	snprintf(p->close_reason, sizeof(p->close_reason), "%s", reason);
}

int net_peer_misbehave(net_peer_t *p, enum net_fault f)
{
	p->stats.score += net_fault_points(f);
	if (p->stats.score < NET_BAN_SCORE || p->banned)
		return 0;
	p->banned = 1;
	char reason[96];
	snprintf(reason, sizeof(reason), "misbehaving (%s, score %d)", net_fault_name(f),
		 p->stats.score);
	net_peer_close(p, NET_REJECT_PROTOCOL, reason);
	return 1;
}

/* A fault after which the stream cannot continue: points, then close. */
static int fatal(net_peer_t *p, enum net_fault f)
{
	net_peer_misbehave(p, f);
	net_peer_close(p, NET_REJECT_PROTOCOL, net_fault_name(f));
	return ASSAY_EINVALID;
}

static int handle_version(net_peer_t *p, const struct net_version *v)
{
	if (p->got_version)
		return fatal(p, NET_FAULT_HANDSHAKE);
	p->got_version = 1;
	p->remote = *v;
	if (v->nonce == p->params.local_nonce) {
		p->self = 1;
		net_peer_close(p, NET_REJECT_SELF, "connected to self");
		return ASSAY_EINVALID;
	}
	if (memcmp(v->chain_id, p->params.chain_id, HASH_LEN) != 0) {
		net_peer_close(p, NET_REJECT_CHAIN, "wrong chain");
		return ASSAY_ECHAIN;
	}
	if (v->protocol < NET_MIN_PROTOCOL_VERSION) {
		net_peer_close(p, NET_REJECT_VERSION, "protocol version too old");
		return ASSAY_EINVALID;
	}
	struct net_msg ack = {.cmd = NET_CMD_VERACK};
	int rc = net_peer_send(p, &ack);
	if (rc < 0)
		return rc;
	p->sent_verack = 1;
	if ((p->params.flags & NET_F_ZSTD) && (v->flags & NET_F_ZSTD)) {
		p->zenc = net_zenc_new();
		p->zdec = net_zdec_new();
		if (!p->zenc || !p->zdec)
			return ASSAY_ENOMEM;
		p->tx_compress = 1;
		p->stats.compressed = 1;
	}
	return 0;
}

/* One decoded message. */
static int handle_msg(net_peer_t *p, const struct net_msg *m, uint64_t now_ms,
		      const struct net_peer_events *ev)
{
	if (m->cmd == NET_CMD_VERSION)
		return handle_version(p, &m->u.version);
	if (m->cmd == NET_CMD_REJECT) {
		char reason[NET_MAX_REASON + 32];
		snprintf(reason, sizeof(reason), "peer rejected us: %s", m->u.reject.reason);
		net_peer_close(p, 0, reason);
		return ASSAY_EINVALID;
	}
	if (!p->got_version)
		return fatal(p, NET_FAULT_HANDSHAKE);
	if (m->cmd == NET_CMD_VERACK) {
		if (p->got_verack)
			return fatal(p, NET_FAULT_HANDSHAKE);
		p->got_verack = 1;
		p->rx_compress = p->tx_compress;
		if (ev && ev->on_ready)
			ev->on_ready(ev->ctx, p);
		return 0;
	}
	if (!p->got_verack)
		return fatal(p, NET_FAULT_HANDSHAKE);
	switch (m->cmd) {
	case NET_CMD_PING: {
		struct net_msg pong = {.cmd = NET_CMD_PONG};
		pong.u.nonce = m->u.nonce;
		return net_peer_send(p, &pong);
	}
	case NET_CMD_PONG:
		/* a pong that answers nothing outstanding is ignored */
		if (p->ping_nonce && m->u.nonce == p->ping_nonce) {
			p->stats.ping_ms = (int64_t)(now_ms - p->ping_sent_ms);
			p->ping_nonce = 0;
		}
		return 0;
	default:
		if (ev && ev->on_msg)
			ev->on_msg(ev->ctx, p, m);
		return 0;
	}
}

static int handle_frame(net_peer_t *p, uint64_t now_ms, const struct net_peer_events *ev)
{
	enum net_cmd cmd;
	const uint8_t *payload;
	size_t len;
	net_decoder_frame(&p->dec, &cmd, &payload, &len);
	if (p->rx_compress) {
		int rc = net_zdec_message(p->zdec, payload, len, &p->inflated);
		if (rc == ASSAY_ENOMEM)
			return rc;
		/* over the inflation bound, decoding stopped midway: the stream
		 * is out of step, so this closes as a zstd error does */
		if (rc == ASSAY_ELIMIT)
			return fatal(p, NET_FAULT_INFLATE);
		if (rc < 0)
			return fatal(p, NET_FAULT_BAD_COMPRESSION);
		payload = p->inflated.data;
		len = p->inflated.len;
	}
	p->stats.bytes_recv += len;
	struct net_msg m;
	int rc = net_msg_decode(&m, cmd, payload, len);
	if (rc == ASSAY_ENOMEM)
		return rc;
	if (rc < 0) {
		/* the stream is still in step: score, and close only at the
		 * ban threshold */
		net_peer_misbehave(p, rc == ASSAY_ELIMIT ? NET_FAULT_OVER_LIMIT : NET_FAULT_MALFORMED);
		return p->closing ? ASSAY_EINVALID : 0;
	}
	rc = handle_msg(p, &m, now_ms, ev);
	net_msg_free(&m);
	return rc;
}

int net_peer_recv(net_peer_t *p, const uint8_t *data, size_t n, uint64_t now_ms,
		  const struct net_peer_events *ev)
{
	if (p->closing)
		return ASSAY_EINVALID;
	p->last_recv_ms = now_ms;
	p->stats.bytes_recv_raw += n;
	while (n > 0) {
		size_t used;
		int rc = net_decoder_feed(&p->dec, data, n, &used);
		data += used;
		n -= used;
		if (rc == ASSAY_ENOMEM)
			return rc;
		if (rc < 0 && p->dec.fault == NET_FAULT_OTHER_NETWORK) {
			/* no reject: it could not read a frame with our magic */
			net_peer_close(p, 0, "peer of another network (its magic is another network's)");
			return ASSAY_ECHAIN;
		}
		if (rc < 0)
			return fatal(p, p->dec.fault);
		if (rc == 0)
			break;
		rc = handle_frame(p, now_ms, ev);
		/* the message is handled: what it needed is not kept */
		net_buf_release(&p->dec.payload);
		net_buf_release(&p->inflated);
		if (rc < 0)
			return rc;
		if (p->closing)
			return ASSAY_EINVALID;
	}
	return 0;
}

int net_peer_tick(net_peer_t *p, uint64_t now_ms)
{
	if (p->closing)
		return ASSAY_EINVALID;
	if (!net_peer_ready(p)) {
		if (now_ms - p->created_ms >= NET_HANDSHAKE_TIMEOUT_MS) {
			net_peer_misbehave(p, NET_FAULT_SLOW_HANDSHAKE);
			net_peer_close(p, NET_REJECT_PROTOCOL, "handshake timeout");
			return ASSAY_EINVALID;
		}
		return 0;
	}
	if (now_ms - p->last_recv_ms >= NET_IDLE_TIMEOUT_MS) {
		net_peer_close(p, 0, "idle timeout");
		return ASSAY_EINVALID;
	}
	if (p->ping_nonce && now_ms - p->ping_sent_ms >= NET_PING_TIMEOUT_MS) {
		net_peer_close(p, 0, "ping timeout");
		return ASSAY_EINVALID;
	}
	if (!p->ping_nonce && now_ms >= p->next_ping_ms) {
		struct net_msg ping = {.cmd = NET_CMD_PING};
		/* unpredictable, never zero (zero means "none outstanding"): a
		 * peer that could compute it would answer pings it never read,
		 * and pass for a fast, live peer */
		randombytes_buf(&ping.u.nonce, sizeof(ping.u.nonce));
		ping.u.nonce |= 1;
		int rc = net_peer_send(p, &ping);
		if (rc < 0)
			return rc;
		p->ping_nonce = ping.u.nonce;
		p->ping_sent_ms = now_ms;
		p->next_ping_ms = now_ms + NET_PING_INTERVAL_MS;
	}
	return 0;
}

int net_peer_ready(const net_peer_t *p)
{
	return p->got_version && p->sent_verack && p->got_verack && !p->closing;
}

int net_peer_closing(const net_peer_t *p)
{
	return p->closing;
}

int net_peer_banned(const net_peer_t *p)
{
	return p->banned;
}

int net_peer_self(const net_peer_t *p)
{
	return p->self;
}

int net_peer_inbound(const net_peer_t *p)
{
	return p->inbound;
}

const char *net_peer_close_reason(const net_peer_t *p)
{
	return p->close_reason;
}

const struct net_version *net_peer_remote(const net_peer_t *p)
{
	return &p->remote;
}

void net_peer_stats(const net_peer_t *p, struct net_peer_stats *st)
{
	*st = p->stats;
}

size_t net_peer_memory(const net_peer_t *p)
{
	return sizeof(*p) + p->dec.payload.cap + p->outbox.cap + p->scratch.cap + p->zscratch.cap +
	       p->inflated.cap + net_zenc_memory(p->zenc) + net_zdec_memory(p->zdec);
}

int net_peer_knows(const net_peer_t *p, const uint8_t hash[HASH_LEN])
{
	return net_hashset_has(p->known, hash);
}

void net_peer_add_known(net_peer_t *p, const uint8_t hash[HASH_LEN])
{
	net_hashset_add(p->known, hash);
}
