/* Unit tests for simulatetransaction (node/rpc_simulate.c), called through
 * the RPC server's method table on a node with a chain and a mempool: the
 * sender's pending transactions before the simulated one are applied
 * first, but only as many as the next block can hold with it, since the
 * call is not charged. Not for: the wallet's use of the verdict
 * (test_cli_preflight.c, wallet_preflight.py). */
#include <string.h>

#include <event2/event.h>

#include "core/error.h"
#include "core/log.h"
#include "node/node.h"
#include "test.h"
#include "node_fixture.h"
#include "rpc_node_fixture.h"

static struct fixture fx;

struct sim_node {
	struct node n;
	rpc_method_fn simulate;
};

static void sim_init(struct sim_node *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	rpc_test_node_open(&s->n, &fx, name);
	node_register_simulate_rpc(&s->n);
	size_t nm;
	const struct rpc_method *m = rpc_methods(s->n.rpc, &nm);
	for (size_t i = 0; i < nm; i++)
		if (strcmp(m[i].name, "simulatetransaction") == 0)
			s->simulate = m[i].fn;
	CHECK(s->simulate != NULL);
}

static void sim_done(struct sim_node *s)
{
	rpc_test_node_close(&s->n);
}

/* A transfer of key `from` with gas_limit gas (its fee the floor for it). */
static void gas_transfer(struct tx *t, int from, uint64_t nonce, uint64_t gas_limit)
{
	fixture_transfer(&fx, t, from, fx.addr[7], 5, nonce, 0);
	t->gas_limit = gas_limit;
	CHECK_EQ_INT(chain_min_fee(&fx.g.params, gas_limit, &t->fee), 0);
	tx_sign(t, fx.sk[from]);
}

/* simulatetransaction of t: its result object (the caller's), or NULL. */
static json_t *simulate(struct sim_node *s, const struct tx *t)
{
	struct buf b;
	struct rpc_error e = {0};
	json_t *result = NULL;
	buf_init(&b);
	tx_encode(t, &b);
	char *hex = malloc(2 * b.len + 1);
	hex_encode(b.data, b.len, hex);
	json_t *params = json_pack("[s]", hex);
	int rc = s->simulate(&s->n, params, &result, &e);
	if (rc != 0)
		fprintf(stderr, "simulatetransaction: %s\n", e.message);
	json_decref(params);
	free(hex);
	buf_free(&b);
	return rc == 0 ? result : NULL;
}

/* Whether simulatetransaction calls a transfer from key `from` (nonce,
 * gas_limit) valid; when it is not and limit is given, its error must say
 * the transaction cannot be in the next block because of that limit. */
static int simulated_valid(struct sim_node *s, int from, uint64_t nonce, uint64_t gas_limit, const char *limit)
{
	struct tx t;
	gas_transfer(&t, from, nonce, gas_limit);
	json_t *r = simulate(s, &t);
	tx_free(&t);
	CHECK(r != NULL);
	int valid = json_is_true(json_object_get(r, "valid"));
	CHECK(valid || json_is_false(json_object_get(r, "valid")));
	if (!valid && limit) {
		const char *why = json_string_value(json_object_get(r, "error"));
		CHECK(why && strstr(why, "cannot be in the next block") && strstr(why, limit));
	}
	json_decref(r);
	return valid;
}

/* Key 1 has two pending transfers of just over half a block's gas each:
 * together they fill more than one block, so a transaction after them
 * cannot be in the next block. The dry run says so without executing
 * them; one after the first alone is judged as before. */
static void test_pending_bounded_by_a_block(void)
{
	struct sim_node s;
	sim_init(&s, "bounded");
	uint64_t half = fx.g.params.max_block_gas / 2 + 1;
	char err[256];
	struct tx p0, p1, t;
	gas_transfer(&p0, 1, 0, half);
	gas_transfer(&p1, 1, 1, half);
	CHECK_EQ_INT(mempool_add(s.n.mempool, &p0, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(mempool_add(s.n.mempool, &p1, NULL, err, sizeof(err)), 0);

	gas_transfer(&t, 1, 1, 0); /* after p0 only: fits */
	json_t *r = simulate(&s, &t);
	CHECK(r != NULL);
	CHECK(json_is_true(json_object_get(r, "valid")));
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	tx_free(&t);

	/* after p0 and p1: over max_block_gas */
	CHECK(!simulated_valid(&s, 1, 2, 0, "max_block_gas"));
	/* Its own gas counts too: one pending of half a block and t of half. */
	CHECK(!simulated_valid(&s, 1, 1, half, NULL));
	/* Another sender's pending transactions are none of t's. */
	CHECK(simulated_valid(&s, 2, 0, half, NULL));

	tx_free(&p0);
	tx_free(&p1);
	sim_done(&s);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	fixture_init(&fx);
	RUN(test_pending_bounded_by_a_block);
	fixture_free(&fx);
	return test_report("test_rpc_simulate");
}
