/* Unit tests for core/merkle.c: the RFC 6962 reference tree of the
 * certificate-transparency project (roots of its first 1..8 leaves, audit
 * paths), and for every n in 1..64 a proof of every index that verifies and
 * fails once anything in it is changed; merkle_verify_batch gives
 * merkle_verify's verdict on every claim of batches with altered ones. */
#include <stdlib.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/merkle.h"
#include "tests/unit/test.h"

/* The standard 8-entry test data and the roots of its first n entries. */
static const char *const leaf_data[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const roots[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Reference audit paths (0-based leaf index, tree size, bottom-up path). */
static const struct {
	size_t index, size, depth;
	const char *path[3];
} audit[] = {
	{0, 8, 3, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		   "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		   "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
	{5, 8, 3, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		   "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		   "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	{2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
	{1, 5, 3, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		   "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		   "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	{0, 1, 0, {NULL}},
};

static uint8_t ref_leaves[8][HASH_LEN];

static void hash_reference_leaves(void)
{
	for (int i = 0; i < 8; i++) {
		uint8_t data[16];
		long n = hex_decode(leaf_data[i], data, sizeof(data));
		CHECK(n >= 0);
		merkle_leaf_hash(data, n < 0 ? 0 : (size_t)n, ref_leaves[i]);
	}
}

static void test_reference_roots(void)
{
	uint8_t root[HASH_LEN], want[HASH_LEN];
	/* Empty tree: SHA-256 of the empty string. */
	merkle_root(NULL, 0, root);
	CHECK(hex_decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want,
			 HASH_LEN) == HASH_LEN);
	CHECK_EQ_MEM(root, want, HASH_LEN);
	for (size_t n = 1; n <= 8; n++) {
		merkle_root((const uint8_t(*)[HASH_LEN])ref_leaves, n, root);
		CHECK(hex_decode(roots[n - 1], want, HASH_LEN) == HASH_LEN);
		CHECK_EQ_MEM(root, want, HASH_LEN);
	}
}

static void test_reference_paths(void)
{
	for (size_t t = 0; t < sizeof(audit) / sizeof(audit[0]); t++) {
		uint8_t path[MERKLE_MAX_DEPTH][HASH_LEN], want[HASH_LEN], root[HASH_LEN];
		size_t depth = 99;
		CHECK(merkle_proof((const uint8_t(*)[HASH_LEN])ref_leaves, audit[t].size,
				   audit[t].index, path, &depth) == 0);
		CHECK(depth == audit[t].depth);
		for (size_t d = 0; d < audit[t].depth && d < depth; d++) {
			CHECK(hex_decode(audit[t].path[d], want, HASH_LEN) == HASH_LEN);
			CHECK_EQ_MEM(path[d], want, HASH_LEN);
		}
		CHECK(hex_decode(roots[audit[t].size - 1], root, HASH_LEN) == HASH_LEN);
		CHECK(merkle_verify(ref_leaves[audit[t].index], audit[t].index, audit[t].size,
				    (const uint8_t(*)[HASH_LEN])path, depth, root) == 0);
	}
	uint8_t path[MERKLE_MAX_DEPTH][HASH_LEN];
	size_t depth;
	CHECK(merkle_proof((const uint8_t(*)[HASH_LEN])ref_leaves, 8, 8, path, &depth) ==
	      ASSAY_EARG);
}

static void test_all_proofs(void)
{
	enum { MAX_N = 64 };
	uint8_t leaves[MAX_N][HASH_LEN];
	for (int i = 0; i < MAX_N; i++) {
		uint8_t data[2] = {(uint8_t)i, (uint8_t)(i * 7)};
		merkle_leaf_hash(data, sizeof(data), leaves[i]);
	}
	int bad_accept = 0, bad_reject = 0;
	for (size_t n = 1; n <= MAX_N; n++) {
		uint8_t root[HASH_LEN];
		merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, root);
		for (size_t i = 0; i < n; i++) {
			uint8_t path[MERKLE_MAX_DEPTH + 1][HASH_LEN];
			size_t depth;
			const uint8_t(*cp)[HASH_LEN] = (const uint8_t(*)[HASH_LEN])path;
			if (merkle_proof((const uint8_t(*)[HASH_LEN])leaves, n, i, path, &depth) != 0) {
				bad_reject++;
				continue;
			}
			bad_reject += merkle_verify(leaves[i], i, n, cp, depth, root) != 0;
			/* another leaf, index, or root */
			bad_accept += merkle_verify(leaves[(i + 1) % MAX_N], i, n, cp, depth, root) == 0;
			for (size_t j = 0; j < n + 2; j++)
				if (j != i)
					bad_accept += merkle_verify(leaves[i], j, n, cp, depth, root) == 0;
			uint8_t other[HASH_LEN];
			memcpy(other, root, HASH_LEN);
			other[31] ^= 1;
			bad_accept += merkle_verify(leaves[i], i, n, cp, depth, other) == 0;
			/* every bit of every path element */
			for (size_t d = 0; d < depth; d++)
				for (int bit = 0; bit < 256; bit += 37) {
					path[d][bit / 8] ^= (uint8_t)(1u << (bit % 8));
					bad_accept += merkle_verify(leaves[i], i, n, cp, depth, root) == 0;
					path[d][bit / 8] ^= (uint8_t)(1u << (bit % 8));
				}
			/* a path one element short or one too long */
			if (depth)
				bad_accept += merkle_verify(leaves[i], i, n, cp, depth - 1, root) == 0;
			memcpy(path[depth], root, HASH_LEN);
			bad_accept += merkle_verify(leaves[i], i, n, cp, depth + 1, root) == 0;
		}
	}
	CHECK(bad_reject == 0);
	CHECK(bad_accept == 0);
	if (bad_accept)
		fprintf(stderr, "  %d altered proofs accepted\n", bad_accept);
}

/* RFC 6962 §2.1 as written: MTH(D[n]) = H(0x01 || MTH(D[0:k]) || MTH(D[k:n])),
 * k the largest power of two below n. */
static void rfc_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t out[HASH_LEN])
{
	if (n == 1) {
		memcpy(out, leaves[0], HASH_LEN);
		return;
	}
	size_t k = 1;
	while (2 * k < n)
		k *= 2;
	uint8_t in[1 + 2 * HASH_LEN];
	in[0] = 0x01;
	rfc_root(leaves, k, in + 1);
	rfc_root(leaves + k, n - k, in + 1 + HASH_LEN);
	sha256(in, sizeof(in), out);
}

/* merkle_root (level by level, two nodes at a time, below 512 leaves; split
 * above) and merkle_level_up give RFC 6962's root at every size to 1100. */
static void test_root_matches_definition(void)
{
	enum { MAX_N = 1100 };
	uint8_t(*leaves)[HASH_LEN] = malloc(MAX_N * HASH_LEN), (*level)[HASH_LEN] = malloc(MAX_N * HASH_LEN);
	for (int i = 0; i < MAX_N; i++) {
		uint8_t data[2] = {(uint8_t)i, (uint8_t)(i >> 8)};
		merkle_leaf_hash(data, sizeof(data), leaves[i]);
	}
	int bad = 0;
	for (size_t n = 1; n <= MAX_N; n += n < 80 ? 1 : 37) {
		uint8_t want[HASH_LEN], got[HASH_LEN];
		rfc_root((const uint8_t(*)[HASH_LEN])leaves, n, want);
		merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, got);
		bad += memcmp(want, got, HASH_LEN) != 0;
		memcpy(level, leaves, n * HASH_LEN);
		for (size_t m = n; m > 1; m = (m + 1) / 2)
			merkle_level_up((const uint8_t(*)[HASH_LEN])level, m, level);
		bad += memcmp(want, level[0], HASH_LEN) != 0;
	}
	CHECK_EQ_INT(bad, 0);
	free(leaves);
	free(level);
}

/* Batches over trees of 1..1024 leaves (powers of two share work; the
 * others take the one-by-one path), about a third of the claims altered in
 * one of the ways a reveal can be wrong: leaf, index (also one shared with
 * another claim), depth, or one sibling at any level, below or above the
 * level where the claim meets its neighbour. Every verdict must be
 * merkle_verify's own. */
static void test_batch_matches_verify(void)
{
	enum { MAX_N = 1024, PER = 70 };
	uint8_t(*leaves)[HASH_LEN] = malloc(MAX_N * HASH_LEN);
	uint8_t(*paths)[MERKLE_MAX_DEPTH + 1][HASH_LEN] = malloc(PER * sizeof(*paths));
	for (int i = 0; i < MAX_N; i++) {
		uint8_t data[3] = {(uint8_t)i, (uint8_t)(i >> 8), 0x5c};
		merkle_leaf_hash(data, sizeof(data), leaves[i]);
	}
	static const size_t sizes[] = {1, 2, 3, 8, 64, 100, 256, 1024, 1000};
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	int differ = 0, honest_rejected = 0, altered = 0;
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		uint8_t root[HASH_LEN];
		merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, root);
		for (int round = 0; round < 40; round++) {
			struct merkle_claim c[PER];
			int bent[PER];
			size_t drawn = 0;
			size_t count = 1 + (size_t)(round * 7) % PER;
			for (size_t j = 0; j < count; j++) {
				rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
				size_t i = (size_t)(rng % n);
				if (j && rng % 11 == 0)
					i = drawn; /* the same tile twice */
				drawn = i;
				merkle_proof((const uint8_t(*)[HASH_LEN])leaves, n, i, paths[j], &c[j].depth);
				memcpy(c[j].leaf, leaves[i], HASH_LEN);
				c[j].index = i;
				c[j].path = (const uint8_t(*)[HASH_LEN])paths[j];
				bent[j] = (int)(rng >> 20) % 9;
				switch (bent[j]) {
				case 0: c[j].leaf[rng >> 40 & 31] ^= 4; break;
				case 1: c[j].index = (i + 1 + (rng >> 30) % n) % (n + 1); break;
				case 2: if (c[j].depth) paths[j][(rng >> 33) % c[j].depth][rng >> 50 & 31] ^= 0x80; break;
				case 3: c[j].depth += (rng >> 35 & 1) || !c[j].depth ? 1 : (size_t)-1; break;
				default: bent[j] = -1; /* honest */
				}
				altered += bent[j] >= 0;
			}
			uint8_t ok[PER];
			merkle_verify_batch(c, count, n, root, ok);
			for (size_t j = 0; j < count; j++) {
				int want = merkle_verify(c[j].leaf, c[j].index, n, c[j].path, c[j].depth, root) == 0;
				differ += ok[j] != want;
				honest_rejected += bent[j] < 0 && !ok[j];
			}
		}
	}
	CHECK(differ == 0);
	CHECK(honest_rejected == 0);
	CHECK(altered > 500);
	if (differ)
		fprintf(stderr, "  %d batch verdicts differ from merkle_verify\n", differ);
	free(leaves);
	free(paths);
}

int main(void)
{
	hash_reference_leaves();
	RUN(test_reference_roots);
	RUN(test_reference_paths);
	RUN(test_all_proofs);
	RUN(test_root_matches_definition);
	RUN(test_batch_matches_verify);
	return test_report("test_merkle");
}
