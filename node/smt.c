/* The compact sparse Merkle tree (see smt.h, docs/storage.md §1). In memory
 * it is a binary Patricia trie: only branching nodes exist, each naming the
 * bit where its subtree splits; the single-child stretches between them are
 * hashed on the fly against empty siblings. Nodes live in chunked pools
 * addressed by 32-bit references. Its hashes are core/smt_proof's, so the
 * tree and the verifier cannot disagree. Not for: persistence (node/state),
 * or verifying proofs (core/smt_proof). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "node/smt.h"

/* A reference is a pool index; leaves carry SMT_REF_LEAF, and SMT_REF_NIL is
 * the empty tree. So each pool holds fewer than 2^31 nodes. */
#define SMT_REF_NIL 0xFFFFFFFFu
#define SMT_REF_LEAF 0x80000000u
#define SMT_POOL_MAX 0x7FFFFFFFu
/* Nodes per pool chunk: chunks never move, so node pointers stay valid
 * while the pool grows. */
#define SMT_CHUNK_SHIFT 14
#define SMT_CHUNK_NODES (1u << SMT_CHUNK_SHIFT)

/* A branching node: every key below shares bits 0..bit-1 and both sides hold
 * at least one key. */
struct smt_inode {
	uint8_t hash[32];  /* subtree hash at the depth of its parent's bit + 1 (0 at the root) */
	uint32_t child[2]; /* child[0]: key bit `bit` is 0 */
	uint8_t bit;       /* the bit where the subtree splits */
	uint8_t dirty;     /* hash is stale: something below, or the parent, changed */
};

struct smt_leaf {
	uint8_t key[32];
	uint8_t value_hash[32];
	uint8_t hash[32]; /* H_leaf(key || value_hash), the same at any depth */
};

/* A free list threads through the first four bytes of freed elements. */
struct smt_pool {
	uint8_t **chunks;
	uint32_t nchunks;
	uint32_t used;      /* elements handed out from fresh chunk space */
	uint32_t free_head; /* SMT_REF_NIL when empty */
	uint32_t live;      /* elements in use */
	size_t elem_size;
};

struct smt {
	struct smt_pool inodes;
	struct smt_pool leaves;
	uint32_t root; /* SMT_REF_NIL, a leaf or an inode reference */
	size_t count;  /* leaves */
};

static const uint8_t smt_empty[32];

/* Index of the first bit where a and b differ, or -1 if equal. */
static int first_diff_bit(const uint8_t *a, const uint8_t *b)
{
	for (unsigned i = 0; i < 32; i++) {
		unsigned x = a[i] ^ b[i];
		if (x)
			return (int)(i * 8 + (unsigned)(__builtin_clz(x) - 24));
	}
	return -1;
}

/* Lifts h, the hash of the subtree at depth `from` on key's path, to depth
 * `to` <= from: every level in between has an empty sibling. */
static void lift(uint8_t h[32], const uint8_t *key, unsigned from, unsigned to)
{
	while (from > to) {
		from--;
		if (smt_key_bit(key, from))
			smt_hash_node(smt_empty, h, h);
		else
			smt_hash_node(h, smt_empty, h);
	}
}

static void pool_init(struct smt_pool *p, size_t elem_size)
{
	memset(p, 0, sizeof(*p));
	p->free_head = SMT_REF_NIL;
	p->elem_size = elem_size;
}

