/* Unit tests for assay-cli's contract group: fee arithmetic, loading .asm
 * and .bin files (assembler errors as file:line:column, validation), the
 * code record decoder, @FILE arguments, ABI files and typed values, whole
 * commands that need no node (build, disasm of a file, and the checks deploy
 * and call make before they contact one), and the refusals of deploy, call
 * and query against a small fake node whose dry run (simulatetransaction)
 * the test sets. Not for: a real node (tests/functional/contract_*.py). */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/keys.h"
#include "core/tx.h"
#include "tests/unit/cli_fixture.h"
#include "tests/unit/test.h"
#include "vm/asm.h"
#include "vm/vm.h"
#include "wallet/cli.h"
#include "wallet/cli_contract.h"

static char tmpdir[256];

static const char *escrow_path = SRCDIR "/vm/contracts/escrow.asm";

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(p, 1, n, f) == n);
	fclose(f);
}

/* Runs cli_main in tmpdir's data directory on a NULL-ended word list
 * (copied: getopt permutes argv). */
static int run_cli(const char *first, ...) __attribute__((sentinel));
static int run_cli(const char *first, ...)
{
	char datadir[300];
	snprintf(datadir, sizeof(datadir), "-datadir=%s", tmpdir); /* no stray assay.conf */
	const char *fixed[] = {datadir};
	va_list ap;
	va_start(ap, first);
	int rc = cli_run_words(fixed, 1, first, ap);
	va_end(ap);
	return rc;
}

static void test_record_decode(void)
{
	const uint8_t rec[] = {1, 0x71, 0, 0, 0, 0, 0, 0, 0};
	const uint8_t *code = NULL;
	size_t n = 0;
	CHECK(contract_record_decode(rec, sizeof(rec), &code, &n) == 0);
	CHECK(code == rec + 1 && n == 8);
	const uint8_t v2[] = {2, 0x71, 0, 0, 0, 0, 0, 0, 0};
	CHECK(contract_record_decode(v2, sizeof(v2), &code, &n) == ASSAY_EDECODE);
	CHECK(contract_record_decode(rec, 1, &code, &n) == ASSAY_EDECODE);
	CHECK(contract_record_decode(rec, 0, &code, &n) == ASSAY_EDECODE);
}

static void test_load_file(void)
{
	char path[512], err[512];
	struct buf code, direct;
	buf_init(&code);
	buf_init(&direct);

	/* An .asm file assembles to exactly what the assembler gives for its text. */
	CHECK(contract_load_file(escrow_path, 1, &code, err, sizeof(err)) == 0);
	FILE *f = fopen(escrow_path, "rb");
	CHECK(f != NULL);
	char text[65536];
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	text[n] = 0;
	if (f)
		fclose(f);
	CHECK(vm_asm_assemble(text, "x", &direct, err, sizeof(err)) == 0);
	CHECK(code.len == direct.len && code.len > 0 && memcmp(code.data, direct.data, code.len) == 0);
	CHECK(vm_validate(code.data, code.len, err, sizeof(err)) == 0);

	/* Assembler errors name the file, line and column. */
	snprintf(path, sizeof(path), "%s/bad.asm", tmpdir);
	const char *bad = "\tmovi r1, 1\n\tmovi r1, 2\n  frob r3\n";
	write_file(path, bad, strlen(bad));
	buf_reset(&code);
	CHECK(contract_load_file(path, 1, &code, err, sizeof(err)) == ASSAY_EINVALID);
	char want[600];
	snprintf(want, sizeof(want), "%s:3:3:", path);
	CHECK(strncmp(err, want, strlen(want)) == 0);

	/* A .bin file is taken as bytes and validated unless asked not to. */
	snprintf(path, sizeof(path), "%s/bad.bin", tmpdir);
	const uint8_t badop[8] = {0xee};
	write_file(path, badop, sizeof(badop));
	buf_reset(&code);
	CHECK(contract_load_file(path, 1, &code, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "invalid contract code: unknown opcode 0xee at pc 0") != NULL);
	buf_reset(&code);
	CHECK(contract_load_file(path, 0, &code, err, sizeof(err)) == 0);
	CHECK(code.len == 8 && code.data[0] == 0xee);

	snprintf(path, sizeof(path), "%s/missing.bin", tmpdir);
	buf_reset(&code);
	CHECK(contract_load_file(path, 1, &code, err, sizeof(err)) == ASSAY_EIO);
	CHECK(strstr(err, "missing.bin") != NULL);
	buf_free(&code);
	buf_free(&direct);
}

