/* A node with an RPC server over a fixture's chain, for the unit tests of
 * RPC methods (test_rpc_mempool, test_rpc_simulate): its chain in
 * fx->dir/name, a mempool, an event base and the server on a free port
 * with the tests' credentials ("u:p"). The caller registers the methods. */
#ifndef ASSAY_TESTS_UNIT_RPC_NODE_FIXTURE_H
#define ASSAY_TESTS_UNIT_RPC_NODE_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "node/node.h"
#include "node_fixture.h"
#include "rpc_fixture.h"
#include "test.h"

static inline void rpc_test_node_open(struct node *n, const struct fixture *fx, const char *name)
{
	char path[400], err[256];
	memset(n, 0, sizeof(*n));
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	n->genesis = fx->g; /* shallow: for the parameters and addresses */
	n->chain = chain_open(path, &fx->g, err, sizeof(err));
	CHECK(n->chain != NULL);
	n->mempool = mempool_new(n->chain, 5000, 1u << 26);
	n->base = event_base_new();
	n->rpc = rpc_new(n->base, "127.0.0.1", free_port(), "u", "p", NULL, err, sizeof(err));
	CHECK(n->rpc != NULL);
}

static inline void rpc_test_node_close(struct node *n)
{
	rpc_free(n->rpc);
	mempool_free(n->mempool);
	chain_close(n->chain);
	event_base_free(n->base);
}

#endif
