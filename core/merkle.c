/* RFC 6962 Merkle trees (see merkle.h). Recursive on the split point k, the
 * largest power of two below n; depth is bounded by log2(n) <= 64. */
#include <assert.h>
#include <string.h>

#include "core/error.h"
#include "core/merkle.h"

void merkle_leaf_hash(const void *data, size_t n, uint8_t out[HASH_LEN])
{
	static const uint8_t zero = 0x00;
	sha256_2(&zero, 1, data, n, out);
}

void merkle_node_hash(const uint8_t l[HASH_LEN], const uint8_t r[HASH_LEN], uint8_t out[HASH_LEN])
{
	uint8_t in[1 + 2 * HASH_LEN];
	in[0] = 0x01;
	memcpy(in + 1, l, HASH_LEN);
	memcpy(in + 1 + HASH_LEN, r, HASH_LEN);
	sha256(in, sizeof(in), out);
}

void merkle_node_hash2(const uint8_t l0[HASH_LEN], const uint8_t r0[HASH_LEN], const uint8_t l1[HASH_LEN],
		       const uint8_t r1[HASH_LEN], uint8_t out0[HASH_LEN], uint8_t out1[HASH_LEN])
{
	uint8_t in[2][1 + 2 * HASH_LEN];
	in[0][0] = in[1][0] = 0x01;
	memcpy(in[0] + 1, l0, HASH_LEN);
	memcpy(in[0] + 1 + HASH_LEN, r0, HASH_LEN);
	memcpy(in[1] + 1, l1, HASH_LEN);
	memcpy(in[1] + 1 + HASH_LEN, r1, HASH_LEN);
	hash_tagged_x2(NULL, in[0], in[1], sizeof(in[0]), out0, out1);
}

void merkle_level_up(const uint8_t (*below)[HASH_LEN], size_t n, uint8_t (*up)[HASH_LEN])
{
	size_t k = 0;
	for (; 4 * k + 3 < n; k++) /* up[2k], up[2k + 1] read nothing below 4k */
		merkle_node_hash2(below[4 * k], below[4 * k + 1], below[4 * k + 2], below[4 * k + 3], up[2 * k],
				  up[2 * k + 1]);
	for (k *= 2; 2 * k + 1 < n; k++)
		merkle_node_hash(below[2 * k], below[2 * k + 1], up[k]);
	if (2 * k < n)
		memmove(up[k], below[2 * k], HASH_LEN);
}

static size_t split_point(size_t n)
{
	assert(n >= 2); /* callers stop at one leaf */
	size_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	assert(k < n && n <= 2 * k); /* both halves non-empty: the recursion ends */
	return k;
}

#define LEVEL_ROOT_MAX 512 /* a subtree of at most this many leaves is hashed level by level */

static void root_of(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t out[HASH_LEN])
{
	if (n == 1) {
		memcpy(out, leaves[0], HASH_LEN);
		return;
	}
	if (n <= LEVEL_ROOT_MAX) { /* bottom-up, two nodes at a time: the same tree */
		uint8_t level[LEVEL_ROOT_MAX / 2][HASH_LEN];
		merkle_level_up(leaves, n, level);
		for (n = (n + 1) / 2; n > 1; n = (n + 1) / 2)
			merkle_level_up((const uint8_t(*)[HASH_LEN])level, n, level);
		memcpy(out, level[0], HASH_LEN);
		return;
	}
	size_t k = split_point(n);
	uint8_t l[HASH_LEN], r[HASH_LEN];
	root_of(leaves, k, l);
	root_of(leaves + k, n - k, r);
	merkle_node_hash(l, r, out);
}

void merkle_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t root[HASH_LEN])
{
	if (n == 0) {
		sha256("", 0, root);
		return;
	}
	root_of(leaves, n, root);
}

int merkle_proof(const uint8_t (*leaves)[HASH_LEN], size_t n, size_t i,
		 uint8_t (*path)[HASH_LEN], size_t *depth)
{
	if (i >= n)
		return ASSAY_EARG;
	/* Walk down recording siblings top-down, then reverse to bottom-up. */
	size_t d = 0, lo = 0, len = n;
	while (len > 1) {
		size_t k = split_point(len);
		if (i - lo < k) {
			root_of(leaves + lo + k, len - k, path[d]);
			len = k;
		} else {
			root_of(leaves + lo, k, path[d]);
			lo += k;
			len -= k;
		}
		d++;
	}
	for (size_t a = 0, b = d ? d - 1 : 0; a < b; a++, b--) {
		uint8_t t[HASH_LEN];
		memcpy(t, path[a], HASH_LEN);
		memcpy(path[a], path[b], HASH_LEN);
		memcpy(path[b], t, HASH_LEN);
	}
	*depth = d;
	return 0;
}

