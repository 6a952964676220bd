/* assay-cli's command table and the handlers of the balance, send and tx
 * groups, plus help and raw RPC (the wallet group's are in cli_wallet.c).
 * Other groups (contract, job, worker, validator, testnet) add rows to
 * cli_commands[] and reuse cli.h's helpers.
 * Not for: parsing or settings (cli.c). */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/tx.h"
#include "wallet/amount.h"
#include "wallet/cli.h"
#include "wallet/cli_contract.h"
#include "wallet/cli_faucet.h"
#include "wallet/cli_compute.h"
#include "wallet/cli_jobspec.h"
#include "wallet/cli_preflight.h"
#include "wallet/cli_proof.h"
#include "wallet/cli_testnet.h"
#include "wallet/cli_validator.h"
#include "wallet/cli_wallet.h"
#include "wallet/keystore.h"
#include "wallet/passphrase.h"
#include "wallet/txbuild.h"

static int cmd_balance(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	char address[ADDR_STR_MAX], asy[AMOUNT_STR_MAX];
	uint8_t addr[ADDR_LEN];
	json_t *acct;
	int rc = cli_get_chain(ctx, &chain);
	if (rc || (rc = cli_resolve_address(ctx, ctx->args[0], &chain, 1, address, addr)))
		return rc;
	if ((rc = cli_rpc(ctx, "getaccount", json_pack("[s]", address), &acct)))
		return rc;
	json_t *balance = json_object_get(acct, "balance");
	if (!json_is_integer(balance) || json_integer_value(balance) < 0) {
		json_decref(acct);
		return cli_fail(CLI_EFAIL, "getaccount reply lacks a balance");
	}
	uint64_t units = (uint64_t)json_integer_value(balance);
	amount_format(units, asy);
	json_t *j = json_pack("{s:s, s:I, s:s, s:O, s:O}", "address", address, "balance",
			      (json_int_t)units, "balance_asy", asy, "nonce",
			      json_object_get(acct, "nonce") ? json_object_get(acct, "nonce")
							     : json_null(),
			      "pending_nonce",
			      json_object_get(acct, "pending_nonce")
				      ? json_object_get(acct, "pending_nonce")
				      : json_null());
	json_decref(acct);
	cli_emit(ctx, j, "%s ASY\n", asy);
	return CLI_OK;
}

/* Prints a committed transaction's outcome; CLI_EFAIL if it failed. */
static int report_committed(struct cli_ctx *ctx, const char *txid, json_t *tx)
{
	json_t *result = json_object_get(tx, "result");
	json_t *ok = json_object_get(result, "ok");
	const char *error = json_string_value(json_object_get(result, "error"));
	long long height = json_integer_value(json_object_get(tx, "height"));
	long long gas = json_integer_value(json_object_get(result, "gas_used"));
	int failed = json_is_false(ok);
	if (ctx->json)
		cli_emit(ctx, json_incref(tx), "%s", "");
	else if (failed) {
		char why[CLI_PREFLIGHT_MSG_MAX];
		cli_preflight_asy_text(error ? error : "unknown error", why, sizeof(why));
		printf("%s\ncommitted at height %lld: failed: %s\n", txid, height, why);
	}
	else
		printf("%s\ncommitted at height %lld: ok (gas used %lld)\n", txid, height, gas);
	return failed ? CLI_EFAIL : CLI_OK;
}

/* The gas a transfer to address needs (txbuild_transfer_gas). */
static int transfer_gas(struct cli_ctx *ctx, const char *address, uint64_t *gas)
{
	json_t *acct;
	int rc = cli_rpc(ctx, "getaccount", json_pack("[s]", address), &acct);
	if (rc)
		return rc;
	rc = txbuild_transfer_gas(acct, gas);
	json_decref(acct);
	return rc ? cli_fail(CLI_EFAIL, "getaccount reply lacks a balance or nonce") : CLI_OK;
}

