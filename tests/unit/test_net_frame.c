/* Unit tests of net/frame.c: header layout, the incremental decoder (whole
 * buffers and byte by byte), every header fault, and the zstd message streams
 * including a decompression bomb, the inflation ratio bound and the window
 * limit. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/error.h"
#include "core/sha256.h"
#include "net/frame.h"
#include "tests/unit/test.h"

static void test_header_layout(void)
{
	struct buf b;
	buf_init(&b);
	const uint8_t payload[3] = {1, 2, 3};
	net_frame_encode(&b, NET_MAGIC_DEV, NET_CMD_GETBLOCKS, payload, 3);
	CHECK(b.len == NET_HDR_LEN + 3);
	CHECK(le32_get(b.data) == NET_MAGIC_DEV);
	CHECK(memcmp(b.data + 4, "getblocks\0\0\0", 12) == 0);
	CHECK(le32_get(b.data + 16) == 3);
	uint8_t digest[32];
	sha256(payload, 3, digest);
	CHECK_EQ_MEM(b.data + 20, digest, 4);
	CHECK_EQ_MEM(b.data + 24, payload, 3);
	/* empty payload: checksum of the empty string, e3b0c442... */
	buf_reset(&b);
	net_frame_encode(&b, NET_MAGIC_MAIN, NET_CMD_VERACK, NULL, 0);
	const uint8_t empty_sum[4] = {0xe3, 0xb0, 0xc4, 0x42};
	CHECK(b.len == NET_HDR_LEN);
	CHECK_EQ_MEM(b.data + 20, empty_sum, 4);
	buf_free(&b);
}

static void test_magics_distinct(void)
{
	uint32_t m[4] = {NET_MAGIC_DEV, NET_MAGIC_LOCAL, NET_MAGIC_TESTNET, NET_MAGIC_MAIN};
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			for (int k = 0; k < 4; k++)
				CHECK(((m[i] >> (8 * k)) & 0xff) != ((m[j] >> (8 * k)) & 0xff));
}

static void test_cmd_parse(void)
{
	uint8_t f[NET_CMD_LEN] = "ping";
	CHECK(net_cmd_parse(f) == NET_CMD_PING);
	for (int c = 0; c < NET_CMD_COUNT; c++) {
		memset(f, 0, sizeof(f));
		memcpy(f, net_cmd_name(c), strlen(net_cmd_name(c)));
		CHECK(net_cmd_parse(f) == c);
	}
	uint8_t junk_after[NET_CMD_LEN] = {'p', 'i', 'n', 'g', 0, 'x'};
	CHECK(net_cmd_parse(junk_after) == -1);
	uint8_t unknown[NET_CMD_LEN] = "pingx";
	CHECK(net_cmd_parse(unknown) == -1);
	uint8_t prefix[NET_CMD_LEN] = "pin";
	CHECK(net_cmd_parse(prefix) == -1);
	uint8_t full[NET_CMD_LEN];
	memset(full, 'a', sizeof(full));
	CHECK(net_cmd_parse(full) == -1);
}

