/* VM benchmark: the counting loop s = s + i % 7 for 200,000,000 iterations,
 * as VM bytecode through vm_apply_call with gas metering on, and the same
 * loop in lua5.4 (skipped with a message if absent). Prints iterations/s,
 * the ratio and gas/s from the best of a few alternating rounds (machines
 * here are shared and noisy); never fails on time. With --host, then each
 * priced host call in a loop: ns per call and per gas beside the loop's
 * ns per gas. Not for: correctness. */
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

/* Assembles src, deploys it on env's ledger and fills payload (initialised)
 * with a call of it carrying calldata: 0, or 1 with a message printed. */
static int deploy_call(struct vm_env *env, const char *src, const uint8_t *calldata, size_t n, struct buf *payload)
{
	struct buf code;
	char err[200];
	buf_init(&code);
	if (vm_asm_assemble(src, "bench", &code, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		buf_free(&code);
		return 1;
	}
	uint8_t deployer[20] = {1};
	struct vm_deploy_payload dp = {code.data, code.len, 0, NULL, 0};
	vm_deploy_payload_encode(&dp, payload);
	struct vm_result res;
	int rc = vm_apply_deploy(env, deployer, 0, 1000000, payload->data, payload->len, &res);
	buf_free(&code);
	if (rc) {
		fprintf(stderr, "deploy: %s\n", res.error);
		return 1;
	}
	struct vm_call_payload cp = {{0}, 0, calldata, n};
	memcpy(cp.to, res.contract, 20);
	vm_result_free(&res);
	buf_reset(payload);
	vm_call_payload_encode(&cp, payload);
	return 0;
}

/* ---- --host: what each priced host call costs, beside the loop's ns/gas ---- */

#define HOST_CALLS 20000ull

/* One host call per iteration, HOST_CALLS of them; the calldata (copied
 * to address 0) holds what it reads. %s is the body before "sys". */
static const char HOST_ASM[] =
	"\tmovi r10, 0\n"
	"\tmovi r11, %llu\n"
	"\tjmp top\n"
	"top:%s"
	"\taddi r10, r10, 1\n"
	"\tjlt r10, r11, top\n"
	"\tmovi r1, 0\n"
	"\tmovi r2, 0\n"
	"\tsys return\n";

struct host_case {
	const char *name, *body;
};

static const struct host_case HOST_CASES[] = {
	/* 64 KiB of memory hashed per call */
	{"sha256 64 KiB", "\tmovi r1, 0\n\tmovi r2, 65536\n\tmovi r3, 0x8000\n\tsys sha256\n"},
	/* calldata: pubkey (32) || signature (64) || message (32) */
	{"ed25519_verify", "\tmovi r1, 0\n\tmovi r2, 96\n\tmovi r3, 32\n\tmovi r4, 32\n\tsys ed25519_verify\n"},
	/* a different absent slot each call (in-memory ledger: a lower bound) */
	{"storage_get (absent, in memory)",
	 "\tmovi r5, 0x9000\n\tst64 [r5 + 0], r10\n\tmovi r1, 0x9000\n\tmovi r2, 0x9100\n\tmovi r3, 32\n"
	 "\tsys storage_get\n"},
};

/* Runs each host call HOST_CALLS times and prints ns per call, gas per
 * call and ns per gas beside the counting loop's ns per gas (ref_ns_gas):
 * a call much dearer per gas than the loop is underpriced. */
static int host_bench(double ref_ns_gas)
{
	uint8_t seed[SEED_LEN] = {7}, pk[PUBKEY_LEN], sk[SECKEY_LEN], calldata[128];
	key_from_seed(seed, pk, sk);
	memset(calldata, 0x33, sizeof(calldata));
	memcpy(calldata, pk, 32);
	sig_sign(sk, calldata + 96, 32, calldata + 32);
	printf("host calls, %llu each (reference: the counting loop, %.3f ns/gas):\n", HOST_CALLS, ref_ns_gas);
	for (size_t i = 0; i < sizeof(HOST_CASES) / sizeof(HOST_CASES[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), HOST_ASM, HOST_CALLS, HOST_CASES[i].body);
		struct buf payload;
		buf_init(&payload);
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(m);
		struct vm_env env = {&l, 1, 0, NULL};
		uint8_t deployer[20] = {1};
		struct vm_result res;
		if (deploy_call(&env, text, calldata, sizeof(calldata), &payload))
			return 1;
		double best = 0;
		uint64_t gas = 0;
		for (int round = 0; round < BENCH_ROUNDS; round++) {
			double t0 = now_s();
			int rc = vm_apply_call(&env, deployer, 100000000000ull, payload.data, payload.len, &res);
			double secs = now_s() - t0;
			if (rc) {
				fprintf(stderr, "%s: %s\n", HOST_CASES[i].name, res.error);
				return 1;
			}
			gas = res.gas_used;
			vm_result_free(&res);
			if (best == 0 || secs < best)
				best = secs;
		}
		double ns_call = best * 1e9 / HOST_CALLS, gas_call = (double)gas / HOST_CALLS;
		printf("  %-32s %9.0f ns/call %9.0f gas/call %7.3f ns/gas (%.1fx the loop's)\n", HOST_CASES[i].name,
		       ns_call, gas_call, ns_call / gas_call, ns_call / gas_call / ref_ns_gas);
		buf_free(&payload);
		ledger_mem_free(m);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int host = argc > 1 && strcmp(argv[1], "--host") == 0;
	keys_init();
	uint64_t want = 0;
	for (uint64_t i = 0; i < BENCH_ITERATIONS; i++)
		want += i % 7;

	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	struct vm_env env = {&l, 1, 0, NULL};
	uint8_t deployer[20] = {1};
	struct buf payload;
	buf_init(&payload);
	struct vm_result res;
	if (deploy_call(&env, LOOP_ASM, NULL, 0, &payload))
		return 1;

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
	ledger_mem_free(m);
	return host ? host_bench(vm_best * 1e9 / (double)gas) : 0;
}