static void test_build_and_disasm(void)
{
	char out[512], src[512], round[512], err[512];
	snprintf(out, sizeof(out), "%s/escrow.bin", tmpdir);
	CHECK(run_cli("contract", "build", escrow_path, "-o", out, (char *)NULL) == CLI_OK);
	struct buf built, code;
	buf_init(&built);
	buf_init(&code);
	FILE *f = fopen(out, "rb");
	CHECK(f != NULL);
	uint8_t bytes[65536];
	size_t n = f ? fread(bytes, 1, sizeof(bytes), f) : 0;
	if (f)
		fclose(f);
	CHECK(contract_load_file(escrow_path, 1, &code, err, sizeof(err)) == 0);
	CHECK(n == code.len && memcmp(bytes, code.data, n) == 0);

	/* Without -o, FILE.asm builds FILE.bin beside it. */
	snprintf(src, sizeof(src), "%s/tiny.asm", tmpdir);
	write_file(src, "\tmovi r0, 7\n\tret\n", 17);
	CHECK(run_cli("contract", "build", src, (char *)NULL) == CLI_OK);
	snprintf(out, sizeof(out), "%s/tiny.bin", tmpdir);
	struct stat st;
	CHECK(stat(out, &st) == 0 && st.st_size == 16);

	/* The disassembly of the .bin assembles back to the same bytes. */
	struct buf text, again;
	buf_init(&text);
	buf_init(&again);
	CHECK(vm_disasm(code.data, code.len, &text, err, sizeof(err)) == 0);
	buf_put_u8(&text, 0);
	CHECK(vm_asm_assemble((const char *)text.data, "round", &again, err, sizeof(err)) == 0);
	CHECK(again.len == code.len && memcmp(again.data, code.data, code.len) == 0);
	snprintf(round, sizeof(round), "%s/escrow.bin", tmpdir);
	CHECK(run_cli("contract", "disasm", round, (char *)NULL) == CLI_OK);

	/* Failures: an assembler error, a file that is not .asm, a missing file. */
	snprintf(src, sizeof(src), "%s/bad.asm", tmpdir);
	CHECK(run_cli("contract", "build", src, (char *)NULL) == CLI_EFAIL);
	CHECK(run_cli("contract", "build", round, (char *)NULL) == CLI_EUSAGE);
	snprintf(src, sizeof(src), "%s/missing.bin", tmpdir);
	CHECK(run_cli("contract", "disasm", src, (char *)NULL) == CLI_EFAIL);
	CHECK(run_cli("contract", "build", (char *)NULL) == CLI_EUSAGE);
	buf_free(&built);
	buf_free(&code);
	buf_free(&text);
	buf_free(&again);
}

/* @FILE: the file's bytes become calldata as they are, whatever their
 * length (a short file is not an integer, a 32-byte one not a word by
 * accident: both give the same bytes as the file). */
static void test_file_arg(void)
{
	char path[512], err[512], *text = NULL;
	const uint8_t blob[5] = {0x01, 0x02, 0xfe, 0x00, 0x7f};
	snprintf(path, sizeof(path), "%s/arg.bin", tmpdir);
	write_file(path, blob, sizeof(blob));
	CHECK(contract_file_arg(path, &text, err, sizeof(err)) == 0);
	CHECK(text && strcmp(text, "bytes:0102fe007f") == 0);
	struct buf cd;
	buf_init(&cd);
	const char *args[] = {"9", text};
	CHECK(vm_calldata_build("init", args, 2, &cd, err, sizeof(err)) == 0);
	CHECK(cd.len == 4 + 8 + 5 && memcmp(cd.data + 12, blob, 5) == 0);
	free(text);
	text = NULL;
	/* empty file: no bytes */
	write_file(path, "", 0);
	CHECK(contract_file_arg(path, &text, err, sizeof(err)) == 0 && strcmp(text, "bytes:") == 0);
	free(text);
	text = NULL;
	/* larger than calldata can be */
	uint8_t *big = calloc(CONTRACT_ARG_FILE_MAX + 1, 1);
	CHECK(big != NULL);
	if (big) {
		write_file(path, big, CONTRACT_ARG_FILE_MAX + 1);
		CHECK(contract_file_arg(path, &text, err, sizeof(err)) == ASSAY_ELIMIT);
		CHECK(strstr(err, "calldata is at most 16384") != NULL && text == NULL);
		free(big);
	}
	snprintf(path, sizeof(path), "%s/missing.bin", tmpdir);
	CHECK(contract_file_arg(path, &text, err, sizeof(err)) == ASSAY_EIO);
	CHECK(strstr(err, "cannot open") != NULL && text == NULL);
	buf_free(&cd);
}

