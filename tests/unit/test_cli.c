/* Unit tests for assay-cli's frame: -name=value / --name=value parsing,
 * assay.conf and .cookie settings, HTTP/JSON-RPC reply parsing, and whole
 * commands (balance, send, send --wait, import-dev, raw RPC) run against a
 * small fake JSON-RPC server on a loopback port in a thread. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/network.h"
#include "core/tx.h"
#include "tests/unit/cli_fixture.h"
#include "tests/unit/test.h"
#include "vm/vm.h"
#include "wallet/cli.h"
#include "wallet/keystore.h"
#include "wallet/txbuild.h"

static char tmpdir[256];

/* Builds an argv (writable copies; getopt permutes it) from a NULL-ended list. */
struct argv_buf {
	char *argv[32];
	int argc;
};

static void mkargv(struct argv_buf *a, ...)
{
	va_list ap;
	a->argc = 0;
	va_start(ap, a);
	const char *s;
	while ((s = va_arg(ap, const char *)) && a->argc < 31)
		a->argv[a->argc++] = strdup(s);
	va_end(ap);
	a->argv[a->argc] = NULL;
}

static void freeargv(struct argv_buf *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
}

static void test_parse_globals(void)
{
	struct cli_ctx ctx;
	struct argv_buf a;
	char err[256];
	mkargv(&a, "assay-cli", "-datadir=/d", "--network=testnet", "-rpcport", "1234", "-json",
	       "balance", "alice", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(strcmp(ctx.datadir, "/d") == 0);
	CHECK(strcmp(ctx.network, "testnet") == 0);
	CHECK(ctx.rpcport == 1234);
	CHECK(ctx.json == 1);
	CHECK(ctx.cmd && strcmp(ctx.cmd->group, "balance") == 0);
	CHECK(ctx.nargs == 1 && strcmp(ctx.args[0], "alice") == 0);
	freeargv(&a);

	/* global flags after the command words are accepted too */
	mkargv(&a, "assay-cli", "wallet", "show", "bob", "--json", "-rpcconnect=10.0.0.1", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(ctx.json == 1 && strcmp(ctx.rpcconnect, "10.0.0.1") == 0);
	CHECK(ctx.cmd && strcmp(ctx.cmd->sub, "show") == 0);
	CHECK(ctx.nargs == 1 && strcmp(ctx.args[0], "bob") == 0);
	freeargv(&a);
}

static void test_parse_command_opts(void)
{
	struct cli_ctx ctx;
	struct argv_buf a;
	char err[256];
	mkargv(&a, "assay-cli", "send", "--from=alice", "-to", "dassay1xyz", "--amount", "1.5",
	       "-fee=0.001", "--wait", "--amount=2", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_opt(&ctx, "from") && strcmp(cli_opt(&ctx, "from"), "alice") == 0);
	CHECK(cli_opt(&ctx, "to") && strcmp(cli_opt(&ctx, "to"), "dassay1xyz") == 0);
	CHECK(cli_opt(&ctx, "amount") && strcmp(cli_opt(&ctx, "amount"), "2") == 0); /* last wins */
	CHECK(cli_opt(&ctx, "fee") && strcmp(cli_opt(&ctx, "fee"), "0.001") == 0);
	CHECK(cli_flag(&ctx, "wait") && !cli_flag(&ctx, "timeout"));
	CHECK(ctx.nargs == 0);
	freeargv(&a);

	mkargv(&a, "assay-cli", "send", "--from", "alice", "--bogus", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	CHECK(strstr(err, "--bogus") != NULL);
	freeargv(&a);

	mkargv(&a, "assay-cli", "send", "--from", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);

	/* an option of another command is unknown here */
	mkargv(&a, "assay-cli", "balance", "alice", "--from=x", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);
}

static void test_parse_errors_and_raw(void)
{
	struct cli_ctx ctx;
	struct argv_buf a;
	char err[256];
	mkargv(&a, "assay-cli", "-rpcport=70000", "getblockchaininfo", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);
	mkargv(&a, "assay-cli", "-datadir", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);
	/* an unknown flag before the command is a usage error (getopt read
	 * past the unterminated table of global flags, and the CLI crashed) */
	mkargv(&a, "assay-cli", "-zzzz", "getblockchaininfo", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	CHECK(strstr(err, "unknown option") != NULL);
	freeargv(&a);
	mkargv(&a, "assay-cli", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);
	mkargv(&a, "assay-cli", "wallet", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);
	mkargv(&a, "assay-cli", "wallet", "create", NULL); /* missing NAME */
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);
	mkargv(&a, "assay-cli", "wallet", "create", "a", "b", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == CLI_EUSAGE);
	freeargv(&a);

	/* raw RPC: words after the method are parameters, even if they look
	 * like flags */
	mkargv(&a, "assay-cli", "-json", "getblock", "-5", "--json", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(ctx.cmd == NULL && ctx.nargs == 3);
	CHECK(strcmp(ctx.args[0], "getblock") == 0 && strcmp(ctx.args[1], "-5") == 0);
	freeargv(&a);

	mkargv(&a, "assay-cli", "help", "send", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(ctx.help && ctx.nargs == 1);
	freeargv(&a);
	mkargv(&a, "assay-cli", "-help", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0 && ctx.help);
	freeargv(&a);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_settle(void)
{
	struct cli_ctx ctx;
	struct argv_buf a;
	char err[256], dd[300], flag[320];
	snprintf(dd, sizeof(dd), "%s/conf", tmpdir);
	mkdir(dd, 0700);
	snprintf(flag, sizeof(flag), "-datadir=%s", dd);

	/* defaults: dev port, loopback, cookie auth */
	write_file(dd, ".cookie", "__cookie__:abc123\n");
	mkargv(&a, "assay-cli", flag, "getblockchaininfo", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_settle(&ctx, err, sizeof(err)) == 0);
	CHECK(ctx.rpc.port == network_find("dev")->rpc_port && ctx.rpc.port == 29443);
	CHECK(strcmp(ctx.rpc.host, "127.0.0.1") == 0);
	CHECK(strcmp(ctx.rpc.auth, "__cookie__:abc123") == 0);
	freeargv(&a);

	write_file(dd, "assay.conf",
		   "# node and cli settings\n"
		   "network = testnet\n"
		   "  # assayd's, ignored here\n"
		   "listen=1\n"
		   "rpcuser=u\nrpcpassword=p\n\n");
	mkargv(&a, "assay-cli", flag, "getblockchaininfo", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_settle(&ctx, err, sizeof(err)) == 0);
	CHECK(strcmp(ctx.network, "testnet") == 0);
	CHECK(ctx.rpc.port == 19443);
	CHECK(strcmp(ctx.rpc.auth, "u:p") == 0);
	freeargv(&a);

	/* flags beat the file */
	mkargv(&a, "assay-cli", flag, "-network=main", "-rpcpassword=q", "x", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_settle(&ctx, err, sizeof(err)) == 0);
	CHECK(ctx.rpc.port == 9443);
	CHECK(strcmp(ctx.rpc.auth, "u:q") == 0);
	freeargv(&a);

	/* assayd's reader (core/conf.c): a '#' inside a value is refused, not
	 * cut (rpcpassword=abc#def became abc) */
	write_file(dd, "assay.conf", "rpcuser=u\nrpcpassword=abc#def\n");
	mkargv(&a, "assay-cli", flag, "getblockchaininfo", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_settle(&ctx, err, sizeof(err)) == CLI_EUSAGE);
	CHECK(strstr(err, "assay.conf:2: '#' in the value of rpcpassword") != NULL);
	freeargv(&a);
	write_file(dd, "assay.conf", "rpcport=99999\n");
	mkargv(&a, "assay-cli", flag, "getblockchaininfo", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_settle(&ctx, err, sizeof(err)) == CLI_EUSAGE);
	CHECK(strstr(err, "-rpcport=99999 is out of range") != NULL);
	freeargv(&a);

	write_file(dd, "assay.conf", "rpcport=5555\nnetwork=nowhere\n");
	mkargv(&a, "assay-cli", flag, "x", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_settle(&ctx, err, sizeof(err)) == CLI_EUSAGE);
	CHECK(strstr(err, "nowhere") != NULL);
	freeargv(&a);

	write_file(dd, "assay.conf", "rpcport\n");
	mkargv(&a, "assay-cli", flag, "x", NULL);
	CHECK(cli_parse(&ctx, a.argc, a.argv, err, sizeof(err)) == 0);
	CHECK(cli_settle(&ctx, err, sizeof(err)) == CLI_EUSAGE);
	CHECK(strstr(err, "assay.conf:1") != NULL);
	freeargv(&a);
}

/* cli_parse and cli_settle of "assay-cli -datadir=DD WORDS... x" with stdin
 * (when not NULL) holding the text stdin_text: the settle's result, ctx and
 * err filled. */
static int settle_words(struct cli_ctx *ctx, char *err, size_t errlen, const char *dd, const char *stdin_text,
			const char *w1, const char *w2, const char *w3)
{
	struct argv_buf a;
	char flag[320];
	snprintf(flag, sizeof(flag), "-datadir=%s", dd);
	const char *words[] = {w1, w2, w3};
	mkargv(&a, "assay-cli", flag, NULL);
	for (int i = 0; i < 3 && words[i]; i++)
		a.argv[a.argc++] = strdup(words[i]);
	a.argv[a.argc++] = strdup("x");
	a.argv[a.argc] = NULL;
	int saved = -1, pipefd[2];
	if (stdin_text) {
		CHECK(pipe(pipefd) == 0);
		CHECK(write(pipefd[1], stdin_text, strlen(stdin_text)) == (ssize_t)strlen(stdin_text));
		close(pipefd[1]);
		saved = dup(0);
		dup2(pipefd[0], 0);
		close(pipefd[0]);
	}
	int rc = cli_parse(ctx, a.argc, a.argv, err, errlen);
	if (!rc)
		rc = cli_settle(ctx, err, errlen);
	if (saved >= 0) {
		dup2(saved, 0);
		close(saved);
	}
	freeargv(&a);
	return rc;
}

/* The RPC password without it in argv, where ps shows it: stdin's first
 * line with -stdinrpcpass, or ASSAY_RPCPASSWORD; either beats assay.conf,
 * and -rpcpassword still works. */
static void test_rpcpassword_sources(void)
{
	struct cli_ctx ctx;
	char err[256], dd[300];
	snprintf(dd, sizeof(dd), "%s/pwsrc", tmpdir);
	mkdir(dd, 0700);
	write_file(dd, "assay.conf", "rpcuser=u\nrpcpassword=fromconf\n");
	unsetenv("ASSAY_RPCPASSWORD");
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, NULL, NULL, NULL), 0);
	CHECK(strcmp(ctx.rpc.auth, "u:fromconf") == 0);
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, "s3cret pw\r\nnext line\n", "-stdinrpcpass",
				  NULL, NULL),
		     0);
	CHECK(strcmp(ctx.rpc.auth, "u:s3cret pw") == 0);
	CHECK_EQ_INT(
		settle_words(&ctx, err, sizeof(err), dd, "lastline", "--stdinrpcpass", "-rpcuser=v", NULL),
		0);
	CHECK(strcmp(ctx.rpc.auth, "v:lastline") == 0);
	/* nothing on stdin, or a flag as well, is a usage error */
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, "", "-stdinrpcpass", NULL, NULL), CLI_EUSAGE);
	CHECK(strstr(err, "-stdinrpcpass") != NULL);
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, "a\n", "-stdinrpcpass", "-rpcpassword=b", NULL),
		     CLI_EUSAGE);
	CHECK(strstr(err, "not both") != NULL);
	/* the environment, below the flags */
	setenv("ASSAY_RPCPASSWORD", "fromenv", 1);
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, NULL, NULL, NULL), 0);
	CHECK(strcmp(ctx.rpc.auth, "u:fromenv") == 0);
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, "piped\n", "-stdinrpcpass", NULL, NULL), 0);
	CHECK(strcmp(ctx.rpc.auth, "u:piped") == 0);
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, "-rpcpassword=flag", NULL, NULL), 0);
	CHECK(strcmp(ctx.rpc.auth, "u:flag") == 0);
	unsetenv("ASSAY_RPCPASSWORD");
}

