/* Sockets, peers, gossip and sync on libevent (see net.h, docs/p2p.md).
 * Each connection pairs a bufferevent with a pure net_peer_t; bytes read are
 * fed to the peer, its outbox is written back. Connections are never freed
 * inside a callback that might still use them: closing marks them dead and a
 * deferred "reap" event frees them once their last bytes (a reject) are out.
 * Not for: protocol rules (net/peer.c) or block ordering policy (net/sync.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/block.h"
#include "core/error.h"
#include "core/log.h"
#include "net/book.h"
#include "net/evict.h"
#include "net/hashset.h"
#include "net/net.h"
#include "net/peer.h"
#include "net/request.h"
#include "net/sync.h"

#define NET_TICK_MS 250                 /* timer period: timeouts, dialing, sync */
#define NET_TARGET_RETRY_MS 3000        /* re-dial an -addnode/-connect peer this often */
#define NET_CLOSE_GRACE_MS 2000         /* time a closing peer gets to take our reject */
#define NET_SEEN_MAX 65536              /* global recently-seen inventory */
#define NET_ANNOUNCED_MAX 1024          /* block hash → height pairs we can serve by hash */
#define NET_SELF_ADDRS_MAX 16           /* addresses that turned out to be ourselves */
/* Output queued for one peer above which we answer nothing more (getblocks,
 * getdata) and read nothing from it until its socket drains, as Bitcoin's
 * fPauseSend: a peer that asks and never reads cannot make us buffer more
 * than this plus one object. */
#define NET_SEND_PAUSE (1u << 20)
#define NET_GETDATA_QUEUE_MAX (2 * NET_MAX_INV) /* getdata items waiting per peer; more are dropped */

struct conn {
	struct net *n;
	uint64_t id;
	struct bufferevent *bev;
	net_peer_t *peer;
	uint8_t ip[16];
	uint16_t port;              /* remote socket port */
	char addr[64];
	int inbound;
	int target;                 /* index into n->targets, or -1 */
	int tcp_up;                 /* connect completed (inbound: always) */
	int dead;                   /* closing; freed by reap */
	uint64_t dead_since_ms;
	uint64_t connected_at_ms;   /* wall clock */
	uint64_t created_ms;        /* monotonic */
	uint64_t best_height;       /* its claim: from version, raised by blocks we asked it for */
	uint64_t serve_next, serve_end; /* getblocks being answered: [next, end) */
	struct net_inv *getdata_queue;  /* getdata items not answered yet (NET_GETDATA_QUEUE_MAX) */
	size_t getdata_pos, getdata_len; /* waiting: [pos, len) */
	int read_paused;            /* reading stopped while our output to it is over NET_SEND_PAUSE */
	struct net_block_reqs block_reqs; /* gossip blocks we asked it for by getdata */
	uint64_t group;             /* keyed hash of its net group (net_ip_group) */
	uint64_t last_tx_ms;        /* last tx from it that the node accepted; 0 never */
	uint64_t last_block_ms;     /* last block from it that connected; 0 never */
	uint64_t asked_from, asked_end; /* last getblocks sent to it: [from, end) */
	int sent_getaddr, answered_getaddr;
	struct net_addr_budget addr_budget; /* addr entries it may still send (token bucket) */
	struct conn *next;
};

struct target {
	char hostport[128];
	struct sockaddr_storage sa;
	int salen;
	uint64_t next_try_ms;
	uint64_t conn_id;           /* 0 when not connected */
	int disabled;               /* turned out to be ourselves, or removed */
	int removed;                /* removed by the operator: the slot may be reused */
};

struct announced {
	uint8_t hash[32];
	uint64_t height;
};

