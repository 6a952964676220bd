/* Unit tests for assay-cli's contract group: fee arithmetic, loading .asm
 * and .bin files (assembler errors as file:line:column, validation), the
 * code record decoder, @FILE arguments, and whole commands that need no node (build, disasm
 * of a file, and the checks deploy and call make before they contact one).
 * Not for: commands against a node (tests/functional/contract_*.py). */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
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
	char *argv[40];
	int argc = 0;
	va_list ap;
	char datadir[300];
	snprintf(datadir, sizeof(datadir), "-datadir=%s", tmpdir); /* no stray assay.conf */
	argv[argc++] = strdup("assay-cli");
	argv[argc++] = strdup(datadir);
	va_start(ap, first);
	for (const char *s = first; s && argc < 39; s = va_arg(ap, const char *))
		argv[argc++] = strdup(s);
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	int rc = cli_main(argc, argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
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
	/* Everything local is fine: now the missing node is what fails. */
	CHECK(run_cli("-rpcconnect=127.0.0.1", port, "contract", "deploy", "--from", "w",
		      escrow_path, "--gas", "100", "--fee", "0.000001100", (char *)NULL) == CLI_EUNREACHABLE);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/assay-test-clicontract-%s",
		 base && *base ? base : "/tmp", "XX" "XX" "XX"); /* mkdtemp template */
	if (!mkdtemp(tmpdir))
		return 1;
	setenv("ASSAY_PASSPHRASE", "test-pass", 1);
	RUN(test_record_decode);
	RUN(test_load_file);
	RUN(test_build_and_disasm);
	RUN(test_checks_before_the_node);
	RUN(test_file_arg);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_report("cli_contract");
}
