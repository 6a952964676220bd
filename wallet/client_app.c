/* The node connection, wallet unlock, flag copy and signal stop that
 * assay-worker and assay-faucet share (wallet/client_app.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/listener.h>

#include <sodium.h>

#include "core/error.h"
#include "core/keys.h"
#include "core/log.h"
#include "wallet/client_app.h"
#include "wallet/passphrase.h"

int client_app_read_cookie(struct client_app_conn *conn)
{
	char line[RPC_CLIENT_AUTH_MAX];
	if (conn->cookie_withheld)
		return -1;
	FILE *fp = fopen(conn->cookie, "r");
	if (!fp)
		return -1;
	int ok = fgets(line, sizeof(line), fp) != NULL;
	fclose(fp);
	if (!ok)
		return -1;
	line[strcspn(line, "\r\n")] = 0;
	snprintf(conn->ep.auth, sizeof(conn->ep.auth), "%s", line);
	sodium_memzero(line, sizeof(line));
	return 0;
}

int client_app_connect(struct client_app_conn *conn, const char *host, unsigned port, const char *rpcuser,
		       const char *rpcpassword, const char *cookiefile, const char *datadir)
{
	snprintf(conn->ep.host, sizeof(conn->ep.host), "%s", host);
	conn->ep.port = port;
	conn->cookie_named = cookiefile[0] != 0;
	if (conn->cookie_named)
		snprintf(conn->cookie, sizeof(conn->cookie), "%s", cookiefile);
	else
		snprintf(conn->cookie, sizeof(conn->cookie), "%s/.cookie", datadir);
	conn->have_user = rpcuser[0] != 0 || rpcpassword[0] != 0; /* as assay-cli: a password alone is sent as ":PW" */
	conn->cookie_withheld = !conn->have_user && !conn->cookie_named && !rpc_client_host_is_loopback(host);
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

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/* The pause timer of the one listener a process has: libevent hands the
 * accept error callback evhttp's argument, not ours. */
static struct event *accept_resume;
static uint64_t accept_warned_ms;

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)arg;
	int err = errno;
	evconnlistener_disable(lev);
	uint64_t now = mono_ms();
	if (!accept_warned_ms || now - accept_warned_ms >= CLIENT_HTTP_ACCEPT_WARN_MS) {
		accept_warned_ms = now;
		log_warn("http: accept failed: %s; new connections pause %d ms (logged once a minute)", strerror(err),
			 CLIENT_HTTP_ACCEPT_PAUSE_MS);
	}
	struct timeval tv = {0, CLIENT_HTTP_ACCEPT_PAUSE_MS * 1000};
	if (!accept_resume || evtimer_add(accept_resume, &tv) != 0)
		evconnlistener_enable(lev); /* no timer: as before, rather than deaf */
}

int client_app_http_listen(struct event_base *base, const char *host, uint16_t port, int idle_s,
			   size_t max_headers, size_t max_body, struct evhttp **http, struct event **resume)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the descriptor limit: %s", strerror(errno));
	}
	*http = evhttp_new(base);
	*resume = NULL;
	struct evhttp_bound_socket *bound = *http ? evhttp_bind_socket_with_handle(*http, host, port) : NULL;
	struct evconnlistener *lev = bound ? evhttp_bound_socket_get_listener(bound) : NULL;
	if (lev)
		*resume = evtimer_new(base, on_resume, lev);
	if (!lev || !*resume) {
		log_error("cannot listen on %s:%u: %s", host, (unsigned)port, strerror(errno));
		if (*http)
			evhttp_free(*http);
		*http = NULL;
		return -1;
	}
	accept_resume = *resume;
	evconnlistener_set_error_cb(lev, on_accept_error);
	evhttp_set_timeout(*http, idle_s);
	evhttp_set_max_headers_size(*http, max_headers);
	evhttp_set_max_body_size(*http, max_body);
	return 0;
}

void client_app_free_loop(struct event_base *base, struct evhttp *http, struct event *sigint,
			  struct event *sigterm)
{
	accept_resume = NULL; /* the caller's to free */
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (http)
		evhttp_free(http);
	if (base)
		event_base_free(base);
}