/* DATADIR/.cookie goes only to a loopback -rpcconnect; a named
 * -rpccookiefile goes anywhere. */
static void test_cookie_only_to_loopback(void)
{
	struct cli_ctx ctx;
	char err[256], dd[300], named[400], flag[420];
	snprintf(dd, sizeof(dd), "%s/cookiehost", tmpdir);
	mkdir(dd, 0700);
	write_file(dd, ".cookie", "__cookie__:local\n");
	write_file(dd, "other.cookie", "__cookie__:named\n");
	static const char *const local[] = {"-rpcconnect=127.0.0.1", "-rpcconnect=127.0.0.2",
					    "-rpcconnect=localhost", "-rpcconnect=::1"};
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, local[i], NULL, NULL), 0);
		CHECK(strcmp(ctx.rpc.auth, "__cookie__:local") == 0 && !ctx.cookie_withheld);
	}
	static const char *const remote[] = {"-rpcconnect=10.1.2.3", "-rpcconnect=node.example.com",
					     "-rpcconnect=127.1"};
	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
		CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, remote[i], NULL, NULL), 0);
		CHECK(ctx.rpc.auth[0] == 0 && ctx.cookie_withheld);
	}
	snprintf(named, sizeof(named), "%s/other.cookie", dd);
	snprintf(flag, sizeof(flag), "-rpccookiefile=%s", named);
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, "-rpcconnect=10.1.2.3", flag, NULL), 0);
	CHECK(strcmp(ctx.rpc.auth, "__cookie__:named") == 0);
	snprintf(flag, sizeof(flag), "-rpccookiefile=%s/missing", dd);
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, flag, NULL, NULL), CLI_EUSAGE);
	CHECK(strstr(err, "-rpccookiefile") != NULL);
	/* credentials given are sent anywhere, as before */
	CHECK_EQ_INT(settle_words(&ctx, err, sizeof(err), dd, NULL, "-rpcconnect=10.1.2.3", "-rpcuser=u",
				  "-rpcpassword=p"),
		     0);
	CHECK(strcmp(ctx.rpc.auth, "u:p") == 0);
}

