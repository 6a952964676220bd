/* Unit tests for consensus/tx_rules.c: the stateless checks of protocol
 * §5.1 from a parameter struct and a chain id alone, no chain and no
 * database; and the table of kinds they read (consensus/exec.c). */
#include <stdint.h>
#include <string.h>

#include "consensus/tx_rules.h"
#include "core/error.h"
#include "core/keys.h"
#include "tests/unit/test.h"
#include "vm/vm.h"

static struct chain_params params;
static uint8_t chain_id[HASH_LEN];
static uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN];

static void transfer(struct tx *t, uint64_t amount, uint64_t fee, uint64_t gas)
{
	struct transfer_payload tp;
	struct buf b;
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, chain_id, HASH_LEN);
	memcpy(t->sender, pk, PUBKEY_LEN);
	t->fee = fee;
	t->gas_limit = gas;
	t->kind = TX_TRANSFER;
	memset(tp.to, 9, ADDR_LEN);
	tp.amount = amount;
	buf_init(&b);
	transfer_encode(&tp, &b);
	CHECK(tx_set_payload(t, b.data, b.len) == 0);
	buf_free(&b);
	tx_sign(t, sk);
}

static int check(const struct tx *t)
{
	char err[200];
	return tx_rules_check(&params, chain_id, t, 1, err, sizeof(err));
}

static void test_each_rule(void)
{
	struct tx t;
	transfer(&t, 5, 1000, 0);
	CHECK(check(&t) == 0);
	uint64_t cost;
	CHECK(tx_rules_cost(&t, &cost) == 0 && cost == 1005);
	t.sig[0] ^= 1;
	CHECK(check(&t) == ASSAY_ESIG);
	tx_free(&t);

	transfer(&t, 5, 999, 0);
	CHECK(check(&t) == ASSAY_EFEE);
	tx_free(&t);
	transfer(&t, 5, 1000, 10); /* gas costs fee: needs 1010 */
	CHECK(check(&t) == ASSAY_EFEE);
	tx_free(&t);
	transfer(&t, 5, 1010, 10);
	CHECK(check(&t) == 0);
	tx_free(&t);
	transfer(&t, 5, UINT64_MAX, params.max_block_gas + 1);
	CHECK(check(&t) == ASSAY_ELIMIT);
	tx_free(&t);
	transfer(&t, UINT64_MAX, 1000, 0);
	CHECK(check(&t) == ASSAY_EOVERFLOW);
	CHECK(tx_rules_cost(&t, &cost) == ASSAY_EOVERFLOW);
	tx_free(&t);

	transfer(&t, 5, 1000, 0);
	t.chain_id[0] ^= 1;
	CHECK(check(&t) == ASSAY_ECHAIN);
	t.chain_id[0] ^= 1;
	t.kind = TX_KIND_COUNT; /* no such kind */
	CHECK(check(&t) == ASSAY_EINVALID);
	t.kind = TX_EVIDENCE; /* a transfer payload is no evidence record */
	CHECK(check(&t) == ASSAY_EDECODE);
	t.kind = TX_TRANSFER;
	t.payload_len--; /* one byte short */
	CHECK(check(&t) == ASSAY_EDECODE);
	t.payload_len++;
	tx_free(&t);

	/* Size counts the payload plus the fixed overhead. */
	struct chain_params small = params;
	small.max_tx_bytes = 27 + TX_RULES_OVERHEAD; /* a byte short */
	char err[200];
	transfer(&t, 5, 1000, 0);
	CHECK(tx_rules_check(&small, chain_id, &t, 1, err, sizeof(err)) == ASSAY_ELIMIT);
	CHECK(strstr(err, "too large") != NULL);
	small.max_tx_bytes = 28 + TX_RULES_OVERHEAD; /* the transfer payload is 28 bytes */
	CHECK(tx_rules_check(&small, chain_id, &t, 1, err, sizeof(err)) == 0);
	tx_free(&t);
}

static void test_deploy_code_validated(void)
{
	struct tx t;
	struct buf b;
	uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct vm_deploy_payload p = {junk, sizeof(junk), 0, NULL, 0};
	char err[200];
	buf_init(&b);
	vm_deploy_payload_encode(&p, &b);
	memset(&t, 0, sizeof(t));
	memcpy(t.chain_id, chain_id, HASH_LEN);
	memcpy(t.sender, pk, PUBKEY_LEN);
	t.fee = 1000;
	t.kind = TX_DEPLOY;
	CHECK(tx_set_payload(&t, b.data, b.len) == 0);
	tx_sign(&t, sk);
	CHECK(tx_rules_check(&params, chain_id, &t, 1, err, sizeof(err)) != 0);
	CHECK(strstr(err, "invalid contract code") != NULL);
	buf_free(&b);
	tx_free(&t);
}

static void test_kind_table(void)
{
	int enabled = 0;
	for (unsigned k = 0; k < TX_KIND_COUNT; k++) {
		const struct exec_kind *e = exec_kind_of(k);
		if (!e)
			continue;
		enabled++;
		CHECK(strcmp(e->name, tx_kind_name(k)) == 0);
		CHECK(e->decode != NULL && e->apply != NULL);
	}
	CHECK(enabled == TX_KIND_COUNT); /* every kind, the validator kinds and job_salt too */
	CHECK(exec_kind_of(TX_VALIDATOR_BOND) != NULL);
	CHECK(exec_kind_of(TX_EVIDENCE) != NULL);
	CHECK(exec_kind_of(TX_JOB_SALT) != NULL);
	CHECK(exec_kind_of(TX_KIND_COUNT) == NULL);
}

int main(void)
{
	uint8_t seed[SEED_LEN];
	keys_init();
	memset(seed, 3, sizeof(seed));
	key_from_seed(seed, pk, sk);
	memset(chain_id, 0x42, sizeof(chain_id));
	chain_params_default(&params, 1);
	RUN(test_each_rule);
	RUN(test_deploy_code_validated);
	RUN(test_kind_table);
	return test_report("test_tx_rules");
}
