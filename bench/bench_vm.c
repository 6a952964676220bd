/* VM benchmark: the counting loop s = s + i % 7 for 200,000,000 iterations,
 * as VM bytecode through vm_apply_call with gas metering on, and the same
 * loop in lua5.4 (skipped with a message if absent). Prints iterations/s,
 * the ratio and gas/s from the best of a few alternating rounds (machines
 * here are shared and noisy); never fails on time. With --host, then each
 * priced host call in a loop: ns per call and per gas beside the loop's
 * ns per gas. With --ops, the patterns that are slowest for their gas (a
 * chain of instructions each waiting on the one before, loops of one taken
 * jump, a loop of calls into 64 KiB of code): ns per gas beside the
 * loop's, and the seconds a block of it would take. Not for: correctness. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
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
	static uint64_t nonce; /* each deploy at its own address */
	int rc = vm_apply_deploy(env, deployer, nonce++, 100000000, payload->data, payload->len, &res);
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

/* ---- --ops: the slowest patterns per gas ---- */

#define OPS_GAS 300000000ull /* each pattern runs until this is spent */
#define OPS_CHAIN 128        /* instructions per loop iteration in a chain */

struct ops_case {
	const char *name, *line; /* line: repeated OPS_CHAIN times, or a whole program */
	int whole;
};

/* r8 = 0 and memory is zero, so "ld64 r8, [r8 + 0]" chases address 0;
 * r7 is odd and large, so the divisions never reach zero. */
static const struct ops_case OPS_CASES[] = {
	{"dependent add", "addw r5, r5, r6", 0},
	{"dependent mov", "mov r5, r5", 0},
	{"dependent mul", "mulw r5, r5, r6", 0},
	{"dependent div", "div r5, r5, r7", 0},
	{"dependent divi", "divi r5, r5, 3", 0},
	{"dependent modi", "modi r5, r5, 7", 0},
	{"dependent shift", "shl r5, r5, r7", 0},
	{"dependent load", "ld64 r8, [r8 + 0]", 0},
	{"store", "st64 [r8 + 0], r5", 0},
	{"mcopy of 0 bytes", "mcopy r9, r9, r8", 0},
	{"taken jeq loop", "l:\tjeq r0, r0, l\n", 1},
	{"jmp loop", "l:\tjmp l\n", 1},
	{"jeqi loop", "l:\tjeqi r0, 0, l\n", 1},
};

static const char OPS_PROLOGUE[] = "\tmovi r1, 0\n\tldw r3, 100000000\n\tldw r5, 0xfffffffffffffff1\n"
				   "\tldw r6, 0xc000000000000000\n\tldw r7, 0x100000003\n\tmovi r8, 0\n"
				   "\tmovi r9, 0x100\n\tjmp top\ntop:";
static const char OPS_EPILOGUE[] = "\taddi r1, r1, 1\n\tjlt r1, r3, top\n\tmovi r1, 0\n\tmovi r2, 0\n"
				   "\tsys return\n";

/* The caller of the code-load case: calls the contract whose address is
 * the calldata's first 20 bytes, with no calldata, until its gas is spent. */
static const char LOAD_CALLER_ASM[] = "top:\tmovi r1, 0\n\tmovi r2, 0\n\tmovi r3, 0\n\tmovi r4, 0\n"
				      "\tmovi r5, 0\n\tmovi r6, 0\n\tldw r7, 1000000000\n"
				      "\tsys call_contract\n\tjmp top\n";

/* Runs payload with OPS_GAS and prints the line; 0, or 1 with a message. */
static int ops_run(struct vm_env *env, const char *name, const struct buf *payload, double ref_ns_gas)
{
	uint8_t deployer[20] = {1};
	struct vm_result res;
	double best = 0;
	uint64_t gas = 0;
	for (int round = 0; round < BENCH_ROUNDS; round++) {
		double t0 = now_s();
		int rc = vm_apply_call(env, deployer, OPS_GAS, payload->data, payload->len, &res);
		double secs = now_s() - t0;
		if (rc && rc != ASSAY_EGAS) {
			fprintf(stderr, "%s: %s\n", name, res.error);
			vm_result_free(&res);
			return 1;
		}
		gas = res.gas_used;
		vm_result_free(&res);
		if (best == 0 || secs < best)
			best = secs;
	}
	double ns_gas = best * 1e9 / (double)gas;
	/* 10^9 gas at ns_gas ns each is ns_gas seconds */
	printf("  %-26s %7.3f ns/gas (%.1fx the loop's), a block of it %.2f s\n", name, ns_gas,
	       ns_gas / ref_ns_gas, ns_gas);
	return 0;
}

static int ops_bench(double ref_ns_gas)
{
	printf("slowest patterns, %llu gas each (reference: the counting loop, %.3f ns/gas;\n"
	       "a block is max_block_gas 10^9):\n",
	       OPS_GAS, ref_ns_gas);
	int rc = 0;
	for (size_t i = 0; i < sizeof(OPS_CASES) / sizeof(OPS_CASES[0]) && !rc; i++) {
		const struct ops_case *c = &OPS_CASES[i];
		struct buf text, payload;
		buf_init(&text);
		buf_init(&payload);
		if (c->whole) {
			buf_put(&text, c->line, strlen(c->line));
		} else {
			buf_put(&text, OPS_PROLOGUE, strlen(OPS_PROLOGUE));
			for (int k = 0; k < OPS_CHAIN; k++) {
				buf_put(&text, "\t", 1);
				buf_put(&text, c->line, strlen(c->line));
				buf_put(&text, "\n", 1);
			}
			buf_put(&text, OPS_EPILOGUE, strlen(OPS_EPILOGUE));
		}
		buf_put(&text, "", 1);
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(m);
		struct vm_env env = {&l, 1, 0, NULL};
		rc = deploy_call(&env, (const char *)text.data, NULL, 0, &payload);
		if (!rc)
			rc = ops_run(&env, c->name, &payload, ref_ns_gas);
		buf_free(&text);
		buf_free(&payload);
		ledger_mem_free(m);
	}
	if (rc)
		return rc;
	/* a loop of calls into 64 KiB of divi, whose first instruction returns */
	struct buf text, payload, callee;
	buf_init(&text);
	buf_init(&payload);
	buf_init(&callee);
	buf_put(&text, "\tret\n", 5);
	for (int k = 1; k < 8192; k++)
		buf_put(&text, "\tdivi r1, r1, 3\n", 16);
	buf_put(&text, "", 1);
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	struct vm_env env = {&l, 1, 0, NULL};
	rc = deploy_call(&env, (const char *)text.data, NULL, 0, &callee);
	if (!rc) {
		struct vm_call_payload cp;
		rc = vm_call_payload_decode(&cp, callee.data, callee.len) ? 1 : 0;
		if (!rc)
			rc = deploy_call(&env, LOAD_CALLER_ASM, cp.to, 20, &payload);
	}
	if (!rc)
		rc = ops_run(&env, "calls into 64 KiB of code", &payload, ref_ns_gas);
	buf_free(&text);
	buf_free(&payload);
	buf_free(&callee);
	ledger_mem_free(m);
	return rc;
}

int main(int argc, char **argv)
{
	int host = argc > 1 && strcmp(argv[1], "--host") == 0;
	int ops = argc > 1 && strcmp(argv[1], "--ops") == 0;
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
	double ref_ns_gas = vm_best * 1e9 / (double)gas;
	return host ? host_bench(ref_ns_gas) : ops ? ops_bench(ref_ns_gas) : 0;
}