static int parse_reply(int status, const char *body, json_t **result, struct rpc_failure *f)
{
	return rpc_client_parse_reply(status, body, strlen(body), result, f);
}

/* The JSON-RPC envelope; HTTP framing is evhttp's (test_rpc_client). */
static void test_reply_parsing(void)
{
	json_t *r;
	struct rpc_failure f;
	CHECK(parse_reply(200, "{\"result\":42,\"error\":null,\"id\":1}", &r, &f) == 0);
	CHECK(json_integer_value(r) == 42);
	json_decref(r);
	CHECK(parse_reply(500,
			  "{\"result\":null,\"error\":{\"code\":-26,\"message\":\"transaction "
			  "rejected: fee too low\"},\"id\":1}",
			  &r, &f) == ASSAY_EINVALID);
	CHECK(f.code == -26 && strcmp(f.message, "transaction rejected: fee too low") == 0);
	CHECK(r == NULL);
	CHECK(parse_reply(401, "", &r, &f) == ASSAY_EAUTH && f.code == 401);
	CHECK(parse_reply(403, "{}", &r, &f) == ASSAY_EAUTH);
	CHECK(parse_reply(200, "<html>", &r, &f) == ASSAY_EDECODE);
	CHECK(parse_reply(200, "{\"id\":1}", &r, &f) == ASSAY_EDECODE);
	CHECK(parse_reply(502, "{\"result\":1,\"id\":1}", &r, &f) == ASSAY_EDECODE && f.code == 502);
	CHECK(parse_reply(200, "[1]", &r, &f) == ASSAY_EDECODE);
	CHECK(parse_reply(200, "{\"result\":null,\"id\":1}", &r, &f) == 0);
	CHECK(json_is_null(r));
	json_decref(r);
}

/* ---- a fake node ------------------------------------------------------- */

static struct {
	struct fake_rpc rpc;
	const char *network;      /* what getblockchaininfo and getchainparams report */
	const char *chain;        /* getchainparams' chain name */
	uint64_t min_fee, gas_price; /* what getchainparams reports */
	char expect_auth[128];    /* the Authorization header value expected */
	struct tx sent;           /* the last transaction sendrawtransaction got */
	int have_sent;
	uint8_t genesis[HASH_LEN];
	const char *sim_error;    /* simulatetransaction: NULL ok, else valid false with this */
	int no_simulate;          /* a node without simulatetransaction */
} fake;