static int cmd_send(struct cli_ctx *ctx)
{
	const char *from = cli_opt(ctx, "from"), *to = cli_opt(ctx, "to");
	uint64_t amount, fee;
	unsigned timeout_s;
	int rc;
	if (!from || !to || !cli_opt(ctx, "amount"))
		return cli_fail(CLI_EUSAGE, "send needs --from NAME --to ADDRESS --amount ASY");
	if ((rc = cli_amount_opt(ctx, "amount", 0, &amount)) ||
	    (rc = cli_amount_opt(ctx, "fee", 0, &fee)) ||
	    (rc = cli_seconds_opt(ctx, "timeout", CLI_DEFAULT_WAIT_S, &timeout_s)))
		return rc;
	if (amount == 0)
		return cli_fail(CLI_EUSAGE, "--amount must be more than 0");
	if (!keystore_name_valid(from))
		return cli_fail(CLI_EUSAGE, "bad wallet name '%s'", from);

	struct cli_chain chain;
	char address[ADDR_STR_MAX], txid[2 * HASH_LEN + 1];
	uint8_t to_addr[ADDR_LEN];
	if ((rc = cli_get_chain(ctx, &chain)) ||
	    (rc = cli_resolve_address(ctx, to, &chain, 0, address, to_addr)))
		return rc;
	uint64_t gas = 0;
	if ((rc = transfer_gas(ctx, address, &gas)))
		return rc;
	uint64_t floor;
	if (gas && cli_opt(ctx, "fee") && chain_min_fee(&chain.params, gas, &floor) == 0 && fee < floor) {
		char have[AMOUNT_STR_MAX], need[AMOUNT_STR_MAX];
		amount_format(fee, have);
		amount_format(floor, need);
		return cli_fail(CLI_EUSAGE,
				"%s has no account yet: a transfer that creates one carries %llu gas (protocol.md "
				"§5.2), so --fee %s ASY is below its floor of %s ASY",
				address, (unsigned long long)gas, have, need);
	}
	if ((rc = cli_fee_opt(ctx, &chain, gas, CLI_FEE_OFFER, &fee)))
		return rc;
	struct keystore_key key;
	if ((rc = cli_unlock(ctx, from, &key)))
		return rc;
	struct buf payload;
	buf_init(&payload);
	txbuild_transfer_payload(to_addr, amount, &payload);
	struct cli_txreq req = {.kind = TX_TRANSFER,
				.payload = payload.data,
				.payload_len = payload.len,
				.fee = fee,
				.gas_limit = gas,
				.preflight = 1};
	rc = payload.oom ? cli_fail(CLI_EFAIL, "out of memory")
			 : cli_submit(ctx, &chain, &key, &req, txid);
	keystore_key_wipe(&key);
	buf_free(&payload);
	if (rc)
		return rc;
	if (cli_flag(ctx, "raw"))
		return CLI_OK;
	if (!cli_flag(ctx, "wait")) {
		cli_emit(ctx, json_pack("{s:s}", "txid", txid), "%s\n", txid);
		return CLI_OK;
	}
	json_t *tx;
	if ((rc = cli_wait_tx(ctx, txid, timeout_s, &tx))) {
		if (rc == CLI_ETIMEOUT && !ctx->json)
			printf("%s\n", txid);
		return rc;
	}
	rc = report_committed(ctx, txid, tx);
	json_decref(tx);
	return rc;
}

static int cmd_tx_status(struct cli_ctx *ctx)
{
	const char *txid = ctx->args[0];
	uint8_t id[HASH_LEN];
	json_t *tx;
	if (strlen(txid) != 2 * HASH_LEN || hex_decode(txid, id, HASH_LEN) != HASH_LEN)
		return cli_fail(CLI_EUSAGE, "bad txid '%s': 64 hex digits", txid);
	int rc = cli_rpc(ctx, "gettransaction", json_pack("[s]", txid), &tx);
	if (rc)
		return rc;
	if (ctx->json) {
		cli_emit(ctx, tx, "%s", "");
		return CLI_OK;
	}
	const char *status = json_string_value(json_object_get(tx, "status"));
	const char *kind = json_string_value(json_object_get(tx, "kind"));
	const char *sender = json_string_value(json_object_get(tx, "sender"));
	json_t *fee = json_object_get(tx, "fee");
	char fee_asy[AMOUNT_STR_MAX] = "?";
	if (json_is_integer(fee) && json_integer_value(fee) >= 0)
		amount_format((uint64_t)json_integer_value(fee), fee_asy);
	printf("txid:    %s\nstatus:  %s\nkind:    %s\nsender:  %s\nnonce:   %lld\nfee:     %s ASY\n",
	       txid, status ? status : "?", kind ? kind : "?", sender ? sender : "?",
	       json_integer_value(json_object_get(tx, "nonce")), fee_asy);
	json_t *payload = json_object_get(tx, "payload");
	const char *to = json_string_value(json_object_get(payload, "to"));
	json_t *amount = json_object_get(payload, "amount");
	if (to && json_is_integer(amount) && json_integer_value(amount) >= 0) { /* a transfer */
		char asy[AMOUNT_STR_MAX];
		amount_format((uint64_t)json_integer_value(amount), asy);
		printf("to:      %s\namount:  %s ASY\n", to, asy);
	}
	json_t *result = json_object_get(tx, "result");
	if (status && strcmp(status, "committed") == 0) {
		printf("height:  %lld\nindex:   %lld\nconfirmations: %lld\n",
		       json_integer_value(json_object_get(tx, "height")), json_integer_value(json_object_get(tx, "index")),
		       json_integer_value(json_object_get(tx, "confirmations")));
		if (json_is_object(result)) {
			const char *error = json_string_value(json_object_get(result, "error"));
			char why[CLI_PREFLIGHT_MSG_MAX];
			cli_preflight_asy_text(error ? error : "unknown error", why, sizeof(why));
			if (json_is_true(json_object_get(result, "ok")))
				printf("result:  ok\n");
			else
				printf("result:  failed: %s\n", why);
			printf("gas:     %lld\n", json_integer_value(json_object_get(result, "gas_used")));
		}
	}
	json_decref(tx);
	return CLI_OK;
}

