/* Transaction assembly and signing (see txbuild.h). */
#include <string.h>

#include "core/error.h"
#include "core/tx.h"
#include "wallet/txbuild.h"

int txbuild_sign(const struct txbuild_spec *spec, const uint8_t sk[SECKEY_LEN],
		 struct buf *encoded, uint8_t txid[HASH_LEN])
{
	struct tx t;
	memset(&t, 0, sizeof(t));
	if (spec->kind >= TX_KIND_COUNT)
		return ASSAY_EARG;
	memcpy(t.chain_id, spec->chain_id, HASH_LEN);
	t.nonce = spec->nonce;
	memcpy(t.sender, sk + SEED_LEN, PUBKEY_LEN);
	t.fee = spec->fee;
	t.gas_limit = spec->gas_limit;
	t.kind = spec->kind;
	if (tx_set_payload(&t, spec->payload, spec->payload_len) != 0)
		return ASSAY_ENOMEM;
	tx_sign(&t, sk);
	tx_encode(&t, encoded);
	tx_id(&t, txid);
	tx_free(&t);
	return encoded->oom ? ASSAY_ENOMEM : 0;
}

void txbuild_transfer_payload(const uint8_t to[ADDR_LEN], uint64_t amount, struct buf *b)
{
	struct transfer_payload tp;
	memcpy(tp.to, to, ADDR_LEN);
	tp.amount = amount;
	transfer_encode(&tp, b);
}

int txbuild_transfer_gas(const json_t *account, uint64_t *gas)
{
	const json_t *balance = json_object_get(account, "balance"), *nonce = json_object_get(account, "nonce");
	*gas = 0;
	if (!json_is_integer(balance) || !json_is_integer(nonce))
		return -1;
	if (json_integer_value(balance) == 0 && json_integer_value(nonce) == 0 &&
	    !json_is_string(json_object_get(account, "code_hash")))
		*gas = CHAIN_GAS_NEW_ACCOUNT;
	return 0;
}

int txbuild_default_fee(const struct chain_params *p, uint64_t gas_limit, uint64_t *fee)
{
	struct chain_params offered = *p;
	if (offered.min_fee < TXBUILD_DEFAULT_FEE)
		offered.min_fee = TXBUILD_DEFAULT_FEE;
	int rc = chain_min_fee(&offered, gas_limit, fee);
	return rc ? rc : *fee > TXBUILD_MAX_DEFAULT_FEE ? ASSAY_ELIMIT : 0;
}
