/* The state tree's hashes, proof codec and proof verifier (see smt_proof.h,
 * docs/storage.md §1-2). Everything here is pure and linked by the node, the
 * CLI and tests alike, so there is one definition of each hash.
 * Not for: the tree itself (node/smt.c). */
#include <string.h>

#include "core/error.h"
#include "core/sha256.h"
#include "core/smt_proof.h"

static const uint8_t smt_empty[32];

void smt_hash_leaf(const uint8_t key[32], const uint8_t value_hash[32], uint8_t out[32])
{
	hash_tagged2(SMT_TAG_LEAF, key, 32, value_hash, 32, out);
}

void smt_hash_node(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
	hash_tagged2(SMT_TAG_NODE, left, 32, right, 32, out);
}

void smt_value_hash(const uint8_t *value, size_t len, uint8_t out[32])
{
	sha256(value, len, out);
}

/* Depth of the first bit where a and b differ, or -1 if they are equal. */
static int first_diff(const uint8_t a[32], const uint8_t b[32])
{
	for (unsigned i = 0; i < 256; i++)
		if (smt_key_bit(a, i) != smt_key_bit(b, i))
			return (int)i;
	return -1;
}

int smt_verify(const uint8_t root[32], const uint8_t key[32], const uint8_t *value_hash,
	       const struct smt_proof *p)
{
	unsigned depth = p->nsiblings;
	uint8_t h[32];

	if (depth > SMT_MAX_DEPTH)
		return ASSAY_ESIG;
	if (value_hash) {
		if (!p->has_leaf || memcmp(p->leaf_key, key, 32) != 0 ||
		    memcmp(p->leaf_value_hash, value_hash, 32) != 0)
			return ASSAY_ESIG;
	} else if (p->has_leaf) {
		/* Another key's leaf proves absence only if key's path
		 * leads to it: they share the first `depth` bits. */
		int diff = first_diff(p->leaf_key, key);
		if (diff < 0 || (unsigned)diff < depth)
			return ASSAY_ESIG;
	}
	/* Compactness: a leaf (or an empty subtree) at depth d > 0 has a
	 * non-empty sibling, else it would sit at depth d - 1. */
	if (depth > 0 && memcmp(p->siblings[depth - 1], smt_empty, 32) == 0)
		return ASSAY_ESIG;

	if (p->has_leaf)
		smt_hash_leaf(p->leaf_key, p->leaf_value_hash, h);
	else
		memset(h, 0, sizeof(h));
	while (depth > 0) {
		depth--;
		if (smt_key_bit(key, depth))
			smt_hash_node(p->siblings[depth], h, h);
		else
			smt_hash_node(h, p->siblings[depth], h);
	}
	return memcmp(h, root, 32) == 0 ? 0 : ASSAY_ESIG;
}

int smt_verify_value(const uint8_t root[32], const uint8_t key[32], const uint8_t *value, size_t len,
		     const struct smt_proof *p)
{
	uint8_t value_hash[32];
	if (!value)
		return smt_verify(root, key, NULL, p);
	smt_value_hash(value, len, value_hash);
	return smt_verify(root, key, value_hash, p);
}

unsigned smt_proof_bitmap(const struct smt_proof *p, uint8_t out[SMT_MAX_DEPTH / 8])
{
	unsigned n = p->nsiblings, present = 0;
	if (n > SMT_MAX_DEPTH)
		n = SMT_MAX_DEPTH;
	memset(out, 0, SMT_MAX_DEPTH / 8);
	for (unsigned i = 0; i < n; i++) {
		if (memcmp(p->siblings[i], smt_empty, 32) != 0) {
			out[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
			present++;
		}
	}
	return present;
}

/* docs/storage.md §2: u8 has_leaf, varint nsiblings, a bitmap (MSB first)
 * of the non-empty siblings, those siblings, then the leaf if any. */
void smt_proof_encode(const struct smt_proof *p, struct buf *b)
{
	uint8_t bitmap[SMT_MAX_DEPTH / 8];
	unsigned n = p->nsiblings;
	if (n > SMT_MAX_DEPTH)
		n = SMT_MAX_DEPTH; /* a malformed struct still encodes within the limit */

	smt_proof_bitmap(p, bitmap);
	buf_put_u8(b, p->has_leaf ? 1 : 0);
	buf_put_varint(b, n);
	buf_put(b, bitmap, (n + 7) / 8);
	for (unsigned i = 0; i < n; i++)
		if (smt_key_bit(bitmap, i))
			buf_put(b, p->siblings[i], 32);
	if (p->has_leaf) {
		buf_put(b, p->leaf_key, 32);
		buf_put(b, p->leaf_value_hash, 32);
	}
}

int smt_proof_decode(struct smt_proof *p, const uint8_t *in, size_t n)
{
	struct reader r;
	rd_init(&r, in, n);
	memset(p, 0, sizeof(*p));

	uint8_t has_leaf = rd_u8(&r);
	unsigned count = (unsigned)rd_count(&r, SMT_MAX_DEPTH);
	if (r.err)
		return r.err;
	if (has_leaf > 1)
		return ASSAY_EDECODE;
	const uint8_t *bitmap = rd_fixed(&r, (count + 7) / 8);
	if (!bitmap)
		return r.err;
	/* Padding bits after the last sibling must be zero. */
	if ((count & 7) && (bitmap[count >> 3] & (0xFFu >> (count & 7))))
		return ASSAY_EDECODE;
	for (unsigned i = 0; i < count; i++) {
		if (!smt_key_bit(bitmap, i))
			continue;
		rd_copy(&r, p->siblings[i], 32);
		/* A non-empty sibling written as zeros has two encodings. */
		if (!r.err && memcmp(p->siblings[i], smt_empty, 32) == 0) {
			memset(p, 0, sizeof(*p));
			return ASSAY_EDECODE;
		}
	}
	if (has_leaf) {
		rd_copy(&r, p->leaf_key, 32);
		rd_copy(&r, p->leaf_value_hash, 32);
	}
	int err = rd_finish(&r);
	if (err) {
		memset(p, 0, sizeof(*p));
		return err;
	}
	p->nsiblings = count;
	p->has_leaf = has_leaf;
	return 0;
}
