/* Benchmark of the p2p layer; prints figures, never fails on time.
 * 1. zstd on the wire: signed transfers from 50 senders to 200 recipients,
 *    sent one tx per message through one stream per direction, against each
 *    message compressed alone.
 * 2. Frame + message codec rate for 1 KiB tx messages.
 * 3. Sync over loopback: a fresh net_t downloads N 4 KiB blocks from two
 *    peers (each a tiny in-memory chain). */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "core/error.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/tx.h"
#include "net/frame.h"
#include "net/msg.h"
#include "net/net.h"

#define SENDERS 50
#define RECIPIENTS 200
#define TXS 5000
#define SYNC_BLOCKS 3000
#define SYNC_BLOCK_BYTES 4096

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_compression(void)
{
	uint8_t pk[SENDERS][PUBKEY_LEN], sk[SENDERS][SECKEY_LEN], to[RECIPIENTS][ADDR_LEN];
	uint64_t nonce[SENDERS] = {0};
	for (int i = 0; i < SENDERS; i++) {
		uint8_t seed[SEED_LEN] = {0};
		seed[0] = (uint8_t)i;
		seed[1] = 1;
		key_from_seed(seed, pk[i], sk[i]);
	}
	for (int i = 0; i < RECIPIENTS; i++) {
		uint8_t seed[32] = {(uint8_t)i, 2};
		sha256(seed, sizeof(seed), seed);
		memcpy(to[i], seed, ADDR_LEN);
	}
	net_zenc_t *z = net_zenc_new();
	struct buf payload, wire;
	buf_init(&payload);
	buf_init(&wire);
	size_t plain = 0, streamed = 0, alone = 0;
	uint8_t *alone_out = malloc(ZSTD_compressBound(4096));
	unsigned rng = 12345;
	for (int k = 0; k < TXS; k++) {
		rng = rng * 1103515245u + 12345u;
		int s = (int)(rng >> 8) % SENDERS;
		struct tx t;
		memset(&t, 0, sizeof(t));
		memset(t.chain_id, 0x42, HASH_LEN);
		t.nonce = nonce[s]++;
		memcpy(t.sender, pk[s], PUBKEY_LEN);
		t.fee = 1000 + (rng >> 20) % 100;
		t.kind = TX_TRANSFER;
		struct transfer_payload tp;
		memcpy(tp.to, to[(rng >> 4) % RECIPIENTS], ADDR_LEN);
		tp.amount = 1000000000ull * ((rng >> 12) % 50 + 1);
		struct buf tpb;
		buf_init(&tpb);
		transfer_encode(&tp, &tpb);
		tx_set_payload(&t, tpb.data, tpb.len);
		buf_free(&tpb);
		tx_sign(&t, sk[s]);
		struct buf enc;
		buf_init(&enc);
		tx_encode(&t, &enc);
		struct net_msg m = {.cmd = NET_CMD_TX};
		m.u.tx.data = enc.data;
		m.u.tx.len = enc.len;
		buf_reset(&payload);
		net_msg_encode(&m, &payload);
		plain += payload.len + NET_HDR_LEN;
		buf_reset(&wire);
		net_zenc_message(z, payload.data, payload.len, &wire);
		streamed += wire.len + NET_HDR_LEN;
		alone += ZSTD_compress(alone_out, ZSTD_compressBound(4096), payload.data, payload.len,
				       NET_ZSTD_LEVEL) + NET_HDR_LEN;
		buf_free(&enc);
		tx_free(&t);
	}
	printf("compression: %d signed transfers, %zu bytes framed plain\n", TXS, plain);
	printf("  one zstd stream, flushed per message: %zu bytes (%.2fx)\n", streamed,
	       (double)plain / (double)streamed);
	printf("  each message compressed alone:        %zu bytes (%.2fx)\n", alone,
	       (double)plain / (double)alone);
	free(alone_out);
	buf_free(&payload);
	buf_free(&wire);
	net_zenc_free(z);
}

static void bench_codec(void)
{
	uint8_t body[1024];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 31);
	struct buf b;
	buf_init(&b);
	struct net_decoder d;
	net_decoder_init(&d, NET_MAGIC_DEV);
	const int rounds = 200000;
	double t0 = now_s();
	size_t frames = 0;
	for (int k = 0; k < rounds; k++) {
		struct net_msg m = {.cmd = NET_CMD_TX};
		struct buf p;
		buf_init(&p);
		m.u.tx.data = body;
		m.u.tx.len = sizeof(body);
		net_msg_encode(&m, &p);
		buf_reset(&b);
		net_frame_encode(&b, NET_MAGIC_DEV, NET_CMD_TX, p.data, p.len);
		buf_free(&p);
		size_t used;
		if (net_decoder_feed(&d, b.data, b.len, &used) == 1) {
			enum net_cmd cmd;
			const uint8_t *pl;
			size_t len;
			struct net_msg out;
			net_decoder_frame(&d, &cmd, &pl, &len);
			if (net_msg_decode(&out, cmd, pl, len) == 0) {
				frames++;
				net_msg_free(&out);
			}
		}
	}
	double dt = now_s() - t0;
	printf("codec: %zu tx messages of 1 KiB encoded+framed+checked+decoded in %.3f s: "
	       "%.0f msg/s, %.0f MB/s\n",
	       frames, dt, frames / dt, frames * (double)b.len / dt / 1e6);
	net_decoder_free(&d);
	buf_free(&b);
}

struct chain {
	uint64_t tip;
};

