/* Unit tests of net/msg.c: every message round-trips bit for bit, and every
 * decoder refuses truncation, trailing bytes, over-limit counts and lengths,
 * and unknown enum values. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/msg.h"
#include "tests/unit/test.h"

static struct net_inv inv_items[3];
static struct net_addr addr_items[2];
static const uint8_t raw_object[5] = {9, 8, 7, 6, 5};

static void sample(struct net_msg *m, enum net_cmd cmd)
{
	memset(m, 0, sizeof(*m));
	m->cmd = cmd;
	switch (cmd) {
	case NET_CMD_VERSION:
		m->u.version.protocol = NET_PROTOCOL_VERSION;
		memset(m->u.version.chain_id, 0xab, 32);
		m->u.version.best_height = 123456789;
		m->u.version.nonce = 0x0102030405060708ull;
		m->u.version.listen_port = 18444;
		m->u.version.flags = NET_F_ZSTD;
		strcpy(m->u.version.user_agent, "/assay:0.1.0/");
		break;
	case NET_CMD_PING:
	case NET_CMD_PONG:
		m->u.nonce = 0xfedcba9876543210ull;
		break;
	case NET_CMD_INV:
	case NET_CMD_GETDATA:
	case NET_CMD_NOTFOUND:
		for (int i = 0; i < 3; i++) {
			inv_items[i].type = i == 1 ? NET_INV_BLOCK : i == 2 ? NET_INV_CHUNK : NET_INV_TX;
			memset(inv_items[i].hash, 0x10 + i, 32);
		}
		m->u.inv.items = inv_items;
		m->u.inv.count = 3;
		break;
	case NET_CMD_TX:
		m->u.tx.data = raw_object;
		m->u.tx.len = sizeof(raw_object);
		break;
	case NET_CMD_CHUNK:
		m->u.chunk.data = raw_object;
		m->u.chunk.len = sizeof(raw_object);
		break;
	case NET_CMD_PROPOSAL:
	case NET_CMD_VOTE:
		m->u.consensus.data = raw_object;
		m->u.consensus.len = sizeof(raw_object);
		break;
	case NET_CMD_BLOCK:
		m->u.block.height = 42;
		m->u.block.data = raw_object;
		m->u.block.len = sizeof(raw_object);
		break;
	case NET_CMD_GETBLOCKS:
		m->u.getblocks.from = 1000;
		m->u.getblocks.count = NET_MAX_GETBLOCKS;
		break;
	case NET_CMD_ADDR:
		net_ip_parse("192.0.2.7", addr_items[0].ip);
		addr_items[0].port = 8333;
		addr_items[0].last_seen = 1700000000;
		net_ip_parse("2001:db8::1", addr_items[1].ip);
		addr_items[1].port = 18444;
		addr_items[1].last_seen = 1700000123;
		m->u.addr.items = addr_items;
		m->u.addr.count = 2;
		break;
	case NET_CMD_REJECT:
		m->u.reject.code = NET_REJECT_CHAIN;
		strcpy(m->u.reject.reason, "wrong chain");
		break;
	default:
		break;
	}
}

static int same(const struct net_msg *a, const struct net_msg *b)
{
	if (a->cmd != b->cmd)
		return 0;
	switch (a->cmd) {
	case NET_CMD_VERSION:
		return memcmp(&a->u.version, &b->u.version, sizeof(a->u.version)) == 0;
	case NET_CMD_PING:
	case NET_CMD_PONG:
		return a->u.nonce == b->u.nonce;
	case NET_CMD_INV:
	case NET_CMD_GETDATA:
	case NET_CMD_NOTFOUND:
		return a->u.inv.count == b->u.inv.count &&
		       memcmp(a->u.inv.items, b->u.inv.items, a->u.inv.count * sizeof(struct net_inv)) == 0;
	case NET_CMD_TX:
		return a->u.tx.len == b->u.tx.len && memcmp(a->u.tx.data, b->u.tx.data, a->u.tx.len) == 0;
	case NET_CMD_CHUNK:
		return a->u.chunk.len == b->u.chunk.len &&
		       memcmp(a->u.chunk.data, b->u.chunk.data, a->u.chunk.len) == 0;
	case NET_CMD_PROPOSAL:
	case NET_CMD_VOTE:
		return a->u.consensus.len == b->u.consensus.len &&
		       memcmp(a->u.consensus.data, b->u.consensus.data, a->u.consensus.len) == 0;
	case NET_CMD_BLOCK:
		return a->u.block.height == b->u.block.height && a->u.block.len == b->u.block.len &&
		       memcmp(a->u.block.data, b->u.block.data, a->u.block.len) == 0;
	case NET_CMD_GETBLOCKS:
		return a->u.getblocks.from == b->u.getblocks.from &&
		       a->u.getblocks.count == b->u.getblocks.count;
	case NET_CMD_ADDR:
		return a->u.addr.count == b->u.addr.count &&
		       memcmp(a->u.addr.items, b->u.addr.items, a->u.addr.count * sizeof(struct net_addr)) == 0;
	case NET_CMD_REJECT:
		return a->u.reject.code == b->u.reject.code &&
		       strcmp(a->u.reject.reason, b->u.reject.reason) == 0;
	default:
		return 1;
	}
}

/* Round trip, re-encoding, every truncation and one trailing byte. */
static void test_every_command(void)
{
	for (int c = 0; c < NET_CMD_COUNT; c++) {
		struct net_msg m, d;
		struct buf b, b2;
		sample(&m, c);
		buf_init(&b);
		buf_init(&b2);
		net_msg_encode(&m, &b);
		int rc = net_msg_decode(&d, c, b.data, b.len);
		CHECK(rc == 0);
		if (rc == 0) {
			CHECK(same(&m, &d));
			net_msg_encode(&d, &b2);
			CHECK(b2.len == b.len && (b.len == 0 || memcmp(b.data, b2.data, b.len) == 0));
			net_msg_free(&d);
		}
		for (size_t cut = 0; cut < b.len; cut++) {
			if (net_msg_decode(&d, c, b.data, cut) == 0) {
				fprintf(stderr, "%s truncated at %zu accepted\n", net_cmd_name(c), cut);
				CHECK(0);
				net_msg_free(&d);
			}
		}
		buf_put_u8(&b, 0);
		CHECK(net_msg_decode(&d, c, b.data, b.len) == ASSAY_EDECODE);
		buf_free(&b);
		buf_free(&b2);
	}
}

