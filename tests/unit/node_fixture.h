/* Shared set-up for node unit tests: a temporary data directory, a genesis
 * with funded deterministic keys and one validator, and helpers to sign
 * transfers. Not for: functional tests (tests/functional). */
#ifndef ASSAY_TEST_NODE_FIXTURE_H
#define ASSAY_TEST_NODE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/compute/avail.h"
#include "core/buf.h"
#include "core/keys.h"
#include "core/tx.h"
#include "node/genesis.h"

#define FIX_KEYS 8
#define FIX_FUNDS 1000000000000ull /* 1000 ASY each */

struct fixture {
	char dir[256];
	struct genesis g;
	uint8_t pk[FIX_KEYS][PUBKEY_LEN];
	uint8_t sk[FIX_KEYS][SECKEY_LEN];
	uint8_t addr[FIX_KEYS][ADDR_LEN];
};

/* Key 0 is the only validator; every key is funded. */
static inline void fixture_init(struct fixture *f)
{
	keys_init();
	/* mkdtemp's template: the prefix, then six placeholder characters. */
	int len = snprintf(f->dir, sizeof(f->dir) - 7, "%s/assay-test-", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	memset(f->dir + len, 'X', 6);
	f->dir[len + 6] = 0;
	if (!mkdtemp(f->dir))
		abort();
	memset(&f->g, 0, sizeof(f->g));
	snprintf(f->g.chain, sizeof(f->g.chain), "assay-unit");
	snprintf(f->g.network_name, sizeof(f->g.network_name), "local");
	f->g.net = NET_DEV;
	f->g.time_ms = 1000;
	chain_params_default(&f->g.params, 1);
	compute_params_default(&f->g.compute);
	f->g.allocs = calloc(FIX_KEYS, sizeof(*f->g.allocs));
	f->g.validators = calloc(1, sizeof(*f->g.validators));
	for (int i = 0; i < FIX_KEYS; i++) {
		uint8_t seed[SEED_LEN];
		memset(seed, i + 1, sizeof(seed));
		key_from_seed(seed, f->pk[i], f->sk[i]);
		address_from_pubkey(f->pk[i], f->addr[i]);
		memcpy(f->g.allocs[i].addr, f->addr[i], ADDR_LEN);
		f->g.allocs[i].amount = FIX_FUNDS;
	}
	f->g.nallocs = FIX_KEYS;
	memcpy(f->g.validators[0].pubkey, f->pk[0], PUBKEY_LEN);
	f->g.validators[0].stake = 10;
	f->g.nvalidators = 1;
	genesis_finish(&f->g);
}

static inline void fixture_free(struct fixture *f)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	genesis_free(&f->g);
}

/* A signed transfer from key `from` to address `to`. */
static inline void fixture_transfer(const struct fixture *f, struct tx *t, int from, const uint8_t to[ADDR_LEN],
				    uint64_t amount, uint64_t nonce, uint64_t fee)
{
	struct transfer_payload tp;
	struct buf b;
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, f->g.hash, HASH_LEN);
	t->nonce = nonce;
	memcpy(t->sender, f->pk[from], PUBKEY_LEN);
	t->fee = fee;
	t->kind = TX_TRANSFER;
	memcpy(tp.to, to, ADDR_LEN);
	tp.amount = amount;
	buf_init(&b);
	transfer_encode(&tp, &b);
	tx_set_payload(t, b.data, b.len);
	buf_free(&b);
	tx_sign(t, f->sk[from]);
}

/* A signed job_chunks transaction of p from the key pk/sk, nonce 0. */
static inline void fixture_chunks_tx(const struct fixture *f, struct tx *t, const uint8_t pk[PUBKEY_LEN],
				     const uint8_t sk[SECKEY_LEN], uint64_t fee, const struct job_chunks_payload *p)
{
	struct buf b;
	buf_init(&b);
	avail_chunks_encode(p, &b);
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, f->g.hash, HASH_LEN);
	memcpy(t->sender, pk, PUBKEY_LEN);
	t->fee = fee;
	t->kind = TX_JOB_CHUNKS;
	tx_set_payload(t, b.data, b.len);
	buf_free(&b);
	tx_sign(t, sk);
}

#endif
