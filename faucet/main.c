/* assay-faucet: gives test coins (docs/faucet.md). Serves a small HTML page
 * and a JSON endpoint over HTTP; each request sends a fixed amount from one
 * wallet key to an address, at most once per -interval per address and per
 * -ip-interval per client IP. Talks to a node over JSON-RPC with the
 * clients' library (libassay_client.a), as assay-worker does; never links
 * the node. Not for: mainnet (it refuses to run on one). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include <config.h>
#include "core/conf.h"
#include "core/error.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/network.h"
#include "core/tx.h"
#include "faucet/limit.h"
#include "wallet/amount.h"
#include "wallet/client_app.h"
#include "wallet/client_chain.h"
#include "wallet/client_opts.h"
#include "wallet/keystore.h"
#include "wallet/passphrase.h"
#include "wallet/rpc_client.h"
#include "wallet/txbuild.h"

#define FAUCET_LISTEN "127.0.0.1:29460"                /* default HTTP address */
#define FAUCET_NETWORK "testnet"                       /* default -network: -rpcport follows it */
#define FAUCET_DEFAULT_AMOUNT (10ull * 1000000000ull)  /* 10 ASY per request */
#define FAUCET_DEFAULT_INTERVAL_S 86400u               /* once a day per address and per IP */
#define FAUCET_MAX_BODY 4096                           /* a request body: one address */
/* What evhttp reads of a body at most (larger: its own 413 before on_request):
 * room for on_request to refuse an oversized one with its 400 JSON. */
#define FAUCET_MAX_READ (16 * FAUCET_MAX_BODY)
#define FAUCET_IDLE_TIMEOUT_S 10    /* the HTTP server closes a connection idle this long */
#define FAUCET_MAX_HEADERS 8192     /* bytes of a request's head */
#define FAUCET_MAX_INTERVAL_S (10ull * 365 * 86400)    /* ten years: ms of it stay far from 2^64 */
#define FAUCET_MAX_AMOUNT (1000000ull * 1000000000ull) /* 10^6 ASY per request: a typo, not a faucet */
#define FAUCET_CONN_LOG_INTERVAL_MS 60000u             /* one "closed a connection" line a minute at most */
/* A connection must deliver each whole request (head and body) within this
 * long of its accept or of its previous answer, however steadily it sends:
 * the idle timeout alone never fires on a client sending a byte a second. */
#define FAUCET_REQUEST_DEADLINE_S 20
#define FAUCET_DEADLINE_SWEEP_MS 1000 /* how often connections are held to it */
/* Each call to the node once serving, instead of RPC_CLIENT_TIMEOUT_MS: the
 * calls block the one HTTP loop, so a hung node would otherwise hold every
 * client for 30 s a call, three calls a request. */
#define FAUCET_RPC_TIMEOUT_MS 5000
/* GET /status shows the balance as the node gave it at most this long
 * ago: anyone may ask, and each call to the node blocks the one loop (up
 * to FAUCET_RPC_TIMEOUT_MS with a hung node), so a flood of /status makes
 * at most one call a second, whatever its answer was. */
#define FAUCET_STATUS_CACHE_MS 1000

/* A connection evhttp has accepted, until its address is looked at in the
 * same turn of the loop (on_admit). */
struct pending_conn {
	struct bufferevent *bev; /* a reference of ours, so it outlives an early free */
	struct pending_conn *next;
};

struct faucet_cfg {
	struct client_opts common; /* node, wallet, -listen (wallet/client_opts.h) */
	char conf[CLIENT_APP_PATH_MAX]; /* -conf: the faucet's own file (empty: DATADIR/assay.conf) */
	uint64_t amount;           /* base units per request */
	uint64_t interval_s;       /* per address */
	uint64_t ip_interval_s;    /* per client IP */
	int ip_interval_set;
	int debug;
};

