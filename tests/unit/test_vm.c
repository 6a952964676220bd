/* Unit tests of the VM: every instruction and its traps, block gas against
 * the documented table, out of gas, journaling across nested calls, the
 * call-depth and memory limits, validator messages, payload and calldata
 * codecs, and the standard contracts run from their .asm sources.
 * Not for: the assembler's own syntax and errors (test_asm.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/keys.h"
#include "tests/unit/test.h"
#include "vm/asm.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

static ledger_mem_t *mem;
static struct ledger L;
static struct vm_env env;
static uint64_t next_nonce;

static const uint8_t ALICE[20] = {0xa1, 1};
static const uint8_t BOB[20] = {0xb0, 2};
static const uint8_t CAROL[20] = {0xca, 3};
static const uint8_t DAVE[20] = {0xda, 4};

static void setup(void)
{
	mem = ledger_mem_new(NULL);
	L = ledger_mem_ledger(mem);
	env = (struct vm_env){&L, 100, 5000, NULL};
	ledger_credit(&L, ALICE, 1000000);
	ledger_credit(&L, BOB, 1000000);
	ledger_credit(&L, CAROL, 1000000);
}

static void teardown(void)
{
	ledger_mem_free(mem);
	mem = NULL;
}

static uint64_t bal(const uint8_t a[20])
{
	struct account acct;
	ledger_get_account(&L, a, &acct);
	return acct.balance;
}

static int assemble(const char *text, struct buf *code)
{
	char err[200];
	buf_init(code);
	int rc = vm_asm_assemble(text, "test", code, err, sizeof(err));
	if (rc)
		fprintf(stderr, "assemble: %s\n", err);
	return rc;
}

static char *read_text(const char *path)
{
	char full[512];
	snprintf(full, sizeof(full), "%s/%s", SRCDIR, path);
	FILE *f = fopen(full, "rb");
	if (!f)
		return NULL;
	char *t = calloc(1, 1 << 20);
	size_t n = t ? fread(t, 1, (1 << 20) - 1, f) : 0;
	(void)n;
	fclose(f);
	return t;
}

static int deploy_code(const uint8_t *code, size_t n, uint64_t value, const uint8_t *cd, size_t cdn,
		       const uint8_t sender[20], uint64_t gas, struct vm_result *res)
{
	struct vm_deploy_payload p = {code, n, value, cd, cdn};
	struct buf b;
	buf_init(&b);
	vm_deploy_payload_encode(&p, &b);
	int rc = vm_apply_deploy(&env, sender, next_nonce++, gas, b.data, b.len, res);
	buf_free(&b);
	return rc;
}

static int call(const uint8_t from[20], const uint8_t to[20], uint64_t value, const uint8_t *cd, size_t n,
		uint64_t gas, struct vm_result *res)
{
	struct vm_call_payload p;
	memcpy(p.to, to, 20);
	p.value = value;
	p.calldata = cd;
	p.calldata_len = n;
	struct buf b;
	buf_init(&b);
	vm_call_payload_encode(&p, &b);
	int rc = vm_apply_call(&env, from, gas, b.data, b.len, res);
	buf_free(&b);
	return rc;
}

/* Deploys text (no init) and returns the address in addr. */
/* Gas each run of the contract deploy_text made last pays to load its
 * code (docs/contracts.md §4). */
static uint64_t code_gas;

static int deploy_text(const char *text, uint8_t addr[20])
{
	struct buf code;
	if (assemble(text, &code))
		return -1;
	code_gas = code.len * VM_GAS_CODE_BYTE;
	struct vm_result res;
	int rc = deploy_code(code.data, code.len, 0, NULL, 0, ALICE, 5000000, &res);
	memcpy(addr, res.contract, 20);
	if (rc)
		fprintf(stderr, "deploy: %s\n", res.error);
	vm_result_free(&res);
	buf_free(&code);
	return rc;
}

/* Runs body, then returns r0 as 8 bytes. */
static int snippet(const char *body, uint64_t gas, struct vm_result *res, uint64_t *r0)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "%s\n.text\n\tmovi r14, 0x8000\n\tst64 [r14 + 0], r0\n\tmovi r1, 0x8000\n\tmovi r2, 8\n\tsys return\n",
		 body);
	uint8_t addr[20];
	memset(res, 0, sizeof(*res));
	if (deploy_text(text, addr))
		return res->status = -100;
	int rc = call(BOB, addr, 0, NULL, 0, gas, res);
	*r0 = res->ret_len == 8 ? le64_get(res->ret) : 0xdeadbeef;
	return rc;
}

static void expect_value(const char *body, uint64_t want, int line)
{
	struct vm_result res;
	uint64_t got = 0;
	int rc = snippet(body, 100000, &res, &got);
	if (rc || got != want)
		fprintf(stderr, "line %d: '%s' gave rc %d (%s) r0 %" PRIu64 ", want %" PRIu64 "\n", line,
			body, rc, res.error, got, want);
	CHECK(rc == 0 && got == want);
	vm_result_free(&res);
}

static void expect_trap(const char *body, int status, const char *msg, int line)
{
	struct vm_result res;
	uint64_t got;
	int rc = snippet(body, 100000, &res, &got);
	int ok = rc == status && strstr(res.error, msg) != NULL;
	if (!ok)
		fprintf(stderr, "line %d: '%s' gave rc %d '%s', want %d '%s'\n", line, body, rc, res.error,
			status, msg);
	CHECK(ok);
	CHECK(res.ret == NULL || status == ASSAY_EREVERT);
	vm_result_free(&res);
}

#define V(body, want) expect_value(body, want, __LINE__)
#define T(body, msg) expect_trap(body, ASSAY_ETRAP, msg, __LINE__)

