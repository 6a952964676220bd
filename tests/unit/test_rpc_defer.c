/* Unit tests of the RPC server's deferred replies (rpc_defer, rpc.h) on a
 * live loopback server driven one loop turn at a time: an answer on wake, a
 * timeout answered null, RPC_MAX_DEFERRED, batches refused, a client that
 * hangs up, rpc_free with calls still waiting, and rpc_shutdown sending
 * what is left to send. Not for: the methods that use it
 * (tests/functional/rpc_methods.py). */
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
	int answer_on_wake;   /* 1: a wake answers "woken" */
	rpc_deferred_t *last; /* the newest handle */
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
	if (!(w->last = rpc_defer(w->rpc, (uint64_t)ms, on_event, w, e)))
		return -1;
	return RPC_DEFERRED;
}

#define WAIT_BODY(ms) "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"wait\",\"params\":[" #ms "]}"

/* Reads fd until the peer closes it or ms pass (the server's loop is not
 * turned: what it sent is in the kernel already, or lost). */
static size_t read_until_close(int fd, char *out, size_t cap, uint64_t ms)
{
	size_t len = 0;
	uint64_t end = ms_now() + ms;
	out[0] = 0;
	while (ms_now() < end && len < cap - 1) {
		ssize_t n = recv(fd, out + len, cap - 1 - len, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0) {
			len += (size_t)n;
			out[len] = 0;
		} else {
			nap_ms(1);
		}
	}
	return len;
}

/* At shutdown (the loop stopped, as in node_close): a reply made after
 * the loop ended (txaccept_stop answers its deferred calls then) and the
 * 503 of a call still waiting both reach their clients through
 * rpc_shutdown; rpc_free used to close the sockets with them unsent. */
static void test_shutdown(struct event_base *base)
{
	char err[256], reply[4096];
	struct waits w = {0};
	int port = free_port();
	w.rpc = rpc_new(base, "127.0.0.1", port, "u", "p", NULL, err, sizeof(err));
	CHECK(w.rpc != NULL);
	if (!w.rpc)
		return;
	static const struct rpc_method methods[] = {{"wait", m_wait, "wait MS - test"}};
	rpc_register(w.rpc, methods, 1, &w);
	int answered = send_request(port, WAIT_BODY(60000));
	spin(base, 50);
	rpc_deferred_t *late = w.last;
	int waiting = send_request(port, WAIT_BODY(60000));
	spin(base, 50);
	CHECK_EQ_U64(rpc_deferred_count(w.rpc), 2);
	rpc_deferred_reply(late, json_string("late"), NULL); /* the loop has stopped */
	rpc_shutdown(w.rpc);
	CHECK_EQ_U64(w.gone, 1);
	CHECK_EQ_U64(rpc_deferred_count(w.rpc), 0);
	read_until_close(answered, reply, sizeof(reply), 200);
	CHECK(strncmp(reply, "HTTP/1.1 200", 12) == 0 && strstr(reply, "\"result\":\"late\"") != NULL);
	rpc_free(w.rpc);
	read_until_close(waiting, reply, sizeof(reply), 2000);
	CHECK(strncmp(reply, "HTTP/1.1 503", 12) == 0);
	close(answered);
	close(waiting);
}

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

	/* One that pipelined a byte, then hung up, frees its place too, within
	 * RPC_DEFER_PROBE_MS (its socket stays readable: no watch sees the
	 * end of file behind the byte). */
	gone_before = w.gone;
	fd = send_request(port, WAIT_BODY(60000));
	spin(base, 100);
	size_t waiting_now = rpc_deferred_count(w.rpc);
	CHECK(send(fd, "G", 1, 0) == 1);
	spin(base, 100);
	close(fd);
	spin(base, RPC_DEFER_PROBE_MS + 300);
	CHECK_EQ_U64(w.gone - gone_before, 1);
	CHECK_EQ_U64(rpc_deferred_count(w.rpc), waiting_now - 1);

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

	test_shutdown(base);
	event_base_free(base);
	return test_report("rpc_defer");
}
