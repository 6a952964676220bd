/* Unit tests of the state-proof verifier in core (core/smt_proof.h), with
 * proofs written by hand from the worked example of docs/storage.md §1, so
 * they check the documented format rather than what node/smt happens to
 * build: valid inclusion and absence proofs pass; a flipped sibling, a wrong
 * value, key or root, a truncated sibling list, a non-compact shape and a
 * malformed encoding each fail. Not for: the tree (tests/unit/test_smt.c). */
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/smt_proof.h"
#include "tests/unit/test.h"

/* docs/storage.md §1, worked example. */
#define EX_LEAF0 "0ada465c8c7a6628f6ed70a96cb795796c6d8ee5ffd5189b0f5cafeeb7fc9ec4"
#define EX_LEAF1 "8b5e749bbd52167d5560f5b1e5fc117ca477e13ac8ac54ccc6a6309735ad26ac"
#define EX_LEAF2 "4371aaeef978665cf117d26a3130aa07ee9107e189a5ccc7e621ceb6de5cac91"
#define EX_N01 "d7e9e855222597093dc3c0e44e38049479b992a115103ee405bbcae2bcc1ca0a"
#define EX_ROOT "f614e3f96c43a399986d967e68a981765b5f702001835f5e9dc37c166f0797ab"
#define EX_ROOT2 "795cb48ff9a5d77d78e403738d7d02f6a8cc0b738d7f2db2007b71eff5e57467"

/* The three-key tree: k0 = 00.., k1 = 40.., k2 = 80.., v_i = (i + 1) x 32. */
struct example {
	uint8_t k[3][32], v[3][32], leaf[3][32];
	uint8_t n01[32], root[32];  /* with all three keys */
	uint8_t root2[32];          /* after removing k2 */
};

static void from_hex(const char *hex, uint8_t out[32])
{
	CHECK(hex_decode(hex, out, 32) == 32);
}

static void example_init(struct example *ex)
{
	static const uint8_t zero[32];
	memset(ex, 0, sizeof(*ex));
	ex->k[1][0] = 0x40;
	ex->k[2][0] = 0x80;
	for (int i = 0; i < 3; i++) {
		memset(ex->v[i], i + 1, 32);
		smt_hash_leaf(ex->k[i], ex->v[i], ex->leaf[i]);
	}
	smt_hash_node(ex->leaf[0], ex->leaf[1], ex->n01);
	smt_hash_node(ex->n01, ex->leaf[2], ex->root);
	smt_hash_node(ex->n01, zero, ex->root2);
}

static void set_leaf(struct smt_proof *p, const uint8_t key[32], const uint8_t value_hash[32])
{
	p->has_leaf = 1;
	memcpy(p->leaf_key, key, 32);
	memcpy(p->leaf_value_hash, value_hash, 32);
}

/* The hashes are the documented ones: the example's values pin the tags,
 * the order of key and value, and left before right. */
static void test_hashes_match_docs(void)
{
	struct example ex;
	uint8_t want[32];
	example_init(&ex);
	from_hex(EX_LEAF0, want);
	CHECK_EQ_MEM(ex.leaf[0], want, 32);
	from_hex(EX_LEAF1, want);
	CHECK_EQ_MEM(ex.leaf[1], want, 32);
	from_hex(EX_LEAF2, want);
	CHECK_EQ_MEM(ex.leaf[2], want, 32);
	from_hex(EX_N01, want);
	CHECK_EQ_MEM(ex.n01, want, 32);
	from_hex(EX_ROOT, want);
	CHECK_EQ_MEM(ex.root, want, 32);
	from_hex(EX_ROOT2, want);
	CHECK_EQ_MEM(ex.root2, want, 32);
	/* Bit order: MSB of byte 0 first. */
	CHECK(smt_key_bit(ex.k[2], 0) == 1 && smt_key_bit(ex.k[1], 0) == 0 && smt_key_bit(ex.k[1], 1) == 1);
	uint8_t k[32] = {0};
	k[31] = 0x01;
	CHECK(smt_key_bit(k, 255) == 1 && smt_key_bit(k, 254) == 0);
	/* The value hash is plain SHA-256 of the value's bytes. */
	uint8_t vh[32];
	smt_value_hash((const uint8_t *)"abc", 3, vh);
	from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	CHECK_EQ_MEM(vh, want, 32);
}