static char *fake_reply(const char *method, json_t *params)
{
	json_t *result = NULL, *error = NULL;
	char genesis[2 * HASH_LEN + 1];
	hex_encode(fake.genesis, HASH_LEN, genesis);
	if (strcmp(method, "getblockchaininfo") == 0) {
		result = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:i}", "chain", "assay-dev",
				   "network", fake.network, "height", 7, "best_hash", genesis,
				   "state_root", genesis, "genesis_hash", genesis, "time_ms", 1000);
	} else if (strcmp(method, "getchainparams") == 0) {
		result = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:i}", "chain",
				   fake.chain, "network", fake.network, "hrp", "dassay", "chain_id", genesis,
				   "block_time_ms", 500, "max_block_txs", 5000, "max_block_bytes", 4194304,
				   "max_tx_bytes", 1048576, "max_block_gas", 100000000, "min_fee",
				   (json_int_t)fake.min_fee, "gas_price", (json_int_t)fake.gas_price,
				   "max_future_ms", 15000);
	} else if (strcmp(method, "getaccount") == 0) {
		result = json_pack("{s:O, s:I, s:i, s:i, s:n}", "address",
				   json_array_get(params, 0), "balance", (json_int_t)12500000000ll,
				   "nonce", 3, "pending_nonce", 4, "code_hash");
	} else if (strcmp(method, "sendrawtransaction") == 0) {
		const char *hex = json_string_value(json_array_get(params, 0));
		result = fake_rpc_take_tx(hex, &fake.sent, &fake.have_sent);
		if (!result) {
			error = json_pack("{s:i, s:s}", "code", -22, "message", "TX decode failed");
		}
	} else if (strcmp(method, "getcode") == 0) {
		/* one ret: contract call checks that its target holds code */
		static const uint8_t code[8] = {0x71};
		uint8_t h[HASH_LEN];
		char hh[2 * HASH_LEN + 1];
		vm_code_hash(code, sizeof(code), h);
		hex_encode(h, HASH_LEN, hh);
		result = json_pack("{s:s, s:s, s:i}", "code_hash", hh, "record", "017100000000000000",
				   "balance", 0);
	} else if (strcmp(method, "simulatetransaction") == 0 && !fake.no_simulate) {
		result = json_pack("{s:b, s:b, s:s?, s:i, s:i, s:n, s:[]}", "valid", !fake.sim_error, "ok",
				   !fake.sim_error, "error", fake.sim_error, "gas_used", 0, "fee", 100000,
				   "created", "events");
	} else if (strcmp(method, "gettransaction") == 0) {
		result = json_pack("{s:O, s:s, s:i, s:i, s:s, s:{s:b, s:n, s:i, s:[]}}", "txid",
				   json_array_get(params, 0), "status", "committed", "height", 8,
				   "index", 0, "kind", "transfer", "result", "ok", 1, "error",
				   "gas_used", 0, "events");
	} else if (strcmp(method, "echotext") == 0) {
		result = json_string("hello \x1b]0;owned\x07 world");
	} else {
		error = json_pack("{s:i, s:s}", "code", -32601, "message", "Method not found");
	}
	return fake_rpc_reply_text(result, error);
}

static int fake_start(void)
{
	fake.network = "dev";
	fake.chain = "assay-dev";
	fake.min_fee = 1000;
	fake.gas_price = 1;
	memset(fake.genesis, 0x11, HASH_LEN);
	sodium_bin2base64(fake.expect_auth, sizeof(fake.expect_auth),
			  (const unsigned char *)"__cookie__:c00k1e", 17,
			  sodium_base64_VARIANT_ORIGINAL);
	fake.rpc.expect_auth = fake.expect_auth;
	return fake_rpc_start(&fake.rpc, fake_reply);
}

/* Runs assay-cli with -datadir and -rpcport pointing at the fake node. */
static int run_cli(const char *first, ...) __attribute__((sentinel));
static int run_cli(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = cli_run_at(tmpdir, fake.rpc.port, first, ap);
	va_end(ap);
	return rc;
}

/* cli_send_from, the path of job dispute (a gas the CLI reckons): with
 * --fee, the fee signed is exactly that, never raised to the node's price;
 * one below the chain's floor is refused before signing; without --fee a
 * default above TXBUILD_MAX_DEFAULT_FEE is refused. */
static int send_from_with_fee(const char *dd, const char *fee, uint64_t gas)
{
	struct argv_buf a;
	struct cli_ctx ctx;
	struct cli_chain chain;
	char err[256], dflag[320], pflag[32], txid[2 * HASH_LEN + 1];
	json_t *committed = NULL;
	snprintf(dflag, sizeof(dflag), "-datadir=%s", dd);
	snprintf(pflag, sizeof(pflag), "-rpcport=%u", fake.rpc.port);
	mkargv(&a, "assay-cli", dflag, pflag, "getblockcount", NULL);
	int rc = cli_parse(&ctx, a.argc, a.argv, err, sizeof(err));
	if (rc == 0)
		rc = cli_settle(&ctx, err, sizeof(err));
	if (rc == 0 && fee) {
		ctx.opt_name[0] = "fee";
		ctx.opt_value[0] = fee;
		ctx.nopts = 1;
	}
	struct buf payload;
	uint8_t to[ADDR_LEN];
	memset(to, 0x42, ADDR_LEN);
	buf_init(&payload);
	txbuild_transfer_payload(to, 1, &payload);
	if (rc == 0 && (rc = cli_get_chain(&ctx, &chain)) == 0)
		rc = cli_send_from(&ctx, &chain, "alice", cli_unlock, TX_TRANSFER, &payload, gas, 0, txid, &committed);
	json_decref(committed);
	buf_free(&payload);
	freeargv(&a);
	return rc;
}

