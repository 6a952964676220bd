/* The node connection, wallet unlock, flag copy and signal stop that
 * assay-worker and assay-faucet share (wallet/client_app.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "core/keys.h"
#include "core/log.h"
#include "wallet/client_app.h"
#include "wallet/passphrase.h"

int client_app_read_cookie(struct client_app_conn *conn)
{
	char path[CLIENT_APP_PATH_MAX + 16], line[RPC_CLIENT_AUTH_MAX];
	snprintf(path, sizeof(path), "%s/.cookie", conn->datadir);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -1;
	int ok = fgets(line, sizeof(line), fp) != NULL;
	fclose(fp);
	if (!ok)
		return -1;
	line[strcspn(line, "\r\n")] = 0;
	snprintf(conn->ep.auth, sizeof(conn->ep.auth), "%s", line);
	return 0;
}

int client_app_connect(struct client_app_conn *conn, const char *host, unsigned port, const char *rpcuser,
		       const char *rpcpassword, const char *datadir)
{
	snprintf(conn->ep.host, sizeof(conn->ep.host), "%s", host);
	conn->ep.port = port;
	conn->datadir = datadir;
	conn->have_user = rpcuser[0] != 0;
	if (conn->have_user) {
		snprintf(conn->ep.auth, sizeof(conn->ep.auth), "%s:%s", rpcuser, rpcpassword);
		return 0;
	}
	return client_app_read_cookie(conn);
}

int client_app_call(struct client_app_conn *conn, const char *method, json_t *params, json_t **result,
		    struct rpc_failure *fail)
{
	int rc = rpc_client_call(&conn->ep, method, params, result, fail);
	if (rc == ASSAY_EAUTH && !conn->have_user && client_app_read_cookie(conn) == 0)
		rc = rpc_client_call(&conn->ep, method, params, result, fail);
	json_decref(params);
	return rc;
}

int client_app_unlock(const char *datadir, const char *wallet, const char *passphrase_file,
		      struct keystore_key *key, uint8_t addr[ADDR_LEN])
{
	char pass[PASSPHRASE_MAX + 1], prompt[160], err[512];
	struct keystore_info info;
	/* A wallet that is not there is said before any passphrase is asked for. */
	int rc = keystore_read_info(datadir, wallet, &info, err, sizeof(err));
	if (rc) {
		log_error("wallet %s: %s", wallet, err);
		return -1;
	}
	snprintf(prompt, sizeof(prompt), "Passphrase for wallet '%s': ", wallet);
	rc = passphrase_get(passphrase_file[0] ? passphrase_file : NULL, prompt, 0, pass, err, sizeof(err));
	if (rc == 0)
		rc = keystore_load(datadir, wallet, pass, key, err, sizeof(err));
	sodium_memzero(pass, sizeof(pass));
	if (rc) {
		log_error("wallet %s: %s", wallet, err);
		return -1;
	}
	address_from_pubkey(key->info.pubkey, addr);
	return 0;
}

int client_app_copy_opt(char *dst, size_t cap, const char *value, const char *name)
{
	if (strlen(value) >= cap) {
		fprintf(stderr, "error: -%s is too long\n", name);
		return -1;
	}
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
}

int client_app_signals(struct event_base *base, struct event **sigint, struct event **sigterm)
{
	*sigint = evsignal_new(base, SIGINT, on_signal, base);
	*sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (!*sigint || !*sigterm)
		return -1;
	event_add(*sigint, NULL);
	event_add(*sigterm, NULL);
	return 0;
}

int client_app_init(void)
{
	log_set_stderr(1);
	signal(SIGPIPE, SIG_IGN);
	if (keys_init() != 0) {
		log_error("libsodium failed to initialise");
		return -1;
	}
	return 0;
}

void client_app_free_loop(struct event_base *base, struct evhttp *http, struct event *sigint,
			  struct event *sigterm)
{
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (http)
		evhttp_free(http);
	if (base)
		event_base_free(base);
}