struct net {
	struct event_base *base;
	struct net_node_ops ops;
	uint32_t magic;
	uint8_t chain_id[32];
	char user_agent[NET_MAX_USER_AGENT + 1];
	int max_connections;
	int connect_only;           /* -connect given: dial only the targets */
	char *peers_path, *bans_path;
	struct evconnlistener *listener;
	uint16_t listen_port;
	int listen_paused;          /* accept failed: re-enabled at the next tick */
	uint64_t accept_warned_ms;  /* last "accept failed" line (one a minute) */
	struct log_rate inbound_log; /* inbound connections that came to nothing (log_inbound_nothing) */
	struct event *timer, *reap;
	uint64_t nonce;
	struct {
		uint8_t ip[16];
		uint16_t port;
	} self_addrs[NET_SELF_ADDRS_MAX]; /* dialed and found to be us: never dialed again */
	size_t nself, self_next;
	uint64_t closed_bytes_sent, closed_bytes_recv; /* on the wire, by connections now gone */
	uint8_t group_key[crypto_shorthash_KEYBYTES]; /* keys net group hashes: unpredictable */
	uint64_t next_id;
	struct conn *conns;
	struct target targets[NET_MAX_TARGETS];
	int ntargets;
	net_book_t *book;
	net_hashset_t *seen;
	net_consensus_fn on_consensus; /* net_set_consensus_handler; NULL: proposals and votes ignored */
	void *consensus_ctx;
	net_tx_fn on_tx_from;        /* net_set_tx_handler: used instead of ops.on_tx */
	void *tx_ctx;
	net_req_t *requests;        /* txs asked for by getdata and not yet received */
	net_req_t *blocks;          /* gossip blocks asked for by getdata and not yet applied */
	struct announced announced[NET_ANNOUNCED_MAX];
	size_t announced_next;
	net_sync_t *sync;
	int delivering;             /* guards sync delivery against re-entry */
	/* the block last answered NET_BLOCK_WAIT with no next block beside it,
	 * or ASSAY_EUNAVAIL (its chunks are not here): not offered again before
	 * wait_ms + NET_BLOCK_WAIT_RETRY_MS, unless a next comes for one waiting
	 * for its commit (by its buffer: at worst another block at the same
	 * address waits as long, nothing is judged by it) */
	const uint8_t *wait_enc;
	size_t wait_len;
	uint64_t wait_height, wait_ms;
	int wait_chunks;            /* it waits for chunks: a next block does not help */
	uint64_t rate_tip, rate_at_ms;
	double blocks_per_s;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sockaddr_to_ip(const struct sockaddr *sa, uint8_t ip[16], uint16_t *port)
{
	memset(ip, 0, 16);
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(ip, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
}

static int ip_to_sockaddr(const uint8_t ip[16], uint16_t port, struct sockaddr_storage *ss)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memset(ss, 0, sizeof(*ss));
	if (memcmp(ip, v4, 12) == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, ip + 12, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	memcpy(&in6->sin6_addr, ip, 16);
	return sizeof(*in6);
}

static void persist_bans(struct net *n)
{
	if (n->bans_path && net_book_save_bans(n->book, n->bans_path) < 0)
		log_warn("net: cannot write %s", n->bans_path);
}

/* ---- connection lifetime ---- */

static void conn_flush(struct conn *c)
{
	struct buf *out = net_peer_outbox(c->peer);
	if (out->len && c->bev && c->tcp_up)
		bufferevent_write(c->bev, out->data, out->len);
	if (c->tcp_up)
		net_buf_release(out);
}

/* An inbound connection that came to nothing: refused, or closed before
 * its handshake. Anyone can make these as fast as they can connect (375 a
 * second wrote 1.1 GB of debug.log a day), so each is a -debug=net line and
 * at the default level one info line per NET_INBOUND_LOG_INTERVAL_MS says
 * the latest and how many more there were. */
static void log_inbound_nothing(struct net *n, const char *addr, const char *what)
{
	unsigned more;
	log_debugc(LOG_CAT_NET, "net: inbound %s %s", addr, what);
	if (log_category_on(LOG_CAT_NET) ||
	    !log_rate_allow(&n->inbound_log, mono_ms(), NET_INBOUND_LOG_INTERVAL_MS, &more))
		return;
	if (more)
		log_info("net: inbound %s %s (and %u more inbound connections refused or closed before a "
			 "handshake since the last such line; -debug=net lists each)",
			 addr, what, more);
	else
		log_info("net: inbound %s %s", addr, what);
}

static void conn_close(struct conn *c, const char *why)
{
	struct net *n = c->n;
	if (c->dead)
		return;
	c->dead = 1;
	c->dead_since_ms = mono_ms();
	if (!why || !*why)
		why = net_peer_close_reason(c->peer);
	if (c->inbound && !net_peer_ready(c->peer)) {
		char what[160];
		snprintf(what, sizeof(what), "closed before its handshake: %s", why);
		log_inbound_nothing(n, c->addr, what);
	} else {
		log_info("net: peer %llu %s disconnected: %s", (unsigned long long)c->id, c->addr, why);
	}
	/* Connections already open when an address earns its ban earn it
	 * again as they misbehave: one ban, one line. */
	if (net_peer_banned(c->peer) && !net_book_is_banned(n->book, c->ip, wall_ms())) {
		uint64_t until = wall_ms() + (uint64_t)NET_BAN_DEFAULT_S * 1000;
		char ip_text[64];
		net_ip_format(c->ip, ip_text, sizeof(ip_text));
		if (net_book_ban(n->book, c->ip, until, net_peer_close_reason(c->peer)) == 0) {
			log_warn("net: banned %s for %d s: %s", ip_text, NET_BAN_DEFAULT_S,
				 net_peer_close_reason(c->peer));
			persist_bans(n);
		}
	}
	net_sync_peer_gone(n->sync, c->id);
	net_req_peer_gone(n->requests, c->id); /* moved to other announcers on the next tick */
	net_req_peer_gone(n->blocks, c->id);
	if (net_peer_self(c->peer) && !c->inbound) {
		/* never dial ourselves again, even when gossip names the address anew */
		net_book_remove(n->book, c->ip, c->port);
		if (c->target >= 0)
			n->targets[c->target].disabled = 1;
		memcpy(n->self_addrs[n->self_next].ip, c->ip, 16);
		n->self_addrs[n->self_next].port = c->port;
		n->self_next = (n->self_next + 1) % NET_SELF_ADDRS_MAX;
		if (n->nself < NET_SELF_ADDRS_MAX)
			n->nself++;
	}
	if (c->target >= 0) {
		n->targets[c->target].conn_id = 0;
		n->targets[c->target].next_try_ms = mono_ms() + NET_TARGET_RETRY_MS;
	}
	if (c->bev) {
		conn_flush(c);
		bufferevent_disable(c->bev, EV_READ);
	}
	event_active(n->reap, EV_TIMEOUT, 0);
}

static void conn_free(struct conn *c)
{
	struct net_peer_stats st;
	net_peer_stats(c->peer, &st); /* assay_p2p_bytes_total never falls */
	c->n->closed_bytes_sent += st.bytes_sent_raw;
	c->n->closed_bytes_recv += st.bytes_recv_raw;
	if (c->bev)
		bufferevent_free(c->bev);
	net_peer_free(c->peer);
	free(c->getdata_queue);
	free(c);
}

/* Frees dead connections whose output is written (or whose grace ran out). */
static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	uint64_t now = mono_ms();
	struct conn **pp = &n->conns;
	while (*pp) {
		struct conn *c = *pp;
		int drained = !c->bev || !c->tcp_up ||
			      evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
		if (c->dead && (drained || now - c->dead_since_ms >= NET_CLOSE_GRACE_MS)) {
			*pp = c->next;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

static struct conn *conn_by_id(struct net *n, uint64_t id)
{
	for (struct conn *c = n->conns; c; c = c->next)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

static void conn_send(struct conn *c, const struct net_msg *m)
{
	if (c->dead)
		return;
	if (net_peer_send(c->peer, m) < 0) {
		conn_close(c, "cannot encode message");
		return;
	}
	conn_flush(c);
}

static void conn_misbehave(struct conn *c, enum net_fault f)
{
	log_info("net: peer %llu %s: %s (+%d)", (unsigned long long)c->id, c->addr,
		 net_fault_name(f), net_fault_points(f));
	if (net_peer_misbehave(c->peer, f))
		conn_close(c, NULL);
	else
		conn_flush(c);
}

/* ---- serving ---- */

/* Our output to the peer is over NET_SEND_PAUSE: answer nothing more now. */
static int conn_send_full(const struct conn *c)
{
	return c->bev && evbuffer_get_length(bufferevent_get_output(c->bev)) >= NET_SEND_PAUSE;
}

/* Read nothing more from the peer until its answers drain. */
static int conn_should_pause(const struct conn *c)
{
	return conn_send_full(c) || c->getdata_pos < c->getdata_len;
}

static void serve_blocks(struct conn *c)
{
	struct net *n = c->n;
	while (!c->dead && c->serve_next < c->serve_end && !conn_send_full(c)) {
		uint8_t *enc = NULL;
		size_t len = 0;
		uint64_t h = c->serve_next++;
		if (n->ops.get_block_at(n->ops.ctx, h, &enc, &len) < 0) {
			c->serve_end = c->serve_next; /* we do not have it: stop here */
			break;
		}
		if (len <= NET_MAX_OBJECT) {
			struct net_msg m = {.cmd = NET_CMD_BLOCK};
			m.u.block.height = h;
			m.u.block.data = enc;
			m.u.block.len = len;
			conn_send(c, &m);
		}
		free(enc);
	}
}

static int announced_height(struct net *n, const uint8_t hash[32], uint64_t *height)
{
	for (size_t i = 0; i < NET_ANNOUNCED_MAX; i++)
		if (memcmp(n->announced[i].hash, hash, 32) == 0 && n->announced[i].height) {
			*height = n->announced[i].height;
			return 1;
		}
	return 0;
}

/* Answers queued getdata items while the output stays under NET_SEND_PAUSE;
 * write_cb calls it again as the socket drains. */
static void serve_getdata(struct conn *c)
{
	struct net *n = c->n;
	size_t waiting = c->getdata_len - c->getdata_pos;
	struct net_inv *missing = calloc(waiting ? waiting : 1, sizeof(*missing));
	size_t nmissing = 0;
	if (!missing)
		return;
	while (!c->dead && c->getdata_pos < c->getdata_len && !conn_send_full(c)) {
		const struct net_inv *it = &c->getdata_queue[c->getdata_pos++];
		uint8_t *enc = NULL;
		size_t len = 0;
		uint64_t height = 0;
		struct net_msg out;
		memset(&out, 0, sizeof(out));
		if (it->type == NET_INV_TX && n->ops.get_tx &&
		    n->ops.get_tx(n->ops.ctx, it->hash, &enc, &len) == 0 && len <= NET_MAX_OBJECT) {
			out.cmd = NET_CMD_TX;
			out.u.tx.data = enc;
			out.u.tx.len = len;
			conn_send(c, &out);
		} else if (it->type == NET_INV_CHUNK && n->ops.get_chunk &&
			   n->ops.get_chunk(n->ops.ctx, it->hash, &enc, &len) == 0 && len <= NET_MAX_CHUNK) {
			out.cmd = NET_CMD_CHUNK;
			out.u.chunk.data = enc;
			out.u.chunk.len = len;
			conn_send(c, &out);
		} else if (it->type == NET_INV_BLOCK && announced_height(n, it->hash, &height) &&
			   n->ops.get_block_at(n->ops.ctx, height, &enc, &len) == 0 &&
			   len <= NET_MAX_OBJECT) {
			out.cmd = NET_CMD_BLOCK;
			out.u.block.height = height;
			out.u.block.data = enc;
			out.u.block.len = len;
			conn_send(c, &out);
		} else {
			missing[nmissing++] = *it;
		}
		free(enc);
	}
	if (c->getdata_pos == c->getdata_len)
		c->getdata_pos = c->getdata_len = 0;
	if (nmissing) {
		struct net_msg nf = {.cmd = NET_CMD_NOTFOUND};
		nf.u.inv.items = missing;
		nf.u.inv.count = nmissing;
		conn_send(c, &nf);
	}
	free(missing);
}

static int inv_cmp(const void *a, const void *b)
{
	const struct net_inv *x = a, *y = b;
	int d = memcmp(x->hash, y->hash, 32);
	return d ? d : (int)x->type - (int)y->type;
}

/* An item of a getdata and where it stood in it. */
struct inv_at {
	struct net_inv it;
	size_t at;
};

static int inv_at_cmp(const void *a, const void *b)
{
	const struct inv_at *x = a, *y = b;
	int d = inv_cmp(&x->it, &y->it);
	return d ? d : (x->at > y->at) - (x->at < y->at);
}

/* Queues the items not already waiting (a getdata naming one hash many
 * times is answered once) and answers what fits under the output limit.
 * Duplicates are found by sorting, not by comparing each item with every
 * waiting one: that cost a peer's getdata of 1000 items two million
 * comparisons. */
static void handle_getdata(struct conn *c, const struct net_msg *m)
{
	if (!c->getdata_queue) {
		c->getdata_queue = calloc(NET_GETDATA_QUEUE_MAX, sizeof(*c->getdata_queue));
		if (!c->getdata_queue)
			return;
	}
	size_t count = m->u.inv.count, nwait = c->getdata_len - c->getdata_pos;
	struct net_inv *waiting = malloc((nwait ? nwait : 1) * sizeof(*waiting));
	struct inv_at *asked = malloc((count ? count : 1) * sizeof(*asked));
	uint8_t *keep = calloc(count ? count : 1, 1);
	if (!waiting || !asked || !keep)
		goto out; /* unanswered: the peer asks again or elsewhere */
	memcpy(waiting, c->getdata_queue + c->getdata_pos, nwait * sizeof(*waiting));
	qsort(waiting, nwait, sizeof(*waiting), inv_cmp);
	for (size_t i = 0; i < count; i++) {
		asked[i].it = m->u.inv.items[i];
		asked[i].at = i;
	}
	qsort(asked, count, sizeof(*asked), inv_at_cmp);
	for (size_t i = 0; i < count; i++) /* the first of each run of equal items, if not waiting */
		keep[asked[i].at] = (i == 0 || inv_cmp(&asked[i - 1].it, &asked[i].it) != 0) &&
				    !bsearch(&asked[i].it, waiting, nwait, sizeof(*waiting), inv_cmp);
	for (size_t i = 0; i < count && c->getdata_len < NET_GETDATA_QUEUE_MAX; i++)
		if (keep[i])
			c->getdata_queue[c->getdata_len++] = m->u.inv.items[i];
out:
	free(waiting);
	free(asked);
	free(keep);
	serve_getdata(c);
}

static uint64_t random_u64(void)
{
	uint64_t r;
	evutil_secure_rng_get_bytes(&r, sizeof(r));
	return r;
}

static void send_addr(struct conn *c, const struct net_addr *items, size_t count)
{
	struct net_msg m = {.cmd = NET_CMD_ADDR};
	m.u.addr.items = (struct net_addr *)items;
	m.u.addr.count = count;
	conn_send(c, &m);
}

/* A connection to the node listening at ip:port: one we dialed there, or
 * one it dialed from ip and whose version named port as its listen port
 * (docs/p2p.md §8: one connection per peer); or ip:port is ourselves. */
static int connected_to(struct net *n, const uint8_t ip[16], uint16_t port)
{
	for (size_t i = 0; i < n->nself; i++)
		if (n->self_addrs[i].port == port && memcmp(n->self_addrs[i].ip, ip, 16) == 0)
			return 1;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->dead || memcmp(c->ip, ip, 16) != 0)
			continue;
		if (c->port == port)
			return 1;
		if (c->inbound && net_peer_ready(c->peer) && net_peer_remote(c->peer)->listen_port == port)
			return 1;
	}
	return 0;
}

static void handle_getaddr(struct conn *c)
{
	struct net *n = c->n;
	if (c->answered_getaddr)
		return; /* once per connection: stops address scraping loops */
	c->answered_getaddr = 1;
	struct net_book_entry *sample = calloc(NET_MAX_ADDR, sizeof(*sample));
	struct net_addr *items = calloc(NET_MAX_ADDR, sizeof(*items));
	if (!sample || !items) {
		free(sample);
		free(items);
		return;
	}
	/* a random sample of the book, so peers learn different parts of it */
	uint64_t now = wall_ms(), now_s = now / 1000;
	size_t count = net_book_sample(n->book, sample, NET_MAX_ADDR, now, random_u64());
	/* not the asker's own address (an inbound peer's is its listen port) */
	uint16_t asker_port = c->inbound ? net_peer_remote(c->peer)->listen_port : c->port;
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		if (sample[i].port == asker_port && memcmp(sample[i].ip, c->ip, 16) == 0)
			continue;
		memcpy(items[k].ip, sample[i].ip, 16);
		items[k].port = sample[i].port;
		/* a peer we are connected to right now was seen now: long-lived
		 * connections keep their addresses fresh in others' books */
		items[k].last_seen = connected_to(n, sample[i].ip, sample[i].port) ? now_s : sample[i].last_seen;
		k++;
	}
	send_addr(c, items, k);
	free(sample);
	free(items);
}

/* Passes fresh addresses that were new to us on to NET_ADDR_RELAY_PEERS
 * random ready peers other than the one they came from (docs/p2p.md §6).
 * Only what was new is relayed, so a relay dies out once all know it. */
static void relay_addr(struct net *n, const struct net_addr *items, size_t count, const struct conn *from)
{
	if (!count || n->connect_only)
		return;
	struct conn *chosen[NET_ADDR_RELAY_PEERS];
	size_t nchosen = 0, seen = 0;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c == from || c->dead || !net_peer_ready(c->peer))
			continue;
		seen++;
		if (nchosen < NET_ADDR_RELAY_PEERS) {
			chosen[nchosen++] = c;
		} else {
			uint64_t j = random_u64() % seen; /* reservoir: each peer equally likely */
			if (j < NET_ADDR_RELAY_PEERS)
				chosen[j] = c;
		}
	}
	for (size_t i = 0; i < nchosen; i++)
		send_addr(chosen[i], items, count);
}