static void test_inclusion(void)
{
	struct example ex;
	struct smt_proof p;
	example_init(&ex);

	/* k2 sits at depth 1, beside n01. */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 1;
	memcpy(p.siblings[0], ex.n01, 32);
	set_leaf(&p, ex.k[2], ex.v[2]);
	CHECK(smt_verify(ex.root, ex.k[2], ex.v[2], &p) == 0);

	/* k0 and k1 sit at depth 2: siblings leaf2 then the other's leaf. */
	for (int i = 0; i < 2; i++) {
		memset(&p, 0, sizeof(p));
		p.nsiblings = 2;
		memcpy(p.siblings[0], ex.leaf[2], 32);
		memcpy(p.siblings[1], ex.leaf[1 - i], 32);
		set_leaf(&p, ex.k[i], ex.v[i]);
		CHECK(smt_verify(ex.root, ex.k[i], ex.v[i], &p) == 0);
	}

	/* A one-key tree: the root is the leaf, the proof has no siblings. */
	uint8_t one_root[32];
	smt_hash_leaf(ex.k[1], ex.v[1], one_root);
	memset(&p, 0, sizeof(p));
	set_leaf(&p, ex.k[1], ex.v[1]);
	CHECK(smt_verify(one_root, ex.k[1], ex.v[1], &p) == 0);

	/* smt_verify_value hashes the value bytes first. */
	const uint8_t value[] = "account record";
	uint8_t vh[32], root[32];
	smt_value_hash(value, sizeof(value), vh);
	smt_hash_leaf(ex.k[0], vh, root);
	memset(&p, 0, sizeof(p));
	set_leaf(&p, ex.k[0], vh);
	CHECK(smt_verify_value(root, ex.k[0], value, sizeof(value), &p) == 0);
	CHECK(smt_verify_value(root, ex.k[0], value, sizeof(value) - 1, &p) == ASSAY_ESIG);
	CHECK(smt_verify_value(root, ex.k[0], NULL, 0, &p) == ASSAY_ESIG);
}

static void test_inclusion_tampered(void)
{
	struct example ex;
	struct smt_proof p, q;
	uint8_t other[32];
	example_init(&ex);
	memset(&p, 0, sizeof(p));
	p.nsiblings = 2;
	memcpy(p.siblings[0], ex.leaf[2], 32);
	memcpy(p.siblings[1], ex.leaf[1], 32);
	set_leaf(&p, ex.k[0], ex.v[0]);
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[0], &p) == 0);

	/* A flipped bit in either sibling. */
	for (int i = 0; i < 2; i++) {
		q = p;
		q.siblings[i][5] ^= 0x04;
		CHECK(smt_verify(ex.root, ex.k[0], ex.v[0], &q) == ASSAY_ESIG);
	}
	/* Siblings swapped. */
	q = p;
	memcpy(q.siblings[0], ex.leaf[1], 32);
	memcpy(q.siblings[1], ex.leaf[2], 32);
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[0], &q) == ASSAY_ESIG);
	/* The wrong value, asked for or carried in the proof. */
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[1], &p) == ASSAY_ESIG);
	q = p;
	memcpy(q.leaf_value_hash, ex.v[1], 32);
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[1], &q) == ASSAY_ESIG);
	/* The wrong key: k1's value under k0's path, and k0's proof for k1. */
	CHECK(smt_verify(ex.root, ex.k[1], ex.v[0], &p) == ASSAY_ESIG);
	q = p;
	memcpy(q.leaf_key, ex.k[1], 32);
	CHECK(smt_verify(ex.root, ex.k[1], ex.v[0], &q) == ASSAY_ESIG);
	/* The wrong root: the tree after k2's removal, or any other. */
	CHECK(smt_verify(ex.root2, ex.k[0], ex.v[0], &p) == ASSAY_ESIG);
	memcpy(other, ex.root, 32);
	other[31] ^= 1;
	CHECK(smt_verify(other, ex.k[0], ex.v[0], &p) == ASSAY_ESIG);
	/* A truncated sibling list, a longer one, and an impossible length. */
	q = p;
	q.nsiblings = 1;
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[0], &q) == ASSAY_ESIG);
	q.nsiblings = 0;
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[0], &q) == ASSAY_ESIG);
	q = p;
	q.nsiblings = 3;
	memset(q.siblings[2], 0x5A, 32);
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[0], &q) == ASSAY_ESIG);
	q.nsiblings = SMT_MAX_DEPTH + 1;
	CHECK(smt_verify(ex.root, ex.k[0], ex.v[0], &q) == ASSAY_ESIG);
	/* An inclusion proof is no proof of absence. */
	CHECK(smt_verify(ex.root, ex.k[0], NULL, &p) == ASSAY_ESIG);
}

