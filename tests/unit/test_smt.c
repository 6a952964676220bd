/* Unit tests of the compact sparse Merkle tree (node/smt.h): roots against a
 * naive model that rebuilds the root from the sorted key list by the
 * definition in docs/storage.md §1, and the proofs the tree builds (they
 * verify, tampered ones do not, the codec round-trips them).
 * Not for: the store or state layers, or hand-made proofs the tree cannot
 * produce (tests/unit/test_smt_proof.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "node/smt.h"
#include "tests/unit/test.h"

/* A deterministic generator, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
	return test_xorshift(&rng_state);
}
static void rng_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

static unsigned bit_of(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

static void from_hex(const char *hex, uint8_t out[32])
{
	CHECK(hex_decode(hex, out, 32) == 32);
}

/* ---- the naive model: a sorted array, root by the recursive definition ---- */

struct entry {
	uint8_t key[32];
	uint8_t value_hash[32];
};

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Root of entries[0..n) (sorted, sharing the first `depth` bits). */
static void model_root_at(const struct entry *e, size_t n, unsigned depth, uint8_t out[32])
{
	if (n == 0) {
		memset(out, 0, 32);
		return;
	}
	if (n == 1) {
		smt_hash_leaf(e[0].key, e[0].value_hash, out);
		return;
	}
	size_t split = 0;
	while (split < n && !bit_of(e[split].key, depth))
		split++;
	uint8_t l[32], r[32];
	model_root_at(e, split, depth + 1, l);
	model_root_at(e + split, n - split, depth + 1, r);
	smt_hash_node(l, r, out);
}

static void model_root(struct entry *e, size_t n, uint8_t out[32])
{
	qsort(e, n, sizeof(*e), entry_cmp);
	model_root_at(e, n, 0, out);
}

/* ---- fixed small trees, computed by hand from the hash definitions ---- */

static void test_empty_and_small(void)
{
	smt_t *t = smt_new();
	uint8_t root[32], zero[32] = {0}, a[32] = {0}, b[32] = {0}, va[32], vb[32];
	uint8_t la[32], lb[32], h[32], got[32];
	CHECK(t != NULL);
	if (!t)
		return;
	smt_root(t, root);
	CHECK_EQ_MEM(root, zero, 32);
	CHECK(smt_count(t) == 0);
	CHECK(smt_get(t, a, got) == ASSAY_ENOTFOUND);
	CHECK(smt_remove(t, a) == ASSAY_ENOTFOUND);

	/* One key: the root is its leaf hash, whatever the key. */
	a[0] = 0x80;
	memset(va, 0x11, 32);
	CHECK(smt_update(t, a, va) == 0);
	smt_root(t, root);
	smt_hash_leaf(a, va, la);
	CHECK_EQ_MEM(root, la, 32);
	CHECK(smt_get(t, a, got) == 0);
	CHECK_EQ_MEM(got, va, 32);

	/* b = 0x00...: differs from a at bit 0, so b goes left. */
	memset(vb, 0x22, 32);
	CHECK(smt_update(t, b, vb) == 0);
	smt_hash_leaf(b, vb, lb);
	smt_hash_node(lb, la, h);
	smt_root(t, root);
	CHECK_EQ_MEM(root, h, 32);
	CHECK(smt_count(t) == 2);

	/* Move a to differ from b only at bit 5: five empty-sibling levels. */
	CHECK(smt_remove(t, a) == 0);
	smt_root(t, root);
	CHECK_EQ_MEM(root, lb, 32);
	a[0] = 0x04; /* bits 0..4 zero, bit 5 one */
	CHECK(smt_update(t, a, va) == 0);
	smt_hash_leaf(a, va, la);
	smt_hash_node(lb, la, h);
	for (int i = 0; i < 5; i++)
		smt_hash_node(h, zero, h);
	smt_root(t, root);
	CHECK_EQ_MEM(root, h, 32);

	/* Keys equal but for the very last bit: a 255-level chain. */
	smt_t *deep = smt_new();
	uint8_t k1[32], k2[32];
	memset(k1, 0xA5, 32);
	memcpy(k2, k1, 32);
	k2[31] ^= 1;
	CHECK(smt_update(deep, k1, va) == 0);
	CHECK(smt_update(deep, k2, vb) == 0);
	struct entry e[2];
	memcpy(e[0].key, k1, 32);
	memcpy(e[0].value_hash, va, 32);
	memcpy(e[1].key, k2, 32);
	memcpy(e[1].value_hash, vb, 32);
	model_root(e, 2, h);
	smt_root(deep, root);
	CHECK_EQ_MEM(root, h, 32);
	struct smt_proof p;
	CHECK(smt_prove(deep, k2, &p) == 0);
	CHECK(p.nsiblings == 256 && p.has_leaf);
	CHECK(smt_verify(root, k2, vb, &p) == 0);
	smt_free(deep);
	smt_free(t);
}