static void make_block(uint64_t h, uint8_t *out)
{
	uint8_t seed[32], hb[8];
	le64_put(hb, h);
	sha256(hb, 8, seed);
	le64_put(out, h);
	/* half pseudo-random (hashes, signatures), half repeated structure */
	for (size_t i = 8; i < SYNC_BLOCK_BYTES; i++)
		out[i] = (i / 32) % 2 ? seed[i % 32] ^ (uint8_t)(i >> 5) : (uint8_t)(i % 64);
}

static void c_get_tip(void *ctx, uint64_t *height, uint8_t hash[32])
{
	*height = ((struct chain *)ctx)->tip;
	memset(hash, 0, 32);
	le64_put(hash, *height);
}

static int c_get_block_at(void *ctx, uint64_t height, uint8_t **enc, size_t *len)
{
	if (height == 0 || height > ((struct chain *)ctx)->tip)
		return ASSAY_ENOTFOUND;
	*enc = malloc(SYNC_BLOCK_BYTES);
	make_block(height, *enc);
	*len = SYNC_BLOCK_BYTES;
	return 0;
}

static int c_on_block(void *ctx, const uint8_t *enc, size_t len, const uint8_t *next, size_t next_len,
		      uint64_t *height)
{
	struct chain *c = ctx;
	uint8_t want[SYNC_BLOCK_BYTES];
	(void)next;
	(void)next_len;
	if (len != SYNC_BLOCK_BYTES)
		return ASSAY_EINVALID;
	*height = le64_get(enc);
	make_block(*height, want);
	if (memcmp(want, enc, len) != 0)
		return ASSAY_EINVALID;
	if (*height <= c->tip)
		return ASSAY_EEXISTS;
	if (*height != c->tip + 1)
		return ASSAY_ENOTFOUND;
	c->tip++;
	return 0;
}

static struct event_base *loop_base;
static struct chain *loop_chain;

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (loop_chain->tip >= SYNC_BLOCKS)
		event_base_loopbreak(loop_base);
}

static int base_port = 29460; /* -port=N: the two servers take N and N + 1; 0: the kernel picks */

static void bench_sync(void)
{
	struct event_base *base = event_base_new();
	struct chain a = {SYNC_BLOCKS}, c = {SYNC_BLOCKS}, b = {0};
	struct net_node_ops oa = {&a, c_get_tip, c_get_block_at, NULL, NULL, NULL, c_on_block, NULL, NULL, NULL};
	struct net_node_ops oc = {&c, c_get_tip, c_get_block_at, NULL, NULL, NULL, c_on_block, NULL, NULL, NULL};
	struct net_node_ops ob = {&b, c_get_tip, c_get_block_at, NULL, NULL, NULL, c_on_block, NULL, NULL, NULL};
	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.magic = NET_MAGIC_LOCAL;
	cfg.listen = 1;
	cfg.bind = "127.0.0.1";
	cfg.user_agent = "/bench/";
	char err[256];
	cfg.port = (uint16_t)base_port;
	net_t *na = net_new(base, &cfg, &oa, err, sizeof(err));
	cfg.port = (uint16_t)(base_port ? base_port + 1 : 0);
	net_t *nc = net_new(base, &cfg, &oc, err, sizeof(err));
	cfg.port = 0;
	if (!na || !nc) {
		printf("sync: cannot listen: %s\n", err);
		return;
	}
	char addr_a[64], addr_c[64];
	snprintf(addr_a, sizeof(addr_a), "127.0.0.1:%u", net_listen_port(na));
	snprintf(addr_c, sizeof(addr_c), "127.0.0.1:%u", net_listen_port(nc));
	const char *targets[2] = {addr_a, addr_c};
	cfg.listen = 0;
	cfg.connect = targets;
	cfg.nconnect = 2;
	double t0 = now_s();
	net_t *nb = net_new(base, &cfg, &ob, err, sizeof(err));
	loop_base = base;
	loop_chain = &b;
	struct event *check = event_new(base, -1, EV_PERSIST, check_cb, NULL);
	struct timeval every = {0, 1000};
	event_add(check, &every);
	struct timeval limit = {60, 0};
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	double dt = now_s() - t0;
	struct net_peer_info *peers;
	size_t n;
	uint64_t raw = 0, payload = 0;
	net_peers(nb, &peers, &n);
	for (size_t i = 0; i < n; i++) {
		raw += peers[i].bytes_recv_raw;
		payload += peers[i].bytes_recv;
	}
	free(peers);
	printf("sync: %llu of %d blocks of %d bytes from 2 peers over loopback in %.3f s: "
	       "%.0f blocks/s, %.1f MB/s of blocks; wire %.2fx smaller than payload\n",
	       (unsigned long long)b.tip, SYNC_BLOCKS, SYNC_BLOCK_BYTES, dt, b.tip / dt,
	       b.tip * (double)SYNC_BLOCK_BYTES / dt / 1e6, raw ? (double)payload / (double)raw : 0);
	event_free(check);
	net_free(nb);
	net_free(nc);
	net_free(na);
	event_base_free(base);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "-port=", 6) == 0 && atoi(argv[i] + 6) >= 0 && atoi(argv[i] + 6) < 65535) {
			base_port = atoi(argv[i] + 6);
		} else {
			fprintf(stderr, "usage: bench_net [-port=N]\n");
			return 2;
		}
	}
	log_set_level(LOG_WARN);
	keys_init();
	bench_compression();
	bench_codec();
	bench_sync();
	return 0;
}
