/* The RPC methods users of bitcoind reach for (docs/rpc.md): best hash and
 * headers, network info, address checks, decoding, a fee estimate, the
 * optional address index behind listtransactions (-addrindex), and the long
 * polls waitfornewblock and waitforjob, answered through rpc_defer. Not for:
 * anything that changes the chain, or the rules (chain.c, consensus/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <config.h>
#include "consensus/compute/compute.h"
#include "core/error.h"
#include "core/log.h"
#include "core/network.h"
#include "net/msg.h"
#include "net/net.h"
#include "node/node.h"

#define EXTRA_USER_AGENT "/assayd:" PACKAGE_VERSION "/" /* what peers see (node_net.c) */
#define ESTIMATEFEE_BLOCKS 20                           /* recent blocks estimatefee looks at */
#define ESTIMATEFEE_MAX_TARGET 100                      /* largest TARGET_BLOCKS */
#define ESTIMATEFEE_FULL_PCT 90                         /* this full (txs, bytes or gas): contested */
#define ESTIMATEFEE_TX_BYTES 182                        /* TX_BYTES by default: a transfer's size */
#define LISTTX_DEFAULT_COUNT 10
#define LISTTX_MAX_COUNT 1000      /* transactions in one listtransactions reply */
#define WAIT_DEFAULT_MS 60000      /* waitfornewblock/waitforjob without TIMEOUT_MS */
#define ADDRINDEX_META "addrindex" /* meta: u64 LE height the address index covers */
#define ADDRINDEX_BATCH_BLOCKS 500 /* blocks per batch while building the index */
#define ADDRINDEX_KEY_LEN (1 + ADDR_LEN + 8 + 4)

static json_t *addr_json(const struct node *n, const uint8_t addr[ADDR_LEN])
{
	char text[ADDR_STR_MAX];
	address_encode(n->genesis.net, addr, text);
	return json_string(text);
}

static int parse_hash(json_t *v, uint8_t out[HASH_LEN])
{
	return json_is_string(v) && json_string_length(v) == 2 * HASH_LEN &&
			       hex_decode(json_string_value(v), out, HASH_LEN) == HASH_LEN
		       ? 0
		       : -1;
}