/* ---- gossip ---- */

static void relay_inv(struct net *n, uint8_t type, const uint8_t hash[32], uint64_t height,
		      const struct conn *except)
{
	struct net_inv item = {.type = type};
	memcpy(item.hash, hash, 32);
	struct net_msg m = {.cmd = NET_CMD_INV};
	m.u.inv.items = &item;
	m.u.inv.count = 1;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c == except || c->dead || !net_peer_ready(c->peer) || net_peer_knows(c->peer, hash))
			continue;
		if (type == NET_INV_BLOCK && c->best_height >= height)
			continue; /* it has this height already */
		net_peer_add_known(c->peer, hash);
		conn_send(c, &m);
	}
}

static void handle_inv(struct conn *c, const struct net_msg *m)
{
	struct net *n = c->n;
	struct net_inv *want = calloc(m->u.inv.count ? m->u.inv.count : 1, sizeof(*want));
	size_t nwant = 0;
	uint64_t asked;
	int far_behind = -1; /* looked up at the first block: a walk of the peers */
	if (!want)
		return;
	for (size_t i = 0; i < m->u.inv.count; i++) {
		const struct net_inv *it = &m->u.inv.items[i];
		net_peer_add_known(c->peer, it->hash);
		if (net_hashset_has(n->seen, it->hash))
			continue;
		if (it->type == NET_INV_CHUNK) {
			/* asked of the first announcer; a block that needs it and
			 * finds it missing asks every peer again (§4) */
			if (!n->ops.has_chunk || n->ops.has_chunk(n->ops.ctx, it->hash))
				continue;
			net_hashset_add(n->seen, it->hash);
			want[nwant++] = *it;
			continue;
		}
		if (it->type == NET_INV_TX) {
			if (n->ops.has_tx && n->ops.has_tx(n->ops.ctx, it->hash))
				continue;
			/* asked of the first announcer; later ones wait as
			 * alternatives in case it never delivers. Over the
			 * peer's or its group's bound it is not tracked. */
			if (net_req_announce(n->requests, it->hash, c->id, c->group, mono_ms()) != 1)
				continue;
			want[nwant++] = *it;
			continue;
		}
		/* a block: asked of the first announcer, the others wait as
		 * alternatives until it is applied (then it is seen). While far
		 * behind, sync fetches it in a range: asked now, it would come
		 * ahead of the tip, and be asked of each announcer in turn. */
		if (far_behind < 0)
			far_behind = net_sync_target(n->sync) > net_sync_tip(n->sync) + NET_SYNC_RANGE;
		if (far_behind)
			continue;
		int rc = net_req_announce(n->blocks, it->hash, c->id, c->group, mono_ms());
		if (rc == 0)
			continue; /* in flight: c waits as an alternative */
		if (net_block_reqs_add(&c->block_reqs, it->hash) < 0) {
			if (rc == 1) /* NET_MAX_BLOCK_REQUESTS outstanding: not tracked */
				net_req_received(n->blocks, it->hash, &asked);
			continue;
		}
		/* rc < 0, the table full or c's group at its bound: asked all the
		 * same, untracked, so that a flood of made-up hashes cannot keep
		 * a real block from being asked (of each announcer, meanwhile) */
		want[nwant++] = *it;
	}
	if (nwant) {
		struct net_msg gd = {.cmd = NET_CMD_GETDATA};
		gd.u.inv.items = want;
		gd.u.inv.count = nwant;
		conn_send(c, &gd);
	}
	free(want);
}

static void send_getdata_one(struct conn *c, uint8_t type, const uint8_t hash[32])
{
	struct net_inv item = {.type = type};
	memcpy(item.hash, hash, 32);
	struct net_msg gd = {.cmd = NET_CMD_GETDATA};
	gd.u.inv.items = &item;
	gd.u.inv.count = 1;
	conn_send(c, &gd);
}

/* A tx request moved (net_req_next_due, net_req_notfound): asks its new
 * peer, unless the tx came meanwhile. */
static void tx_request_moved(struct net *n, const struct net_req_move *mv)
{
	uint64_t asked;
	if (!mv->to)
		return; /* nobody else offered it: a later inv asks again */
	struct conn *c = conn_by_id(n, mv->to);
	if (n->ops.has_tx && n->ops.has_tx(n->ops.ctx, mv->hash)) {
		net_req_received(n->requests, mv->hash, &asked);
		return;
	}
	if (!c) {
		net_req_peer_gone(n->requests, mv->to);
		return;
	}
	log_debugc(LOG_CAT_NET, "net: asking peer %llu for a tx another peer did not deliver",
		   (unsigned long long)c->id);
	send_getdata_one(c, NET_INV_TX, mv->hash);
}

/* Moves requests that timed out or lost their peer to the next announcer
 * (each tick: a walk of every request in flight, so never per message). */
static void request_step(struct net *n)
{
	struct net_req_move mv;
	while (net_req_next_due(n->requests, mono_ms(), &mv))
		tx_request_moved(n, &mv);
}

/* A block request moved (net_req_next_due, net_req_notfound): asks its new
 * peer, or the announcer after it when that one has NET_MAX_BLOCK_REQUESTS
 * outstanding. */
static void block_request_moved(struct net *n, struct net_req_move *mv)
{
	while (mv->to) {
		struct conn *c = conn_by_id(n, mv->to);
		if (c && net_block_reqs_add(&c->block_reqs, mv->hash) == 0) {
			log_debugc(LOG_CAT_NET, "net: asking peer %llu for a block another peer did not deliver",
				   (unsigned long long)c->id);
			send_getdata_one(c, NET_INV_BLOCK, mv->hash);
			return;
		}
		/* passed over, as if it had answered notfound */
		if (!net_req_notfound(n->blocks, mv->hash, mv->to, mono_ms(), mv))
			return;
	}
}

/* Gossip blocks not applied NET_BLOCK_REQ_TIMEOUT_MS after they were asked
 * go to their next announcer. A peer that answered nothing in that time,
 * while another announcer waits, stalls the download: it is disconnected,
 * without points (a slow link is no fault), as Bitcoin Core drops a peer
 * that stalls its block download. */
static void block_request_step(struct net *n)
{
	struct net_req_move mv;
	while (net_req_next_due(n->blocks, mono_ms(), &mv)) {
		struct conn *from = mv.from ? conn_by_id(n, mv.from) : NULL;
		if (from && mv.to && net_block_reqs_holds(&from->block_reqs, mv.hash)) {
			const char *why = "stalled a block download (no answer to getdata)";
			net_peer_close(from->peer, 0, why);
			conn_close(from, why);
		}
		block_request_moved(n, &mv);
	}
}