static void test_absence(void)
{
	struct example ex;
	struct smt_proof p, q;
	uint8_t key[32] = {0};
	static const uint8_t zero[32];
	example_init(&ex);

	/* C0.. goes right at bit 0 and reaches k2's leaf, which differs from
	 * it at bit 1: absent. */
	key[0] = 0xC0;
	memset(&p, 0, sizeof(p));
	p.nsiblings = 1;
	memcpy(p.siblings[0], ex.n01, 32);
	set_leaf(&p, ex.k[2], ex.v[2]);
	CHECK(smt_verify(ex.root, key, NULL, &p) == 0);
	/* ...but the same proof cannot show C0.. present with k2's value. */
	CHECK(smt_verify(ex.root, key, ex.v[2], &p) == ASSAY_ESIG);
	/* nor prove absent a key whose path leaves k2's prefix (bit 0 = 0). */
	key[0] = 0x20;
	CHECK(smt_verify(ex.root, key, NULL, &p) == ASSAY_ESIG);

	/* 20.. shares bits 0..1 with k0 at depth 2: absent by k0's leaf. */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 2;
	memcpy(p.siblings[0], ex.leaf[2], 32);
	memcpy(p.siblings[1], ex.leaf[1], 32);
	set_leaf(&p, ex.k[0], ex.v[0]);
	CHECK(smt_verify(ex.root, key, NULL, &p) == 0);
	q = p;
	q.siblings[0][0] ^= 0x80;
	CHECK(smt_verify(ex.root, key, NULL, &q) == ASSAY_ESIG);
	q = p;
	q.leaf_value_hash[0] ^= 1;
	CHECK(smt_verify(ex.root, key, NULL, &q) == ASSAY_ESIG);
	CHECK(smt_verify(ex.root2, key, NULL, &p) == ASSAY_ESIG);

	/* After k2's removal its path ends in an empty subtree at depth 1. */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 1;
	memcpy(p.siblings[0], ex.n01, 32);
	CHECK(smt_verify(ex.root2, ex.k[2], NULL, &p) == 0);
	CHECK(smt_verify(ex.root2, ex.k[2], ex.v[2], &p) == ASSAY_ESIG);
	/* With k2 still there, the empty-subtree claim does not hold. */
	CHECK(smt_verify(ex.root, ex.k[2], NULL, &p) == ASSAY_ESIG);
	q = p;
	q.siblings[0][31] ^= 1;
	CHECK(smt_verify(ex.root2, ex.k[2], NULL, &q) == ASSAY_ESIG);
	/* Truncated to nothing: "the whole tree is empty" is false. */
	q = p;
	q.nsiblings = 0;
	CHECK(smt_verify(ex.root2, ex.k[2], NULL, &q) == ASSAY_ESIG);

	/* The empty tree proves every key absent and none present. */
	memset(&p, 0, sizeof(p));
	CHECK(smt_verify(zero, ex.k[0], NULL, &p) == 0);
	CHECK(smt_verify(zero, ex.k[0], ex.v[0], &p) == ASSAY_ESIG);
	/* A key's own leaf never proves it absent. */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 1;
	memcpy(p.siblings[0], ex.n01, 32);
	set_leaf(&p, ex.k[2], ex.v[2]);
	CHECK(smt_verify(ex.root, ex.k[2], NULL, &p) == ASSAY_ESIG);
}

/* docs/storage.md §2: the example encodings, and rejection of every
 * malformed or non-canonical form. */
