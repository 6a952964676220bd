/* The contract commands of assay-cli (cli_contract.h, docs/cli.md): build
 * and disasm work offline on files (or fetch code with getcode); deploy and
 * call sign TX_DEPLOY / TX_CALL with the VM library's payload and calldata
 * codecs, check them against the contract's ABI and the node's dry run
 * (cli_submit's pre-flight check) before sending; query runs a read-only method
 * through querycontract and types its result by the ABI. Not for: anything
 * the VM decides (validation and execution live in vm/). */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tx.h"
#include "vm/asm.h"
#include "vm/vm.h"
#include "wallet/amount.h"
#include "wallet/cli.h"
#include "wallet/cli_contract.h"
#include "wallet/keystore.h"
#include "wallet/rpc_client.h"

/* The JSON-RPC error code of getcode for an account without code
 * (docs/rpc.md), which contract call and query tell apart. */
#define RPC_CODE_NOT_FOUND (-5)

/* Event names of the standard contracts (vm/contracts/): a receipt's event
 * starts with the selector of its name, which is all the chain keeps. Each
 * of them carries an amount in base units as its first u64 word, printed as
 * ASY (the ABI files describe methods only, not events). */
static const char *const known_events[] = {
	"Deposited", "Released", "Refunded", "JobFunded", "Paid",
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Appends the whole of path to out (at most CONTRACT_FILE_MAX bytes). */
static int read_file(const char *path, struct buf *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return ASSAY_EIO;
	}
	uint8_t chunk[8192];
	size_t got;
	int rc = 0;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + got > CONTRACT_FILE_MAX) {
			snprintf(err, errlen, "%s is larger than %u bytes", path, CONTRACT_FILE_MAX);
			rc = ASSAY_ELIMIT;
			break;
		}
		buf_put(out, chunk, got);
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		rc = ASSAY_EIO;
	}
	fclose(f);
	if (!rc && out->oom) {
		snprintf(err, errlen, "out of memory");
		rc = ASSAY_ENOMEM;
	}
	return rc;
}

int contract_record_decode(const uint8_t *record, size_t len, const uint8_t **code, size_t *n)
{
	if (len < 2 || record[0] != CONTRACT_CODE_RECORD_V1)
		return ASSAY_EDECODE;
	*code = record + 1;
	*n = len - 1;
	return 0;
}

int contract_load_abi(const char *path, int validate, struct buf *code, struct vm_abi *abi, char *err,
		      size_t errlen)
{
	struct buf raw;
	buf_init(&raw);
	if (abi)
		memset(abi, 0, sizeof(*abi));
	int rc = read_file(path, &raw, err, errlen);
	if (!rc && ends_with(path, ".asm")) {
		buf_put_u8(&raw, 0); /* the assembler takes C text */
		rc = raw.oom ? ASSAY_ENOMEM
			     : vm_asm_assemble_abi((const char *)raw.data, path, code, abi, err, errlen);
	} else if (!rc) {
		buf_put(code, raw.data, raw.len);
		if (validate) {
			char why[160];
			rc = vm_validate(code->data, code->len, why, sizeof(why));
			if (rc)
				snprintf(err, errlen, "%s: invalid contract code: %s", path, why);
		}
	}
	buf_free(&raw);
	if (!rc && code->oom) {
		snprintf(err, errlen, "out of memory");
		rc = ASSAY_ENOMEM;
	}
	return rc;
}

int contract_load_file(const char *path, int validate, struct buf *code, char *err, size_t errlen)
{
	return contract_load_abi(path, validate, code, NULL, err, errlen);
}

/* --- ABI files and typed values (docs/contracts.md §10) --- */

static int abi_declared(const struct vm_abi *abi)
{
	return abi->nmethods > 0 || abi->init_required;
}

int contract_abi_path(const char *code_path, char out[CLI_PATH_MAX])
{
	size_t n = strlen(code_path);
	if (ends_with(code_path, ".asm") || ends_with(code_path, ".bin"))
		n -= 4;
	if (n + sizeof(".abi.json") > CLI_PATH_MAX)
		return ASSAY_ELIMIT;
	snprintf(out, CLI_PATH_MAX, "%.*s.abi.json", (int)n, code_path);
	return 0;
}

static json_t *params_json(const struct vm_abi_param *ps, int n)
{
	json_t *arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "name", ps[i].name, "type",
						     vm_abi_type_name(ps[i].type)));
	return arr;
}

json_t *contract_abi_json(const struct vm_abi *abi)
{
	uint8_t hash[HASH_LEN];
	char hash_hex[2 * HASH_LEN + 1], sig[VM_ABI_SIG_MAX];
	vm_abi_hash(abi, hash);
	hex_encode(hash, HASH_LEN, hash_hex);
	json_t *methods = json_array();
	for (int i = 0; i < abi->nmethods; i++) {
		const struct vm_abi_method *m = &abi->methods[i];
		vm_abi_format_method(m, sig);
		json_array_append_new(methods, json_pack("{s:s,s:s,s:o,s:o}", "signature", sig, "name",
							 m->name, "args", params_json(m->args, m->nargs),
							 "returns", params_json(m->rets, m->nrets)));
	}
	return json_pack("{s:i,s:s,s:b,s:o}", "abi_version", CONTRACT_ABI_VERSION, "abi_hash", hash_hex,
			 "init_required", abi->init_required, "methods", methods);
}

int contract_abi_from_json(const json_t *j, struct vm_abi *abi, char *err, size_t errlen)
{
	memset(abi, 0, sizeof(*abi));
	json_t *version = json_object_get(j, "abi_version");
	json_t *methods = json_object_get(j, "methods");
	json_t *init = json_object_get(j, "init_required");
	if (!json_is_object(j) || !json_is_integer(version) ||
	    json_integer_value(version) != CONTRACT_ABI_VERSION)
		return assay_fail(err, errlen, ASSAY_EINVALID, "not an ABI of version %d",
				  CONTRACT_ABI_VERSION);
	if (!json_is_array(methods) || (init && !json_is_boolean(init)))
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "an ABI has a methods array and a boolean init_required");
	abi->init_required = json_is_true(init);
	for (size_t i = 0; i < json_array_size(methods); i++) {
		json_t *e = json_array_get(methods, i);
		const char *sig = json_string_value(json_object_get(e, "signature"));
		const char *name = json_string_value(json_object_get(e, "name"));
		struct vm_abi_method m;
		char why[160];
		if (!sig)
			return assay_fail(err, errlen, ASSAY_EINVALID, "method %zu has no signature", i + 1);
		if (vm_abi_parse_method(sig, &m, why, sizeof(why)))
			return assay_fail(err, errlen, ASSAY_EINVALID, "method %zu '%s': %s", i + 1, sig,
					  why);
		if (name && strcmp(name, m.name) != 0)
			return assay_fail(err, errlen, ASSAY_EINVALID,
					  "method %zu is named '%s' but its signature says '%s'", i + 1, name,
					  m.name);
		if (vm_abi_add(abi, &m, why, sizeof(why)))
			return assay_fail(err, errlen, ASSAY_EINVALID, "%s", why);
	}
	if (abi->init_required && !vm_abi_find(abi, "init"))
		return assay_fail(err, errlen, ASSAY_EINVALID, "init_required without an init method");
	const char *given = json_string_value(json_object_get(j, "abi_hash"));
	if (given) {
		uint8_t hash[HASH_LEN];
		char hash_hex[2 * HASH_LEN + 1];
		vm_abi_hash(abi, hash);
		hex_encode(hash, HASH_LEN, hash_hex);
		if (strcmp(given, hash_hex) != 0)
			return assay_fail(err, errlen, ASSAY_EINVALID,
					  "abi_hash %s is not the hash of its methods (%s)", given, hash_hex);
	}
	return 0;
}