static void check_send_from_fee(const char *dd)
{
	uint64_t min_fee = fake.min_fee, gas_price = fake.gas_price;
	fake.min_fee = 1000;
	fake.gas_price = 100000000; /* 1,000 gas: 100 ASY, over the cap */
	if (fake.have_sent)
		tx_free(&fake.sent);
	fake.have_sent = 0;
	CHECK_EQ_INT(send_from_with_fee(dd, NULL, 1000), CLI_EFAIL);
	CHECK(!fake.have_sent);
	CHECK_EQ_INT(send_from_with_fee(dd, "0.001", 1000), CLI_EUSAGE); /* below 100.000001 ASY */
	CHECK(!fake.have_sent);
	CHECK_EQ_INT(send_from_with_fee(dd, "100.5", 1000), CLI_OK);
	CHECK(fake.have_sent && fake.sent.fee == 100500000000ull && fake.sent.gas_limit == 1000);
	/* under the cap: a named fee at the floor goes as named, not raised to
	 * the default offer (floor with min_fee at 0.0001 ASY) */
	fake.gas_price = 1;
	CHECK_EQ_INT(send_from_with_fee(dd, "0.000002", 1000), CLI_OK);
	CHECK(fake.have_sent && fake.sent.fee == 2000);
	CHECK_EQ_INT(send_from_with_fee(dd, NULL, 1000), CLI_OK);
	CHECK(fake.have_sent && fake.sent.fee == TXBUILD_DEFAULT_FEE + 1000);
	fake.min_fee = min_fee;
	fake.gas_price = gas_price;
	if (fake.have_sent)
		tx_free(&fake.sent);
	fake.have_sent = 0;
}

/* The network and chain id a node names are checked against the network
 * the command was given (-network, dev by default) before anything is
 * signed; a chain taking a compiled chain's name must have its id. */
static int send_on(const char *network, const char *to)
{
	if (fake.have_sent)
		tx_free(&fake.sent);
	fake.have_sent = 0;
	return run_cli(network, "send", "--from=alice", "--to", to, "--amount=1", NULL);
}

static void check_node_network(const char *to_dev)
{
	uint8_t to[ADDR_LEN], compiled[HASH_LEN];
	char to_test[ADDR_STR_MAX];
	const struct network_chain *testnet = network_chain_at(0);
	memset(to, 0x42, ADDR_LEN);
	address_encode(NET_TEST, to, to_test);
	CHECK(testnet && strcmp(testnet->network, "testnet") == 0 &&
	      hex_decode(testnet->chain_id, compiled, HASH_LEN) == HASH_LEN);
	/* another network than the one selected, explicitly or by default */
	CHECK_EQ_INT(send_on("-network=testnet", to_test), CLI_EFAIL);
	CHECK(!fake.have_sent);
	fake.network = "testnet";
	CHECK_EQ_INT(send_on("-network=dev", to_dev), CLI_EFAIL);
	CHECK_EQ_INT(send_on("-rpcconnect=127.0.0.1", to_dev), CLI_EFAIL); /* no -network: dev */
	CHECK(!fake.have_sent);
	/* testnet by name, but not the compiled testnet's chain id */
	fake.chain = testnet ? testnet->chain : "";
	CHECK_EQ_INT(send_on("-network=testnet", to_test), CLI_EFAIL);
	CHECK(!fake.have_sent);
	/* the compiled testnet itself, and a testnet of one's own (another chain name) */
	uint8_t genesis[HASH_LEN];
	memcpy(genesis, fake.genesis, HASH_LEN);
	memcpy(fake.genesis, compiled, HASH_LEN);
	CHECK_EQ_INT(send_on("-network=testnet", to_test), CLI_OK);
	CHECK(fake.have_sent && memcmp(fake.sent.chain_id, compiled, HASH_LEN) == 0);
	memcpy(fake.genesis, genesis, HASH_LEN);
	fake.chain = "assay-mynet";
	CHECK_EQ_INT(send_on("-network=testnet", to_test), CLI_OK);
	CHECK(fake.have_sent && memcmp(fake.sent.chain_id, genesis, HASH_LEN) == 0);
	/* the compiled testnet's id under another network's name */
	fake.network = "dev";
	fake.chain = "assay-dev";
	memcpy(fake.genesis, compiled, HASH_LEN);
	CHECK_EQ_INT(send_on("-network=dev", to_dev), CLI_EFAIL);
	CHECK(!fake.have_sent);
	memcpy(fake.genesis, genesis, HASH_LEN);
	CHECK_EQ_INT(send_on("-network=dev", to_dev), CLI_OK);
	if (fake.have_sent)
		tx_free(&fake.sent);
	fake.have_sent = 0;
}