/* The worked example of docs/storage.md §1; the hex was checked there with an
 * independent implementation (a few lines of Python hashlib). */
#define SMT_EXAMPLE_ROOT "f614e3f96c43a399986d967e68a981765b5f702001835f5e9dc37c166f0797ab"
#define SMT_EXAMPLE_N01 "d7e9e855222597093dc3c0e44e38049479b992a115103ee405bbcae2bcc1ca0a"
#define SMT_EXAMPLE_ROOT2 "795cb48ff9a5d77d78e403738d7d02f6a8cc0b738d7f2db2007b71eff5e57467"
static void test_worked_example(void)
{
	smt_t *t = smt_new();
	uint8_t k[3][32] = {{0}}, v[3][32], root[32], want[32];
	k[0][0] = 0x00; /* 0000... */
	k[1][0] = 0x40; /* 0100... */
	k[2][0] = 0x80; /* 1000... */
	for (int i = 0; i < 3; i++) {
		memset(v[i], i + 1, 32);
		CHECK(smt_update(t, k[i], v[i]) == 0);
	}
	smt_root(t, root);
	from_hex(SMT_EXAMPLE_ROOT, want);
	CHECK_EQ_MEM(root, want, 32);
	/* k2's proof encodes as 01 01 80 || n01 || k2 || v2 (99 bytes). */
	struct smt_proof p;
	struct buf b;
	uint8_t n01[32];
	CHECK(smt_prove(t, k[2], &p) == 0);
	buf_init(&b);
	smt_proof_encode(&p, &b);
	from_hex(SMT_EXAMPLE_N01, n01);
	CHECK(b.len == 99);
	if (b.len == 99) {
		CHECK(b.data[0] == 1 && b.data[1] == 1 && b.data[2] == 0x80);
		CHECK_EQ_MEM(b.data + 3, n01, 32);
		CHECK_EQ_MEM(b.data + 35, k[2], 32);
		CHECK_EQ_MEM(b.data + 67, v[2], 32);
	}
	buf_free(&b);
	/* Without k2 the pair sits one level down, beside an empty subtree. */
	CHECK(smt_remove(t, k[2]) == 0);
	smt_root(t, root);
	from_hex(SMT_EXAMPLE_ROOT2, want);
	CHECK_EQ_MEM(root, want, 32);
	smt_free(t);
}

/* ---- random operations against the model ---- */

#define POOL_KEYS 300
#define RANDOM_OPS 6000

/* Keys that share long prefixes: each copies a base and randomises the bits
 * from a random position on, so chains of every length occur. */
static void make_pool(uint8_t pool[POOL_KEYS][32])
{
	uint8_t base[32];
	rng_bytes(base, 32);
	for (int i = 0; i < POOL_KEYS; i++) {
		unsigned from = (unsigned)(rng() % 257);
		if (i % 4 == 0)
			from = 0; /* some keys fully random */
		memcpy(pool[i], base, 32);
		for (unsigned b = from; b < 256; b++) {
			uint8_t mask = (uint8_t)(0x80u >> (b % 8));
			if (rng() & 1)
				pool[i][b / 8] ^= mask;
		}
	}
}

static int model_find(const struct entry *m, size_t n, const uint8_t *key)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(m[i].key, key, 32) == 0)
			return (int)i;
	return -1;
}

static int proof_fields_equal(const struct smt_proof *a, const struct smt_proof *b)
{
	return a->nsiblings == b->nsiblings && a->has_leaf == b->has_leaf &&
	       memcmp(a->siblings, b->siblings, sizeof(a->siblings)) == 0 &&
	       memcmp(a->leaf_key, b->leaf_key, 32) == 0 &&
	       memcmp(a->leaf_value_hash, b->leaf_value_hash, 32) == 0;
}

/* Proves one key, checks the proof holds exactly for what the model says,
 * and that tampering with any field, or another root, breaks it. */
