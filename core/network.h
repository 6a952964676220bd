/* The networks Assay knows, in one declarative table: each network's name,
 * address HRP family and text, default RPC and p2p ports and wire magic.
 * Every program (assayd, assay-cli, assay-worker) looks networks up here.
 * Not for: chain parameters (consensus/params.h) or genesis contents. */
#ifndef ASSAY_CORE_NETWORK_H
#define ASSAY_CORE_NETWORK_H

#include <stdint.h>

#include "core/keys.h"

#define NETWORK_NAME_MAX 15 /* longest network name, without NUL */

/* Wire magics, chosen so that no two share a byte in any position and none
 * is valid ASCII text or a zstd/HTTP/TLS prefix: a stray client is caught by
 * the first four bytes. Stored little-endian on the wire (docs/p2p.md §2). */
#define NET_MAGIC_DEV 0xD1A5A7E0u
#define NET_MAGIC_LOCAL 0xC2B6B8F1u
#define NET_MAGIC_TESTNET 0xB3C7C902u
#define NET_MAGIC_MAIN 0xA4D8DA13u

struct network_info {
	const char *name;     /* "dev", "local", "testnet", "main" */
	enum network family;  /* address family (dev and local share one) */
	const char *hrp;      /* bech32m human-readable part of its addresses */
	uint16_t rpc_port;    /* default JSON-RPC port */
	uint16_t p2p_port;    /* default p2p port */
	uint32_t magic;       /* first four bytes of every p2p frame (docs/p2p.md §2) */
};

/* A network compiled into the programs as data (docs/testnet.md): its
 * genesis file and seed list, embedded at build time from
 * docs/testnet/NAME/genesis.json and seeds.txt by core/network_embed.sh
 * (the generated core/network_data.c). The genesis is text for the node's
 * genesis parser; core/ does not read it. */
struct network_builtin {
	const char *name;          /* the -network name, e.g. "testnet" */
	const char *genesis_json;  /* genesis.json as shipped, NUL-terminated */
	size_t genesis_len;        /* its length without the NUL */
	const char *seeds;         /* seeds.txt: HOST:PORT lines, '#' comment lines */
};
extern const struct network_builtin network_builtins[]; /* ends with a NULL name */
extern const unsigned network_builtin_count;

/* The compiled entry of network name, or NULL if it has none. */
const struct network_builtin *network_builtin(const char *name);
/* The chain a compiled network's genesis makes: its "chain" name and chain
 * id (genesis hash), for the clients, which build no genesis to learn it.
 * Written by hand beside the data (docs/testnet.md lists it); test_genesis
 * checks each row against the compiled genesis. */
struct network_chain {
	const char *network;  /* the compiled network's -network name */
	const char *chain;    /* its genesis's "chain" */
	const char *chain_id; /* its genesis hash, 64 lowercase hex digits */
};
/* The dev chain's id: its genesis is built into assayd with a fixed time
 * (node/genesis.c, genesis_dev), so every dev node has this one; the
 * clients check it where the public dev key is at stake (assay-cli wallet
 * import-dev). test_genesis checks it against genesis_dev. */
#define NETWORK_DEV_CHAIN_ID "6e6d025918442b259e84b9f420e0ee74e6c70e259e011aa96cd253b55aa1ead8"
/* Row i of the compiled chains, or NULL past the end. */
const struct network_chain *network_chain_at(unsigned i);
/* The next seed of a seeds.txt text from *cursor (start: the text), into out
 * (HOST:PORT, surrounding blanks removed; blank and '#' lines skipped).
 * 1 and *cursor advanced, or 0 at the end. A line longer than outlen - 1 is
 * skipped. */
int network_seed_next(const char **cursor, char *out, size_t outlen);

/* The network called name (exact, case-sensitive), or NULL if none is. */
const struct network_info *network_find(const char *name);
/* Row i of the table in its fixed order, or NULL past the end: for listing
 * the known names in messages and for tests. */
const struct network_info *network_at(unsigned i);
/* The first network of an address family (the one whose HRP the family
 * uses); never NULL: an unknown family gives the dev network. */
const struct network_info *network_of_family(enum network family);

#endif
