/* Payload codecs of the p2p messages (docs/p2p.md §4), canonical in the sense
 * of core/buf.h: fixed little-endian integers, minimal varint lengths, every
 * list and string bounded, no trailing bytes. Pure.
 * Not for: framing or compression (net/frame.h), what a message means to a
 * peer (net/peer.h). */
#ifndef ASSAY_NET_MSG_H
#define ASSAY_NET_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/sha256.h"
#include "net/frame.h"

#define NET_PROTOCOL_VERSION 1
#define NET_MIN_PROTOCOL_VERSION 1 /* oldest version we still talk to */
#define NET_MAX_USER_AGENT 64      /* bytes of user agent text */
#define NET_MAX_INV 1000           /* items in one inv, getdata or notfound */
#define NET_MAX_ADDR 1000          /* entries in one addr */
#define NET_MAX_GETBLOCKS 500      /* blocks asked for by one getblocks */
#define NET_MAX_REASON 128         /* bytes of reject reason text */
/* Largest tx or block carried: the frame limit less room for the block
 * message's own fields and for zstd's framing of incompressible data (a few
 * bytes per 128 KiB block), so that any object we accept can be relayed. */
#define NET_MAX_OBJECT (NET_MAX_FRAME - 4096)
/* Largest vote payload: a BFT vote is 142 bytes (docs/consensus.md §3); the
 * bound leaves room without letting votes carry anything else. */
#define NET_MAX_VOTE 256
/* Largest output chunk: 1 MiB of tiles, its fixed fields and a 128-hash
 * proof (AVAIL_CHUNK_MAX_ENCODED of consensus/compute/avail.h, which net/
 * does not include). */
#define NET_MAX_CHUNK ((1u << 20) + 8192)

/* version.flags bits. Unknown bits are ignored (they announce features a
 * newer peer has), so adding a feature needs no new protocol version. */
#define NET_F_ZSTD 0x1u /* can receive zstd-compressed frames after verack */

enum net_inv_type { NET_INV_TX = 1, NET_INV_BLOCK = 2, NET_INV_CHUNK = 3 /* output chunk hash */ };

struct net_inv {
	uint8_t type;            /* enum net_inv_type */
	uint8_t hash[HASH_LEN];  /* txid or block hash */
};

struct net_addr {
	uint8_t ip[16];          /* IPv6, or IPv4-mapped ::ffff:a.b.c.d */
	uint16_t port;
	uint64_t last_seen;      /* seconds since the epoch */
};

struct net_version {
	uint32_t protocol;              /* NET_PROTOCOL_VERSION of the sender */
	uint8_t chain_id[HASH_LEN];     /* genesis hash */
	uint64_t best_height;           /* sender's tip */
	uint64_t nonce;                 /* random per process: self-connection check */
	uint16_t listen_port;           /* 0: not listening */
	uint32_t flags;                 /* NET_F_* */
	char user_agent[NET_MAX_USER_AGENT + 1]; /* printable ASCII, NUL-terminated */
};

/* reject codes: why the sender is about to close, or refused something */
enum net_reject_code {
	NET_REJECT_PROTOCOL = 1, /* broke the protocol (see reason) */
	NET_REJECT_CHAIN = 2,    /* different chain_id */
	NET_REJECT_VERSION = 3,  /* protocol version too old */
	NET_REJECT_SELF = 4,     /* connected to itself */
	NET_REJECT_FULL = 5,     /* no free connection slot */
	NET_REJECT_BANNED = 6,   /* sender has banned this address */
	NET_REJECT_INVALID = 7,  /* a tx or block was invalid */
	NET_REJECT_MAX = 7
};

struct net_msg {
	enum net_cmd cmd;
	union {
		struct net_version version;   /* version */
		uint64_t nonce;               /* ping, pong */
		struct {
			size_t count;
			struct net_inv *items; /* malloc()ed on decode */
		} inv;                        /* inv, getdata, notfound */
		struct {
			const uint8_t *data;   /* points into the payload on decode */
			size_t len;
		} tx;                         /* tx */
		struct {
			uint64_t height;       /* the sender's claim; the node checks */
			const uint8_t *data;   /* points into the payload on decode */
			size_t len;
		} block;                      /* block */
		struct {
			const uint8_t *data;   /* points into the payload on decode; opaque to net/ */
			size_t len;            /* proposal: <= NET_MAX_OBJECT, vote: <= NET_MAX_VOTE */
		} consensus;                  /* proposal (bft proposal || block), vote */
		struct {
			const uint8_t *data;   /* points into the payload on decode; opaque to net/ */
			size_t len;            /* <= NET_MAX_CHUNK */
		} chunk;                      /* chunk */
		struct {
			uint64_t from;
			uint32_t count;        /* 1..NET_MAX_GETBLOCKS */
		} getblocks;                  /* getblocks */
		struct {
			size_t count;
			struct net_addr *items; /* malloc()ed on decode */
		} addr;                       /* addr */
		struct {
			uint8_t code;          /* enum net_reject_code */
			char reason[NET_MAX_REASON + 1];
		} reject;                     /* reject */
	} u;
};

/* Appends the payload of m (not the frame) to b. */
void net_msg_encode(const struct net_msg *m, struct buf *b);
/* Decodes a payload of the given command into m. On success m may point into
 * p (tx, block): keep p alive while using m; call net_msg_free after. Errors:
 * ASSAY_EDECODE (malformed, trailing bytes, bad enum), ASSAY_ELIMIT (a count
 * or length over its limit), ASSAY_ENOMEM. On error nothing needs freeing. */
int net_msg_decode(struct net_msg *m, enum net_cmd cmd, const uint8_t *p, size_t n);
void net_msg_free(struct net_msg *m);

/* Address helpers. net_addr_format writes "a.b.c.d:port" or "[v6]:port". */
void net_addr_format(const uint8_t ip[16], uint16_t port, char *out, size_t outlen);
/* Formats the IP alone (no port). */
void net_ip_format(const uint8_t ip[16], char *out, size_t outlen);
/* Parses a numeric IPv4/IPv6 address, with no port; 0 or ASSAY_EARG. */
int net_ip_parse(const char *s, uint8_t ip[16]);

#endif
