/* Shared set-up for the CLI's unit tests: running cli_main on a word list,
 * and a fake node — one thread answering JSON-RPC over loopback HTTP with
 * whatever the test's reply function says. Not for: tests of the real node
 * (those start assayd: tests/functional). */
#ifndef ASSAY_TEST_CLI_FIXTURE_H
#define ASSAY_TEST_CLI_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/tx.h"
#include "wallet/cli.h"

#define CLI_MAX_WORDS 40

/* Runs cli_main on "assay-cli", the nfixed words of fixed, then the
 * NULL-ended list from ap (copied: getopt permutes argv). */
static inline int cli_run_words(const char *const *fixed, int nfixed, const char *first, va_list ap)
{
	char *argv[CLI_MAX_WORDS + 1];
	int argc = 0;
	argv[argc++] = strdup("assay-cli");
	for (int i = 0; i < nfixed && argc < CLI_MAX_WORDS; i++)
		argv[argc++] = strdup(fixed[i]);
	for (const char *s = first; s && argc < CLI_MAX_WORDS; s = va_arg(ap, const char *))
		argv[argc++] = strdup(s);
	argv[argc] = NULL;
	fflush(stdout);
	int rc = cli_main(argc, argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

/* cli_run_words with -datadir=DIR/node and -rpcport=PORT first: a CLI
 * pointed at a test's fake node. */
static inline int cli_run_at(const char *dir, unsigned port, const char *first, va_list ap)
{
	char dd[320], portarg[32];
	snprintf(dd, sizeof(dd), "-datadir=%s/node", dir);
	snprintf(portarg, sizeof(portarg), "-rpcport=%u", port);
	const char *fixed[] = {dd, portarg};
	return cli_run_words(fixed, 2, first, ap);
}

/* The test's answer to one call: the whole reply text (malloc()ed; the
 * server frees it). */
typedef char *(*fake_rpc_reply_fn)(const char *method, json_t *params);

struct fake_rpc {
	int listen_fd;
	unsigned port;
	pthread_t thread;
	fake_rpc_reply_fn reply;
	const char *expect_auth; /* the Basic credentials required; NULL: any */
	int auth_failures;       /* requests refused with 401 */
	int calls;               /* replies sent */
};

/* Reads one HTTP request into req (size bytes); returns its body, or NULL
 * when the peer closed before a whole request came. */
static inline const char *fake_rpc_read(int fd, char *req, size_t size)
{
	size_t len = 0;
	while (len < size - 1) {
		ssize_t r = recv(fd, req + len, size - 1 - len, 0);
		if (r <= 0)
			return NULL;
		len += (size_t)r;
		req[len] = 0;
		char *hend = strstr(req, "\r\n\r\n");
		char *cl = strcasestr(req, "Content-Length:");
		if (hend && cl && (size_t)(hend + 4 - req) + strtoul(cl + 15, NULL, 10) <= len)
			return hend + 4;
	}
	return NULL;
}

static inline int fake_rpc_authorized(const struct fake_rpc *f, const char *req)
{
	if (!f->expect_auth)
		return 1;
	const char *auth = strstr(req, "Authorization: Basic ");
	const char *eol = auth ? strstr(auth, "\r\n") : NULL;
	size_t want = strlen(f->expect_auth);
	return auth && eol && (size_t)(eol - auth - 21) == want && strncmp(auth + 21, f->expect_auth, want) == 0;
}

static inline void fake_rpc_serve(struct fake_rpc *f, int fd)
{
	static char req[1 << 18]; /* one connection at a time: the server thread's own */
	const char *body = fake_rpc_read(fd, req, sizeof(req));
	if (!body)
		return;
	if (!fake_rpc_authorized(f, req)) {
		f->auth_failures++;
		const char *deny = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
		(void)!send(fd, deny, strlen(deny), MSG_NOSIGNAL);
		return;
	}
	json_t *call = json_loads(body, 0, NULL);
	const char *method = json_string_value(json_object_get(call, "method"));
	char *text = f->reply(method ? method : "", json_object_get(call, "params"));
	json_decref(call);
	char head[128];
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(text));
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) >= 0 && send(fd, text, strlen(text), MSG_NOSIGNAL) >= 0)
		f->calls++;
	free(text);
}

static inline void *fake_rpc_main(void *arg)
{
	struct fake_rpc *f = arg;
	for (;;) {
		int fd = accept(f->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL; /* shut down */
		fake_rpc_serve(f, fd);
		close(fd);
	}
}

/* Listens on a loopback port the kernel picks (f->port) and serves from a
 * thread until fake_rpc_stop. 0 ok, -1 on failure. */
static inline int fake_rpc_start(struct fake_rpc *f, fake_rpc_reply_fn reply)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->reply = reply;
	f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(f->listen_fd, 8) != 0 || getsockname(f->listen_fd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	f->port = ntohs(sa.sin_port);
	return pthread_create(&f->thread, NULL, fake_rpc_main, f);
}

/* A sendrawtransaction's hex as a fake node takes it: decoded into *sent
 * (the one before freed), *have_sent saying whether it decoded. The txid as
 * a JSON string, or NULL when it does not decode. */
static inline json_t *fake_rpc_take_tx(const char *hex, struct tx *sent, int *have_sent)
{
	size_t n = hex ? strlen(hex) / 2 : 0;
	uint8_t *raw = malloc(n + 1), id[HASH_LEN];
	char idhex[2 * HASH_LEN + 1];
	if (*have_sent)
		tx_free(sent);
	*have_sent =
		raw && hex && hex_decode(hex, raw, n) == (long)n && tx_decode(sent, raw, n, 1 << 20) == 0;
	free(raw);
	if (!*have_sent)
		return NULL;
	tx_id(sent, id);
	hex_encode(id, HASH_LEN, idhex);
	return json_string(idhex);
}

/* A JSON-RPC reply's text (malloc()ed) with result and error (each stolen;
 * NULL: null), as fake_rpc_reply_fn returns it. */
static inline char *fake_rpc_reply_text(json_t *result, json_t *error)
{
	json_t *reply = json_pack("{s:o, s:o, s:i}", "result", result ? result : json_null(), "error",
				  error ? error : json_null(), "id", 1);
	char *text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	return text;
}

static inline void fake_rpc_stop(struct fake_rpc *f)
{
	shutdown(f->listen_fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
}

#endif