/* Deploy and call check their input before they ask the node anything: the
 * port below has no node, so reaching it would give CLI_EUNREACHABLE. */
static void test_checks_before_the_node(void)
{
	char bad[512];
	snprintf(bad, sizeof(bad), "%s/bad.bin", tmpdir);
	const char *port = "-rpcport=1";
	CHECK(run_cli(port, "contract", "deploy", "--from", "w", bad, (char *)NULL) == CLI_EFAIL);
	CHECK(run_cli(port, "contract", "deploy", "--from", "w", escrow_path, "extra", (char *)NULL) ==
	      CLI_EUSAGE);
	/* the fee floor is the node's (getchainparams): a low --fee is refused
	 * once the node is asked, in test_cli's fake-node test */
	CHECK(run_cli(port, "contract", "deploy", "--from", "w", escrow_path, "--gas", "0", (char *)NULL) ==
	      CLI_EUSAGE);
	CHECK(run_cli(port, "contract", "call", "--from", "w", "dassay1x", "m", "--gas", "x", (char *)NULL) ==
	      CLI_EUSAGE);
	CHECK(run_cli(port, "contract", "call", "--from", "w", "dassay1x", (char *)NULL) == CLI_EUSAGE);
	/* escrow.asm declares .init: without its arguments the deploy is
	 * refused before any node is asked (the value would be locked). */
	CHECK(run_cli(port, "contract", "deploy", "--from", "w", escrow_path, "--value", "5", (char *)NULL) ==
	      CLI_EUSAGE);
	CHECK(run_cli(port, "contract", "deploy", "--from", "w", escrow_path, "--args", "a", "b",
		      (char *)NULL) == CLI_EUSAGE); /* init takes 3 */
	/* Everything local is fine: now the missing node is what fails. */
	CHECK(run_cli("-rpcconnect=127.0.0.1", port, "contract", "deploy", "--from", "w", escrow_path,
		      "--gas", "100", "--fee", "0.000001100", "--args", "a", "b", "1",
		      (char *)NULL) == CLI_EUNREACHABLE);
}

/* --- ABI files and typed values --- */

