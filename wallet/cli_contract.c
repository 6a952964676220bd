/* The contract commands of assay-cli (cli_contract.h, docs/cli.md): build
 * and disasm work offline on files (or fetch code with getcode); deploy and
 * call sign TX_DEPLOY / TX_CALL with the VM library's payload and calldata
 * codecs; query runs a read-only method through querycontract. Not for:
 * anything the VM decides (validation and execution live in vm/). */
#include <errno.h>
#include <stdio.h>
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

/* Event names of the standard contracts (vm/contracts/): a receipt's event
 * starts with the selector of its name, which is all the chain keeps. */
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

int contract_load_file(const char *path, int validate, struct buf *code, char *err, size_t errlen)
{
	struct buf raw;
	buf_init(&raw);
	int rc = read_file(path, &raw, err, errlen);
	if (!rc && ends_with(path, ".asm")) {
		buf_put_u8(&raw, 0); /* the assembler takes C text */
		rc = raw.oom ? ASSAY_ENOMEM
			     : vm_asm_assemble((const char *)raw.data, path, code, err, errlen);
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

int contract_record_decode(const uint8_t *record, size_t len, const uint8_t **code, size_t *n)
{
	if (len < 2 || record[0] != CONTRACT_CODE_RECORD_V1)
		return ASSAY_EDECODE;
	*code = record + 1;
	*n = len - 1;
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

/* --fee for gas on chain: it defaults to exactly the chain's floor
 * (chain_min_fee with the node's min_fee and gas_price), and a given fee
 * below that is refused here rather than by the node. */
static int fee_opt(const struct cli_ctx *ctx, const struct cli_chain *chain, uint64_t gas, uint64_t *fee)
{
	uint64_t need;
	if (chain_min_fee(&chain->params, gas, &need))
		return cli_fail(CLI_EUSAGE, "--gas %llu is too large to pay for",
				(unsigned long long)gas);
	int rc = cli_amount_opt(ctx, "fee", need, fee);
	if (rc)
		return rc;
	if (*fee < need) {
		char have_asy[AMOUNT_STR_MAX], need_asy[AMOUNT_STR_MAX];
		amount_format(*fee, have_asy);
		amount_format(need, need_asy);
		return cli_fail(CLI_EUSAGE,
				"--fee %s ASY is below min_fee + gas x gas_price = %s ASY for --gas %llu",
				have_asy, need_asy, (unsigned long long)gas);
	}
	return CLI_OK;
}

/* Fixes the nonce cli_submit will sign with (--nonce, else the sender's
 * pending nonce), so that a deploy's contract address is known before it is
 * sent. text must outlive the submit. */
static int pin_nonce(struct cli_ctx *ctx, const struct cli_chain *chain,
		     const struct keystore_key *key, char text[24], uint64_t *nonce)
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
			snprintf(words, sizeof(words), " %llu job %s", (unsigned long long)value, job_id);
		} else if ((n - 4) % 8 == 0) {
			json_t *arr = json_array();
			size_t used = 0;
			for (long k = 4; k < n; k += 8) {
				uint64_t w = le64_get(data + k);
				json_array_append_new(arr, json_integer((json_int_t)w));
				if (used < sizeof(words))
					used += (size_t)snprintf(words + used, sizeof(words) - used,
								 " %llu", (unsigned long long)w);
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
 * call: call_payload), then prints its txid and, with --wait, its outcome. */
static int send_contract_tx(struct cli_ctx *ctx, const struct cli_chain *chain, uint8_t kind,
			    const struct buf *call_payload, const struct vm_deploy_payload *deploy,
			    uint64_t gas, uint64_t fee)
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
					.gas_limit = gas};
		rc = cli_submit(ctx, chain, &key, &req, txid);
	}
	keystore_key_wipe(&key);
	buf_free(&payload);
	if (rc)
		return rc;
	char fee_asy[AMOUNT_STR_MAX];
	amount_format(fee, fee_asy);
	json_t *out = json_pack("{s:s,s:I,s:I,s:I}", "txid", txid, "nonce", (json_int_t)nonce,
				"fee", (json_int_t)fee, "gas_limit", (json_int_t)gas);
	if (deploy)
		json_object_set_new(out, "contract", json_string(contract));
	if (!ctx->json) {
		if (deploy)
			printf("contract: %s\n", contract);
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

/* --- handlers --- */

int cli_contract_build(struct cli_ctx *ctx)
{
	const char *src = ctx->args[0], *dst = cli_opt(ctx, "o");
	char err[512], derived[CLI_PATH_MAX], hash_hex[2 * HASH_LEN + 1];
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
	struct buf code;
	buf_init(&code);
	int rc = contract_load_file(src, 1, &code, err, sizeof(err));
	if (rc) {
		buf_free(&code);
		return cli_fail(CLI_EFAIL, "%s", err);
	}
	FILE *f = fopen(dst, "wb");
	int bad = !f || fwrite(code.data, 1, code.len, f) != code.len;
	if (f && fclose(f) != 0)
		bad = 1;
	if (bad) {
		buf_free(&code);
		return cli_fail(CLI_EFAIL, "cannot write %s: %s", dst, strerror(errno));
	}
	uint8_t hash[HASH_LEN];
	vm_code_hash(code.data, code.len, hash);
	hex_encode(hash, HASH_LEN, hash_hex);
	cli_emit(ctx,
		 json_pack("{s:s,s:I,s:s}", "file", dst, "bytes", (json_int_t)code.len, "code_hash",
			   hash_hex),
		 "wrote %s (%zu bytes)\ncode hash: %s\n", dst, code.len, hash_hex);
	buf_free(&code);
	return CLI_OK;
}

int cli_contract_deploy(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	struct contract_args args;
	uint64_t gas, fee, value;
	char err[512];
	int rc, with_init = cli_flag(ctx, "args");
	if (ctx->nargs > 1 && !with_init)
		return cli_fail(CLI_EUSAGE, "init arguments follow --args: contract deploy --from NAME "
				"FILE --args ARG...");
	if ((rc = cli_amount_opt(ctx, "value", 0, &value)) ||
	    (rc = gas_opt(ctx, CONTRACT_DEPLOY_GAS, &gas)))
		return rc;
	struct buf code, calldata;
	buf_init(&code);
	buf_init(&calldata);
	memset(&args, 0, sizeof(args));
	rc = contract_load_file(ctx->args[0], !cli_flag(ctx, "no-validate"), &code, err, sizeof(err));
	if (rc) {
		rc = cli_fail(CLI_EFAIL, "%s", err);
		goto out;
	}
	if ((rc = cli_get_chain(ctx, &chain)) || (rc = fee_opt(ctx, &chain, gas, &fee)))
		goto out;
	if (with_init && ((rc = resolve_args(ctx, &chain, ctx->args + 1, ctx->nargs - 1, &args)) ||
			  (rc = build_calldata("init", &args, &calldata))))
		goto out;
	contract_args_free(&args);
	struct vm_deploy_payload p = {.code = code.data,
				      .code_len = code.len,
				      .value = value,
				      .calldata = calldata.data,
				      .calldata_len = calldata.len};
	rc = send_contract_tx(ctx, &chain, TX_DEPLOY, NULL, &p, gas, fee);
out:
	contract_args_free(&args);
	buf_free(&code);
	buf_free(&calldata);
	return rc;
}

int cli_contract_call(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	struct contract_args args;
	struct vm_call_payload p;
	char address[ADDR_STR_MAX];
	uint64_t gas, fee;
	int rc;
	memset(&args, 0, sizeof(args));
	if ((rc = cli_amount_opt(ctx, "value", 0, &p.value)) ||
	    (rc = gas_opt(ctx, CONTRACT_CALL_GAS, &gas)) ||
	    (rc = cli_get_chain(ctx, &chain)) ||
	    (rc = fee_opt(ctx, &chain, gas, &fee)) ||
	    (rc = cli_resolve_address(ctx, ctx->args[0], &chain, 0, address, p.to)) ||
	    (rc = resolve_args(ctx, &chain, ctx->args + 2, ctx->nargs - 2, &args))) {
		contract_args_free(&args);
		return rc;
	}
	struct buf calldata, payload;
	buf_init(&calldata);
	buf_init(&payload);
	rc = build_calldata(ctx->args[1], &args, &calldata);
	contract_args_free(&args);
	if (!rc) {
		p.calldata = calldata.data;
		p.calldata_len = calldata.len;
		vm_call_payload_encode(&p, &payload);
		rc = payload.oom ? cli_fail(CLI_EFAIL, "out of memory")
				 : send_contract_tx(ctx, &chain, TX_CALL, &payload, NULL, gas, fee);
	}
	buf_free(&calldata);
	buf_free(&payload);
	return rc;
}

int cli_contract_query(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	struct contract_args args;
	char address[ADDR_STR_MAX];
	uint8_t to[ADDR_LEN];
	json_t *res;
	int rc;
	memset(&args, 0, sizeof(args));
	if ((rc = cli_get_chain(ctx, &chain)) ||
	    (rc = cli_resolve_address(ctx, ctx->args[0], &chain, 0, address, to)) ||
	    (rc = resolve_args(ctx, &chain, ctx->args + 2, ctx->nargs - 2, &args))) {
		contract_args_free(&args);
		return rc;
	}
	/* The calldata is built here too, so that a bad argument is a usage
	 * error with the same message whether or not a node is asked. */
	struct buf calldata;
	buf_init(&calldata);
	rc = build_calldata(ctx->args[1], &args, &calldata);
	buf_free(&calldata);
	json_t *params = rc ? NULL : json_pack("[s,s]", address, ctx->args[1]);
	for (int i = 0; params && i < args.n; i++)
		json_array_append_new(params, json_string(args.argv[i]));
	contract_args_free(&args);
	if (rc)
		return rc;
	if ((rc = cli_rpc(ctx, "querycontract", params, &res)))
		return rc;
	int ok = json_is_true(json_object_get(res, "ok"));
	const char *error = json_string_value(json_object_get(res, "error"));
	const char *ret = json_string_value(json_object_get(res, "return"));
	json_int_t gas = json_integer_value(json_object_get(res, "gas_used"));
	json_t *words = json_object_get(res, "words");
	if (ctx->json) {
		cli_emit(ctx, res, "%s", "");
		return ok ? CLI_OK : CLI_EFAIL;
	}
	if (!ok) {
		rc = cli_fail(CLI_EFAIL, "query failed: %s (gas used %lld)",
			      error ? error : "unknown error", (long long)gas);
		json_decref(res); /* owns error */
		return rc;
	}
	printf("return:   %s\n", ret && *ret ? ret : "(empty)");
	if (json_array_size(words)) {
		printf("words:   ");
		for (size_t i = 0; i < json_array_size(words); i++)
			printf(" %llu", (unsigned long long)json_integer_value(json_array_get(words, i)));
		printf("\n");
	}
	printf("gas used: %lld\n", (long long)gas);
	json_decref(res);
	return CLI_OK;
}

/* The code at an address: getcode's record, decoded and checked against
 * the code hash it is stored under. */
static int fetch_code(struct cli_ctx *ctx, const char *text, struct buf *code, json_t *out)
{
	struct cli_chain chain;
	char address[ADDR_STR_MAX];
	uint8_t addr[ADDR_LEN], want[HASH_LEN];
	json_t *res;
	int rc;
	if ((rc = cli_get_chain(ctx, &chain)) ||
	    (rc = cli_resolve_address(ctx, text, &chain, 0, address, addr)) ||
	    (rc = cli_rpc(ctx, "getcode", json_pack("[s]", address), &res)))
		return rc;
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
		rc = cli_fail(CLI_EFAIL, "the code record at %s has an unknown version or is empty",
			      address);
	if (!rc) {
		uint8_t have[HASH_LEN];
		vm_code_hash(c, n, have);
		if (memcmp(have, want, HASH_LEN) != 0)
			rc = cli_fail(CLI_EFAIL, "the code at %s does not match its code hash", address);
		else
			buf_put(code, c, n);
	}
	if (!rc) {
		json_object_set_new(out, "address", json_string(address));
		json_object_set(out, "balance", json_object_get(res, "balance"));
	}
	free(rec);
	json_decref(res);
	return rc;
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
	{"from", 1}, {"args", 0},    {"value", 1}, {"gas", 1},	       {"fee", 1},
	{"wait", 0}, {"timeout", 1}, {"nonce", 1}, {"no-validate", 0}, {NULL, 0},
};

const struct cli_optdef cli_contract_call_opts[] = {
	{"from", 1}, {"value", 1},   {"gas", 1},   {"fee", 1},
	{"wait", 0}, {"timeout", 1}, {"nonce", 1}, {NULL, 0},
};