/* An integer parameter from min to max, dflt when absent or null. */
static int uint_param_from(json_t *v, const char *name, uint64_t dflt, uint64_t min, uint64_t max, uint64_t *out,
			   struct rpc_error *e)
{
	if (!v || json_is_null(v)) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max)
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s must be an integer from %llu to %llu", name,
				(unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A non-negative integer parameter, dflt when absent or null. */
static int uint_param(json_t *v, const char *name, uint64_t dflt, uint64_t max, uint64_t *out,
		      struct rpc_error *e)
{
	return uint_param_from(v, name, dflt, 0, max, out, e);
}

static int m_getbestblockhash(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t tip[HASH_LEN];
	(void)params;
	(void)e;
	chain_tip_hash(n->chain, tip);
	*result = rpc_hex(tip, HASH_LEN);
	return 0;
}

static int m_getblockheader(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *id = rpc_param(params, 0), *verbose = rpc_param(params, 1);
	struct block blk;
	uint8_t hash[HASH_LEN];
	int rc;
	if (verbose && !json_is_boolean(verbose) && !json_is_null(verbose))
		return rpc_fail(e, RPC_INVALID_PARAMS, "verbose must be true or false");
	if (json_is_integer(id)) {
		if (json_integer_value(id) < 0) /* not a height: only one above the tip is -8 */
			return rpc_fail(e, RPC_INVALID_PARAMS, "height must be a non-negative integer");
		if ((uint64_t)json_integer_value(id) > chain_height(n->chain))
			return rpc_fail(e, RPC_INVALID_PARAMETER,
					"block height %lld out of range (tip is %llu)",
					(long long)json_integer_value(id),
					(unsigned long long)chain_height(n->chain));
		rc = chain_get_block_at(n->chain, (uint64_t)json_integer_value(id), &blk);
	} else if (parse_hash(id, hash) == 0) {
		rc = chain_get_block(n->chain, hash, &blk);
	} else {
		return rpc_fail(e, RPC_INVALID_PARAMS,
				"getblockheader takes a block hash (64 hex digits) or a height");
	}
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "block not found");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read block: %s", assay_strerror(rc));
	const struct block_header *h = &blk.hdr;
	if (verbose && json_is_false(verbose)) {
		struct buf b;
		buf_init(&b);
		block_header_encode(h, &b);
		*result = b.oom ? NULL : rpc_hex(b.data, b.len);
		buf_free(&b);
		block_free(&blk);
		return *result ? 0 : rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	}
	/* below the tip the next block is there: a failed read of its height
	 * record is damage, never "no next block" */
	uint8_t next[HASH_LEN];
	int has_next = h->height < chain_height(n->chain);
	if (has_next && (rc = store_get_hash_at(chain_store(n->chain), h->height + 1, next)) != 0) {
		unsigned long long at = (unsigned long long)h->height + 1;
		block_free(&blk);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "height index damaged at %llu: %s", at,
				assay_strerror(rc));
	}
	block_header_hash(h, hash);
	*result = json_pack(
		"{s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o}", "hash",
		rpc_hex(hash, HASH_LEN), "confirmations",
		(json_int_t)(chain_height(n->chain) - h->height + 1), "version", (json_int_t)h->version,
		"height", (json_int_t)h->height, "time_ms", (json_int_t)h->time_ms, "chain_id",
		rpc_hex(h->chain_id, HASH_LEN), "prev_hash", rpc_hex(h->prev_hash, HASH_LEN), "tx_root",
		rpc_hex(h->tx_root, HASH_LEN), "state_root", rpc_hex(h->state_root, HASH_LEN),
		"last_commit_hash", rpc_hex(h->last_commit_hash, HASH_LEN), "validators_hash",
		rpc_hex(h->validators_hash, HASH_LEN), "proposer", rpc_hex(h->proposer, PUBKEY_LEN), "beacon",
		rpc_hex(h->beacon, HASH_LEN), "beacon_proof", rpc_hex(h->beacon_proof, VRF_PROOF_LEN), "ntx",
		(json_int_t)blk.ntx, "next_hash", has_next ? rpc_hex(next, HASH_LEN) : json_null());
	block_free(&blk);
	return 0;
}

static void count_peers(struct node *n, size_t *in, size_t *out)
{
	struct net_peer_info *peers = NULL;
	size_t count = 0;
	*in = *out = 0;
	if (!n->net || net_peers(n->net, &peers, &count) < 0)
		return;
	for (size_t i = 0; i < count; i++)
		*(peers[i].inbound ? in : out) += 1;
	free(peers);
}

static int m_getnetworkinfo(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	size_t in, out;
	(void)params;
	(void)e;
	count_peers(n, &in, &out);
	json_t *local = json_array();
	uint16_t port = n->net ? net_listen_port(n->net) : 0;
	if (port)
		json_array_append_new(local,
				      json_pack("{s:s,s:i}", "address", n->cfg.bind, "port", (int)port));
	*result = json_pack("{s:s,s:s,s:i,s:s,s:s,s:b,s:I,s:I,s:I,s:o,s:I,s:I}", "version", PACKAGE_VERSION,
			    "subversion", EXTRA_USER_AGENT, "protocol_version", NET_PROTOCOL_VERSION,
			    "network", n->genesis.network_name, "chain", n->genesis.chain, "networkactive",
			    n->net != NULL, "connections", (json_int_t)(in + out), "connections_in",
			    (json_int_t)in, "connections_out", (json_int_t)out, "local_addresses", local,
			    "relay_fee", (json_int_t)n->genesis.params.min_fee, "gas_price",
			    (json_int_t)n->genesis.params.gas_price);
	return 0;
}

static int m_getconnectioncount(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	size_t in, out;
	(void)params;
	(void)e;
	count_peers(n, &in, &out);
	*result = json_integer((json_int_t)(in + out));
	return 0;
}

