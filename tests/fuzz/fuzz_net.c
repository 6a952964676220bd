/* libFuzzer target for the p2p decoders: the incremental frame decoder fed in
 * fuzzer-chosen slices, every message codec (whatever decodes must re-encode
 * to exactly the input), the zstd message stream, and the peer state machine
 * driven with well-framed messages so that handshake paths are reached.
 * fuzz-sources: net/frame.c net/msg.c net/hashset.c net/peer.c
 * fuzz-sources: core/buf.c core/error.c core/sha256.c core/network.c core/bech32.c
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/frame.h"
#include "net/msg.h"
#include "net/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes a payload and checks the canonical round trip. */
static void check_msg(enum net_cmd cmd, const uint8_t *p, size_t n)
{
	struct net_msg m;
	if (net_msg_decode(&m, cmd, p, n) != 0)
		return;
	struct buf b;
	buf_init(&b);
	net_msg_encode(&m, &b);
	if (b.len != n || (n && memcmp(b.data, p, n) != 0))
		abort();
	buf_free(&b);
	net_msg_free(&m);
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
	struct net_decoder d;
	net_decoder_init(&d, NET_MAGIC_DEV);
	size_t pos = 0;
	size_t slice = size ? (size_t)data[0] % 31 + 1 : 1;
	while (pos < size) {
		size_t n = size - pos < slice ? size - pos : slice;
		size_t used;
		int rc = net_decoder_feed(&d, data + pos, n, &used);
		if (used > n)
			abort();
		pos += used;
		if (rc < 0)
			break;
		if (rc == 1) {
			enum net_cmd cmd;
			const uint8_t *payload;
			size_t len;
			net_decoder_frame(&d, &cmd, &payload, &len);
			if (len > NET_MAX_FRAME || (unsigned)cmd >= NET_CMD_COUNT)
				abort();
			check_msg(cmd, payload, len);
		} else if (used != n) {
			abort();
		}
	}
	net_decoder_free(&d);
}

static void fuzz_zstd(const uint8_t *data, size_t size)
{
	net_zdec_t *z = net_zdec_new();
	struct buf out;
	buf_init(&out);
	/* two messages from one stream: state carries over */
	size_t half = size / 2;
	if (net_zdec_message(z, data, half, &out) == 0)
		net_zdec_message(z, data + half, size - half, &out);
	if (out.len > (size_t)NET_MAX_FRAME + 1)
		abort();
	buf_free(&out);
	net_zdec_free(z);
}

/* Input: records of [cmd byte][len byte][len bytes], each framed properly and
 * fed to a peer that has sent its version. */
static void fuzz_peer(const uint8_t *data, size_t size)
{
	struct net_peer_params params;
	memset(&params, 0, sizeof(params));
	params.magic = NET_MAGIC_DEV;
	params.local_nonce = 1;
	params.flags = size && (data[0] & 1) ? NET_F_ZSTD : 0;
	params.user_agent = "/fuzz/";
	net_peer_t *p = net_peer_new(&params, 1, 0);
	if (!p)
		return;
	net_peer_start(p);
	struct buf frames;
	buf_init(&frames);
	size_t pos = size ? 1 : 0;
	while (pos + 2 <= size) {
		enum net_cmd cmd = (enum net_cmd)(data[pos] % NET_CMD_COUNT);
		size_t len = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		net_frame_encode(&frames, NET_MAGIC_DEV, cmd, data + pos, len);
		pos += len;
	}
	struct net_peer_events ev = {0};
	net_peer_recv(p, frames.data, frames.len, 1, &ev);
	net_peer_tick(p, 100000);
	buf_free(&frames);
	net_peer_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	switch (mode % 4) {
	case 0:
		fuzz_stream(data, size);
		break;
	case 1:
		if (size)
			check_msg((enum net_cmd)(data[0] % NET_CMD_COUNT), data + 1, size - 1);
		break;
	case 2:
		fuzz_zstd(data, size);
		break;
	default:
		fuzz_peer(data, size);
		break;
	}
	return 0;
}