static void test_abi_path_and_json(void)
{
	char out[CLI_PATH_MAX], err[512];
	CHECK(contract_abi_path("a/escrow.asm", out) == 0 && strcmp(out, "a/escrow.abi.json") == 0);
	CHECK(contract_abi_path("escrow.bin", out) == 0 && strcmp(out, "escrow.abi.json") == 0);
	CHECK(contract_abi_path("code", out) == 0 && strcmp(out, "code.abi.json") == 0);

	struct vm_abi *abi = calloc(1, sizeof(*abi)), *back = calloc(1, sizeof(*back));
	struct buf code;
	buf_init(&code);
	CHECK(contract_load_abi(escrow_path, 1, &code, abi, err, sizeof(err)) == 0);
	CHECK(abi->init_required && abi->nmethods == 5);
	/* the JSON form reads back to the same ABI (same hash) */
	json_t *j = contract_abi_json(abi);
	CHECK(j != NULL);
	CHECK(contract_abi_from_json(j, back, err, sizeof(err)) == 0);
	uint8_t h1[32], h2[32], carried[32];
	vm_abi_hash(abi, h1);
	vm_abi_hash(back, h2);
	CHECK(memcmp(h1, h2, 32) == 0 && back->init_required && back->nmethods == 5);
	CHECK(vm_abi_code_hash(code.data, code.len, carried) == 0 && memcmp(carried, h1, 32) == 0);
	/* an edited signature no longer matches the hash the file states */
	json_t *m0 = json_array_get(json_object_get(j, "methods"), 0);
	json_object_set_new(m0, "signature", json_string("init(address seller) -> void"));
	CHECK(contract_abi_from_json(j, back, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "is not the hash of its methods") != NULL);
	/* without a stated hash it is taken, and hashes differently */
	json_object_del(j, "abi_hash");
	CHECK(contract_abi_from_json(j, back, err, sizeof(err)) == 0);
	vm_abi_hash(back, h2);
	CHECK(memcmp(h1, h2, 32) != 0);
	json_object_set_new(m0, "signature", json_string("init(address seller, bytes x, u8 y) -> void"));
	CHECK(contract_abi_from_json(j, back, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "method 1") != NULL && strstr(err, "only the last") != NULL);
	json_object_set_new(m0, "name", json_string("other"));
	json_object_set_new(m0, "signature", json_string("init() -> void"));
	CHECK(contract_abi_from_json(j, back, err, sizeof(err)) == ASSAY_EINVALID);
	json_object_set_new(j, "abi_version", json_integer(2));
	CHECK(contract_abi_from_json(j, back, err, sizeof(err)) == ASSAY_EINVALID);
	json_decref(j);

	/* files: .abi.json as build writes it, .asm by assembling; a missing
	 * file is ENOTFOUND (deploy then looks no further) */
	char path[512];
	snprintf(path, sizeof(path), "%s/abi.bin", tmpdir);
	CHECK(run_cli("contract", "build", escrow_path, "-o", path, (char *)NULL) == CLI_OK);
	snprintf(path, sizeof(path), "%s/abi.abi.json", tmpdir);
	CHECK(contract_abi_read(path, back, err, sizeof(err)) == 0);
	vm_abi_hash(back, h2);
	CHECK(memcmp(h1, h2, 32) == 0);
	CHECK(contract_abi_read(escrow_path, back, err, sizeof(err)) == 0 && back->nmethods == 5);
	snprintf(path, sizeof(path), "%s/none.abi.json", tmpdir);
	CHECK(contract_abi_read(path, back, err, sizeof(err)) == ASSAY_ENOTFOUND);
	snprintf(path, sizeof(path), "%s/junk.abi.json", tmpdir);
	write_file(path, "{", 1);
	CHECK(contract_abi_read(path, back, err, sizeof(err)) == ASSAY_EINVALID);
	/* a source without .abi builds no ABI file */
	snprintf(path, sizeof(path), "%s/tiny.asm", tmpdir);
	CHECK(contract_abi_read(path, back, err, sizeof(err)) == ASSAY_EINVALID);
	snprintf(path, sizeof(path), "%s/tiny.abi.json", tmpdir);
	struct stat st;
	CHECK(stat(path, &st) != 0);
	buf_free(&code);
	free(abi);
	free(back);
}