/* What follows the node's verdict on a transaction from c (NULL: the peer
 * has left since). */
static void tx_verdict(struct net *n, struct conn *c, const uint8_t txid[32], int rc)
{
	if (rc == 0) {
		net_hashset_add(n->seen, txid);
		if (c) {
			c->last_tx_ms = mono_ms(); /* useful: protected from eviction */
			net_peer_add_known(c->peer, txid);
		}
		relay_inv(n, NET_INV_TX, txid, 0, c);
	} else if (rc == ASSAY_EEXISTS) {
		if (c)
			net_peer_add_known(c->peer, txid);
	} else if (c) {
		conn_misbehave(c, NET_FAULT_INVALID_TX);
	}
}

static void handle_tx(struct conn *c, const struct net_msg *m)
{
	struct net *n = c->n;
	uint8_t txid[32] = {0};
	uint64_t asked;
	if (!n->ops.on_tx && !n->on_tx_from)
		return;
	int rc = n->on_tx_from ? n->on_tx_from(n->tx_ctx, c->id, m->u.tx.data, m->u.tx.len, txid)
			       : n->ops.on_tx(n->ops.ctx, m->u.tx.data, m->u.tx.len, txid);
	/* what arrived is judged by its bytes (the txid covers them all): once
	 * received it is seen, valid or not, and asked of nobody else. A tx
	 * that does not decode names no txid, and a request for it stays in
	 * flight until it times out and moves on. */
	if (net_req_received(n->requests, txid, &asked))
		net_hashset_add(n->seen, txid);
	if (rc == NET_TX_PENDING) {
		net_peer_add_known(c->peer, txid); /* it has it: no inv back to it */
		return;
	}
	tx_verdict(n, c, txid, rc);
}

void net_tx_verdict(net_t *n, uint64_t peer, const uint8_t txid[32], int rc)
{
	struct conn *c = conn_by_id(n, peer);
	tx_verdict(n, c && !c->dead ? c : NULL, txid, rc);
}

/* An output chunk: checked by the node against the job's root; a good one
 * is relayed by inv like a transaction. One that cannot be checked yet (the
 * job or root not in our state) is no fault of the peer's. */
static void handle_chunk(struct conn *c, const struct net_msg *m)
{
	struct net *n = c->n;
	uint8_t hash[32] = {0};
	if (!n->ops.on_chunk)
		return;
	int rc = n->ops.on_chunk(n->ops.ctx, m->u.chunk.data, m->u.chunk.len, hash);
	net_peer_add_known(c->peer, hash);
	if (rc == 0) {
		net_hashset_add(n->seen, hash);
		relay_inv(n, NET_INV_CHUNK, hash, 0, c);
	} else if (rc != ASSAY_EEXISTS && rc != ASSAY_ENOTFOUND && rc != ASSAY_EFULL && !assay_err_is_local(rc)) {
		conn_misbehave(c, NET_FAULT_INVALID_CHUNK);
	}
}

void net_announce_chunk(net_t *n, const uint8_t hash[32])
{
	net_hashset_add(n->seen, hash);
	relay_inv(n, NET_INV_CHUNK, hash, 0, NULL);
}

void net_request_chunks(net_t *n, const uint8_t (*hashes)[32], size_t count)
{
	if (count > NET_MAX_INV)
		count = NET_MAX_INV;
	struct net_inv *items = calloc(count ? count : 1, sizeof(*items));
	if (!items)
		return;
	for (size_t i = 0; i < count; i++) {
		items[i].type = NET_INV_CHUNK;
		memcpy(items[i].hash, hashes[i], 32);
	}
	struct net_msg gd = {.cmd = NET_CMD_GETDATA};
	gd.u.inv.items = items;
	gd.u.inv.count = count;
	for (struct conn *c = n->conns; c; c = c->next)
		if (!c->dead && net_peer_ready(c->peer))
			conn_send(c, &gd);
	free(items);
}

/* Proposals and votes are pushed whole (they are small, or needed at once):
 * each is relayed to every other peer the first time it is taken, and known
 * by the hash of its payload so that the flood stops (docs/p2p.md §4). */
static void relay_consensus(struct net *n, enum net_cmd cmd, const uint8_t *p, size_t len,
			    const uint8_t hash[32], const struct conn *except)
{
	struct net_msg m = {.cmd = cmd};
	m.u.consensus.data = p;
	m.u.consensus.len = len;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c == except || c->dead || !net_peer_ready(c->peer) || net_peer_knows(c->peer, hash))
			continue;
		net_peer_add_known(c->peer, hash);
		conn_send(c, &m);
	}
}

static void handle_consensus(struct conn *c, const struct net_msg *m)
{
	struct net *n = c->n;
	uint8_t hash[32];
	sha256(m->u.consensus.data, m->u.consensus.len, hash);
	net_peer_add_known(c->peer, hash);
	if (net_hashset_has(n->seen, hash) || !n->on_consensus)
		return;
	int rc = n->on_consensus(n->consensus_ctx, m->cmd == NET_CMD_VOTE, m->u.consensus.data, m->u.consensus.len);
	if (rc == 0) {
		net_hashset_add(n->seen, hash);
		relay_consensus(n, m->cmd, m->u.consensus.data, m->u.consensus.len, hash, c);
	} else if (rc != ASSAY_EEXISTS && rc != ASSAY_ELIMIT && !assay_err_is_local(rc)) {
		net_hashset_add(n->seen, hash);
		conn_misbehave(c, NET_FAULT_INVALID_CONSENSUS);
	}
}

void net_set_tx_handler(net_t *n, net_tx_fn fn, void *ctx)
{
	n->on_tx_from = fn;
	n->tx_ctx = ctx;
}

void net_set_consensus_handler(net_t *n, net_consensus_fn fn, void *ctx)
{
	n->on_consensus = fn;
	n->consensus_ctx = ctx;
}

void net_broadcast_consensus(net_t *n, int is_vote, const uint8_t *p, size_t len)
{
	uint8_t hash[32];
	sha256(p, len, hash);
	net_hashset_add(n->seen, hash);
	relay_consensus(n, is_vote ? NET_CMD_VOTE : NET_CMD_PROPOSAL, p, len, hash, NULL);
}

static void sync_step(struct net *n);

/* The node's answer for a block a peer sent under height tip + 1: is it the
 * peer's fault? Under BFT finality there is one chain, so a block for tip + 1
 * that does not extend our tip, or whose header names another height than
 * the one it came under, is as wrong as one that breaks a rule; passing it
 * off as "not connecting" would let one quick peer stall sync forever. */
static int block_faulty(int rc, uint64_t claimed, uint64_t header_height)
{
	if (rc == ASSAY_ENOMEM || rc == ASSAY_EIO || rc == ASSAY_EUNAVAIL || rc == NET_BLOCK_WAIT ||
	    rc == NET_BLOCK_NEXT_INVALID)
		return 0; /* ours, chunks or commit not here yet (a race, not a fault), or the next's */
	return rc < 0 || header_height != claimed;
}

/* Hands buffered blocks to the node in height order, each with the one
 * after it when that is here (its last_commit is the block's commit). A
 * block whose commit is not known yet goes back into the buffer and is
 * offered again at the next step (each tick, each block that arrives). */
static void sync_deliver(struct net *n)
{
	if (n->delivering)
		return;
	n->delivering = 1;
	uint8_t *enc;
	size_t len;
	uint64_t from_peer;
	while (net_sync_pop(n->sync, &enc, &len, &from_peer)) {
		uint64_t height = 0, tip;
		uint64_t claimed = net_sync_tip(n->sync) + 1; /* pop hands out tip + 1 only */
		uint8_t tip_hash[32];
		const uint8_t *next;
		size_t next_len;
		uint64_t next_peer;
		if (!net_sync_peek(n->sync, claimed + 1, &next, &next_len, &next_peer))
			next = NULL;
		uint64_t now_ms = mono_ms();
		if ((!next || n->wait_chunks) && enc == n->wait_enc && len == n->wait_len && claimed == n->wait_height &&
		    now_ms - n->wait_ms < NET_BLOCK_WAIT_RETRY_MS) {
			net_sync_unpop(n->sync, claimed, enc, len, from_peer); /* nothing new for it yet */
			break;
		}
		int rc = n->ops.on_block(n->ops.ctx, enc, len, next, next ? next_len : 0, &height);
		if ((rc == NET_BLOCK_WAIT && !next) || rc == ASSAY_EUNAVAIL) {
			n->wait_enc = enc;
			n->wait_len = len;
			n->wait_height = claimed;
			n->wait_ms = now_ms;
			n->wait_chunks = rc == ASSAY_EUNAVAIL;
		}
		/* kept, not fetched again: one waiting for its chunks was fetched
		 * again at once, a whole block (and a getdata of its chunks to every
		 * peer) per round trip; the node connects it when they come, and
		 * offering it again asks for them again */
		if (rc == NET_BLOCK_WAIT || rc == NET_BLOCK_NEXT_INVALID || rc == ASSAY_EUNAVAIL)
			net_sync_unpop(n->sync, claimed, enc, len, from_peer);
		else
			free(enc);
		if (rc == NET_BLOCK_NEXT_INVALID) {
			struct conn *nc = conn_by_id(n, next_peer);
			log_info("net: block %llu from peer %llu is invalid (its last_commit does not hold)",
				 (unsigned long long)claimed + 1, (unsigned long long)next_peer);
			net_sync_drop(n->sync, claimed + 1);
			if (nc)
				conn_misbehave(nc, NET_FAULT_INVALID_BLOCK); /* ban: its range moves on */
			continue; /* tip + 1 again, without it */
		}
		n->ops.get_tip(n->ops.ctx, &tip, tip_hash);
		net_sync_set_tip(n->sync, tip);
		struct conn *c = conn_by_id(n, from_peer);
		if (rc == NET_BLOCK_WAIT)
			break;
		if (rc == 0) {
			net_sync_peer_proven(n->sync, from_peer, claimed);
			if (c)
				c->last_block_ms = mono_ms();
			continue;
		}
		if (block_faulty(rc, claimed, height)) {
			log_info("net: block %llu from peer %llu is invalid or does not extend our tip "
				 "(header height %llu)", (unsigned long long)claimed,
				 (unsigned long long)from_peer, (unsigned long long)height);
			if (c)
				conn_misbehave(c, NET_FAULT_INVALID_BLOCK); /* ban: its range moves on */
		}
		break;
	}
	n->delivering = 0;
}

