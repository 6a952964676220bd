/* Unit tests of the peer state machine (net/peer.c), two machines wired back
 * to back through their outboxes with a fake clock: handshake with and
 * without compression, wrong chain, self-connection, ping/pong, timeouts,
 * faults and scores up to a ban. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/peer.h"
#include "tests/unit/test.h"

struct seen {
	int ready;
	int msgs;
	enum net_cmd last_cmd;
	uint64_t last_height;
	size_t last_len;
};

static void on_ready(void *ctx, net_peer_t *p)
{
	(void)p;
	((struct seen *)ctx)->ready++;
}

static void on_msg(void *ctx, net_peer_t *p, const struct net_msg *m)
{
	struct seen *s = ctx;
	(void)p;
	s->msgs++;
	s->last_cmd = m->cmd;
	if (m->cmd == NET_CMD_BLOCK) {
		s->last_height = m->u.block.height;
		s->last_len = m->u.block.len;
	}
}

static struct net_peer_params params(uint64_t nonce, uint8_t chain_byte, uint32_t flags)
{
	struct net_peer_params p;
	memset(&p, 0, sizeof(p));
	p.magic = NET_MAGIC_DEV;
	memset(p.chain_id, chain_byte, 32);
	p.local_nonce = nonce;
	p.best_height = nonce * 10;
	p.listen_port = 1000 + (uint16_t)nonce;
	p.flags = flags;
	p.user_agent = "/test/";
	return p;
}

/* Moves everything in from's outbox into to. Returns to's recv result. */
static int pump(net_peer_t *from, net_peer_t *to, uint64_t now, struct seen *s)
{
	struct net_peer_events ev = {s, on_ready, on_msg};
	struct buf *out = net_peer_outbox(from);
	int rc = 0;
	if (out->len)
		rc = net_peer_recv(to, out->data, out->len, now, &ev);
	buf_reset(out);
	return rc;
}

static void shuttle(net_peer_t *a, net_peer_t *b, uint64_t now, struct seen *sa, struct seen *sb)
{
	for (int i = 0; i < 4; i++) {
		pump(a, b, now, sb);
		pump(b, a, now, sa);
	}
}

static void handshake_case(uint32_t fa, uint32_t fb, int want_compressed)
{
	struct net_peer_params pa = params(1, 7, fa), pb = params(2, 7, fb);
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pb, 1, 0);
	struct seen sa = {0}, sb = {0};
	CHECK(net_peer_start(a) == 0 && net_peer_start(b) == 0);
	CHECK(!net_peer_ready(a) && !net_peer_ready(b));
	shuttle(a, b, 5, &sa, &sb);
	CHECK(net_peer_ready(a) && net_peer_ready(b));
	CHECK(sa.ready == 1 && sb.ready == 1);
	CHECK(net_peer_remote(a)->best_height == 20 && net_peer_remote(b)->best_height == 10);
	CHECK(net_peer_remote(a)->listen_port == 1002);
	CHECK(strcmp(net_peer_remote(b)->user_agent, "/test/") == 0);
	struct net_peer_stats st;
	net_peer_stats(a, &st);
	CHECK(st.compressed == want_compressed);
	/* many application messages in both directions arrive intact */
	uint8_t body[1000];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i % 50);
	for (int k = 0; k < 50; k++) {
		struct net_msg m = {.cmd = NET_CMD_BLOCK};
		m.u.block.height = (uint64_t)k;
		m.u.block.data = body;
		m.u.block.len = sizeof(body) - (size_t)k;
		CHECK(net_peer_send(a, &m) == 0);
		CHECK(pump(a, b, 6, &sb) == 0);
		CHECK(sb.last_cmd == NET_CMD_BLOCK && sb.last_height == (uint64_t)k &&
		      sb.last_len == sizeof(body) - (size_t)k);
		CHECK(net_peer_send(b, &m) == 0);
		CHECK(pump(b, a, 6, &sa) == 0);
	}
	CHECK(sb.msgs == 50 && sa.msgs == 50);
	net_peer_stats(a, &st);
	if (want_compressed)
		CHECK(st.bytes_sent_raw < st.bytes_sent);
	else
		CHECK(st.bytes_sent_raw > st.bytes_sent);
	CHECK(st.score == 0);
	net_peer_free(a);
	net_peer_free(b);
}