struct faucet {
	struct faucet_cfg cfg;
	struct client_app_conn rpc;
	struct keystore_key key;
	uint8_t addr[ADDR_LEN];
	char address[ADDR_STR_MAX]; /* the faucet's own address */
	struct client_chain chain;
	faucet_limits_t *by_address, *by_ip;
	faucet_limits_t *by_net6;     /* FAUCET_NET6_GRANTS per -ip-interval per IPv6 /32 */
	faucet_conns_t *conns;        /* open connections per client (FAUCET_CONNS_PER_CLIENT) */
	struct pending_conn *pending; /* accepted, not yet admitted */
	struct event *admit_ev;
	struct event *sweep_ev; /* every FAUCET_DEADLINE_SWEEP_MS: closes connections past their deadline */
	char status_balance[AMOUNT_STR_MAX]; /* /status's balance, asked at status_at_ms ("unknown": failed) */
	uint64_t status_at_ms;               /* mono_ms of that call; 0: never */
	struct log_rate conn_log;
	struct event_base *base;
	struct evhttp *http;
	struct event *sigint_ev, *sigterm_ev;
	struct event *resume_ev; /* re-enables the listener after an accept failure */
	uint64_t served; /* requests that sent coins */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* For connection deadlines: a wall-clock step must not close every
 * connection at once, nor keep a slow one open. */
static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Calls method (params stolen; NULL = []). 0 with *result, or an ASSAY_E*
 * code of rpc_client_call with the reason in fail. A node restarted since
 * (a new cookie) is retried once. */
static int call(struct faucet *f, const char *method, json_t *params, json_t **result,
		struct rpc_failure *fail)
{
	int rc = client_app_call(&f->rpc, method, params, result, fail);
	if (rc)
		log_warn("rpc %s: %s", method, fail->message);
	return rc;
}

/* Whether a failed sendrawtransaction may still have reached the node: only
 * an answer of the node's (an error object, a refused login) or a failure
 * before anything was sent says it did not. A timeout or a connection
 * broken before the whole reply leaves the transaction perhaps in the
 * mempool, so the request counts as served: asked again, the faucet would
 * sign a second transfer with the next nonce and pay twice. */
static int send_in_doubt(int rc)
{
	return rc != ASSAY_EINVALID && rc != ASSAY_EAUTH && rc != ASSAY_ENOMEM && rc != ASSAY_EARG;
}

/* ---- sending ---- */

/* Sends cfg.amount to `to`; the txid into txid. 0, or -1 with why and
 * *in_doubt set when the transaction may have reached the node all the
 * same (send_in_doubt). */
static int send_coins(struct faucet *f, const uint8_t to[ADDR_LEN], char txid[2 * HASH_LEN + 1], char *why,
		      size_t whylen, int *in_doubt)
{
	*in_doubt = 0;
	struct rpc_failure fail;
	json_t *acct;
	if (call(f, "getaccount", json_pack("[s]", f->address), &acct, &fail) < 0) {
		snprintf(why, whylen, "the node did not answer: %s", fail.message);
		return -1;
	}
	json_t *nonce = json_object_get(acct, "pending_nonce");
	json_t *balance = json_object_get(acct, "balance");
	struct txbuild_spec spec = {.nonce = json_is_integer(nonce) ? (uint64_t)json_integer_value(nonce) : 0,
				    .kind = TX_TRANSFER};
	uint64_t have = json_is_integer(balance) ? (uint64_t)json_integer_value(balance) : 0;
	json_decref(acct);
	/* the gas that creates the recipient's account, when it has none */
	char to_text[ADDR_STR_MAX];
	address_encode(f->chain.network->family, to, to_text);
	if (call(f, "getaccount", json_pack("[s]", to_text), &acct, &fail) < 0) {
		snprintf(why, whylen, "the node did not answer: %s", fail.message);
		return -1;
	}
	int bad = txbuild_transfer_gas(acct, &spec.gas_limit);
	json_decref(acct);
	if (bad) {
		snprintf(why, whylen, "the node's getaccount reply lacks a balance or nonce");
		return -1;
	}
	if (txbuild_default_fee(&f->chain.params, spec.gas_limit, &spec.fee) != 0) {
		snprintf(why, whylen, "the node's fee rule asks more than 10 ASY for a transfer (TXBUILD_MAX_DEFAULT_FEE)");
		return -1;
	}
	if (have < f->cfg.amount || have - f->cfg.amount < spec.fee) {
		char left[AMOUNT_STR_MAX];
		amount_format(have, left);
		snprintf(why, whylen, "the faucet is empty (%s ASY left)", left);
		return -1;
	}
	memcpy(spec.chain_id, f->chain.chain_id, HASH_LEN);
	struct buf payload, enc;
	buf_init(&payload);
	buf_init(&enc);
	txbuild_transfer_payload(to, f->cfg.amount, &payload);
	spec.payload = payload.data;
	spec.payload_len = payload.len;
	uint8_t id[HASH_LEN];
	int rc = payload.oom ? ASSAY_ENOMEM : txbuild_sign(&spec, f->key.seckey, &enc, id);
	char *hex = rc == 0 ? malloc(2 * enc.len + 1) : NULL;
	if (hex)
		hex_encode(enc.data, enc.len, hex);
	buf_free(&payload);
	buf_free(&enc);
	if (!hex) {
		snprintf(why, whylen, "cannot build the transaction");
		return -1;
	}
	json_t *sent;
	rc = call(f, "sendrawtransaction", json_pack("[s]", hex), &sent, &fail);
	free(hex);
	hex_encode(id, HASH_LEN, txid);
	if (rc < 0 && send_in_doubt(rc)) {
		*in_doubt = 1;
		snprintf(why, whylen,
			 "the node did not confirm transaction %s (%s); it may still arrive, so this "
			 "request counts as served",
			 txid, fail.message);
		return -1;
	}
	if (rc < 0) {
		snprintf(why, whylen, "the node refused the transaction: %s", fail.message);
		return -1;
	}
	json_decref(sent);
	return 0;
}

/* ---- HTTP ---- */

static void reply_json(struct evhttp_request *req, int status, const char *reason, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evbuffer_add_printf(out, "%s\n", text ? text : "{\"error\":\"out of memory\"}");
	free(text);
	evhttp_send_reply(req, status, reason, NULL);
}

static void reply_error(struct evhttp_request *req, int status, const char *reason, const char *msg)
{
	reply_json(req, status, reason, json_pack("{s:s}", "error", msg));
}

/* The "address" of a request: ?address= on GET, or a POST body that is JSON
 * {"address": ...} or a form (address=...). Into out; 0, or -1 with why. */
static int request_address(struct evhttp_request *req, char *out, size_t outlen, char *why, size_t whylen)
{
	struct evkeyvalq q;
	const char *value = NULL;
	int rc = -1;
	TAILQ_INIT(&q);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
		if (query && evhttp_parse_query_str(query, &q) == 0)
			value = evhttp_find_header(&q, "address");
		if (value && strlen(value) < outlen) {
			snprintf(out, outlen, "%s", value);
			rc = 0;
		}
		evhttp_clear_headers(&q);
		if (rc)
			snprintf(why, whylen, "give the address: GET /request?address=ADDRESS");
		return rc;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char body[FAUCET_MAX_BODY + 1];
	if (len > FAUCET_MAX_BODY) {
		snprintf(why, whylen, "request body over %d bytes", FAUCET_MAX_BODY);
		return -1;
	}
	evbuffer_copyout(in, body, len);
	body[len] = 0;
	const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (type && strncmp(type, "application/x-www-form-urlencoded", 33) == 0) {
		if (evhttp_parse_query_str(body, &q) == 0)
			value = evhttp_find_header(&q, "address");
		if (value && strlen(value) < outlen) {
			snprintf(out, outlen, "%s", value);
			rc = 0;
		}
		evhttp_clear_headers(&q);
	} else {
		json_error_t jerr;
		json_t *j = json_loadb(body, len, 0, &jerr);
		json_t *a = json_object_get(j, "address");
		if (json_is_string(a) && strlen(json_string_value(a)) < outlen) {
			snprintf(out, outlen, "%s", json_string_value(a));
			rc = 0;
		}
		json_decref(j);
	}
	if (rc)
		snprintf(why, whylen,
			 "the body must be JSON {\"address\": \"ADDRESS\"} (or a form with address=)");
	return rc;
}

/* The client's key for the per-IP limit: its address, or its IPv6 /64
 * (faucet_client_key); and its IPv6 /32's into net ("" for IPv4). */
static void client_ip(struct evhttp_request *req, char out[FAUCET_KEY_MAX], char net[FAUCET_KEY_MAX])
{
	char *peer = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
	faucet_client_key(peer ? peer : "unknown", out);
	faucet_client_net_key(peer ? peer : "unknown", net);
}

/* ---- connections per client ---- */

/* The client's address on socket fd as text into ip, and "IP:port" into
 * peer; -1 when fd has no peer. */
static int socket_peer(int fd, char ip[INET6_ADDRSTRLEN], char peer[FAUCET_PEER_MAX])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, ip, INET6_ADDRSTRLEN);
		snprintf(peer, FAUCET_PEER_MAX, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, INET6_ADDRSTRLEN);
		snprintf(peer, FAUCET_PEER_MAX, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
		return 0;
	}
	return -1;
}