int merkle_verify(const uint8_t leaf[HASH_LEN], size_t i, size_t n,
		  const uint8_t (*path)[HASH_LEN], size_t depth, const uint8_t root[HASH_LEN])
{
	/* RFC 9162 §2.1.3.2 verification, iterative. */
	if (i >= n || depth > MERKLE_MAX_DEPTH)
		return ASSAY_ESIG;
	size_t fn = i, sn = n - 1;
	uint8_t r[HASH_LEN];
	memcpy(r, leaf, HASH_LEN);
	for (size_t p = 0; p < depth; p++) {
		if (sn == 0)
			return ASSAY_ESIG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(path[p], r, r);
			if (!(fn & 1)) {
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			merkle_node_hash(r, path[p], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return (sn == 0 && memcmp(r, root, HASH_LEN) == 0) ? 0 : ASSAY_ESIG;
}

/* One level up a path of a perfect tree: the sibling goes left where the
 * node's index has bit `level` set, as merkle_verify orients it there. */
static void climb(const uint8_t node[HASH_LEN], size_t index, size_t level, const uint8_t sibling[HASH_LEN],
		  uint8_t up[HASH_LEN])
{
	if (index >> level & 1)
		merkle_node_hash(sibling, node, up);
	else
		merkle_node_hash(node, sibling, up);
}

void merkle_verify_batch(const struct merkle_claim *claims, size_t count, size_t n, const uint8_t root[HASH_LEN],
			 uint8_t *ok)
{
	size_t d = 0;
	while (d < MERKLE_MAX_DEPTH && ((size_t)1 << d) < n)
		d++;
	if (n == 0 || (n & (n - 1)) != 0 || count > MERKLE_BATCH_MAX) {
		/* RFC 6962's unbalanced trees orient some levels by their right
		 * edge: no sharing there */
		for (size_t j = 0; j < count; j++)
			ok[j] = merkle_verify(claims[j].leaf, claims[j].index, n, claims[j].path, claims[j].depth,
					      root) == 0;
		return;
	}
	size_t order[MERKLE_BATCH_MAX];
	for (size_t j = 0; j < count; j++) { /* insertion sort by index: k is small */
		size_t at = j;
		while (at > 0 && claims[order[at - 1]].index > claims[j].index) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = j;
	}
	/* nodes[L]: the last accepted path's node at level L (0 the leaf, d the root) */
	uint8_t nodes[MERKLE_MAX_DEPTH + 1][HASH_LEN], cur[MERKLE_MAX_DEPTH + 1][HASH_LEN];
	const struct merkle_claim *last = NULL;
	for (size_t o = 0; o < count; o++) {
		const struct merkle_claim *c = &claims[order[o]];
		if (c->index >= n || c->depth != d) { /* merkle_verify rejects these */
			ok[order[o]] = 0;
			continue;
		}
		size_t meet = d, level = 0;
		if (last) {
			meet = 0;
			for (size_t x = c->index ^ last->index; x; x >>= 1)
				meet++;
		}
		memcpy(cur[0], c->leaf, HASH_LEN);
		for (; level < meet; level++)
			climb(cur[level], c->index, level, c->path[level], cur[level + 1]);
		int accepted;
		if (last && memcmp(cur[meet], nodes[meet], HASH_LEN) == 0 &&
		    memcmp(c->path + meet, last->path + meet, (d - meet) * HASH_LEN) == 0) {
			accepted = 1; /* the levels above meet hash as last's did */
		} else {
			for (; level < d; level++)
				climb(cur[level], c->index, level, c->path[level], cur[level + 1]);
			accepted = memcmp(cur[d], root, HASH_LEN) == 0;
		}
		ok[order[o]] = (uint8_t)accepted;
		if (accepted) {
			memcpy(nodes, cur, (level + 1) * HASH_LEN);
			last = c;
		}
	}
}
