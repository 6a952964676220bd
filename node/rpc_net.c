/* The node's p2p RPC methods (docs/rpc.md): getpeerinfo, getnodeaddresses, addnode,
 * disconnectnode, listbanned, setban and clearbanned, each a thin JSON layer
 * over the net_t calls of net/net.h. Not for: chain or mempool methods
 * (node_rpc.c) or any p2p policy (net/). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/node.h"

static int need_net(struct node *n, struct rpc_error *e)
{
	if (!n->net)
		return rpc_fail(e, RPC_CLIENT_NOT_CONNECTED, "p2p networking is not running");
	return 0;
}

static int m_getpeerinfo(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct net_peer_info *peers = NULL;
	size_t count = 0;
	(void)params;
	if (need_net(n, e) < 0)
		return -1;
	if (net_peers(n->net, &peers, &count) < 0)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	*result = json_array();
	for (size_t i = 0; i < count; i++) {
		const struct net_peer_info *p = &peers[i];
		json_array_append_new(
			*result,
			json_pack("{s:I,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:i,s:s}", "id", (json_int_t)p->id, "addr",
				  p->addr, "inbound", p->inbound, "best_height", (json_int_t)p->best_height,
				  "bytes_sent", (json_int_t)p->bytes_sent, "bytes_recv", (json_int_t)p->bytes_recv,
				  "bytes_sent_raw", (json_int_t)p->bytes_sent_raw, "bytes_recv_raw",
				  (json_int_t)p->bytes_recv_raw,
				  "ping_ms", p->ping_ms >= 0 ? json_integer(p->ping_ms) : json_null(),
				  "connected_at_ms", (json_int_t)p->connected_at_ms, "score", p->score, "user_agent",
				  p->user_agent));
	}
	free(peers);
	return 0;
}

/* getnodeaddresses [COUNT]: what the address book holds (Bitcoin Core's
 * name); COUNT default 1, 0 for all. */
static int m_getnodeaddresses(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *count_p = rpc_param(params, 0);
	if (need_net(n, e) < 0)
		return -1;
	if (json_array_size(params) > 1 || (count_p && (!json_is_integer(count_p) || json_integer_value(count_p) < 0)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "getnodeaddresses [COUNT] (default 1; 0 for all)");
	size_t max = count_p ? (size_t)json_integer_value(count_p) : 1;
	struct net_book_info *book = NULL;
	size_t count = 0;
	if (net_addresses(n->net, max, &book, &count) < 0)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	*result = json_array();
	for (size_t i = 0; i < count; i++) {
		const struct net_book_info *b = &book[i];
		json_array_append_new(*result, json_pack("{s:s,s:s,s:I,s:b,s:i,s:I}", "address", b->addr, "source",
							 b->source, "last_seen", (json_int_t)b->last_seen, "tried",
							 b->tried, "failures", (int)b->failures, "next_try_ms",
							 (json_int_t)b->next_try_ms));
	}
	free(book);
	return 0;
}

static int m_addnode(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *addr = rpc_param(params, 0);
	if (need_net(n, e) < 0)
		return -1;
	json_t *cmd = rpc_param(params, 1);
	if (!json_is_string(addr))
		return rpc_fail(e, RPC_INVALID_PARAMS, "addnode takes a numeric address, e.g. 127.0.0.1:29444");
	if (cmd && (!json_is_string(cmd) || (strcmp(json_string_value(cmd), "add") != 0 &&
					     strcmp(json_string_value(cmd), "remove") != 0)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "addnode IP:PORT [add|remove]");
	if (cmd && strcmp(json_string_value(cmd), "remove") == 0) {
		if (net_removenode(n->net, json_string_value(addr)) < 0)
			return rpc_fail(e, RPC_CLIENT_NOT_CONNECTED, "%s was not added", json_string_value(addr));
		log_info("rpc: addnode %s remove", json_string_value(addr));
		*result = json_null();
		return 0;
	}
	int rc = net_addnode(n->net, json_string_value(addr));
	if (rc == ASSAY_EARG)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "not a numeric ip:port address: %s", json_string_value(addr));
	if (rc == ASSAY_EEXISTS)
		return rpc_fail(e, RPC_MISC_ERROR, "%s is already added", json_string_value(addr));
	if (rc == ASSAY_EFULL)
		return rpc_fail(e, RPC_MISC_ERROR, "too many added nodes (at most %d)", NET_MAX_TARGETS);
	if (rc)
		return rpc_fail(e, RPC_MISC_ERROR, "cannot add node: %s", assay_strerror(rc));
	log_info("rpc: addnode %s", json_string_value(addr));
	*result = json_null();
	return 0;
}

static int m_disconnectnode(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *arg = rpc_param(params, 0);
	char id[32];
	const char *which;
	if (need_net(n, e) < 0)
		return -1;
	if (json_is_integer(arg) && json_integer_value(arg) >= 0) {
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(arg));
		which = id;
	} else if (json_is_string(arg)) {
		which = json_string_value(arg);
	} else {
		return rpc_fail(e, RPC_INVALID_PARAMS, "disconnectnode takes a peer address (ip:port) or id");
	}
	int rc = net_disconnect(n->net, which);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no connected peer %s", which);
	if (rc)
		return rpc_fail(e, RPC_MISC_ERROR, "cannot disconnect: %s", assay_strerror(rc));
	*result = json_null();
	return 0;
}