static void test_commands_against_fake_node(void)
{
	char dd[300], alice_addr[ADDR_STR_MAX], other_net[ADDR_STR_MAX], err[256];
	uint8_t addr[ADDR_LEN];
	struct keystore_info info;
	snprintf(dd, sizeof(dd), "%s/node", tmpdir);
	mkdir(dd, 0700);
	write_file(dd, ".cookie", "__cookie__:c00k1e\n");
	CHECK(fake_start() == 0);

	CHECK(run_cli("wallet", "create", "alice", NULL) == CLI_OK);
	CHECK(keystore_read_info(dd, "alice", &info, err, sizeof(err)) == 0);
	snprintf(alice_addr, sizeof(alice_addr), "%s", info.address);
	address_from_pubkey(info.pubkey, addr);
	address_encode(NET_TEST, addr, other_net);

	CHECK(run_cli("balance", alice_addr, NULL) == CLI_OK);
	CHECK(run_cli("balance", "alice", "--json", NULL) == CLI_OK);
	CHECK(run_cli("balance", other_net, NULL) == CLI_EUSAGE);
	CHECK(run_cli("balance", "dassay1qqqqqqqq", NULL) == CLI_EUSAGE);
	CHECK(run_cli("balance", "nobody", NULL) == CLI_EFAIL);
	CHECK(fake.rpc.auth_failures == 0);

	/* a transfer: check what reached the node, field by field */
	uint8_t to[ADDR_LEN];
	char to_text[ADDR_STR_MAX];
	memset(to, 0x42, ADDR_LEN);
	address_encode(NET_DEV, to, to_text);
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "-amount=1.5", "--fee=0.001", NULL) ==
	      CLI_OK);
	CHECK(fake.have_sent);
	if (fake.have_sent) {
		struct transfer_payload tp;
		CHECK(tx_verify_sig(&fake.sent) == 0);
		CHECK(memcmp(fake.sent.sender, info.pubkey, PUBKEY_LEN) == 0);
		CHECK(memcmp(fake.sent.chain_id, fake.genesis, HASH_LEN) == 0);
		CHECK(fake.sent.nonce == 4); /* pending_nonce, not nonce */
		CHECK(fake.sent.fee == 1000000);
		CHECK(fake.sent.kind == TX_TRANSFER && fake.sent.gas_limit == 0);
		CHECK(transfer_decode(&tp, fake.sent.payload, fake.sent.payload_len) == 0);
		CHECK(tp.amount == 1500000000ull && memcmp(tp.to, to, ADDR_LEN) == 0);
	}
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=2", "--wait",
		      "--timeout=5", NULL) == CLI_OK);
	CHECK(fake.have_sent && fake.sent.fee == 100000); /* the default fee */

	/* the fee floor is the node's, never a copy of the genesis defaults */
	fake.min_fee = 250000;
	fake.gas_price = 3;
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=2", NULL) == CLI_OK);
	CHECK(fake.have_sent && fake.sent.fee == 250000); /* raised to the node's min_fee */
	CHECK(run_cli("contract", "call", "--from=alice", to_text, "ping", NULL) == CLI_OK);
	CHECK(fake.have_sent && fake.sent.kind == TX_CALL && fake.sent.gas_limit == 1000000 &&
	      fake.sent.fee == 250000 + 3 * 1000000ull); /* min_fee + gas x gas_price, exact */
	if (fake.have_sent)
		tx_free(&fake.sent);
	fake.have_sent = 0;
	CHECK(run_cli("contract", "call", "--from=alice", to_text, "ping", "--fee=0.003", NULL) ==
	      CLI_EUSAGE); /* 3000000 units < 3250000 */
	CHECK(!fake.have_sent);
	/* a node naming a price above the 10 ASY paid unasked: contract
	 * commands refuse to sign it without --fee, as every signing command does */
	fake.gas_price = 100000000; /* 100,000 ASY for the default 1,000,000 gas */
	CHECK(run_cli("contract", "call", "--from=alice", to_text, "ping", NULL) == CLI_EFAIL);
	CHECK(!fake.have_sent);
	CHECK(run_cli("contract", "call", "--from=alice", to_text, "ping", "--gas=10", "--fee=0.000001250", NULL) ==
	      CLI_EUSAGE); /* a --fee below that floor: refused, not raised */
	CHECK(!fake.have_sent);
	CHECK(run_cli("contract", "call", "--from=alice", to_text, "ping", "--gas=10", "--fee=1.00025", NULL) ==
	      CLI_OK); /* named: paid as given */
	CHECK(fake.have_sent && fake.sent.fee == 1000250000ull);
	if (fake.have_sent)
		tx_free(&fake.sent);
	fake.have_sent = 0;
	check_send_from_fee(dd);
	fake.min_fee = 1000;
	fake.gas_price = 1;

	/* the pre-flight check: a doomed send is refused and nothing reaches
	 * sendrawtransaction; --force sends it; so for a node that cannot
	 * simulate (refused unless --force) */
	fake.sim_error = "insufficient balance: has 12500000000, needs 99000000000";
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=99", NULL) == CLI_EFAIL);
	CHECK(!fake.have_sent);
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=99", "--force", NULL) == CLI_OK);
	CHECK(fake.have_sent);
	if (fake.have_sent)
		tx_free(&fake.sent);
	fake.have_sent = 0;
	fake.sim_error = NULL;
	fake.no_simulate = 1;
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=1", NULL) == CLI_EFAIL);
	CHECK(!fake.have_sent);
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=1", "--force", NULL) == CLI_OK);
	CHECK(fake.have_sent);
	fake.no_simulate = 0;
	CHECK(run_cli("send", "--from=alice", "--to", other_net, "--amount=1", NULL) ==
	      CLI_EUSAGE);
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=-1", NULL) == CLI_EUSAGE);
	CHECK(run_cli("send", "--from=ghost", "--to", to_text, "--amount=1", NULL) == CLI_EFAIL);
	setenv("ASSAY_PASSPHRASE", "wrong", 1);
	CHECK(run_cli("send", "--from=alice", "--to", to_text, "--amount=1", NULL) == CLI_EFAIL);
	setenv("ASSAY_PASSPHRASE", "test-pass", 1);

	CHECK(run_cli("tx", "status", "00", NULL) == CLI_EUSAGE);
	CHECK(run_cli("tx", "status",
		      "1111111111111111111111111111111111111111111111111111111111111111",
		      NULL) == CLI_OK);
	CHECK(run_cli("getmempoolinfo", NULL) == CLI_EFAIL); /* the fake lacks it */
	CHECK(run_cli("getblockchaininfo", NULL) == CLI_OK);

	check_node_network(to_text);

	/* import-dev: refused on testnet, and on a "dev" node whose chain id
	 * is not the built-in dev chain's; stored on dev, idempotent */
	fake.network = "testnet";
	CHECK(run_cli("wallet", "import-dev", NULL) == CLI_EFAIL);
	CHECK(keystore_read_info(dd, "dev", &info, err, sizeof(err)) == ASSAY_ENOTFOUND);
	fake.network = "dev";
	CHECK_EQ_INT(run_cli("wallet", "import-dev", NULL), CLI_EFAIL); /* fake.genesis: all 0x11 */
	CHECK(keystore_read_info(dd, "dev", &info, err, sizeof(err)) == ASSAY_ENOTFOUND);
	uint8_t fake_id[HASH_LEN];
	memcpy(fake_id, fake.genesis, HASH_LEN);
	CHECK(hex_decode(NETWORK_DEV_CHAIN_ID, fake.genesis, HASH_LEN) == HASH_LEN);
	CHECK(run_cli("wallet", "import-dev", NULL) == CLI_OK);
	CHECK(run_cli("wallet", "import-dev", NULL) == CLI_OK);
	uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN];
	keystore_dev_seed(seed);
	key_from_seed(seed, pk, sk);
	CHECK(keystore_read_info(dd, "dev", &info, err, sizeof(err)) == 0 &&
	      memcmp(info.pubkey, pk, PUBKEY_LEN) == 0);
	memcpy(fake.genesis, fake_id, HASH_LEN);

	/* a wrong cookie is an authorization error, not "unreachable" */
	write_file(dd, ".cookie", "__cookie__:stale\n");
	CHECK(run_cli("getblockchaininfo", NULL) == CLI_EFAIL);
	CHECK(fake.rpc.auth_failures == 1);

	/* 127.1 reaches the fake node on 127.0.0.1, but is no loopback address
	 * in dotted-quad form: the cookie stays home, and the 401 says why;
	 * naming the cookie file sends it */
	write_file(dd, ".cookie", "__cookie__:c00k1e\n");
	CHECK_EQ_INT(run_cli("-rpcconnect=127.1", "getblockchaininfo", NULL), CLI_EFAIL);
	CHECK(fake.rpc.auth_failures == 2);
	char cookie_flag[400];
	snprintf(cookie_flag, sizeof(cookie_flag), "-rpccookiefile=%s/.cookie", dd);
	CHECK_EQ_INT(run_cli("-rpcconnect=127.1", cookie_flag, "getblockchaininfo", NULL), CLI_OK);
	CHECK(fake.rpc.auth_failures == 2);

	/* a method's string result goes to stdout with the node's terminal
	 * escapes removed */
	char out_path[400], out[256] = {0};
	snprintf(out_path, sizeof(out_path), "%s/stdout.txt", tmpdir);
	fflush(stdout);
	int saved = dup(1), fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	int echo_rc = run_cli("echotext", NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	CHECK_EQ_INT(echo_rc, CLI_OK);
	FILE *f = fopen(out_path, "r");
	CHECK(f != NULL);
	if (f) {
		CHECK(fread(out, 1, sizeof(out) - 1, f) > 0);
		fclose(f);
	}
	CHECK(strchr(out, 0x1b) == NULL && strchr(out, 0x07) == NULL);
	CHECK(strstr(out, "hello ]0;owned world") != NULL);
	unlink(out_path);
	/* and the process writes no core file (its secrets would be in it) */
	struct rlimit core;
	CHECK(getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0);
	fake_rpc_stop(&fake.rpc);
	if (fake.have_sent)
		tx_free(&fake.sent);

	/* nobody listens on the port any more */
	CHECK(run_cli("getblockchaininfo", NULL) == CLI_EUNREACHABLE);
	CHECK(run_cli("balance", alice_addr, NULL) == CLI_EUNREACHABLE);
}