static void test_handshake(void)
{
	handshake_case(NET_F_ZSTD, NET_F_ZSTD, 1);
	handshake_case(NET_F_ZSTD, 0, 0);
	handshake_case(0, NET_F_ZSTD, 0);
	handshake_case(0, 0, 0);
	/* unknown flag bits are ignored */
	handshake_case(NET_F_ZSTD | 0x80000000u, NET_F_ZSTD, 1);
}

static void test_wrong_chain(void)
{
	struct net_peer_params pa = params(1, 7, 0), pb = params(2, 8, 0);
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pb, 1, 0);
	struct seen sa = {0}, sb = {0};
	net_peer_start(a);
	net_peer_start(b);
	CHECK(pump(a, b, 1, &sb) == ASSAY_ECHAIN);
	CHECK(net_peer_closing(b) && !net_peer_banned(b) && !net_peer_self(b));
	CHECK(strstr(net_peer_close_reason(b), "chain") != NULL);
	/* b's reject reaches a, which closes too (after b's version) */
	CHECK(pump(b, a, 1, &sa) < 0);
	CHECK(net_peer_closing(a) && !net_peer_banned(a));
	CHECK(sa.ready == 0 && sb.ready == 0);
	net_peer_free(a);
	net_peer_free(b);
}

static void test_self_connection(void)
{
	struct net_peer_params pa = params(9, 7, 0);
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pa, 1, 0);
	struct seen sb = {0};
	net_peer_start(a);
	net_peer_start(b);
	CHECK(pump(a, b, 1, &sb) < 0);
	CHECK(net_peer_closing(b) && !net_peer_banned(b));
	CHECK(strstr(net_peer_close_reason(b), "self") != NULL);
	CHECK(net_peer_self(b));
	CHECK(sb.ready == 0 && sb.msgs == 0);
	net_peer_free(a);
	net_peer_free(b);
}

static void test_ping_pong(void)
{
	struct net_peer_params pa = params(1, 7, NET_F_ZSTD), pb = params(2, 7, NET_F_ZSTD);
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pb, 1, 0);
	struct seen sa = {0}, sb = {0};
	net_peer_start(a);
	net_peer_start(b);
	shuttle(a, b, 0, &sa, &sb);
	uint64_t t = NET_PING_INTERVAL_MS;
	CHECK(net_peer_tick(a, t) == 0);
	CHECK(net_peer_outbox(a)->len > 0); /* a ping */
	pump(a, b, t, &sb);
	CHECK(net_peer_outbox(b)->len > 0); /* the pong */
	pump(b, a, t + 37, &sa);
	struct net_peer_stats st;
	net_peer_stats(a, &st);
	CHECK(st.ping_ms == 37);
	CHECK(sa.msgs == 0 && sb.msgs == 0); /* ping/pong stay inside */
	/* a pong computed from what a peer knows (a's version nonce, the
	 * counter the nonces once came from) answers nothing: a peer must
	 * read the ping to answer it */
	t += NET_PING_INTERVAL_MS;
	CHECK(net_peer_tick(a, t) == 0);
	buf_reset(net_peer_outbox(a)); /* never read */
	struct net_msg forged = {.cmd = NET_CMD_PONG};
	uint64_t step = pa.local_nonce;
	for (int i = 0; i < 2; i++) /* a's second ping */
		step = step * 6364136223846793005ull + 1442695040888963407ull;
	forged.u.nonce = step | 1;
	CHECK(net_peer_send(b, &forged) == 0);
	pump(b, a, t + 5, &sa);
	net_peer_stats(a, &st);
	CHECK(st.ping_ms == 37); /* unchanged */
	CHECK(net_peer_tick(a, t + NET_PING_TIMEOUT_MS) < 0);
	net_peer_free(a);
	net_peer_free(b);
	a = net_peer_new(&pa, 0, 0);
	b = net_peer_new(&pb, 1, 0);
	net_peer_start(a);
	net_peer_start(b);
	shuttle(a, b, 0, &sa, &sb);
	/* a ping left unanswered closes the connection */
	t = NET_PING_INTERVAL_MS;
	CHECK(net_peer_tick(a, t) == 0);
	buf_reset(net_peer_outbox(a)); /* lost */
	CHECK(net_peer_tick(a, t + NET_PING_TIMEOUT_MS - 1) == 0);
	CHECK(net_peer_tick(a, t + NET_PING_TIMEOUT_MS) < 0);
	CHECK(strstr(net_peer_close_reason(a), "ping") != NULL);
	CHECK(!net_peer_banned(a));
	/* b never heard from a again: idle */
	CHECK(net_peer_tick(b, t + NET_IDLE_TIMEOUT_MS) < 0);
	net_peer_free(a);
	net_peer_free(b);
}

