/* Stateless transaction checks (see tx_rules.h; docs/protocol.md §5.1), in
 * the order the protocol lists them. The per-kind parts come from the one
 * table of kinds in consensus/exec.c. Not for: anything that reads state. */
#include <stdio.h>
#include <string.h>

#include "consensus/tx_rules.h"
#include "core/error.h"

int tx_rules_cost(const struct tx *t, uint64_t *cost)
{
	const struct exec_kind *k = exec_kind_of(t->kind);
	struct tx_decoded d;
	*cost = t->fee;
	if (!k || k->decode(t, &d) != 0)
		return 0;
	return amount_add(*cost, d.value, cost) ? ASSAY_EOVERFLOW : 0;
}

int tx_rules_check_decoded(const struct chain_params *p, const uint8_t chain_id[HASH_LEN], const struct tx *t,
			   int check_sig, struct tx_decoded *d, char *err, size_t errlen)
{
	if (memcmp(t->chain_id, chain_id, HASH_LEN) != 0)
		return assay_fail(err, errlen, ASSAY_ECHAIN, "wrong chain_id: transaction is for another network");
	const struct exec_kind *k = t->kind < TX_KIND_COUNT ? exec_kind_of(t->kind) : NULL;
	if (!k)
		return assay_fail(err, errlen, ASSAY_EINVALID, "transaction kind %s is not enabled on this chain",
				  tx_kind_name(t->kind));
	if (t->payload_len + TX_RULES_OVERHEAD > p->max_tx_bytes)
		return assay_fail(err, errlen, ASSAY_ELIMIT,
				  "transaction too large (%zu payload bytes; limit %u bytes in all)", t->payload_len,
				  p->max_tx_bytes);
	if (t->gas_limit > p->max_block_gas)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "gas_limit %llu above the block gas limit %llu",
				  (unsigned long long)t->gas_limit, (unsigned long long)p->max_block_gas);
	uint64_t need;
	if (chain_min_fee(p, t->gas_limit, &need) < 0 || t->fee < need)
		return assay_fail(err, errlen, ASSAY_EFEE,
				  "fee %llu below the minimum %llu (min_fee + gas_limit x gas_price)",
				  (unsigned long long)t->fee, (unsigned long long)need);
	/* The payload must decode; a kind may check more (deployed code must
	 * pass the VM's validator, contracts.md §5, so broken code costs its
	 * sender nothing). */
	int rc = k->decode(t, d);
	if (rc)
		return assay_fail(err, errlen, rc, "malformed %s payload: %s", k->name, assay_strerror(rc));
	if (k->check && (rc = k->check(d, err, errlen)) != 0)
		return rc;
	uint64_t cost;
	if (amount_add(t->fee, d->value, &cost))
		return assay_fail(err, errlen, ASSAY_EOVERFLOW, "amount plus fee overflows");
	if (check_sig && tx_verify_sig(t) < 0)
		return assay_fail(err, errlen, ASSAY_ESIG, "bad signature");
	return 0;
}

int tx_rules_check(const struct chain_params *p, const uint8_t chain_id[HASH_LEN], const struct tx *t,
		   int check_sig, char *err, size_t errlen)
{
	struct tx_decoded d;
	return tx_rules_check_decoded(p, chain_id, t, check_sig, &d, err, errlen);
}