static const struct cli_optdef send_opts[] = {
	{"from", 1}, {"to", 1},	{"amount", 1}, {"fee", 1}, {"wait", 0},
	{"timeout", 1}, {"nonce", 1}, {"raw", 0}, {"force", 0}, {NULL, 0},
};

const struct cli_command cli_commands[] = {
	{"wallet", "create", cli_wallet_create, "NAME",
	 "create an encrypted key in DATADIR/wallet/NAME.json; show its 24 backup words once", NULL,
	 1, 1},
	{"wallet", "restore", cli_wallet_restore, "NAME [--mnemonic-file FILE]",
	 "re-create a wallet from its backup words (typed on the terminal, or FILE)",
	 cli_wallet_restore_opts, 1, 1},
	{"wallet", "import", cli_wallet_import, "NAME --seed-file FILE",
	 "store a 32-byte Ed25519 seed (64 hex digits in FILE) as a new wallet",
	 cli_wallet_import_opts, 1, 1},
	{"wallet", "export", cli_wallet_export, "NAME [--seed [--yes]]",
	 "print the encrypted key file (--seed: the secret seed, after a typed confirmation)",
	 cli_wallet_export_opts, 1, 1},
	{"wallet", "passphrase", cli_wallet_passphrase, "NAME [--new-passphrase-file FILE]",
	 "change a wallet's passphrase: the current one, then the new one twice",
	 cli_wallet_passphrase_opts, 1, 1},
	{"wallet", "delete", cli_wallet_delete, "NAME [--yes]",
	 "delete a wallet's key file after a typed confirmation of its name",
	 cli_wallet_delete_opts, 1, 1},
	{"wallet", "list", cli_wallet_list, "", "list wallets and their addresses", NULL, 0, 0},
	{"wallet", "address", cli_wallet_address, "NAME", "print a wallet's address", NULL, 1, 1},
	{"wallet", "show", cli_wallet_show, "NAME", "print a wallet's address, public key, KDF",
	 NULL, 1, 1},
	{"wallet", "import-dev", cli_wallet_import_dev, "[--worker]",
	 "store the public dev key as wallet 'dev' (--worker: the dev worker key as 'devworker'; dev/local nodes only)",
	 cli_wallet_import_dev_opts, 0, 0},
	{"balance", NULL, cmd_balance, "NAME|ADDRESS", "print an account's balance in ASY", NULL,
	 1, 1},
	{"send", NULL, cmd_send,
	 "--from NAME --to ADDRESS --amount ASY [--fee ASY] [--wait] [--timeout SEC]\n"
	 "         [--nonce N] [--raw] [--force]",
	 "sign and submit a transfer; print its txid (--raw: print the signed hex, send nothing;\n"
	 "      --force: send it even when the node's dry run says it would fail); to an address\n"
	 "      with no account it carries the 11264 gas that creating one takes, fee included",
	 send_opts, 0, 0},
	{"faucet", NULL, cli_faucet, "ADDRESS|NAME [--url URL] [--wait [--timeout S]]",
	 "ask an assay-faucet (default " CLI_FAUCET_DEFAULT_URL ") for test coins", cli_faucet_opts, 1, 1},
	{"tx", "status", cmd_tx_status, "TXID", "print a transaction's status and result", NULL, 1,
	 1},
	{"getproof", NULL, cli_cmd_getproof, "NAME|ADDRESS|KEY [--verify [--height H | --header-hash HASH]]",
	 "a state proof; --verify: check it against a block header's state_root", cli_getproof_opts, 1, 1},
	{"contract", "build", cli_contract_build, "FILE.asm [-o|--out FILE.bin]",
	 "assemble a contract (and write FILE.abi.json); errors as file:line:column",
	 cli_contract_build_opts, 1, 1},
	{"contract", "deploy", cli_contract_deploy,
	 "--from NAME FILE(.asm|.bin) [--args ARG...] [--value ASY] [--gas N] [--fee ASY]\n"
	 "         [--wait] [--timeout SEC] [--nonce N] [--no-validate] [--abi FILE] [--force]",
	 "deploy a contract after ABI checks and a dry run; print its address and txid",
	 cli_contract_deploy_opts, 1, 1 + CONTRACT_ARGS_MAX},
	{"contract", "call", cli_contract_call,
	 "--from NAME ADDRESS METHOD [ARG...] [--value ASY] [--gas N] [--fee ASY]\n"
	 "         [--wait] [--timeout SEC] [--nonce N] [--abi FILE] [--force]",
	 "call a contract method in a transaction, after ABI checks and a dry run",
	 cli_contract_call_opts, 2, 2 + CONTRACT_ARGS_MAX},
	{"contract", "query", cli_contract_query, "ADDRESS METHOD [ARG...] [--abi FILE]",
	 "run a method read-only on the node (no transaction); --abi: typed values",
	 cli_contract_query_opts, 2, 2 + CONTRACT_ARGS_MAX},
	{"contract", "disasm", cli_contract_disasm, "FILE|ADDRESS",
	 "disassemble a .bin or .asm file, or the code at a contract address", NULL, 1, 1},
	{"job", "submit", cli_cmd_job_submit,
	 "--from NAME --kind matmul-i8|mlp-i8 --m M [--n N --k K | --dims D0,..,DL [--shifts S,..]]\n"
	 "         [--tile-rows R] [--tile-cols C] [--seed HEX | --input-blob FILE ...] [--samples K]\n"
	 "         [--redundancy R] [--reward ASY] [--deadline BLOCKS] [--fee ASY] [--wait] [--timeout SEC]\n"
	 "         [--nonce N] [--raw] [--force]",
	 "escrow a reward for a compute job; --wait: until it is verified, paid or fails", cli_job_submit_opts, 0, 0},
	{"job", "spec", cli_cmd_job_spec,
	 "--kind matmul-i8|mlp-i8 --m M [--n N --k K | --dims D0,..,DL [--shifts S,..]] [--tile-rows R]\n"
	 "         [--tile-cols C] [--seed HEX] [--salt HEX] [--samples K] [--redundancy R] [--reward ASY]\n"
	 "         [--deadline BLOCKS] [-o|--out FILE]",
	 "the canonical job_submit payload of a job, for a contract to submit (job_escrow's init)",
	 cli_job_spec_opts, 0, 0},
	{"job", "status", cli_cmd_job_status, "JOB_ID [--verify [--height H | --header-hash HASH]]",
	 "a job's state and each stage with its height (--verify: the record proven on chain)", cli_job_status_opts, 1, 1},
	{"job", "output", cli_cmd_job_output, "JOB_ID -o|--output FILE [--slot S] [--from-worker] [--verify [--height H | --header-hash HASH]]",
	 "fetch a job's output from the node's chunks (or its worker), check root and Freivalds/recompute, then write it",
	 cli_job_output_opts, 1, 1},
	{"job", "dispute", cli_cmd_job_dispute, "JOB_ID --from NAME [--tile I] [--slot S] [--from-worker] [--verify [--height H | --header-hash HASH]] [--fee ASY] [--wait] [--timeout SEC] [--force]",
	 "find a wrong tile in a job's output and post the fraud proof (job_dispute)", cli_job_dispute_opts, 1, 1},
	{"job", "open", cli_cmd_job_open, "JOB_ID --from NAME [--salt HEX] [--fee ASY] [--wait] [--timeout SEC] [--force]",
	 "open the submitter's salt once the job's record shows every slot committed (job_salt; --force: even before)",
	 cli_job_open_opts, 1, 1},
	{"worker", "register", cli_cmd_worker_register,
	 "--from NAME --bond ASY [--endpoint URL] [--backend NAME] [--fee ASY] [--wait] [--timeout SEC] [--force]",
	 "bond a wallet as a compute worker (assay-worker does this itself)", cli_worker_register_opts, 0, 0},
	{"worker", "unbond", cli_cmd_worker_unbond, "--from NAME [--fee ASY] [--wait] [--timeout SEC] [--force]",
	 "stop taking jobs; the bond returns after unbond_delay blocks", cli_worker_unbond_opts, 0, 0},
	{"worker", "status", cli_cmd_worker_status, "NAME|ADDRESS", "a worker's bond, status and counters", NULL,
	 1, 1},
	{"validator", "key", cli_cmd_validator_key, "create NAME [--seed-file FILE]   |   validator key show NAME",
	 "create: a validator key file DATADIR/validator/NAME.json for assayd -validator=FILE (0600,\n"
	 "      never overwritten); show: its public key (for a genesis) and account address",
	 cli_validator_key_create_opts, 2, 2},
	{"validator", "bond", cli_cmd_validator_bond,
	 "--from NAME --amount ASY [--fee ASY] [--wait] [--timeout SEC] [--nonce N] [--raw] [--force]",
	 "bond ASY from the validator key's account as stake (validator_bond); counts from two blocks later",
	 cli_validator_bond_opts, 0, 0},
	{"validator", "unbond", cli_cmd_validator_unbond,
	 "--from NAME --amount ASY [--fee ASY] [--wait] [--timeout SEC] [--nonce N] [--raw] [--force]",
	 "unbond stake (validator_unbond); it returns after the unbonding period", cli_validator_bond_opts, 0, 0},
	{"validator", "unjail", cli_cmd_validator_unjail,
	 "--from NAME [--fee ASY] [--wait] [--timeout SEC] [--nonce N] [--raw] [--force]",
	 "return to the validator set once a jailing has run its time (validator_unjail)", cli_validator_unjail_opts, 0, 0},
	{"testnet", "init", cli_cmd_testnet_init,
	 "--validators N --dir DIR [--workers M] [--followers K] [--network local|testnet]\n"
	 "         [--base-port P] [--chain NAME] [--stake ASY] [--block-time MS]",
	 "write keys, one genesis and a datadir per node and worker for a network on this machine\n"
	 "      (then: scripts/localnet up DIR)",
	 cli_testnet_init_opts, 0, 0},
	{"testnet", "gentx", cli_cmd_testnet_gentx,
	 "--from NAME --stake ASY [--network local|testnet] [--chain NAME] [--out FILE]",
	 "sign this operator's genesis validator entry with validator key NAME (public keys only;\n"
	 "      default file DATADIR/gentx/NAME.json)",
	 cli_testnet_gentx_opts, 0, 0},
	{"testnet", "collect", cli_cmd_testnet_collect,
	 "DIR [--out FILE] [--base GENESIS] [--fund ASY] [--time-ms MS]",
	 "check the gentx files in DIR (signatures, duplicates, one chain) and write the genesis\n"
	 "      (default ./genesis.json; --base: balances and params to start from)",
	 cli_testnet_collect_opts, 1, 1},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
};