static void test_slow_handshake(void)
{
	struct net_peer_params pa = params(1, 7, 0);
	net_peer_t *a = net_peer_new(&pa, 1, 1000);
	net_peer_start(a);
	CHECK(net_peer_tick(a, 1000 + NET_HANDSHAKE_TIMEOUT_MS - 1) == 0);
	CHECK(net_peer_tick(a, 1000 + NET_HANDSHAKE_TIMEOUT_MS) < 0);
	struct net_peer_stats st;
	net_peer_stats(a, &st);
	CHECK(st.score == net_fault_points(NET_FAULT_SLOW_HANDSHAKE));
	net_peer_free(a);
}

static void test_message_before_handshake(void)
{
	struct net_peer_params pa = params(1, 7, 0), pb = params(2, 7, 0);
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pb, 1, 0);
	struct seen sb = {0};
	struct net_msg m = {.cmd = NET_CMD_GETADDR};
	net_peer_send(a, &m); /* before version */
	CHECK(pump(a, b, 1, &sb) < 0);
	struct net_peer_stats st;
	net_peer_stats(b, &st);
	CHECK(st.score == net_fault_points(NET_FAULT_HANDSHAKE));
	CHECK(sb.msgs == 0);
	net_peer_free(a);
	net_peer_free(b);
}

static void test_garbage_bans(void)
{
	struct net_peer_params pb = params(2, 7, 0);
	net_peer_t *b = net_peer_new(&pb, 1, 0);
	const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	CHECK(net_peer_recv(b, (const uint8_t *)junk, sizeof(junk) - 1, 1, NULL) < 0);
	CHECK(net_peer_banned(b) && net_peer_closing(b));
	/* once closing, nothing more is processed */
	CHECK(net_peer_recv(b, (const uint8_t *)junk, 4, 2, NULL) < 0);
	net_peer_free(b);
}

/* A node of another Assay network (its magic is in the network table) is
 * disconnected without points: banning it cut off every local node that
 * shares its IP (127.0.0.1). Garbage magic still bans (above). */
static void test_other_network_no_points(void)
{
	struct net_peer_params pa = params(1, 7, 0), pb = params(2, 7, 0);
	pa.magic = NET_MAGIC_TESTNET;
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pb, 1, 0);
	net_peer_start(a);
	struct buf *out = net_peer_outbox(a);
	CHECK(net_peer_recv(b, out->data, out->len, 1, NULL) == ASSAY_ECHAIN);
	struct net_peer_stats st;
	net_peer_stats(b, &st);
	CHECK(net_peer_closing(b) && !net_peer_banned(b));
	CHECK_EQ_INT(st.score, 0);
	CHECK(strstr(net_peer_close_reason(b), "another network") != NULL);
	CHECK(net_peer_outbox(b)->len == 0); /* no reject in a magic it cannot read */
	net_peer_free(a);
	net_peer_free(b);
}

