/* Unit tests of the RPC server's deferred replies (rpc_defer, rpc.h) on a
 * live loopback server driven one loop turn at a time: an answer on wake, a
 * timeout answered null, RPC_MAX_DEFERRED, batches refused, a client that
 * hangs up, and rpc_free with calls still waiting. Not for: the methods that
 * use it (tests/functional/rpc_methods.py). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "node/rpc.h"
#include "tests/unit/rpc_fixture.h"
#include "tests/unit/test.h"


struct waits {
	rpc_t *rpc;
	int wakes, timeouts, gone;
	int answer_on_wake; /* 1: a wake answers "woken" */
};

static void on_event(void *arg, rpc_deferred_t *d, enum rpc_defer_event ev)
{
	struct waits *w = arg;
	if (ev == RPC_DEFER_GONE) {
		w->gone++;
		return;
	}
	if (ev == RPC_DEFER_TIMEOUT) {
		w->timeouts++; /* no answer: the server sends null */
		return;
	}
	w->wakes++;
	if (w->answer_on_wake)
		rpc_deferred_reply(d, json_string("woken"), NULL);
}

/* wait [TIMEOUT_MS]: answered later. */
static int m_wait(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct waits *w = ctx;
	(void)result;
	json_int_t ms = json_integer_value(rpc_param(params, 0));
	if (!rpc_defer(w->rpc, (uint64_t)ms, on_event, w, e))
		return -1;
	return RPC_DEFERRED;
}

#define WAIT_BODY(ms) "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"wait\",\"params\":[" #ms "]}"

int main(void)
{
	char err[256], reply[4096];
	struct waits w = {0};
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	int port = free_port();
	CHECK(base != NULL && port > 0);
	w.rpc = rpc_new(base, "127.0.0.1", port, "u", "p", NULL, err, sizeof(err));
	CHECK(w.rpc != NULL);
	if (!w.rpc)
		return test_report("rpc_defer");
	static const struct rpc_method methods[] = {{"wait", m_wait, "wait MS - test"}};
	rpc_register(w.rpc, methods, 1, &w);

	/* Answered on a wake, with the request's id. */
	w.answer_on_wake = 1;
	int fd = send_request(port, WAIT_BODY(60000));
	spin(base, 50);
	CHECK_EQ_U64(rpc_deferred_count(w.rpc), 1);
	rpc_deferred_wake(w.rpc);
	CHECK(spin_for_reply(base, fd, reply, sizeof(reply), 2000));
	CHECK(strstr(reply, "\"result\":\"woken\"") && strstr(reply, "\"id\":7"));
	CHECK_EQ_U64(rpc_deferred_count(w.rpc), 0);
	close(fd);

	/* A timeout the callback leaves unanswered: null. */
	w.answer_on_wake = 0;
	fd = send_request(port, WAIT_BODY(100));
	uint64_t t0 = ms_now();
	CHECK(spin_for_reply(base, fd, reply, sizeof(reply), 3000));
	CHECK(ms_now() - t0 >= 90);
	CHECK(strstr(reply, "\"result\":null") != NULL);
	CHECK_EQ_U64(w.timeouts, 1);
	close(fd);

	/* RPC_MAX_DEFERRED wait; one more is refused at once. */
	int fds[RPC_MAX_DEFERRED];
	for (int i = 0; i < RPC_MAX_DEFERRED; i++)
		fds[i] = send_request(port, WAIT_BODY(60000));
	spin(base, 100);
	CHECK_EQ_U64(rpc_deferred_count(w.rpc), RPC_MAX_DEFERRED);
	fd = send_request(port, WAIT_BODY(60000));
	CHECK(spin_for_reply(base, fd, reply, sizeof(reply), 2000));
	CHECK(strstr(reply, "RPC_MAX_DEFERRED") != NULL);
	close(fd);

	/* Clients that hang up free their places. */
	int gone_before = w.gone;
	for (int i = 0; i < RPC_MAX_DEFERRED / 2; i++)
		close(fds[i]);
	spin(base, 200);
	CHECK_EQ_U64(w.gone - gone_before, RPC_MAX_DEFERRED / 2);
	CHECK_EQ_U64(rpc_deferred_count(w.rpc), RPC_MAX_DEFERRED - RPC_MAX_DEFERRED / 2);

	/* Not inside a batch. */
	fd = send_request(port, "[" WAIT_BODY(1000) "]");
	CHECK(spin_for_reply(base, fd, reply, sizeof(reply), 2000));
	CHECK(strstr(reply, "batch") != NULL && strstr(reply, "-32600") != NULL);
	close(fd);

	/* rpc_free with calls waiting: each gets GONE once, nothing leaks. */
	gone_before = w.gone;
	rpc_free(w.rpc);
	CHECK_EQ_U64(w.gone - gone_before, RPC_MAX_DEFERRED - RPC_MAX_DEFERRED / 2);
	for (int i = RPC_MAX_DEFERRED / 2; i < RPC_MAX_DEFERRED; i++)
		close(fds[i]);
	event_base_free(base);
	return test_report("rpc_defer");
}