static int m_uptime(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint64_t now = node_now_ms();
	(void)params;
	(void)e;
	*result = json_integer((json_int_t)(now > n->started_ms ? (now - n->started_ms) / 1000 : 0));
	return 0;
}

/* The name of the first network whose addresses use family's HRP. */
static const char *family_name(enum network family)
{
	return network_of_family(family)->name;
}

static int m_validateaddress(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *arg = rpc_param(params, 0);
	uint8_t addr[ADDR_LEN];
	enum network net;
	if (!json_is_string(arg))
		return rpc_fail(e, RPC_INVALID_PARAMS, "validateaddress takes an address string");
	const char *text = json_string_value(arg);
	if (address_decode(text, &net, addr) < 0) {
		*result = json_pack(
			"{s:b,s:O,s:s}", "isvalid", 0, "address", arg, "error",
			"not a valid address: expected bech32m text with a known prefix and checksum");
		return *result ? 0 : rpc_fail(e, RPC_INVALID_PARAMS, "address is not valid UTF-8");
	}
	if (net != n->genesis.net) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "address is for the %s network (%s1...); this node is on %s (%s1...)",
			 family_name(net), network_hrp(net), n->genesis.network_name,
			 network_hrp(n->genesis.net));
		*result = json_pack("{s:b,s:O,s:s,s:s}", "isvalid", 0, "address", arg, "network",
				    family_name(net), "error", msg);
		return 0;
	}
	*result = json_pack("{s:b,s:o,s:s,s:o}", "isvalid", 1, "address", addr_json(n, addr), "network",
			    n->genesis.network_name, "hex", rpc_hex(addr, ADDR_LEN));
	return 0;
}

static int m_decoderawtransaction(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t *raw;
	size_t len;
	if (node_raw_tx_param(rpc_param(params, 0), "decoderawtransaction", &raw, &len, e) < 0)
		return -1;
	if (len > n->genesis.params.max_tx_bytes) {
		free(raw);
		return rpc_fail(e, RPC_DESERIALIZATION_ERROR, "transaction is %zu bytes; limit %u", len,
				n->genesis.params.max_tx_bytes);
	}
	struct tx t;
	char err[200];
	int rc = tx_decode_err(&t, raw, len, n->genesis.params.max_tx_bytes, err, sizeof(err));
	free(raw);
	if (rc)
		return rpc_fail(e, RPC_DESERIALIZATION_ERROR, "transaction decode failed: %s", err);
	*result = node_tx_json(n, &t);
	json_object_set_new(*result, "signature_valid", json_boolean(tx_verify_sig(&t) == 0));
	tx_free(&t);
	return 0;
}

/* ---- estimatefee ---- */

/* A fee over an encoded size: what blocks and the mempool rank
 * transactions by (mempool.h, docs/protocol.md §9). */
struct fee_rate {
	uint64_t fee;
	uint64_t bytes; /* > 0 */
};

static struct fee_rate tx_rate(const struct tx *t)
{
	return (struct fee_rate){t->fee, tx_encoded_len(t)};
}

/* Whether a pays less per byte than b, exactly. */
static int rate_below(const struct fee_rate *a, const struct fee_rate *b)
{
	return mempool_rate_below(a->fee, a->bytes, b->fee, b->bytes);
}

static int cmp_rate(const void *a, const void *b)
{
	return rate_below(a, b) ? -1 : rate_below(b, a);
}

/* The least fee for a transaction of bytes that pays at least r per byte
 * (above: more than r), at most UINT64_MAX. */
static uint64_t fee_at_rate(const struct fee_rate *r, uint64_t bytes, int above)
{
	unsigned __int128 x = (unsigned __int128)r->fee * bytes;
	x = above ? x / r->bytes + 1 : (x + r->bytes - 1) / r->bytes;
	return x > UINT64_MAX ? UINT64_MAX : (uint64_t)x;
}

