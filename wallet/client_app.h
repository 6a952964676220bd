/* What the long-running clients (assay-worker, assay-faucet) share around
 * their own logic: the node connection (-rpcuser/-rpcpassword, or the
 * datadir's .cookie or -rpccookiefile's, reread once when the node
 * restarted), unlocking the
 * wallet key, a flag's length check and the SIGINT/SIGTERM stop of the event
 * loop. Messages stay with the callers except where both print the same.
 * Not for: assay-cli (wallet/cli.c has its own), option tables. */
#ifndef ASSAY_WALLET_CLIENT_APP_H
#define ASSAY_WALLET_CLIENT_APP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "core/keys.h"
#include "wallet/keystore.h"
#include "wallet/rpc_client.h"

#define CLIENT_APP_PATH_MAX 4096 /* a -datadir, as the clients take it */

/* A client's node connection: where and how it authenticates. */
struct client_app_conn {
	struct rpc_endpoint ep;
	char cookie[CLIENT_APP_PATH_MAX + 16]; /* the cookie file read when no rpcuser is given */
	int cookie_named;    /* cookie is -rpccookiefile's: sent to any host */
	int have_user;       /* -rpcuser given: the cookie is never read */
	int cookie_withheld; /* host is not loopback: DATADIR/.cookie is never sent */
};

/* Fills conn: host, port, and "user:password" when rpcuser or rpcpassword
 * is not empty; else the first line of cookiefile when it is not empty
 * (-rpccookiefile: sent to whatever host), else datadir/.cookie, but only
 * for a loopback host (rpc_client_host_is_loopback; else
 * conn->cookie_withheld). 0, or -1 when there is no cookie to send (conn is
 * usable; the caller says what it means). */
int client_app_connect(struct client_app_conn *conn, const char *host, unsigned port, const char *rpcuser,
		       const char *rpcpassword, const char *cookiefile, const char *datadir);

/* conn's cookie file's first line into conn->ep.auth: 0, or -1 (none, or
 * withheld from a host that is not loopback). */
int client_app_read_cookie(struct client_app_conn *conn);

/* rpc_client_call, retried once after rereading the cookie when the node
 * refused the credentials and no rpcuser was given. Steals params. Returns
 * what rpc_client_call did (0 with *result). */
int client_app_call(struct client_app_conn *conn, const char *method, json_t *params, json_t **result,
		    struct rpc_failure *fail);

/* Unlocks wallet in datadir: says a missing wallet before asking for the
 * passphrase (from passphrase_file when not empty, else the terminal), then
 * loads the key and its address. 0, or -1 logged as "wallet NAME: why". */
int client_app_unlock(const char *datadir, const char *wallet, const char *passphrase_file,
		      struct keystore_key *key, uint8_t addr[ADDR_LEN]);

/* Copies a flag's value into dst (cap bytes): 0, or -1 with
 * "error: -NAME is too long" on stderr. */
int client_app_copy_opt(char *dst, size_t cap, const char *value, const char *name);

/* SIGINT and SIGTERM end base's loop (logged as "signal N: shutting
 * down"). The two events into *sigint and *sigterm (freed by the caller);
 * 0, or -1 when either cannot be made. */
int client_app_signals(struct event_base *base, struct event **sigint, struct event **sigterm);

/* A client's process set-up: log to stderr, SIGPIPE ignored (a peer that
 * hangs up is a failed write, not the end), libsodium ready. 0, or -1 with
 * "libsodium failed to initialise" logged. */
int client_app_init(void);

/* After a failed accept (descriptors exhausted) an HTTP server of
 * client_app_http_listen takes no new connection for this long, instead of
 * retrying at once (which spins a core and writes the log full); the
 * failure is logged at most once per CLIENT_HTTP_ACCEPT_WARN_MS. */
#define CLIENT_HTTP_ACCEPT_PAUSE_MS 100
#define CLIENT_HTTP_ACCEPT_WARN_MS 60000

/* An HTTP server facing the network on host:port (evhttp_new on base):
 * connections idle idle_s seconds are closed, heads are at most
 * max_headers bytes and bodies max_body; a failed accept pauses the
 * listener (above); the soft descriptor limit is raised to the hard one.
 * *http and *resume (a timer the caller frees with event_free) on 0; -1
 * with the error logged. */
int client_app_http_listen(struct event_base *base, const char *host, uint16_t port, int idle_s,
			   size_t max_headers, size_t max_body, struct evhttp **http, struct event **resume);

/* Frees the signal events, the HTTP server and then the event base; NULLs
 * are skipped. */
void client_app_free_loop(struct event_base *base, struct evhttp *http, struct event *sigint,
			  struct event *sigterm);

#endif