static void pool_free(struct smt_pool *p)
{
	for (uint32_t i = 0; i < p->nchunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
}

static inline void *pool_at(const struct smt_pool *p, uint32_t idx)
{
	return p->chunks[idx >> SMT_CHUNK_SHIFT] + (size_t)(idx & (SMT_CHUNK_NODES - 1)) * p->elem_size;
}

/* An index, or SMT_REF_NIL when out of memory or full. */
static uint32_t pool_alloc(struct smt_pool *p)
{
	uint32_t idx;
	if (p->free_head != SMT_REF_NIL) {
		idx = p->free_head;
		memcpy(&p->free_head, pool_at(p, idx), sizeof(uint32_t));
		p->live++;
		return idx;
	}
	if (p->used >= SMT_POOL_MAX)
		return SMT_REF_NIL;
	if ((p->used >> SMT_CHUNK_SHIFT) == p->nchunks) {
		uint8_t **chunks = realloc(p->chunks, (p->nchunks + 1) * sizeof(*chunks));
		if (!chunks)
			return SMT_REF_NIL;
		p->chunks = chunks;
		chunks[p->nchunks] = malloc(SMT_CHUNK_NODES * p->elem_size);
		if (!chunks[p->nchunks])
			return SMT_REF_NIL;
		p->nchunks++;
	}
	idx = p->used++;
	p->live++;
	return idx;
}

static void pool_release(struct smt_pool *p, uint32_t idx)
{
	memcpy(pool_at(p, idx), &p->free_head, sizeof(uint32_t));
	p->free_head = idx;
	p->live--;
}

static inline int is_leaf(uint32_t ref)
{
	return ref != SMT_REF_NIL && (ref & SMT_REF_LEAF);
}

static inline struct smt_inode *inode(const smt_t *t, uint32_t ref)
{
	return pool_at(&t->inodes, ref);
}

static inline struct smt_leaf *leaf(const smt_t *t, uint32_t ref)
{
	return pool_at(&t->leaves, ref & ~SMT_REF_LEAF);
}

static const uint8_t *ref_hash(const smt_t *t, uint32_t ref)
{
	if (ref == SMT_REF_NIL)
		return smt_empty;
	return is_leaf(ref) ? leaf(t, ref)->hash : inode(t, ref)->hash;
}

/* The key of some leaf under ref: it carries the subtree's common prefix. */
static const uint8_t *any_key(const smt_t *t, uint32_t ref)
{
	while (!is_leaf(ref))
		ref = inode(t, ref)->child[0];
	return leaf(t, ref)->key;
}

static void mark_dirty(const smt_t *t, uint32_t ref)
{
	if (ref != SMT_REF_NIL && !is_leaf(ref))
		inode(t, ref)->dirty = 1;
}

smt_t *smt_new(void)
{
	smt_t *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pool_init(&t->inodes, sizeof(struct smt_inode));
	pool_init(&t->leaves, sizeof(struct smt_leaf));
	t->root = SMT_REF_NIL;
	return t;
}

void smt_free(smt_t *t)
{
	if (!t)
		return;
	pool_free(&t->inodes);
	pool_free(&t->leaves);
	free(t);
}

size_t smt_count(const smt_t *t)
{
	return t->count;
}

size_t smt_memory(const smt_t *t)
{
	return sizeof(*t) + (size_t)t->inodes.nchunks * (SMT_CHUNK_NODES * t->inodes.elem_size + sizeof(void *)) +
	       (size_t)t->leaves.nchunks * (SMT_CHUNK_NODES * t->leaves.elem_size + sizeof(void *));
}

/* Follows key from the root to the leaf its path reaches (SMT_REF_NIL for an
 * empty tree), recording the slots passed; returns the number of slots. */
static unsigned descend(smt_t *t, const uint8_t key[32], uint32_t **slots)
{
	unsigned n = 0;
	uint32_t *slot = &t->root;
	for (;;) {
		slots[n++] = slot;
		if (*slot == SMT_REF_NIL || is_leaf(*slot))
			return n;
		struct smt_inode *in = inode(t, *slot);
		slot = &in->child[smt_key_bit(key, in->bit)];
	}
}

int smt_get(const smt_t *t, const uint8_t key[32], uint8_t value_hash[32])
{
	uint32_t ref = t->root;
	while (ref != SMT_REF_NIL && !is_leaf(ref)) {
		const struct smt_inode *in = inode(t, ref);
		ref = in->child[smt_key_bit(key, in->bit)];
	}
	if (ref == SMT_REF_NIL || memcmp(leaf(t, ref)->key, key, 32) != 0)
		return ASSAY_ENOTFOUND;
	memcpy(value_hash, leaf(t, ref)->value_hash, 32);
	return 0;
}

/* smt_update, and smt_replace when old is not NULL. */
static int update(smt_t *t, const uint8_t key[32], const uint8_t value_hash[32], uint8_t old[32],
		  int *had_old)
{
	uint32_t *slots[SMT_MAX_DEPTH + 1];
	unsigned n = descend(t, key, slots);
	uint32_t found = *slots[n - 1];
	int diff = -1;

	if (had_old)
		*had_old = 0;
	if (found != SMT_REF_NIL) {
		diff = first_diff_bit(key, leaf(t, found)->key);
		if (diff < 0) {
			struct smt_leaf *lf = leaf(t, found);
			if (had_old) {
				memcpy(old, lf->value_hash, 32);
				*had_old = 1;
			}
			if (memcmp(lf->value_hash, value_hash, 32) == 0)
				return 0;
			memcpy(lf->value_hash, value_hash, 32);
			smt_hash_leaf(lf->key, lf->value_hash, lf->hash);
			for (unsigned i = 0; i + 1 < n; i++)
				mark_dirty(t, *slots[i]);
			return 0;
		}
	}

	uint32_t li = pool_alloc(&t->leaves);
	if (li == SMT_REF_NIL)
		return t->leaves.used >= SMT_POOL_MAX ? ASSAY_EFULL : ASSAY_ENOMEM;
	uint32_t lref = li | SMT_REF_LEAF;
	struct smt_leaf *lf = leaf(t, lref);
	memcpy(lf->key, key, 32);
	memcpy(lf->value_hash, value_hash, 32);
	smt_hash_leaf(key, value_hash, lf->hash);

	if (found == SMT_REF_NIL) {
		t->root = lref;
		t->count++;
		return 0;
	}

	uint32_t ni = pool_alloc(&t->inodes);
	if (ni == SMT_REF_NIL) {
		pool_release(&t->leaves, li);
		return t->inodes.used >= SMT_POOL_MAX ? ASSAY_EFULL : ASSAY_ENOMEM;
	}
	/* The new branch goes above the first node on the path that splits
	 * deeper than diff; nodes above it gain a key and go stale. */
	unsigned at = 0;
	while (!is_leaf(*slots[at]) && inode(t, *slots[at])->bit < diff) {
		inode(t, *slots[at])->dirty = 1;
		at++;
	}
	uint32_t moved = *slots[at];
	struct smt_inode *in = inode(t, ni);
	unsigned side = smt_key_bit(key, (unsigned)diff);
	in->bit = (uint8_t)diff;
	in->child[side] = lref;
	in->child[!side] = moved;
	in->dirty = 1;
	mark_dirty(t, moved); /* it now hangs one level below diff */
	*slots[at] = ni;
	t->count++;
	return 0;
}

int smt_update(smt_t *t, const uint8_t key[32], const uint8_t value_hash[32])
{
	return update(t, key, value_hash, NULL, NULL);
}

int smt_replace(smt_t *t, const uint8_t key[32], const uint8_t value_hash[32], uint8_t old_hash[32],
		int *had_old)
{
	return update(t, key, value_hash, old_hash, had_old);
}

int smt_remove(smt_t *t, const uint8_t key[32])
{
	uint32_t *slots[SMT_MAX_DEPTH + 1];
	unsigned n = descend(t, key, slots);
	uint32_t found = *slots[n - 1];

	if (found == SMT_REF_NIL || memcmp(leaf(t, found)->key, key, 32) != 0)
		return ASSAY_ENOTFOUND;
	pool_release(&t->leaves, found & ~SMT_REF_LEAF);
	t->count--;
	if (n == 1) {
		t->root = SMT_REF_NIL;
		return 0;
	}
	/* The parent branch loses a side: its other child takes its slot. */
	uint32_t parent = *slots[n - 2];
	struct smt_inode *pin = inode(t, parent);
	uint32_t sibling = pin->child[pin->child[0] == found ? 1 : 0];
	*slots[n - 2] = sibling;
	pool_release(&t->inodes, parent);
	mark_dirty(t, sibling);
	for (unsigned i = 0; i + 2 < n; i++)
		mark_dirty(t, *slots[i]);
	return 0;
}

/* Recomputes a stale branch whose subtree sits at depth `top`. Recursion
 * follows stale nodes only and is at most as deep as the trie (<= 256). */
static void rehash(smt_t *t, uint32_t ref, unsigned top)
{
	struct smt_inode *in = inode(t, ref);
	for (unsigned side = 0; side < 2; side++) {
		uint32_t c = in->child[side];
		if (!is_leaf(c) && inode(t, c)->dirty)
			rehash(t, c, in->bit + 1u);
	}
	smt_hash_node(ref_hash(t, in->child[0]), ref_hash(t, in->child[1]), in->hash);
	if (in->bit > top)
		lift(in->hash, any_key(t, ref), in->bit, top);
	in->dirty = 0;
}

void smt_root(smt_t *t, uint8_t root[32])
{
	if (t->root != SMT_REF_NIL && !is_leaf(t->root) && inode(t, t->root)->dirty)
		rehash(t, t->root, 0);
	memcpy(root, ref_hash(t, t->root), 32);
}

int smt_prove(smt_t *t, const uint8_t key[32], struct smt_proof *p)
{
	uint8_t root[32];
	smt_root(t, root);
	memset(p, 0, sizeof(*p));

	uint32_t ref = t->root;
	unsigned depth = 0;
	while (ref != SMT_REF_NIL && !is_leaf(ref)) {
		const struct smt_inode *in = inode(t, ref);
		const uint8_t *prefix = any_key(t, ref);
		for (unsigned l = depth; l < in->bit; l++) {
			if (smt_key_bit(key, l) == smt_key_bit(prefix, l))
				continue; /* sibling at l is empty: already zero */
			/* The key leaves the branch's prefix here: its side
			 * is empty, the sibling is the branch seen from l + 1. */
			smt_hash_node(ref_hash(t, in->child[0]), ref_hash(t, in->child[1]), p->siblings[l]);
			lift(p->siblings[l], prefix, in->bit, l + 1);
			p->nsiblings = l + 1;
			return 0;
		}
		unsigned side = smt_key_bit(key, in->bit);
		memcpy(p->siblings[in->bit], ref_hash(t, in->child[!side]), 32);
		depth = in->bit + 1u;
		ref = in->child[side];
	}
	p->nsiblings = depth;
	if (ref != SMT_REF_NIL) {
		p->has_leaf = 1;
		memcpy(p->leaf_key, leaf(t, ref)->key, 32);
		memcpy(p->leaf_value_hash, leaf(t, ref)->value_hash, 32);
	}
	return 0;
}
