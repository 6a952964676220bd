/* Unit tests of the assembler and disassembler: encodings of each operand
 * form, constants, labels, data, macros, errors with file:line:column, the
 * .abi/.init directives and the ABI hash block, and assemble(disasm(code))
 * == code on the standard contracts and on random valid code.
 * Not for: execution semantics (test_vm.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tests/unit/test.h"
#include "vm/asm.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

static int asm_hex(const char *text, const char *want_hex)
{
	struct buf code;
	char err[200] = "", hex[1024];
	buf_init(&code);
	int rc = vm_asm_assemble(text, "t.asm", &code, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "unexpected error: %s\n", err);
		buf_free(&code);
		return 0;
	}
	hex_encode(code.data, code.len < 500 ? code.len : 500, hex);
	int ok = strcmp(hex, want_hex) == 0;
	if (!ok)
		fprintf(stderr, "'%s'\n got  %s\n want %s\n", text, hex, want_hex);
	buf_free(&code);
	return ok;
}

static int asm_err(const char *text, const char *want)
{
	struct buf code;
	char err[200] = "";
	buf_init(&code);
	int rc = vm_asm_assemble(text, "t.asm", &code, err, sizeof(err));
	int ok = rc == ASSAY_EINVALID && strcmp(err, want) == 0 && code.len == 0;
	if (!ok)
		fprintf(stderr, "'%s'\n got  %d '%s'\n want '%s'\n", text, rc, err, want);
	buf_free(&code);
	return ok;
}

static void test_encodings(void)
{
	CHECK(asm_hex("ret", "7100000000000000"));
	CHECK(asm_hex("mov r1, r15", "01f1000000000000"));
	CHECK(asm_hex("movi r2, -2", "02020000feffffff"));
	CHECK(asm_hex("ldw r3, 0x1122334455667788\nret", "03030000887766550000000044332211" "7100000000000000"));
	CHECK(asm_hex("add r1, r2, r3\nret", "1021000003000000" "7100000000000000"));
	CHECK(asm_hex("addi r1, r2, 4294967295\nret", "30210000ffffffff" "7100000000000000"));
	CHECK(asm_hex("andi r1, r2, -1\nret", "38210000ffffffff" "7100000000000000"));
	CHECK(asm_hex("x: jmp x", "5000ffff00000000"));
	CHECK(asm_hex("jeq r1, r2, y\ny: ret", "5121000000000000" "7100000000000000"));
	CHECK(asm_hex("y: jnei r4, -3, y", "6204fffffdffffff"));
	CHECK(asm_hex("ld32 r1, [r2 - 4]\nret", "8221fcff00000000" "7100000000000000"));
	CHECK(asm_hex("st8 [r3 + 0x10], r4\nret", "8443100000000000" "7100000000000000"));
	CHECK(asm_hex("sys caller\nsys 16", "9000000003000000" "9000000010000000"));
	CHECK(asm_hex(".const K 5 ; five\n.const J K + 2\nmovi r1, J - 1 # six\nret",
		      "0201000006000000" "7100000000000000"));
	CHECK(asm_hex("movi r1, 'A'\nret", "0201000041000000" "7100000000000000"));
	/* data goes after the code in one block; lea takes its code address */
	CHECK(asm_hex("lea r1, s\nret\n.data\ns: .ascii \"hi\\n\"\n.u16 0x0102",
		      "0401000018000000" "7100000000000000" "d000000005000000" "68690a0201000000"));
	CHECK(asm_hex(".datablock 0a0b\nret", "d000000002000000" "0a0b000000000000" "7100000000000000"));
	/* macros */
	char want[256], sel[9];
	uint8_t s4[4];
	le32_put(s4, vm_selector("go"));
	hex_encode(s4, 4, sel);
	snprintf(want, sizeof(want), "030f0000%s00000000" "00000000" "51f8fdff00000000", sel);
	CHECK(asm_hex("t: .dispatch r8, \"go\", t", want));
	CHECK(asm_hex(".require r5, \"no\"",
		      "6205030000000000" "0401000028000000" "0202000002000000" "900000000f000000"
		      "d000000002000000" "6e6f000000000000"));
	snprintf(want, sizeof(want), "02010000%s" "7100000000000000", sel);
	if (vm_selector("go") <= INT32_MAX)
		CHECK(asm_hex("movi r1, sel(\"go\")\nret", want));
	else
		CHECK(asm_err("movi r1, sel(\"go\")\nret", "t.asm:1:10: immediate out of range") == 0);
}