int contract_abi_read(const char *path, struct vm_abi *abi, char *err, size_t errlen)
{
	if (ends_with(path, ".asm")) {
		struct buf code;
		buf_init(&code);
		int rc = contract_load_abi(path, 1, &code, abi, err, errlen);
		buf_free(&code);
		if (!rc && !abi_declared(abi))
			rc = assay_fail(err, errlen, ASSAY_EINVALID, "%s declares no .abi", path);
		return rc;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		int missing = errno == ENOENT;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return missing ? ASSAY_ENOTFOUND : ASSAY_EIO;
	}
	fclose(f);
	struct buf raw;
	buf_init(&raw);
	int rc = read_file(path, &raw, err, errlen);
	if (!rc && raw.len > CONTRACT_ABI_FILE_MAX)
		rc = assay_fail(err, errlen, ASSAY_ELIMIT, "%s is larger than %u bytes", path,
				CONTRACT_ABI_FILE_MAX);
	json_error_t jerr;
	json_t *j = rc ? NULL : json_loadb((const char *)raw.data, raw.len, 0, &jerr);
	buf_free(&raw);
	if (!rc && !j)
		rc = assay_fail(err, errlen, ASSAY_EINVALID, "%s:%d: %s", path, jerr.line, jerr.text);
	if (!rc) {
		char why[400];
		rc = contract_abi_from_json(j, abi, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "%s: %s", path, why);
	}
	json_decref(j);
	return rc;
}

