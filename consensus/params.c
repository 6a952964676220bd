/* Chain parameter defaults and the fee floor (see params.h). */
#include "consensus/params.h"
#include "core/block.h"
#include "core/buf.h"
#include "core/error.h"

void chain_params_default(struct chain_params *p, int dev)
{
	p->block_time_ms = dev ? 1000 : 5000;
	p->max_block_txs = 10000;
	p->max_block_bytes = CHAIN_MAX_BLOCK_BYTES;
	p->max_tx_bytes = 1u << 20;
	p->max_block_gas = 1000000000ull;
	p->min_fee = 1000;
	p->gas_price = 1;
	p->max_future_ms = 15000;
	p->min_validator_bond = 1000ull * 1000000000ull; /* 1000 ASY */
	p->unbonding_period = dev ? 100 : 120960;        /* a week of 5 s blocks */
	p->evidence_max_age = dev ? 99 : 10000; /* below unbonding_period (chain_params_check) */
	p->evidence_slash_bps = 500;
	p->jail_blocks = dev ? 20 : 10000;
	p->downtime_window = dev ? 100 : 1000;
	p->downtime_max_missed = dev ? 80 : 500;
	/* bft_timeouts_local / bft_timeouts_default (docs/consensus.md §6) */
	p->timeout_propose_ms = dev ? 500 : 3000;
	p->timeout_propose_delta_ms = dev ? 100 : 500;
	p->timeout_prevote_ms = dev ? 200 : 1000;
	p->timeout_prevote_delta_ms = dev ? 100 : 500;
	p->timeout_precommit_ms = dev ? 200 : 1000;
	p->timeout_precommit_delta_ms = dev ? 100 : 500;
}

uint64_t chain_block_overhead(const struct chain_params *p)
{
	return HEADER_BYTES + buf_varint_len(p->max_block_txs) + COMMIT_MAX_BYTES;
}

int chain_params_check(const struct chain_params *p, char *err, size_t errlen)
{
	if (p->max_tx_bytes > (1u << 22) || p->max_block_txs > 100000)
		return assay_fail(err, errlen, ASSAY_EINVALID, "max_tx_bytes or max_block_txs above the hard ceiling");
	if (p->max_block_bytes > CHAIN_MAX_BLOCK_BYTES)
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "max_block_bytes above the hard ceiling of 8388608 - 8192 (a block must fit one p2p message)");
	/* A transaction at max_tx_bytes must fit a block beside everything
	 * else the block holds, or it waits in every mempool for good: the
	 * block builder's own count (node/chain.c). */
	uint64_t room = chain_block_overhead(p) + buf_varint_len(p->max_tx_bytes) + p->max_tx_bytes;
	if (room > p->max_block_bytes)
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "max_tx_bytes %u fits no block: max_block_bytes must be at least %llu "
				  "(header and largest commit beside it)",
				  p->max_tx_bytes, (unsigned long long)room);
	if (p->max_block_gas > CHAIN_MAX_BLOCK_GAS)
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "max_block_gas above the hard ceiling of 10^12 (block gas sums stay far from 2^64)");
	if (p->min_validator_bond < 1000000000ull)
		return assay_fail(err, errlen, ASSAY_EINVALID, "min_validator_bond must be at least 1 ASY");
	/* Stake unbonded in block u still counts at u + 1 and is released at
	 * the end of u + unbonding_period: evidence of u + 1 must be late by
	 * then, or the offender escapes with its stake. */
	if (p->evidence_max_age >= p->unbonding_period)
		return assay_fail(err, errlen, ASSAY_EINVALID, "evidence_max_age not below unbonding_period");
	if (p->evidence_slash_bps > 10000)
		return assay_fail(err, errlen, ASSAY_EINVALID, "evidence_slash_bps above 10000");
	if (p->downtime_window > 10000 || p->downtime_max_missed >= p->downtime_window)
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "downtime_window above 10000 or downtime_max_missed not below it");
	const uint64_t hour = 3600000;
	if (p->timeout_propose_ms > hour || p->timeout_propose_delta_ms > hour || p->timeout_prevote_ms > hour ||
	    p->timeout_prevote_delta_ms > hour || p->timeout_precommit_ms > hour ||
	    p->timeout_precommit_delta_ms > hour)
		return assay_fail(err, errlen, ASSAY_EINVALID, "a BFT timeout above one hour");
	return 0;
}

int chain_min_fee(const struct chain_params *p, uint64_t gas_limit, uint64_t *fee)
{
	unsigned __int128 need = (unsigned __int128)gas_limit * p->gas_price + p->min_fee;
	if (need > UINT64_MAX) {
		*fee = UINT64_MAX;
		return ASSAY_EOVERFLOW;
	}
	*fee = (uint64_t)need;
	return 0;
}