/* A tracked connection is open while its descriptor is still a socket to
 * the same peer: once evhttp closes it, getpeername fails, or the number
 * is reused for another connection, whose own peer differs. */
static int conn_still_open(int id, const char *peer, void *arg)
{
	(void)arg;
	char ip[INET6_ADDRSTRLEN], now_peer[FAUCET_PEER_MAX];
	return socket_peer(id, ip, now_peer) == 0 && strcmp(now_peer, peer) == 0;
}

static void conn_shutdown(int id, void *arg)
{
	(void)arg;
	shutdown(id, SHUT_RDWR); /* evhttp reads the end and frees the connection */
}

/* Closes the connections that have not sent a whole request within
 * FAUCET_REQUEST_DEADLINE_S of their accept or their last answer. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct faucet *f = arg;
	uint64_t now = mono_ms(), deadline_ms = FAUCET_REQUEST_DEADLINE_S * 1000ull;
	if (now <= deadline_ms)
		return;
	size_t closed =
		faucet_conns_expire(f->conns, now - deadline_ms, conn_still_open, conn_shutdown, NULL);
	unsigned dropped;
	if (closed && log_rate_allow(&f->conn_log, wall_ms(), FAUCET_CONN_LOG_INTERVAL_MS, &dropped))
		log_warn("closed %zu connection(s) that sent no whole request within %d s "
			 "(FAUCET_REQUEST_DEADLINE_S) (%u more closed since the last such line)",
			 closed, FAUCET_REQUEST_DEADLINE_S, dropped);
}

/* The descriptor of req's connection, or -1. */
static int request_fd(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	return bev ? (int)bufferevent_getfd(bev) : -1;
}