static void test_abi_encode(void)
{
	struct vm_abi_method m;
	char err[300];
	struct buf out;
	buf_init(&out);
	CHECK(vm_abi_parse_method("f(u8 a, u16 b, u32 c, u64 d, bool e, amount f, address g, "
				  "bytes32 h, bytes i) -> void",
				  &m, err, sizeof(err)) == 0);
	uint8_t who[ADDR_LEN];
	char who_text[ADDR_STR_MAX], word[67] = "0x";
	memset(who, 0xab, sizeof(who));
	address_encode(NET_DEV, who, who_text);
	for (int i = 0; i < 64; i++)
		word[2 + i] = i < 2 ? '0' : 'f';
	word[66] = 0;
	const char *ok[] = {"255",    "0x1234", "4294967295", "18446744073709551615", "true", "1.5",
			    who_text, word,     "bytes:0102"};
	CHECK(contract_abi_encode_args(&m, ok, 9, NET_DEV, &out, err, sizeof(err)) == 0);
	CHECK(out.len == 1 + 2 + 4 + 8 + 1 + 8 + 20 + 32 + 2);
	if (out.len == 78) {
		const uint8_t *d = out.data;
		CHECK(d[0] == 255 && d[1] == 0x34 && d[2] == 0x12);
		CHECK(le32_get(d + 3) == 4294967295u && le64_get(d + 7) == UINT64_MAX && d[15] == 1);
		CHECK(le64_get(d + 16) == 1500000000ull); /* ASY to base units */
		CHECK(memcmp(d + 24, who, 20) == 0 && d[44] == 0 && d[45] == 0xff);
		CHECK(d[76] == 1 && d[77] == 2);
	}
	/* each type refuses what it is not, naming the argument */
	struct {
		int index;
		const char *text, *want;
	} bad[] = {
		{0, "256", "argument 1 (u8 a): '256' is not a whole number 0..255"},
		{1, "-1", "argument 2 (u16 b): '-1' is not"},
		{2, "0x100000000", "argument 3 (u32 c)"},
		{3, "18446744073709551616", "argument 4 (u64 d)"},
		{4, "yes", "argument 5 (bool e): 'yes' is not true or false"},
		{5, "1.0000000001", "argument 6 (amount f)"},
		{6, "alice", "argument 7 (address g): 'alice' is not a bech32m address"},
		{7, "0x12", "argument 8 (bytes32 h)"},
		{8, "0x123", "argument 9 (bytes i)"},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		const char *args[9];
		memcpy(args, ok, sizeof(args));
		args[bad[k].index] = bad[k].text;
		buf_reset(&out);
		CHECK(contract_abi_encode_args(&m, args, 9, NET_DEV, &out, err, sizeof(err)) == ASSAY_EARG);
		if (!strstr(err, bad[k].want))
			fprintf(stderr, "got '%s', want '%s'\n", err, bad[k].want);
		CHECK(strstr(err, bad[k].want) != NULL);
	}
	/* an address of another network; a wrong count */
	char main_text[ADDR_STR_MAX];
	address_encode(NET_MAIN, who, main_text);
	const char *args[9];
	memcpy(args, ok, sizeof(args));
	args[6] = main_text;
	CHECK(contract_abi_encode_args(&m, args, 9, NET_DEV, &out, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, "another network") != NULL);
	CHECK(contract_abi_encode_args(&m, ok, 8, NET_DEV, &out, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strcmp(err, "f takes 9 arguments, not 8") == 0);
	buf_free(&out);
}

static void test_abi_decode(void)
{
	struct vm_abi_method m;
	char err[300];
	json_t *v;
	struct buf text;
	buf_init(&text);
	CHECK(vm_abi_parse_method("status() -> (address buyer, u8 state, amount balance, bool open, "
				  "u64 big, bytes32 id, bytes rest)",
				  &m, err, sizeof(err)) == 0);
	uint8_t ret[20 + 1 + 8 + 1 + 8 + 32 + 3];
	memset(ret, 0x5a, 20);
	ret[20] = 2;
	le64_put(ret + 21, 5000000000ull);
	ret[29] = 1;
	le64_put(ret + 30, UINT64_MAX);
	memset(ret + 38, 0x11, 32);
	ret[70] = 0xde, ret[71] = 0xad, ret[72] = 0x01;
	CHECK(contract_abi_decode(&m, NET_DEV, ret, sizeof(ret), &v, &text, err, sizeof(err)) == 0);
	char buyer[ADDR_STR_MAX];
	address_encode(NET_DEV, ret, buyer);
	CHECK(strcmp(json_string_value(json_object_get(v, "buyer")), buyer) == 0);
	CHECK(json_integer_value(json_object_get(v, "state")) == 2);
	CHECK(json_integer_value(json_object_get(v, "balance")) == 5000000000ll);
	CHECK(strcmp(json_string_value(json_object_get(v, "balance_asy")), "5.000000000") == 0);
	CHECK(json_is_true(json_object_get(v, "open")));
	CHECK(strcmp(json_string_value(json_object_get(v, "big")), "18446744073709551615") == 0);
	CHECK(strlen(json_string_value(json_object_get(v, "id"))) == 64);
	CHECK(strcmp(json_string_value(json_object_get(v, "rest")), "dead01") == 0);
	json_decref(v);
	buf_put_u8(&text, 0);
	char want[200];
	snprintf(want, sizeof(want), "buyer:   %s\nstate:   2\nbalance: 5.000000000 ASY\n", buyer);
	CHECK(strncmp((const char *)text.data, want, strlen(want)) == 0);
	/* the wrong shape: short data, a bool that is neither 0 nor 1 */
	CHECK(contract_abi_decode(&m, NET_DEV, ret, 69, &v, &text, err, sizeof(err)) == ASSAY_EDECODE);
	CHECK(strstr(err, "returned 69 bytes; its ABI says at least 70") != NULL && v == NULL);
	ret[29] = 7;
	CHECK(contract_abi_decode(&m, NET_DEV, ret, sizeof(ret), &v, &text, err, sizeof(err)) ==
	      ASSAY_EDECODE);
	CHECK(strstr(err, "not a bool") != NULL);
	CHECK(vm_abi_parse_method("count() -> u64", &m, err, sizeof(err)) == 0);
	CHECK(contract_abi_decode(&m, NET_DEV, ret, 9, &v, &text, err, sizeof(err)) == ASSAY_EDECODE);
	CHECK(strstr(err, "returned 9 bytes; its ABI says 8") != NULL);
	buf_free(&text);
}

/* --- against a fake node --- */

static struct {
	struct fake_rpc rpc;
	int sim;         /* simulatetransaction: 0 absent, 1 ok, 2 reverts, 3 invalid */
	int sims, sends; /* calls seen */
	struct tx sent;  /* the last transaction sent */
	int have_sent;
	char plain[ADDR_STR_MAX]; /* an address without code */
	char *record_hex;         /* getcode's record: escrow.asm */
	char code_hash[65];
	char query_ret[512]; /* querycontract's return data, hex */
} fake;

static char *fake_reply(const char *method, json_t *params)
{
	json_t *result = NULL, *error = NULL;
	char genesis[2 * HASH_LEN + 1];
	memset(genesis, 'a', 64);
	genesis[64] = 0;
	const char *p0 = json_string_value(json_array_get(params, 0));
	if (strcmp(method, "getchainparams") == 0) {
		result = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "chain",
				   "assay-dev", "network", "dev", "hrp", "dassay", "chain_id", genesis,
				   "block_time_ms", 500, "max_block_txs", 5000, "max_block_bytes", 4194304,
				   "max_tx_bytes", 1048576, "max_block_gas", 100000000, "min_fee", 1000,
				   "gas_price", 1, "max_future_ms", 15000);
	} else if (strcmp(method, "getaccount") == 0) {
		result = json_pack("{s:s, s:i, s:i, s:i}", "address", p0 ? p0 : "", "balance", 1000000000,
				   "nonce", 0, "pending_nonce", 0);
	} else if (strcmp(method, "getcode") == 0) {
		if (p0 && strcmp(p0, fake.plain) == 0)
			error = json_pack("{s:i, s:s}", "code", -5, "message", "not a contract");
		else
			result = json_pack("{s:s, s:s, s:i}", "code_hash", fake.code_hash, "record",
					   fake.record_hex, "balance", 0);
	} else if (strcmp(method, "simulatetransaction") == 0 && fake.sim) {
		fake.sims++;
		result = json_pack("{s:b, s:b, s:s?, s:i, s:i, s:n, s:[]}", "valid", fake.sim != 3, "ok",
				   fake.sim == 1, "error",
				   fake.sim == 1   ? NULL
				   : fake.sim == 2 ? "revert: nope"
						   : "nonce too low",
				   "gas_used", 700, "fee", 1001000, "created", "events");
	} else if (strcmp(method, "sendrawtransaction") == 0) {
		result = fake_rpc_take_tx(p0, &fake.sent, &fake.have_sent);
		fake.sends++;
		if (!result) {
			error = json_pack("{s:i, s:s}", "code", -22, "message", "TX decode failed");
		}
	} else if (strcmp(method, "querycontract") == 0) {
		result = json_pack("{s:b, s:n, s:i, s:s}", "ok", 1, "error", "gas_used", 651, "return",
				   fake.query_ret);
	} else {
		error = json_pack("{s:i, s:s}", "code", -32601, "message", "Method not found");
	}
	return fake_rpc_reply_text(result, error);
}

