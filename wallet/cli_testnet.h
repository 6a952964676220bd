/* assay-cli's testnet group (docs/testnet.md, docs/cli.md "Testnet
 * commands"): gentx (one operator signs its validator entry), collect (a
 * genesis built and checked from the entries) and init (a whole network of
 * validators and workers on one machine, each node a datadir with its
 * assay.conf). The file-making parts are functions of their inputs, so unit
 * tests drive them without a node. Not for: parsing a genesis the way the
 * node does (node/genesis.c) or running the nodes (scripts/localnet). */
#ifndef ASSAY_WALLET_CLI_TESTNET_H
#define ASSAY_WALLET_CLI_TESTNET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/keys.h"
#include "wallet/cli.h"

#define CLI_GENTX_TYPE "assay-gentx"
#define CLI_GENTX_TAG "assay/gentx" /* signed: H_tag(tag, chain network pubkey stake) */
/* The most validators a genesis file may list (the node's genesis reader). */
#define CLI_GENESIS_MAX_VALIDATORS 128
#define CLI_TESTNET_MAX_NODES 64 /* validators per init */
#define CLI_TESTNET_MAX_WORKERS 64
#define CLI_TESTNET_BASE_PORT 26600 /* node i: RPC base+2i, p2p base+2i+1 */
#define CLI_TESTNET_STAKE 1000ull   /* power per validator: a bond of 1000 ASY */
/* Base units per unit of genesis stake: a genesis validator of stake s is
 * bonded s x 10^9 (docs/protocol.md §7). */
#define CLI_STAKE_UNIT 1000000000ull
#define CLI_TESTNET_FUND (10000ull * 1000000000ull)        /* each validator's and worker's account */
#define CLI_TESTNET_FAUCET (1000000000ull * 1000000000ull) /* 1e9 ASY */
#define CLI_TESTNET_LOCAL_BLOCK_MS 1000                    /* block_time_ms of a local init */

/* One operator's validator entry, as signed. */
struct cli_gentx {
	char chain[64];             /* the chain name the entry is for */
	char network[16];           /* local or testnet */
	uint8_t pubkey[PUBKEY_LEN]; /* the validator's key */
	uint64_t stake;             /* voting power at genesis: whole ASY of bond */
	uint8_t sig[SIG_LEN];       /* Ed25519 by pubkey over cli_gentx_digest */
};

/* H_tag("assay/gentx", chain:bytes network:bytes pubkey[32] stake:u64). */
void cli_gentx_digest(const struct cli_gentx *g, uint8_t out[HASH_LEN]);
/* Fills g's pubkey and sig from sk (chain, network, stake already set). */
void cli_gentx_sign(struct cli_gentx *g, const uint8_t sk[SECKEY_LEN]);
/* The entry as a JSON object (new reference; NULL when out of memory). */
json_t *cli_gentx_to_json(const struct cli_gentx *g);
/* Parses and checks one entry: type, fields, a known network that is not
 * dev, a positive stake, and the signature. 0 or ASSAY_EDECODE/ASSAY_ESIG
 * with err filled. */
int cli_gentx_from_json(const json_t *j, struct cli_gentx *g, char *err, size_t errlen);

/* Builds a genesis (a new JSON object in *genesis) from n checked entries:
 * all of one chain and network, no key twice, total stake within the BFT
 * bound, and the balances plus the genesis bonds (stake x CLI_STAKE_UNIT)
 * below 2^63. The base, when not NULL, gives time_ms, params, compute and
 * balances (its validators must be absent or empty); else time_ms is used
 * with no params. Every validator account without a balance gets fund.
 * 0 or ASSAY_EINVALID/ASSAY_ENOMEM with err filled. */
int cli_testnet_collect(const struct cli_gentx *txs, size_t n, const json_t *base, uint64_t fund,
			uint64_t time_ms, json_t **genesis, char *err, size_t errlen);

/* What testnet init makes. */
struct cli_testnet_plan {
	const char *dir;        /* made; must not exist or be empty */
	unsigned validators;    /* 1..CLI_TESTNET_MAX_NODES */
	unsigned followers;     /* 0..CLI_TESTNET_MAX_NODES nodes with a key and no stake: they may bond */
	unsigned workers;       /* 0..CLI_TESTNET_MAX_WORKERS */
	const char *network;    /* "local" or "testnet" */
	const char *chain;      /* NULL: "assay-" + network */
	unsigned base_port;     /* node i: RPC base+2i, p2p base+2i+1; worker j: base+2(N+F)+j */
	uint64_t stake;         /* per validator: power, whole ASY of bond */
	uint64_t fund;          /* per validator and worker account */
	uint64_t faucet;        /* the faucet wallet's balance */
	uint64_t block_time_ms; /* 0: the network's default (local: CLI_TESTNET_LOCAL_BLOCK_MS) */
	uint64_t time_ms;       /* genesis time */
	const char *passphrase; /* of the worker and faucet wallets (written to DIR/passphrase) */
};
/* Writes the network of plan (layout in docs/testnet.md). 0 or an
 * ASSAY_E* code with err filled; a half-made directory is left for the
 * person to look at and remove. */
int cli_testnet_init_dir(const struct cli_testnet_plan *plan, char *err, size_t errlen);

int cli_cmd_testnet_init(struct cli_ctx *ctx);
int cli_cmd_testnet_gentx(struct cli_ctx *ctx);
int cli_cmd_testnet_collect(struct cli_ctx *ctx);

extern const struct cli_optdef cli_testnet_init_opts[];
extern const struct cli_optdef cli_testnet_gentx_opts[];
extern const struct cli_optdef cli_testnet_collect_opts[];

#endif