/* Malformed payloads score but keep the stream; the second one bans. */
static void test_scores_to_ban(void)
{
	struct net_peer_params pa = params(1, 7, 0), pb = params(2, 7, 0);
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pb, 1, 0);
	struct seen sa = {0}, sb = {0};
	net_peer_start(a);
	net_peer_start(b);
	shuttle(a, b, 0, &sa, &sb);
	CHECK(net_peer_ready(b));
	struct buf *out = net_peer_outbox(a);
	const uint8_t bad_getblocks[3] = {1, 2, 3}; /* too short */
	net_frame_encode(out, NET_MAGIC_DEV, NET_CMD_GETBLOCKS, bad_getblocks, 3);
	CHECK(pump(a, b, 1, &sb) == 0);
	struct net_peer_stats st;
	net_peer_stats(b, &st);
	CHECK(st.score == net_fault_points(NET_FAULT_MALFORMED));
	CHECK(net_peer_ready(b) && !net_peer_banned(b));
	/* node-reported faults add up: ten invalid txs reach the threshold */
	int banned = 0;
	for (int i = 0; i < 4; i++)
		banned |= net_peer_misbehave(b, NET_FAULT_INVALID_TX);
	CHECK(!banned);
	net_peer_stats(b, &st);
	CHECK(st.score == 90);
	CHECK(net_peer_misbehave(b, NET_FAULT_INVALID_TX) == 1);
	CHECK(net_peer_banned(b) && net_peer_closing(b));
	CHECK(strstr(net_peer_close_reason(b), "invalid tx") != NULL);
	/* b told a why, with a reject */
	CHECK(pump(b, a, 2, &sa) < 0);
	CHECK(strstr(net_peer_close_reason(a), "rejected") != NULL);
	net_peer_free(a);
	net_peer_free(b);
}

static void test_bad_compression_bans(void)
{
	struct net_peer_params pa = params(1, 7, NET_F_ZSTD), pb = params(2, 7, NET_F_ZSTD);
	net_peer_t *a = net_peer_new(&pa, 0, 0), *b = net_peer_new(&pb, 1, 0);
	struct seen sa = {0}, sb = {0};
	net_peer_start(a);
	net_peer_start(b);
	shuttle(a, b, 0, &sa, &sb);
	/* an uncompressed frame where b expects zstd */
	const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	net_frame_encode(net_peer_outbox(a), NET_MAGIC_DEV, NET_CMD_PING, ping, 8);
	CHECK(pump(a, b, 1, &sb) < 0);
	CHECK(net_peer_banned(b));
	net_peer_free(a);
	net_peer_free(b);
}

/* Two peers that negotiated zstd, handshake done. */
static void compressed_pair(net_peer_t **a, net_peer_t **b, struct seen *sa, struct seen *sb)
{
	struct net_peer_params pa = params(1, 7, NET_F_ZSTD), pb = params(2, 7, NET_F_ZSTD);
	*a = net_peer_new(&pa, 0, 0);
	*b = net_peer_new(&pb, 1, 0);
	net_peer_start(*a);
	net_peer_start(*b);
	shuttle(*a, *b, 0, sa, sb);
	CHECK(net_peer_ready(*a) && net_peer_ready(*b));
}

/* A few hundred bytes that inflate to 8 MiB: b stops at the ratio bound,
 * scores the fault and closes, and holds no more than its zstd window. */
