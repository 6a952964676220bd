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

/* A claim of a batch on its way up a perfect tree: its nodes from the leaf
 * (level 0) to level `level`. A node's sibling goes left where the node's
 * index has bit `level` set, as merkle_verify orients it there. */
struct climber {
	const struct merkle_claim *c;
	size_t level;
	uint8_t cur[MERKLE_MAX_DEPTH + 1][HASH_LEN];
};

static void climber_start(struct climber *k, const struct merkle_claim *c)
{
	k->c = c;
	k->level = 0;
	memcpy(k->cur[0], c->leaf, HASH_LEN);
}

/* The two inputs of k's next node, in order. */
static void next_pair(const struct climber *k, const uint8_t **l, const uint8_t **r)
{
	const uint8_t *node = k->cur[k->level], *sib = k->c->path[k->level];
	int right = k->c->index >> k->level & 1;
	*l = right ? sib : node;
	*r = right ? node : sib;
}

static void climb_to(struct climber *k, size_t to)
{
	for (const uint8_t *l, *r; k->level < to; k->level++) {
		next_pair(k, &l, &r);
		merkle_node_hash(l, r, k->cur[k->level + 1]);
	}
}

/* a to level ta and b to level tb, two nodes at a time while both climb. */
static void climb_two(struct climber *a, size_t ta, struct climber *b, size_t tb)
{
	for (const uint8_t *l0, *r0, *l1, *r1; a->level < ta && b->level < tb; a->level++, b->level++) {
		next_pair(a, &l0, &r0);
		next_pair(b, &l1, &r1);
		merkle_node_hash2(l0, r0, l1, r1, a->cur[a->level + 1], b->cur[b->level + 1]);
	}
	climb_to(a, ta);
	climb_to(b, tb);
}

/* The level at which the paths of leaves i and j meet: the bit length of
 * i ^ j (0 for i == j). */
static size_t meet_level(size_t i, size_t j)
{
	size_t m = 0;
	for (size_t x = i ^ j; x; x >>= 1)
		m++;
	return m;
}

/* The state of a batch: the last accepted claim and its nodes. */
struct batch {
	size_t depth;
	const uint8_t *root;
	const struct merkle_claim *last;
	uint8_t nodes[MERKLE_MAX_DEPTH + 1][HASH_LEN]; /* last's node at each level, 0 the leaf, depth the root */
};

/* The verdict on k's claim, k having climbed to where it meets the last
 * accepted claim (the root if none): accepted there if its node is the
 * last's and its siblings above are the last's (the levels above hash as
 * the last's did); otherwise it climbs to the root with its own path. */
static int settle(struct batch *bt, struct climber *k)
{
	size_t meet = k->level, d = bt->depth;
	int accepted;
	if (bt->last && memcmp(k->cur[meet], bt->nodes[meet], HASH_LEN) == 0 &&
	    memcmp(k->c->path + meet, bt->last->path + meet, (d - meet) * HASH_LEN) == 0) {
		accepted = 1;
	} else {
		climb_to(k, d);
		accepted = memcmp(k->cur[d], bt->root, HASH_LEN) == 0;
	}
	if (accepted) {
		memcpy(bt->nodes, k->cur, (k->level + 1) * HASH_LEN);
		bt->last = k->c;
	}
	return accepted;
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
	size_t order[MERKLE_BATCH_MAX], m = 0;
	for (size_t j = 0; j < count; j++) {
		ok[j] = 0;
		if (claims[j].index >= n || claims[j].depth != d) /* merkle_verify rejects these */
			continue;
		size_t at = m++; /* insertion sort by index: k is small */
		while (at > 0 && claims[order[at - 1]].index > claims[j].index) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = j;
	}
	/* Claims two at a time: each pair's lower levels are hashed side by
	 * side, taking the first as accepted; where it is not, the second
	 * climbs on to where it meets the last claim that was (sorted, that
	 * is never lower). */
	struct batch bt = {.depth = d, .root = root, .last = NULL};
	struct climber k[2];
	for (size_t o = 0; o < m; o += 2) {
		const struct merkle_claim *a = &claims[order[o]], *b = o + 1 < m ? &claims[order[o + 1]] : NULL;
		size_t ta = bt.last ? meet_level(a->index, bt.last->index) : d;
		climber_start(&k[0], a);
		if (b) {
			climber_start(&k[1], b);
			climb_two(&k[0], ta, &k[1], meet_level(b->index, a->index));
		} else {
			climb_to(&k[0], ta);
		}
		ok[order[o]] = (uint8_t)settle(&bt, &k[0]);
		if (b) {
			climb_to(&k[1], bt.last ? meet_level(b->index, bt.last->index) : d);
			ok[order[o + 1]] = (uint8_t)settle(&bt, &k[1]);
		}
	}
}
