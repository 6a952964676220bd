/* Chain parameters: the numbers a chain fixes in its genesis and every rule
 * reads (docs/protocol.md §8), and the formulas built from them that more
 * than one program needs (the fee floor). Pure: no state, no I/O. Not for:
 * compute-protocol parameters (consensus/compute/compute.h). */
#ifndef ASSAY_CONSENSUS_PARAMS_H
#define ASSAY_CONSENSUS_PARAMS_H

#include <stdint.h>

struct chain_params {
	uint64_t block_time_ms;   /* target interval between blocks */
	uint32_t max_block_txs;   /* transactions per block */
	uint64_t max_block_bytes; /* encoded block size */
	uint32_t max_tx_bytes;    /* encoded transaction size */
	uint64_t max_block_gas;   /* sum of gas limits in a block */
	uint64_t min_fee;         /* base units every transaction pays at least */
	uint64_t gas_price;       /* base units of fee required per unit of gas_limit */
	uint64_t max_future_ms;   /* how far a block's time may run ahead of the local clock */
};

/* The defaults of docs/protocol.md §8; dev chains make blocks faster. */
void chain_params_default(struct chain_params *p, int dev);

/* The lowest fee a transaction with gas_limit may pay (protocol §5.1):
 * min_fee + gas_limit x gas_price, exact. 0, or ASSAY_EOVERFLOW when it does
 * not fit in 64 bits (*fee is then UINT64_MAX: no fee can pay it). */
int chain_min_fee(const struct chain_params *p, uint64_t gas_limit, uint64_t *fee);

#endif
