/* Unit tests for the RPC methods that read the mempool (getrawmempool in
 * node/node_rpc.c, estimatefee in node/rpc_extra.c), called through the
 * RPC server's method table on a node with a chain and a mempool. Linked
 * with tx_id wrapped (-Wl,--wrap=tx_id, node/local.mk), so a test can count
 * the transactions hashed during a call. Not for: the mempool's own rules
 * (test_mempool.c) or the calls over HTTP (rpc_methods.py). */
#include <string.h>

#include <event2/event.h>

#include "consensus/compute/compute_codec.h"
#include "core/error.h"
#include "core/log.h"
#include "node/node.h"
#include "test.h"
#include "node_fixture.h"
#include "rpc_fixture.h"

/* Every tx_id call outside core/tx.c comes here (--wrap). */
void __real_tx_id(const struct tx *t, uint8_t out[HASH_LEN]);
void __wrap_tx_id(const struct tx *t, uint8_t out[HASH_LEN]);
static uint64_t tx_id_calls;

void __wrap_tx_id(const struct tx *t, uint8_t out[HASH_LEN])
{
	tx_id_calls++;
	__real_tx_id(t, out);
}

static struct fixture fx;

struct rpc_node {
	struct node n;
};

static void rpc_node_init(struct rpc_node *r, const char *name)
{
	char path[400], err[256];
	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	r->n.genesis = fx.g; /* shallow: for the parameters and addresses */
	r->n.chain = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(r->n.chain != NULL);
	r->n.mempool = mempool_new(r->n.chain, 5000, 1u << 26);
	r->n.base = event_base_new();
	r->n.rpc = rpc_new(r->n.base, "127.0.0.1", free_port(), "u", "p", NULL, err, sizeof(err));
	CHECK(r->n.rpc != NULL);
	node_register_rpc(&r->n);
	node_register_extra_rpc(&r->n);
}

static void rpc_node_done(struct rpc_node *r)
{
	rpc_free(r->n.rpc);
	mempool_free(r->n.mempool);
	chain_close(r->n.chain);
	event_base_free(r->n.base);
}

/* Calls method with params (a new reference, taken); its result (the
 * caller's), or NULL with the error printed. */
static json_t *call(struct rpc_node *r, const char *method, json_t *params)
{
	size_t nm;
	const struct rpc_method *m = rpc_methods(r->n.rpc, &nm);
	rpc_method_fn fn = NULL;
	for (size_t i = 0; i < nm; i++)
		if (strcmp(m[i].name, method) == 0)
			fn = m[i].fn;
	CHECK(fn != NULL);
	struct rpc_error e = {0};
	json_t *result = NULL;
	int rc = fn ? fn(&r->n, params, &result, &e) : -1;
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", method, e.message);
	json_decref(params);
	return rc == 0 ? result : NULL;
}

/* A transfer of key `from` (nonce, fee), admitted. */
static void pool_transfer(struct rpc_node *r, int from, uint64_t nonce, uint64_t fee)
{
	struct tx t;
	char err[256];
	fixture_transfer(&fx, &t, from, fx.addr[7], 1, nonce, fee);
	int rc = mempool_add(r->n.mempool, &t, NULL, err, sizeof(err));
	if (rc)
		fprintf(stderr, "mempool_add: %s\n", err);
	CHECK_EQ_INT(rc, 0);
	tx_free(&t);
}

/* getrawmempool lists the pool's ids in selection order without hashing a
 * transaction again: the ids are the ones admission computed. Before, each
 * call hashed every pending transaction (a full pool is 64 MiB). */
static void test_getrawmempool_uses_pool_ids(void)
{
	struct rpc_node r;
	rpc_node_init(&r, "rawmempool");
	for (int k = 1; k <= 4; k++)
		for (uint64_t nonce = 0; nonce < 5; nonce++)
			pool_transfer(&r, k, nonce, 1000 + 100 * (uint64_t)k);
	size_t size = mempool_size(r.n.mempool);
	CHECK_EQ_U64(size, 20);

	uint64_t before = tx_id_calls;
	json_t *ids = call(&r, "getrawmempool", json_array());
	CHECK_EQ_U64(tx_id_calls - before, 0);
	CHECK(json_is_array(ids));
	CHECK_EQ_U64(json_array_size(ids), size);

	/* The reference: each selected transaction hashed here. */
	const struct tx *sel[20];
	CHECK_EQ_U64(mempool_select(r.n.mempool, sel, 20), size);
	for (size_t i = 0; i < size && i < json_array_size(ids); i++) {
		uint8_t want[HASH_LEN];
		char hex[2 * HASH_LEN + 1];
		__real_tx_id(sel[i], want);
		hex_encode(want, HASH_LEN, hex);
		const char *got = json_string_value(json_array_get(ids, i));
		CHECK(got && strcmp(got, hex) == 0);
	}
	json_decref(ids);
	rpc_node_done(&r);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	fixture_init(&fx);
	RUN(test_getrawmempool_uses_pool_ids);
	fixture_free(&fx);
	return test_report("test_rpc_mempool");
}