/* c sent a block that answers no getdata of it (another block, or a late
 * one of its last range): the oldest gossip request still asked of it
 * (getdata is answered in order) goes to its next announcer now, as after
 * a notfound. Waiting for the deadline let a peer that announces first and
 * answers with other blocks delay every block by NET_BLOCK_REQ_TIMEOUT_MS.
 * The hash stays in c's table: the right block from c after all is still
 * an answer, never unsolicited. At most NET_MAX_BLOCK_REQUESTS lookups. */
static void block_request_answered_wrong(struct net *n, struct conn *c)
{
	struct net_req_move mv;
	for (size_t k = 0; k < c->block_reqs.count; k++) {
		const uint8_t *hash = c->block_reqs.hash[k];
		if (net_req_asked_of(n->blocks, hash) == c->id &&
		    net_req_notfound(n->blocks, hash, c->id, mono_ms(), &mv)) {
			block_request_moved(n, &mv);
			return;
		}
	}
}

static void handle_block(struct conn *c, const struct net_msg *m)
{
	struct net *n = c->n;
	uint64_t h = m->u.block.height;
	int rc = net_sync_on_block(n->sync, c->id, h, m->u.block.data, m->u.block.len, mono_ms());
	if (rc == 1) {
		sync_step(n); /* deliver, and ask again as soon as a range is done */
		return;
	}
	if (rc == ASSAY_ELIMIT) {
		log_info("net: peer %llu sent a block of %zu bytes, over the chain's limit",
			 (unsigned long long)c->id, m->u.block.len);
		conn_misbehave(c, NET_FAULT_INVALID_BLOCK);
		return;
	}
	if (rc == ASSAY_EFULL || rc == ASSAY_ENOMEM)
		return; /* not kept; its range is asked again later */
	uint8_t hash[32];
	uint64_t header_height = 0;
	/* shorter than a header: no hash, so it answers no getdata */
	if (block_header_peek(m->u.block.data, m->u.block.len, hash, &header_height) != 0 ||
	    !net_block_reqs_answered(&c->block_reqs, hash)) {
		/* a late answer to a range that timed out and moved on is no
		 * fault; either way it answers no getdata, and c is not waited on */
		if (h < c->asked_from || h >= c->asked_end)
			conn_misbehave(c, NET_FAULT_UNSOLICITED);
		if (!c->dead)
			block_request_answered_wrong(n, c);
		return;
	}
	if (header_height != h) {
		/* the block asked for, sent as another height: not applied, it
		 * would hold the request until its deadline */
		log_info("net: peer %llu sent block %llu as height %llu", (unsigned long long)c->id,
			 (unsigned long long)header_height, (unsigned long long)h);
		conn_misbehave(c, NET_FAULT_INVALID_BLOCK);
		return;
	}
	/* a block we asked for by getdata: its height is a claim (counted for
	 * the target only once the peer proves a block, net/sync.h), so that
	 * sync fetches a gap it reveals */
	if (h > c->best_height)
		c->best_height = h;
	net_sync_peer_height(n->sync, c->id, h);
	uint64_t tip;
	uint8_t tip_hash[32];
	n->ops.get_tip(n->ops.ctx, &tip, tip_hash);
	if (h != tip + 1) {
		sync_step(n); /* behind us, or ahead: sync fetches what is missing */
		return;
	}
	uint64_t applied = 0;
	rc = n->ops.on_block(n->ops.ctx, m->u.block.data, m->u.block.len, NULL, 0, &applied);
	if (rc == 0) {
		net_sync_peer_proven(n->sync, c->id, h);
		c->last_block_ms = mono_ms();
	} else if (block_faulty(rc, h, applied))
		conn_misbehave(c, NET_FAULT_INVALID_BLOCK);
	n->ops.get_tip(n->ops.ctx, &tip, tip_hash);
	net_sync_set_tip(n->sync, tip);
}

static void handle_addr(struct conn *c, const struct net_msg *m)
{
	struct net *n = c->n;
	uint64_t now = wall_ms(), now_s = now / 1000;
	struct net_addr relay[NET_ADDR_RELAY_MAX];
	size_t nrelay = 0;
	size_t dropped = 0;
	for (size_t i = 0; i < m->u.addr.count; i++) {
		if (!net_addr_budget_take(&c->addr_budget, now)) {
			dropped = m->u.addr.count - i; /* over its rate: the rest is ignored, no points */
			break;
		}
		struct net_addr a = m->u.addr.items[i];
		/* a time in the future is a lie: take it as "now" */
		if (a.last_seen > now_s)
			a.last_seen = now_s;
		int added = net_book_add(n->book, a.ip, a.port, a.last_seen, c->ip, now);
		if (added == 1 && m->u.addr.count <= NET_ADDR_RELAY_MAX &&
		    a.last_seen + NET_ADDR_RELAY_FRESH_S >= now_s)
			relay[nrelay++] = a;
	}
	if (dropped)
		log_debugc(LOG_CAT_NET, "net: peer %llu %s: %zu addresses over its rate ignored", (unsigned long long)c->id,
			  c->addr, dropped);
	relay_addr(n, relay, nrelay, c);
}

/* ---- peer events ---- */

/* One connection per peer (docs/p2p.md §8): a second connection from the
 * same IP whose version carries the nonce of a ready one is the same node.
 * When the two were dialed from opposite ends (both dialed at once), both
 * sides keep the one dialed by the node with the larger nonce, so they
 * agree without a message; otherwise the newer one goes. From another IP
 * it is not taken for the same node: every node's nonce is sent to all its
 * peers, and an impostor replaying it would otherwise cut the real link
 * (or, first to arrive, keep the real node out). 1 when c itself was
 * closed. */
static int close_duplicate(struct net *n, struct conn *c, uint64_t remote_nonce)
{
	struct conn *other = NULL;
	for (struct conn *o = n->conns; o && !other; o = o->next)
		if (o != c && !o->dead && net_peer_ready(o->peer) && net_peer_remote(o->peer)->nonce == remote_nonce &&
		    memcmp(o->ip, c->ip, sizeof(c->ip)) == 0)
			other = o;
	if (!other)
		return 0;
	int keep_new = c->inbound != other->inbound && (c->inbound ? remote_nonce > n->nonce : n->nonce > remote_nonce);
	struct conn *loser = keep_new ? other : c;
	log_info("net: peer %llu %s is peer %llu %s again: closing peer %llu", (unsigned long long)c->id, c->addr,
		 (unsigned long long)other->id, other->addr, (unsigned long long)loser->id);
	/* no reject and no points: the other side closes the same connection */
	net_peer_close(loser->peer, 0, "duplicate connection (one per peer)");
	conn_close(loser, "duplicate connection (one per peer)");
	return loser == c;
}

static void on_ready(void *ctx, net_peer_t *p)
{
	struct conn *c = ctx;
	struct net *n = c->n;
	const struct net_version *v = net_peer_remote(p);
	if (close_duplicate(n, c, v->nonce))
		return;
	c->best_height = v->best_height;
	log_info("net: peer %llu %s ready (%s, height %llu, %s)", (unsigned long long)c->id, c->addr,
		 v->user_agent, (unsigned long long)v->best_height, c->inbound ? "inbound" : "outbound");
	/* its host before its claim: a host that failed a range is not backed again */
	uint8_t host[16];
	net_ip_host(c->ip, host);
	net_sync_peer_host(n->sync, c->id, host, mono_ms());
	net_sync_peer_height(n->sync, c->id, v->best_height);
	uint64_t now = wall_ms();
	if (!c->inbound) {
		net_book_good(n->book, c->ip, c->port, now);
	} else if (v->listen_port) {
		/* an inbound peer that listens: its address, heard from itself, is
		 * news worth passing on, so that nodes learn of newcomers */
		struct net_addr self = {.port = v->listen_port, .last_seen = now / 1000};
		memcpy(self.ip, c->ip, 16);
		if (net_book_add(n->book, c->ip, v->listen_port, now / 1000, c->ip, now) == 1)
			relay_addr(n, &self, 1, c);
	}
	if (!c->inbound && !c->sent_getaddr && !n->connect_only) {
		struct net_msg ga = {.cmd = NET_CMD_GETADDR};
		c->sent_getaddr = 1;
		conn_send(c, &ga);
	}
	sync_step(n);
}