static void check_proof(smt_t *t, const uint8_t *key, const uint8_t *present_vh,
			const uint8_t root[32], const uint8_t other_root[32])
{
	struct smt_proof p, q;
	uint8_t wrong_vh[32];
	CHECK(smt_prove(t, key, &p) == 0);
	CHECK(smt_verify(root, key, present_vh, &p) == 0);
	if (present_vh) {
		CHECK(smt_verify(root, key, NULL, &p) == ASSAY_ESIG);
		memcpy(wrong_vh, present_vh, 32);
		wrong_vh[7] ^= 0x10;
		CHECK(smt_verify(root, key, wrong_vh, &p) == ASSAY_ESIG);
	} else {
		memset(wrong_vh, 0x33, 32);
		CHECK(smt_verify(root, key, wrong_vh, &p) == ASSAY_ESIG);
	}
	if (memcmp(root, other_root, 32) != 0)
		CHECK(smt_verify(other_root, key, present_vh, &p) == ASSAY_ESIG);

	/* Each sibling, flipped. */
	for (uint32_t i = 0; i < p.nsiblings; i++) {
		q = p;
		q.siblings[i][rng() % 32] ^= (uint8_t)(1u << (rng() % 8));
		CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
	}
	/* A sibling count that does not match where the path ends. */
	if (p.nsiblings < SMT_MAX_DEPTH) {
		q = p;
		q.nsiblings++;
		CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
		memset(q.siblings[p.nsiblings], 0x5A, 32); /* even with a non-empty extra sibling */
		CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
	}
	if (p.nsiblings > 0) {
		q = p;
		q.nsiblings--;
		CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
	}
	q = p;
	q.nsiblings = SMT_MAX_DEPTH + 1;
	CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
	q = p;
	q.has_leaf = !p.has_leaf;
	CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
	if (p.has_leaf) {
		q = p;
		q.leaf_key[rng() % 32] ^= (uint8_t)(1u << (rng() % 8));
		CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
		q = p;
		q.leaf_value_hash[rng() % 32] ^= (uint8_t)(1u << (rng() % 8));
		CHECK(smt_verify(root, key, present_vh, &q) == ASSAY_ESIG);
	}

	/* Codec round trip, bit for bit. */
	struct buf b;
	buf_init(&b);
	smt_proof_encode(&p, &b);
	CHECK(!b.oom);
	CHECK(smt_proof_decode(&q, b.data, b.len) == 0);
	CHECK(proof_fields_equal(&p, &q));
	struct buf b2;
	buf_init(&b2);
	smt_proof_encode(&q, &b2);
	CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
	buf_free(&b2);
	buf_free(&b);
}

static void test_random_against_model(void)
{
	static uint8_t pool[POOL_KEYS][32];
	static struct entry model[POOL_KEYS], sorted[POOL_KEYS];
	size_t n = 0;
	uint8_t root[32], want[32], prev_root[32] = {0}, vh[32];
	smt_t *t = smt_new();
	int mismatches = 0, proofs = 0;

	make_pool(pool);
	for (int op = 0; op < RANDOM_OPS; op++) {
		const uint8_t *key = pool[rng() % POOL_KEYS];
		int at = model_find(model, n, key);
		unsigned kind = (unsigned)(rng() % 10);
		if (kind < 6) { /* insert or replace */
			rng_bytes(vh, 32);
			CHECK(smt_update(t, key, vh) == 0);
			if (at < 0) {
				memcpy(model[n].key, key, 32);
				at = (int)n++;
			}
			memcpy(model[at].value_hash, vh, 32);
		} else if (kind < 9) { /* remove */
			int rc = smt_remove(t, key);
			if (at < 0) {
				CHECK(rc == ASSAY_ENOTFOUND);
			} else {
				CHECK(rc == 0);
				model[at] = model[--n];
			}
		} else { /* replace with the same value: no change */
			if (at >= 0)
				CHECK(smt_update(t, key, model[at].value_hash) == 0);
		}
		CHECK(smt_count(t) == n);
		/* Several operations between roots, as a block applies. */
		if (rng() % 3 != 0)
			continue;
		smt_root(t, root);
		memcpy(sorted, model, n * sizeof(*model));
		model_root(sorted, n, want);
		if (memcmp(root, want, 32) != 0)
			mismatches++;
		if (op % 50 == 0) {
			for (int i = 0; i < POOL_KEYS; i += 7) {
				int m = model_find(model, n, pool[i]);
				uint8_t got[32];
				int rc = smt_get(t, pool[i], got);
				CHECK(m < 0 ? rc == ASSAY_ENOTFOUND : rc == 0);
				if (m >= 0)
					CHECK_EQ_MEM(got, model[m].value_hash, 32);
				check_proof(t, pool[i], m >= 0 ? model[m].value_hash : NULL, root,
					    prev_root);
				proofs++;
			}
			memcpy(prev_root, root, 32);
		}
	}
	CHECK(mismatches == 0);
	CHECK(proofs > 1000);

	/* Empty it again: the root returns to zeros. */
	while (n > 0) {
		CHECK(smt_remove(t, model[n - 1].key) == 0);
		n--;
	}
	smt_root(t, root);
	memset(want, 0, 32);
	CHECK_EQ_MEM(root, want, 32);
	smt_free(t);
}