/* evhttp's bufferevent for each accepted connection (evhttp_set_bevcb); it
 * gives it the socket once this returns, so the address is looked at by
 * on_admit, made active here to run in this same turn of the loop, before
 * any byte is read. */
static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
	struct faucet *f = arg;
	struct pending_conn *p = malloc(sizeof(*p));
	struct bufferevent *bev = p ? bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (!bev) {
		free(p);
		return NULL; /* evhttp makes its own, which goes unchecked: only out of memory */
	}
	bufferevent_incref(bev);
	p->bev = bev;
	p->next = f->pending;
	f->pending = p;
	event_active(f->admit_ev, EV_TIMEOUT, 0);
	return bev;
}

/* Logs, at most once per FAUCET_CONN_LOG_INTERVAL_MS, that the connection
 * from peer was closed, and by which limit. */
static void conn_refused(struct faucet *f, const char *peer, int client_at_cap)
{
	unsigned dropped;
	if (!log_rate_allow(&f->conn_log, wall_ms(), FAUCET_CONN_LOG_INTERVAL_MS, &dropped))
		return;
	log_warn("closed a connection from %s: %s (%u more closed since the last such line)", peer,
		 client_at_cap ? "its client has as many open as it may (FAUCET_CONNS_PER_CLIENT)"
			       : "as many are open as are tracked (FAUCET_CONNS_TRACKED_MAX)",
		 dropped);
}

/* Closes each new connection whose client has FAUCET_CONNS_PER_CLIENT open
 * already (or when FAUCET_CONNS_TRACKED_MAX are): shut down, so that
 * evhttp reads its end and frees it. */
static void on_admit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct faucet *f = arg;
	while (f->pending) {
		struct pending_conn *p = f->pending;
		f->pending = p->next;
		bufferevent_event_cb ecb = NULL;
		bufferevent_getcb(p->bev, NULL, NULL, &ecb, NULL);
		int sock = bufferevent_getfd(p->bev);
		char ip[INET6_ADDRSTRLEN], peer[FAUCET_PEER_MAX], key[FAUCET_KEY_MAX];
		/* ecb NULL: evhttp has freed it already; -ip-interval=0: behind a
		 * proxy, every connection is the proxy's, which limits clients, so
		 * the key is empty (no per-client cap; the deadline still holds) */
		if (ecb && sock >= 0 && socket_peer(sock, ip, peer) == 0) {
			if (f->cfg.ip_interval_s)
				faucet_client_key(ip, key);
			else
				key[0] = 0;
			if (faucet_conns_admit(f->conns, sock, key, peer, conn_still_open, NULL) != 0) {
				int at_cap = key[0] &&
					     faucet_conns_count(f->conns, key) >= FAUCET_CONNS_PER_CLIENT;
				conn_refused(f, peer, at_cap);
				shutdown(sock, SHUT_RDWR);
			} else {
				faucet_conns_mark(f->conns, sock, mono_ms());
			}
		}
		bufferevent_decref(p->bev);
		free(p);
	}
}

/* POST /request {"address": ...} or GET /request?address=...: sends the
 * amount, or says why not (400 bad request or address, 429 too soon, 503
 * the node or the faucet's funds failed). */