static void test_version_layout(void)
{
	struct net_msg m;
	struct buf b;
	sample(&m, NET_CMD_VERSION);
	buf_init(&b);
	net_msg_encode(&m, &b);
	/* 4 + 32 + 8 + 8 + 2 + 4 + varint(13) + 13 */
	CHECK(b.len == 4 + 32 + 8 + 8 + 2 + 4 + 1 + 13);
	CHECK(le32_get(b.data) == NET_PROTOCOL_VERSION);
	CHECK(le64_get(b.data + 36) == 123456789);
	CHECK(b.data[58] == 13 && memcmp(b.data + 59, "/assay:0.1.0/", 13) == 0);
	buf_free(&b);
}

static void test_text_limits(void)
{
	struct net_msg m, d;
	struct buf b;
	buf_init(&b);
	/* a 65-byte user agent on the wire is over the limit */
	sample(&m, NET_CMD_VERSION);
	net_msg_encode(&m, &b);
	size_t head = 4 + 32 + 8 + 8 + 2 + 4;
	b.len = head;
	uint8_t ua[NET_MAX_USER_AGENT + 1];
	memset(ua, 'a', sizeof(ua));
	buf_put_bytes(&b, ua, sizeof(ua));
	CHECK(net_msg_decode(&d, NET_CMD_VERSION, b.data, b.len) == ASSAY_ELIMIT);
	b.len = head;
	buf_put_bytes(&b, ua, NET_MAX_USER_AGENT);
	CHECK(net_msg_decode(&d, NET_CMD_VERSION, b.data, b.len) == 0);
	CHECK(strlen(d.u.version.user_agent) == NET_MAX_USER_AGENT);
	/* control characters are refused */
	b.len = head;
	buf_put_bytes(&b, "ab\ncd", 5);
	CHECK(net_msg_decode(&d, NET_CMD_VERSION, b.data, b.len) == ASSAY_EDECODE);
	b.len = head;
	buf_put_bytes(&b, "ab\0cd", 5);
	CHECK(net_msg_decode(&d, NET_CMD_VERSION, b.data, b.len) == ASSAY_EDECODE);
	/* reject: code 0 and unknown codes are refused */
	buf_reset(&b);
	buf_put_u8(&b, 0);
	buf_put_bytes(&b, "x", 1);
	CHECK(net_msg_decode(&d, NET_CMD_REJECT, b.data, b.len) == ASSAY_EDECODE);
	b.data[0] = NET_REJECT_MAX + 1;
	CHECK(net_msg_decode(&d, NET_CMD_REJECT, b.data, b.len) == ASSAY_EDECODE);
	b.data[0] = NET_REJECT_MAX;
	CHECK(net_msg_decode(&d, NET_CMD_REJECT, b.data, b.len) == 0);
	buf_free(&b);
}