/* An unsigned integer of at most bits bits: decimal, or 0x and hex digits. */
static int parse_uint(const char *text, int bits, uint64_t *v)
{
	int hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
	const char *digits = hex ? text + 2 : text;
	size_t n = strlen(digits);
	if (n == 0 || strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789") != n)
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(digits, &end, hex ? 16 : 10);
	if (errno || *end || (bits < 64 && x >> bits))
		return -1;
	*v = x;
	return 0;
}

int contract_abi_encode_args(const struct vm_abi_method *m, const char *const *args, int nargs,
			     enum network net, struct buf *out, char *err, size_t errlen)
{
	if (nargs != m->nargs)
		return assay_fail(err, errlen, ASSAY_EARG, "%s takes %d argument%s, not %d", m->name,
				  m->nargs, m->nargs == 1 ? "" : "s", nargs);
	for (int i = 0; i < nargs; i++) {
		const struct vm_abi_param *p = &m->args[i];
		const char *a = args[i], *tname = vm_abi_type_name(p->type);
		uint8_t w[32];
		uint64_t v = 0;
		int bad = 0;
		switch (p->type) {
		case VM_ABI_U8:
		case VM_ABI_U16:
		case VM_ABI_U32:
		case VM_ABI_U64: {
			size_t width = vm_abi_type_width(p->type);
			bad = parse_uint(a, (int)width * 8, &v);
			le64_put(w, v);
			if (!bad)
				buf_put(out, w, width);
			break;
		}
		case VM_ABI_BOOL:
			bad = strcmp(a, "true") && strcmp(a, "false") && strcmp(a, "1") && strcmp(a, "0");
			if (!bad)
				buf_put_u8(out, (uint8_t)(strcmp(a, "true") == 0 || strcmp(a, "1") == 0));
			break;
		case VM_ABI_AMOUNT:
			bad = amount_parse(a, &v) != 0;
			le64_put(w, v);
			if (!bad)
				buf_put(out, w, 8);
			break;
		case VM_ABI_ADDRESS: {
			enum network have;
			bad = address_decode(a, &have, w) != 0;
			if (!bad && have != net)
				return assay_fail(err, errlen, ASSAY_EARG,
						  "argument %d (%s): %s is an address of another network",
						  i + 1, p->name, a);
			if (!bad)
				buf_put(out, w, ADDR_LEN);
			break;
		}
		case VM_ABI_BYTES32:
			bad = strlen(a) != 66 || a[0] != '0' || (a[1] != 'x' && a[1] != 'X') ||
			      hex_decode(a + 2, w, 32) != 32;
			if (!bad)
				buf_put(out, w, 32);
			break;
		case VM_ABI_BYTES: {
			size_t prefix = strlen(VM_CALLDATA_BYTES_PREFIX);
			const char *hex = strncmp(a, VM_CALLDATA_BYTES_PREFIX, prefix) == 0 ? a + prefix
					  : a[0] == '0' && (a[1] == 'x' || a[1] == 'X')     ? a + 2
											    : NULL;
			size_t hn = hex ? strlen(hex) : 0;
			uint8_t *bytes = hex ? malloc(hn / 2 + 1) : NULL;
			if (hex && !bytes)
				return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
			bad = !hex || hn % 2 || hex_decode(hex, bytes, hn / 2 + 1) != (long)(hn / 2);
			if (!bad)
				buf_put(out, bytes, hn / 2);
			free(bytes);
			break;
		}
		}
		if (bad) {
			static const char *const want[VM_ABI_TYPE_COUNT] = {
				[VM_ABI_U8] = "a whole number 0..255",
				[VM_ABI_U16] = "a whole number 0..65535",
				[VM_ABI_U32] = "a whole number 0..4294967295",
				[VM_ABI_U64] = "a whole number (decimal or 0x hex, 64 bits)",
				[VM_ABI_BOOL] = "true or false",
				[VM_ABI_AMOUNT] = "an amount in ASY (at most 9 decimals)",
				[VM_ABI_ADDRESS] = "a bech32m address or a wallet name",
				[VM_ABI_BYTES32] = "0x and 64 hex digits",
				[VM_ABI_BYTES] = "@FILE, bytes:HEX or 0x and an even number of hex digits",
			};
			return assay_fail(err, errlen, ASSAY_EARG, "argument %d (%s %s): '%s' is not %s",
					  i + 1, tname, p->name, a, want[p->type]);
		}
	}
	return out->oom ? assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory") : 0;
}

static void text_line(struct buf *text, int width, const char *name, const char *value, const char *unit)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s:%*s %s%s\n", name, width - (int)strlen(name), "", value,
			 unit);
	if (n > 0)
		buf_put(text, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int contract_abi_decode(const struct vm_abi_method *m, enum network net, const uint8_t *data, size_t n,
			json_t **values, struct buf *text, char *err, size_t errlen)
{
	size_t fixed = 0, at = 0;
	int width = 0, rest = m->nrets && m->rets[m->nrets - 1].type == VM_ABI_BYTES;
	for (int i = 0; i < m->nrets; i++) {
		fixed += vm_abi_type_width(m->rets[i].type);
		if ((int)strlen(m->rets[i].name) > width)
			width = (int)strlen(m->rets[i].name);
	}
	*values = NULL;
	if (rest ? n < fixed : n != fixed)
		return assay_fail(err, errlen, ASSAY_EDECODE, "%s returned %zu bytes; its ABI says %s%zu",
				  m->name, n, rest ? "at least " : "", fixed);
	json_t *obj = json_object();
	for (int i = 0; i < m->nrets; i++) {
		const struct vm_abi_param *p = &m->rets[i];
		size_t w = p->type == VM_ABI_BYTES ? n - at : vm_abi_type_width(p->type);
		const uint8_t *d = data + at;
		char value[2 * 4096 + 64], key[VM_ABI_NAME_MAX + 8];
		const char *unit = "";
		uint64_t v = 0;
		for (size_t k = 0; k < w && k < 8; k++)
			v |= (uint64_t)d[k] << (8 * k);
		at += w;
		switch (p->type) {
		case VM_ABI_BOOL:
			if (v > 1) {
				json_decref(obj);
				return assay_fail(err, errlen, ASSAY_EDECODE, "%s: %s is %llu, not a bool",
						  m->name, p->name, (unsigned long long)v);
			}
			json_object_set_new(obj, p->name, json_boolean(v));
			snprintf(value, sizeof(value), "%s", v ? "true" : "false");
			break;
		case VM_ABI_AMOUNT: {
			char asy[AMOUNT_STR_MAX];
			amount_format(v, asy);
			json_object_set_new(obj, p->name,
					    v > INT64_MAX ? json_string(asy) : json_integer((json_int_t)v));
			snprintf(key, sizeof(key), "%s_asy", p->name);
			json_object_set_new(obj, key, json_string(asy));
			snprintf(value, sizeof(value), "%s", asy);
			unit = " ASY";
			break;
		}
		case VM_ABI_ADDRESS: {
			char addr[ADDR_STR_MAX];
			address_encode(net, d, addr);
			json_object_set_new(obj, p->name, json_string(addr));
			snprintf(value, sizeof(value), "%s", addr);
			break;
		}
		case VM_ABI_BYTES32:
		case VM_ABI_BYTES: {
			size_t shown = w < 4096 ? w : 4096;
			hex_encode(d, shown, value);
			json_object_set_new(obj, p->name, json_string(value));
			if (shown < w)
				snprintf(value + 2 * shown, sizeof(value) - 2 * shown, "... (%zu bytes)", w);
			break;
		}
		default: /* unsigned integers */
			snprintf(value, sizeof(value), "%llu", (unsigned long long)v);
			json_object_set_new(obj, p->name,
					    v > INT64_MAX ? json_string(value) : json_integer((json_int_t)v));
			break;
		}
		text_line(text, width, p->name, value, unit);
	}
	*values = obj;
	return 0;
}

/* --- arguments and options --- */

/* Text that calldata takes as it is: an integer (decimal, or 0x with 1-16
 * hex digits), a 32-byte word (0x + 64 hex digits) or raw bytes (0x + more
 * hex digits, or "bytes:" + hex digits; vm_calldata_build checks them). */
static int is_literal_word(const char *a)
{
	size_t n = strlen(a);
	if (strncmp(a, VM_CALLDATA_BYTES_PREFIX, strlen(VM_CALLDATA_BYTES_PREFIX)) == 0)
		return 1;
	if (n > 2 && a[0] == '0' && (a[1] == 'x' || a[1] == 'X'))
		return strspn(a + 2, "0123456789abcdefABCDEF") == n - 2;
	return n > 0 && strspn(a, "0123456789") == n;
}

int contract_file_arg(const char *path, char **text, char *err, size_t errlen)
{
	struct buf raw;
	buf_init(&raw);
	int rc = read_file(path, &raw, err, errlen);
	if (!rc && raw.len > CONTRACT_ARG_FILE_MAX) {
		snprintf(err, errlen, "%s holds %zu bytes; calldata is at most %u", path, raw.len,
			 CONTRACT_ARG_FILE_MAX);
		rc = ASSAY_ELIMIT;
	}
	size_t prefix = strlen(VM_CALLDATA_BYTES_PREFIX);
	char *t = rc ? NULL : malloc(prefix + 2 * raw.len + 1);
	if (!rc && !t) {
		snprintf(err, errlen, "out of memory");
		rc = ASSAY_ENOMEM;
	}
	if (!rc) {
		memcpy(t, VM_CALLDATA_BYTES_PREFIX, prefix);
		hex_encode(raw.data, raw.len, t + prefix);
		*text = t;
	}
	buf_free(&raw);
	return rc;
}

/* Method arguments for calldata: integers, words and raw bytes pass
 * through; @FILE becomes the file's bytes; addresses must be of the node's
 * network; a wallet name becomes its address. */
struct contract_args {
	const char *argv[CONTRACT_ARGS_MAX];
	char text[CONTRACT_ARGS_MAX][ADDR_STR_MAX]; /* resolved addresses */
	char *file_text[CONTRACT_ARGS_MAX];          /* @FILE as "bytes:HEX" (malloc()ed) */
	int n;
};

static void contract_args_free(struct contract_args *a)
{
	for (int i = 0; i < CONTRACT_ARGS_MAX; i++) {
		free(a->file_text[i]);
		a->file_text[i] = NULL;
	}
}

/* Fills out (release it with contract_args_free, also on failure). */
static int resolve_args(struct cli_ctx *ctx, const struct cli_chain *chain, char **args, int n,
			struct contract_args *out)
{
	memset(out, 0, sizeof(*out));
	if (n > CONTRACT_ARGS_MAX)
		return cli_fail(CLI_EUSAGE, "at most %d method arguments", CONTRACT_ARGS_MAX);
	out->n = n;
	for (int i = 0; i < n; i++) {
		uint8_t addr[ADDR_LEN];
		char err[512];
		if (args[i][0] == '@') {
			int rc = contract_file_arg(args[i] + 1, &out->file_text[i], err, sizeof(err));
			if (rc)
				return cli_fail(rc == ASSAY_ENOMEM ? CLI_EFAIL : CLI_EUSAGE, "argument %d: %s",
						i + 1, err);
			out->argv[i] = out->file_text[i];
			continue;
		}
		if (is_literal_word(args[i])) {
			out->argv[i] = args[i];
			continue;
		}
		if (args[i][0] == '0' && (args[i][1] == 'x' || args[i][1] == 'X'))
			return cli_fail(CLI_EUSAGE,
					"argument %d: '%s' is not hex: an integer is 0x and 1 to 16 hex "
					"digits, a 32-byte word 0x and 64, raw bytes 0x and an even number",
					i + 1, args[i]);
		int rc = cli_resolve_address(ctx, args[i], chain, 1, out->text[i], addr);
		if (rc)
			return rc;
		out->argv[i] = out->text[i];
	}
	return CLI_OK;
}

static int build_calldata(const char *method, const struct contract_args *a, struct buf *out)
{
	char err[200];
	int rc = vm_calldata_build(method, a->argv, a->n, out, err, sizeof(err));
	if (rc == ASSAY_ENOMEM)
		return cli_fail(CLI_EFAIL, "out of memory");
	return rc ? cli_fail(CLI_EUSAGE, "%s", err) : CLI_OK;
}

static int parse_u64_text(const char *text, uint64_t *v)
{
	char *end;
	if (!text || !*text || *text == '-' || *text == '+' || strspn(text, "0123456789") != strlen(text))
		return -1;
	errno = 0;
	unsigned long long x = strtoull(text, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

/* --gas: a whole number above 0; absent gives dflt_gas. */
static int gas_opt(const struct cli_ctx *ctx, uint64_t dflt_gas, uint64_t *gas)
{
	const char *text = cli_opt(ctx, "gas");
	*gas = dflt_gas;
	if (text && (parse_u64_text(text, gas) || *gas == 0))
		return cli_fail(CLI_EUSAGE, "bad --gas '%s': a whole number above 0", text);
	return CLI_OK;
}

/* Fixes the nonce cli_submit will sign with (--nonce, else the sender's
 * pending nonce), so that a deploy's contract address is known before it is
 * sent. text must outlive the submit. */
static int pin_nonce(struct cli_ctx *ctx, const struct cli_chain *chain, const struct keystore_key *key,
		     char text[24], uint64_t *nonce)
{
	const char *given = cli_opt(ctx, "nonce");
	if (given) {
		if (parse_u64_text(given, nonce))
			return cli_fail(CLI_EUSAGE, "bad --nonce '%s': a whole number", given);
		return CLI_OK;
	}
	uint8_t addr[ADDR_LEN];
	char address[ADDR_STR_MAX];
	json_t *account;
	address_from_pubkey(key->info.pubkey, addr);
	address_encode(chain->net, addr, address);
	int rc = cli_rpc(ctx, "getaccount", json_pack("[s]", address), &account);
	if (rc)
		return rc;
	json_t *pending = json_object_get(account, "pending_nonce");
	int bad = !json_is_integer(pending) || json_integer_value(pending) < 0;
	*nonce = bad ? 0 : (uint64_t)json_integer_value(pending);
	json_decref(account);
	if (bad)
		return cli_fail(CLI_EFAIL, "getaccount reply lacks pending_nonce");
	if (ctx->nopts == CLI_MAX_OPTS)
		return cli_fail(CLI_EUSAGE, "too many options (at most %d)", CLI_MAX_OPTS - 1);
	snprintf(text, 24, "%llu", (unsigned long long)*nonce);
	ctx->opt_name[ctx->nopts] = "nonce";
	ctx->opt_value[ctx->nopts] = text;
	ctx->nopts++;
	return CLI_OK;
}

/* --- receipts --- */

/* One receipt event as JSON, with the standard event name and the u64
 * words after the selector when they decode that way. */
static json_t *event_json(json_t *ev, char *line, size_t linelen)
{
	const char *contract = json_string_value(json_object_get(ev, "contract"));
	const char *hex = json_string_value(json_object_get(ev, "data"));
	json_t *j = json_pack("{s:s,s:s}", "contract", contract ? contract : "", "data",
			      hex ? hex : "");
	size_t hn = hex ? strlen(hex) : 0;
	uint8_t *data = malloc(hn / 2 + 1);
	long n = data && hn % 2 == 0 ? hex_decode(hex, data, hn / 2 + 1) : -1;
	const char *name = NULL;
	char sel_text[16] = "", words[512] = "";
	if (n >= 4) {
		uint32_t sel = le32_get(data);
		for (size_t i = 0; i < sizeof(known_events) / sizeof(known_events[0]); i++)
			if (vm_selector(known_events[i]) == sel)
				name = known_events[i];
		snprintf(sel_text, sizeof(sel_text), "0x%08x", sel);
		json_object_set_new(j, "selector", json_string(sel_text));
		if (name)
			json_object_set_new(j, "name", json_string(name));
		if (name && strcmp(name, "JobFunded") == 0 && n == 4 + 8 + HASH_LEN) {
			/* job_escrow's JobFunded: the value, then the id of the job
			 * the contract submitted */
			char job_id[2 * HASH_LEN + 1];
			uint64_t value = le64_get(data + 4);
			hex_encode(data + 12, HASH_LEN, job_id);
			json_object_set_new(j, "words", json_pack("[I]", (json_int_t)value));
			json_object_set_new(j, "job_id", json_string(job_id));
			char asy[AMOUNT_STR_MAX];
			amount_format(value, asy);
			snprintf(words, sizeof(words), " %s ASY job %s", asy, job_id);
		} else if ((n - 4) % 8 == 0) {
			json_t *arr = json_array();
			size_t used = 0;
			for (long k = 4; k < n; k += 8) {
				uint64_t w = le64_get(data + k);
				char asy[AMOUNT_STR_MAX];
				json_array_append_new(arr, json_integer((json_int_t)w));
				if (name && k == 4) /* a standard event's amount */
					amount_format(w, asy);
				else
					snprintf(asy, sizeof(asy), "%llu", (unsigned long long)w);
				if (used < sizeof(words))
					used += (size_t)snprintf(words + used, sizeof(words) - used, " %s%s", asy,
								 name && k == 4 ? " ASY" : "");
			}
			json_object_set_new(j, "words", arr);
		} else {
			snprintf(words, sizeof(words), " %s", hex + 8);
		}
	}
	snprintf(line, linelen, "event %s%s from %s", name ? name : (n >= 4 ? sel_text : hex ? hex : ""),
		 words, contract ? contract : "?");
	free(data);
	return j;
}

/* Prints (or returns as JSON in out) a committed contract transaction:
 * ok/failed, gas used, the error and the events. expect_contract: the
 * locally computed address of a deploy, checked against the receipt.
 * CLI_EFAIL if the transaction failed. */
static int report_receipt(const struct cli_ctx *ctx, const char *txid, json_t *tx,
			  const char *expect_contract, json_t *out)
{
	json_t *result = json_object_get(tx, "result");
	int ok = json_is_true(json_object_get(result, "ok"));
	const char *error = json_string_value(json_object_get(result, "error"));
	const char *created = json_string_value(json_object_get(result, "contract"));
	json_int_t height = json_integer_value(json_object_get(tx, "height"));
	json_int_t gas = json_integer_value(json_object_get(result, "gas_used"));
	json_t *events = json_object_get(result, "events"), *evs = json_array();
	json_object_set_new(out, "height", json_integer(height));
	json_object_set_new(out, "ok", json_boolean(ok));
	json_object_set_new(out, "error", ok ? json_null() : json_string(error ? error : "failed"));
	json_object_set_new(out, "gas_used", json_integer(gas));
	if (!ctx->json) {
		printf("committed at height %lld: %s%s\ngas used: %lld\n", (long long)height,
		       ok ? "ok" : "failed: ", ok ? "" : error ? error : "unknown error",
		       (long long)gas);
	}
	for (size_t i = 0; i < json_array_size(events); i++) {
		char line[1024];
		json_array_append_new(evs, event_json(json_array_get(events, i), line, sizeof(line)));
		if (!ctx->json)
			printf("%s\n", line);
	}
	json_object_set_new(out, "events", evs);
	if (ok && expect_contract && (!created || strcmp(created, expect_contract) != 0)) {
		json_decref(out);
		return cli_fail(CLI_EFAIL, "the receipt names contract %s, computed %s (tx %s)",
				created ? created : "(none)", expect_contract, txid);
	}
	if (ctx->json)
		cli_emit(ctx, out, "%s", "");
	else
		json_decref(out);
	return ok ? CLI_OK : CLI_EFAIL;
}


/* Unlocks --from, signs and sends one contract transaction (deploy: the
 * payload is encoded here, once the nonce and so the address are known;
 * call: call_payload) after the node's dry run (cli_submit's pre-flight
 * check: a doomed one is refused unless --force), then prints its txid
 * and, with --wait, its outcome. abi_hash: hex, or NULL. */
static int send_contract_tx(struct cli_ctx *ctx, const struct cli_chain *chain, uint8_t kind,
			    const struct buf *call_payload, const struct vm_deploy_payload *deploy,
			    uint64_t gas, uint64_t fee, const char *abi_hash)
{
	const char *from = cli_opt(ctx, "from");
	unsigned timeout_s;
	int rc;
	if (!from)
		return cli_fail(CLI_EUSAGE, "contract %s needs --from NAME", ctx->cmd->sub);
	if (!keystore_name_valid(from))
		return cli_fail(CLI_EUSAGE, "bad wallet name '%s'", from);
	if ((rc = cli_seconds_opt(ctx, "timeout", CLI_DEFAULT_WAIT_S, &timeout_s)))
		return rc;
	struct keystore_key key;
	char nonce_text[24], txid[2 * HASH_LEN + 1], contract[ADDR_STR_MAX] = "";
	uint64_t nonce;
	if ((rc = cli_unlock(ctx, from, &key)))
		return rc;
	rc = pin_nonce(ctx, chain, &key, nonce_text, &nonce);
	struct buf payload;
	buf_init(&payload);
	if (!rc && deploy) {
		uint8_t sender[ADDR_LEN], addr[ADDR_LEN];
		address_from_pubkey(key.info.pubkey, sender);
		vm_contract_address(sender, nonce, addr);
		address_encode(chain->net, addr, contract);
		vm_deploy_payload_encode(deploy, &payload);
	} else if (!rc) {
		buf_put(&payload, call_payload->data, call_payload->len);
	}
	if (!rc && payload.oom)
		rc = cli_fail(CLI_EFAIL, "out of memory");
	if (!rc) {
		struct cli_txreq req = {.kind = kind,
					.payload = payload.data,
					.payload_len = payload.len,
					.fee = fee,
					.gas_limit = gas,
					.preflight = 1};
		rc = cli_submit(ctx, chain, &key, &req, txid);
	}
	keystore_key_wipe(&key);
	buf_free(&payload);
	if (rc)
		return rc;
	json_t *out = json_pack("{s:s,s:I,s:I,s:I}", "txid", txid, "nonce", (json_int_t)nonce,
				"fee", (json_int_t)fee, "gas_limit", (json_int_t)gas);
	if (deploy)
		json_object_set_new(out, "contract", json_string(contract));
	if (abi_hash)
		json_object_set_new(out, "abi_hash", json_string(abi_hash));
	if (!ctx->json) {
		if (deploy)
			printf("contract: %s\n", contract);
		if (abi_hash)
			printf("abi hash: %s\n", abi_hash);
		printf("txid:     %s\n", txid);
	}
	if (!cli_flag(ctx, "wait")) {
		if (ctx->json)
			cli_emit(ctx, out, "%s", "");
		else
			json_decref(out);
		return CLI_OK;
	}
	json_t *tx;
	if ((rc = cli_wait_tx(ctx, txid, timeout_s, &tx))) {
		json_decref(out);
		return rc;
	}
	rc = report_receipt(ctx, txid, tx, deploy ? contract : NULL, out);
	json_decref(tx);
	return rc;
}

/* --- the code and ABI at an address --- */

/* getcode's record at address, decoded and checked against the code hash
 * it is stored under, into code. *missing = 1 (and CLI_EFAIL, nothing
 * printed) when the account has no code. res: the reply (new reference),
 * or NULL. */
static int code_at(struct cli_ctx *ctx, const char *address, struct buf *code, int *missing, json_t **reply)
{
	struct rpc_failure f;
	uint8_t want[HASH_LEN];
	json_t *res, *params = json_pack("[s]", address);
	*missing = 0;
	int rc = rpc_client_call(&ctx->rpc, "getcode", params, &res, &f);
	json_decref(params);
	if (rc == ASSAY_EINVALID && f.code == RPC_CODE_NOT_FOUND) { /* no code there */
		*missing = 1;
		return CLI_EFAIL;
	}
	if (rc == ASSAY_EIO)
		return cli_fail(CLI_EUNREACHABLE, "cannot reach the node at %s:%u (%s)", ctx->rpc.host,
				ctx->rpc.port, f.message);
	if (rc)
		return cli_fail(CLI_EFAIL, "getcode: %s (code %lld)", f.message, f.code);
	const char *rec_hex = json_string_value(json_object_get(res, "record"));
	const char *hash_hex = json_string_value(json_object_get(res, "code_hash"));
	size_t hn = rec_hex ? strlen(rec_hex) : 0;
	uint8_t *rec = malloc(hn / 2 + 1);
	const uint8_t *c = NULL;
	size_t n = 0;
	rc = CLI_OK;
	if (!rec)
		rc = cli_fail(CLI_EFAIL, "out of memory");
	else if (!hash_hex || hn % 2 || hex_decode(rec_hex, rec, hn / 2 + 1) != (long)(hn / 2) ||
		 hex_decode(hash_hex, want, HASH_LEN) != HASH_LEN)
		rc = cli_fail(CLI_EFAIL, "getcode reply lacks a hex record or code_hash");
	else if (contract_record_decode(rec, hn / 2, &c, &n))
		rc = cli_fail(CLI_EFAIL, "the code record at %s has an unknown version or is empty", address);
	if (!rc) {
		uint8_t have[HASH_LEN];
		vm_code_hash(c, n, have);
		if (memcmp(have, want, HASH_LEN) != 0)
			rc = cli_fail(CLI_EFAIL, "the code at %s does not match its code hash", address);
		else
			buf_put(code, c, n);
	}
	free(rec);
	if (reply && !rc)
		*reply = res;
	else
		json_decref(res);
	return rc;
}

/* Checks abi (read from where) against the ABI hash code carries, if any:
 * a different one is a usage error; code without one takes it unchecked. */
static int abi_matches_code(const struct vm_abi *abi, const uint8_t *code, size_t n, const char *where)
{
	uint8_t carried[HASH_LEN], have[HASH_LEN];
	if (vm_abi_code_hash(code, n, carried) != 0)
		return CLI_OK;
	vm_abi_hash(abi, have);
	if (memcmp(carried, have, HASH_LEN) == 0)
		return CLI_OK;
	char c_hex[2 * HASH_LEN + 1], h_hex[2 * HASH_LEN + 1];
	hex_encode(carried, HASH_LEN, c_hex);
	hex_encode(have, HASH_LEN, h_hex);
	return cli_fail(CLI_EUSAGE, "the ABI of %s (hash %s) is not the one the code carries (%s)", where,
			h_hex, c_hex);
}

/* --abi FILE: *have = 1 and abi filled, after checking it against code. */
static int abi_opt(const struct cli_ctx *ctx, const uint8_t *code, size_t n, struct vm_abi *abi, int *have)
{
	const char *path = cli_opt(ctx, "abi");
	char err[600];
	*have = 0;
	if (!path)
		return CLI_OK;
	int rc = contract_abi_read(path, abi, err, sizeof(err));
	if (rc)
		return cli_fail(rc == ASSAY_ENOMEM ? CLI_EFAIL : CLI_EUSAGE, "--abi: %s", err);
	*have = 1;
	return abi_matches_code(abi, code, n, path);
}

/* DATADIR/abi/HASH.abi.json: ABIs by their hash, kept by deploy (and by a
 * call or query whose --abi matched the code) so that later commands find
 * the ABI of code that carries HASH without --abi. Content-addressed: a
 * file is used only if its ABI hashes to its name. */
static int abi_cache_path(const struct cli_ctx *ctx, const uint8_t hash[HASH_LEN], char out[CLI_PATH_MAX])
{
	char hex[2 * HASH_LEN + 1];
	hex_encode(hash, HASH_LEN, hex);
	int n = snprintf(out, CLI_PATH_MAX, "%s/abi/%s.abi.json", ctx->datadir, hex);
	return n > 0 && n < CLI_PATH_MAX ? 0 : ASSAY_ELIMIT;
}

/* Keeps abi in the cache; a failure only warns (the command goes on). */
static void abi_cache_put(const struct cli_ctx *ctx, const struct vm_abi *abi)
{
	char path[CLI_PATH_MAX], tmp[CLI_PATH_MAX + 8], dir[CLI_PATH_MAX];
	uint8_t hash[HASH_LEN];
	vm_abi_hash(abi, hash);
	if (abi_cache_path(ctx, hash, path) || snprintf(tmp, sizeof(tmp), "%s.tmp", path) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/abi", ctx->datadir);
	struct stat st;
	if (stat(path, &st) == 0)
		return;
	json_t *doc = contract_abi_json(abi);
	int bad = !doc || (mkdir(ctx->datadir, 0700) != 0 && errno != EEXIST) ||
		  (mkdir(dir, 0700) != 0 && errno != EEXIST) ||
		  json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
		  rename(tmp, path) != 0;
	json_decref(doc);
	if (bad) {
		fprintf(stderr, "warning: could not keep the ABI in %s: %s\n", dir, strerror(errno));
		remove(tmp);
	}
}

/* The cached ABI of code that carries an ABI hash: *have = 1 when found. */
static void abi_cache_get(const struct cli_ctx *ctx, const uint8_t *code, size_t n, struct vm_abi *abi,
			  int *have)
{
	char path[CLI_PATH_MAX], err[600];
	uint8_t carried[HASH_LEN], got[HASH_LEN];
	*have = 0;
	if (vm_abi_code_hash(code, n, carried) != 0 || abi_cache_path(ctx, carried, path) != 0)
		return;
	int rc = contract_abi_read(path, abi, err, sizeof(err));
	if (rc == 0) {
		vm_abi_hash(abi, got);
		*have = memcmp(got, carried, HASH_LEN) == 0;
	}
	if (rc != 0 && rc != ASSAY_ENOTFOUND)
		fprintf(stderr, "warning: ignoring the cached ABI %s: %s\n", path, err);
	else if (rc == 0 && !*have)
		fprintf(stderr, "warning: ignoring the cached ABI %s: it is not the ABI of that hash\n",
			path);
}

/* The names of abi's methods, for an error message. */
static void method_list(const struct vm_abi *abi, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = 0;
	for (int i = 0; i < abi->nmethods && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", abi->methods[i].name);
}

/* The method of abi that a call or query names, checked against the
 * argument count. NULL (and *rc set) when refused; with --force, and for a
 * query (which costs nothing: the node answers), a method the ABI lacks or
 * a count it does not match gives NULL and CLI_OK: the arguments then go
 * untyped. */
static const struct vm_abi_method *abi_method_for(const struct cli_ctx *ctx, const struct vm_abi *abi,
						  const char *method, int nargs, int *rc)
{
	const struct vm_abi_method *m = vm_abi_find(abi, method);
	char sig[VM_ABI_SIG_MAX], names[1024];
	int is_call = strcmp(ctx->cmd->sub, "call") == 0, force = !is_call || cli_flag(ctx, "force");
	*rc = CLI_OK;
	if (!m) {
		method_list(abi, names, sizeof(names));
		if (!force)
			*rc = cli_fail(CLI_EUSAGE, "the contract's ABI has no method '%s' (it has: %s)%s",
				       method, names, is_call ? "; --force sends it anyway" : "");
		return NULL;
	}
	if (m->nargs != nargs) {
		vm_abi_format_method(m, sig);
		if (!force)
			*rc = cli_fail(CLI_EUSAGE, "%s takes %d argument%s, not %d: %s", method, m->nargs,
				       m->nargs == 1 ? "" : "s", nargs, sig);
		return NULL;
	}
	return m;
}

/* Typed arguments: wallet names become addresses where the type is an
 * address, @FILE the file's bytes where it is bytes; the rest as typed. */
static int resolve_typed(struct cli_ctx *ctx, const struct cli_chain *chain, const struct vm_abi_method *m,
			 char **args, int n, struct contract_args *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	for (int i = 0; i < n && i < CONTRACT_ARGS_MAX; i++) {
		char err[512];
		uint8_t addr[ADDR_LEN];
		out->argv[i] = args[i];
		if (m->args[i].type == VM_ABI_ADDRESS) {
			int rc = cli_resolve_address(ctx, args[i], chain, 1, out->text[i], addr);
			if (rc)
				return rc;
			out->argv[i] = out->text[i];
		} else if (m->args[i].type == VM_ABI_BYTES && args[i][0] == '@') {
			int rc = contract_file_arg(args[i] + 1, &out->file_text[i], err, sizeof(err));
			if (rc)
				return cli_fail(rc == ASSAY_ENOMEM ? CLI_EFAIL : CLI_EUSAGE,
						"argument %d: %s", i + 1, err);
			out->argv[i] = out->file_text[i];
		}
	}
	return CLI_OK;
}

/* Calldata of a typed call: selector || packed arguments. args_only: only
 * the arguments (what querycontract takes after the method name). */
static int typed_calldata(struct cli_ctx *ctx, const struct cli_chain *chain, const struct vm_abi_method *m,
			  char **args, int n, int args_only, struct buf *out)
{
	struct contract_args a;
	char err[512];
	int rc = resolve_typed(ctx, chain, m, args, n, &a);
	if (!rc && !args_only)
		rc = build_calldata(m->name, &(struct contract_args){.n = 0}, out);
	if (!rc) {
		int e = contract_abi_encode_args(m, a.argv, a.n, chain->net, out, err, sizeof(err));
		if (e)
			rc = cli_fail(e == ASSAY_ENOMEM ? CLI_EFAIL : CLI_EUSAGE, "%s", err);
	}
	contract_args_free(&a);
	return rc;
}

/* --- handlers --- */

int cli_contract_build(struct cli_ctx *ctx)
{
	const char *src = ctx->args[0], *dst = cli_opt(ctx, "o");
	char err[512], derived[CLI_PATH_MAX], abi_path[CLI_PATH_MAX], hash_hex[2 * HASH_LEN + 1];
	if (!dst)
		dst = cli_opt(ctx, "out");
	if (!dst) {
		size_t n = strlen(src);
		if (ends_with(src, ".asm"))
			n -= 4;
		if (n + 5 > sizeof(derived))
			return cli_fail(CLI_EUSAGE, "path too long: %s", src);
		snprintf(derived, sizeof(derived), "%.*s.bin", (int)n, src);
		dst = derived;
	}
	if (!ends_with(src, ".asm"))
		return cli_fail(CLI_EUSAGE, "contract build takes an assembler file ending in .asm");
	if (contract_abi_path(dst, abi_path))
		return cli_fail(CLI_EUSAGE, "path too long: %s", dst);
	struct vm_abi *abi = calloc(1, sizeof(*abi));
	if (!abi)
		return cli_fail(CLI_EFAIL, "out of memory");
	struct buf code;
	buf_init(&code);
	int rc = contract_load_abi(src, 1, &code, abi, err, sizeof(err));
	if (rc) {
		rc = cli_fail(CLI_EFAIL, "%s", err);
		goto out;
	}
	FILE *f = fopen(dst, "wb");
	int bad = !f || fwrite(code.data, 1, code.len, f) != code.len;
	if (f && fclose(f) != 0)
		bad = 1;
	if (bad) {
		rc = cli_fail(CLI_EFAIL, "cannot write %s: %s", dst, strerror(errno));
		goto out;
	}
	uint8_t hash[HASH_LEN];
	vm_code_hash(code.data, code.len, hash);
	hex_encode(hash, HASH_LEN, hash_hex);
	json_t *res =
		json_pack("{s:s,s:I,s:s}", "file", dst, "bytes", (json_int_t)code.len, "code_hash", hash_hex);
	char abi_line[CLI_PATH_MAX + 200] = "";
	if (abi_declared(abi)) {
		json_t *doc = contract_abi_json(abi);
		if (!doc || json_dump_file(doc, abi_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
			json_decref(doc);
			json_decref(res);
			rc = cli_fail(CLI_EFAIL, "cannot write %s", abi_path);
			goto out;
		}
		const char *abi_hash = json_string_value(json_object_get(doc, "abi_hash"));
		json_object_set_new(res, "abi", json_string(abi_path));
		json_object_set_new(res, "abi_hash", json_string(abi_hash));
		snprintf(abi_line, sizeof(abi_line), "wrote %s (%d methods)\nabi hash:  %s\n", abi_path,
			 abi->nmethods, abi_hash);
		json_decref(doc);
	}
	cli_emit(ctx, res, "wrote %s (%zu bytes)\ncode hash: %s\n%s", dst, code.len, hash_hex, abi_line);
out:
	free(abi);
	buf_free(&code);
	return rc;
}

/* The ABI of a file to deploy: an .asm file's own; for bytecode --abi FILE
 * or FILE.abi.json beside it, checked against the hash the code carries.
 * Code that carries an ABI hash with no ABI found is refused unless --force. */
static int deploy_abi(const struct cli_ctx *ctx, const char *path, const struct buf *code, struct vm_abi *abi,
		      int *have)
{
	char beside[CLI_PATH_MAX], err[600];
	uint8_t carried[HASH_LEN];
	if (ends_with(path, ".asm")) {
		*have = abi_declared(abi);
		return CLI_OK;
	}
	int rc = abi_opt(ctx, code->data, code->len, abi, have);
	if (rc || *have)
		return rc;
	if (contract_abi_path(path, beside) == 0) {
		rc = contract_abi_read(beside, abi, err, sizeof(err));
		if (rc == 0) {
			*have = 1;
			return abi_matches_code(abi, code->data, code->len, beside);
		}
		if (rc != ASSAY_ENOTFOUND)
			return cli_fail(rc == ASSAY_ENOMEM ? CLI_EFAIL : CLI_EUSAGE, "%s", err);
	}
	if (vm_abi_code_hash(code->data, code->len, carried) == 0 && !cli_flag(ctx, "force"))
		return cli_fail(CLI_EUSAGE,
				"%s carries an ABI hash but no ABI was found (%s, or --abi FILE); "
				"--force deploys it unchecked",
				path, beside);
	return CLI_OK;
}

int cli_contract_deploy(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	struct contract_args args;
	uint64_t gas, fee, value;
	char err[512], sig[VM_ABI_SIG_MAX], abi_hash[2 * HASH_LEN + 1];
	int rc, have_abi = 0, with_init = cli_flag(ctx, "args"), force = cli_flag(ctx, "force");
	if (ctx->nargs > 1 && !with_init)
		return cli_fail(CLI_EUSAGE, "init arguments follow --args: contract deploy --from NAME "
				"FILE --args ARG...");
	if ((rc = cli_amount_opt(ctx, "value", 0, &value)) ||
	    (rc = gas_opt(ctx, CONTRACT_DEPLOY_GAS, &gas)))
		return rc;
	struct vm_abi *abi = calloc(1, sizeof(*abi));
	if (!abi)
		return cli_fail(CLI_EFAIL, "out of memory");
	struct buf code, calldata;
	buf_init(&code);
	buf_init(&calldata);
	memset(&args, 0, sizeof(args));
	rc = contract_load_abi(ctx->args[0], !cli_flag(ctx, "no-validate"), &code, abi, err, sizeof(err));
	if (rc) {
		rc = cli_fail(CLI_EFAIL, "%s", err);
		goto out;
	}
	if ((rc = deploy_abi(ctx, ctx->args[0], &code, abi, &have_abi)))
		goto out;
	if (!cli_opt(ctx, "gas") && vm_deploy_base_gas(code.len) + CONTRACT_CALL_GAS > gas)
		gas = vm_deploy_base_gas(code.len) + CONTRACT_CALL_GAS; /* large code: its bytes and an init */
	/* The ABI decides before the node is asked: a contract that declares
	 * .init is never deployed without its init call (its value would be
	 * locked in code that no method can release). */
	const struct vm_abi_method *init = have_abi ? vm_abi_find(abi, "init") : NULL;
	int nargs = ctx->nargs - 1;
	if (init) {
		vm_abi_format_method(init, sig);
		if (!with_init && init->nargs > 0 && abi->init_required && !force) {
			rc = cli_fail(CLI_EUSAGE,
				      "%s must be deployed with its init call: %s; give its arguments "
				      "after --args (nothing was sent)",
				      ctx->args[0], sig);
			goto out;
		}
		if (with_init && nargs != init->nargs && !force) {
			rc = cli_fail(CLI_EUSAGE, "init takes %d argument%s, not %d: %s", init->nargs,
				      init->nargs == 1 ? "" : "s", nargs, sig);
			goto out;
		}
	} else if (have_abi && with_init && !force) {
		rc = cli_fail(CLI_EUSAGE, "the contract's ABI has no init method; --force sends --args "
					  "anyway");
		goto out;
	}
	if ((rc = cli_get_chain(ctx, &chain)) || (rc = cli_fee_opt(ctx, &chain, gas, CLI_FEE_FLOOR, &fee)))
		goto out;
	if (init && (with_init ? nargs == init->nargs : init->nargs == 0 && abi->init_required))
		rc = typed_calldata(ctx, &chain, init, ctx->args + 1, nargs, 0, &calldata);
	else if (with_init && !(rc = resolve_args(ctx, &chain, ctx->args + 1, nargs, &args)))
		rc = build_calldata("init", &args, &calldata);
	contract_args_free(&args);
	if (rc)
		goto out;
	if (have_abi) {
		uint8_t h[HASH_LEN];
		vm_abi_hash(abi, h);
		hex_encode(h, HASH_LEN, abi_hash);
	}
	struct vm_deploy_payload p = {.code = code.data,
				      .code_len = code.len,
				      .value = value,
				      .calldata = calldata.data,
				      .calldata_len = calldata.len};
	rc = send_contract_tx(ctx, &chain, TX_DEPLOY, NULL, &p, gas, fee, have_abi ? abi_hash : NULL);
	if (have_abi && vm_abi_code_hash(code.data, code.len, (uint8_t[HASH_LEN]){0}) == 0 &&
	    (rc == CLI_OK || rc == CLI_ETIMEOUT))
		abi_cache_put(ctx, abi); /* sent: later calls and queries find it */
out:
	contract_args_free(&args);
	free(abi);
	buf_free(&code);
	buf_free(&calldata);
	return rc;
}

/* What a call or query checks before it signs or asks: that ADDRESS holds
 * code (a call to a plain account only spends its fee), and the method and
 * arguments against --abi; *m is the ABI's method, or NULL to go untyped. */
static int check_target(struct cli_ctx *ctx, const char *address, const char *method, int nargs,
			struct vm_abi *abi, const struct vm_abi_method **m)
{
	struct buf code;
	int missing, have = 0, rc;
	buf_init(&code);
	*m = NULL;
	rc = code_at(ctx, address, &code, &missing, NULL);
	if (missing && strcmp(ctx->cmd->sub, "call") != 0)
		rc = cli_fail(CLI_EFAIL, "%s is not a contract", address);
	else if (missing && !cli_flag(ctx, "force"))
		rc = cli_fail(CLI_EFAIL,
			      "refused: %s is not a contract (no code): a call would only "
			      "spend its fee; nothing was sent (--force sends it anyway)",
			      address);
	else if (missing)
		rc = CLI_OK;
	if (!rc && !missing)
		rc = abi_opt(ctx, code.data, code.len, abi, &have);
	if (!rc && !missing && have && vm_abi_code_hash(code.data, code.len, (uint8_t[HASH_LEN]){0}) == 0)
		abi_cache_put(ctx, abi); /* --abi matched the code's hash */
	else if (!rc && !missing && !have)
		abi_cache_get(ctx, code.data, code.len, abi, &have);
	if (!rc && !missing && have)
		*m = abi_method_for(ctx, abi, method, nargs, &rc);
	buf_free(&code);
	return rc;
}

int cli_contract_call(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	struct contract_args args;
	struct vm_call_payload p;
	const struct vm_abi_method *m = NULL;
	char address[ADDR_STR_MAX];
	uint64_t gas, fee;
	int rc, nargs = ctx->nargs - 2;
	memset(&args, 0, sizeof(args));
	struct vm_abi *abi = calloc(1, sizeof(*abi));
	if (!abi)
		return cli_fail(CLI_EFAIL, "out of memory");
	struct buf calldata, payload;
	buf_init(&calldata);
	buf_init(&payload);
	if ((rc = cli_amount_opt(ctx, "value", 0, &p.value)) ||
	    (rc = gas_opt(ctx, CONTRACT_CALL_GAS, &gas)) || (rc = cli_get_chain(ctx, &chain)) ||
	    (rc = cli_fee_opt(ctx, &chain, gas, CLI_FEE_FLOOR, &fee)) ||
	    (rc = cli_resolve_address(ctx, ctx->args[0], &chain, 0, address, p.to)) ||
	    (rc = check_target(ctx, address, ctx->args[1], nargs, abi, &m)))
		goto out;
	if (m)
		rc = typed_calldata(ctx, &chain, m, ctx->args + 2, nargs, 0, &calldata);
	else if (!(rc = resolve_args(ctx, &chain, ctx->args + 2, nargs, &args)))
		rc = build_calldata(ctx->args[1], &args, &calldata);
	if (!rc) {
		p.calldata = calldata.data;
		p.calldata_len = calldata.len;
		vm_call_payload_encode(&p, &payload);
		rc = payload.oom ? cli_fail(CLI_EFAIL, "out of memory")
				 : send_contract_tx(ctx, &chain, TX_CALL, &payload, NULL, gas, fee, NULL);
	}
out:
	contract_args_free(&args);
	free(abi);
	buf_free(&calldata);
	buf_free(&payload);
	return rc;
}

/* Prints a successful query's return data typed by m (or in JSON adds
 * "method" and "values" to res). CLI_EFAIL when it is not of m's shape. */
static int print_typed(const struct cli_ctx *ctx, const struct cli_chain *chain,
		       const struct vm_abi_method *m, json_t *res)
{
	const char *ret = json_string_value(json_object_get(res, "return"));
	size_t hn = ret ? strlen(ret) : 0;
	uint8_t *data = malloc(hn / 2 + 1);
	char err[300], sig[VM_ABI_SIG_MAX];
	json_t *values = NULL;
	struct buf text;
	buf_init(&text);
	int rc = CLI_OK;
	if (!data || hn % 2 || hex_decode(ret ? ret : "", data, hn / 2 + 1) != (long)(hn / 2))
		rc = cli_fail(CLI_EFAIL, "querycontract reply lacks hex return data");
	else if (contract_abi_decode(m, chain->net, data, hn / 2, &values, &text, err, sizeof(err)))
		rc = cli_fail(CLI_EFAIL, "%s", err);
	free(data);
	vm_abi_format_method(m, sig);
	if (!rc && ctx->json) {
		json_object_set_new(res, "method", json_string(sig));
		json_object_set_new(res, "values", values);
		cli_emit(ctx, json_incref(res), "%s", "");
	} else if (!rc) {
		json_decref(values);
		buf_put_u8(&text, 0);
		printf("%s%s", text.oom ? "" : (const char *)text.data,
		       m->nrets ? "" : "(returns nothing)\n");
		printf("gas used: %lld\n", (long long)json_integer_value(json_object_get(res, "gas_used")));
	}
	buf_free(&text);
	return rc;
}

int cli_contract_query(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	struct contract_args args;
	const struct vm_abi_method *m = NULL;
	char address[ADDR_STR_MAX];
	uint8_t to[ADDR_LEN];
	json_t *res, *params = NULL;
	int rc, nargs = ctx->nargs - 2;
	memset(&args, 0, sizeof(args));
	struct vm_abi *abi = calloc(1, sizeof(*abi));
	if (!abi)
		return cli_fail(CLI_EFAIL, "out of memory");
	struct buf calldata;
	buf_init(&calldata);
	if ((rc = cli_get_chain(ctx, &chain)) ||
	    (rc = cli_resolve_address(ctx, ctx->args[0], &chain, 0, address, to)))
		goto out;
	if ((rc = check_target(ctx, address, ctx->args[1], nargs, abi, &m)))
		goto out;
	if (m) {
		/* typed: the packed arguments go as one raw-bytes argument */
		rc = typed_calldata(ctx, &chain, m, ctx->args + 2, nargs, 1, &calldata);
		char *hex = rc ? NULL : malloc(strlen(VM_CALLDATA_BYTES_PREFIX) + 2 * calldata.len + 1);
		if (!rc && !hex)
			rc = cli_fail(CLI_EFAIL, "out of memory");
		if (!rc) {
			strcpy(hex, VM_CALLDATA_BYTES_PREFIX);
			hex_encode(calldata.data, calldata.len, hex + strlen(VM_CALLDATA_BYTES_PREFIX));
			params = nargs ? json_pack("[s,s,s]", address, m->name, hex)
				       : json_pack("[s,s]", address, m->name);
		}
		free(hex);
	} else if (!(rc = resolve_args(ctx, &chain, ctx->args + 2, nargs, &args))) {
		/* The calldata is built here too, so that a bad argument is a
		 * usage error with the same message whether or not a node is asked. */
		rc = build_calldata(ctx->args[1], &args, &calldata);
		params = rc ? NULL : json_pack("[s,s]", address, ctx->args[1]);
		for (int i = 0; params && i < args.n; i++)
			json_array_append_new(params, json_string(args.argv[i]));
	}
	if (rc || (rc = cli_rpc(ctx, "querycontract", params, &res)))
		goto out;
	int ok = json_is_true(json_object_get(res, "ok"));
	const char *error = json_string_value(json_object_get(res, "error"));
	const char *ret = json_string_value(json_object_get(res, "return"));
	json_int_t gas = json_integer_value(json_object_get(res, "gas_used"));
	json_t *words = json_object_get(res, "words");
	if (ok && m) {
		rc = print_typed(ctx, &chain, m, res);
	} else if (ctx->json) {
		cli_emit(ctx, json_incref(res), "%s", "");
		rc = ok ? CLI_OK : CLI_EFAIL;
	} else if (!ok) {
		rc = cli_fail(CLI_EFAIL, "query failed: %s (gas used %lld)",
			      error ? error : "unknown error", (long long)gas);
	} else {
		printf("return:   %s\n", ret && *ret ? ret : "(empty)");
		if (json_array_size(words)) {
			printf("words:   ");
			for (size_t i = 0; i < json_array_size(words); i++)
				printf(" %llu",
				       (unsigned long long)json_integer_value(json_array_get(words, i)));
			printf("\n");
		}
		printf("gas used: %lld\n", (long long)gas);
	}
	json_decref(res);
out:
	contract_args_free(&args);
	free(abi);
	buf_free(&calldata);
	return rc;
}

/* The code at an address (for disasm), with its address and balance in out. */
static int fetch_code(struct cli_ctx *ctx, const char *text, struct buf *code, json_t *out)
{
	struct cli_chain chain;
	char address[ADDR_STR_MAX];
	uint8_t addr[ADDR_LEN];
	json_t *res;
	int missing, rc;
	if ((rc = cli_get_chain(ctx, &chain)) ||
	    (rc = cli_resolve_address(ctx, text, &chain, 0, address, addr)))
		return rc;
	rc = code_at(ctx, address, code, &missing, &res);
	if (missing)
		return cli_fail(CLI_EFAIL, "%s is not a contract", address);
	if (rc)
		return rc;
	json_object_set_new(out, "address", json_string(address));
	json_object_set(out, "balance", json_object_get(res, "balance"));
	json_decref(res);
	return CLI_OK;
}

int cli_contract_disasm(struct cli_ctx *ctx)
{
	const char *what = ctx->args[0];
	enum network net;
	uint8_t addr[ADDR_LEN];
	char err[512];
	struct buf code, text;
	json_t *out = json_object();
	buf_init(&code);
	buf_init(&text);
	int rc;
	if (address_decode(what, &net, addr) == 0) {
		rc = fetch_code(ctx, what, &code, out);
	} else {
		rc = contract_load_file(what, 1, &code, err, sizeof(err));
		if (rc)
			rc = cli_fail(CLI_EFAIL, "%s", err);
		else
			json_object_set_new(out, "file", json_string(what));
	}
	if (!rc && vm_disasm(code.data, code.len, &text, err, sizeof(err)) != 0)
		rc = cli_fail(CLI_EFAIL, "cannot disassemble: %s", err);
	if (!rc && text.oom)
		rc = cli_fail(CLI_EFAIL, "out of memory");
	if (!rc) {
		uint8_t hash[HASH_LEN];
		char hash_hex[2 * HASH_LEN + 1];
		buf_put_u8(&text, 0);
		vm_code_hash(code.data, code.len, hash);
		hex_encode(hash, HASH_LEN, hash_hex);
		json_object_set_new(out, "bytes", json_integer((json_int_t)code.len));
		json_object_set_new(out, "code_hash", json_string(hash_hex));
		json_object_set_new(out, "text", json_string((const char *)text.data));
		cli_emit(ctx, json_incref(out), "; %zu bytes, code hash %s\n%s", code.len, hash_hex,
			 (const char *)text.data);
	}
	json_decref(out);
	buf_free(&code);
	buf_free(&text);
	return rc;
}


const struct cli_optdef cli_contract_build_opts[] = {
	{"o", 1}, {"out", 1}, {NULL, 0},
};

const struct cli_optdef cli_contract_deploy_opts[] = {
	{"from", 1},    {"args", 0},  {"value", 1},       {"gas", 1}, {"fee", 1},   {"wait", 0},
	{"timeout", 1}, {"nonce", 1}, {"no-validate", 0}, {"abi", 1}, {"force", 0}, {NULL, 0},
};

const struct cli_optdef cli_contract_call_opts[] = {
	{"from", 1},    {"value", 1}, {"gas", 1}, {"fee", 1},   {"wait", 0},
	{"timeout", 1}, {"nonce", 1}, {"abi", 1}, {"force", 0}, {NULL, 0},
};

const struct cli_optdef cli_contract_query_opts[] = {
	{"abi", 1},
	{NULL, 0},
};
