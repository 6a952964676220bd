/* Unit tests of the RPC server's work off the event thread
 * (rpc_set_executor, rpc_set_prepare, rpc.h) on a live loopback server,
 * with an executor that runs each task on a thread of its own: a prepare
 * step runs off the event thread and its method finds what it made; a
 * step that goes on on another thread holds the call until it is done;
 * calls run in the order received;
 * refusals (parse error, too many params, a batch) are those of the event
 * thread's path; a client that leaves still has its call run; an executor
 * that refuses leaves the work here. Not for: the node's steps
 * (test_txaccept.c, tests/functional/rpc_sendrawtransactions.py). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "node/rpc.h"
#include "tests/unit/rpc_fixture.h"
#include "tests/unit/test.h"


struct fixture {
	rpc_t *rpc;
	pthread_t event_thread;
	int refuse;        /* the executor says no */
	int tasks;         /* tasks handed to the executor: a parse, then a free, per body */
	int steps;         /* prepare steps run (atomic) */
	int steps_on_loop; /* of them, on the event thread (atomic) */
	int calls, calls_prepared;
	int releases; /* atomic: made things released (on the executor) */
};

/* What a step hands its method. */
struct made {
	struct fixture *f;
	json_int_t value;
};

struct task {
	void (*fn)(void *);
	void *arg;
};

static void *task_main(void *arg)
{
	struct task t = *(struct task *)arg;
	free(arg);
	t.fn(t.arg);
	return NULL;
}

/* A real executor: a detached thread per task. */
static int executor(void *ctx, void (*fn)(void *arg), void *arg)
{
	struct fixture *f = ctx;
	struct task *t = malloc(sizeof(*t));
	pthread_t tid;
	if (f->refuse || !t) {
		free(t);
		return -1;
	}
	t->fn = fn;
	t->arg = arg;
	if (pthread_create(&tid, NULL, task_main, t) != 0) {
		free(t);
		return -1;
	}
	pthread_detach(tid);
	__atomic_add_fetch(&f->tasks, 1, __ATOMIC_RELAXED);
	return 0;
}

struct late {
	rpc_work_t *w;
	int ms;
};

static void *late_main(void *arg)
{
	struct late *l = arg;
	nap_ms(l->ms);
	rpc_work_release(l->w);
	free(l);
	return NULL;
}

/* echo's step: params[0] doubled, going on on another thread for params[1]
 * ms when given. */
static void *p_echo(void *ctx, json_t *params, rpc_work_t *w)
{
	struct fixture *f = ctx;
	__atomic_add_fetch(&f->steps, 1, __ATOMIC_RELAXED);
	if (pthread_equal(pthread_self(), f->event_thread))
		__atomic_add_fetch(&f->steps_on_loop, 1, __ATOMIC_RELAXED);
	json_t *v = rpc_param(params, 0);
	if (!json_is_integer(v))
		return NULL; /* the method words the refusal */
	struct made *m = malloc(sizeof(*m));
	m->f = f;
	m->value = 2 * json_integer_value(v);
	json_int_t late_ms = json_integer_value(rpc_param(params, 1));
	if (late_ms > 0) {
		struct late *l = malloc(sizeof(*l));
		pthread_t tid;
		l->w = w;
		l->ms = (int)late_ms;
		rpc_work_hold(w);
		pthread_create(&tid, NULL, late_main, l);
		pthread_detach(tid);
	}
	return m;
}

static void release_made(void *prepared)
{
	struct made *m = prepared;
	__atomic_add_fetch(&m->f->releases, 1, __ATOMIC_RELAXED);
	free(m);
}

/* echo N [MS]: {"value": 2N, "prepared": whether its step made it}. */
static int m_echo(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct fixture *f = ctx;
	struct made *m = rpc_prepared(f->rpc);
	f->calls++;
	if (m) {
		f->calls_prepared++;
		*result = json_pack("{s:I,s:b}", "value", m->value, "prepared", 1);
		return 0;
	}
	json_t *v = rpc_param(params, 0);
	if (!json_is_integer(v))
		return rpc_fail(e, RPC_INVALID_PARAMS, "echo takes an integer");
	*result = json_pack("{s:I,s:b}", "value", 2 * json_integer_value(v), "prepared", 0);
	return 0;
}