/* The rate that got into recent contested blocks: for each block at least
 * ESTIMATEFEE_FULL_PCT full (by count, bytes or gas), its lowest fee per
 * byte; the median of those. *full is 0 when no recent block was. */
static int recent_rate(struct node *n, struct fee_rate *rate, unsigned *examined, unsigned *full,
		       struct rpc_error *e)
{
	const struct chain_params *p = &n->genesis.params;
	struct fee_rate mins[ESTIMATEFEE_BLOCKS];
	uint64_t top = chain_height(n->chain);
	*examined = *full = 0;
	for (uint64_t h = top; h > 0 && *examined < ESTIMATEFEE_BLOCKS; h--) {
		struct block blk;
		int rc = chain_get_block_at(n->chain, h, &blk);
		if (rc)
			return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read block %llu: %s",
					(unsigned long long)h, assay_strerror(rc));
		(*examined)++;
		uint64_t gas = 0, bytes = 0;
		struct fee_rate lowest = {0, 1};
		for (size_t i = 0; i < blk.ntx; i++) {
			struct fee_rate r = tx_rate(&blk.txs[i]);
			gas += blk.txs[i].gas_limit;
			bytes += r.bytes;
			if (i == 0 || rate_below(&r, &lowest))
				lowest = r;
		}
		int contested =
			(uint64_t)blk.ntx * 100 >= (uint64_t)p->max_block_txs * ESTIMATEFEE_FULL_PCT ||
			bytes / ESTIMATEFEE_FULL_PCT >= p->max_block_bytes / 100 ||
			(p->max_block_gas && gas / ESTIMATEFEE_FULL_PCT >= p->max_block_gas / 100);
		if (contested && blk.ntx)
			mins[(*full)++] = lowest;
		block_free(&blk);
	}
	if (*full) {
		qsort(mins, *full, sizeof(mins[0]), cmp_rate);
		*rate = mins[*full / 2];
	}
	return 0;
}

/* The rate to beat for a place among the first target blocks' worth of
 * the mempool (by count and bytes), in the order the producer takes it:
 * that of the last transaction that fits. *crowded is 0 when the whole
 * pool fits. */
static int mempool_rate(struct node *n, uint64_t target, struct fee_rate *rate, int *crowded,
			struct rpc_error *e)
{
	const struct chain_params *p = &n->genesis.params;
	size_t size = mempool_size(n->mempool);
	uint64_t room_txs = target * p->max_block_txs, room_bytes = target * p->max_block_bytes;
	*crowded = 0;
	if (size == 0)
		return 0;
	const struct tx **txs = malloc(size * sizeof(*txs));
	if (!txs)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	size_t k = mempool_select(n->mempool, txs, size), fit = 0;
	for (uint64_t bytes = 0; fit < k && fit < room_txs; fit++) {
		bytes += tx_encoded_len(txs[fit]);
		if (bytes > room_bytes)
			break;
	}
	if (fit < k) {
		*crowded = 1;
		*rate = tx_rate(txs[fit ? fit - 1 : 0]);
	}
	free(txs);
	return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static int m_estimatefee(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	const struct chain_params *p = &n->genesis.params;
	uint64_t target, bytes;
	unsigned examined, full;
	int crowded;
	struct fee_rate from_blocks, from_pool;
	if (uint_param_from(rpc_param(params, 0), "TARGET_BLOCKS", 1, 1, ESTIMATEFEE_MAX_TARGET, &target, e) < 0)
		return -1;
	if (uint_param_from(rpc_param(params, 1), "TX_BYTES", ESTIMATEFEE_TX_BYTES, 1, p->max_tx_bytes,
			    &bytes, e) < 0)
		return -1;
	if (recent_rate(n, &from_blocks, &examined, &full, e) < 0 ||
	    mempool_rate(n, target, &from_pool, &crowded, e) < 0)
		return -1;
	/* Matching what got into contested blocks, outbidding the pool's
	 * last place: for TX_BYTES, and for 1000 bytes (fee_per_kb). */
	uint64_t fee = p->min_fee, per_kb = 0;
	if (full) {
		fee = max_u64(fee, fee_at_rate(&from_blocks, bytes, 0));
		per_kb = fee_at_rate(&from_blocks, 1000, 0);
	}
	if (crowded) {
		fee = max_u64(fee, fee_at_rate(&from_pool, bytes, 1));
		per_kb = max_u64(per_kb, fee_at_rate(&from_pool, 1000, 1));
	}
	*result = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:I}", "fee", (json_int_t)fee, "tip",
			    (json_int_t)(fee - p->min_fee), "fee_per_kb", (json_int_t)per_kb, "tx_bytes",
			    (json_int_t)bytes, "min_fee", (json_int_t)p->min_fee, "gas_price",
			    (json_int_t)p->gas_price, "target_blocks", (json_int_t)target, "blocks",
			    (int)examined, "full_blocks", (int)full, "mempool_size",
			    (json_int_t)mempool_size(n->mempool));
	return 0;
}