static void print_usage_line(const struct cli_command *c)
{
	printf("  %s%s%s %s\n      %s\n", c->group, c->sub ? " " : "", c->sub ? c->sub : "",
	       c->usage, c->summary);
}

static int cmd_help(struct cli_ctx *ctx)
{
	if (ctx->nargs > 0) {
		const char *group = ctx->args[0], *sub = ctx->nargs > 1 ? ctx->args[1] : NULL;
		int found = 0;
		for (const struct cli_command *c = cli_commands; c->group; c++) {
			if (strcmp(c->group, group) != 0 || (sub && c->sub && strcmp(c->sub, sub)))
				continue;
			if (!found)
				printf("usage:\n");
			print_usage_line(c);
			found = 1;
		}
		if (found)
			return CLI_OK;
		/* Not a command: a JSON-RPC method, whose full help the node has. */
		char err[1024];
		json_t *text;
		int rc = cli_settle(ctx, err, sizeof(err));
		if (rc)
			return cli_fail(rc, "%s", err);
		rc = cli_rpc(ctx, "help", json_pack("[s]", group), &text);
		if (rc)
			return rc;
		printf("%s is a JSON-RPC method (assay-cli %s PARAMS... sends it):\n\n%s", group, group,
		       json_is_string(text) ? json_string_value(text) : "");
		json_decref(text);
		return CLI_OK;
	}
	printf("usage: assay-cli [options] COMMAND [ARGS...]\n"
	       "       assay-cli [options] METHOD [PARAMS...]   (any other word: raw JSON-RPC)\n"
	       "       assay-cli [options] rpc METHOD [PARAMS...]   (raw JSON-RPC, any name: rpc help)\n\n"
	       "options (as -name=value or --name=value):\n"
	       "  -datadir=DIR          data directory (default ~/.assay)\n"
	       "  -network=NET          dev, local, testnet or main (default dev)\n"
	       "  -rpcconnect=HOST      node address (default 127.0.0.1)\n"
	       "  -rpcport=PORT         node RPC port (default:");
	const struct network_info *net;
	for (unsigned i = 0; (net = network_at(i)); i++)
		printf("%s %u %s", i ? "," : "", net->rpc_port, net->name);
	printf(")\n"
	       "  -rpcuser=USER, -rpcpassword=PW   instead of DATADIR/.cookie (a password\n"
	       "                        on the command line shows in ps: prefer the next two)\n"
	       "  -stdinrpcpass         the RPC password from the first line of standard input\n"
	       "                        (or set ASSAY_RPCPASSWORD)\n"
	       "  -rpccookiefile=PATH   send this cookie file, to any -rpcconnect (DATADIR/.cookie\n"
	       "                        goes only to a loopback one: 127.0.0.0/8, ::1, localhost)\n"
	       "  -passphrase-file=FILE wallet passphrase from FILE's first line (a file that\n"
	       "                        group or others may use is refused: chmod 600)\n"
	       "  -json                 machine-readable output\n"
	       "  -help                 this text; help COMMAND for one command, help METHOD for\n"
	       "                        one JSON-RPC method's full help (asks the node)\n\n"
	       "commands:\n");
	for (const struct cli_command *c = cli_commands; c->group; c++)
		print_usage_line(c);
	printf("\nexit status: 0 ok, 1 failed, 2 usage, 3 node unreachable, 4 --wait timed out\n");
	return CLI_OK;
}