static void answer_request(struct evhttp_request *req, void *arg)
{
	struct faucet *f = arg;
	char text[ADDR_STR_MAX], why[600], ip[FAUCET_KEY_MAX];
	if (request_address(req, text, sizeof(text), why, sizeof(why)) < 0) {
		reply_error(req, 400, "Bad Request", why);
		return;
	}
	uint8_t to[ADDR_LEN];
	enum network net;
	if (address_decode(text, &net, to) < 0) {
		snprintf(why, sizeof(why), "not an Assay address: '%s'", text);
		reply_error(req, 400, "Bad Request", why);
		return;
	}
	if (net != f->chain.network->family) {
		snprintf(why, sizeof(why),
			 "'%s' is not an address of this faucet's network %s (addresses begin %s1)", text,
			 f->chain.network->name, f->chain.network->hrp);
		reply_error(req, 400, "Bad Request", why);
		return;
	}
	char canonical[ADDR_STR_MAX];
	address_encode(net, to, canonical); /* one key per address, whatever its case */
	if (strcmp(canonical, f->address) == 0) {
		reply_error(req, 400, "Bad Request", "that is the faucet's own address");
		return;
	}
	char net6[FAUCET_KEY_MAX];
	client_ip(req, ip, net6);
	uint64_t now = wall_ms();
	uint64_t wait_addr = faucet_limits_wait(f->by_address, canonical, now);
	uint64_t wait_ip = faucet_limits_wait(f->by_ip, ip, now);
	uint64_t wait_net = net6[0] ? faucet_limits_wait(f->by_net6, net6, now) : 0;
	if (wait_addr || wait_ip || wait_net) {
		uint64_t wait = wait_addr > wait_ip ? wait_addr : wait_ip;
		uint64_t wait_s = ((wait > wait_net ? wait : wait_net) + 999) / 1000;
		if (wait_addr || wait_ip)
			snprintf(why, sizeof(why),
				 "this %s was given coins less than %llu s ago: try again in %llu s",
				 wait_addr ? "address" : "client",
				 (unsigned long long)(wait_addr ? f->cfg.interval_s : f->cfg.ip_interval_s),
				 (unsigned long long)wait_s);
		else
			snprintf(why, sizeof(why),
				 "the network %s was given coins %d times in less than %llu s: "
				 "try again in %llu s",
				 net6, FAUCET_NET6_GRANTS, (unsigned long long)f->cfg.ip_interval_s,
				 (unsigned long long)wait_s);
		log_info("refused %s from %s: %s", canonical, ip, why);
		reply_json(req, 429, "Too Many Requests",
			   json_pack("{s:s,s:I}", "error", why, "retry_after_s", (json_int_t)wait_s));
		return;
	}
	if (!faucet_limits_has_room(f->by_address, canonical, now) ||
	    !faucet_limits_has_room(f->by_ip, ip, now) ||
	    (net6[0] && !faucet_limits_has_room(f->by_net6, net6, now))) {
		reply_error(req, 503, "Service Unavailable", "the faucet is busy: try again later");
		return;
	}
	char txid[2 * HASH_LEN + 1];
	int in_doubt;
	int sent = send_coins(f, to, txid, why, sizeof(why), &in_doubt);
	if (sent == 0 || in_doubt) {
		faucet_limits_record(f->by_address, canonical, now);
		faucet_limits_record(f->by_ip, ip, now);
		if (net6[0])
			faucet_limits_record(f->by_net6, net6, now);
	}
	if (sent < 0) {
		log_warn("cannot serve %s from %s: %s", canonical, ip, why);
		reply_error(req, 503, "Service Unavailable", why);
		return;
	}
	f->served++;
	char amount[AMOUNT_STR_MAX];
	amount_format(f->cfg.amount, amount);
	log_info("sent %s ASY to %s (client %s): tx %s", amount, canonical, ip, txid);
	reply_json(req, 200, "OK",
		   json_pack("{s:s,s:s,s:s,s:I}", "txid", txid, "address", canonical, "amount", amount,
			     "amount_units", (json_int_t)f->cfg.amount));
}

/* GET /status: the faucet's address, funds and limits, as JSON. */
static void answer_status(struct evhttp_request *req, void *arg)
{
	struct faucet *f = arg;
	struct rpc_failure fail;
	json_t *acct = NULL;
	char amount[AMOUNT_STR_MAX];
	amount_format(f->cfg.amount, amount);
	uint64_t now = mono_ms();
	if (!f->status_at_ms || now - f->status_at_ms >= FAUCET_STATUS_CACHE_MS) {
		snprintf(f->status_balance, sizeof(f->status_balance), "unknown");
		if (call(f, "getaccount", json_pack("[s]", f->address), &acct, &fail) == 0) {
			json_t *b = json_object_get(acct, "balance");
			amount_format(json_is_integer(b) ? (uint64_t)json_integer_value(b) : 0, f->status_balance);
			json_decref(acct);
		}
		f->status_at_ms = mono_ms(); /* after the call: a slow one is not asked again at once */
	}
	const char *balance = f->status_balance;
	reply_json(req, 200, "OK",
		   json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "network", f->chain.network->name, "address",
			     f->address, "balance", balance, "amount", amount, "interval_s",
			     (json_int_t)f->cfg.interval_s, "ip_interval_s", (json_int_t)f->cfg.ip_interval_s,
			     "served", (json_int_t)f->served));
}

