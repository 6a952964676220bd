/* Genesis: the chain's starting state and parameters, read from a JSON file
 * (docs/protocol.md §7) or built in for the dev network. Its canonical binary
 * encoding, hashed, is the chain_id. Not for: applying blocks (chain.c). */
#ifndef ASSAY_NODE_GENESIS_H
#define ASSAY_NODE_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"
#include "core/sha256.h"
#include "consensus/compute/compute.h"
#include "consensus/params.h"

#define GENESIS_MAX_ALLOCS 100000
#define GENESIS_MAX_VALIDATORS 128

struct genesis_alloc {
	uint8_t addr[ADDR_LEN];
	uint64_t amount;
};

struct genesis_validator {
	uint8_t pubkey[PUBKEY_LEN];
	uint64_t stake; /* voting power */
};

struct genesis {
	char chain[64];                    /* e.g. "assay-dev" */
	enum network net;                  /* address HRP family */
	char network_name[16];             /* "dev", "local", "testnet", "main" */
	uint64_t time_ms;
	struct chain_params params;
	struct compute_params compute;     /* compute-proof parameters (compute.md) */
	size_t nallocs;
	struct genesis_alloc *allocs;      /* malloc()ed */
	size_t nvalidators;
	struct genesis_validator *validators; /* malloc()ed */
	uint8_t hash[HASH_LEN];            /* chain_id, filled by genesis_finish */
};

/* Parses JSON text; 0 ok, else ASSAY_EDECODE with a message in err. */
int genesis_parse(struct genesis *g, const char *json, size_t len, char *err, size_t errlen);
int genesis_load_file(struct genesis *g, const char *path, char *err, size_t errlen);
/* The built-in dev genesis: one validator and one funded account, both the
 * dev key (docs/protocol.md §7: dev only, its seed is public). */
int genesis_dev(struct genesis *g);
/* Canonical encoding and chain_id (computed into g->hash). */
void genesis_finish(struct genesis *g);
void genesis_free(struct genesis *g);
/* A deep copy of src into dst (its own allocs and validators). 0 or
 * ASSAY_ENOMEM (dst zeroed). */
int genesis_copy(struct genesis *dst, const struct genesis *src);

/* The genesis a node of network runs (docs/testnet.md): dev's built-in
 * one; else file if given; else DATADIR/genesis.json if it exists; else the
 * network's compiled entry (core/network.h). Its "network" must be network,
 * and a genesis whose "chain" names a compiled network must be that
 * network's exact genesis: otherwise ASSAY_EINVALID, with both chain ids in
 * err. *source says where it came from (a path, or "compiled"). 0 or an
 * error with err filled (ASSAY_EIO, ASSAY_EDECODE, ASSAY_ENOTFOUND). */
int genesis_select(struct genesis *g, const char *network, const char *file, const char *datadir,
		   char *source, size_t sourcelen, char *err, size_t errlen);
/* The compiled network whose genesis g is exactly, or NULL. */
const struct network_builtin *genesis_builtin_of(const struct genesis *g);

/* The public dev key: seed = SHA256("assay/dev-key/0"). Dev and local only. */
void genesis_dev_key(uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN]);
/* The dev chain's built-in worker key: seed = SHA256("assay/dev-worker/0"). */
void genesis_dev_worker_key(uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN]);
/* Amount given to the dev worker key in the dev genesis (its bond and fees). */
#define GENESIS_DEV_WORKER_FUNDS (1000000ull * 1000000000ull) /* 1e6 ASY */
/* Amount given to the dev key in the dev genesis. */
#define GENESIS_DEV_FUNDS (1000000000ull * 1000000000ull) /* 1e9 ASY */

#endif
