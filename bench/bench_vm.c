/* VM benchmark: the counting loop s = s + i % 7 for 200,000,000 iterations,
 * as VM bytecode through vm_apply_call with gas metering on, and the same
 * loop in lua5.4 (skipped with a message if absent). Prints iterations/s,
 * the ratio and gas/s from the best of a few alternating rounds (machines
 * here are shared and noisy); never fails on time. Not for: correctness. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/keys.h"
#include "vm/asm.h"
#include "vm/vm.h"

#define BENCH_ITERATIONS 200000000ull
#define BENCH_ROUNDS 3 /* alternating VM and Lua; the best round of each counts */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char LOOP_ASM[] =
	"\tmovi r1, 0\n"
	"\tmovi r2, 0\n"
	"\tmovi r3, 200000000\n"
	"\tjmp top\n"
	"top:\tmodi r4, r1, 7\n"
	"\tadd r2, r2, r4\n"
	"\taddi r1, r1, 1\n"
	"\tjlt r1, r3, top\n"
	"\tmovi r5, 0x100\n"
	"\tst64 [r5 + 0], r2\n"
	"\tmovi r1, 0x100\n"
	"\tmovi r2, 8\n"
	"\tsys return\n";

static const char LUA_CMD[] =
	"lua5.4 -e 'local s = 0 for i = 0, 199999999 do s = s + i % 7 end print(s)'";

int main(void)
{
	keys_init();
	uint64_t want = 0;
	for (uint64_t i = 0; i < BENCH_ITERATIONS; i++)
		want += i % 7;

	struct buf code;
	char err[200];
	buf_init(&code);
	if (vm_asm_assemble(LOOP_ASM, "bench", &code, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	struct vm_env env = {&l, 1, 0, NULL};
	uint8_t deployer[20] = {1};
	struct vm_deploy_payload dp = {code.data, code.len, 0, NULL, 0};
	struct buf payload;
	buf_init(&payload);
	vm_deploy_payload_encode(&dp, &payload);
	struct vm_result res;
	if (vm_apply_deploy(&env, deployer, 0, 1000000, payload.data, payload.len, &res)) {
		fprintf(stderr, "deploy: %s\n", res.error);
		return 1;
	}
	struct vm_call_payload cp = {{0}, 0, NULL, 0};
	memcpy(cp.to, res.contract, 20);
	vm_result_free(&res);
	buf_reset(&payload);
	vm_call_payload_encode(&cp, &payload);

	int have_lua = system("command -v lua5.4 >/dev/null 2>&1") == 0;
	if (!have_lua)
		printf("lua: lua5.4 not found, skipped\n");
	double vm_best = 0, lua_best = 0;
	uint64_t gas = 0;
	for (int round = 0; round < BENCH_ROUNDS; round++) {
		double t0 = now_s();
		int rc = vm_apply_call(&env, deployer, 100000000000ull, payload.data, payload.len, &res);
		double vm_s = now_s() - t0;
		if (rc || res.ret_len != 8 || le64_get(res.ret) != want) {
			fprintf(stderr, "vm: wrong result (%s)\n", res.error);
			return 1;
		}
		gas = res.gas_used;
		vm_result_free(&res);
		printf("round %d: vm %.3f s", round + 1, vm_s);
		if (vm_best == 0 || vm_s < vm_best)
			vm_best = vm_s;
		if (have_lua) {
			t0 = now_s();
			FILE *p = popen(LUA_CMD, "r");
			char line[64] = "";
			if (!p || !fgets(line, sizeof(line), p)) {
				printf("\nlua: could not run lua5.4, skipped\n");
				have_lua = 0;
				if (p)
					pclose(p);
			} else {
				pclose(p);
				double lua_s = now_s() - t0;
				if (strtoull(line, NULL, 10) != want) {
					fprintf(stderr, "lua: result %s differs\n", line);
					return 1;
				}
				printf(", lua %.3f s", lua_s);
				if (lua_best == 0 || lua_s < lua_best)
					lua_best = lua_s;
			}
		}
		printf("\n");
	}
	double vm_rate = (double)BENCH_ITERATIONS / vm_best;
	printf("vm:  %.1f M iterations/s, %" PRIu64 " gas per run, %.1f M gas/s (best of %d)\n",
	       vm_rate / 1e6, gas, (double)gas / vm_best / 1e6, BENCH_ROUNDS);
	if (have_lua && lua_best > 0) {
		double lua_rate = (double)BENCH_ITERATIONS / lua_best;
		printf("lua: %.1f M iterations/s (best of %d)\n", lua_rate / 1e6, BENCH_ROUNDS);
		printf("ratio vm/lua: %.2fx\n", vm_rate / lua_rate);
	}
	buf_free(&payload);
	buf_free(&code);
	ledger_mem_free(m);
	return 0;
}