/* ---- the address index (-addrindex) ---- */

static void addrindex_key(uint8_t key[ADDRINDEX_KEY_LEN], const uint8_t addr[ADDR_LEN], uint64_t height,
			  uint32_t index)
{
	key[0] = STORE_P_ADDR;
	memcpy(key + 1, addr, ADDR_LEN);
	for (int i = 0; i < 8; i++)
		key[1 + ADDR_LEN + i] = (uint8_t)(height >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		key[1 + ADDR_LEN + 8 + i] = (uint8_t)(index >> (24 - 8 * i));
}

/* Puts blk's entries (sender and transfer recipient of each transaction)
 * and the height the index now covers: the chain's batch hook. */
static void addrindex_put_block(void *arg, const struct block *blk, store_batch_t *b)
{
	uint8_t key[ADDRINDEX_KEY_LEN], txid[HASH_LEN], addr[ADDR_LEN], covered[8];
	(void)arg;
	for (size_t i = 0; i < blk->ntx; i++) {
		const struct tx *t = &blk->txs[i];
		tx_id(t, txid);
		tx_sender_addr(t, addr);
		addrindex_key(key, addr, blk->hdr.height, (uint32_t)i);
		store_batch_put(b, key, sizeof(key), txid, HASH_LEN);
		struct transfer_payload tp;
		if (t->kind == TX_TRANSFER && transfer_decode(&tp, t->payload, t->payload_len) == 0 &&
		    memcmp(tp.to, addr, ADDR_LEN) != 0) {
			addrindex_key(key, tp.to, blk->hdr.height, (uint32_t)i);
			store_batch_put(b, key, sizeof(key), txid, HASH_LEN);
		}
	}
	le64_put(covered, blk->hdr.height);
	store_batch_put_meta(b, ADDRINDEX_META, covered, sizeof(covered));
}

/* Indexes the stored blocks the index does not cover yet, from its meta
 * height (or genesis) to the tip, ADDRINDEX_BATCH_BLOCKS per write. */
static int addrindex_build(struct node *n, char *err, size_t errlen)
{
	store_t *s = chain_store(n->chain);
	uint8_t *val = NULL;
	size_t vlen = 0;
	uint64_t from = 0, tip = chain_height(n->chain);
	int rc = store_get_meta(s, ADDRINDEX_META, &val, &vlen);
	if (rc == 0 && vlen == 8 && !n->cfg.reindex)
		from = le64_get(val) + 1;
	else if (rc == 0 && vlen != 8)
		log_warn("addrindex: its height record is damaged; indexing again from genesis");
	if (rc == 0 || rc == ASSAY_ENOTFOUND)
		rc = 0; /* never built, damaged or -reindex: from genesis (the entries are rewritten alike) */
	free(val);
	if (rc)
		return assay_fail(err, errlen, rc, "cannot read the address index's height: %s",
				  assay_strerror(rc));
	if (from <= tip)
		log_info("addrindex: indexing blocks %llu to %llu", (unsigned long long)from,
			 (unsigned long long)tip);
	while (from <= tip) {
		store_batch_t *b = store_batch_new();
		if (!b)
			return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		uint64_t h = from;
		for (; !rc && h <= tip && h < from + ADDRINDEX_BATCH_BLOCKS; h++) {
			struct block blk;
			if ((rc = chain_get_block_at(n->chain, h, &blk)) == 0) {
				addrindex_put_block(n, &blk, b);
				block_free(&blk);
			}
		}
		if (!rc)
			rc = store_write(s, b, 1);
		store_batch_free(b);
		if (rc)
			return assay_fail(err, errlen, rc, "cannot index block %llu: %s",
					  (unsigned long long)(h - 1), assay_strerror(rc));
		from = h;
	}
	return 0;
}

struct addr_scan {
	uint64_t seen;  /* entries passed so far */
	uint64_t first; /* entries before the ones wanted */
	uint64_t want;
	uint8_t (*txids)[HASH_LEN]; /* NULL: count only */
	uint64_t got;
};

static int addr_scan_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct addr_scan *sc = arg;
	(void)key;
	if (klen != ADDRINDEX_KEY_LEN || vlen != HASH_LEN)
		return ASSAY_ECORRUPT;
	if (sc->txids && sc->seen >= sc->first && sc->got < sc->want)
		memcpy(sc->txids[sc->got++], val, HASH_LEN);
	sc->seen++;
	return sc->txids && sc->got == sc->want ? 1 : 0;
}

