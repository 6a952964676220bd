/* RPC methods for contracts (docs/rpc.md): the code stored at an address
 * and read-only calls that run on a throw-away overlay of the committed
 * state, so a query can never change anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "node/node.h"
#include "vm/vm.h"

/* Gas for a read-only query (the caller cannot choose one yet). */
#define QUERY_DEFAULT_GAS 10000000ull
#define QUERY_ARGS_MAX 32 /* method arguments of one query */

static int contract_param(struct node *n, json_t *v, uint8_t addr[ADDR_LEN], struct account *a,
			  struct rpc_error *e)
{
	static const uint8_t zero[HASH_LEN];
	enum network net;
	if (!json_is_string(v) || address_decode(json_string_value(v), &net, addr) < 0 || net != n->genesis.net)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected a contract address (%s1...)", network_hrp(n->genesis.net));
	struct ledger l = chain_ledger(n->chain);
	if (ledger_get_account(&l, addr, a) < 0)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "state read failed");
	if (memcmp(a->code_hash, zero, HASH_LEN) == 0)
		return rpc_fail(e, RPC_NOT_FOUND, "%s is not a contract", json_string_value(v));
	return 0;
}

static int m_getcode(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t addr[ADDR_LEN], key[HASH_LEN], *val;
	size_t len;
	struct account a;
	if (contract_param(n, rpc_param(params, 0), addr, &a, e) < 0)
		return -1;
	struct ledger l = chain_ledger(n->chain);
	state_key(NS_CODE, a.code_hash, HASH_LEN, key);
	if (ledger_get(&l, key, &val, &len) < 0)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "contract code missing from the state");
	*result = json_pack("{s:o,s:o,s:I}", "code_hash", rpc_hex(a.code_hash, HASH_LEN), "record", rpc_hex(val, len),
			    "balance", (json_int_t)a.balance);
	free(val);
	return 0;
}

/* querycontract ADDRESS METHOD [ARG...]: arguments as the calldata
 * convention types them (vm.h vm_calldata_build); integers may be JSON
 * numbers. The caller the contract sees is the all-zero address. */
static int m_querycontract(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t addr[ADDR_LEN];
	struct account a;
	if (contract_param(n, rpc_param(params, 0), addr, &a, e) < 0)
		return -1;
	json_t *method = rpc_param(params, 1);
	if (!json_is_string(method))
		return rpc_fail(e, RPC_INVALID_PARAMS, "querycontract ADDRESS METHOD [ARG...]");
	size_t nargs = json_array_size(params) - 2; /* >= 2: both were read above */
	const char *args[QUERY_ARGS_MAX];
	char numbuf[QUERY_ARGS_MAX][24];
	if (nargs > QUERY_ARGS_MAX)
		return rpc_fail(e, RPC_INVALID_PARAMS, "at most %d arguments", QUERY_ARGS_MAX);
	for (size_t i = 0; i < nargs; i++) {
		json_t *v = json_array_get(params, i + 2);
		if (json_is_string(v)) {
			args[i] = json_string_value(v);
		} else if (json_is_integer(v) && json_integer_value(v) >= 0) {
			snprintf(numbuf[i], sizeof(numbuf[i]), "%lld", (long long)json_integer_value(v));
			args[i] = numbuf[i];
		} else {
			return rpc_fail(e, RPC_INVALID_PARAMS, "argument %zu must be a string or a non-negative integer", i + 1);
		}
	}
	struct buf calldata;
	char err[200];
	buf_init(&calldata);
	if (vm_calldata_build(json_string_value(method), args, (int)nargs, &calldata, err, sizeof(err)) < 0) {
		buf_free(&calldata);
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	}
	struct ledger l = chain_ledger(n->chain);
	const struct block_header *tip = chain_tip(n->chain);
	struct vm_env env = {&l, tip->height, tip->time_ms, NULL};
	struct vm_result res;
	static const uint8_t nobody[ADDR_LEN];
	int rc = vm_query(&env, nobody, addr, calldata.data, calldata.len, QUERY_DEFAULT_GAS, &res);
	buf_free(&calldata);
	*result = json_pack("{s:b,s:o,s:I,s:o}", "ok", rc == 0, "error", rc ? json_string(res.error) : json_null(),
			    "gas_used", (json_int_t)res.gas_used, "return", rpc_hex(res.ret, res.ret_len));
	if (rc == 0 && res.ret_len && res.ret_len % 8 == 0) {
		json_t *words = json_array();
		for (size_t i = 0; i < res.ret_len; i += 8)
			json_array_append_new(words, json_integer((json_int_t)le64_get(res.ret + i)));
		json_object_set_new(*result, "words", words);
	}
	vm_result_free(&res);
	return 0;
}

static const struct rpc_method contract_methods[] = {
	{"getcode", m_getcode, "getcode ADDRESS - a contract's stored code record, code hash and balance"},
	{"querycontract", m_querycontract, "querycontract ADDRESS METHOD [ARG...] - read-only call; return data"},
};

void node_register_contract_rpc(struct node *n)
{
	rpc_register(n->rpc, contract_methods, sizeof(contract_methods) / sizeof(contract_methods[0]), n);
}