static void on_msg(void *ctx, net_peer_t *p, const struct net_msg *m)
{
	struct conn *c = ctx;
	(void)p;
	switch (m->cmd) {
	case NET_CMD_INV:
		handle_inv(c, m);
		break;
	case NET_CMD_GETDATA:
		handle_getdata(c, m);
		break;
	case NET_CMD_TX:
		handle_tx(c, m);
		break;
	case NET_CMD_CHUNK:
		handle_chunk(c, m);
		break;
	case NET_CMD_BLOCK:
		handle_block(c, m);
		break;
	case NET_CMD_GETBLOCKS:
		c->serve_next = m->u.getblocks.from;
		c->serve_end = m->u.getblocks.from + m->u.getblocks.count;
		serve_blocks(c);
		break;
	case NET_CMD_NOTFOUND: {
		/* each item costs one lookup and moves only the request it
		 * names: stepping every request in flight here cost us
		 * NET_REQ_MAX entries looked at for an inv and a notfound of
		 * about 120 bytes */
		struct net_req_move mv;
		uint64_t now = mono_ms();
		for (size_t i = 0; i < m->u.inv.count; i++) {
			const struct net_inv *it = &m->u.inv.items[i];
			/* frees a slot only for a block we asked it for */
			if (it->type == NET_INV_BLOCK) {
				net_block_reqs_answered(&c->block_reqs, it->hash);
				if (net_req_notfound(c->n->blocks, it->hash, c->id, now, &mv))
					block_request_moved(c->n, &mv); /* the next announcer, now */
			}
			if (it->type == NET_INV_TX && net_req_notfound(c->n->requests, it->hash, c->id, now, &mv))
				tx_request_moved(c->n, &mv);
		}
		break;
	}
	case NET_CMD_ADDR:
		handle_addr(c, m);
		break;
	case NET_CMD_GETADDR:
		handle_getaddr(c);
		break;
	case NET_CMD_PROPOSAL:
	case NET_CMD_VOTE:
		handle_consensus(c, m);
		break;
	default:
		break;
	}
}

/* ---- socket callbacks ---- */

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct net_peer_events ev = {c, on_ready, on_msg};
	/* hand the peer each contiguous chunk in place, no copy */
	while (!c->dead && evbuffer_get_length(in) > 0) {
		if (conn_should_pause(c)) {
			/* the rest stays in the input buffer until write_cb resumes */
			c->read_paused = 1;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		struct evbuffer_iovec chunk;
		if (evbuffer_peek(in, -1, NULL, &chunk, 1) < 1)
			break;
		int rc = net_peer_recv(c->peer, chunk.iov_base, chunk.iov_len, mono_ms(), &ev);
		evbuffer_drain(in, chunk.iov_len);
		if (rc < 0) {
			conn_close(c, NULL);
			break;
		}
		conn_flush(c);
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	if (c->dead) {
		event_active(c->n->reap, EV_TIMEOUT, 0);
		return;
	}
	serve_getdata(c);
	/* read before the range refills the buffer: a range served in full
	 * would otherwise keep reads paused, the peer's pings unanswered */
	if (c->read_paused && !c->dead && !conn_should_pause(c)) {
		c->read_paused = 0;
		bufferevent_enable(c->bev, EV_READ);
		read_cb(c->bev, c); /* what arrived before the pause */
	}
	serve_blocks(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->tcp_up = 1;
		log_debugc(LOG_CAT_NET, "net: connected to %s", c->addr);
		conn_flush(c); /* our version, queued at creation */
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		c->tcp_up = c->tcp_up && !(what & BEV_EVENT_ERROR);
		conn_close(c, what & BEV_EVENT_EOF ? "connection closed by peer"
				: c->tcp_up ? "socket error" : "connect failed");
	}
}

static int count_conns(struct net *n, int inbound)
{
	int k = 0;
	for (struct conn *c = n->conns; c; c = c->next)
		if (!c->dead && c->inbound == inbound)
			k++;
	return k;
}

static struct conn *conn_new(struct net *n, struct bufferevent *bev, const struct sockaddr *sa,
			     int inbound, int target)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	uint64_t tip = 0;
	uint8_t tip_hash[32];
	n->ops.get_tip(n->ops.ctx, &tip, tip_hash);
	struct net_peer_params pp = {
		.magic = n->magic,
		.local_nonce = n->nonce,
		.best_height = tip,
		.listen_port = n->listen_port,
		.flags = NET_F_ZSTD,
		.user_agent = n->user_agent,
	};
	memcpy(pp.chain_id, n->chain_id, 32);
	c->peer = net_peer_new(&pp, inbound, mono_ms());
	if (!c->peer || net_peer_start(c->peer) < 0) {
		net_peer_free(c->peer);
		free(c);
		return NULL;
	}
	c->n = n;
	c->id = ++n->next_id;
	c->bev = bev;
	c->inbound = inbound;
	c->target = target;
	c->tcp_up = inbound;
	net_addr_budget_init(&c->addr_budget, wall_ms());
	c->connected_at_ms = wall_ms();
	c->created_ms = mono_ms();
	sockaddr_to_ip(sa, c->ip, &c->port);
	net_addr_format(c->ip, c->port, c->addr, sizeof(c->addr));
	uint8_t group[16], digest[crypto_shorthash_BYTES];
	net_ip_group(c->ip, group);
	crypto_shorthash(digest, group, sizeof(group), n->group_key);
	c->group = le64_get(digest);
	c->next = n->conns;
	n->conns = c;
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	conn_flush(c);
	return c;
}

/* The inbound slots are full: closes the inbound peer net_evict_select
 * chooses (docs/p2p.md §8). 0, or ASSAY_EFULL when all are protected. */
static int evict_inbound(struct net *n)
{
	size_t k = 0;
	for (struct conn *c = n->conns; c; c = c->next)
		k += !c->dead && c->inbound;
	struct net_evict_candidate *cand = calloc(k ? k : 1, sizeof(*cand));
	if (!cand)
		return ASSAY_ENOMEM;
	k = 0;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->dead || !c->inbound)
			continue;
		struct net_peer_stats st;
		net_peer_stats(c->peer, &st);
		cand[k].id = c->id;
		cand[k].group = c->group;
		cand[k].connected_ms = c->created_ms;
		cand[k].ping_ms = st.ping_ms;
		cand[k].last_tx_ms = c->last_tx_ms;
		cand[k].last_block_ms = c->last_block_ms;
		cand[k].ready = net_peer_ready(c->peer);
		k++;
	}
	uint64_t victim = net_evict_select(cand, k);
	free(cand);
	struct conn *c = victim ? conn_by_id(n, victim) : NULL;
	if (!c)
		return ASSAY_EFULL;
	net_peer_close(c->peer, NET_REJECT_FULL, "evicted: inbound slots full");
	conn_close(c, "evicted: inbound slots full");
	return 0;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct net *n = arg;
	uint8_t ip[16];
	uint16_t port;
	char text[64];
	(void)l;
	(void)salen;
	sockaddr_to_ip(sa, ip, &port);
	net_addr_format(ip, port, text, sizeof(text));
	int inbound_limit = n->max_connections - NET_OUTBOUND_TARGET;
	if (inbound_limit < 1)
		inbound_limit = 1;
	if (net_book_is_banned(n->book, ip, wall_ms())) {
		log_inbound_nothing(n, text, "refused: banned");
		evutil_closesocket(fd);
		return;
	}
	if (count_conns(n, 1) >= inbound_limit && evict_inbound(n) < 0) {
		char what[96];
		snprintf(what, sizeof(what), "refused: inbound limit %d reached, every inbound peer protected",
			 inbound_limit);
		log_inbound_nothing(n, text, what);
		evutil_closesocket(fd);
		return;
	}
	struct bufferevent *bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		evutil_closesocket(fd);
		return;
	}
	if (!conn_new(n, bev, sa, 1, -1)) {
		bufferevent_free(bev);
		return;
	}
	log_debugc(LOG_CAT_NET, "net: inbound connection from %s", text); /* "ready" says it at info */
}

