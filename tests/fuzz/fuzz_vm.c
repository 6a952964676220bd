// fuzz-sources: vm/*.c core/*.c
/* libFuzzer target for the VM: arbitrary bytes as code, validated; valid
 * code is deployed on an in-memory ledger and called under a small gas
 * limit. Must never crash or leak, and gas_used never exceeds the limit.
 * Not for: the assembler (fuzz_asm.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/ledger.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

#define FUZZ_CALL_GAS 20000 /* small, so every input finishes quickly */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	if (vm_validate(data, size, err, sizeof(err)) != 0)
		return 0;
	keys_init();
	ledger_mem_t *m = ledger_mem_new(NULL);
	if (!m)
		return 0;
	struct ledger l = ledger_mem_ledger(m);
	struct vm_env env = {&l, 7, 1234, NULL};
	static const uint8_t user[20] = {1, 2, 3};
	ledger_credit(&l, user, 1000000);
	struct vm_deploy_payload dp = {data, size, 500, NULL, 0};
	struct buf b;
	buf_init(&b);
	vm_deploy_payload_encode(&dp, &b);
	struct vm_result res;
	uint64_t deploy_gas = VM_GAS_DEPLOY + (uint64_t)size * VM_GAS_DEPLOY_BYTE;
	int rc = vm_apply_deploy(&env, user, 0, deploy_gas, b.data, b.len, &res);
	uint8_t contract[20];
	memcpy(contract, res.contract, 20);
	if (res.gas_used > deploy_gas)
		abort();
	vm_result_free(&res);
	if (rc == 0) {
		/* calldata: the first bytes of the code itself, whatever they are */
		struct vm_call_payload cp;
		memcpy(cp.to, contract, 20);
		cp.value = 3;
		cp.calldata = data;
		cp.calldata_len = size < 64 ? size : 64;
		buf_reset(&b);
		vm_call_payload_encode(&cp, &b);
		rc = vm_apply_call(&env, user, FUZZ_CALL_GAS, b.data, b.len, &res);
		if (res.gas_used > FUZZ_CALL_GAS)
			abort();
		if (rc != 0 && (res.nevents != 0 || res.events != NULL))
			abort();
		vm_result_free(&res);
	}
	buf_free(&b);
	ledger_mem_free(m);
	return 0;
}