/* METHOD PARAMS...: each parameter is JSON if it parses as JSON, else a string. */
static int cmd_raw_rpc(struct cli_ctx *ctx)
{
	json_t *params = json_array(), *result;
	for (int i = 1; i < ctx->nargs; i++) {
		json_t *p = json_loads(ctx->args[i], JSON_DECODE_ANY, NULL);
		json_array_append_new(params, p ? p : json_string(ctx->args[i]));
	}
	int rc = cli_rpc(ctx, ctx->args[0], params, &result);
	if (rc)
		return rc;
	if (ctx->json)
		cli_emit(ctx, result, "%s", "");
	else {
		cli_print_json(result);
		json_decref(result);
	}
	return CLI_OK;
}

int cli_main(int argc, char **argv)
{
	struct cli_ctx *ctx = calloc(1, sizeof(*ctx));
	char err[1024];
	signal(SIGPIPE, SIG_IGN); /* a node that hangs up mid-request is an error, not a kill */
	/* a crash must not write the passphrase, seed or key it holds into a
	 * core file (a system's crash collector keeps them for anyone who may
	 * read its dumps) */
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	json_set_alloc_funcs(malloc, cli_free_wiped); /* its copies of secrets in --json output */
	if (!ctx)
		return cli_fail(CLI_EFAIL, "out of memory");
	int rc = cli_parse(ctx, argc, argv, err, sizeof(err));
	if (!rc && !ctx->help)
		rc = cli_settle(ctx, err, sizeof(err));
	if (rc) {
		cli_fail(rc, "%s", err);
	} else if (ctx->help) {
		if (ctx->cmd) { /* "send -help": help for that command */
			ctx->args = NULL;
			print_usage_line(ctx->cmd);
		} else {
			rc = cmd_help(ctx);
		}
	} else if (keys_init() != 0) {
		rc = cli_fail(CLI_EFAIL, "libsodium failed to initialise");
	} else {
		rc = ctx->cmd ? ctx->cmd->run(ctx) : cmd_raw_rpc(ctx);
	}
	fflush(stdout);
	sodium_memzero(ctx, sizeof(*ctx)); /* the RPC password and credentials */
	free(ctx);
	return rc;
}