static int dial(struct net *n, const struct sockaddr *sa, int salen, int target)
{
	struct bufferevent *bev = bufferevent_socket_new(n->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return ASSAY_ENOMEM;
	struct conn *c = conn_new(n, bev, sa, 0, target);
	if (!c) {
		bufferevent_free(bev);
		return ASSAY_ENOMEM;
	}
	net_book_attempt(n->book, c->ip, c->port, wall_ms());
	if (target >= 0)
		n->targets[target].conn_id = c->id;
	log_debugc(LOG_CAT_NET, "net: dialing %s", c->addr);
	if (bufferevent_socket_connect(bev, sa, salen) < 0) {
		conn_close(c, "connect failed");
		return ASSAY_EIO;
	}
	return 0;
}

static void dial_targets(struct net *n, uint64_t now)
{
	for (int i = 0; i < n->ntargets; i++) {
		struct target *t = &n->targets[i];
		if (t->disabled || t->conn_id || now < t->next_try_ms)
			continue;
		uint8_t ip[16];
		uint16_t port;
		sockaddr_to_ip((struct sockaddr *)&t->sa, ip, &port);
		t->next_try_ms = now + NET_TARGET_RETRY_MS;
		if (net_book_is_banned(n->book, ip, wall_ms()) || connected_to(n, ip, port))
			continue;
		dial(n, (struct sockaddr *)&t->sa, t->salen, i);
	}
}

static int skip_dial(void *ctx, const struct net_book_entry *e)
{
	struct net *n = ctx;
	return connected_to(n, e->ip, e->port) || net_book_is_banned(n->book, e->ip, wall_ms());
}

/* Keeps NET_OUTBOUND_TARGET outbound peers from the address book: one
 * random due address at a time (net_book_select), each dial backing it off. */
static void dial_book(struct net *n)
{
	int outbound = count_conns(n, 0);
	uint64_t now = wall_ms();
	while (outbound < NET_OUTBOUND_TARGET) {
		const struct net_book_entry *e = net_book_select(n->book, now, random_u64(), skip_dial, n);
		if (!e)
			break;
		struct sockaddr_storage ss;
		int salen = ip_to_sockaddr(e->ip, e->port, &ss);
		if (dial(n, (struct sockaddr *)&ss, salen, -1) < 0)
			break;
		outbound++;
	}
}

/* Asks peers for the next ranges. */
static void sync_step(struct net *n)
{
	uint64_t tip;
	uint8_t tip_hash[32];
	n->ops.get_tip(n->ops.ctx, &tip, tip_hash);
	net_sync_set_tip(n->sync, tip);
	sync_deliver(n);
	uint64_t peer, from;
	uint32_t count;
	while (net_sync_next_request(n->sync, mono_ms(), &peer, &from, &count)) {
		struct conn *c = conn_by_id(n, peer);
		if (!c) {
			net_sync_peer_gone(n->sync, peer);
			continue;
		}
		struct net_msg m = {.cmd = NET_CMD_GETBLOCKS};
		m.u.getblocks.from = from;
		m.u.getblocks.count = count;
		c->asked_from = from;
		c->asked_end = from + count;
		log_debugc(LOG_CAT_NET, "net: getblocks %llu+%u from peer %llu", (unsigned long long)from, count,
			  (unsigned long long)peer);
		conn_send(c, &m);
	}
}

static void update_rate(struct net *n, uint64_t now)
{
	uint64_t tip = net_sync_tip(n->sync);
	if (!n->rate_at_ms) {
		n->rate_at_ms = now;
		n->rate_tip = tip;
		return;
	}
	if (now - n->rate_at_ms < 1000)
		return;
	double inst = (double)(tip - n->rate_tip) * 1000.0 / (double)(now - n->rate_at_ms);
	/* smoothed over about five seconds */
	n->blocks_per_s = n->blocks_per_s * 0.8 + inst * 0.2;
	n->rate_tip = tip;
	n->rate_at_ms = now;
}

/* accept() failed (out of descriptors: EMFILE, ENFILE, ENOBUFS). The
 * listener stays readable, so retrying at once would spin: pause it until
 * the next tick (NET_TICK_MS), when connections may have closed. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct net *n = arg;
	int e = EVUTIL_SOCKET_ERROR();
	uint64_t now = mono_ms();
	evconnlistener_disable(l);
	if (!n->accept_warned_ms || now - n->accept_warned_ms >= 60000) {
		log_warn("net: accept failed (%s): pausing inbound connections for %d ms at a time",
			 evutil_socket_error_to_string(e), NET_TICK_MS);
		n->accept_warned_ms = now;
	}
	n->listen_paused = 1;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	uint64_t now = mono_ms();
	(void)fd;
	(void)what;
	if (n->listen_paused && n->listener) {
		n->listen_paused = 0;
		evconnlistener_enable(n->listener);
	}
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (!c->tcp_up) {
			/* an outbound connect gets the handshake time to complete */
			if (now - c->created_ms >= NET_HANDSHAKE_TIMEOUT_MS)
				conn_close(c, "connect timeout");
			continue;
		}
		if (net_peer_tick(c->peer, now) < 0)
			conn_close(c, NULL);
		else
			conn_flush(c);
	}
	if (net_book_expire_bans(n->book, wall_ms()))
		persist_bans(n);
	dial_targets(n, now);
	if (!n->connect_only)
		dial_book(n);
	sync_step(n);
	request_step(n);
	block_request_step(n);
	update_rate(n, now);
	reap_cb(-1, 0, n);
}

/* ---- public interface ---- */

static int parse_target(struct net *n, const char *hostport, struct target *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->hostport, sizeof(t->hostport), "%s", hostport);
	t->salen = sizeof(t->sa);
	if (evutil_parse_sockaddr_port(hostport, (struct sockaddr *)&t->sa, &t->salen) < 0)
		return ASSAY_EARG;
	struct sockaddr_in *in = (struct sockaddr_in *)&t->sa;
	if (in->sin_port == 0) /* no port given: the network's (our) port */
		in->sin_port = htons(n->listen_port);
	return 0;
}

static int add_target(struct net *n, const char *hostport)
{
	struct target t;
	if (parse_target(n, hostport, &t) < 0)
		return ASSAY_EARG;
	for (int i = 0; i < n->ntargets; i++)
		if (!n->targets[i].removed && strcmp(n->targets[i].hostport, hostport) == 0)
			return ASSAY_EEXISTS;
	/* A removed slot no connection still points at is reused. */
	for (int i = 0; i < n->ntargets; i++) {
		if (n->targets[i].removed && !n->targets[i].conn_id) {
			n->targets[i] = t;
			return 0;
		}
	}
	if (n->ntargets == NET_MAX_TARGETS)
		return ASSAY_EFULL;
	n->targets[n->ntargets++] = t;
	return 0;
}

/* A seed goes into the address book as if it had told us of itself: the
 * book dials it like any address, and it answers our getaddr. */
static int add_seed(struct net *n, const char *hostport)
{
	struct target t;
	if (parse_target(n, hostport, &t) < 0)
		return ASSAY_EARG;
	uint8_t ip[16];
	uint16_t port;
	sockaddr_to_ip((struct sockaddr *)&t.sa, ip, &port);
	uint64_t now = wall_ms();
	if (net_book_add(n->book, ip, port, now / 1000, ip, now) < 0)
		return ASSAY_EARG;
	return 0;
}

static char *path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%s/%s", dir, name);
	return p;
}

net_t *net_new(struct event_base *base, const struct net_config *cfg, const struct net_node_ops *ops,
	       char *err, size_t errlen)
{
	struct net *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->base = base;
	n->ops = *ops;
	n->magic = cfg->magic;
	memcpy(n->chain_id, cfg->chain_id, 32);
	snprintf(n->user_agent, sizeof(n->user_agent), "%s", cfg->user_agent ? cfg->user_agent : "");
	n->max_connections = cfg->max_connections > 0 ? cfg->max_connections : NET_DEFAULT_MAX_CONNECTIONS;
	/* sync tracks NET_SYNC_MAX_PEERS peers: past that, peers that took
	 * every place (at our height, or failed) would keep a newcomer with
	 * the chain we lack from ever being asked a block */
	if (n->max_connections > NET_SYNC_MAX_PEERS) {
		log_warn("p2p: at most %d connections of the %d asked: sync tracks no more peers",
			 NET_SYNC_MAX_PEERS, n->max_connections);
		n->max_connections = NET_SYNC_MAX_PEERS;
	}
	n->connect_only = cfg->nconnect > 0;
	n->listen_port = cfg->port;
	evutil_secure_rng_get_bytes(&n->nonce, sizeof(n->nonce));
	evutil_secure_rng_get_bytes(n->group_key, sizeof(n->group_key));
	uint64_t tip = 0;
	uint8_t tip_hash[32];
	ops->get_tip(ops->ctx, &tip, tip_hash);
	n->book = net_book_new(NULL);
	n->seen = net_hashset_new(NET_SEEN_MAX);
	n->requests = net_req_new(NET_REQ_TIMEOUT_MS);
	n->blocks = net_req_new(NET_BLOCK_REQ_TIMEOUT_MS);
	n->sync = net_sync_new(tip, cfg->max_block_bytes < SIZE_MAX ? (size_t)cfg->max_block_bytes : 0);
	n->timer = event_new(base, -1, EV_PERSIST, timer_cb, n);
	n->reap = event_new(base, -1, 0, reap_cb, n);
	if (!n->book || !n->seen || !n->requests || !n->blocks || !n->sync || !n->timer || !n->reap) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->datadir) {
		n->peers_path = path_join(cfg->datadir, "peers.dat");
		n->bans_path = path_join(cfg->datadir, "banlist.dat");
		if (!n->peers_path || !n->bans_path) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (net_book_load_peers(n->book, n->peers_path) < 0)
			log_warn("net: ignoring unreadable %s", n->peers_path);
		if (net_book_load_bans(n->book, n->bans_path, wall_ms() + (uint64_t)NET_BAN_MAX_S * 1000) < 0)
			log_warn("net: ignoring unreadable %s", n->bans_path);
	}
	if (cfg->listen) {
		struct sockaddr_storage ss;
		uint8_t bind_ip[16];
		const char *bind_addr = cfg->bind ? cfg->bind : "0.0.0.0";
		if (net_ip_parse(bind_addr, bind_ip) < 0) {
			snprintf(err, errlen, "bad bind address %s (want a numeric IP)", bind_addr);
			goto fail;
		}
		int salen = ip_to_sockaddr(bind_ip, cfg->port, &ss);
		n->listener = evconnlistener_new_bind(base, accept_cb, n,
						      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
						      (struct sockaddr *)&ss, salen);
		if (!n->listener) {
			snprintf(err, errlen, "cannot listen on %s port %u: %s", bind_addr, cfg->port,
				 strerror(errno));
			goto fail;
		}
		evconnlistener_set_error_cb(n->listener, accept_error_cb);
		struct sockaddr_storage bound;
		socklen_t blen = sizeof(bound);
		if (getsockname(evconnlistener_get_fd(n->listener), (struct sockaddr *)&bound, &blen) == 0) {
			uint8_t ip[16];
			sockaddr_to_ip((struct sockaddr *)&bound, ip, &n->listen_port);
		}
		log_info("net: listening on %s port %u", bind_addr, n->listen_port);
	}
	for (int i = 0; i < cfg->nconnect; i++)
		if (add_target(n, cfg->connect[i]) == ASSAY_EARG) {
			snprintf(err, errlen, "bad -connect address %s (want ip:port)", cfg->connect[i]);
			goto fail;
		}
	for (int i = 0; i < cfg->naddnode && !n->connect_only; i++)
		if (add_target(n, cfg->addnode[i]) == ASSAY_EARG) {
			snprintf(err, errlen, "bad -addnode address %s (want ip:port)", cfg->addnode[i]);
			goto fail;
		}
	for (int i = 0; i < cfg->nseeds && !n->connect_only; i++)
		if (add_seed(n, cfg->seeds[i]) < 0) {
			snprintf(err, errlen, "bad seed address %s (want ip:port)", cfg->seeds[i]);
			goto fail;
		}
	struct timeval tick = {0, NET_TICK_MS * 1000};
	event_add(n->timer, &tick);
	dial_targets(n, mono_ms());
	return n;