/* Text a node sends loses the controls that would drive a terminal:
 * C0 but newline and tab, DEL, and the C1 controls in UTF-8; other UTF-8
 * is kept. */
static void test_strip_controls(void)
{
	char text[] = "bad \x1b]0;owned\x07" "fee\x1b[2J\r\x7f\xc2\x9b" "31m\tok\nline \xc3\xa9 \xc2\xa0";
	cli_strip_controls_as(text, 1); /* as in a UTF-8 locale */
	CHECK(strcmp(text, "bad ]0;ownedfee[2J31m\tok\nline \xc3\xa9 \xc2\xa0") == 0);
	char empty[] = "";
	cli_strip_controls_as(empty, 1);
	CHECK(empty[0] == 0);
	char tail[] = "x\xc2";
	cli_strip_controls_as(tail, 1);
	CHECK(strcmp(tail, "x\xc2") == 0);
}

/* The C1 controls as raw bytes, outside well-formed UTF-8, are stripped
 * too: a lone 0x9B is CSI to a terminal in an 8-bit mode. Continuation
 * bytes of well-formed sequences in that range stay (U+00E9, U+20AC,
 * U+1F600), as do other bytes of broken UTF-8. */
/* jansson's frees in assay-cli zero the block first (its copies of the
 * words in `wallet create --json`); a round trip under it is clean (ASan). */