/* Three frames back to back, fed with the given slice size. */
static void feed_stream(size_t slice)
{
	struct buf b;
	buf_init(&b);
	uint8_t big[5000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	net_frame_encode(&b, NET_MAGIC_LOCAL, NET_CMD_PING, (const uint8_t *)"12345678", 8);
	net_frame_encode(&b, NET_MAGIC_LOCAL, NET_CMD_GETADDR, NULL, 0);
	net_frame_encode(&b, NET_MAGIC_LOCAL, NET_CMD_TX, big, sizeof(big));
	struct net_decoder d;
	net_decoder_init(&d, NET_MAGIC_LOCAL);
	int got = 0;
	size_t pos = 0;
	while (pos < b.len) {
		size_t n = b.len - pos < slice ? b.len - pos : slice;
		size_t used;
		int rc = net_decoder_feed(&d, b.data + pos, n, &used);
		CHECK(rc >= 0);
		if (rc < 0)
			break;
		pos += used;
		if (rc == 1) {
			enum net_cmd cmd;
			const uint8_t *p;
			size_t len;
			net_decoder_frame(&d, &cmd, &p, &len);
			if (got == 0)
				CHECK(cmd == NET_CMD_PING && len == 8 && memcmp(p, "12345678", 8) == 0);
			if (got == 1)
				CHECK(cmd == NET_CMD_GETADDR && len == 0);
			if (got == 2)
				CHECK(cmd == NET_CMD_TX && len == sizeof(big) && memcmp(p, big, len) == 0);
			got++;
		} else {
			CHECK(used == n); /* needing more means it took all it was given */
		}
	}
	CHECK(got == 3);
	net_decoder_free(&d);
	buf_free(&b);
}

static void test_decoder_slices(void)
{
	feed_stream(1);
	feed_stream(7);
	feed_stream(24);
	feed_stream(100000);
}

/* Feeds the whole of b and returns the first error (or 0/1). */
static int feed_all(struct net_decoder *d, const uint8_t *p, size_t n, size_t *consumed)
{
	size_t pos = 0;
	int rc = 0;
	while (pos < n) {
		size_t used;
		rc = net_decoder_feed(d, p + pos, n - pos, &used);
		pos += used;
		if (rc != 1)
			break;
	}
	*consumed = pos;
	return rc;
}

static void test_decoder_faults(void)
{
	struct buf b;
	struct net_decoder d;
	size_t used;
	buf_init(&b);

	/* bad magic: refused after four bytes, before the header is complete */
	net_frame_encode(&b, 0x11223344u, NET_CMD_VERACK, NULL, 0);
	net_decoder_init(&d, NET_MAGIC_DEV);
	CHECK(net_decoder_feed(&d, b.data, 4, &used) == ASSAY_EDECODE);
	CHECK(d.fault == NET_FAULT_BAD_MAGIC);
	CHECK(net_decoder_feed(&d, b.data, 4, &used) < 0); /* stays failed */
	net_decoder_free(&d);
	buf_reset(&b);

	/* another Assay network's magic: an honest node of that network, told
	 * apart from garbage so that it costs no points (docs/p2p.md §9) */
	net_frame_encode(&b, NET_MAGIC_TESTNET, NET_CMD_VERACK, NULL, 0);
	net_decoder_init(&d, NET_MAGIC_DEV);
	CHECK(net_decoder_feed(&d, b.data, 4, &used) == ASSAY_ECHAIN);
	CHECK(d.fault == NET_FAULT_OTHER_NETWORK);
	net_decoder_free(&d);
	net_decoder_init(&d, NET_MAGIC_LOCAL); /* dev and local share ports: a likely mix-up */
	net_frame_encode(&b, NET_MAGIC_DEV, NET_CMD_VERACK, NULL, 0);
	CHECK(net_decoder_feed(&d, b.data + NET_HDR_LEN, NET_HDR_LEN, &used) == ASSAY_ECHAIN);
	CHECK(d.fault == NET_FAULT_OTHER_NETWORK);
	net_decoder_free(&d);

	/* oversize: reported from the header alone */
	uint8_t hdr[NET_HDR_LEN] = {0};
	le32_put(hdr, NET_MAGIC_DEV);
	memcpy(hdr + 4, "block", 5);
	le32_put(hdr + 16, NET_MAX_FRAME + 1);
	net_decoder_init(&d, NET_MAGIC_DEV);
	CHECK(net_decoder_feed(&d, hdr, sizeof(hdr), &used) == ASSAY_ELIMIT);
	CHECK(d.fault == NET_FAULT_OVERSIZE);
	CHECK(used == NET_HDR_LEN);
	net_decoder_free(&d);

	/* exactly the limit is allowed in the header */
	le32_put(hdr + 16, NET_MAX_FRAME);
	net_decoder_init(&d, NET_MAGIC_DEV);
	CHECK(net_decoder_feed(&d, hdr, sizeof(hdr), &used) == 0);
	net_decoder_free(&d);

	/* unknown command */
	memset(hdr + 4, 0, 12);
	memcpy(hdr + 4, "mempool", 7);
	le32_put(hdr + 16, 0);
	net_decoder_init(&d, NET_MAGIC_DEV);
	CHECK(net_decoder_feed(&d, hdr, sizeof(hdr), &used) == ASSAY_EDECODE);
	CHECK(d.fault == NET_FAULT_UNKNOWN_CMD);
	net_decoder_free(&d);

	/* bad checksum: one payload bit flipped */
	buf_reset(&b);
	net_frame_encode(&b, NET_MAGIC_DEV, NET_CMD_PING, (const uint8_t *)"abcdefgh", 8);
	b.data[NET_HDR_LEN + 3] ^= 1;
	net_decoder_init(&d, NET_MAGIC_DEV);
	CHECK(feed_all(&d, b.data, b.len, &used) == ASSAY_EDECODE);
	CHECK(d.fault == NET_FAULT_BAD_CHECKSUM);
	net_decoder_free(&d);

	/* truncation: a partial frame is never delivered */
	buf_reset(&b);
	net_frame_encode(&b, NET_MAGIC_DEV, NET_CMD_PING, (const uint8_t *)"abcdefgh", 8);
	net_decoder_init(&d, NET_MAGIC_DEV);
	CHECK(feed_all(&d, b.data, b.len - 1, &used) == 0);
	CHECK(!d.ready);
	net_decoder_free(&d);
	buf_free(&b);
}

static void test_fault_points(void)
{
	CHECK(net_fault_points(NET_FAULT_BAD_MAGIC) >= 100);
	CHECK(net_fault_points(NET_FAULT_OTHER_NETWORK) == 0);
	CHECK(net_fault_points(NET_FAULT_OVERSIZE) >= 100);
	CHECK(net_fault_points(NET_FAULT_INVALID_BLOCK) >= 100);
	CHECK(net_fault_points(NET_FAULT_INVALID_TX) > 0 && net_fault_points(NET_FAULT_INVALID_TX) < 100);
	CHECK(net_fault_points(NET_FAULT_NONE) == 0);
	for (int f = 1; f < NET_FAULT_COUNT; f++) /* a fault costs points, but a foreign network's magic */
		CHECK((net_fault_points(f) > 0 || f == NET_FAULT_OTHER_NETWORK) && net_fault_name(f) != NULL);
}

/* Messages with repeated content through one stream: every message decodes
 * on arrival, and later ones shrink because the window remembers. */
static void test_zstd_stream(void)
{
	net_zenc_t *enc = net_zenc_new();
	net_zdec_t *dec = net_zdec_new();
	struct buf z, out;
	buf_init(&z);
	buf_init(&out);
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 37 + 11);
	size_t first = 0, last = 0, total_in = 0, total_out = 0;
	for (int m = 0; m < 200; m++) {
		uint8_t msg[300];
		for (size_t i = 0; i < sizeof(msg); i++)
			msg[i] = (uint8_t)(i % 32 < 16 ? key[i % 32] : (m * 131 + i * 17) & 0xff);
		buf_reset(&z);
		CHECK(net_zenc_message(enc, msg, sizeof(msg), &z) == 0);
		CHECK(net_zdec_message(dec, z.data, z.len, &out) == 0);
		CHECK(out.len == sizeof(msg) && memcmp(out.data, msg, sizeof(msg)) == 0);
		if (m == 0)
			first = z.len;
		last = z.len;
		total_in += sizeof(msg);
		total_out += z.len;
	}
	CHECK(last < first);
	CHECK(total_out < total_in);
	/* an empty message still round-trips */
	buf_reset(&z);
	CHECK(net_zenc_message(enc, NULL, 0, &z) == 0);
	CHECK(net_zdec_message(dec, z.data, z.len, &out) == 0 && out.len == 0);
	buf_free(&z);
	buf_free(&out);
	net_zenc_free(enc);
	net_zdec_free(dec);
}