/* GET /: a page with a form that posts to /request. */
static void answer_page(struct evhttp_request *req, void *arg)
{
	struct faucet *f = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (!path || strcmp(path, "/") != 0) {
		evhttp_send_error(req, 404, "no such page (/, /request, /status)");
		return;
	}
	char amount[AMOUNT_STR_MAX];
	amount_format(f->cfg.amount, amount);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/html; charset=utf-8");
	evbuffer_add_printf(
		out,
		"<!doctype html>\n<html><head><title>Assay %s faucet</title></head><body>\n"
		"<h1>Assay %s faucet</h1>\n"
		"<p>%s ASY per request, once every %llu s per address and every %llu s per client.</p>\n"
		"<form method=\"post\" action=\"/request\">\n"
		"<label>Address <input name=\"address\" size=\"60\" placeholder=\"%s1...\"></label>\n"
		"<button type=\"submit\">Send me coins</button>\n</form>\n"
		"<p>JSON: <code>POST /request {\"address\": \"...\"}</code>, <code>GET /status</code>."
		" Test coins only: they are worth nothing.</p>\n</body></html>\n",
		f->chain.network->name, f->chain.network->name, amount, (unsigned long long)f->cfg.interval_s,
		(unsigned long long)f->cfg.ip_interval_s, f->chain.network->hrp);
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* Answers req with answer, then restarts its connection's deadline
 * (FAUCET_REQUEST_DEADLINE_S) for the next request on it: the clock starts
 * once the answer is made, however long the node took. The descriptor is
 * taken before answering: a sent reply may free req. */
static void answer_then_mark(struct evhttp_request *req, struct faucet *f,
			     void (*answer)(struct evhttp_request *, void *))
{
	int fd = request_fd(req);
	answer(req, f);
	if (fd >= 0)
		faucet_conns_mark(f->conns, fd, mono_ms());
}

static void on_request(struct evhttp_request *req, void *arg)
{
	answer_then_mark(req, arg, answer_request);
}

static void on_status(struct evhttp_request *req, void *arg)
{
	answer_then_mark(req, arg, answer_status);
}

static void on_page(struct evhttp_request *req, void *arg)
{
	answer_then_mark(req, arg, answer_page);
}

static int start_http(struct faucet *f)
{
	char host[256], err[160];
	uint16_t port;
	if (client_opts_listen_split(f->cfg.common.listen, host, sizeof(host), &port, err, sizeof(err)) != 0) {
		log_error("%s", err); /* checked by parse_args */
		return -1;
	}
	if (client_app_http_listen(f->base, host, port, FAUCET_IDLE_TIMEOUT_S, FAUCET_MAX_HEADERS, FAUCET_MAX_READ,
				   &f->http, &f->resume_ev) != 0)
		return -1;
	evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_cb(f->http, "/request", on_request, f);
	evhttp_set_cb(f->http, "/status", on_status, f);
	evhttp_set_gencb(f->http, on_page, f);
	evhttp_set_bevcb(f->http, on_new_connection, f);
	return 0;
}

/* ---- flags and start-up ---- */

enum {
	OPT_CONF = CLIENT_OPT_OWN,
	OPT_AMOUNT,
	OPT_INTERVAL,
	OPT_IP_INTERVAL,
	OPT_DEBUG,
	OPT_HELP,
};

static const struct option long_opts[] = {
	CLIENT_OPTS_LONG,
	{"conf", required_argument, NULL, OPT_CONF},
	{"amount", required_argument, NULL, OPT_AMOUNT},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"ip-interval", required_argument, NULL, OPT_IP_INTERVAL},
	{"debug", no_argument, NULL, OPT_DEBUG},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static void usage(void)
{
	char amount[AMOUNT_STR_MAX];
	amount_format(FAUCET_DEFAULT_AMOUNT, amount);
	printf("usage: assay-faucet -wallet=NAME [options]   (options as -name=value or --name=value)\n\n"
	       "Gives test coins: each request sends -amount from the wallet's key to an address,\n"
	       "at most once per -interval per address and per -ip-interval per client IP.\n\n"
	       "  -datadir=DIR           data directory with wallet/, the node's .cookie and assay.conf\n"
	       "                         (default ~/.assay)\n"
	       "  -conf=FILE             the faucet's own settings file (default: the node's DATADIR/assay.conf)\n"
	       "  -network=NET           dev, local or testnet: the default -rpcport (default testnet)\n"
	       "  -rpcconnect=HOST       node address (default 127.0.0.1)\n"
	       "  -rpcport=PORT          node RPC port, 1-65535 (default: the network's)\n"
	       "  -rpcuser=USER, -rpcpassword=PW   instead of DATADIR/.cookie (sent only to a\n"
	       "                         loopback -rpcconnect); ASSAY_RPCPASSWORD for the password\n"
	       "                         keeps it out of ps\n"
	       "  -rpccookiefile=PATH    send the cookie in PATH instead, to whatever host -rpcconnect\n"
	       "                         names (read again when the node refuses it)\n"
	       "  -wallet=NAME           the key coins are sent from: DATADIR/wallet/NAME.json (required)\n"
	       "  -passphrase-file=FILE  its passphrase (else ASSAY_PASSPHRASE, else the terminal)\n"
	       "  -listen=HOST:PORT      HTTP address (default %s)\n"
	       "  -amount=ASY            coins per request, up to 1000000 (default %s)\n"
	       "  -interval=SECONDS      one request per address per this long, 0-315360000 (default %u)\n"
	       "  -ip-interval=SECONDS   one request per client IP per this long (default: -interval;\n"
	       "                         an IPv6 /64 is one client, and one /32 gets 16 per this long;\n"
	       "                         0 also lifts the cap of 8 connections per client)\n"
	       "  -debug                 debug logging\n"
	       "  -help                  this text\n\n"
	       "HTTP: GET / (a form), POST /request {\"address\": \"...\"} or GET /request?address=...,\n"
	       "GET /status. Refused on a mainnet node.\n\n"
	       "Settings file (name=value lines, # comment lines, read as assayd reads assay.conf; the\n"
	       "command line wins): -conf=FILE may give every option above but datadir, conf and help,\n"
	       "and an unknown name is an error; without -conf, DATADIR/assay.conf (the node's file)\n"
	       "gives network, rpcconnect, rpcport, rpcuser and rpcpassword, its other names the node's.\n",
	       FAUCET_LISTEN, amount, FAUCET_DEFAULT_INTERVAL_S);
}

/* -amount=ASY in [1 base unit, FAUCET_MAX_AMOUNT]. */
static int amount_flag(const char *text, uint64_t *out, char *err, size_t errlen)
{
	char least[AMOUNT_STR_MAX], most[AMOUNT_STR_MAX];
	if (amount_parse(text, out) == 0 && *out >= 1 && *out <= FAUCET_MAX_AMOUNT)
		return 0;
	amount_format(1, least);
	amount_format(FAUCET_MAX_AMOUNT, most);
	snprintf(err, errlen, "-amount=%s is not an amount in range: use %s to %s ASY", text, least, most);
	return ASSAY_EARG;
}

/* One of the faucet's own flags (client_opts_own_fn). */
static int own_flag(void *ctx, int code, const char *value, char *err, size_t errlen)
{
	struct faucet_cfg *c = ctx;
	switch (code) {
	case OPT_AMOUNT:
		return amount_flag(value, &c->amount, err, errlen);
	case OPT_INTERVAL:
		return conf_parse_u64("interval", value, 0, FAUCET_MAX_INTERVAL_S, &c->interval_s, err, errlen);
	case OPT_IP_INTERVAL:
		c->ip_interval_set = 1;
		return conf_parse_u64("ip-interval", value, 0, FAUCET_MAX_INTERVAL_S, &c->ip_interval_s, err,
				      errlen);
	case OPT_CONF:
		return client_app_copy_opt(c->conf, sizeof(c->conf), value, "conf") ? ASSAY_EARG : 0;
	case OPT_DEBUG:
		c->debug = 1;
		return 0;
	case OPT_HELP:
		usage();
		exit(0);
	}
	return ASSAY_EARG;
}

/* One line of the faucet's own -conf file (a conf_entry_fn): any option
 * of long_opts but datadir, conf and help, under its flag's name; a flag
 * given on the command line wins. */
static int own_file_entry(void *ctx, const char *name, const char *value, char *err, size_t errlen)
{
	struct faucet_cfg *c = ctx;
	const struct option *o = long_opts;
	while (o->name && strcmp(o->name, name) != 0)
		o++;
	if (!o->name || o->val == CLIENT_OPT_DATADIR || o->val == OPT_CONF || o->val == OPT_HELP) {
		snprintf(err, errlen, "unknown option \"%s\" (see assay-faucet -help)", name);
		return ASSAY_EARG;
	}
	if (c->common.flags & (1ull << o->val))
		return 0;
	if (o->val == OPT_DEBUG) {
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
			snprintf(err, errlen, "debug=%s: use 1 (on) or 0 (off)", value);
			return ASSAY_EARG;
		}
		c->debug = value[0] == '1';
		return 0;
	}
	int rc = client_opts_set(&c->common, o->val, value, 0, err, errlen);
	if (rc == 1)
		rc = own_flag(c, o->val, value, err, errlen);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "bad value for %s", name);
	return rc < 0 ? rc : 0;
}