fail:
	net_free(n);
	return NULL;
}

void net_free(net_t *n)
{
	if (!n)
		return;
	if (n->listener)
		evconnlistener_free(n->listener);
	while (n->conns) {
		struct conn *c = n->conns;
		n->conns = c->next;
		conn_free(c);
	}
	if (n->book && n->peers_path && net_book_save_peers(n->book, n->peers_path) < 0)
		log_warn("net: cannot write %s", n->peers_path);
	if (n->book)
		persist_bans(n);
	if (n->timer)
		event_free(n->timer);
	if (n->reap)
		event_free(n->reap);
	net_book_free(n->book);
	net_hashset_free(n->seen);
	net_req_free(n->requests);
	net_req_free(n->blocks);
	net_sync_free(n->sync);
	free(n->peers_path);
	free(n->bans_path);
	free(n);
}

void net_announce_tx(net_t *n, const uint8_t txid[32])
{
	net_hashset_add(n->seen, txid);
	relay_inv(n, NET_INV_TX, txid, 0, NULL);
}

void net_announce_block(net_t *n, const uint8_t hash[32], uint64_t height)
{
	struct announced *a = &n->announced[n->announced_next];
	memcpy(a->hash, hash, 32);
	a->height = height;
	n->announced_next = (n->announced_next + 1) % NET_ANNOUNCED_MAX;
	net_hashset_add(n->seen, hash);
	uint64_t asked;
	net_req_received(n->blocks, hash, &asked); /* applied: nobody need be asked for it */
	/* while far behind, announcing old blocks helps nobody */
	if (net_sync_target(n->sync) > height + NET_SYNC_RANGE)
		return;
	relay_inv(n, NET_INV_BLOCK, hash, height, NULL);
}

void net_on_tip_changed(net_t *n)
{
	sync_step(n);
}

void net_block_wait_retry(net_t *n)
{
	n->wait_enc = NULL; /* not a step from here: this may run inside one */
}

uint64_t net_tx_requests_visited(net_t *n)
{
	return net_req_visited(n->requests);
}

void net_traffic_totals(net_t *n, uint64_t *sent, uint64_t *recv)
{
	/* closing connections are still on the list: counted there until
	 * conn_free moves their bytes to the closed totals */
	*sent = n->closed_bytes_sent;
	*recv = n->closed_bytes_recv;
	for (struct conn *c = n->conns; c; c = c->next) {
		struct net_peer_stats st;
		net_peer_stats(c->peer, &st);
		*sent += st.bytes_sent_raw;
		*recv += st.bytes_recv_raw;
	}
}

int net_peers(net_t *n, struct net_peer_info **out, size_t *count)
{
	size_t k = 0;
	for (struct conn *c = n->conns; c; c = c->next)
		if (!c->dead)
			k++;
	*out = calloc(k ? k : 1, sizeof(**out));
	*count = 0;
	if (!*out)
		return ASSAY_ENOMEM;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->dead)
			continue;
		struct net_peer_info *pi = &(*out)[(*count)++];
		struct net_peer_stats st;
		net_peer_stats(c->peer, &st);
		pi->id = c->id;
		snprintf(pi->addr, sizeof(pi->addr), "%s", c->addr);
		pi->inbound = c->inbound;
		pi->best_height = c->best_height;
		pi->bytes_sent = st.bytes_sent;
		pi->bytes_recv = st.bytes_recv;
		pi->bytes_sent_raw = st.bytes_sent_raw;
		pi->bytes_recv_raw = st.bytes_recv_raw;
		pi->ping_ms = st.ping_ms;
		pi->connected_at_ms = c->connected_at_ms;
		pi->score = st.score;
		pi->ready = net_peer_ready(c->peer);
		snprintf(pi->user_agent, sizeof(pi->user_agent), "%s",
			 pi->ready ? net_peer_remote(c->peer)->user_agent : "");
	}
	return 0;
}

int net_addnode(net_t *n, const char *hostport)
{
	int rc = add_target(n, hostport);
	if (rc < 0)
		return rc;
	dial_targets(n, mono_ms());
	return 0;
}

int net_removenode(net_t *n, const char *hostport)
{
	for (int i = 0; i < n->ntargets; i++) {
		struct target *t = &n->targets[i];
		if (!t->removed && strcmp(t->hostport, hostport) == 0) {
			t->removed = 1;
			t->disabled = 1; /* never dialed again; a live connection stays */
			return 0;
		}
	}
	return ASSAY_ENOTFOUND;
}

int net_addresses(net_t *n, size_t max, struct net_book_info **out, size_t *count)
{
	size_t total = net_book_count(n->book);
	if (!max || max > total)
		max = total;
	*count = 0;
	*out = calloc(max ? max : 1, sizeof(**out));
	if (!*out)
		return ASSAY_ENOMEM;
	/* every entry (terrible ones too: this is the operator's view), sampled
	 * by reservoir when more than max */
	size_t seen = 0;
	for (size_t i = 0; i < NET_BOOK_MAX; i++) {
		const struct net_book_entry *e = net_book_slot(n->book, i);
		if (!e)
			continue;
		size_t at = seen < max ? seen : (size_t)(random_u64() % (seen + 1));
		seen++;
		if (at >= max)
			continue;
		struct net_book_info *bi = &(*out)[at];
		net_addr_format(e->ip, e->port, bi->addr, sizeof(bi->addr));
		net_ip_format(e->source, bi->source, sizeof(bi->source));
		bi->last_seen = e->last_seen;
		bi->next_try_ms = net_book_next_try_ms(e);
		bi->failures = e->failures;
		bi->tried = e->tried;
	}
	*count = seen < max ? seen : max;
	return 0;
}

int net_disconnect(net_t *n, const char *addr_or_id)
{
	char *end;
	unsigned long long id = strtoull(addr_or_id, &end, 10);
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if ((*end == 0 && end != addr_or_id && c->id == id) || strcmp(c->addr, addr_or_id) == 0) {
			net_peer_close(c->peer, 0, "disconnected by operator");
			conn_close(c, "disconnected by operator");
			return 0;
		}
	}
	return ASSAY_ENOTFOUND;
}

int net_bans(net_t *n, struct net_ban **out, size_t *count)
{
	net_book_expire_bans(n->book, wall_ms());
	size_t k = net_book_nbans(n->book);
	*out = calloc(k ? k : 1, sizeof(**out));
	*count = 0;
	if (!*out)
		return ASSAY_ENOMEM;
	for (size_t i = 0; i < k; i++) {
		const struct net_book_ban *b = net_book_ban_at(n->book, i);
		net_ip_format(b->ip, (*out)[i].addr, sizeof((*out)[i].addr));
		(*out)[i].until_ms = b->until_ms;
		snprintf((*out)[i].reason, sizeof((*out)[i].reason), "%s", b->reason);
	}
	*count = k;
	return 0;
}

int net_setban(net_t *n, const char *ip_text, int add, uint64_t seconds)
{
	uint8_t ip[16];
	if (net_ip_parse(ip_text, ip) < 0)
		return ASSAY_EARG;
	int rc;
	if (add) {
		uint64_t s = seconds ? seconds : NET_BAN_DEFAULT_S;
		/* Bounded, so s * 1000 and the sum cannot wrap (a wrapped expiry
		 * lies in the past: the ban vanished) and the expiry stays far
		 * below INT64_MAX, which listbanned writes as a JSON integer. */
		if (s > NET_BAN_MAX_S)
			return ASSAY_ELIMIT;
		rc = net_book_ban(n->book, ip, wall_ms() + s * 1000, "banned by operator");
		for (struct conn *c = n->conns; c && rc == 0; c = c->next)
			if (!c->dead && memcmp(c->ip, ip, 16) == 0) {
				net_peer_close(c->peer, NET_REJECT_BANNED, "banned by operator");
				conn_close(c, "banned by operator");
			}
	} else {
		rc = net_book_unban(n->book, ip);
	}
	if (rc == 0)
		persist_bans(n);
	return rc;
}

void net_clearbans(net_t *n)
{
	net_book_clear_bans(n->book);
	persist_bans(n);
}

void net_sync_status(net_t *n, struct net_sync_status *st)
{
	uint64_t tip;
	uint8_t tip_hash[32];
	n->ops.get_tip(n->ops.ctx, &tip, tip_hash);
	net_sync_set_tip(n->sync, tip);
	memset(st, 0, sizeof(*st));
	st->height = tip;
	st->target = net_sync_target(n->sync);
	st->syncing = st->target > tip;
	st->blocks_per_s = n->blocks_per_s;
	st->progress = st->target ? (double)tip / (double)st->target : 1.0;
}

uint16_t net_listen_port(net_t *n)
{
	return n->listener ? n->listen_port : 0;
}
