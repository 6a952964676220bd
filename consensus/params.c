/* Chain parameter defaults and the fee floor (see params.h). */
#include "consensus/params.h"
#include "core/error.h"

void chain_params_default(struct chain_params *p, int dev)
{
	p->block_time_ms = dev ? 1000 : 5000;
	p->max_block_txs = 10000;
	p->max_block_bytes = 8u << 20;
	p->max_tx_bytes = 1u << 20;
	p->max_block_gas = 1000000000ull;
	p->min_fee = 1000;
	p->gas_price = 1;
	p->max_future_ms = 15000;
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