static const uint8_t noise_small[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_zstd_bomb(void)
{
	/* 9 MiB of zeros compress to a few hundred bytes; inflating them must
	 * stop at the frame limit. */
	size_t n = 9u << 20;
	uint8_t *zeros = calloc(1, n);
	net_zenc_t *enc = net_zenc_new();
	net_zdec_t *dec = net_zdec_new();
	struct buf z, out;
	buf_init(&z);
	buf_init(&out);
	CHECK(net_zenc_message(enc, zeros, n, &z) == 0);
	CHECK(z.len < 4096);
	CHECK(net_zdec_message(dec, z.data, z.len, &out) == ASSAY_ELIMIT);
	/* stopped at the ratio bound's floor, not at 8 MiB */
	CHECK(out.len <= (size_t)NET_ZSTD_RATIO_FLOOR + 1);
	/* exactly the floor is still fine, one byte more is not */
	net_zenc_t *enc2 = net_zenc_new();
	net_zdec_t *dec2 = net_zdec_new();
	buf_reset(&z);
	CHECK(net_zenc_message(enc2, zeros, NET_ZSTD_RATIO_FLOOR, &z) == 0);
	CHECK(net_zdec_message(dec2, z.data, z.len, &out) == 0 && out.len == NET_ZSTD_RATIO_FLOOR);
	buf_reset(&z);
	CHECK(net_zenc_message(enc2, zeros, NET_ZSTD_RATIO_FLOOR + 1, &z) == 0);
	CHECK(z.len * NET_ZSTD_MAX_RATIO < NET_ZSTD_RATIO_FLOOR);
	CHECK(net_zdec_message(dec2, z.data, z.len, &out) == ASSAY_ELIMIT);
	/* incompressible data may fill the frame limit, not more */
	uint8_t *noise = malloc(NET_MAX_FRAME + 1);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i <= NET_MAX_FRAME; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		noise[i] = (uint8_t)x;
	}
	net_zenc_t *enc4 = net_zenc_new();
	net_zdec_t *dec4 = net_zdec_new();
	buf_reset(&z);
	CHECK(net_zenc_message(enc4, noise, NET_MAX_FRAME, &z) == 0);
	CHECK(net_zdec_message(dec4, z.data, z.len, &out) == 0 && out.len == NET_MAX_FRAME);
	CHECK(memcmp(out.data, noise, NET_MAX_FRAME) == 0);
	buf_reset(&z);
	CHECK(net_zenc_message(enc4, noise, NET_MAX_FRAME + 1, &z) == 0);
	CHECK(net_zdec_message(dec4, z.data, z.len, &out) == ASSAY_ELIMIT);
	net_zenc_free(enc4);
	net_zdec_free(dec4);
	free(noise);
	CHECK(net_zstd_inflate_limit(0) == NET_ZSTD_RATIO_FLOOR);
	CHECK(net_zstd_inflate_limit(NET_MAX_FRAME / NET_ZSTD_MAX_RATIO - 1) ==
	      (NET_MAX_FRAME / NET_ZSTD_MAX_RATIO - 1) * NET_ZSTD_MAX_RATIO);
	CHECK(net_zstd_inflate_limit(NET_MAX_FRAME) == NET_MAX_FRAME);
	/* a stream whose window is over NET_ZSTD_WINDOW_LOG is refused */
	ZSTD_CStream *big = ZSTD_createCStream();
	ZSTD_CCtx_setParameter(big, ZSTD_c_windowLog, NET_ZSTD_WINDOW_LOG + 1);
	uint8_t zbuf[1 << 12];
	ZSTD_inBuffer zin = {noise_small, sizeof(noise_small), 0};
	ZSTD_outBuffer zout = {zbuf, sizeof(zbuf), 0};
	CHECK(!ZSTD_isError(ZSTD_compressStream2(big, &zout, &zin, ZSTD_e_flush)));
	net_zdec_t *dec5 = net_zdec_new();
	CHECK(net_zdec_message(dec5, zbuf, zout.pos, &out) == ASSAY_EDECODE);
	net_zdec_free(dec5);
	ZSTD_freeCStream(big);
	/* garbage is a decode error */
	net_zdec_t *dec3 = net_zdec_new();
	const uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	CHECK(net_zdec_message(dec3, junk, sizeof(junk), &out) == ASSAY_EDECODE);
	net_zdec_free(dec3);
	net_zenc_free(enc2);
	net_zdec_free(dec2);
	buf_free(&z);
	buf_free(&out);
	net_zenc_free(enc);
	net_zdec_free(dec);
	free(zeros);
}

int main(void)
{
	RUN(test_header_layout);
	RUN(test_magics_distinct);
	RUN(test_cmd_parse);
	RUN(test_decoder_slices);
	RUN(test_decoder_faults);
	RUN(test_fault_points);
	RUN(test_zstd_stream);
	RUN(test_zstd_bomb);
	return test_report("test_net_frame");
}