/* Random 256-bit keys, as the state key space has them, in bulk. */
static void test_bulk_random_keys(void)
{
	enum { BULK = 5000 };
	static struct entry e[BULK];
	uint8_t root[32], want[32];
	smt_t *t = smt_new();
	for (int i = 0; i < BULK; i++) {
		rng_bytes(e[i].key, 32);
		rng_bytes(e[i].value_hash, 32);
		CHECK(smt_update(t, e[i].key, e[i].value_hash) == 0);
	}
	smt_root(t, root);
	model_root(e, BULK, want);
	CHECK_EQ_MEM(root, want, 32);
	/* An absent key near a present one: exclusion by another leaf or by
	 * an empty subtree, both verify. */
	int by_leaf = 0, by_empty = 0;
	for (int i = 0; i < 200; i++) {
		uint8_t k[32];
		struct smt_proof p;
		memcpy(k, e[i].key, 32);
		k[31] ^= 0x01;
		k[2 + i % 3] ^= (uint8_t)(1u << (i % 8));
		CHECK(smt_prove(t, k, &p) == 0);
		CHECK(smt_verify(root, k, NULL, &p) == 0);
		if (p.has_leaf)
			by_leaf++;
		else
			by_empty++;
	}
	CHECK(by_leaf > 0 && by_empty > 0);
	smt_free(t);
}

static void test_codec_rejects(void)
{
	smt_t *t = smt_new();
	uint8_t k[32], v[32];
	for (int i = 0; i < 50; i++) {
		rng_bytes(k, 32);
		rng_bytes(v, 32);
		smt_update(t, k, v);
	}
	struct smt_proof p, q;
	CHECK(smt_prove(t, k, &p) == 0);
	CHECK(p.has_leaf && p.nsiblings > 0);
	struct buf b;
	buf_init(&b);
	smt_proof_encode(&p, &b);

	/* Every truncation fails; so does a trailing byte. */
	for (size_t len = 0; len < b.len; len++)
		CHECK(smt_proof_decode(&q, b.data, len) != 0);
	uint8_t *longer = malloc(b.len + 1);
	memcpy(longer, b.data, b.len);
	longer[b.len] = 0;
	CHECK(smt_proof_decode(&q, longer, b.len + 1) == ASSAY_EDECODE);
	free(longer);

	/* has_leaf other than 0 or 1. */
	uint8_t *m = malloc(b.len);
	memcpy(m, b.data, b.len);
	m[0] = 2;
	CHECK(smt_proof_decode(&q, m, b.len) == ASSAY_EDECODE);
	free(m);

	/* The malformed encodings that need no tree (a second encoding of a
	 * sibling, padding bits, counts) are core/smt_proof's, in test_smt_proof. */
	struct buf z;
	buf_init(&z);
	/* The empty tree's exclusion proof is two bytes. */
	smt_t *empty = smt_new();
	uint8_t root[32];
	smt_root(empty, root);
	CHECK(smt_prove(empty, k, &p) == 0);
	buf_reset(&z);
	smt_proof_encode(&p, &z);
	CHECK(z.len == 2 && z.data[0] == 0 && z.data[1] == 0);
	CHECK(smt_verify(root, k, NULL, &p) == 0);
	CHECK(smt_verify(root, k, v, &p) == ASSAY_ESIG);
	smt_free(empty);
	buf_free(&z);
	buf_free(&b);
	smt_free(t);
}

/* smt_replace: smt_update's tree, and the value hash it replaced. */
static void test_replace(void)
{
	smt_t *t = smt_new(), *u = smt_new();
	uint8_t key[32], vh[32], old[32], before[32], ra[32], rb[32];
	int had = -1, replaced = 0;
	CHECK(t != NULL && u != NULL);
	if (!t || !u)
		return;
	for (int i = 0; i < 200; i++) {
		memset(key, 0, 32);
		key[0] = (uint8_t)((i % 64) * 4); /* each key three or four times */
		key[31] = (uint8_t)(i % 64);
		memset(vh, i + 1, 32);
		memset(old, 0xee, 32);
		int present = smt_get(t, key, before) == 0;
		CHECK(smt_replace(t, key, vh, old, &had) == 0);
		CHECK(had == present);
		if (present) {
			CHECK_EQ_MEM(old, before, 32);
			replaced++;
		}
		CHECK(smt_update(u, key, vh) == 0);
		smt_root(t, ra);
		smt_root(u, rb);
		CHECK_EQ_MEM(ra, rb, 32);
	}
	CHECK_EQ_U64(replaced, 200 - 64);
	CHECK_EQ_U64(smt_count(t), 64);
	smt_free(t);
	smt_free(u);
}

int main(void)
{
	RUN(test_empty_and_small);
	RUN(test_worked_example);
	RUN(test_replace);
	RUN(test_random_against_model);
	RUN(test_bulk_random_keys);
	RUN(test_codec_rejects);
	return test_report("test_smt");
}