/* One listtransactions entry: the tx object with where it is and how it
 * touched addr. */
static json_t *listed_tx_json(struct node *n, const uint8_t txid[HASH_LEN], const uint8_t addr[ADDR_LEN],
			      struct rpc_error *e)
{
	struct tx t;
	struct receipt r;
	uint64_t height;
	uint32_t index;
	uint8_t sender[ADDR_LEN];
	int rc = chain_get_tx(n->chain, txid, &t, &height, &index, &r);
	if (rc) {
		rpc_fail(e, RPC_INTERNAL_ERROR, "address index names a transaction that cannot be read: %s",
			 assay_strerror(rc));
		return NULL;
	}
	tx_sender_addr(&t, sender);
	int sent = memcmp(sender, addr, ADDR_LEN) == 0;
	struct transfer_payload tp;
	int to_self = t.kind == TX_TRANSFER && transfer_decode(&tp, t.payload, t.payload_len) == 0 &&
		      memcmp(tp.to, addr, ADDR_LEN) == 0;
	json_t *o = node_tx_json(n, &t);
	json_object_set_new(o, "category", json_string(sent && to_self ? "self" : sent ? "send" : "receive"));
	json_object_set_new(o, "height", json_integer((json_int_t)height));
	json_object_set_new(o, "index", json_integer(index));
	json_object_set_new(o, "confirmations",
			    json_integer((json_int_t)(chain_height(n->chain) - height + 1)));
	json_object_set_new(o, "ok", json_boolean(r.ok));
	tx_free(&t);
	receipt_free(&r);
	return o;
}

