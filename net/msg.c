/* Message payload codecs (see msg.h). Every decoder reads through a sticky
 * struct reader and checks once at the end, so a truncated, padded or
 * over-limit payload is refused the same way for every command. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/msg.h"

static void put_inv_list(struct buf *b, const struct net_inv *items, size_t count)
{
	buf_put_varint(b, count);
	for (size_t i = 0; i < count; i++) {
		buf_put_u8(b, items[i].type);
		buf_put(b, items[i].hash, HASH_LEN);
	}
}

void net_msg_encode(const struct net_msg *m, struct buf *b)
{
	switch (m->cmd) {
	case NET_CMD_VERSION: {
		const struct net_version *v = &m->u.version;
		size_t ualen = strnlen(v->user_agent, NET_MAX_USER_AGENT);
		buf_put_u32(b, v->protocol);
		buf_put(b, v->chain_id, HASH_LEN);
		buf_put_u64(b, v->best_height);
		buf_put_u64(b, v->nonce);
		buf_put_u16(b, v->listen_port);
		buf_put_u32(b, v->flags);
		buf_put_bytes(b, v->user_agent, ualen);
		break;
	}
	case NET_CMD_VERACK:
	case NET_CMD_GETADDR:
		break;
	case NET_CMD_PING:
	case NET_CMD_PONG:
		buf_put_u64(b, m->u.nonce);
		break;
	case NET_CMD_INV:
	case NET_CMD_GETDATA:
	case NET_CMD_NOTFOUND:
		put_inv_list(b, m->u.inv.items, m->u.inv.count);
		break;
	case NET_CMD_TX:
		buf_put_bytes(b, m->u.tx.data, m->u.tx.len);
		break;
	case NET_CMD_CHUNK:
		buf_put_bytes(b, m->u.chunk.data, m->u.chunk.len);
		break;
	case NET_CMD_BLOCK:
		buf_put_u64(b, m->u.block.height);
		buf_put_bytes(b, m->u.block.data, m->u.block.len);
		break;
	case NET_CMD_PROPOSAL:
	case NET_CMD_VOTE:
		buf_put_bytes(b, m->u.consensus.data, m->u.consensus.len);
		break;
	case NET_CMD_GETBLOCKS:
		buf_put_u64(b, m->u.getblocks.from);
		buf_put_u32(b, m->u.getblocks.count);
		break;
	case NET_CMD_ADDR:
		buf_put_varint(b, m->u.addr.count);
		for (size_t i = 0; i < m->u.addr.count; i++) {
			buf_put(b, m->u.addr.items[i].ip, 16);
			buf_put_u16(b, m->u.addr.items[i].port);
			buf_put_u64(b, m->u.addr.items[i].last_seen);
		}
		break;
	case NET_CMD_REJECT: {
		size_t rlen = strnlen(m->u.reject.reason, NET_MAX_REASON);
		buf_put_u8(b, m->u.reject.code);
		buf_put_bytes(b, m->u.reject.reason, rlen);
		break;
	}
	case NET_CMD_COUNT:
		break;
	}
}

/* Text fields are printable ASCII so that they can be logged as they are. */
static int read_text(struct reader *r, char *out, size_t max)
{
	size_t n;
	const uint8_t *p = rd_bytes(r, &n, max);
	if (!p) {
		out[0] = 0;
		return r->err ? r->err : 0;
	}
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return ASSAY_EDECODE;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

static int read_inv_list(struct reader *r, struct net_msg *m)
{
	uint64_t count = rd_count(r, NET_MAX_INV);
	if (r->err)
		return r->err;
	/* each item is 33 bytes: refuse a count the payload cannot hold before
	 * allocating for it */
	if (count * (1 + HASH_LEN) > rd_left(r))
		return ASSAY_EDECODE;
	m->u.inv.count = (size_t)count;
	m->u.inv.items = count ? calloc((size_t)count, sizeof(struct net_inv)) : NULL;
	if (count && !m->u.inv.items)
		return ASSAY_ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct net_inv *it = &m->u.inv.items[i];
		it->type = rd_u8(r);
		rd_copy(r, it->hash, HASH_LEN);
		if (!r->err && it->type != NET_INV_TX && it->type != NET_INV_BLOCK && it->type != NET_INV_CHUNK)
			return ASSAY_EDECODE;
	}
	return 0;
}

static int read_addr_list(struct reader *r, struct net_msg *m)
{
	uint64_t count = rd_count(r, NET_MAX_ADDR);
	if (r->err)
		return r->err;
	if (count * (16 + 2 + 8) > rd_left(r))
		return ASSAY_EDECODE;
	m->u.addr.count = (size_t)count;
	m->u.addr.items = count ? calloc((size_t)count, sizeof(struct net_addr)) : NULL;
	if (count && !m->u.addr.items)
		return ASSAY_ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct net_addr *a = &m->u.addr.items[i];
		rd_copy(r, a->ip, 16);
		a->port = rd_u16(r);
		a->last_seen = rd_u64(r);
	}
	return 0;
}

