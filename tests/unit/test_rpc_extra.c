/* Unit tests for RPC methods of node/rpc_extra.c called through the
 * method table, on a chain whose database is damaged on disk: a record the
 * node fails to read is an internal error, never an answer that says the
 * data is not there. Not for: the methods' ordinary replies (rpc_methods.py). */
#include <string.h>

#include <event2/event.h>

#include "core/error.h"
#include "core/log.h"
#include "node/node.h"
#include "test.h"
#include "node_fixture.h"
#include "rpc_fixture.h"

static struct fixture fx;

/* Builds, signs and applies the next (empty) block. */
static int produce(chain_t *c)
{
	return fixture_produce(&fx, c, NULL, 0, 2000 + chain_height(c) * 1000, UINT64_MAX);
}

/* The method called name among those node_register_extra_rpc adds. */
static rpc_method_fn method(struct node *n, const char *name)
{
	size_t nm;
	const struct rpc_method *m = rpc_methods(n->rpc, &nm);
	for (size_t i = 0; i < nm; i++)
		if (strcmp(m[i].name, name) == 0)
			return m[i].fn;
	return NULL;
}

/* getblockheader of a block below the tip whose next block's height
 * record cannot be read (its table block fails its checksum): -32603
 * naming the height. It used to answer with next_hash null, as at the tip. */
static void test_header_next_unreadable(void)
{
	char path[400], err[256];
	snprintf(path, sizeof(path), "%s/next-io", fx.dir);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ_INT(produce(c), 0);
	CHECK_EQ_INT(produce(c), 0);
	uint8_t key[9] = {STORE_P_HEIGHT, 0, 0, 0, 0, 0, 0, 0, 2}, tip[HASH_LEN];
	chain_tip_hash(c, tip);
	chain_close(c);
	CHECK_EQ_INT(fixture_damage_on_disk(path, key, sizeof(key), tip, sizeof(tip)), 0);

	struct node n;
	memset(&n, 0, sizeof(n));
	n.genesis = fx.g; /* shallow: for the network of addresses */
	n.chain = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(n.chain != NULL);
	if (!n.chain)
		return;
	n.base = event_base_new();
	n.rpc = rpc_new(n.base, "127.0.0.1", free_port(), "u", "p", NULL, err, sizeof(err));
	CHECK(n.rpc != NULL);
	if (n.rpc) {
		node_register_extra_rpc(&n);
		rpc_method_fn header = method(&n, "getblockheader");
		CHECK(header != NULL);
		char tip_hex[2 * HASH_LEN + 1];
		hex_encode(tip, HASH_LEN, tip_hex);
		for (int height = 1; header && height <= 2; height++) {
			/* the tip by its hash: by height, its own record is read */
			json_t *params = height == 1 ? json_pack("[i]", height) : json_pack("[s]", tip_hex);
			json_t *result = NULL;
			struct rpc_error e = {0};
			log_set_stderr(0);
			int rc = header(&n, params, &result, &e);
			log_set_stderr(1);
			if (height == 1) { /* block 2's height record is the damaged one */
				CHECK(rc != 0 && e.code == RPC_INTERNAL_ERROR);
				CHECK(strstr(e.message, "height index damaged at 2") != NULL);
			} else { /* the tip: no next block to read */
				CHECK_EQ_INT(rc, 0);
				CHECK(result && json_is_null(json_object_get(result, "next_hash")));
			}
			json_decref(result);
			json_decref(params);
		}
		rpc_free(n.rpc);
	}
	chain_close(n.chain);
	event_base_free(n.base);
}

int main(void)
{
	fixture_init(&fx);
	RUN(test_header_next_unreadable);
	fixture_free(&fx);
	return test_report("test_rpc_extra");
}