static void test_errors(void)
{
	CHECK(asm_err("ret\n  frob r1", "t.asm:2:3: unknown instruction 'frob'"));
	CHECK(asm_err("mov r1, r16", "t.asm:1:9: unknown register r16 (r0-r15)"));
	CHECK(asm_err("mov r1 r2", "t.asm:1:8: expected ','"));
	CHECK(asm_err("movi r1, 0x100000000", "t.asm:1:10: immediate 4294967296 out of range (-2147483648..2147483647)"));
	CHECK(asm_err("addi r1, r1, -1", "t.asm:1:14: immediate -1 out of range (0..4294967295)"));
	CHECK(asm_err("\n\n jmp nowhere", "t.asm:3:6: undefined label 'nowhere'"));
	CHECK(asm_err("a: ret\na: ret", "t.asm:2:1: 'a' defined twice"));
	CHECK(asm_err("ld8 r1, [r2 + 40000]", "t.asm:1:15: memory offset 40000 out of range (-32768..32767)"));
	CHECK(asm_err("ret extra", "t.asm:1:5: unexpected text after the operands"));
	CHECK(asm_err(".bogus", "t.asm:1:1: unknown directive '.bogus'"));
	CHECK(asm_err(".data\nmovi r1, 1", "t.asm:2:1: instruction in the data section"));
	CHECK(asm_err(".ascii \"x\"", "t.asm:1:1: .ascii outside the data section"));
	CHECK(asm_err(".data\n.ascii \"abc", "t.asm:2:12: unterminated string"));
	CHECK(asm_err("sys nosuch", "t.asm:1:5: undefined symbol 'nosuch'"));
	CHECK(asm_err("sys 99", "t.asm:1:5: unknown host call 99"));
	CHECK(asm_err("movi r1, 12ab", "t.asm:1:10: malformed number"));
	CHECK(asm_err(".data\nx: .u8 256", "t.asm:2:8: value does not fit 8 bits"));
	CHECK(asm_err("c: .const K 1\njmp K", "t.asm:2:5: 'K' is not a code label"));
	CHECK(asm_err("", "t.asm: empty code"));
	/* the error leaves code as it was */
	struct buf code;
	char err[200];
	buf_init(&code);
	buf_put(&code, "xy", 2);
	CHECK(vm_asm_assemble("frob", NULL, &code, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(code.len == 2 && strcmp(err, "<input>:1:1: unknown instruction 'frob'") == 0);
	buf_free(&code);
}

static int round_trip(const uint8_t *code, size_t n)
{
	struct buf text, again;
	char err[200];
	buf_init(&text);
	buf_init(&again);
	int rc = vm_disasm(code, n, &text, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "disasm: %s\n", err);
		return 0;
	}
	buf_put_u8(&text, 0);
	rc = vm_asm_assemble((const char *)text.data, "disasm", &again, err, sizeof(err));
	int ok = rc == 0 && again.len == n && memcmp(again.data, code, n) == 0;
	if (!ok)
		fprintf(stderr, "round trip failed (%s)\n%s\n", rc ? err : "bytes differ", (char *)text.data);
	buf_free(&text);
	buf_free(&again);
	return ok;
}

static void test_contracts_round_trip(void)
{
	const char *files[] = {"vm/contracts/escrow.asm", "vm/contracts/job_escrow.asm"};
	for (int i = 0; i < 2; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", SRCDIR, files[i]);
		FILE *f = fopen(path, "rb");
		CHECK(f != NULL);
		if (!f)
			continue;
		char *text = calloc(1, 1 << 20);
		size_t n = fread(text, 1, (1 << 20) - 1, f);
		fclose(f);
		CHECK(n > 0);
		struct buf code;
		char err[200];
		buf_init(&code);
		CHECK(vm_asm_assemble(text, files[i], &code, err, sizeof(err)) == 0);
		CHECK(round_trip(code.data, code.len));
		buf_free(&code);
		free(text);
	}
}

/* Assembles text with its ABI; 0 or the assembler's error. */
static int asm_abi(const char *text, struct buf *code, struct vm_abi *abi, char *err, size_t errlen)
{
	buf_reset(code);
	return vm_asm_assemble_abi(text, "t.asm", code, abi, err, errlen);
}

static void test_abi_directives(void)
{
	struct vm_abi *abi = calloc(1, sizeof(*abi));
	struct buf code, plain;
	char err[200] = "", sig[VM_ABI_SIG_MAX];
	uint8_t carried[32], want[32];
	buf_init(&code);
	buf_init(&plain);
	const char *src = ".init ; deploy must call init\n"
			  ".abi init(address seller, u64 deadline) -> void\n"
			  ".abi status() -> (u8 state, amount value, address buyer)\n"
			  ".abi count()->u64\n"
			  ".abi  flag ( bool on ) -> bool ok # comment\n"
			  ".abi blob(bytes32 id, bytes rest) -> bytes\n"
			  "\tret\n";
	CHECK(asm_abi(src, &code, abi, err, sizeof(err)) == 0);
	CHECK(abi->init_required == 1 && abi->nmethods == 5);
	const struct vm_abi_method *m = vm_abi_find(abi, "init");
	CHECK(m && m->nargs == 2 && m->nrets == 0 && m->args[0].type == VM_ABI_ADDRESS &&
	      strcmp(m->args[1].name, "deadline") == 0 && m->args[1].type == VM_ABI_U64);
	m = vm_abi_find(abi, "status");
	CHECK(m && m->nargs == 0 && m->nrets == 3 && m->rets[0].type == VM_ABI_U8 &&
	      m->rets[1].type == VM_ABI_AMOUNT && strcmp(m->rets[2].name, "buyer") == 0);
	m = vm_abi_find(abi, "count"); /* a single unnamed return is "value" */
	CHECK(m && m->nrets == 1 && m->rets[0].type == VM_ABI_U64 && strcmp(m->rets[0].name, "value") == 0);
	if (m) {
		vm_abi_format_method(m, sig);
		CHECK(strcmp(sig, "count() -> u64 value") == 0);
	}
	m = vm_abi_find(abi, "flag");
	if (m) {
		vm_abi_format_method(m, sig);
		CHECK(strcmp(sig, "flag(bool on) -> bool ok") == 0);
	}
	m = vm_abi_find(abi, "status");
	if (m) {
		vm_abi_format_method(m, sig);
		CHECK(strcmp(sig, "status() -> (u8 state, amount value, address buyer)") == 0);
	}
	CHECK(vm_abi_find(abi, "nosuch") == NULL);

	/* The code is the plain program plus one trailing data block: magic
	 * and the ABI's hash; the validator takes it and nothing reaches it. */
	CHECK(vm_asm_assemble("\tret\n", "t.asm", &plain, err, sizeof(err)) == 0);
	CHECK(code.len == plain.len + 8 + VM_ABI_BLOCK_LEN);
	CHECK(memcmp(code.data, plain.data, plain.len) == 0);
	CHECK(vm_validate(code.data, code.len, err, sizeof(err)) == 0);
	vm_abi_hash(abi, want);
	CHECK(vm_abi_code_hash(code.data, code.len, carried) == 0 && memcmp(carried, want, 32) == 0);
	CHECK(vm_abi_code_hash(plain.data, plain.len, carried) == ASSAY_ENOTFOUND);
	CHECK(round_trip(code.data, code.len));

	/* The hash covers every part: a renamed argument, another type, a
	 * dropped .init each change it; spacing and comments do not. */
	uint8_t other[32];
	struct vm_abi *b = calloc(1, sizeof(*b));
	const char *variants[] = {
		".init\n.abi init(address buyer, u64 deadline) -> void\nret",
		".init\n.abi init(address seller, u32 deadline) -> void\nret",
		".abi init(address seller, u64 deadline) -> void\nret",
		".init\n.abi init(address seller, u64 deadline) -> u64\nret",
	};
	const char *same_a = ".init\n.abi init(address seller, u64 deadline) -> void\nret";
	const char *same_b = ".init\n.abi init( address  seller ,u64 deadline )->void ; x\nret";
	uint8_t ha[32], hb[32];
	CHECK(asm_abi(same_a, &code, abi, err, sizeof(err)) == 0);
	vm_abi_hash(abi, ha);
	CHECK(asm_abi(same_b, &code, b, err, sizeof(err)) == 0);
	vm_abi_hash(b, hb);
	CHECK(memcmp(ha, hb, 32) == 0);
	for (int i = 0; i < 4; i++) {
		CHECK(asm_abi(variants[i], &code, b, err, sizeof(err)) == 0);
		vm_abi_hash(b, other);
		CHECK(memcmp(other, ha, 32) != 0);
	}
	/* NULL abi: the block is still there */
	buf_reset(&code);
	CHECK(vm_asm_assemble(same_a, "t.asm", &code, err, sizeof(err)) == 0);
	CHECK(vm_abi_code_hash(code.data, code.len, carried) == 0 && memcmp(carried, ha, 32) == 0);

	/* The standard contracts declare theirs. */
	const char *files[] = {"vm/contracts/escrow.asm", "vm/contracts/job_escrow.asm"};
	for (int i = 0; i < 2; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", SRCDIR, files[i]);
		FILE *f = fopen(path, "rb");
		CHECK(f != NULL);
		if (!f)
			continue;
		char *text = calloc(1, 1 << 20);
		size_t n = fread(text, 1, (1 << 20) - 1, f);
		fclose(f);
		text[n] = 0;
		CHECK(asm_abi(text, &code, abi, err, sizeof(err)) == 0);
		CHECK(abi->init_required && vm_abi_find(abi, "init") && vm_abi_find(abi, "status"));
		free(text);
	}
	m = vm_abi_find(abi, "init"); /* job_escrow: the job payload is the rest */
	CHECK(m && m->nargs == 2 && m->args[1].type == VM_ABI_BYTES);
	free(b);
	free(abi);
	buf_free(&code);
	buf_free(&plain);
}

static void test_abi_errors(void)
{
	CHECK(asm_err(".abi f(u65 x) -> void\nret",
		      "t.asm:1:8: unknown type 'u65' (u8 u16 u32 u64 bool amount address bytes32 bytes)"));
	CHECK(asm_err(".abi f(u64) -> void\nret", "t.asm:1:11: expected a name"));
	CHECK(asm_err(".abi f(u64 a, u8 a) -> void\nret", "t.asm:1:15: argument 'a' named twice"));
	CHECK(asm_err(".abi f(bytes a, u8 b) -> void\nret",
		      "t.asm:1:17: bytes takes the rest of the data: only the last argument"));
	CHECK(asm_err(".abi f()\nret", "t.asm:1:9: expected '->' and the return type (void if none)"));
	CHECK(asm_err(".abi f() -> () \nret", "t.asm:1:14: no return values: write void"));
	CHECK(asm_err(".abi f() -> void x\nret", "t.asm:1:18: unexpected text after the signature"));
	CHECK(asm_err(".abi f(u64 a -> void\nret", "t.asm:1:14: expected ')'"));
	CHECK(asm_err(".abi f() -> void\n.abi f() -> u64\nret", "t.asm:2:1: method 'f' declared twice"));
	CHECK(asm_err("ret\n.init\n", "t.asm:2:1: .init without an .abi init(...) declaration"));
	CHECK(asm_err(".init\n.init\n.abi init() -> void\nret", "t.asm:2:1: .init given twice"));
	CHECK(asm_err(".abi 9f() -> void\nret", "t.asm:1:6: expected a method name"));
	/* the signature parser alone reports columns */
	struct vm_abi_method m;
	char err[200];
	CHECK(vm_abi_parse_method("f(u8 a) -> void", &m, err, sizeof(err)) == 0);
	CHECK(vm_abi_parse_method("f(u8 a) -> void ;", &m, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strcmp(err, "column 17: unexpected text after the signature") == 0);
	char many[2000] = ".abi f(";
	for (int i = 0; i <= VM_ABI_PARAMS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%su8 a%d", i ? ", " : "", i);
	strcat(many, ") -> void\nret");
	struct buf code;
	buf_init(&code);
	CHECK(vm_asm_assemble(many, "t.asm", &code, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "more than 16 arguments") != NULL);
	buf_free(&code);
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
	return test_xorshift(&rng);
}

/* Random valid programs: random opcodes with valid operands, jump targets
 * chosen among instruction starts once the layout is known. */
static size_t random_program(uint8_t *code, size_t max_slots)
{
	uint8_t ops[256] = {0};
	int nops = 0;
	for (int i = 0; i < 256; i++)
		if (vm_opinfo[i].name)
			ops[nops++] = (uint8_t)i;
	size_t want = 1 + rnd() % (max_slots / 2);
	size_t starts[4096], ns = 0, slot = 0;
	while (slot < want) {
		uint8_t op = ops[rnd() % (unsigned)nops];
		uint8_t *c = code + slot * 8;
		memset(c, 0, 8);
		c[0] = op;
		starts[ns++] = slot;
		uint8_t d = rnd() & 15, s = rnd() & 15;
		int32_t imm = (int32_t)rnd();
		int16_t off = (int16_t)rnd();
		switch (vm_opinfo[op].fmt) {
		case F_NONE: break;
		case F_RR: c[1] = (uint8_t)(d | s << 4); break;
		case F_RI: c[1] = d; le32_put(c + 4, (uint32_t)imm); break;
		case F_WIDE:
			c[1] = d;
			le32_put(c + 4, (uint32_t)imm);
			memset(c + 8, 0, 8);
			le32_put(c + 12, (uint32_t)rnd());
			slot++;
			break;
		case F_LEA: c[1] = d; break; /* offset 0: always inside the code */
		case F_RRR: c[1] = (uint8_t)(d | s << 4); c[4] = rnd() & 15; break;
		case F_RRI: c[1] = (uint8_t)(d | s << 4); le32_put(c + 4, (uint32_t)imm); break;
		case F_J: break;
		case F_JRR: c[1] = (uint8_t)(d | s << 4); break;
		case F_JRI: c[1] = d; le32_put(c + 4, (uint32_t)imm); break;
		case F_LD: case F_ST: c[1] = (uint8_t)(d | s << 4); c[2] = (uint8_t)off; c[3] = (uint8_t)((uint16_t)off >> 8); break;
		case F_SYS: c[4] = (uint8_t)(rnd() % VM_SYS_COUNT); break;
		case F_DATA: {
			uint32_t len = rnd() % 20;
			le32_put(c + 4, len);
			for (uint32_t k = 0; k < vm_data_slots(len) * 8; k++)
				c[8 + k] = k < len ? (uint8_t)rnd() : 0;
			slot += vm_data_slots(len);
			break;
		}
		}
		slot++;
	}
	for (size_t i = 0; i < ns; i++) {
		uint8_t *c = code + starts[i] * 8;
		uint8_t fmt = vm_opinfo[c[0]].fmt;
		if (fmt == F_J || fmt == F_JRR || fmt == F_JRI) {
			long rel = (long)starts[rnd() % ns] - (long)starts[i] - 1;
			c[2] = (uint8_t)rel;
			c[3] = (uint8_t)((uint16_t)(int16_t)rel >> 8);
		}
	}
	return slot * 8;
}

static void test_random_round_trip(void)
{
	uint8_t *code = malloc(4096 * 8 + 64);
	int valid = 0;
	for (int i = 0; i < 300; i++) {
		size_t n = random_program(code, 200);
		char err[160];
		int rc = vm_validate(code, n, err, sizeof(err));
		if (rc)
			fprintf(stderr, "random program %d invalid: %s\n", i, err);
		CHECK(rc == 0);
		if (!rc) {
			valid++;
			CHECK(round_trip(code, n));
		}
	}
	CHECK(valid == 300);
	free(code);
}

int main(void)
{
	RUN(test_encodings);
	RUN(test_errors);
	RUN(test_contracts_round_trip);
	RUN(test_abi_directives);
	RUN(test_abi_errors);
	RUN(test_random_round_trip);
	return test_report("test_asm");
}