static void test_list_limits(void)
{
	struct net_msg m, d;
	struct buf b;
	buf_init(&b);
	/* inv at the limit decodes, one more is ELIMIT */
	struct net_inv *many = calloc(NET_MAX_INV + 1, sizeof(*many));
	for (size_t i = 0; i <= NET_MAX_INV; i++)
		many[i].type = NET_INV_BLOCK;
	memset(&m, 0, sizeof(m));
	m.cmd = NET_CMD_INV;
	m.u.inv.items = many;
	m.u.inv.count = NET_MAX_INV;
	net_msg_encode(&m, &b);
	CHECK(net_msg_decode(&d, NET_CMD_GETDATA, b.data, b.len) == 0 && d.u.inv.count == NET_MAX_INV);
	net_msg_free(&d);
	buf_reset(&b);
	m.u.inv.count = NET_MAX_INV + 1;
	net_msg_encode(&m, &b);
	CHECK(net_msg_decode(&d, NET_CMD_INV, b.data, b.len) == ASSAY_ELIMIT);
	/* a count larger than the payload can hold is refused before allocating */
	buf_reset(&b);
	buf_put_varint(&b, 900);
	CHECK(net_msg_decode(&d, NET_CMD_INV, b.data, b.len) == ASSAY_EDECODE);
	/* unknown inventory type */
	buf_reset(&b);
	buf_put_varint(&b, 1);
	buf_put_u8(&b, 4);
	buf_put(&b, many[0].hash, 32);
	CHECK(net_msg_decode(&d, NET_CMD_INV, b.data, b.len) == ASSAY_EDECODE);
	free(many);

	/* addr over the limit */
	buf_reset(&b);
	buf_put_varint(&b, NET_MAX_ADDR + 1);
	CHECK(net_msg_decode(&d, NET_CMD_ADDR, b.data, b.len) == ASSAY_ELIMIT);

	/* getblocks: 0 and over 500 refused */
	buf_reset(&b);
	buf_put_u64(&b, 5);
	buf_put_u32(&b, 0);
	CHECK(net_msg_decode(&d, NET_CMD_GETBLOCKS, b.data, b.len) == ASSAY_EDECODE);
	buf_reset(&b);
	buf_put_u64(&b, 5);
	buf_put_u32(&b, NET_MAX_GETBLOCKS + 1);
	CHECK(net_msg_decode(&d, NET_CMD_GETBLOCKS, b.data, b.len) == ASSAY_ELIMIT);

	/* tx and block: a length over NET_MAX_OBJECT is ELIMIT */
	buf_reset(&b);
	buf_put_varint(&b, NET_MAX_OBJECT + 1);
	CHECK(net_msg_decode(&d, NET_CMD_TX, b.data, b.len) == ASSAY_ELIMIT);
	buf_reset(&b);
	buf_put_u64(&b, 1);
	buf_put_varint(&b, NET_MAX_OBJECT + 1);
	CHECK(net_msg_decode(&d, NET_CMD_BLOCK, b.data, b.len) == ASSAY_ELIMIT);
	/* proposal up to NET_MAX_OBJECT (it carries the block), vote up to NET_MAX_VOTE */
	buf_reset(&b);
	buf_put_varint(&b, NET_MAX_OBJECT + 1);
	CHECK(net_msg_decode(&d, NET_CMD_PROPOSAL, b.data, b.len) == ASSAY_ELIMIT);
	buf_reset(&b);
	buf_put_varint(&b, NET_MAX_VOTE + 1);
	CHECK(net_msg_decode(&d, NET_CMD_VOTE, b.data, b.len) == ASSAY_ELIMIT);
	/* an output chunk up to NET_MAX_CHUNK (1 MiB of tiles and its proof) */
	buf_reset(&b);
	buf_put_varint(&b, NET_MAX_CHUNK + 1);
	CHECK(net_msg_decode(&d, NET_CMD_CHUNK, b.data, b.len) == ASSAY_ELIMIT);
	CHECK(strcmp(net_cmd_name(NET_CMD_CHUNK), "chunk") == 0);
	/* a non-minimal varint length is refused */
	buf_reset(&b);
	const uint8_t nonminimal[3] = {0x81, 0x00, 0xaa};
	buf_put(&b, nonminimal, 3);
	CHECK(net_msg_decode(&d, NET_CMD_TX, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);
}

static void test_addr_format(void)
{
	uint8_t ip[16];
	char text[64];
	CHECK(net_ip_parse("127.0.0.1", ip) == 0);
	net_addr_format(ip, 18444, text, sizeof(text));
	CHECK(strcmp(text, "127.0.0.1:18444") == 0);
	CHECK(net_ip_parse("::1", ip) == 0);
	net_addr_format(ip, 1, text, sizeof(text));
	CHECK(strcmp(text, "[::1]:1") == 0);
	CHECK(net_ip_parse("host.example", ip) == ASSAY_EARG);
	CHECK(net_ip_parse("1.2.3.4:5", ip) == ASSAY_EARG);
}

int main(void)
{
	RUN(test_every_command);
	RUN(test_version_layout);
	RUN(test_text_limits);
	RUN(test_list_limits);
	RUN(test_addr_format);
	return test_report("test_net_msg");
}