static int decode_body(struct net_msg *m, struct reader *r)
{
	switch (m->cmd) {
	case NET_CMD_VERSION: {
		struct net_version *v = &m->u.version;
		v->protocol = rd_u32(r);
		rd_copy(r, v->chain_id, HASH_LEN);
		v->best_height = rd_u64(r);
		v->nonce = rd_u64(r);
		v->listen_port = rd_u16(r);
		v->flags = rd_u32(r);
		return read_text(r, v->user_agent, NET_MAX_USER_AGENT);
	}
	case NET_CMD_VERACK:
	case NET_CMD_GETADDR:
		return 0;
	case NET_CMD_PING:
	case NET_CMD_PONG:
		m->u.nonce = rd_u64(r);
		return 0;
	case NET_CMD_INV:
	case NET_CMD_GETDATA:
	case NET_CMD_NOTFOUND:
		return read_inv_list(r, m);
	case NET_CMD_TX:
		m->u.tx.data = rd_bytes(r, &m->u.tx.len, NET_MAX_OBJECT);
		return 0;
	case NET_CMD_CHUNK:
		m->u.chunk.data = rd_bytes(r, &m->u.chunk.len, NET_MAX_CHUNK);
		return 0;
	case NET_CMD_BLOCK:
		m->u.block.height = rd_u64(r);
		m->u.block.data = rd_bytes(r, &m->u.block.len, NET_MAX_OBJECT);
		return 0;
	case NET_CMD_PROPOSAL:
		m->u.consensus.data = rd_bytes(r, &m->u.consensus.len, NET_MAX_OBJECT);
		return 0;
	case NET_CMD_VOTE:
		m->u.consensus.data = rd_bytes(r, &m->u.consensus.len, NET_MAX_VOTE);
		return 0;
	case NET_CMD_GETBLOCKS:
		m->u.getblocks.from = rd_u64(r);
		m->u.getblocks.count = rd_u32(r);
		if (!r->err && m->u.getblocks.count == 0)
			return ASSAY_EDECODE;
		if (!r->err && m->u.getblocks.count > NET_MAX_GETBLOCKS)
			return ASSAY_ELIMIT;
		return 0;
	case NET_CMD_ADDR:
		return read_addr_list(r, m);
	case NET_CMD_REJECT:
		m->u.reject.code = rd_u8(r);
		if (!r->err && (m->u.reject.code == 0 || m->u.reject.code > NET_REJECT_MAX))
			return ASSAY_EDECODE;
		return read_text(r, m->u.reject.reason, NET_MAX_REASON);
	case NET_CMD_COUNT:
		break;
	}
	return ASSAY_EDECODE;
}

int net_msg_decode(struct net_msg *m, enum net_cmd cmd, const uint8_t *p, size_t n)
{
	struct reader r;
	memset(m, 0, sizeof(*m));
	m->cmd = cmd;
	rd_init(&r, p, n);
	int rc = decode_body(m, &r);
	if (rc == 0)
		rc = rd_finish(&r);
	if (rc < 0) {
		net_msg_free(m);
		m->cmd = cmd;
	}
	return rc;
}

void net_msg_free(struct net_msg *m)
{
	if (m->cmd == NET_CMD_INV || m->cmd == NET_CMD_GETDATA || m->cmd == NET_CMD_NOTFOUND)
		free(m->u.inv.items);
	else if (m->cmd == NET_CMD_ADDR)
		free(m->u.addr.items);
	memset(&m->u, 0, sizeof(m->u));
}

static int ip_is_v4(const uint8_t ip[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(ip, prefix, 12) == 0;
}

void net_ip_format(const uint8_t ip[16], char *out, size_t outlen)
{
	char text[INET6_ADDRSTRLEN];
	if (ip_is_v4(ip))
		inet_ntop(AF_INET, ip + 12, text, sizeof(text));
	else
		inet_ntop(AF_INET6, ip, text, sizeof(text));
	snprintf(out, outlen, "%s", text);
}

void net_addr_format(const uint8_t ip[16], uint16_t port, char *out, size_t outlen)
{
	char text[INET6_ADDRSTRLEN];
	net_ip_format(ip, text, sizeof(text));
	if (ip_is_v4(ip))
		snprintf(out, outlen, "%s:%u", text, port);
	else
		snprintf(out, outlen, "[%s]:%u", text, port);
}

int net_ip_parse(const char *s, uint8_t ip[16])
{
	memset(ip, 0, 16);
	if (inet_pton(AF_INET, s, ip + 12) == 1) {
		ip[10] = ip[11] = 0xff;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip) == 1)
		return 0;
	return ASSAY_EARG;
}