static int m_listbanned(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct net_ban *bans = NULL;
	size_t count = 0;
	(void)params;
	if (need_net(n, e) < 0)
		return -1;
	if (net_bans(n->net, &bans, &count) < 0)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	*result = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(*result, json_pack("{s:s,s:I,s:s}", "address", bans[i].addr, "banned_until_ms",
							 (json_int_t)bans[i].until_ms, "reason", bans[i].reason));
	free(bans);
	return 0;
}

static int m_setban(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *ip = rpc_param(params, 0), *cmd = rpc_param(params, 1), *secs = rpc_param(params, 2);
	if (need_net(n, e) < 0)
		return -1;
	if (!json_is_string(ip) || !json_is_string(cmd))
		return rpc_fail(e, RPC_INVALID_PARAMS, "setban takes IP add|remove [SECONDS]");
	int add;
	if (strcmp(json_string_value(cmd), "add") == 0)
		add = 1;
	else if (strcmp(json_string_value(cmd), "remove") == 0)
		add = 0;
	else
		return rpc_fail(e, RPC_INVALID_PARAMS, "setban: the command is add or remove");
	uint64_t seconds = 0;
	if (secs && !json_is_null(secs)) {
		if (!json_is_integer(secs) || json_integer_value(secs) < 0 ||
		    json_integer_value(secs) > NET_BAN_MAX_S)
			return rpc_fail(e, RPC_INVALID_PARAMS,
					"setban: SECONDS must be an integer from 0 (the default, 24 h) to %d "
					"(10 years, NET_BAN_MAX_S)",
					NET_BAN_MAX_S);
		seconds = (uint64_t)json_integer_value(secs);
	}
	int rc = net_setban(n->net, json_string_value(ip), add, seconds);
	if (rc == ASSAY_EARG)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "not a numeric IP address: %s", json_string_value(ip));
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "%s is not banned", json_string_value(ip));
	if (rc == ASSAY_EFULL)
		return rpc_fail(e, RPC_MISC_ERROR, "the ban list is full");
	if (rc == ASSAY_ELIMIT) /* checked above; net_setban holds the bound too */
		return rpc_fail(e, RPC_INVALID_PARAMS, "setban: SECONDS over %d", NET_BAN_MAX_S);
	if (rc)
		return rpc_fail(e, RPC_MISC_ERROR, "setban failed: %s", assay_strerror(rc));
	log_info("rpc: setban %s %s", json_string_value(ip), add ? "add" : "remove");
	*result = json_null();
	return 0;
}

static int m_clearbanned(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	(void)params;
	if (need_net(n, e) < 0)
		return -1;
	net_clearbans(n->net);
	log_info("rpc: clearbanned");
	*result = json_null();
	return 0;
}

static const struct rpc_method net_methods[] = {
	{"getpeerinfo", m_getpeerinfo, "getpeerinfo - connected peers: address, direction, height, traffic, ping, score"},
	{"getnodeaddresses", m_getnodeaddresses,
	 "getnodeaddresses [COUNT] - address book entries (default 1, 0 for all): address, source, tried, backoff"},
	{"addnode", m_addnode, "addnode IP:PORT [add|remove] - keep a peer connected (add, the default), or stop (remove)"},
	{"disconnectnode", m_disconnectnode, "disconnectnode IP:PORT|ID - close the connection to a peer"},
	{"listbanned", m_listbanned, "listbanned - banned IPs with expiry (ms since the epoch) and reason"},
	{"setban", m_setban, "setban IP add|remove [SECONDS] - ban an IP (default 24 h) or lift its ban"},
	{"clearbanned", m_clearbanned, "clearbanned - lift every ban"},
};

void node_register_rpc_net(struct node *n)
{
	rpc_register(n->rpc, net_methods, sizeof(net_methods) / sizeof(net_methods[0]), n);
}