static int m_plain(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	(void)params;
	(void)e;
	((struct fixture *)ctx)->calls++;
	*result = json_integer(5);
	return 0;
}

/* Turns the loop until *counter reaches want or ms pass; 1 when it did. */
static int spin_until(struct event_base *base, const int *counter, int want, uint64_t ms)
{
	uint64_t end = ms_now() + ms;
	while (__atomic_load_n(counter, __ATOMIC_RELAXED) < want && ms_now() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		nap_ms(1);
	}
	return __atomic_load_n(counter, __ATOMIC_RELAXED) >= want;
}

/* Sends body on a fresh connection and waits for the reply. */
static int ask(struct fixture *f, struct event_base *base, int port, const char *body, char *reply,
	       size_t cap)
{
	(void)f;
	int fd = send_request(port, body);
	int ok = fd >= 0 && spin_for_reply(base, fd, reply, cap, 5000);
	if (fd >= 0)
		close(fd);
	return ok;
}

#define ECHO(arg) "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":[" arg "]}"

int main(void)
{
	char err[256], reply[8192];
	struct fixture f;
	memset(&f, 0, sizeof(f));
	signal(SIGPIPE, SIG_IGN);
	f.event_thread = pthread_self();
	struct event_base *base = event_base_new();
	int port = free_port();
	CHECK(base != NULL && port > 0);
	f.rpc = rpc_new(base, "127.0.0.1", port, "u", "p", NULL, err, sizeof(err));
	CHECK(f.rpc != NULL);
	if (!f.rpc)
		return test_report("rpc_offload");
	static const struct rpc_method methods[] = {{"echo", m_echo, "echo N [MS] - test"},
						    {"plain", m_plain, "plain - test"}};
	rpc_register(f.rpc, methods, 2, &f);
	CHECK_EQ_INT(rpc_set_prepare(f.rpc, "nosuch", p_echo, release_made), -1);
	CHECK_EQ_INT(rpc_set_prepare(f.rpc, "echo", p_echo, release_made), 0);

	/* Without an executor the step never runs: the method does it all. */
	CHECK(ask(&f, base, port, ECHO("4"), reply, sizeof(reply)));
	CHECK(strstr(reply, "\"value\":8") && strstr(reply, "\"prepared\":false") &&
	      strstr(reply, "\"id\":3"));
	CHECK_EQ_INT(f.steps, 0);

	rpc_set_executor(f.rpc, executor, &f);

	/* A call to a method with a step: parsed and prepared off the event
	 * thread, answered with what the step made, released once. */
	CHECK(ask(&f, base, port, ECHO("21"), reply, sizeof(reply)));
	CHECK(strstr(reply, "\"value\":42") && strstr(reply, "\"prepared\":true") &&
	      strstr(reply, "\"id\":3"));
	CHECK_EQ_INT(f.steps, 1);
	CHECK_EQ_INT(f.steps_on_loop, 0);
	CHECK(spin_until(base, &f.releases, 1, 2000));

	/* A short body naming no method with a step stays on the event thread. */
	int tasks = f.tasks;
	CHECK(ask(&f, base, port, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"plain\"}", reply,
		  sizeof(reply)));
	CHECK(strstr(reply, "\"result\":5") != NULL);
	CHECK_EQ_INT(f.tasks, tasks);

	/* A step that goes on elsewhere: no answer until it lets go. */
	uint64_t t0 = ms_now();
	CHECK(ask(&f, base, port, ECHO("1, 300"), reply, sizeof(reply)));
	CHECK(ms_now() - t0 >= 290);
	CHECK(strstr(reply, "\"value\":2") && strstr(reply, "\"prepared\":true"));

	/* Calls run in the order received: one whose step is done at once
	 * waits for an earlier one still being prepared. */
	int calls = f.calls;
	int slow = send_request(port, ECHO("1, 300"));
	spin(base, 30);
	int quick = send_request(port, ECHO("2"));
	spin(base, 150);
	CHECK_EQ_INT(f.calls, calls); /* the quick one is prepared, but not run */
	CHECK(spin_for_reply(base, slow, reply, sizeof(reply), 3000) && strstr(reply, "\"value\":2,"));
	CHECK(spin_for_reply(base, quick, reply, sizeof(reply), 3000) && strstr(reply, "\"value\":4,"));
	CHECK_EQ_INT(f.calls, calls + 2);
	close(slow);
	close(quick);

	/* The step declines bad params; the method's own refusal goes out. */
	CHECK(ask(&f, base, port, ECHO("\"x\""), reply, sizeof(reply)));
	CHECK(strstr(reply, "-32602") && strstr(reply, "echo takes an integer"));

	/* Too many params: refused before any step, as on the event thread. */
	int steps = f.steps;
	CHECK(ask(&f, base, port, ECHO("1, 2, 3"), reply, sizeof(reply)));
	CHECK(strstr(reply, "-32602") && strstr(reply, "echo takes at most 2 parameters, got 3"));
	CHECK_EQ_INT(f.steps, steps);

	/* A parse error in a body parsed off the thread: the same -32700. */
	tasks = f.tasks;
	CHECK(ask(&f, base, port, "{\"method\":\"echo\",", reply, sizeof(reply)));
	CHECK(strstr(reply, "-32700") && strstr(reply, "parse error: "));
	CHECK_EQ_INT(f.tasks, tasks + 1); /* the parse; a short body is freed here */

	/* A long batch is parsed off the thread, but its calls get no step. */
	static char batch[RPC_OFFLOAD_MIN_BODY + 256];
	size_t len = 0;
	batch[len++] = '[';
	for (int i = 0; len < RPC_OFFLOAD_MIN_BODY; i++)
		len += (size_t)snprintf(batch + len, sizeof(batch) - len, "%s" ECHO("%d"), i ? "," : "", i);
	batch[len++] = ']';
	batch[len] = 0;
	tasks = f.tasks;
	steps = f.steps;
	int prepared = f.calls_prepared;
	CHECK(ask(&f, base, port, batch, reply, sizeof(reply)));
	CHECK(strstr(reply, "\"value\":0") && strstr(reply, "\"value\":2,") &&
	      !strstr(reply, "\"prepared\":true"));
	CHECK_EQ_INT(f.tasks, tasks + 2);
	CHECK_EQ_INT(f.steps, steps);
	CHECK_EQ_INT(f.calls_prepared, prepared);

	/* A client that leaves while its call is prepared: the call still runs
	 * once the step is done, and nobody is answered. */
	calls = f.calls;
	int fd = send_request(port, ECHO("7, 200"));
	spin(base, 50);
	close(fd);
	spin(base, 400);
	CHECK_EQ_INT(f.calls, calls + 1);

	/* An executor that says no: parsed and run here, no step. */
	f.refuse = 1;
	steps = f.steps;
	CHECK(ask(&f, base, port, ECHO("5"), reply, sizeof(reply)));
	CHECK(strstr(reply, "\"value\":10") && strstr(reply, "\"prepared\":false"));
	CHECK_EQ_INT(f.steps, steps);
	f.refuse = 0;

	/* rpc_free once the executor is idle: every made thing released. */
	CHECK(spin_until(base, &f.releases, f.steps - 1, 2000)); /* one step declined ("x") */
	spin(base, 50);
	CHECK_EQ_INT(__atomic_load_n(&f.releases, __ATOMIC_RELAXED), f.steps - 1);
	rpc_free(f.rpc);
	event_base_free(base);
	return test_report("rpc_offload");
}