static void test_instructions(void)
{
	setup();
	V("movi r0, 7", 7);
	V("movi r0, -1", UINT64_MAX);
	V("movi r1, 42\n mov r0, r1", 42);
	V("ldw r0, 0x123456789abcdef0", 0x123456789abcdef0ull);
	V("lea r0, 0", VM_CODE_BASE);
	V("movi r1, 5\n not r0, r1", ~5ull);
	V("movi r1, 5\n neg r0, r1", (uint64_t)-5);
	V("movi r1, 5\n movi r2, 7\n add r0, r1, r2", 12);
	V("movi r1, 9\n movi r2, 7\n sub r0, r1, r2", 2);
	V("movi r1, 9\n movi r2, 7\n mul r0, r1, r2", 63);
	V("movi r1, 65\n movi r2, 7\n div r0, r1, r2", 9);
	V("movi r1, 65\n movi r2, 7\n mod r0, r1, r2", 2);
	V("movi r1, -1\n movi r2, 2\n addw r0, r1, r2", 1);
	V("movi r1, 0\n movi r2, 1\n subw r0, r1, r2", UINT64_MAX);
	V("ldw r1, 0x8000000000000000\n movi r2, 2\n mulw r0, r1, r2", 0);
	V("movi r1, 12\n movi r2, 10\n and r0, r1, r2", 8);
	V("movi r1, 12\n movi r2, 10\n or r0, r1, r2", 14);
	V("movi r1, 12\n movi r2, 10\n xor r0, r1, r2", 6);
	V("movi r1, 1\n movi r2, 65\n shl r0, r1, r2", 2); /* shift counts mod 64 */
	V("movi r1, -16\n movi r2, 2\n shr r0, r1, r2", UINT64_MAX >> 2 & ~3ull);
	V("movi r1, -16\n movi r2, 2\n sar r0, r1, r2", (uint64_t)-4);
	V("movi r1, 3\n movi r2, 3\n eq r0, r1, r2", 1);
	V("movi r1, 3\n movi r2, 3\n ne r0, r1, r2", 0);
	V("movi r1, -1\n movi r2, 3\n lt r0, r1, r2", 0);
	V("movi r1, 3\n movi r2, 3\n le r0, r1, r2", 1);
	V("movi r1, 4\n movi r2, 3\n gt r0, r1, r2", 1);
	V("movi r1, 2\n movi r2, 3\n ge r0, r1, r2", 0);
	V("movi r1, -1\n movi r2, 3\n slt r0, r1, r2", 1);
	V("movi r1, -1\n movi r2, -1\n sle r0, r1, r2", 1);
	V("movi r1, 5\n addi r0, r1, 4000000000", 4000000005ull);
	V("movi r1, 5\n subi r0, r1, 5", 0);
	V("movi r1, 5\n muli r0, r1, 3", 15);
	V("movi r1, 100\n divi r0, r1, 7", 14);
	V("movi r1, 100\n modi r0, r1, 7", 2);
	V("movi r1, 100\n divi r0, r1, 1", 100);
	V("movi r1, 100\n modi r0, r1, 1", 0);
	V("movi r1, -1\n divi r0, r1, 3", UINT64_MAX / 3);
	V("movi r1, -1\n modi r0, r1, 4294967295", UINT64_MAX % 4294967295ull);
	V("movi r1, 1\n addwi r0, r1, -2", UINT64_MAX);
	V("movi r1, 1\n subwi r0, r1, 2", UINT64_MAX);
	V("ldw r1, 0x4000000000000000\n mulwi r0, r1, 4", 0);
	V("movi r1, 255\n andi r0, r1, -16", 240);
	V("movi r1, 1\n ori r0, r1, 6", 7);
	V("movi r1, 3\n xori r0, r1, -1", ~3ull);
	V("movi r1, 1\n shli r0, r1, 63", 1ull << 63);
	V("movi r1, -1\n shri r0, r1, 60", 15);
	V("movi r1, -256\n sari r0, r1, 4", (uint64_t)-16);
	V("movi r1, -1\n eqi r0, r1, -1", 1);
	V("movi r1, 2\n nei r0, r1, 2", 0);
	V("movi r1, 2\n lti r0, r1, 3", 1);
	V("movi r1, 3\n lei r0, r1, 3", 1);
	V("movi r1, 3\n gti r0, r1, 3", 0);
	V("movi r1, 3\n gei r0, r1, 3", 1);
	V("movi r1, -5\n slti r0, r1, -4", 1);
	V("movi r1, -4\n slei r0, r1, -4", 1);
	/* jumps: r0 = 1 if taken */
	static const char *const jr[][2] = {
		{"jeq", "1"}, {"jne", "0"}, {"jlt", "0"}, {"jle", "1"}, {"jgt", "0"}, {"jge", "1"},
		{"jslt", "0"}, {"jsle", "1"},
	};
	for (size_t i = 0; i < sizeof(jr) / sizeof(jr[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "movi r1, 5\n movi r2, 5\n movi r0, 0\n %s r1, r2, yes\n jmp out\nyes: movi r0, 1\nout:",
			 jr[i][0]);
		V(body, (uint64_t)atoi(jr[i][1]));
		snprintf(body, sizeof(body),
			 "movi r1, 5\n movi r0, 0\n %si r1, 5, yes\n jmp out\nyes: movi r0, 1\nout:", jr[i][0]);
		V(body, (uint64_t)atoi(jr[i][1]));
	}
	V("movi r1, -1\n movi r2, 1\n movi r0, 0\n jlt r1, r2, y\n movi r0, 2\n jslt r1, r2, y\n jmp o\ny: addi r0, r0, 1\no:",
	  3);
	V("movi r1, -1\n movi r0, 0\n jgti r1, 5, y\n jmp o\ny: movi r0, 1\no:", 1);
	V("movi r1, -1\n movi r0, 0\n jslti r1, 0, y\n jmp o\ny: movi r0, 1\no:", 1);
	V("movi r1, 7\n movi r0, 0\n jslei r1, 7, y\n jmp o\ny: movi r0, 1\no:", 1);
	V("movi r1, 7\n movi r0, 0\n jlei r1, 6, y\n movi r0, 9\n jgei r1, 7, o\n movi r0, 8\ny:\no:", 9);
	V("movi r1, 7\n movi r0, 0\n jnei r1, 7, o\n jeqi r1, 7, y\n movi r0, 5\ny: addi r0, r0, 2\no:", 2);
	/* call / ret */
	V("movi r0, 1\n call f\n addi r0, r0, 10\n jmp o\nf: muli r0, r0, 5\n ret\no:", 15);
	/* loads and stores, little-endian */
	V("movi r1, 0x100\n ldw r2, 0x1122334455667788\n st64 [r1 + 0], r2\n ld8 r0, [r1 + 0]", 0x88);
	V("movi r1, 0x100\n ldw r2, 0x1122334455667788\n st64 [r1 + 0], r2\n ld16 r0, [r1 + 6]", 0x1122);
	V("movi r1, 0x100\n ldw r2, 0x1122334455667788\n st64 [r1 + 8], r2\n ld32 r0, [r1 + 8]", 0x55667788);
	V("movi r1, 0x108\n ldw r2, 0x1122334455667788\n st64 [r1 - 8], r2\n movi r1, 0x100\n ld64 r0, [r1 + 0]",
	  0x1122334455667788ull);
	V("movi r1, 0x100\n movi r2, 0x1ff\n st8 [r1 + 0], r2\n st16 [r1 + 1], r2\n ld32 r0, [r1 + 0]", 0x01ffff);
	V("movi r1, 0x100\n movi r2, -1\n st32 [r1 + 0], r2\n ld64 r0, [r1 + 0]", 0xffffffffull);
	V("lea r1, msg\n movi r2, 0x200\n movi r3, 5\n mcopy r2, r1, r3\n ld8 r0, [r2 + 4]\n jmp o\n"
	  ".data\nmsg: .ascii \"hello\"\n.text\no:", 'o');
	V("lea r1, msg\n ld32 r0, [r1 + 0]\n .data\nmsg: .u32 0xcafe\n.text", 0xcafe);
	V("sys height", 100);
	V("sys time", 5000);
	V("sys value", 0);
	V("sys mem_size", VM_PAGE_BYTES);
	V("movi r1, 2\n sys mem_grow\n sys mem_size", 3 * VM_PAGE_BYTES);
	V("movi r1, 1\n sys mem_grow\n ldw r5, 0x1ffff\n movi r6, 9\n st8 [r5 + 0], r6\n ld8 r0, [r5 + 0]", 9);
	V("mov r0, r1", 0); /* r1 = calldata length */
	/* traps */
	T("movi r1, 1\n movi r2, 0\n div r0, r1, r2", "division by zero at pc 2");
	T("movi r1, 1\n movi r2, 0\n mod r0, r1, r2", "division by zero");
	T("movi r1, 1\n divi r0, r1, 0", "division by zero at pc 1");
	T("movi r1, 1\n modi r0, r1, 0", "division by zero");
	T("movi r1, -1\n movi r2, 1\n add r0, r1, r2", "arithmetic overflow at pc 2");
	T("movi r1, 0\n movi r2, 1\n sub r0, r1, r2", "arithmetic overflow");
	T("ldw r1, 0x100000000\n mul r0, r1, r1", "arithmetic overflow");
	T("movi r1, -1\n addi r0, r1, 1", "arithmetic overflow");
	T("movi r1, 0\n subi r0, r1, 1", "arithmetic overflow");
	T("ldw r1, 0x8000000000000000\n muli r0, r1, 2", "arithmetic overflow");
	T("ldw r1, 0xffff\n ld64 r0, [r1 - 6]", "load out of bounds");
	V("ldw r1, 0xffff\n ld64 r0, [r1 - 7]", 0);
	T("ldw r1, 0x10000\n ld8 r0, [r1 + 0]", "load out of bounds");
	T("movi r1, -8\n ld64 r0, [r1 + 0]", "load out of bounds");
	T("ldw r1, 0x10000\n st8 [r1 + 0], r1", "store out of bounds");
	T("lea r1, 0\n st8 [r1 + 0], r1", "store out of bounds");
	T("movi r1, 0\n ldw r2, 0xfffff\n movi r3, 0x20000\n mcopy r1, r2, r3", "mcopy out of bounds");
	T("movi r1, 17\n sys mem_grow", "over the memory limit");
	T("movi r1, 15\n sys mem_grow\n movi r1, 1\n sys mem_grow", "over the memory limit");
	T("ldw r1, 0xffffffffffffffff\n sys mem_grow", "over the memory limit");
	T("movi r1, 0\n movi r2, 0\n sys job_status", "job host calls not available");
	T("movi r1, 0\n movi r2, 4\n movi r3, 0\n sys job_submit", "job host calls not available");
	T("movi r1, 0\n movi r2, 1\n sys transfer", "transfer: insufficient balance");
	T("movi r1, 0\n ldw r2, 0x100000\n sys emit", "emit: event over the limit");
	T("movi r1, 0\n movi r2, 0\n ldw r3, 0x400000000000000\n sys storage_set", "storage_set: value over the limit");
	T("ldw r1, 0x1000000\n movi r2, 1\n sys emit", "emit: memory out of bounds");
	T("f: call f", "call depth limit of 64 reached at pc 0");
	T(".datablock 0102", "executed a data block");
	T("jmp d\nd: .datablock 0102", "executed a data block at pc 1"); /* to the header: deployable */
	expect_trap("lea r1, m\n movi r2, 9\n sys revert\n .data\nm: .ascii \"no thanks\"", ASSAY_EREVERT,
		    "revert: no thanks", __LINE__);
	/* falls off the end: code that does not return */
	{
		uint8_t addr[20];
		CHECK(deploy_text("\tmovi r0, 1\n", addr) == 0);
		struct vm_result res;
		CHECK(call(BOB, addr, 0, NULL, 0, 1000, &res) == ASSAY_ETRAP);
		CHECK(strstr(res.error, "fell off the end of code at pc 1") != NULL);
		vm_result_free(&res);
		/* ret at depth 0 ends successfully with no data */
		CHECK(deploy_text("\tmovi r0, 1\n\tret\n", addr) == 0);
		CHECK(call(BOB, addr, 0, NULL, 0, 1000, &res) == 0);
		CHECK(res.ret_len == 0);
		vm_result_free(&res);
	}
	teardown();
}

/* divi/modi use a precomputed reciprocal; it must agree with '/' always. */
static void test_divmagic(void)
{
	setup();
	uint64_t s = 0x9e3779b97f4a7c15ull;
	const uint32_t ds[] = {2, 3, 5, 7, 10, 641, 65536, 1000000007u, 4294967291u, 4294967295u};
	for (int i = 0; i < 40; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		uint64_t x = i == 0 ? UINT64_MAX : i == 1 ? UINT64_MAX - 1 : s >> (i % 5 * 13);
		uint32_t d = ds[i % 10];
		char body[256];
		snprintf(body, sizeof(body),
			 "ldw r1, %" PRIu64 "\n divi r2, r1, %u\n modi r3, r1, %u\n muli r4, r2, %u\n add r0, r4, r3\n"
			 " movi r5, 0x100\n st64 [r5 + 0], r2\n",
			 x, d, d, d);
		struct vm_result res;
		uint64_t got = 0;
		CHECK(snippet(body, 100000, &res, &got) == 0);
		CHECK(got == x); /* q*d + r == x */
		vm_result_free(&res);
		snprintf(body, sizeof(body), "ldw r1, %" PRIu64 "\n modi r0, r1, %u", x, d);
		expect_value(body, x % d, __LINE__);
		snprintf(body, sizeof(body), "ldw r1, %" PRIu64 "\n divi r0, r1, %u", x, d);
		expect_value(body, x / d, __LINE__);
	}
	teardown();
}

/* Every run pays for its code's size (docs/contracts.md §4): a call to a
 * contract of 16 KiB costs 16 KiB more gas than its instructions, and so
 * does each nested call to it. */
static void test_code_load_gas(void)
{
	setup();
	struct vm_result res;
	uint8_t big[20], caller[20];
	CHECK(deploy_text("\tret\n.data\nblob: .zero 16384\n", big) == 0);
	uint64_t big_gas = code_gas;
	CHECK(big_gas >= 16384);
	CHECK(call(BOB, big, 0, NULL, 0, 100000, &res) == 0);
	CHECK_EQ_U64(res.gas_used, 2 + big_gas);
	vm_result_free(&res);
	CHECK(call(BOB, big, 0, NULL, 0, big_gas, &res) == ASSAY_EGAS); /* not enough to load it */
	vm_result_free(&res);
	char text[512], hex[41];
	hex_encode(big, 20, hex);
	snprintf(text, sizeof(text),
		 "\tmovi r5, 0x300\n\tlea r6, target\n\tmovi r7, 20\n\tmcopy r5, r6, r7\n"
		 "\tmovi r1, 0x300\n\tmovi r2, 0\n\tmovi r3, 0x400\n\tmovi r4, 0\n\tmovi r5, 0x500\n"
		 "\tmovi r6, 0\n\tldw r7, 1000000\n\tsys call_contract\n\tret\n"
		 ".data\ntarget: .bytes %s\n",
		 hex);
	CHECK(deploy_text(text, caller) == 0);
	CHECK(call(BOB, caller, 0, NULL, 0, 1000000, &res) == 0);
	CHECK(res.gas_used > VM_GAS_CALL + 2 + big_gas + code_gas);
	CHECK(res.gas_used < VM_GAS_CALL + 2 + big_gas + code_gas + 100);
	vm_result_free(&res);
	teardown();
}

static void test_gas(void)
{
	setup();
	struct vm_result res;
	uint8_t addr[20];
	/* one run: movi movi add ret = 3+3+3+2, and its code bytes */
	CHECK(deploy_text("\tmovi r1, 1\n\tmovi r2, 2\n\tadd r3, r1, r2\n\tret\n", addr) == 0);
	CHECK(call(BOB, addr, 0, NULL, 0, 1000, &res) == 0);
	CHECK(res.gas_used == 11 + code_gas);
	vm_result_free(&res);
	/* a loop of n iterations: entry run (movi movi jmp = 3+3+3), then per
	 * iteration the run from 'top' (modi 7 + add 3 + addi 3 + jlt 4 = 17),
	 * then the exit run (ret 2). */
	CHECK(deploy_text("\tmovi r1, 0\n\tmovi r2, 0\n\tjmp top\ntop:\tmodi r3, r1, 7\n\tadd r2, r2, r3\n"
			  "\taddi r1, r1, 1\n\tjlti r1, 10, top\n\tret\n",
			  addr) == 0);
	CHECK(call(BOB, addr, 0, NULL, 0, 1000, &res) == 0);
	CHECK(res.gas_used == 9 + 10 * 17 + 2 + code_gas);
	vm_result_free(&res);
	/* the same with a limit one short: out of gas, used == limit */
	CHECK(call(BOB, addr, 0, NULL, 0, 9 + 10 * 17 + 1 + code_gas, &res) == ASSAY_EGAS);
	CHECK(res.gas_used == 9 + 10 * 17 + 1 + code_gas);
	CHECK(strcmp(res.error, "out of gas") == 0);
	vm_result_free(&res);
	/* host calls: sys (10) + height (100); storage_set 10 + 5000 + 64/byte */
	CHECK(deploy_text("\tsys height\n\tret\n", addr) == 0);
	CHECK(call(BOB, addr, 0, NULL, 0, 1000, &res) == 0);
	CHECK(res.gas_used == 10 + 2 + VM_GAS_ACCOUNT + code_gas);
	vm_result_free(&res);
	CHECK(deploy_text("\tmovi r1, 0\n\tmovi r2, 0\n\tmovi r3, 8\n\tsys storage_set\n\tret\n", addr) == 0);
	CHECK(call(BOB, addr, 0, NULL, 0, 100000, &res) == 0); /* a new slot */
	CHECK(res.gas_used == 9 + 10 + 2 + VM_GAS_STORAGE_SET + 8 * VM_GAS_STORAGE_BYTE + VM_GAS_NEW_KEY + code_gas);
	vm_result_free(&res);
	CHECK(call(BOB, addr, 0, NULL, 0, 100000, &res) == 0); /* the slot is there now */
	CHECK(res.gas_used == 9 + 10 + 2 + VM_GAS_STORAGE_SET + 8 * VM_GAS_STORAGE_BYTE + code_gas);
	vm_result_free(&res);
	/* an event: 300 + 64 per byte */
	CHECK(deploy_text("\tmovi r1, 0\n\tmovi r2, 100\n\tsys emit\n\tret\n", addr) == 0);
	CHECK(call(BOB, addr, 0, NULL, 0, 100000, &res) == 0);
	CHECK_EQ_U64(res.gas_used, 6 + 10 + 2 + 300 + 100 * 64 + code_gas);
	vm_result_free(&res);
	/* memory growth costs per page */
	CHECK(deploy_text("\tmovi r1, 3\n\tsys mem_grow\n\tret\n", addr) == 0);
	CHECK(call(BOB, addr, 0, NULL, 0, 100000, &res) == 0);
	CHECK(res.gas_used == 3 + 10 + 2 + 3 * VM_GAS_PAGE + code_gas);
	vm_result_free(&res);
	/* an endless loop ends within its limit */
	CHECK(deploy_text("top:\tjmp top\n", addr) == 0);
	for (uint64_t lim = 0; lim < 50; lim += 7) {
		CHECK(call(BOB, addr, 0, NULL, 0, lim, &res) == ASSAY_EGAS);
		CHECK(res.gas_used == lim);
		vm_result_free(&res);
	}
	CHECK(call(BOB, addr, 0, NULL, 0, 5000000, &res) == ASSAY_EGAS);
	CHECK(res.gas_used == 5000000);
	vm_result_free(&res);
	/* run gas from the validator: the table of docs/contracts.md */
	struct buf code;
	CHECK(assemble("\tmovi r1, 1\n\tmul r2, r1, r1\nx:\tld8 r3, [r1 + 0]\n\tsys value\n\tjeq r1, r2, x\n"
		       "\tdiv r4, r2, r1\n\tcall x\n\tmcopy r1, r1, r1\n\tret\n",
		       &code) == 0);
	struct vm_code_info info;
	char err[120];
	CHECK(vm_analyze(code.data, code.len, &info, err, sizeof(err)) == 0);
	CHECK(info.run_gas[0] == 3 + 4 + 5 + 10 + 4);
	CHECK(info.run_gas[2] == 5 + 10 + 4);
	CHECK(info.run_gas[5] == 8 + 5);
	CHECK(info.run_gas[7] == 6 + 2);
	vm_code_info_free(&info);
	buf_free(&code);
	teardown();
}

/* A call that creates a state key pays VM_GAS_NEW_KEY for it: transfer
 * and call_contract value to an account not there (the recipient is the
 * calldata), charged before the write, so a limit one short creates
 * nothing. */
static void test_new_key_gas(void)
{
	setup();
	struct vm_result res;
	uint8_t pay[20], fwd[20], fresh[20], fresh2[20];
	CHECK(deploy_text("\tmovi r1, 0\n\tmovi r2, 5\n\tsys transfer\n\tret\n", pay) == 0);
	CHECK(deploy_text("\tmovi r1, 0\n\tmovi r2, 5\n\tmovi r3, 0\n\tmovi r4, 0\n\tmovi r5, 0x500\n"
			  "\tmovi r6, 0\n\tmovi r7, 0\n\tsys call_contract\n\tret\n",
			  fwd) == 0);
	ledger_credit(&L, pay, 1000);
	ledger_credit(&L, fwd, 1000);
	const uint8_t *contracts[] = {pay, fwd};
	for (int i = 0; i < 2; i++) {
		memset(fresh, 0x40 + i, sizeof(fresh));
		memset(fresh2, 0x50 + i, sizeof(fresh2));
		CHECK(call(BOB, contracts[i], 0, fresh, 20, 1000000, &res) == 0);
		uint64_t creating = res.gas_used;
		vm_result_free(&res);
		CHECK(bal(fresh) == 5);
		CHECK(call(BOB, contracts[i], 0, fresh, 20, 1000000, &res) == 0);
		CHECK_EQ_U64(creating - res.gas_used, VM_GAS_NEW_KEY);
		uint64_t existing = res.gas_used;
		vm_result_free(&res);
		CHECK(bal(fresh) == 10);
		CHECK(call(BOB, contracts[i], 0, fresh2, 20, existing + VM_GAS_NEW_KEY - 1, &res) == ASSAY_EGAS);
		vm_result_free(&res);
		struct account a;
		CHECK(ledger_get_account(&L, fresh2, &a) == 0 && a.balance == 0);
		uint8_t key[HASH_LEN], none;
		size_t len;
		state_key(NS_ACCOUNT, fresh2, 20, key);
		CHECK(ledger_get_into(&L, key, &none, 0, &len) == ASSAY_ENOTFOUND);
	}
	teardown();
}

static void test_validator(void)
{
	static const struct {
		const char *hex;
		int rc;
		const char *msg;
	} cases[] = {
		{"", ASSAY_EINVALID, "empty code"},
		{"710000000000", ASSAY_EINVALID, "code length 6 is not a whole number of 8-byte instructions"},
		{"ee00000000000000", ASSAY_EINVALID, "unknown opcode 0xee at pc 0"},
		{"71000000000000000000000000000000", ASSAY_EINVALID, "unknown opcode 0x00 at pc 1"},
		{"1021000010000000", ASSAY_EINVALID, "unknown register r16 at pc 0"},
		{"0301000001000000", ASSAY_EINVALID, "truncated wide instruction at pc 0"},
		{"03010000010000000100000000000000", ASSAY_EINVALID,
		 "malformed second half of wide instruction at pc 0"},
		{"5000050000000000", ASSAY_EINVALID, "jump target 6 out of code at pc 0"},
		{"5000feff00000000", ASSAY_EINVALID, "jump target -1 out of code at pc 0"},
		{"50000100000000000301000001000000000000000200000071000000000000", ASSAY_EINVALID,
		 "not a whole number"},
		{"500001000000000003010000010000000000000002000000", ASSAY_EINVALID,
		 "jump into the middle of a wide instruction or data at pc 0 (target 2)"},
		{"90000000ff000000", ASSAY_EINVALID, "unknown host call 255 at pc 0"},
		{"7101000000000000", ASSAY_EINVALID, "nonzero unused field in ret at pc 0"},
		{"0411000000000000", ASSAY_EINVALID, "nonzero unused field in lea at pc 0"},
		{"0401000040000000", ASSAY_EINVALID, "lea offset 64 outside code at pc 0"},
		{"d000000009000000aaaaaaaaaaaaaaaa", ASSAY_EINVALID, "data block at pc 0 overruns code"},
		{"d000000002000000aaaaaa0000000000", ASSAY_EINVALID, "nonzero padding in data block at pc 0"},
		{"d000000002000000aaaa000000000000", 0, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t code[64];
		long n = hex_decode(cases[i].hex, code, sizeof(code));
		char err[160] = "";
		int rc = vm_validate(code, (size_t)(n < 0 ? 0 : n), err, sizeof(err));
		int ok = rc == cases[i].rc && strstr(err, cases[i].msg) != NULL;
		if (!ok)
			fprintf(stderr, "validator case %zu: rc %d '%s'\n", i, rc, err);
		CHECK(ok);
	}
	/* over the size limit */
	uint8_t *big = calloc(1, VM_CODE_MAX + 8);
	for (size_t i = 0; i < VM_CODE_MAX + 8; i += 8)
		big[i] = OP_RET;
	char err[160];
	CHECK(vm_validate(big, VM_CODE_MAX, err, sizeof(err)) == 0);
	CHECK(vm_validate(big, VM_CODE_MAX + 8, err, sizeof(err)) == ASSAY_ELIMIT);
	CHECK(strstr(err, "over the limit of 65536") != NULL);
	free(big);
	/* deploy refuses invalid code and stores nothing */
	setup();
	size_t before = ledger_mem_count(mem);
	uint8_t bad[8] = {0xee};
	struct vm_result res;
	CHECK(deploy_code(bad, 8, 5, NULL, 0, ALICE, 100000, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "invalid code: unknown opcode 0xee at pc 0") != NULL);
	CHECK(ledger_mem_count(mem) == before);
	CHECK(bal(ALICE) == 1000000);
	vm_result_free(&res);
	teardown();
}

static int storage_read(const uint8_t contract[20], uint8_t slot_byte, uint64_t *v)
{
	uint8_t id[52] = {0}, key[32], *val;
	size_t len;
	memcpy(id, contract, 20);
	id[20] = slot_byte;
	state_key(NS_STORAGE, id, sizeof(id), key);
	int rc = ledger_get(&L, key, &val, &len);
	if (rc)
		return rc;
	*v = len == 8 ? le64_get(val) : 0;
	free(val);
	return 0;
}

/* B: stores 0xb0b at slot 1, emits, then reverts when calldata[0] == 1.
 * A: stores 0xa at slot 1, sends 100 to B while calling it with A's own
 * calldata, returns r0 of the call, and emits. */
static void test_journaling(void)
{
	setup();
	uint8_t a[20], b[20];
	CHECK(deploy_text("\tmovi r5, 0x200\n\tldw r6, 0xb0b\n\tst64 [r5 + 0], r6\n\tmovi r7, 0x100\n"
			  "\tmovi r6, 1\n\tst8 [r7 + 0], r6\n"
			  "\tmovi r1, 0x100\n\tmovi r2, 0x200\n\tmovi r3, 8\n\tsys storage_set\n"
			  "\tmovi r1, 0x200\n\tmovi r2, 8\n\tsys emit\n"
			  "\tmovi r9, 0\n\tld8 r8, [r9 + 0]\n\tjeqi r8, 1, bad\n\tret\n"
			  "bad:\tmovi r1, 0\n\tmovi r2, 0\n\tsys revert\n",
			  b) == 0);
	char text[2048];
	char hexb[41];
	hex_encode(b, 20, hexb);
	snprintf(text, sizeof(text),
		 "\tmovi r10, 0\n\tld8 r11, [r10 + 0]\n"
		 "\tmovi r5, 0x200\n\tmovi r6, 0xa\n\tst64 [r5 + 0], r6\n\tmovi r7, 0x100\n"
		 "\tmovi r6, 1\n\tst8 [r7 + 0], r6\n"
		 "\tmovi r1, 0x100\n\tmovi r2, 0x200\n\tmovi r3, 8\n\tsys storage_set\n"
		 "\tmovi r1, 0x200\n\tmovi r2, 8\n\tsys emit\n"
		 "\tmovi r5, 0x300\n\tlea r6, target\n\tmovi r7, 20\n\tmcopy r5, r6, r7\n"
		 "\tmovi r5, 0x400\n\tst8 [r5 + 0], r11\n"
		 "\tmovi r1, 0x300\n\tmovi r2, 100\n\tmovi r3, 0x400\n\tmovi r4, 1\n\tmovi r5, 0x500\n"
		 "\tmovi r6, 0\n\tmovi r7, 50000\n\tsys call_contract\n"
		 "\tmovi r14, 0x8000\n\tst64 [r14 + 0], r0\n\tmovi r1, 0x8000\n\tmovi r2, 8\n\tsys return\n"
		 ".data\ntarget: .bytes %s\n",
		 hexb);
	CHECK(deploy_text(text, a) == 0);
	ledger_credit(&L, a, 1000);
	struct vm_result res;
	uint64_t v;
	/* B succeeds: both writes stay, 100 moved, two events (A's then B's) */
	uint8_t cd1[1] = {0};
	CHECK(call(CAROL, a, 0, cd1, 1, 200000, &res) == 0);
	CHECK(res.ret_len == 8 && le64_get(res.ret) == 0);
	CHECK(res.nevents == 2);
	CHECK(res.nevents == 2 && memcmp(res.events[1].contract, b, 20) == 0 && le64_get(res.events[1].data) == 0xb0b);
	CHECK(storage_read(a, 1, &v) == 0 && v == 0xa);
	CHECK(storage_read(b, 1, &v) == 0 && v == 0xb0b);
	CHECK(bal(a) == 900 && bal(b) == 100);
	vm_result_free(&res);
	/* reset B's slot by hand to see the next revert keep it absent */
	uint8_t id[52] = {0}, key[32];
	memcpy(id, b, 20);
	id[20] = 1;
	state_key(NS_STORAGE, id, sizeof(id), key);
	ledger_del(&L, key);
	/* B reverts: only B's write, event and the 100 are undone; A goes on */
	uint8_t cd2[1] = {1};
	CHECK(call(CAROL, a, 0, cd2, 1, 200000, &res) == 0);
	CHECK(res.ret_len == 8 && le64_get(res.ret) == 1);
	CHECK(res.nevents == 1 && memcmp(res.events[0].contract, a, 20) == 0);
	CHECK(storage_read(a, 1, &v) == 0);
	CHECK(storage_read(b, 1, &v) == ASSAY_ENOTFOUND);
	CHECK(bal(a) == 900 && bal(b) == 100);
	vm_result_free(&res);
	/* the outer call fails after everything: nothing at all remains */
	ledger_del(&L, key);
	memcpy(id, a, 20);
	state_key(NS_STORAGE, id, sizeof(id), key);
	ledger_del(&L, key);
	CHECK(call(CAROL, a, 77, cd1, 1, 5100, &res) == ASSAY_EGAS); /* enough to reach the call only */
	CHECK(res.nevents == 0 && res.events == NULL);
	CHECK(storage_read(a, 1, &v) == ASSAY_ENOTFOUND);
	CHECK(storage_read(b, 1, &v) == ASSAY_ENOTFOUND);
	CHECK(bal(a) == 900 && bal(b) == 100 && bal(CAROL) == 1000000);
	vm_result_free(&res);
	teardown();
}

/* A contract that calls itself: stops at the contract depth limit, the
 * innermost call failing visibly, the rest succeeding. */
static void test_nested_depth(void)
{
	setup();
	uint8_t a[20];
	/* counter in memory: each level returns 1 + what its callee returned */
	CHECK(deploy_text("\tmovi r1, 0x300\n\tsys self\n"
			  "\tmovi r1, 0x300\n\tmovi r2, 0\n\tmovi r3, 0\n\tmovi r4, 0\n\tmovi r5, 0x400\n"
			  "\tmovi r6, 8\n\tldw r7, 1000000\n\tsys call_contract\n"
			  "\tmovi r9, 0x400\n\tld64 r8, [r9 + 0]\n\tjnei r0, 0, leaf\n\taddi r8, r8, 1\n\tjmp out\n"
			  "leaf:\tmovi r8, 1\nout:\tst64 [r9 + 0], r8\n\tmovi r1, 0x400\n\tmovi r2, 8\n\tsys return\n",
			  a) == 0);
	struct vm_result res;
	CHECK(call(BOB, a, 0, NULL, 0, 10000000, &res) == 0);
	CHECK(res.ret_len == 8 && le64_get(res.ret) == VM_CONTRACT_DEPTH_MAX);
	vm_result_free(&res);
	teardown();
}

static void test_codecs(void)
{
	uint8_t code[16] = {OP_RET}, cd[3] = {1, 2, 3};
	struct vm_deploy_payload d = {code, 8, 77, cd, 3}, d2;
	struct buf b;
	buf_init(&b);
	vm_deploy_payload_encode(&d, &b);
	CHECK(vm_deploy_payload_decode(&d2, b.data, b.len) == 0);
	CHECK(d2.code_len == 8 && d2.value == 77 && d2.calldata_len == 3 && memcmp(d2.calldata, cd, 3) == 0);
	buf_put_u8(&b, 0);
	CHECK(vm_deploy_payload_decode(&d2, b.data, b.len) == ASSAY_EDECODE);
	CHECK(vm_deploy_payload_decode(&d2, b.data, 5) != 0);
	buf_reset(&b);
	struct vm_call_payload c = {{9, 9}, 5, cd, 3}, c2;
	vm_call_payload_encode(&c, &b);
	CHECK(b.len == 20 + 8 + 1 + 3);
	CHECK(vm_call_payload_decode(&c2, b.data, b.len) == 0);
	CHECK(memcmp(c2.to, c.to, 20) == 0 && c2.value == 5 && c2.calldata_len == 3);
	CHECK(vm_call_payload_decode(&c2, b.data, b.len - 1) == ASSAY_EDECODE);
	buf_free(&b);
	/* calldata */
	char addr_text[ADDR_STR_MAX], err[120];
	address_encode(NET_DEV, BOB, addr_text);
	const char *args[] = {"42", "0x10", addr_text,
			      "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"};
	buf_init(&b);
	CHECK(vm_calldata_build("release", args, 4, &b, err, sizeof(err)) == 0);
	CHECK(b.len == 4 + 8 + 8 + 20 + 32);
	uint8_t h[32];
	sha256("release", 7, h);
	CHECK(memcmp(b.data, h, 4) == 0);
	CHECK(le32_get(b.data) == vm_selector("release"));
	CHECK(le64_get(b.data + 4) == 42 && le64_get(b.data + 12) == 16);
	CHECK(memcmp(b.data + 20, BOB, 20) == 0);
	CHECK(b.data[40] == 0x00 && b.data[41] == 0x11 && b.data[71] == 0xff);
	buf_reset(&b);
	const char *bad[] = {"-1"};
	CHECK(vm_calldata_build("x", bad, 1, &b, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, "argument 1") != NULL);
	const char *bad2[] = {"99999999999999999999"};
	buf_reset(&b);
	CHECK(vm_calldata_build("x", bad2, 1, &b, err, sizeof(err)) == ASSAY_EARG);
	/* raw bytes, as they are: "bytes:" of any length, or 0x of a length
	 * that no fixed-width form takes; the short 0x form stays an integer */
	const char *raw[] = {"7", "bytes:0102", "0x00112233445566778899", "bytes:", "0x0102"};
	buf_reset(&b);
	CHECK(vm_calldata_build("init", raw, 5, &b, err, sizeof(err)) == 0);
	CHECK(b.len == 4 + 8 + 2 + 10 + 0 + 8);
	CHECK(le64_get(b.data + 4) == 7 && b.data[12] == 1 && b.data[13] == 2);
	CHECK(b.data[14] == 0x00 && b.data[15] == 0x11 && b.data[23] == 0x99);
	CHECK(le64_get(b.data + 24) == 0x0102);
	const char *odd[] = {"0x00112233445566778"};
	buf_reset(&b);
	CHECK(vm_calldata_build("x", odd, 1, &b, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, "argument 1: raw bytes must be an even number of hex digits") != NULL);
	const char *nothex[] = {"bytes:01zz"};
	buf_reset(&b);
	CHECK(vm_calldata_build("x", nothex, 1, &b, err, sizeof(err)) == ASSAY_EARG);
	/* the limit counts raw bytes too: 4 + 16380 fits, one more does not */
	char *big = malloc(6 + 2 * VM_CALLDATA_MAX + 1);
	if (big) {
		memcpy(big, "bytes:", 6);
		memset(big + 6, 'a', 2 * (VM_CALLDATA_MAX - 4));
		big[6 + 2 * (VM_CALLDATA_MAX - 4)] = 0;
		const char *fits[] = {big};
		buf_reset(&b);
		CHECK(vm_calldata_build("x", fits, 1, &b, err, sizeof(err)) == 0 && b.len == VM_CALLDATA_MAX);
		memcpy(big + 6 + 2 * (VM_CALLDATA_MAX - 4), "aa", 3);
		buf_reset(&b);
		CHECK(vm_calldata_build("x", fits, 1, &b, err, sizeof(err)) == ASSAY_EARG);
		CHECK(strstr(err, "over the limit") != NULL);
		free(big);
	}
	buf_free(&b);
	/* address derivation is the documented hash */
	uint8_t want[32], got[20], id[28];
	memcpy(id, ALICE, 20);
	le64_put(id + 20, 7);
	hash_tagged("assay/contract", id, 28, want);
	vm_contract_address(ALICE, 7, got);
	CHECK(memcmp(got, want, 20) == 0);
}

/* --- standard contracts --- */

static int load_contract(const char *path, struct buf *code)
{
	char *text = read_text(path);
	CHECK(text != NULL);
	if (!text)
		return -1;
	char err[200];
	buf_init(code);
	int rc = vm_asm_assemble(text, path, code, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	free(text);
	return rc;
}

static void calldata(struct buf *b, const char *method, const char *const *args, int n)
{
	char err[120];
	buf_init(b);
	int rc = vm_calldata_build(method, args, n, b, err, sizeof(err));
	if (rc)
		fprintf(stderr, "calldata: %s\n", err);
	CHECK(rc == 0);
}

static int escrow_deploy(const struct buf *code, uint64_t value, uint64_t timeout, uint8_t addr[20])
{
	char s[ADDR_STR_MAX], a[ADDR_STR_MAX], t[24];
	address_encode(NET_DEV, BOB, s);
	address_encode(NET_DEV, CAROL, a);
	snprintf(t, sizeof(t), "%" PRIu64, timeout);
	const char *args[] = {s, a, t};
	struct buf cd;
	calldata(&cd, "init", args, 3);
	struct vm_result res;
	int rc = deploy_code(code->data, code->len, value, cd.data, cd.len, ALICE, 1000000, &res);
	if (rc)
		fprintf(stderr, "escrow deploy: %s\n", res.error);
	memcpy(addr, res.contract, 20);
	CHECK(rc != 0 || (res.nevents == 1 && le64_get(res.events[0].data + 4) == value));
	vm_result_free(&res);
	buf_free(&cd);
	return rc;
}

static int method(const uint8_t *from, const uint8_t *to, const char *name, uint64_t value,
		  struct vm_result *res)
{
	struct buf cd;
	calldata(&cd, name, NULL, 0);
	int rc = call(from, to, value, cd.data, cd.len, 1000000, res);
	buf_free(&cd);
	return rc;
}

static int method_ok(const uint8_t *from, const uint8_t *to, const char *name, uint64_t value)
{
	struct vm_result res;
	int rc = method(from, to, name, value, &res);
	if (rc)
		fprintf(stderr, "%s: %s\n", name, res.error);
	vm_result_free(&res);
	return rc;
}

static int method_refused(const uint8_t *from, const uint8_t *to, const char *name, const char *msg)
{
	struct vm_result res;
	int rc = method(from, to, name, 0, &res);
	int ok = rc == ASSAY_EREVERT && strstr(res.error, msg) != NULL;
	if (!ok)
		fprintf(stderr, "%s: rc %d '%s', want '%s'\n", name, rc, res.error, msg);
	vm_result_free(&res);
	return ok;
}

static void test_escrow(void)
{
	struct buf code;
	if (load_contract("vm/contracts/escrow.asm", &code))
		return;
	uint8_t e[20];
	struct vm_result res;

	/* release by the buyer pays the seller exactly */
	setup();
	CHECK(escrow_deploy(&code, 5000, 200, e) == 0);
	CHECK(bal(ALICE) == 1000000 - 5000 && bal(e) == 5000);
	CHECK(method_ok(ALICE, e, "deposit", 1000) == 0);
	CHECK(bal(e) == 6000);
	CHECK(method_refused(DAVE, e, "release", "only the buyer or the arbiter can release"));
	CHECK(method_refused(BOB, e, "release", "only the buyer or the arbiter can release"));
	CHECK(bal(e) == 6000 && bal(BOB) == 1000000);
	CHECK(method(ALICE, e, "status", 0, &res) == 0);
	CHECK(res.ret_len == 84);
	if (res.ret_len == 84) {
		CHECK(memcmp(res.ret, ALICE, 20) == 0 && memcmp(res.ret + 20, BOB, 20) == 0 &&
		      memcmp(res.ret + 40, CAROL, 20) == 0);
		CHECK(le64_get(res.ret + 60) == 200 && le64_get(res.ret + 68) == 0 &&
		      le64_get(res.ret + 76) == 6000);
	}
	vm_result_free(&res);
	CHECK(method(ALICE, e, "release", 0, &res) == 0);
	CHECK(res.nevents == 1 && le32_get(res.events[0].data) == vm_selector("Released") &&
	      le64_get(res.events[0].data + 4) == 6000);
	vm_result_free(&res);
	CHECK(bal(BOB) == 1000000 + 6000 && bal(e) == 0 && bal(ALICE) == 1000000 - 6000);
	CHECK(method_refused(ALICE, e, "release", "escrow already settled"));
	CHECK(method_refused(CAROL, e, "refund", "escrow already settled"));
	struct vm_result q;
	CHECK(vm_query(&env, DAVE, e, (const uint8_t *)"\0\0\0\0", 4, 100000, &q) == ASSAY_EREVERT);
	vm_result_free(&q);
	struct buf cd;
	calldata(&cd, "status", NULL, 0);
	CHECK(vm_query(&env, DAVE, e, cd.data, cd.len, 100000, &q) == 0);
	CHECK(q.ret_len == 84 && le64_get(q.ret + 68) == 1);
	vm_result_free(&q);
	buf_free(&cd);
	teardown();

	/* release by the arbiter */
	setup();
	CHECK(escrow_deploy(&code, 700, 200, e) == 0);
	CHECK(method_ok(CAROL, e, "release", 0) == 0);
	CHECK(bal(BOB) == 1000700 && bal(e) == 0);
	teardown();

	/* refund: the arbiter at any time */
	setup();
	CHECK(escrow_deploy(&code, 900, 200, e) == 0);
	CHECK(method_refused(DAVE, e, "deposit", "only the buyer can deposit"));
	CHECK(method_ok(CAROL, e, "refund", 0) == 0);
	CHECK(bal(ALICE) == 1000000 && bal(e) == 0 && bal(BOB) == 1000000);
	teardown();

	/* refund by the buyer or a stranger: refused before the timeout, then allowed */
	setup();
	CHECK(escrow_deploy(&code, 900, 200, e) == 0);
	CHECK(method_refused(ALICE, e, "refund", "refund before the timeout height"));
	CHECK(method_refused(DAVE, e, "refund", "refund before the timeout height"));
	env.height = 199;
	CHECK(method_refused(DAVE, e, "refund", "refund before the timeout height"));
	env.height = 200;
	CHECK(method_ok(DAVE, e, "refund", 0) == 0);
	CHECK(bal(ALICE) == 1000000 && bal(e) == 0 && bal(DAVE) == 0);
	CHECK(method_refused(ALICE, e, "release", "escrow already settled"));
	teardown();

	/* a deploy without init, an unknown method, a deposit refused keeps the value */
	setup();
	CHECK(escrow_deploy(&code, 900, 200, e) == 0);
	CHECK(method_refused(ALICE, e, "steal", "unknown method"));
	{
		struct buf cd2;
		calldata(&cd2, "deposit", NULL, 0);
		ledger_credit(&L, DAVE, 100);
		CHECK(call(DAVE, e, 50, cd2.data, cd2.len, 1000000, &res) == ASSAY_EREVERT);
		CHECK(bal(DAVE) == 100 && bal(e) == 900);
		vm_result_free(&res);
		CHECK(call(BOB, e, 50, cd2.data, cd2.len, 1000000, &res) == ASSAY_EREVERT);
		CHECK(bal(BOB) == 1000000 && bal(e) == 900);
		vm_result_free(&res);
		buf_free(&cd2);
	}
	struct vm_result dres;
	const char *noargs[] = {"1"};
	calldata(&cd, "init", noargs, 1);
	CHECK(deploy_code(code.data, code.len, 10, cd.data, cd.len, ALICE, 1000000, &dres) == ASSAY_EREVERT);
	CHECK(strstr(dres.error, "init takes seller, arbiter, timeout") != NULL);
	vm_result_free(&dres);
	buf_free(&cd);
	teardown();
	buf_free(&code);
}

struct fake_jobs {
	uint32_t state;
	int submitted;
	uint8_t payer[20];
	size_t payload_len;
};

static int fake_status(void *ctx, const uint8_t job_id[32], uint32_t *state)
{
	struct fake_jobs *f = ctx;
	if (job_id[0] != 0x77)
		return ASSAY_ENOTFOUND;
	*state = f->state;
	return 0;
}

static int fake_submit(void *ctx, const uint8_t payer[20], const uint8_t *payload, size_t n, uint8_t job_id[32])
{
	struct fake_jobs *f = ctx;
	f->submitted++;
	memcpy(f->payer, payer, 20);
	f->payload_len = n;
	memset(job_id, 0x77, 32);
	return 0;
}

static uint64_t fake_record_gas;

static uint64_t fake_submit_gas(void *ctx, const uint8_t *payload, size_t n)
{
	(void)ctx;
	(void)payload;
	return n == 14 ? fake_record_gas : 0;
}

static int job_escrow_deploy(const struct buf *code, uint64_t value, uint8_t addr[20], struct vm_result *res)
{
	char p[ADDR_STR_MAX];
	address_encode(NET_DEV, BOB, p);
	const char *args[] = {p};
	struct buf cd;
	calldata(&cd, "init", args, 1);
	buf_put(&cd, "job-spec-bytes", 14);
	int rc = deploy_code(code->data, code->len, value, cd.data, cd.len, ALICE, 1000000, res);
	memcpy(addr, res->contract, 20);
	buf_free(&cd);
	return rc;
}

/* A contract's job_submit pays the gas the host names for the record, as a
 * job_submit transaction does (protocol.md §5.2), before the job is
 * submitted: short of it, the call runs out of gas and nothing is kept. */
static void test_job_submit_pays_record_gas(void)
{
	struct buf code;
	if (load_contract("vm/contracts/job_escrow.asm", &code))
		return;
	uint8_t e[20];
	struct vm_result res;
	struct fake_jobs fj = {0};
	struct vm_job_host host = {&fj, fake_status, fake_submit, NULL};
	setup();
	env.jobs = &host;
	CHECK(job_escrow_deploy(&code, 500, e, &res) == 0);
	uint64_t base = res.gas_used;
	vm_result_free(&res);
	teardown();

	host.job_submit_gas = fake_submit_gas;
	fake_record_gas = 123457;
	setup();
	env.jobs = &host;
	CHECK(job_escrow_deploy(&code, 500, e, &res) == 0);
	CHECK_EQ_U64(res.gas_used, base + 123457);
	CHECK(fj.submitted == 2);
	vm_result_free(&res);
	teardown();

	fake_record_gas = 1000000; /* more than the deploy's whole gas */
	setup();
	env.jobs = &host;
	CHECK(job_escrow_deploy(&code, 500, e, &res) == ASSAY_EGAS);
	CHECK(fj.submitted == 2);
	CHECK(bal(ALICE) == 1000000 && bal(e) == 0);
	vm_result_free(&res);
	teardown();
	buf_free(&code);
}

static void test_job_escrow(void)
{
	struct buf code;
	if (load_contract("vm/contracts/job_escrow.asm", &code))
		return;
	uint8_t e[20];
	struct vm_result res;
	/* without a job host: a clear error, nothing kept */
	setup();
	CHECK(job_escrow_deploy(&code, 500, e, &res) == ASSAY_ETRAP);
	CHECK(strstr(res.error, "job host calls not available") != NULL);
	CHECK(bal(ALICE) == 1000000 && bal(e) == 0);
	vm_result_free(&res);
	teardown();

	struct fake_jobs fj = {0};
	struct vm_job_host host = {&fj, fake_status, fake_submit, NULL};
	/* verified: the provider is paid */
	setup();
	env.jobs = &host;
	CHECK(job_escrow_deploy(&code, 500, e, &res) == 0);
	/* JobFunded names the value and the job the contract submitted */
	CHECK(res.nevents == 1 && res.events[0].len == 44 && memcmp(res.events[0].contract, e, 20) == 0);
	CHECK(res.nevents == 1 && le32_get(res.events[0].data) == vm_selector("JobFunded"));
	CHECK(res.nevents == 1 && le64_get(res.events[0].data + 4) == 500);
	CHECK(res.nevents == 1 && res.events[0].data[12] == 0x77 && res.events[0].data[43] == 0x77);
	vm_result_free(&res);
	CHECK(fj.submitted == 1 && memcmp(fj.payer, e, 20) == 0 && fj.payload_len == 14);
	CHECK(bal(e) == 500 && bal(ALICE) == 1000000 - 500);
	fj.state = VM_JOB_PENDING;
	CHECK(method_refused(DAVE, e, "settle", "job not finished"));
	fj.state = VM_JOB_VERIFIED;
	CHECK(method(DAVE, e, "settle", 0, &res) == 0);
	CHECK(res.nevents == 1 && le32_get(res.events[0].data) == vm_selector("Paid"));
	vm_result_free(&res);
	CHECK(bal(BOB) == 1000500 && bal(e) == 0 && bal(ALICE) == 999500);
	CHECK(method_refused(DAVE, e, "settle", "job escrow already settled"));
	CHECK(method(DAVE, e, "status", 0, &res) == 0);
	CHECK(res.ret_len == 88 && le64_get(res.ret + 72) == 1 && res.ret[40] == 0x77);
	vm_result_free(&res);
	teardown();

	/* verified after a slash: the compensation that came back to the
	 * contract as the job's submitter is the buyer's, not the provider's */
	setup();
	env.jobs = &host;
	CHECK(job_escrow_deploy(&code, 500, e, &res) == 0);
	vm_result_free(&res);
	CHECK(ledger_credit(&L, e, 300) == 0); /* the submitter's share of a slash */
	fj.state = VM_JOB_VERIFIED;
	CHECK(method_ok(DAVE, e, "settle", 0) == 0);
	CHECK_EQ_U64(bal(BOB), 1000500);
	CHECK_EQ_U64(bal(ALICE), 1000000 - 500 + 300);
	CHECK_EQ_U64(bal(e), 0);
	teardown();

	/* failed or expired: the buyer gets everything back */
	setup();
	env.jobs = &host;
	CHECK(job_escrow_deploy(&code, 800, e, &res) == 0);
	vm_result_free(&res);
	fj.state = VM_JOB_FAILED;
	CHECK(method_ok(BOB, e, "settle", 0) == 0);
	CHECK(bal(ALICE) == 1000000 && bal(BOB) == 1000000 && bal(e) == 0);
	teardown();

	/* job host removed after deploy: settle fails with the clear message */
	setup();
	env.jobs = &host;
	CHECK(job_escrow_deploy(&code, 800, e, &res) == 0);
	vm_result_free(&res);
	env.jobs = NULL;
	CHECK(method(BOB, e, "settle", 0, &res) == ASSAY_ETRAP);
	CHECK(strstr(res.error, "job host calls not available") != NULL);
	CHECK(bal(e) == 800);
	vm_result_free(&res);
	teardown();
	buf_free(&code);
}

static void test_deploy_rules(void)
{
	setup();
	uint8_t code[8] = {OP_RET};
	struct vm_result res;
	/* value beyond the balance: refused, nothing stored */
	size_t before = ledger_mem_count(mem);
	CHECK(deploy_code(code, 8, 2000000, NULL, 0, ALICE, 100000, &res) == ASSAY_EBALANCE);
	CHECK(ledger_mem_count(mem) == before || bal(ALICE) == 1000000);
	uint8_t addr[20];
	memcpy(addr, res.contract, 20);
	vm_result_free(&res);
	struct account acct;
	ledger_get_account(&L, addr, &acct);
	CHECK(acct.code_hash[0] == 0 && acct.balance == 0);
	/* gas for storing code */
	CHECK(deploy_code(code, 8, 0, NULL, 0, ALICE, VM_GAS_DEPLOY + 8 * VM_GAS_DEPLOY_BYTE - 1, &res) ==
	      ASSAY_EGAS);
	vm_result_free(&res);
	CHECK(deploy_code(code, 8, 0, NULL, 0, ALICE, VM_GAS_DEPLOY + 8 * VM_GAS_DEPLOY_BYTE, &res) == 0);
	CHECK(res.gas_used == VM_GAS_DEPLOY + 8 * VM_GAS_DEPLOY_BYTE);
	vm_result_free(&res);
	/* the same address twice */
	next_nonce--;
	CHECK(deploy_code(code, 8, 0, NULL, 0, ALICE, 1000000, &res) == ASSAY_EEXISTS);
	vm_result_free(&res);
	/* calling a plain account */
	CHECK(call(ALICE, BOB, 0, NULL, 0, 1000, &res) == ASSAY_EINVALID);
	CHECK(strcmp(res.error, "not a contract") == 0);
	vm_result_free(&res);
	teardown();
}

static void test_hostcalls(void)
{
	setup();
	/* sha256("abc"): first 8 digest bytes ba7816bf8f01cfea, read LE */
	V("lea r1, m\n movi r2, 3\n movi r3, 0x100\n sys sha256\n ld64 r0, [r3 + 0]\n"
	  ".data\nm: .ascii \"abc\"\n.text", 0xeacf018fbf1678baull);
	/* ed25519_verify on a real signature, then on a corrupted one */
	uint8_t seed[32] = {7}, pk[32], sk[64], sig[64];
	key_from_seed(seed, pk, sk);
	sig_sign(sk, "pay 5", 5, sig);
	char pkh[65], sigh[129], body[1024];
	hex_encode(pk, 32, pkh);
	for (int bad = 0; bad < 2; bad++) {
		sig[0] ^= (uint8_t)bad;
		hex_encode(sig, 64, sigh);
		snprintf(body, sizeof(body),
			 "lea r1, pk\n lea r2, msg\n movi r3, 5\n lea r4, sig\n sys ed25519_verify\n"
			 ".data\npk: .bytes %s\nsig: .bytes %s\nmsg: .ascii \"pay 5\"\n.text",
			 pkh, sigh);
		expect_value(body, bad ? 0 : 1, __LINE__);
	}
	/* storage: absent reads as 2^64-1, set then get gives the length and
	 * bytes, delete makes it absent again */
	V("movi r1, 0x100\n movi r2, 0x200\n movi r3, 8\n sys storage_get", UINT64_MAX);
	V("movi r5, 0x300\n movi r6, 0x55\n st8 [r5 + 0], r6\n"
	  "movi r1, 0x100\n movi r2, 0x300\n movi r3, 3\n sys storage_set\n"
	  "movi r1, 0x100\n movi r2, 0x400\n movi r3, 1\n sys storage_get\n"
	  "movi r5, 0x400\n ld16 r6, [r5 + 0]\n shli r6, r6, 8\n or r0, r0, r6", 0x5503);
	V("movi r5, 0x300\n movi r1, 0x100\n movi r2, 0x300\n movi r3, 3\n sys storage_set\n"
	  "movi r1, 0x100\n sys storage_del\n"
	  "movi r1, 0x100\n movi r2, 0x400\n movi r3, 8\n sys storage_get", UINT64_MAX);
	T("movi r1, 0\n movi r2, 0\n movi r3, 4097\n sys storage_set", "storage_set: value over the limit");
	/* caller and self, compared with the known addresses */
	{
		char hb[41], body2[1024];
		hex_encode(BOB, 20, hb);
		snprintf(body2, sizeof(body2),
			 "movi r1, 0x100\n sys caller\n lea r2, bob\n movi r3, 0x100\n ld64 r4, [r2 + 0]\n"
			 "ld64 r5, [r3 + 0]\n eq r0, r4, r5\n ld32 r4, [r2 + 16]\n ld32 r5, [r3 + 16]\n"
			 "eq r6, r4, r5\n and r0, r0, r6\n.data\nbob: .bytes %s\n.text", hb);
		V(body2, 1);
	}
	/* balance of a funded account; transfer to a plain account moves value */
	{
		char hb[41], body2[1024];
		hex_encode(CAROL, 20, hb);
		snprintf(body2, sizeof(body2), "lea r1, c\n sys balance\n.data\nc: .bytes %s\n.text", hb);
		V(body2, 1000000);
		uint8_t addr[20];
		snprintf(body2, sizeof(body2),
			 "lea r1, c\n movi r2, 40\n sys transfer\n movi r1, 0x100\n sys self\n"
			 "movi r1, 0x100\n sys balance\n ret\n.data\nc: .bytes %s", hb);
		CHECK(deploy_text(body2, addr) == 0);
		ledger_credit(&L, addr, 100);
		struct vm_result res;
		CHECK(call(BOB, addr, 0, NULL, 0, 100000, &res) == 0);
		CHECK(bal(CAROL) == 1000040 && bal(addr) == 60);
		vm_result_free(&res);
		/* call value arrives before the code runs and is visible */
		CHECK(deploy_text("\tsys value\n\tmovi r1, 0x100\n\tst64 [r1 + 0], r0\n\tmovi r2, 8\n\tsys return\n",
				  addr) == 0);
		CHECK(call(BOB, addr, 33, NULL, 0, 100000, &res) == 0);
		CHECK(res.ret_len == 8 && le64_get(res.ret) == 33 && bal(addr) == 33 && bal(BOB) == 1000000 - 33);
		vm_result_free(&res);
		CHECK(call(DAVE, addr, 1, NULL, 0, 100000, &res) == ASSAY_EBALANCE);
		vm_result_free(&res);
	}
	/* calldata arrives at address 0 with its length in r1 */
	{
		uint8_t addr[20];
		CHECK(deploy_text("\tmovi r5, 0\n\tld8 r6, [r5 + 2]\n\tmuli r6, r6, 1000\n\tadd r6, r6, r1\n"
				  "\tmovi r7, 0x100\n\tst64 [r7 + 0], r6\n\tmovi r1, 0x100\n\tmovi r2, 8\n\tsys return\n",
				  addr) == 0);
		struct vm_result res;
		uint8_t cd[5] = {1, 2, 9, 4, 5};
		CHECK(call(BOB, addr, 0, cd, 5, 100000, &res) == 0);
		CHECK(res.ret_len == 8 && le64_get(res.ret) == 9005);
		vm_result_free(&res);
	}
	teardown();
}

int main(void)
{
	keys_init();
	RUN(test_instructions);
	RUN(test_hostcalls);
	RUN(test_divmagic);
	RUN(test_gas);
	RUN(test_new_key_gas);
	RUN(test_code_load_gas);
	RUN(test_validator);
	RUN(test_journaling);
	RUN(test_nested_depth);
	RUN(test_codecs);
	RUN(test_escrow);
	RUN(test_job_escrow);
	RUN(test_job_submit_pays_record_gas);
	RUN(test_deploy_rules);
	return test_report("test_vm");
}
