/* assay-cli faucet ADDRESS|NAME [--url URL] [--wait [--timeout S]]: POSTs
 * {"address": ...} to URL/request of an assay-faucet and prints what it
 * said. The faucet checks the address and its limits; the CLI only turns a
 * wallet name into its address (for the -network setting) and, with --wait,
 * follows the transaction on its own node. Not for: the service (faucet/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/error.h"
#include "wallet/cli_faucet.h"
#include "wallet/rpc_client.h"

const struct cli_optdef cli_faucet_opts[] = {
	{"url", 1},
	{"wait", 0},
	{"timeout", 1},
	{NULL, 0},
};

/* http://HOST:PORT[/PREFIX] into host, port and the path of /request. */
/* The faucet sent the transaction to its own node; this node may not have
 * it yet (the relay takes a moment). Waits, up to timeout_s, until
 * gettransaction stops answering "not found" (-5); cli_wait_tx then follows
 * it and reports anything else. */
static void wait_relayed(struct cli_ctx *ctx, const char *txid, unsigned timeout_s)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		json_t *params = json_pack("[s]", txid), *rec = NULL;
		struct rpc_failure f = {0};
		int rc = rpc_client_call(&ctx->rpc, "gettransaction", params, &rec, &f);
		json_decref(params);
		json_decref(rec);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (rc != ASSAY_EINVALID || f.code != -5 || t.tv_sec - t0.tv_sec >= (time_t)timeout_s)
			return;
		struct timespec nap = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
		nanosleep(&nap, NULL);
	}
}

static int parse_url(const char *url, char host[256], unsigned *port, char path[512])
{
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	const char *h = url + 7;
	const char *slash = strchr(h, '/');
	size_t hostport_len = slash ? (size_t)(slash - h) : strlen(h);
	char hostport[300];
	if (hostport_len == 0 || hostport_len >= sizeof(hostport))
		return -1;
	memcpy(hostport, h, hostport_len);
	hostport[hostport_len] = 0;
	char *colon = strrchr(hostport, ':');
	*port = 80;
	if (colon && !strchr(colon, ']')) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (*end || p == 0 || p > 65535)
			return -1;
		*port = (unsigned)p;
		*colon = 0;
	}
	if (hostport[0] == '[') { /* [v6] */
		size_t n = strlen(hostport);
		if (n < 3 || hostport[n - 1] != ']')
			return -1;
		hostport[n - 1] = 0;
		memmove(hostport, hostport + 1, n - 1);
	}
	if (!hostport[0] || strlen(hostport) >= 256)
		return -1;
	snprintf(host, 256, "%s", hostport);
	const char *prefix = slash ? slash : "";
	size_t plen = strlen(prefix);
	while (plen && prefix[plen - 1] == '/')
		plen--;
	if (plen + sizeof("/request") > 512)
		return -1;
	snprintf(path, 512, "%.*s/request", (int)plen, prefix);
	return 0;
}

int cli_faucet(struct cli_ctx *ctx)
{
	const char *url = cli_opt(ctx, "url") ? cli_opt(ctx, "url") : CLI_FAUCET_DEFAULT_URL;
	char host[256], path[512], address[ADDR_STR_MAX];
	unsigned port, timeout_s;
	uint8_t addr[ADDR_LEN];
	if (parse_url(url, host, &port, path) < 0)
		return cli_fail(CLI_EUSAGE, "--url %s: want http://HOST:PORT", url);
	int rc = cli_seconds_opt(ctx, "timeout", CLI_DEFAULT_WAIT_S, &timeout_s);
	if (rc)
		return rc;
	/* an address is passed on as typed (the faucet judges it); a wallet
	 * name becomes its address on the -network setting */
	struct keystore_info info;
	char err[512];
	snprintf(address, sizeof(address), "%s", ctx->args[0]);
	if (keystore_name_valid(ctx->args[0]) &&
	    keystore_read_info(ctx->datadir, ctx->args[0], &info, err, sizeof(err)) == 0) {
		address_from_pubkey(info.pubkey, addr);
		address_encode(cli_local_net(ctx), addr, address);
	}
	json_t *req = json_pack("{s:s}", "address", address);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body)
		return cli_fail(CLI_EFAIL, "out of memory");
	struct rpc_failure fail;
	char *reply = NULL;
	size_t len = 0;
	int status = 0;
	rc = rpc_client_post(host, port, path, body, strlen(body), CLI_FAUCET_REPLY_MAX, &status, &reply,
			     &len, &fail);
	free(body);
	if (rc)
		return cli_fail(rc == ASSAY_EIO ? CLI_EUNREACHABLE : CLI_EFAIL, "faucet %s: %s", url,
				fail.message);
	json_error_t jerr;
	json_t *j = json_loadb(reply, len, 0, &jerr);
	free(reply);
	if (!json_is_object(j)) {
		json_decref(j);
		return cli_fail(CLI_EFAIL, "faucet %s: HTTP %d with a reply that is not JSON", url, status);
	}
	json_t *error = json_object_get(j, "error");
	if (status != 200 || error) {
		char why[600];
		snprintf(why, sizeof(why), "%s",
			 json_is_string(error) ? json_string_value(error) : "no reason given");
		json_decref(j);
		/* 400: the address or the request is wrong (the user's to fix) */
		return cli_fail(status == 400 ? CLI_EUSAGE : CLI_EFAIL, "faucet refused (HTTP %d): %s",
				status, why);
	}
	const char *txid = json_string_value(json_object_get(j, "txid"));
	const char *amount = json_string_value(json_object_get(j, "amount"));
	if (!txid || !amount) {
		json_decref(j);
		return cli_fail(CLI_EFAIL, "faucet %s: the reply lacks txid or amount", url);
	}
	if (!cli_flag(ctx, "wait")) {
		cli_emit(ctx, j, "sent %s ASY to %s\ntxid %s\n", amount, address, txid);
		return CLI_OK;
	}
	char id[2 * HASH_LEN + 1];
	snprintf(id, sizeof(id), "%s", txid);
	json_t *tx = NULL;
	wait_relayed(ctx, id, timeout_s);
	rc = cli_wait_tx(ctx, id, timeout_s, &tx);
	if (rc) {
		json_decref(j);
		return rc;
	}
	json_object_set(j, "committed", tx);
	json_t *height = json_object_get(tx, "height");
	char line[64] = "";
	if (json_is_integer(height))
		snprintf(line, sizeof(line), " in block %lld", (long long)json_integer_value(height));
	json_decref(tx);
	cli_emit(ctx, j, "sent %s ASY to %s\ntxid %s\ncommitted%s\n", amount, address, id, line);
	return CLI_OK;
}