static int parse_args(struct faucet_cfg *c, int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	client_opts_init(&c->common, FAUCET_LISTEN);
	c->amount = FAUCET_DEFAULT_AMOUNT;
	c->interval_s = FAUCET_DEFAULT_INTERVAL_S;
	const struct network_info *net;
	if (client_opts_parse(&c->common, argc, argv, long_opts, own_flag, c) < 0 ||
	    (c->conf[0] ? client_opts_read_conf(&c->common, c->conf, own_file_entry, c)
			: client_opts_read_conf(&c->common, NULL, NULL, NULL)) < 0 ||
	    client_opts_finish(&c->common, FAUCET_NETWORK, &net) < 0)
		return -1;
	if (net->family == NET_MAIN) {
		fprintf(stderr, "error: -network must be dev, local or testnet\n");
		return -1;
	}
	if (!c->ip_interval_set)
		c->ip_interval_s = c->interval_s;
	return 0;
}

static int start(struct faucet *f)
{
	if (client_opts_start(&f->cfg.common, &f->rpc, &f->key, f->addr, &f->chain) < 0)
		return -1;
	if (f->chain.network->family == NET_MAIN) {
		log_error("the node is on %s: a faucet gives away coins, so it runs on test networks only",
			  f->chain.network->name);
		return -1;
	}
	address_encode(f->chain.network->family, f->addr, f->address);
	f->rpc.ep.timeout_ms = FAUCET_RPC_TIMEOUT_MS;
	f->by_address = faucet_limits_new(f->cfg.interval_s * 1000, 1);
	f->by_ip = faucet_limits_new(f->cfg.ip_interval_s * 1000, 1);
	f->by_net6 = faucet_limits_new(f->cfg.ip_interval_s * 1000, FAUCET_NET6_GRANTS);
	f->conns = faucet_conns_new();
	f->base = event_base_new();
	f->admit_ev = f->base ? event_new(f->base, -1, 0, on_admit, f) : NULL;
	f->sweep_ev = f->base ? event_new(f->base, -1, EV_PERSIST, on_sweep, f) : NULL;
	struct timeval sweep = {FAUCET_DEADLINE_SWEEP_MS / 1000, (FAUCET_DEADLINE_SWEEP_MS % 1000) * 1000};
	if (!f->by_address || !f->by_ip || !f->by_net6 || !f->conns || !f->admit_ev || !f->sweep_ev ||
	    event_add(f->sweep_ev, &sweep) != 0 || start_http(f) < 0)
		return -1;
	return client_app_signals(f->base, &f->sigint_ev, &f->sigterm_ev);
}