static int m_listtransactions(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *arg = rpc_param(params, 0);
	uint8_t addr[ADDR_LEN];
	enum network net;
	uint64_t count, skip;
	if (!n->addrindex_ready)
		return rpc_fail(e, RPC_MISC_ERROR,
				"listtransactions needs the address index: restart assayd with -addrindex");
	if (!json_is_string(arg) || address_decode(json_string_value(arg), &net, addr) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected an address (bech32m, %s1...)",
				network_hrp(n->genesis.net));
	if (net != n->genesis.net)
		return rpc_fail(e, RPC_INVALID_PARAMETER,
				"address is for another network (this one uses %s1...)",
				network_hrp(n->genesis.net));
	if (uint_param(rpc_param(params, 1), "COUNT", LISTTX_DEFAULT_COUNT, LISTTX_MAX_COUNT, &count, e) <
		    0 ||
	    uint_param(rpc_param(params, 2), "SKIP", 0, UINT32_MAX, &skip, e) < 0)
		return -1;
	/* Keys sort oldest first: walked from the newest, past skip of them,
	 * count taken, so a call reads skip + count entries, never all. */
	uint8_t prefix[1 + ADDR_LEN];
	prefix[0] = STORE_P_ADDR;
	memcpy(prefix + 1, addr, ADDR_LEN);
	uint8_t(*txids)[HASH_LEN] = malloc((count ? (size_t)count : 1) * HASH_LEN);
	struct addr_scan sc = {.first = skip, .want = count, .txids = txids};
	int rc = txids ? 0 : ASSAY_ENOMEM;
	if (!rc && count)
		rc = store_iterate_reverse(chain_store(n->chain), prefix, sizeof(prefix), addr_scan_entry, &sc);
	if (rc) {
		free(txids);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the address index: %s",
				assay_strerror(rc));
	}
	*result = json_array();
	for (uint64_t i = 0; i < sc.got; i++) {
		json_t *o = listed_tx_json(n, txids[i], addr, e);
		if (!o) {
			free(txids);
			json_decref(*result);
			*result = NULL;
			return -1;
		}
		json_array_append_new(*result, o);
	}
	free(txids);
	return 0;
}

/* ---- long polls: waitfornewblock, waitforjob ---- */

struct waiter {
	struct node *n;
	int for_job; /* 0: a block above after_height; 1: the job reaching state */
	uint64_t after_height;
	uint8_t job_id[HASH_LEN];
	unsigned state; /* enum job_state wanted */
};

static json_t *tip_json(struct node *n)
{
	uint8_t tip[HASH_LEN];
	chain_tip_hash(n->chain, tip);
	return json_pack("{s:o,s:I}", "hash", rpc_hex(tip, HASH_LEN), "height",
			 (json_int_t)chain_height(n->chain));
}

/* 1 and *result when w's condition holds, 0 when not (*result: the state
 * now), -1 with e filled on an error. */
static int waiter_check(struct waiter *w, json_t **result, struct rpc_error *e)
{
	struct node *n = w->n;
	if (!w->for_job) {
		*result = tip_json(n);
		return chain_height(n->chain) > w->after_height;
	}
	struct job_record j;
	struct ledger l = chain_ledger(n->chain);
	int rc = compute_get_job(&l, w->job_id, &j);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no such job");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the job: %s", assay_strerror(rc));
	/* open < assigned < committed < verified < paid; paid, failed and
	 * refunded are terminal and end every wait. */
	int reached =
		j.state == w->state || j.state >= JOB_PAID || (w->state < JOB_PAID && j.state > w->state);
	*result = json_pack("{s:o,s:s,s:I,s:b}", "job_id", rpc_hex(w->job_id, HASH_LEN), "state",
			    compute_job_state_name(j.state), "height", (json_int_t)chain_height(n->chain),
			    "reached", reached);
	return reached;
}

static void on_waiter_event(void *arg, rpc_deferred_t *d, enum rpc_defer_event ev)
{
	struct waiter *w = arg;
	json_t *result = NULL;
	struct rpc_error e = {0};
	if (ev == RPC_DEFER_GONE) {
		free(w);
		return;
	}
	int rc = waiter_check(w, &result, &e);
	if (rc == 0 && ev == RPC_DEFER_WAKE) {
		json_decref(result);
		return;
	}
	rpc_deferred_reply(d, rc < 0 ? NULL : result, rc < 0 ? &e : NULL);
	free(w);
}

/* Answers now when w holds already, else waits up to timeout_ms. */
static int wait_start(struct node *n, struct waiter *w, uint64_t timeout_ms, json_t **result,
		      struct rpc_error *e)
{
	int rc = waiter_check(w, result, e);
	if (rc != 0 || timeout_ms == 0)
		return rc < 0 ? -1 : 0;
	json_decref(*result);
	*result = NULL;
	struct waiter *held = malloc(sizeof(*held));
	if (!held)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	*held = *w;
	if (!rpc_defer(n->rpc, timeout_ms, on_waiter_event, held, e)) {
		free(held);
		return -1;
	}
	return RPC_DEFERRED;
}