static void test_inflate_bomb(void)
{
	net_peer_t *a, *b;
	struct seen sa = {0}, sb = {0};
	compressed_pair(&a, &b, &sa, &sb);
	size_t n = NET_MAX_FRAME;
	uint8_t *zeros = calloc(1, n);
	net_zenc_t *z = net_zenc_new(); /* a's stream has not started: this one is its start */
	struct buf frame;
	buf_init(&frame);
	CHECK(net_zenc_message(z, zeros, n, &frame) == 0);
	CHECK(frame.len < 4096);
	net_frame_encode(net_peer_outbox(a), NET_MAGIC_DEV, NET_CMD_PING, frame.data, frame.len);
	CHECK(pump(a, b, 1, &sb) < 0);
	struct net_peer_stats st;
	net_peer_stats(b, &st);
	CHECK(st.score == net_fault_points(NET_FAULT_INFLATE));
	CHECK(net_peer_closing(b) && !net_peer_banned(b));
	CHECK(strstr(net_peer_close_reason(b), "ratio") != NULL);
	CHECK(sb.msgs == 0);
	CHECK(net_peer_memory(b) < (3u << 20));
	buf_free(&frame);
	net_zenc_free(z);
	free(zeros);
	net_peer_free(a);
	net_peer_free(b);
}

/* After a legitimate 4 MiB block, neither side keeps megabytes of buffers
 * for the rest of the connection. */
static void test_buffers_released(void)
{
	net_peer_t *a, *b;
	struct seen sa = {0}, sb = {0};
	compressed_pair(&a, &b, &sa, &sb);
	size_t n = 4u << 20;
	uint8_t *body = malloc(n);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) { /* incompressible */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		body[i] = (uint8_t)x;
	}
	struct net_msg m = {.cmd = NET_CMD_BLOCK};
	m.u.block.height = 9;
	m.u.block.data = body;
	m.u.block.len = n;
	CHECK(net_peer_send(a, &m) == 0);
	CHECK(pump(a, b, 1, &sb) == 0);
	CHECK(sb.last_cmd == NET_CMD_BLOCK && sb.last_len == n);
	net_buf_release(net_peer_outbox(a)); /* as the owner does once written */
	CHECK(net_peer_memory(b) < (3u << 20));
	CHECK(net_peer_memory(a) < (6u << 20)); /* its zstd encoder: window and tables */
	/* and b goes on: the stream is intact */
	m.u.block.len = 1000;
	CHECK(net_peer_send(a, &m) == 0);
	CHECK(pump(a, b, 2, &sb) == 0 && sb.last_len == 1000);
	free(body);
	net_peer_free(a);
	net_peer_free(b);
}

static void test_known_inventory(void)
{
	struct net_peer_params pa = params(1, 7, 0);
	net_peer_t *a = net_peer_new(&pa, 0, 0);
	uint8_t h[32];
	memset(h, 0, 32);
	for (uint32_t i = 0; i < NET_KNOWN_INV_MAX + 10; i++) {
		le32_put(h, i * 2654435761u);
		le32_put(h + 28, i);
		net_peer_add_known(a, h);
	}
	CHECK(net_peer_knows(a, h));
	le32_put(h, 0);
	le32_put(h + 28, 0);
	CHECK(!net_peer_knows(a, h)); /* the oldest was forgotten */
	le32_put(h, 20 * 2654435761u);
	le32_put(h + 28, 20);
	CHECK(net_peer_knows(a, h));
	net_peer_free(a);
}

int main(void)
{
	RUN(test_handshake);
	RUN(test_wrong_chain);
	RUN(test_self_connection);
	RUN(test_ping_pong);
	RUN(test_slow_handshake);
	RUN(test_message_before_handshake);
	RUN(test_garbage_bans);
	RUN(test_other_network_no_points);
	RUN(test_scores_to_ban);
	RUN(test_bad_compression_bans);
	RUN(test_known_inventory);
	RUN(test_inflate_bomb);
	RUN(test_buffers_released);
	return test_report("test_net_peer");
}
