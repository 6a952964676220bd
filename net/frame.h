/* Wire framing of the p2p protocol (docs/p2p.md §1-2): a 24-byte header
 * (magic, command, payload length, checksum) before each payload, an
 * incremental decoder over a byte stream, and the per-connection zstd streams.
 * Pure: no sockets, no clock. Not for: message payload codecs (net/msg.h). */
#ifndef ASSAY_NET_FRAME_H
#define ASSAY_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/network.h"

/* The network magics (NET_MAGIC_*) live with the network table in
 * core/network.h; a frame carries the one of its network. */

#define NET_CMD_LEN 12     /* command name, ASCII, NUL-padded */
#define NET_HDR_LEN 24     /* magic 4 + command 12 + length 4 + checksum 4 */
/* Hard limit on one frame's payload and on one message after decompression:
 * above the largest block a chain may configure, small enough that a peer
 * cannot make us hold more than this per connection. */
#define NET_MAX_FRAME (8u << 20)
/* zstd window (log2 bytes) both sides use; a decoder refuses larger windows so
 * that a peer cannot make us keep more than 256 KiB of history per connection
 * (the decoder holds the window plus one 128 KiB block for as long as the
 * connection lasts). */
#define NET_ZSTD_WINDOW_LOG 18
#define NET_ZSTD_LEVEL 3
/* Our encoder's match tables (log2 entries of 4 bytes): with the window they
 * bound what our direction of a connection holds to about 1.5 MiB. */
#define NET_ZSTD_TABLE_LOG 16
/* Inflation bound of one compressed message: it may decompress to at most
 * max(NET_ZSTD_RATIO_FLOOR, NET_ZSTD_MAX_RATIO × its compressed size), and
 * never more than NET_MAX_FRAME. Honest data (blocks, txs, hashes that the
 * window remembers) stays far below; a tiny frame that would inflate to
 * megabytes is stopped after the floor and scored (NET_FAULT_INFLATE). */
#define NET_ZSTD_MAX_RATIO 256
#define NET_ZSTD_RATIO_FLOOR (1u << 20)
/* A per-connection buffer that grew past this is freed once its message is
 * handled (net_buf_release): a peer that sent or was sent one large message
 * does not keep its memory for the life of the connection. */
#define NET_BUF_KEEP (64u << 10)

enum net_cmd {
	NET_CMD_VERSION = 0,
	NET_CMD_VERACK,
	NET_CMD_PING,
	NET_CMD_PONG,
	NET_CMD_INV,
	NET_CMD_GETDATA,
	NET_CMD_TX,
	NET_CMD_BLOCK,
	NET_CMD_GETBLOCKS,
	NET_CMD_NOTFOUND,
	NET_CMD_ADDR,
	NET_CMD_GETADDR,
	NET_CMD_REJECT,
	NET_CMD_PROPOSAL, /* BFT proposal with its block (docs/p2p.md §4) */
	NET_CMD_VOTE,     /* BFT prevote or precommit */
	NET_CMD_CHUNK,    /* an output chunk (docs/p2p.md §4, docs/compute.md §15) */
	NET_CMD_COUNT
};

/* Why a peer broke the protocol; each carries misbehaviour points (see
 * net_fault_points and docs/p2p.md §9). */
enum net_fault {
	NET_FAULT_NONE = 0,
	NET_FAULT_BAD_MAGIC,      /* not any Assay network's magic: not our protocol */
	NET_FAULT_OVERSIZE,       /* frame length over NET_MAX_FRAME */
	NET_FAULT_BAD_CHECKSUM,   /* payload does not match the header checksum */
	NET_FAULT_UNKNOWN_CMD,    /* command name we do not know or not NUL-padded */
	NET_FAULT_BAD_COMPRESSION, /* zstd error, or a window over NET_ZSTD_WINDOW_LOG */
	NET_FAULT_MALFORMED,      /* payload does not decode canonically */
	NET_FAULT_OVER_LIMIT,     /* a count or length in a payload over its limit */
	NET_FAULT_HANDSHAKE,      /* message before version/verack, duplicate version */
	NET_FAULT_SLOW_HANDSHAKE, /* no complete handshake within the timeout */
	NET_FAULT_INVALID_TX,     /* node rejected a tx the peer sent */
	NET_FAULT_INVALID_BLOCK,  /* node rejected a block the peer sent */
	NET_FAULT_UNSOLICITED,    /* block we neither requested nor were offered */
	NET_FAULT_MANUAL,         /* operator ban */
	NET_FAULT_INFLATE,        /* message inflates past the ratio bound or NET_MAX_FRAME */
	NET_FAULT_INVALID_CONSENSUS, /* proposal or vote with a bad signature, unknown signer or bad block */
	NET_FAULT_OTHER_NETWORK,  /* another Assay network's magic: honest, not ours (0 points) */
	NET_FAULT_INVALID_CHUNK,  /* an output chunk that does not prove against its root */
	NET_FAULT_COUNT
};