static void test_codec(void)
{
	struct example ex;
	struct smt_proof p, q;
	struct buf b, z;
	example_init(&ex);
	memset(&p, 0, sizeof(p));
	p.nsiblings = 1;
	memcpy(p.siblings[0], ex.n01, 32);
	set_leaf(&p, ex.k[2], ex.v[2]);
	buf_init(&b);
	smt_proof_encode(&p, &b);
	CHECK(b.len == 99);
	if (b.len == 99) {
		CHECK(b.data[0] == 1 && b.data[1] == 1 && b.data[2] == 0x80);
		CHECK_EQ_MEM(b.data + 3, ex.n01, 32);
		CHECK_EQ_MEM(b.data + 35, ex.k[2], 32);
		CHECK_EQ_MEM(b.data + 67, ex.v[2], 32);
	}
	CHECK(smt_proof_decode(&q, b.data, b.len) == 0);
	CHECK(smt_verify(ex.root, ex.k[2], ex.v[2], &q) == 0);
	/* Every truncation fails to decode; so does a trailing byte. */
	for (size_t len = 0; len < b.len; len++)
		CHECK(smt_proof_decode(&q, b.data, len) != 0);
	buf_put_u8(&b, 0);
	CHECK(smt_proof_decode(&q, b.data, b.len) == ASSAY_EDECODE);

	/* The other examples of docs/storage.md §2: k0 in the full tree... */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 2;
	memcpy(p.siblings[0], ex.leaf[2], 32);
	memcpy(p.siblings[1], ex.leaf[1], 32);
	set_leaf(&p, ex.k[0], ex.v[0]);
	buf_reset(&b);
	smt_proof_encode(&p, &b);
	CHECK(b.len == 3 + 64 + 64 && b.data[0] == 1 && b.data[1] == 2 && b.data[2] == 0xC0);
	/* ...k0 after k2's removal, with an empty sibling at depth 1... */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 2;
	memcpy(p.siblings[1], ex.leaf[1], 32);
	set_leaf(&p, ex.k[0], ex.v[0]);
	buf_reset(&b);
	smt_proof_encode(&p, &b);
	CHECK(b.len == 99 && b.data[0] == 1 && b.data[1] == 2 && b.data[2] == 0x40);
	if (b.len == 99)
		CHECK_EQ_MEM(b.data + 3, ex.leaf[1], 32);
	CHECK(smt_proof_decode(&q, b.data, b.len) == 0);
	CHECK(smt_verify(ex.root2, ex.k[0], ex.v[0], &q) == 0);
	CHECK(smt_verify(ex.root2, ex.k[1], ex.v[0], &q) == ASSAY_ESIG);
	/* ...and k2's exclusion there. */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 1;
	memcpy(p.siblings[0], ex.n01, 32);
	buf_reset(&b);
	smt_proof_encode(&p, &b);
	CHECK(b.len == 35 && b.data[0] == 0 && b.data[1] == 1 && b.data[2] == 0x80);
	CHECK(smt_proof_decode(&q, b.data, b.len) == 0);
	CHECK(smt_verify(ex.root2, ex.k[2], NULL, &q) == 0);

	/* Empty siblings cost one bit: D = 10 with only siblings 0 and 9. */
	memset(&p, 0, sizeof(p));
	p.nsiblings = 10;
	memset(p.siblings[0], 0x11, 32);
	memset(p.siblings[9], 0x22, 32);
	uint8_t bitmap[SMT_MAX_DEPTH / 8];
	CHECK(smt_proof_bitmap(&p, bitmap) == 2);
	CHECK(bitmap[0] == 0x80 && bitmap[1] == 0x40);
	buf_init(&z);
	smt_proof_encode(&p, &z);
	CHECK(z.len == 1 + 1 + 2 + 64);
	CHECK(smt_proof_decode(&q, z.data, z.len) == 0);
	CHECK(q.nsiblings == 10 && !q.has_leaf && memcmp(&q.siblings, &p.siblings, sizeof(p.siblings)) == 0);
	/* A present-marked sibling of zeros (a second encoding), padding bits
	 * set, has_leaf 2, a non-minimal count and D > 256 are rejected. */
	uint8_t zeros[32] = {0};
	buf_reset(&z);
	buf_put_u8(&z, 0);
	buf_put_varint(&z, 1);
	buf_put_u8(&z, 0x80);
	buf_put(&z, zeros, 32);
	CHECK(smt_proof_decode(&q, z.data, z.len) == ASSAY_EDECODE);
	buf_reset(&z);
	buf_put_u8(&z, 0);
	buf_put_varint(&z, 1);
	buf_put_u8(&z, 0x40);
	CHECK(smt_proof_decode(&q, z.data, z.len) == ASSAY_EDECODE);
	buf_reset(&z);
	buf_put_u8(&z, 2);
	buf_put_varint(&z, 0);
	CHECK(smt_proof_decode(&q, z.data, z.len) == ASSAY_EDECODE);
	buf_reset(&z);
	buf_put_u8(&z, 0);
	buf_put_u8(&z, 0x80);
	buf_put_u8(&z, 0x00);
	CHECK(smt_proof_decode(&q, z.data, z.len) == ASSAY_EDECODE);
	buf_reset(&z);
	buf_put_u8(&z, 0);
	buf_put_varint(&z, SMT_MAX_DEPTH + 1);
	CHECK(smt_proof_decode(&q, z.data, z.len) == ASSAY_ELIMIT);
	/* The empty tree's exclusion proof is 00 00. */
	memset(&p, 0, sizeof(p));
	buf_reset(&z);
	smt_proof_encode(&p, &z);
	CHECK(z.len == 2 && z.data[0] == 0 && z.data[1] == 0);
	/* The longest proof fits SMT_PROOF_MAX_BYTES and round-trips. */
	memset(&p, 0x6B, sizeof(p));
	p.nsiblings = SMT_MAX_DEPTH;
	p.has_leaf = 1;
	buf_reset(&z);
	smt_proof_encode(&p, &z);
	CHECK(z.len == SMT_PROOF_MAX_BYTES);
	CHECK(smt_proof_decode(&q, z.data, z.len) == 0);
	CHECK(memcmp(&q, &p, sizeof(p)) == 0);
	buf_free(&z);
	buf_free(&b);
}