static int m_waitfornewblock(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct waiter w = {.n = n, .after_height = chain_height(n->chain)};
	uint64_t timeout;
	if (uint_param(rpc_param(params, 0), "TIMEOUT_MS", WAIT_DEFAULT_MS, RPC_MAX_DEFER_MS, &timeout, e) <
		    0 ||
	    uint_param(rpc_param(params, 1), "AFTER_HEIGHT", w.after_height, INT64_MAX, &w.after_height, e) <
		    0)
		return -1;
	return wait_start(n, &w, timeout, result, e);
}

static int m_waitforjob(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct waiter w = {.n = n, .for_job = 1};
	json_t *state = rpc_param(params, 1);
	uint64_t timeout;
	if (parse_hash(rpc_param(params, 0), w.job_id) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "waitforjob takes a job id (64 hex digits)");
	unsigned s = 0;
	for (; json_is_string(state) && s < JOB_STATE_COUNT; s++)
		if (strcmp(json_string_value(state), compute_job_state_name(s)) == 0)
			break;
	if (!json_is_string(state) || s == JOB_STATE_COUNT)
		return rpc_fail(
			e, RPC_INVALID_PARAMS,
			"STATE must be one of open, assigned, committed, verified, paid, failed, refunded");
	w.state = s;
	if (uint_param(rpc_param(params, 2), "TIMEOUT_MS", WAIT_DEFAULT_MS, RPC_MAX_DEFER_MS, &timeout, e) <
	    0)
		return -1;
	return wait_start(n, &w, timeout, result, e);
}

static const struct rpc_method extra_methods[] = {
	{"getbestblockhash", m_getbestblockhash, "getbestblockhash - hash of the tip"},
	{"getblockheader", m_getblockheader,
	 "getblockheader HASH|HEIGHT [VERBOSE] - header as JSON, or its hex when VERBOSE is false"},
	{"getnetworkinfo", m_getnetworkinfo,
	 "getnetworkinfo - version, protocol, network, connections, local addresses, relay fee"},
	{"getconnectioncount", m_getconnectioncount, "getconnectioncount - connected peers"},
	{"uptime", m_uptime, "uptime - seconds since the node started"},
	{"validateaddress", m_validateaddress, "validateaddress ADDRESS - isvalid, network, and why not"},
	{"decoderawtransaction", m_decoderawtransaction,
	 "decoderawtransaction HEX - the transaction as JSON, without sending it"},
	{"estimatefee", m_estimatefee,
	 "estimatefee [TARGET_BLOCKS] [TX_BYTES] - fee for a transaction of TX_BYTES bytes (default: "
	 "a transfer's 182) to be included within TARGET_BLOCKS blocks, and the rate per 1000 bytes"},
	{"listtransactions", m_listtransactions,
	 "listtransactions ADDRESS [COUNT] [SKIP] - an address's transactions, newest first (-addrindex)"},
	{"waitfornewblock", m_waitfornewblock,
	 "waitfornewblock [TIMEOUT_MS] [AFTER_HEIGHT] - waits for a block above AFTER_HEIGHT (default: the "
	 "tip)"},
	{"waitforjob", m_waitforjob,
	 "waitforjob JOB_ID STATE [TIMEOUT_MS] - waits until the job reaches STATE or ends"},
};

void node_register_extra_rpc(struct node *n)
{
	rpc_register(n->rpc, extra_methods, sizeof(extra_methods) / sizeof(extra_methods[0]), n);
	if (!n->cfg.addrindex)
		return;
	char err[256];
	if (addrindex_build(n, err, sizeof(err)) < 0) {
		log_error("addrindex: %s; listtransactions is off until a restart builds it", err);
		return;
	}
	chain_set_batch_hook(n->chain, addrindex_put_block, n);
	n->addrindex_ready = 1;
}