static void test_json_frees_wiped(void)
{
	CHECK(run_cli("--json", "wallet", "list", NULL) == CLI_OK);
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	CHECK(f == cli_free_wiped);
	json_t *j = json_pack("{s:s}", "mnemonic", "abandon ability able about above absent");
	char *text = json_dumps(j, 0);
	CHECK(text && strstr(text, "abandon") != NULL);
	cli_free_wiped(text);
	json_decref(j);
	cli_free_wiped(NULL);
}

static void test_strip_raw_c1(void)
{
	char csi[] = "a\x9b"
		     "31mred\x9d"
		     "0;t\x07 \x80\x9f\x85z";
	cli_strip_controls_as(csi, 1);
	CHECK(strcmp(csi, "a31mred0;t z") == 0);
	char kept[] = "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff \xa0";
	cli_strip_controls_as(kept, 1);
	CHECK(strcmp(kept, "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff \xa0") == 0);
	/* a truncated or overlong sequence does not shelter a C1 byte */
	char cut[] = "\xe2\x9b|\xc0\x9b|\xe0\x9b\x80|\xed\xa0\x80|\xf0\x8f\x9b";
	cli_strip_controls_as(cut, 1);
	CHECK(strcmp(cut, "\xe2|\xc0|\xe0|\xed\xa0|\xf0") == 0);
	/* outside a UTF-8 locale the terminal may read byte by byte: a
	 * well-formed U+201B (E2 80 9B) would be PAD and CSI there */
	char latin[] = "a\xe2\x80\x9b" "31m \xc3\xa9\x1b\xa0";
	cli_strip_controls_as(latin, 0);
	CHECK(strcmp(latin, "a\xe2" "31m \xc3\xa9\xa0") == 0);
	CHECK(cli_locale_is_utf8(NULL, NULL, "en_US.UTF-8"));
	CHECK(cli_locale_is_utf8("C.utf8", NULL, "fr_FR.ISO-8859-1"));
	CHECK(!cli_locale_is_utf8("", "de_DE.ISO-8859-1", "en_US.UTF-8")); /* LC_CTYPE before LANG */
	CHECK(cli_locale_is_utf8(NULL, NULL, NULL) && cli_locale_is_utf8(NULL, "C", NULL));
	CHECK(!cli_locale_is_utf8(NULL, NULL, "ru_RU.KOI8-R"));
}

/* Runs assay-cli -datadir=DIR/full WORDS... in a child whose standard
 * output is /dev/full; its exit status, and its stderr in err. */
static int run_to_full_stdout(char *err, size_t errlen, const char *first, ...) __attribute__((sentinel));
static int run_to_full_stdout(char *err, size_t errlen, const char *first, ...)
{
	char errpath[320], dd[320];
	snprintf(errpath, sizeof(errpath), "%s/full.err", tmpdir);
	snprintf(dd, sizeof(dd), "-datadir=%s/full", tmpdir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		va_list ap;
		if (!freopen("/dev/full", "w", stdout) || !freopen(errpath, "w", stderr))
			_exit(99);
		const char *fixed[] = {dd};
		va_start(ap, first);
		int rc = cli_run_words(fixed, 1, first, ap);
		va_end(ap);
		fflush(stderr);
		_exit(rc);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	FILE *f = fopen(errpath, "r");
	size_t n = f ? fread(err, 1, errlen - 1, f) : 0;
	err[n] = 0;
	if (f)
		fclose(f);
	return WEXITSTATUS(status);
}

/* A secret printed once (the backup words, an exported seed) that cannot
 * reach stdout is a failure the user is told of, with the way out. */
static void test_secret_to_full_stdout(void)
{
	char err[2048];
	CHECK_EQ_INT(run_to_full_stdout(err, sizeof(err), "wallet", "create", "lost", NULL), CLI_EFAIL);
	CHECK(strstr(err, "backup words could not be written") && strstr(err, "wallet export lost --seed"));
	CHECK_EQ_INT(run_to_full_stdout(err, sizeof(err), "--json", "wallet", "create", "lost2", NULL), CLI_EFAIL);
	CHECK(strstr(err, "backup words could not be written") != NULL);
	CHECK_EQ_INT(run_to_full_stdout(err, sizeof(err), "wallet", "export", "lost", "--seed", "--yes", NULL),
		     CLI_EFAIL);
	CHECK(strstr(err, "seed of wallet 'lost' could not be written") != NULL);
	CHECK_EQ_INT(run_to_full_stdout(err, sizeof(err), "wallet", "export", "lost", NULL), CLI_EFAIL);
}

int main(void)
{
	char tmpl[64];
	snprintf(tmpl, sizeof(tmpl), "/tmp/assay-test-cli-%s", "XX" "XX" "XX"); /* mkdtemp template */
	if (keys_init() != 0 || !mkdtemp(tmpl))
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	setenv("ASSAY_SCRYPT_N", "1024", 1);
	setenv("ASSAY_TESTING", "1", 1);
	setenv("ASSAY_PASSPHRASE", "test-pass", 1);
	RUN(test_parse_globals);
	RUN(test_parse_command_opts);
	RUN(test_parse_errors_and_raw);
	RUN(test_settle);
	RUN(test_reply_parsing);
	RUN(test_commands_against_fake_node);
	RUN(test_secret_to_full_stdout);
	RUN(test_rpcpassword_sources);
	RUN(test_cookie_only_to_loopback);
	RUN(test_strip_controls);
	RUN(test_strip_raw_c1);
	RUN(test_json_frees_wiped);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpl);
	return test_report("cli");
}
