/* Chain parameters: the numbers a chain fixes in its genesis and every rule
 * reads (docs/protocol.md §8), and the formulas built from them that more
 * than one program needs (the fee floor). Pure: no state, no I/O. Not for:
 * compute-protocol parameters (consensus/compute/compute.h). */
#ifndef ASSAY_CONSENSUS_PARAMS_H
#define ASSAY_CONSENSUS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

/* The ceiling on max_block_bytes (protocol §8): 8 MiB − 8 KiB, so that a
 * block travels whole in one p2p message beside a proposal (docs/p2p.md:
 * NET_MAX_OBJECT is 8 MiB − 4 KiB) and is never split into parts. */
#define CHAIN_MAX_BLOCK_BYTES ((8u << 20) - 8192u)

/* The ceiling on max_block_gas (protocol §8): 10^12, a thousand times the
 * default. Every gas_limit is at most max_block_gas, so a block's at most
 * 100000 of them sum below 10^17 and any gas amount stays far from 2^63
 * (the VM counts gas in an int64_t) and 2^64; fees (gas x gas_price) are
 * exact in 128 bits whatever the price. */
#define CHAIN_MAX_BLOCK_GAS 1000000000000ull

struct chain_params {
	uint64_t block_time_ms;   /* target interval between blocks */
	uint32_t max_block_txs;   /* transactions per block */
	uint64_t max_block_bytes; /* encoded block size */
	uint32_t max_tx_bytes;    /* encoded transaction size */
	uint64_t max_block_gas;   /* sum of gas limits in a block */
	uint64_t min_fee;         /* base units every transaction pays at least */
	uint64_t gas_price;       /* base units of fee required per unit of gas_limit */
	uint64_t max_future_ms;   /* how far a block's time may run ahead of the local clock */
	/* validators (docs/protocol.md §10) */
	uint64_t min_validator_bond;  /* base units a validator must bond to enter the set */
	uint32_t unbonding_period;    /* blocks unbonded stake stays locked and slashable */
	uint32_t evidence_max_age;    /* blocks an evidence's height may lie behind; <= unbonding_period */
	uint32_t evidence_slash_bps;  /* share of bond and unbonding stake an equivocator loses */
	uint32_t jail_blocks;         /* blocks a jailed validator waits before validator_unjail */
	uint32_t downtime_window;     /* the last N blocks downtime is judged over */
	uint32_t downtime_max_missed; /* missing more of them than this jails (no slash) */
	/* BFT timeouts: base + delta x round, ms (docs/consensus.md §6) */
	uint64_t timeout_propose_ms, timeout_propose_delta_ms;
	uint64_t timeout_prevote_ms, timeout_prevote_delta_ms;
	uint64_t timeout_precommit_ms, timeout_precommit_delta_ms;
};

/* The defaults of docs/protocol.md §8; dev and local chains (dev != 0)
 * make blocks faster and keep validator periods short. */
void chain_params_default(struct chain_params *p, int dev);
/* The bounds of protocol §8 beyond "positive": 0, or ASSAY_EINVALID with
 * the reason in err. */
int chain_params_check(const struct chain_params *p, char *err, size_t errlen);

/* The most bytes a block of these parameters holds besides its
 * transactions and their length prefixes (protocol §8): the header, the
 * transaction count at its widest (max_block_txs) and the largest
 * last_commit (COMMIT_MAX_SIGS signatures). */
uint64_t chain_block_overhead(const struct chain_params *p);

/* The gas a transfer that creates its recipient's account pays (protocol
 * §5.2), which a client must put in its gas_limit and fee: the VM's
 * new-key charge (VM_GAS_NEW_KEY, the same number, checked in
 * consensus/exec.c), named here for the clients, which do not use the VM. */
#define CHAIN_GAS_NEW_ACCOUNT 11264

/* The lowest fee a transaction with gas_limit may pay (protocol §5.1):
 * min_fee + gas_limit x gas_price, exact. 0, or ASSAY_EOVERFLOW when it does
 * not fit in 64 bits (*fee is then UINT64_MAX: no fee can pay it). */
int chain_min_fee(const struct chain_params *p, uint64_t gas_limit, uint64_t *fee);

#endif