/* Folds a proof to the root it claims, with the verifier's own rules. */
static void fold(const uint8_t key[32], const struct smt_proof *p, uint8_t out[32])
{
	if (p->has_leaf)
		smt_hash_leaf(p->leaf_key, p->leaf_value_hash, out);
	else
		memset(out, 0, 32);
	for (uint32_t d = p->nsiblings; d-- > 0;) {
		if (smt_key_bit(key, d))
			smt_hash_node(p->siblings[d], out, out);
		else
			smt_hash_node(out, p->siblings[d], out);
	}
}

/* Proofs that hash consistently to their own root, yet describe no compact
 * tree: a leaf or empty subtree below an empty sibling (it would sit a level
 * up), or another key's leaf off the key's path. The verifier rejects them
 * by shape, without relying on the root alone. */
static void test_noncompact_rejected(void)
{
	struct smt_proof p;
	uint8_t key[32], root[32];
	memset(key, 0x3C, 32);

	memset(&p, 0, sizeof(p));
	p.has_leaf = 1;
	memcpy(p.leaf_key, key, 32);
	memset(p.leaf_value_hash, 0x77, 32);
	p.nsiblings = 0;
	fold(key, &p, root);
	CHECK(smt_verify(root, key, p.leaf_value_hash, &p) == 0); /* the compact form holds */
	p.nsiblings = 1; /* siblings[0] is empty */
	fold(key, &p, root);
	CHECK(smt_verify(root, key, p.leaf_value_hash, &p) == ASSAY_ESIG);
	memset(p.siblings[0], 0x44, 32); /* empty sibling only at the bottom */
	p.nsiblings = 3;
	fold(key, &p, root);
	CHECK(smt_verify(root, key, p.leaf_value_hash, &p) == ASSAY_ESIG);
	memset(p.siblings[2], 0x45, 32);
	fold(key, &p, root);
	CHECK(smt_verify(root, key, p.leaf_value_hash, &p) == 0);

	/* Exclusion ending in an empty subtree beside an empty sibling. */
	memset(&p, 0, sizeof(p));
	memset(p.siblings[0], 0x44, 32);
	p.nsiblings = 2;
	fold(key, &p, root);
	CHECK(smt_verify(root, key, NULL, &p) == ASSAY_ESIG);

	/* Exclusion by a leaf whose key leaves key's path above the leaf. */
	memset(&p, 0, sizeof(p));
	p.has_leaf = 1;
	memcpy(p.leaf_key, key, 32);
	p.leaf_key[0] ^= 0x80; /* differs at bit 0 */
	memset(p.leaf_value_hash, 0x77, 32);
	memset(p.siblings[0], 0x44, 32);
	memset(p.siblings[1], 0x46, 32);
	p.nsiblings = 2;
	fold(key, &p, root);
	CHECK(smt_verify(root, key, NULL, &p) == ASSAY_ESIG);
	p.leaf_key[0] ^= 0x80;
	p.leaf_key[0] ^= 0x20; /* differs at bit 2: on the path for two levels */
	fold(key, &p, root);
	CHECK(smt_verify(root, key, NULL, &p) == 0);
}

int main(void)
{
	RUN(test_hashes_match_docs);
	RUN(test_inclusion);
	RUN(test_inclusion_tampered);
	RUN(test_absence);
	RUN(test_codec);
	RUN(test_noncompact_rejected);
	return test_report("test_smt_proof");
}