/* Misbehaviour points of a fault; 100 or more in total bans the peer. */
int net_fault_points(enum net_fault f);
const char *net_fault_name(enum net_fault f);

const char *net_cmd_name(enum net_cmd c);
/* Parses a 12-byte command field: known name, NUL-padded with nothing after
 * the first NUL. Returns the command or -1. */
int net_cmd_parse(const uint8_t field[NET_CMD_LEN]);

/* Empties b and, if its allocation grew past NET_BUF_KEEP, frees it. */
void net_buf_release(struct buf *b);

/* Appends header + payload to out. len must be <= NET_MAX_FRAME. */
void net_frame_encode(struct buf *out, uint32_t magic, enum net_cmd cmd, const uint8_t *payload,
		      size_t len);

/* Incremental decoder: feed any slices of the byte stream, take complete
 * frames. After an error it stays failed (the stream cannot be resynced). */
struct net_decoder {
	uint32_t magic;
	uint8_t hdr[NET_HDR_LEN];
	size_t hdr_have;          /* header bytes collected so far */
	int cmd;                  /* command of the frame being read */
	uint32_t payload_len;     /* from the header */
	struct buf payload;       /* payload collected so far */
	int ready;                /* a complete frame is waiting to be taken */
	enum net_fault fault;     /* sticky: why decoding stopped */
};

void net_decoder_init(struct net_decoder *d, uint32_t magic);
void net_decoder_free(struct net_decoder *d);
/* Consumes bytes from p until one frame is complete or input runs out;
 * *used says how many were consumed. Returns 1 when a frame is ready (read it
 * with net_decoder_frame, then feed the rest), 0 when more bytes are needed,
 * or a negative ASSAY_E* with d->fault set. Header faults (magic, oversize,
 * unknown command) are reported before any payload byte is read. */
int net_decoder_feed(struct net_decoder *d, const uint8_t *p, size_t n, size_t *used);
/* The ready frame; the payload pointer is valid until the next feed. */
void net_decoder_frame(struct net_decoder *d, enum net_cmd *cmd, const uint8_t **payload,
		       size_t *len);

/* One direction's zstd stream (docs/p2p.md §3). Each message is compressed
 * and flushed (ZSTD_e_flush), so it can be decoded on arrival while the
 * window carries over from earlier messages. */
typedef struct net_zenc net_zenc_t;
typedef struct net_zdec net_zdec_t;
net_zenc_t *net_zenc_new(void);
void net_zenc_free(net_zenc_t *z);
/* Appends the compressed, flushed form of p to out. 0 or ASSAY_ENOMEM/EIO. */
int net_zenc_message(net_zenc_t *z, const uint8_t *p, size_t n, struct buf *out);
net_zdec_t *net_zdec_new(void);
void net_zdec_free(net_zdec_t *z);
/* Decompresses one message into out (reset first). ASSAY_ELIMIT when the output
 * would exceed the inflation bound (NET_ZSTD_MAX_RATIO, NET_ZSTD_RATIO_FLOOR,
 * NET_MAX_FRAME: a decompression bomb; decoding stops there, so the stream is
 * out of step), ASSAY_EDECODE on a zstd error. */
int net_zdec_message(net_zdec_t *z, const uint8_t *p, size_t n, struct buf *out);
/* The inflation bound for a compressed message of n bytes. */
size_t net_zstd_inflate_limit(size_t n);
/* Bytes the stream holds now (its window and buffers). */
size_t net_zenc_memory(const net_zenc_t *z);
size_t net_zdec_memory(const net_zdec_t *z);

#endif