static void stop(struct faucet *f)
{
	if (f->resume_ev)
		event_free(f->resume_ev);
	if (f->admit_ev)
		event_free(f->admit_ev);
	if (f->sweep_ev)
		event_free(f->sweep_ev);
	while (f->pending) { /* the loop stopped between an accept and its admission */
		struct pending_conn *p = f->pending;
		f->pending = p->next;
		bufferevent_decref(p->bev);
		free(p);
	}
	client_app_free_loop(f->base, f->http, f->sigint_ev, f->sigterm_ev);
	faucet_limits_free(f->by_address);
	faucet_limits_free(f->by_ip);
	faucet_limits_free(f->by_net6);
	faucet_conns_free(f->conns);
	keystore_key_wipe(&f->key);
}

int main(int argc, char **argv)
{
	struct faucet *f = calloc(1, sizeof(*f));
	if (!f || parse_args(&f->cfg, argc, argv) < 0) {
		free(f);
		return 2;
	}
	log_set_level(f->cfg.debug ? LOG_DEBUG : LOG_INFO);
	int rc = 1;
	if (client_app_init() == 0 && start(f) == 0) {
		char amount[AMOUNT_STR_MAX];
		amount_format(f->cfg.amount, amount);
		log_info("assay-faucet %s: %s ASY per request from %s on %s, http://%s/ (per address every "
			 "%llu s, "
			 "per IP every %llu s)",
			 PACKAGE_VERSION, amount, f->address, f->chain.network->name, f->cfg.common.listen,
			 (unsigned long long)f->cfg.interval_s, (unsigned long long)f->cfg.ip_interval_s);
		event_base_dispatch(f->base);
		rc = 0;
	}
	stop(f);
	free(f);
	return rc;
}