static void test_against_fake_node(void)
{
	char port[32], auth[64], err[512], escrow_addr[ADDR_STR_MAX], abi_path[600];
	struct buf code;
	buf_init(&code);
	CHECK(contract_load_file(escrow_path, 1, &code, err, sizeof(err)) == 0);
	uint8_t h[HASH_LEN], a[ADDR_LEN];
	vm_code_hash(code.data, code.len, h);
	hex_encode(h, HASH_LEN, fake.code_hash);
	fake.record_hex = malloc(2 * code.len + 3);
	strcpy(fake.record_hex, "01");
	hex_encode(code.data, code.len, fake.record_hex + 2);
	memset(a, 0x01, ADDR_LEN);
	address_encode(NET_DEV, a, fake.plain);
	memset(a, 0x02, ADDR_LEN);
	address_encode(NET_DEV, a, escrow_addr);
	snprintf(abi_path, sizeof(abi_path), "%s/abi.abi.json", tmpdir); /* test_abi_path_and_json's */
	CHECK(fake_rpc_start(&fake.rpc, fake_reply) == 0);
	snprintf(port, sizeof(port), "-rpcport=%u", fake.rpc.port);
	snprintf(auth, sizeof(auth), "-rpcuser=u");
	const char *pw = "-rpcpassword=p", *host = "-rpcconnect=127.0.0.1";
	CHECK(run_cli("wallet", "create", "w", (char *)NULL) == CLI_OK);

	/* A reverting call: the dry run says so, nothing is sent ... */
	fake.sim = 2;
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release",
		      (char *)NULL) == CLI_EFAIL);
	CHECK(fake.sims == 1 && fake.sends == 0);
	/* ... unless --force; an invalid one likewise */
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release",
		      "--force", (char *)NULL) == CLI_OK);
	CHECK(fake.sims == 2 && fake.sends == 1 && fake.have_sent && fake.sent.kind == TX_CALL);
	fake.sim = 3;
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release",
		      (char *)NULL) == CLI_EFAIL);
	CHECK(fake.sends == 1);
	/* a good dry run sends; a node without simulatetransaction is a
	 * refusal too, unless --force */
	fake.sim = 1;
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release",
		      (char *)NULL) == CLI_OK);
	CHECK(fake.sends == 2);
	fake.sim = 0;
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release",
		      (char *)NULL) == CLI_EFAIL);
	CHECK(fake.sends == 2);
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release",
		      "--force", (char *)NULL) == CLI_OK);
	CHECK(fake.sends == 3);
	fake.sim = 1;
	int sims = fake.sims;
	/* a plain account: refused before signing, no dry run needed */
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", fake.plain, "release",
		      (char *)NULL) == CLI_EFAIL);
	CHECK(fake.sims == sims && fake.sends == 3);
	/* the ABI: an unknown method, a wrong count, a bad type, a foreign ABI */
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "relase", "--abi",
		      abi_path, (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release", "1",
		      "--abi", abi_path, (char *)NULL) == CLI_EUSAGE);
	char job_src[600];
	snprintf(job_src, sizeof(job_src), "%s/vm/contracts/job_escrow.asm", SRCDIR);
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "settle", "--abi",
		      job_src, (char *)NULL) == CLI_EUSAGE);
	CHECK(fake.sims == sims && fake.sends == 3);
	/* typed: a checked method goes with its selector only */
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "release",
		      "--abi", abi_path, (char *)NULL) == CLI_OK);
	CHECK(fake.sends == 4);

	/* deploy: typed init calldata, after the dry run */
	fake.sim = 2;
	CHECK(run_cli(host, port, auth, pw, "contract", "deploy", "--from", "w", escrow_path, "--value", "5",
		      "--args", escrow_addr, escrow_addr, "77", (char *)NULL) == CLI_EFAIL);
	CHECK(fake.sends == 4);
	fake.sim = 1;
	CHECK(run_cli(host, port, auth, pw, "contract", "deploy", "--from", "w", escrow_path, "--value", "5",
		      "--args", escrow_addr, "w", "77", (char *)NULL) == CLI_OK);
	CHECK(fake.sends == 5 && fake.have_sent && fake.sent.kind == TX_DEPLOY);
	if (fake.have_sent && fake.sent.kind == TX_DEPLOY) {
		struct vm_deploy_payload p;
		CHECK(vm_deploy_payload_decode(&p, fake.sent.payload, fake.sent.payload_len) == 0);
		CHECK(p.value == 5000000000ull && p.calldata_len == 4 + 20 + 20 + 8);
		CHECK(p.calldata_len == 52 && le32_get(p.calldata) == vm_selector("init") &&
		      memcmp(p.calldata + 4, a, 20) == 0 && le64_get(p.calldata + 44) == 77);
		CHECK(p.code_len == code.len);
	}

	/* query --abi: typed values, or a failure when the data has another shape */
	uint8_t ret[84];
	memset(ret, 0x02, 60);
	le64_put(ret + 60, 1000);
	le64_put(ret + 68, 0);
	le64_put(ret + 76, 5000000000ull);
	hex_encode(ret, sizeof(ret), fake.query_ret);
	CHECK(run_cli(host, port, auth, pw, "contract", "query", escrow_addr, "status", "--abi", abi_path,
		      (char *)NULL) == CLI_OK);
	CHECK(run_cli(host, port, auth, pw, "--json", "contract", "query", escrow_addr, "status", "--abi",
		      abi_path, (char *)NULL) == CLI_OK);
	/* the deploy kept the ABI under its hash: calls and queries of code
	 * that carries that hash find it without --abi */
	char cached[700], hash_hex[65];
	uint8_t abi_hash[32];
	CHECK(vm_abi_code_hash(code.data, code.len, abi_hash) == 0);
	hex_encode(abi_hash, 32, hash_hex);
	snprintf(cached, sizeof(cached), "%s/abi/%s.abi.json", tmpdir, hash_hex);
	struct stat st;
	CHECK(stat(cached, &st) == 0);
	int sends = fake.sends;
	CHECK(run_cli(host, port, auth, pw, "contract", "call", "--from", "w", escrow_addr, "relase",
		      (char *)NULL) == CLI_EUSAGE);
	CHECK(fake.sends == sends);
	hex_encode(ret, 83, fake.query_ret);
	CHECK(run_cli(host, port, auth, pw, "contract", "query", escrow_addr, "status", "--abi", abi_path,
		      (char *)NULL) == CLI_EFAIL);
	CHECK(run_cli(host, port, auth, pw, "contract", "query", escrow_addr, "status", (char *)NULL) ==
	      CLI_EFAIL); /* typed by the cached ABI */
	/* a method the ABI lacks is the node's to answer (untyped) */
	CHECK(run_cli(host, port, auth, pw, "contract", "query", escrow_addr, "nosuch", "--abi", abi_path,
		      (char *)NULL) == CLI_OK);
	/* a cached file that is not the ABI of its name is ignored: untyped */
	char job_bin[600], job_abi[600];
	snprintf(job_bin, sizeof(job_bin), "%s/jobx.bin", tmpdir);
	snprintf(job_abi, sizeof(job_abi), "%s/jobx.abi.json", tmpdir);
	CHECK(run_cli("contract", "build", job_src, "-o", job_bin, (char *)NULL) == CLI_OK);
	CHECK(rename(job_abi, cached) == 0);
	CHECK(run_cli(host, port, auth, pw, "contract", "query", escrow_addr, "status", (char *)NULL) ==
	      CLI_OK);
	CHECK(unlink(cached) == 0);
	CHECK(run_cli(host, port, auth, pw, "contract", "query", escrow_addr, "status", (char *)NULL) ==
	      CLI_OK); /* untyped */
	CHECK(run_cli(host, port, auth, pw, "contract", "query", fake.plain, "status", (char *)NULL) ==
	      CLI_EFAIL);

	fake_rpc_stop(&fake.rpc);
	if (fake.have_sent)
		tx_free(&fake.sent);
	free(fake.record_hex);
	buf_free(&code);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/assay-test-clicontract-%s",
		 base && *base ? base : "/tmp", "XX" "XX" "XX"); /* mkdtemp template */
	if (!mkdtemp(tmpdir))
		return 1;
	setenv("ASSAY_PASSPHRASE", "test-pass", 1);
	setenv("ASSAY_SCRYPT_N", "1024", 1);
	setenv("ASSAY_TESTING", "1", 1);
	RUN(test_record_decode);
	RUN(test_load_file);
	RUN(test_build_and_disasm);
	RUN(test_checks_before_the_node);
	RUN(test_file_arg);
	RUN(test_abi_path_and_json);
	RUN(test_abi_encode);
	RUN(test_abi_decode);
	RUN(test_against_fake_node);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_report("cli_contract");
}
