/* Tests of the reference kernels (consensus/compute/kernels.h) and of the
 * worker's cpu backend against them: seed expansion regression vectors, tile
 * cutting and leaves, challenge sampling, the matmul tile check (recompute
 * and Freivalds) catching single changed entries at the largest k, entries
 * and widths, and bit-exactness of the fast GEMM and MLP on awkward shapes. */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/field.h"
#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"
#include "core/buf.h"
#include "core/chacha.h"
#include "core/error.h"
#include "core/merkle.h"
#include "tests/unit/test.h"
#include "worker/backend.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	return test_xorshift(&rng_state);
}

static void fill_i8(int8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (int8_t)rng();
}

static void seed_of(uint8_t seed[HASH_LEN], uint8_t v)
{
	for (int i = 0; i < HASH_LEN; i++)
		seed[i] = (uint8_t)(v + i);
}

static void hash_hex(const uint8_t *p, size_t n, char out[65])
{
	uint8_t h[HASH_LEN];
	sha256(p, n, h);
	hex_encode(h, HASH_LEN, out);
}

static void test_expand(void)
{
	uint8_t seed[HASH_LEN], buf[1000], part[300];
	seed_of(seed, 1);
	kernel_expand(seed, 0, 0, buf, sizeof(buf));
	/* The stream is ChaCha8 (zero nonce, counter 0) under the key
	 * H_tag("assay/expand", seed || id): core/chacha.c's portable block
	 * function, which test_chacha holds to libsodium's ChaCha20 at 20
	 * rounds. Every SIMD cap gives the same bytes. */
	uint8_t in[HASH_LEN + 1], key[HASH_LEN];
	memcpy(in, seed, HASH_LEN);
	in[HASH_LEN] = 0;
	hash_tagged("assay/expand", in, sizeof(in), key);
	uint8_t stream[1000];
	chacha_keystream_at(key, 8, 0, stream, sizeof(stream), CHACHA_PORTABLE);
	CHECK_EQ_MEM(buf, stream, sizeof(stream));
	for (int level = 0; level <= 2; level++) {
		uint8_t capped[1000];
		kernel_simd_enable(level);
		kernel_expand(seed, 0, 0, capped, sizeof(capped));
		CHECK_EQ_MEM(capped, stream, sizeof(stream));
	}
	kernel_simd_enable(2);
	/* Any window of the stream equals the same bytes of the whole. */
	kernel_expand(seed, 0, 77, part, sizeof(part));
	CHECK_EQ_MEM(part, buf + 77, sizeof(part));
	kernel_expand(seed, 1, 0, part, 32);
	CHECK(memcmp(part, buf, 32) != 0); /* matrix id separates streams */

	/* Frozen regression vectors: SHA256 of the expanded inputs of a
	 * 64 x 48 x 80 matmul and of the first bias of an mlp, seed 00 01 .. 1f. */
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = 64, .n = 48, .k = 80, .tile_rows = 16, .tile_cols = 16};
	seed_of(seed, 0);
	uint8_t *a = malloc(64 * 80), *b = malloc(80 * 48);
	char hex[65];
	kernel_expand_input(&s, seed, 0, 0, a, 64 * 80);
	kernel_expand_input(&s, seed, 1, 0, b, 80 * 48);
	hash_hex(a, 64 * 80, hex);
	CHECK(strcmp(hex, "8176fcbdbd52a97c7b051191070602022f5c583ea95bbb7e7b308e751684178b") == 0);
	hash_hex(b, 80 * 48, hex);
	CHECK(strcmp(hex, "1746f6af9a8e8c278948e4af41c5cae83a46efc859d0d99ff9b62db5afef083a") == 0);
	free(a);
	free(b);
	struct job_shape mlp = {.kind = JOB_MLP_I8, .m = 4, .n = 8, .layers = 1, .dims = {16, 8},
				.shifts = {7}, .tile_rows = 1, .tile_cols = 8};
	uint8_t bias[32], raw[32];
	kernel_expand_input(&mlp, seed, 2, 0, bias, 32);
	kernel_expand(seed, 2, 0, raw, 32);
	for (int i = 0; i < 8; i++)
		CHECK((int32_t)le32_get(bias + 4 * i) == ((int32_t)le32_get(raw + 4 * i) >> 16));
	hash_hex(bias, 32, hex);
	CHECK(strcmp(hex, "fc5aadde2fe34a64a403ff14bdfef51df220fabaae280a75424a37fdf760279c") == 0);
}

static void test_requant(void)
{
	CHECK(kernel_requant(5, 1, 0) == 3);    /* 2.5 rounds up */
	CHECK(kernel_requant(-5, 1, 0) == -2);  /* -2.5 rounds up too */
	CHECK(kernel_requant(-7, 2, 0) == -2);  /* -1.75 */
	CHECK(kernel_requant(1000, 2, 0) == 127);
	CHECK(kernel_requant(-1000, 2, 0) == -128);
	CHECK(kernel_requant(-1000, 2, 1) == 0);
	CHECK(kernel_requant(77, 0, 1) == 77);
	CHECK(kernel_requant(((int64_t)1 << 40), 31, 0) == 127);
}

static int32_t i32_sat(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* kernel_requant_row at every level gives kernel_requant's bytes: every
 * shift, both ReLU settings, the int32 extremes of z and bias (whose sum
 * leaves int32), values at each rounding and clamping edge, and lengths
 * that leave a tail for the portable loop. */
static void test_requant_row(void)
{
	enum { D = 67 };
	int32_t z[D], bias[D];
	int8_t want[D], got[D];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned shift = 0; shift <= 31; shift++)
		for (int relu = 0; relu <= 1; relu++)
			for (int round = 0; round < 8; round++) {
				for (int j = 0; j < D; j++) {
					x = x * 6364136223846793005ull + 1442695040888963407ull;
					int64_t edge = (int64_t)127 << shift,
						unit = shift ? (int64_t)1 << (shift - 1) : 0;
					switch ((x >> 33) % 6) {
					case 0:
						z[j] = (int32_t)(x >> 32);
						bias[j] = (int32_t)x;
						break;
					case 1:
						z[j] = (x >> 40) & 1 ? INT32_MAX : INT32_MIN;
						bias[j] = (x >> 41) & 1 ? INT32_MAX : INT32_MIN;
						break;
					case 2: /* near the top clamp */
						z[j] = i32_sat(edge + (int64_t)((x >> 45) % 5) - 2);
						bias[j] = (int32_t)unit - (int32_t)((x >> 50) % 3);
						break;
					case 3: /* near the rounding point of small values */
						z[j] = (int32_t)((x >> 42) % 9) - 4 - (int32_t)unit;
						bias[j] = (int32_t)((x >> 52) % 3) - 1;
						break;
					case 4: /* near zero and the ReLU edge */
						z[j] = (int32_t)((x >> 40) % 2001) - 1000;
						bias[j] = 0;
						break;
					default: /* near the bottom clamp */
						z[j] = i32_sat(-edge - (int64_t)((x >> 44) % 7));
						bias[j] = -(int32_t)((x >> 48) % 3) * (int32_t)unit;
						break;
					}
					want[j] = kernel_requant((int64_t)z[j] + bias[j], shift, relu);
				}
				for (int level = 0; level <= field_simd_level(2); level++)
					for (uint32_t d = D - 3; d <= D; d++) {
						memset(got, 0x55, sizeof(got));
						kernel_requant_row(level, z, bias, d, shift, relu, got);
						CHECK_EQ_MEM(got, want, d);
						CHECK(d == D || got[d] == 0x55); /* nothing past d */
					}
			}
}

static void test_matmul_ref(void)
{
	/* A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]] (B given by columns). */
	int8_t A[] = {1, 2, 3, 4, 5, 6}, Bt[] = {7, 9, 11, 8, 10, 12};
	int32_t C[4];
	kernel_matmul_ref(A, Bt, C, 2, 2, 3);
	CHECK(C[0] == 58 && C[1] == 64 && C[2] == 139 && C[3] == 154);
	int8_t e1[] = {-128, -128}, e2[] = {-128, -128};
	kernel_matmul_ref(e1, e2, C, 1, 1, 2);
	CHECK(C[0] == 32768);
}

static void test_shapes(void)
{
	char msg[100];
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = 10, .n = 10, .k = 10, .tile_rows = 4, .tile_cols = 3};
	CHECK(kernel_shape_check(&s, 4096, 1 << 20, msg, sizeof(msg)) == 0);
	s.k = 5000;
	CHECK(kernel_shape_check(&s, 4096, 1 << 20, msg, sizeof(msg)) == ASSAY_ELIMIT);
	s.k = 10;
	s.tile_cols = 11;
	CHECK(kernel_shape_check(&s, 4096, 1 << 20, msg, sizeof(msg)) == ASSAY_EINVALID);
	s.tile_cols = 3;
	CHECK(kernel_shape_check(&s, 4096, 100, msg, sizeof(msg)) == ASSAY_ELIMIT);
	s.kind = 9;
	CHECK(kernel_shape_check(&s, 4096, 1 << 20, msg, sizeof(msg)) == ASSAY_EINVALID);
	struct job_shape m = {.kind = JOB_MLP_I8, .m = 8, .n = 4, .layers = 2, .dims = {16, 8, 4},
			      .shifts = {6, 6}, .tile_rows = 3, .tile_cols = 4};
	CHECK(kernel_shape_check(&m, 4096, 1 << 20, msg, sizeof(msg)) == 0);
	m.shifts[2] = 1;
	CHECK(kernel_shape_check(&m, 4096, 1 << 20, msg, sizeof(msg)) == ASSAY_EINVALID);
	m.shifts[2] = 0;
	m.tile_cols = 2;
	CHECK(kernel_shape_check(&m, 4096, 1 << 20, msg, sizeof(msg)) == ASSAY_EINVALID);
}

static void test_tiles(void)
{
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = 10, .n = 7, .k = 3, .tile_rows = 4, .tile_cols = 3};
	CHECK(kernel_tile_count(&s) == 9);
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(&s, 5, &r0, &c0, &nr, &nc);
	CHECK(r0 == 4 && c0 == 6 && nr == 4 && nc == 1);
	kernel_tile_rect(&s, 8, &r0, &c0, &nr, &nc);
	CHECK(r0 == 8 && c0 == 6 && nr == 2 && nc == 1);
	CHECK(kernel_tile_bytes(&s, 8) == 8);
	int32_t out[70];
	for (int i = 0; i < 70; i++)
		out[i] = i * 1000 - 7;
	uint8_t tile[48];
	kernel_tile_extract(&s, (const uint8_t *)out, 4, tile);
	/* tile 4: rows 4..7, cols 3..5, row-major int32 LE */
	CHECK((int32_t)le32_get(tile) == out[4 * 7 + 3]);
	CHECK((int32_t)le32_get(tile + 4 * 4) == out[5 * 7 + 4]);
	CHECK((int32_t)le32_get(tile + 44) == out[7 * 7 + 5]);
	/* leaf = H(0x00 || u32 LE i || tile) */
	uint8_t leaf[HASH_LEN], want[HASH_LEN], cat[4 + 48];
	kernel_tile_leaf(4, tile, 48, leaf);
	le32_put(cat, 4);
	memcpy(cat + 4, tile, 48);
	merkle_leaf_hash(cat, sizeof(cat), want);
	CHECK_EQ_MEM(leaf, want, HASH_LEN);
	uint8_t(*leaves)[HASH_LEN], root[HASH_LEN], oh[HASH_LEN], path[MERKLE_MAX_DEPTH][HASH_LEN];
	CHECK(kernel_commit(&s, (const uint8_t *)out, &leaves, root, oh) == 0);
	CHECK_EQ_MEM(leaves[4], leaf, HASH_LEN);
	sha256(out, sizeof(out), want);
	CHECK_EQ_MEM(oh, want, HASH_LEN);
	size_t depth;
	for (uint32_t i = 0; i < 9; i++) {
		CHECK(merkle_proof((const uint8_t(*)[HASH_LEN])leaves, 9, i, path, &depth) == 0);
		CHECK(merkle_verify(leaves[i], i, 9, (const uint8_t(*)[HASH_LEN])path, depth, root) == 0);
		CHECK(merkle_verify(leaves[i], (i + 1) % 9, 9, (const uint8_t(*)[HASH_LEN])path, depth, root) != 0);
	}
	free(leaves);
}

static void test_challenge(void)
{
	uint8_t beacon[HASH_LEN], job[HASH_LEN], worker[ADDR_LEN], seed[HASH_LEN], seed2[HASH_LEN];
	seed_of(beacon, 3);
	seed_of(job, 4);
	memset(worker, 7, sizeof(worker));
	uint8_t salt[HASH_LEN], root[HASH_LEN];
	seed_of(salt, 5);
	seed_of(root, 6);
	/* with the salt: beacon || salt || job || worker || root */
	kernel_challenge_seed(beacon, salt, job, worker, root, seed);
	uint8_t in[148];
	memcpy(in, beacon, 32);
	memcpy(in + 32, salt, 32);
	memcpy(in + 64, job, 32);
	memcpy(in + 96, worker, 20);
	memcpy(in + 116, root, 32);
	hash_tagged("assay/challenge", in, sizeof(in), seed2);
	CHECK_EQ_MEM(seed, seed2, HASH_LEN);
	/* without it (not opened in time): beacon || job || worker || root */
	kernel_challenge_seed(beacon, NULL, job, worker, root, seed2);
	memmove(in + 32, in + 64, 84);
	uint8_t want[HASH_LEN];
	hash_tagged("assay/challenge", in, 116, want);
	CHECK_EQ_MEM(seed2, want, HASH_LEN);
	CHECK(memcmp(seed, seed2, HASH_LEN) != 0);
	/* every part moves the seed: beacon, salt, job, worker and root */
	uint8_t *parts[] = {beacon, salt, job, worker, root};
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		parts[p][0] ^= 1;
		kernel_challenge_seed(beacon, salt, job, worker, root, seed2);
		CHECK(memcmp(seed, seed2, HASH_LEN) != 0);
		parts[p][0] ^= 1;
	}
	kernel_challenge_seed(beacon, salt, job, worker, root, seed2);
	CHECK_EQ_MEM(seed, seed2, HASH_LEN);
	/* the commitment binds the root to its worker; the salt hash is tagged */
	uint8_t c1[HASH_LEN], c2[HASH_LEN], cin[52];
	kernel_root_commitment(root, worker, c1);
	memcpy(cin, root, 32);
	memcpy(cin + 32, worker, 20);
	hash_tagged("assay/root-commit", cin, sizeof(cin), c2);
	CHECK_EQ_MEM(c1, c2, HASH_LEN);
	worker[0] ^= 1;
	kernel_root_commitment(root, worker, c2);
	CHECK(memcmp(c1, c2, HASH_LEN) != 0);
	worker[0] ^= 1;
	kernel_salt_hash(salt, c1);
	hash_tagged("assay/salt", salt, HASH_LEN, c2);
	CHECK_EQ_MEM(c1, c2, HASH_LEN);

	uint32_t idx[64], idx2[64];
	for (uint32_t tiles = 1; tiles < 200; tiles += 7) {
		uint32_t k = 16;
		uint32_t got = kernel_challenge_indices(seed, k, tiles, idx);
		CHECK(got == (k < tiles ? k : tiles));
		int ok = 1;
		for (uint32_t a = 0; a < got; a++) {
			ok &= idx[a] < tiles;
			for (uint32_t b = a + 1; b < got; b++)
				ok &= idx[a] != idx[b];
		}
		CHECK(ok);
		CHECK(kernel_challenge_indices(seed, k, tiles, idx2) == got);
		CHECK_EQ_MEM(idx, idx2, got * sizeof(uint32_t));
	}
	/* Every index is reachable: over many seeds, each of 10 tiles gets drawn. */
	int seen[10] = {0};
	for (int t = 0; t < 40; t++) {
		seed[0] = (uint8_t)t;
		kernel_challenge_indices(seed, 2, 10, idx);
		seen[idx[0]] = seen[idx[1]] = 1;
	}
	int all = 1;
	for (int i = 0; i < 10; i++)
		all &= seen[i];
	CHECK(all);
}

static void freivalds_cases(void)
{
	enum { M = 7, N = 9, K = 13 };
	int8_t A[M * K], Bt[N * K];
	int32_t C[M * N];
	fill_i8(A, sizeof(A));
	fill_i8(Bt, sizeof(Bt));
	kernel_matmul_ref(A, Bt, C, M, N, K);
	uint8_t seed[HASH_LEN];
	seed_of(seed, 9);
	uint64_t r[N];
	kernel_freivalds_vector(seed, 0, N, r);
	int inrange = 1;
	for (int j = 0; j < N; j++)
		inrange &= r[j] >= 1 && r[j] < KERNEL_P61;
	CHECK(inrange);
	CHECK(kernel_freivalds(A, Bt, C, M, N, K, r) == 0);
	/* Every single changed entry is caught, by +1 and by the largest jump. */
	int caught = 0;
	for (int e = 0; e < M * N; e++) {
		int32_t keep = C[e];
		C[e] = keep + 1;
		caught += kernel_freivalds(A, Bt, C, M, N, K, r) == ASSAY_EINVALID;
		C[e] = keep ^ (int32_t)0x80000000;
		caught += kernel_freivalds(A, Bt, C, M, N, K, r) == ASSAY_EINVALID;
		C[e] = keep;
	}
	CHECK(caught == 2 * M * N);
	/* Full-output client check. */
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = M, .n = N, .k = K, .tile_rows = 2, .tile_cols = 4};
	uint8_t *in[KERNEL_MAX_INPUTS] = {(uint8_t *)A, (uint8_t *)Bt};
	CHECK(kernel_freivalds_full(&s, in, (const uint8_t *)C, seed) == 0);
	C[M * N - 1]--;
	CHECK(kernel_freivalds_full(&s, in, (const uint8_t *)C, seed) == ASSAY_EINVALID);
	C[M * N - 1]++;
	/* Tile check from seed inputs, matmul and mlp. */
	struct kernel_src src = {.from_seed = 1};
	seed_of(src.seed, 42);
	uint8_t *inp[KERNEL_MAX_INPUTS], *out;
	uint64_t olen;
	CHECK(kernel_src_load(&src, &s, inp) == 0);
	CHECK(kernel_compute_ref(&s, inp, &out, &olen) == 0);
	int tiles_ok = 1, tiles_bad = 1;
	for (uint32_t i = 0; i < kernel_tile_count(&s); i++) {
		uint8_t tile[64];
		size_t len = kernel_tile_bytes(&s, i);
		kernel_tile_extract(&s, out, i, tile);
		tiles_ok &= kernel_check_tile(&s, &src, seed, i, tile, len) == 0;
		tile[len - 1] ^= 0x10;
		tiles_bad &= kernel_check_tile(&s, &src, seed, i, tile, len) == ASSAY_EINVALID;
		tiles_bad &= kernel_check_tile(&s, &src, seed, i, tile, len - 1) == ASSAY_EINVALID;
	}
	CHECK(tiles_ok && tiles_bad);
	free(out);
	free(inp[0]);
	free(inp[1]);
}

/* Ragged products with extreme entries (the first and last rows of A, the
 * first column): the honest product passes at every level, and an entry
 * changed by delta in each listed row is caught. 133 rows is a client's
 * full check in small: four at a time on AVX-512, then a ragged tail. */
static void freivalds_ragged(uint32_t m, const int *rows, size_t nrows, int32_t delta)
{
	enum { N = 43, K = 301 };
	int8_t *A = malloc((size_t)m * K), *Bt = malloc(N * K);
	int32_t *C = malloc(sizeof(int32_t) * m * N);
	fill_i8(A, (size_t)m * K);
	fill_i8(Bt, N * K);
	memset(A, -128, K);
	memset(Bt, -128, K);
	memset(A + (size_t)(m - 1) * K, 127, K);
	kernel_matmul_ref(A, Bt, C, m, N, K);
	uint64_t r[N];
	uint8_t seed[HASH_LEN] = {(uint8_t)m};
	kernel_freivalds_vector(seed, 3, N, r);
	for (int simd = 0; simd <= 2; simd++) {
		kernel_simd_enable(simd);
		CHECK(kernel_freivalds(A, Bt, C, m, N, K, r) == 0);
		for (size_t q = 0; q < nrows; q++) {
			int32_t *e = C + rows[q] * N + (rows[q] * 7) % N;
			*e += delta;
			CHECK(kernel_freivalds(A, Bt, C, m, N, K, r) == ASSAY_EINVALID);
			*e -= delta;
		}
		CHECK(kernel_freivalds(A, Bt, C, m, N, K, r) == 0);
	}
	kernel_simd_enable(2);
	free(A);
	free(Bt);
	free(C);
}

/* The AVX-512, AVX2 and portable Freivalds compute the same integers. */
static void test_freivalds(void)
{
	for (int level = 0; level <= 2; level++) {
		kernel_simd_enable(level);
		freivalds_cases();
	}
	static const int middle[] = {18}, many[] = {0, 3, 63, 64, 101, 127, 128, 131, 132};
	freivalds_ragged(37, middle, 1, -(1 << 20));
	freivalds_ragged(133, many, sizeof(many) / sizeof(many[0]), 1);
}

/* A matmul job with tiles tr x tc: every tile of the reference output
 * passes kernel_check_tile, and every entry changed by +1 or by flipping its
 * sign bit is caught (tiles of <= KERNEL_RECOMPUTE_MAX entries by
 * recompute, larger ones by Freivalds). data: blob inputs, else from a seed. */
static void tile_check_case(uint32_t m, uint32_t n, uint32_t k, uint32_t tr, uint32_t tc, uint8_t *const data[2])
{
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = m, .n = n, .k = k, .tile_rows = tr, .tile_cols = tc};
	CHECK(kernel_shape_check(&s, 1u << 17, 1ull << 40, NULL, 0) == 0);
	struct kernel_src src = {.from_seed = data == NULL};
	seed_of(src.seed, 77);
	uint8_t *in[KERNEL_MAX_INPUTS] = {0}, *out;
	uint64_t olen;
	if (data) {
		src.data[0] = in[0] = data[0];
		src.data[1] = in[1] = data[1];
	} else {
		CHECK(kernel_src_load(&src, &s, in) == 0);
	}
	CHECK(kernel_compute_ref(&s, in, &out, &olen) == 0);
	uint8_t vseed[HASH_LEN] = {5};
	uint8_t *tile = malloc((size_t)tr * tc * 4);
	int pass = 1, caught = 0, changed = 0;
	for (uint32_t i = 0; i < kernel_tile_count(&s); i++) {
		size_t len = kernel_tile_bytes(&s, i);
		kernel_tile_extract(&s, out, i, tile);
		pass &= kernel_check_tile(&s, &src, vseed, i, tile, len) == 0;
		for (size_t e = 0; e < len; e += 4) {
			uint32_t keep = le32_get(tile + e);
			le32_put(tile + e, keep + 1);
			caught += kernel_check_tile(&s, &src, vseed, i, tile, len) == ASSAY_EINVALID;
			le32_put(tile + e, keep ^ 0x80000000u);
			caught += kernel_check_tile(&s, &src, vseed, i, tile, len) == ASSAY_EINVALID;
			le32_put(tile + e, keep);
			changed += 2;
		}
	}
	CHECK(pass);
	CHECK_EQ_U64(caught, changed);
	/* kernel_check_tiles over every tile and half of them again (so rows
	 * and columns are shared), every third copy altered and one of the
	 * wrong length: each verdict is kernel_check_tile's */
	uint32_t tiles = kernel_tile_count(&s), nb = 0, bidx[256];
	uint8_t *bt[256];
	const uint8_t *bp[256];
	size_t blen[256];
	int verdict[256], differ = 0, wrong = 0;
	for (uint32_t q = 0; q < tiles + tiles / 2 && nb < 256; q++, nb++) {
		bidx[nb] = q < tiles ? q : (q * 7) % tiles;
		blen[nb] = kernel_tile_bytes(&s, bidx[nb]);
		bt[nb] = malloc(blen[nb] + 4);
		kernel_tile_extract(&s, out, bidx[nb], bt[nb]);
		if (nb % 3 == 2)
			bt[nb][blen[nb] - 1] ^= 0x40;
		if (nb == 4)
			blen[nb] += 4;
		bp[nb] = bt[nb];
	}
	kernel_check_tiles(&s, &src, vseed, nb, bidx, bp, blen, verdict);
	for (uint32_t q = 0; q < nb; q++) {
		differ += verdict[q] != kernel_check_tile(&s, &src, vseed, bidx[q], bt[q], blen[q]);
		wrong += verdict[q] == ASSAY_EINVALID;
		free(bt[q]);
	}
	CHECK_EQ_INT(differ, 0);
	CHECK(wrong >= (int)nb / 3);
	free(tile);
	free(out);
	if (!data) {
		free(in[0]);
		free(in[1]);
	}
}

/* Inputs of the largest entries: A all -128 and B all -128 (every product
 * 2^14, the int32 maximum of a sum at KERNEL_MAX_K), or B all 127 (the most
 * negative sums). */
static void extreme_inputs(uint32_t m, uint32_t n, uint32_t k, int8_t b, uint8_t *data[2])
{
	data[0] = malloc((size_t)m * k);
	data[1] = malloc((size_t)n * k);
	memset(data[0], -128, (size_t)m * k);
	memset(data[1], b, (size_t)n * k);
}

static void tile_check_cases(void)
{
	/* Edge tiles (3 or 5 wide), k not a multiple of 16. */
	tile_check_case(19, 21, 37, 8, 8, NULL);
	tile_check_case(5, 70, 200, 1, 64, NULL);
	/* 72 entries: Freivalds, and its own edge tiles. */
	tile_check_case(17, 19, 45, 8, 9, NULL);
	/* k of whole slice units: on AVX-512 the check expands its rows
	 * word-sliced (recompute and Freivalds, edge tiles 1 and 2 wide). */
	tile_check_case(9, 10, 1024, 8, 8, NULL);
	tile_check_case(17, 9, 2048, 8, 9, NULL);
	/* The largest k with the largest entries, on both paths. */
	uint8_t *data[2];
	for (int b = 0; b < 2; b++) {
		extreme_inputs(9, 9, KERNEL_MAX_K, b ? 127 : -128, data);
		tile_check_case(9, 9, KERNEL_MAX_K, 8, 8, data);
		tile_check_case(9, 9, KERNEL_MAX_K, 9, 8, data);
		free(data[0]);
		free(data[1]);
	}
}

/* Freivalds on one row of the widest tile (2^17 - 1 columns, past several
 * DOT32_CHUNKs), extreme entries: y = B.r reaches +-2^55 before its
 * reduction mod p. */
static void freivalds_wide(void)
{
	enum { N = (1 << 17) - 1, K = 2 };
	int8_t A[K] = {-128, -128}, *Bt = malloc((size_t)N * K);
	int32_t *T = malloc(sizeof(int32_t) * N);
	uint64_t *r = malloc(sizeof(uint64_t) * N);
	uint8_t seed[HASH_LEN] = {11};
	kernel_freivalds_vector(seed, 0, N, r);
	for (int b = 0; b < 2; b++) {
		memset(Bt, b ? 127 : -128, (size_t)N * K);
		kernel_matmul_ref(A, Bt, T, 1, N, K);
		CHECK(kernel_freivalds(A, Bt, T, 1, N, K, r) == 0);
		T[N - 1] += 1;
		CHECK(kernel_freivalds(A, Bt, T, 1, N, K, r) == ASSAY_EINVALID);
		T[N - 1] -= 1;
		T[0] ^= (int32_t)0x80000000;
		CHECK(kernel_freivalds(A, Bt, T, 1, N, K, r) == ASSAY_EINVALID);
	}
	free(Bt);
	free(T);
	free(r);
}

/* The exact recompute: both paths give the same verdicts, on tiles of
 * every shape up to KERNEL_RECOMPUTE_MAX entries; larger tiles are refused. */
static void recompute_shapes(void)
{
	enum { K = 333 };
	int8_t *A = malloc(64 * K), *Bt = malloc(64 * K);
	int32_t C[64];
	fill_i8(A, 64 * K);
	fill_i8(Bt, 64 * K);
	int ok = 1;
	for (uint32_t nr = 1; nr <= 64; nr++)
		for (uint32_t nc = 1; nr * nc <= KERNEL_RECOMPUTE_MAX; nc++) {
			kernel_matmul_ref(A, Bt, C, nr, nc, K);
			ok &= kernel_tile_recompute(A, Bt, (const uint8_t *)C, nr, nc, K) == 0;
			C[nr * nc - 1] -= 1;
			ok &= kernel_tile_recompute(A, Bt, (const uint8_t *)C, nr, nc, K) == ASSAY_EINVALID;
		}
	CHECK(ok);
	CHECK(kernel_tile_recompute(A, Bt, (const uint8_t *)C, 5, 13, K) == ASSAY_EARG);
	free(A);
	free(Bt);
}

/* Threads checking tiles at once each use their own cipher context and
 * scratch (the consensus code may check on several threads). */
struct check_thread {
	const struct job_shape *s;
	const struct kernel_src *src;
	const uint8_t *out;
	int ok;
};

static void *check_all_tiles(void *arg)
{
	struct check_thread *c = arg;
	uint8_t tile[8 * 8 * 4], vseed[HASH_LEN] = {3};
	c->ok = 1;
	for (int round = 0; round < 20; round++)
		for (uint32_t i = 0; i < kernel_tile_count(c->s); i++) {
			size_t len = kernel_tile_bytes(c->s, i);
			kernel_tile_extract(c->s, c->out, i, tile);
			c->ok &= kernel_check_tile(c->s, c->src, vseed, i, tile, len) == 0;
			tile[0] ^= 1;
			c->ok &= kernel_check_tile(c->s, c->src, vseed, i, tile, len) == ASSAY_EINVALID;
		}
	return NULL;
}

static void tile_check_threads(void)
{
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = 24, .n = 24, .k = 300, .tile_rows = 8, .tile_cols = 8};
	struct kernel_src src = {.from_seed = 1};
	seed_of(src.seed, 8);
	uint8_t *in[KERNEL_MAX_INPUTS], *out;
	uint64_t olen;
	CHECK(kernel_src_load(&src, &s, in) == 0);
	CHECK(kernel_compute_ref(&s, in, &out, &olen) == 0);
	pthread_t th[4];
	struct check_thread c[4];
	for (int t = 0; t < 4; t++) {
		c[t] = (struct check_thread){.s = &s, .src = &src, .out = out, .ok = 0};
		CHECK(pthread_create(&th[t], NULL, check_all_tiles, &c[t]) == 0);
	}
	int ok = 1;
	for (int t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		ok &= c[t].ok;
	}
	CHECK(ok);
	free(out);
	free(in[0]);
	free(in[1]);
}

/* The per-thread stream key is remembered per input id: interleaving seeds
 * still gives each seed its own stream. */
static void expand_interleaved(void)
{
	uint8_t s1[HASH_LEN], s2[HASH_LEN], a[200], b[200], c[200];
	seed_of(s1, 1);
	seed_of(s2, 2);
	kernel_expand(s1, 1, 64, a, sizeof(a));
	kernel_expand(s2, 1, 64, b, sizeof(b));
	kernel_expand(s1, 1, 64, c, sizeof(c));
	CHECK_EQ_MEM(a, c, sizeof(a));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	kernel_expand(s1, 0, 64, b, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

/* The matmul tile check, at every SIMD level. */
static void test_tile_check(void)
{
	for (int simd = 0; simd <= 2; simd++) {
		kernel_simd_enable(simd);
		tile_check_cases();
		freivalds_wide();
		recompute_shapes();
	}
	kernel_simd_enable(2);
	tile_check_threads();
	expand_interleaved();
}

/* One wide layer beside a narrow one: the worker's buffer for a layer's
 * transposed weights is the largest weight matrix (at most
 * MLP_MAX_WEIGHT_BYTES), not the widest width squared, 4 GiB here, whose
 * allocation failing made an honest worker miss its commit. Run in a child
 * whose address space is capped well below that (not under ASan, which
 * needs a vast one of its own). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(TEST_UNDER_ASAN)
#define TEST_UNDER_ASAN 1
#endif
static void test_mlp_wide_layer_memory(void)
{
#if defined(TEST_UNDER_ASAN)
	fprintf(stderr, "  (skipped under ASan)\n");
#else
	struct job_shape s = {.kind = JOB_MLP_I8, .m = 1, .n = 16, .layers = 1, .dims = {65536, 16},
			      .shifts = {8}, .tile_rows = 1, .tile_cols = 16};
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		long pages = 0, page = sysconf(_SC_PAGESIZE);
		FILE *f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%ld", &pages) != 1)
			_exit(3);
		fclose(f);
		struct rlimit cap = {(rlim_t)pages * (rlim_t)page + (512u << 20), RLIM_INFINITY};
		cap.rlim_max = cap.rlim_cur;
		if (setrlimit(RLIMIT_AS, &cap) != 0)
			_exit(3);
		uint8_t *in[KERNEL_MAX_INPUTS] = {0};
		in[0] = calloc(65536, 1);           /* the input row */
		in[1] = calloc(65536u * 16, 1);     /* W: 1 MiB */
		in[2] = calloc(16 * 4, 1);          /* bias */
		int8_t out[16];
		if (!in[0] || !in[1] || !in[2])
			_exit(4);
		_exit(backend_cpu_mlp_i8(&s, in, out, NULL, 1) == 0 ? 0 : 1);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
#endif
}

static void test_mlp(void)
{
	struct job_shape s = {.kind = JOB_MLP_I8, .m = 19, .n = 5, .layers = 3, .dims = {33, 17, 9, 5},
			      .shifts = {6, 5, 4}, .tile_rows = 4, .tile_cols = 5};
	CHECK(kernel_shape_check(&s, 4096, 1 << 20, NULL, 0) == 0);
	struct kernel_src src = {.from_seed = 1};
	seed_of(src.seed, 5);
	uint8_t *in[KERNEL_MAX_INPUTS], *ref, *fast;
	uint64_t olen;
	CHECK(kernel_src_load(&src, &s, in) == 0);
	CHECK(kernel_compute_ref(&s, in, &ref, &olen) == 0);
	CHECK(olen == 19 * 5);
	/* Non-trivial output: not all saturated, not all zero. */
	int distinct = 0;
	for (uint64_t i = 1; i < olen; i++)
		distinct += ref[i] != ref[0];
	CHECK(distinct > 10);
	/* The mlp layers run on the same GEMM: every kernel path this CPU has,
	 * and the pre-activations it keeps are the reference's. */
	uint8_t *ref2, *ref_pre, *fast_pre;
	CHECK(mlp_compute_ref(&s, in, &ref2, &ref_pre) == 0);
	CHECK_EQ_MEM(ref, ref2, olen);
	for (int isa = BACKEND_ISA_PORTABLE; isa <= BACKEND_ISA_AVX512VNNI; isa++) {
		backend_cpu_set_isa(isa);
		CHECK(backend_cpu_compute(&s, in, &fast, &fast_pre, 2) == 0);
		CHECK_EQ_MEM(ref, fast, olen);
		CHECK(fast_pre != NULL);
		CHECK_EQ_MEM(ref_pre, fast_pre, mlp_pre_bytes(&s, s.m));
		free(fast);
		free(fast_pre);
	}
	free(ref2);
	free(ref_pre);
	backend_cpu_set_isa(BACKEND_ISA_AVX512VNNI);
	CHECK(backend_cpu_compute(&s, in, &fast, NULL, 2) == 0);
	uint8_t seed[HASH_LEN] = {0};
	int ok = 1;
	for (uint32_t i = 0; i < kernel_tile_count(&s); i++) {
		uint8_t tile[20];
		size_t len = kernel_tile_bytes(&s, i);
		kernel_tile_extract(&s, ref, i, tile);
		ok &= kernel_check_tile(&s, &src, seed, i, tile, len) == 0;
		tile[0] ^= 1;
		ok &= kernel_check_tile(&s, &src, seed, i, tile, len) == ASSAY_EINVALID;
	}
	CHECK(ok);
	free(ref);
	free(fast);
	for (unsigned i = 0; i < kernel_input_count(&s); i++)
		free(in[i]);
}

/* Adds delta to the int32 LE word at p. */
static void add_i32(uint8_t *p, int64_t delta)
{
	le32_put(p, (uint32_t)(int32_t)((int32_t)le32_get(p) + delta));
}

/* The reveal's mlp check (docs/compute.md §5.2): every honest tile passes,
 * and each way a worker can be wrong is caught: an output element, a
 * pre-activation out of step with the output, one that leaves the output
 * as it is (only Freivalds sees it), the bias folded into z, a wrong
 * bias, wrong lengths and indices. */
static void mlp_check_cases(void)
{
	struct job_shape s = {.kind = JOB_MLP_I8, .m = 19, .n = 5, .layers = 3, .dims = {33, 17, 9, 5},
			      .shifts = {6, 5, 4}, .tile_rows = 4, .tile_cols = 5};
	struct kernel_src src = {.from_seed = 1};
	seed_of(src.seed, 9);
	uint8_t *in[KERNEL_MAX_INPUTS], *out, *pre, vseed[HASH_LEN];
	CHECK(kernel_src_load(&src, &s, in) == 0);
	CHECK(mlp_compute_ref(&s, in, &out, &pre) == 0);
	seed_of(vseed, 77);
	mlp_check_t *mc = mlp_check_create(&s, &src, vseed);
	CHECK(mc != NULL);
	uint8_t tile[20], z[4 * 4 * (17 + 9 + 5)];
	uint32_t tiles = kernel_tile_count(&s), silent = 0;
	for (uint32_t i = 0; i < tiles; i++) {
		size_t len = kernel_tile_bytes(&s, i), plen = mlp_tile_pre_bytes(&s, i);
		uint32_t r0, c0, nr, nc;
		kernel_tile_rect(&s, i, &r0, &c0, &nr, &nc);
		kernel_tile_extract(&s, out, i, tile);
		mlp_tile_pre_extract(&s, pre, i, z);
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen), 0);
		CHECK_EQ_INT(mlp_recompute_tile(&s, &src, i, tile, len), 0);
		/* a wrong output element, the z's right */
		tile[len - 1] ^= 1;
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen), ASSAY_EINVALID);
		CHECK_EQ_INT(mlp_recompute_tile(&s, &src, i, tile, len), ASSAY_EINVALID);
		tile[len - 1] ^= 1;
		/* a z of layer 1 far off: its requantized row no longer matches */
		add_i32(z, 1 << 20);
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen), ASSAY_EINVALID);
		add_i32(z, -(1 << 20));
		/* z's off by one that requantize to the same output: Freivalds alone
		 * catches them, in every layer */
		uint8_t *layer = z;
		for (unsigned l = 0; l < s.layers; l++) {
			uint32_t d = s.dims[l + 1];
			for (uint32_t j = 0; j < nr * d; j++) {
				int32_t v = (int32_t)le32_get(layer + 4 * j);
				int32_t b = (int32_t)le32_get(in[2 + 2 * l] + 4 * (j % d));
				int relu = l + 1 < s.layers;
				if (kernel_requant((int64_t)v + b, s.shifts[l], relu) !=
				    kernel_requant((int64_t)v + 1 + b, s.shifts[l], relu))
					continue;
				add_i32(layer + 4 * j, 1);
				CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen), ASSAY_EINVALID);
				add_i32(layer + 4 * j, -1);
				silent++;
				break;
			}
			layer += 4ull * nr * d;
		}
		/* the bias folded into z (consistent with the output): not the product */
		for (uint32_t r = 0; r < nr; r++)
			for (uint32_t j = 0; j < s.dims[1]; j++)
				add_i32(z + 4 * (r * s.dims[1] + j), (int32_t)le32_get(in[2] + 4 * j));
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen), ASSAY_EINVALID);
		mlp_tile_pre_extract(&s, pre, i, z);
		/* lengths and index */
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen - 4), ASSAY_EINVALID);
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len - 1, z, plen), ASSAY_EINVALID);
		CHECK_EQ_INT(mlp_check_tile(mc, tiles, tile, len, z, plen), ASSAY_EINVALID);
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen), 0);
	}
	CHECK(silent >= tiles * 2); /* most tiles had such an entry in most layers */
	/* A worker that used a wrong bias in layer 1: its own output and z's are
	 * consistent with each other, not with the job's inputs. */
	uint8_t *bad_in[KERNEL_MAX_INPUTS], *bad_out, *bad_pre;
	memcpy(bad_in, in, sizeof(bad_in));
	uint8_t *bias = malloc(4 * 17);
	memcpy(bias, in[2], 4 * 17);
	add_i32(bias + 4 * 3, 20000);
	bad_in[2] = bias;
	CHECK(mlp_compute_ref(&s, bad_in, &bad_out, &bad_pre) == 0);
	uint32_t differ = 0;
	for (uint32_t i = 0; i < tiles; i++) {
		size_t len = kernel_tile_bytes(&s, i), plen = mlp_tile_pre_bytes(&s, i);
		uint8_t good_z[sizeof(z)];
		kernel_tile_extract(&s, bad_out, i, tile);
		mlp_tile_pre_extract(&s, bad_pre, i, z);
		mlp_tile_pre_extract(&s, pre, i, good_z);
		int same = memcmp(z, good_z, plen) == 0 && memcmp(tile, out + (size_t)i * 4 * 5, len) == 0;
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, len, z, plen), same ? 0 : ASSAY_EINVALID);
		differ += !same;
	}
	CHECK(differ > tiles / 2);
	mlp_check_destroy(mc);
	free(bias);
	free(bad_out);
	free(bad_pre);
	free(out);
	free(pre);
	for (unsigned i = 0; i < kernel_input_count(&s); i++)
		free(in[i]);
}

/* The largest widths the limits allow: d = 2^17 - 1 into 16 and back (4 MiB
 * of weights less 32 bytes), inputs at the int8 extremes and full-range
 * int32 biases. The pre-activations reach +-(2^17 - 1) 2^14 and still fit
 * int32, the limb sums stay exact, and a one-off z is caught. */
static void mlp_bounds_cases(void)
{
	struct job_shape s = {.kind = JOB_MLP_I8, .m = 3, .n = KERNEL_MAX_K, .layers = 2,
			      .dims = {KERNEL_MAX_K, 16, KERNEL_MAX_K}, .shifts = {31, 0}, .tile_rows = 1,
			      .tile_cols = KERNEL_MAX_K};
	CHECK_EQ_INT(kernel_shape_check(&s, 1u << 17, 1u << 20, NULL, 0), 0);
	uint8_t *in[KERNEL_MAX_INPUTS] = {0};
	for (unsigned id = 0; id < kernel_input_count(&s); id++) {
		uint64_t n = kernel_input_bytes(&s, id);
		in[id] = malloc(n);
		if (id % 2 == 1 || id == 0) /* X and W: -128, except row 1 of X at 127 */
			memset(in[id], 0x80, n);
		else
			for (uint64_t j = 0; j < n; j += 4)
				le32_put(in[id] + j, j % 8 ? 0x7fffffffu : 0x80000000u);
	}
	memset(in[0] + KERNEL_MAX_K, 127, KERNEL_MAX_K);
	struct kernel_src src = {.from_seed = 0};
	for (unsigned id = 0; id < KERNEL_MAX_INPUTS; id++)
		src.data[id] = in[id];
	uint8_t *out, *pre, vseed[HASH_LEN];
	CHECK(mlp_compute_ref(&s, in, &out, &pre) == 0);
	/* row 0: z_1 = (2^17 - 1) 2^14 exactly, the largest product sum */
	CHECK_EQ_INT((int32_t)le32_get(pre), (int64_t)KERNEL_MAX_K << 14);
	CHECK_EQ_INT((int32_t)le32_get(pre + 4 * 16), -(int64_t)KERNEL_MAX_K * 127 * 128);
	seed_of(vseed, 3);
	mlp_check_t *mc = mlp_check_create(&s, &src, vseed);
	CHECK(mc != NULL);
	size_t plen = (size_t)mlp_tile_pre_bytes(&s, 0);
	uint8_t *z = malloc(plen);
	for (uint32_t i = 0; i < 3; i++) {
		mlp_tile_pre_extract(&s, pre, i, z);
		const uint8_t *tile = out + (size_t)i * KERNEL_MAX_K;
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, KERNEL_MAX_K, z, plen), 0);
		add_i32(z + plen - 4, 1); /* the last z of the last layer */
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, KERNEL_MAX_K, z, plen), ASSAY_EINVALID);
	}
	CHECK_EQ_INT(mlp_recompute_tile(&s, &src, 1, out + KERNEL_MAX_K, KERNEL_MAX_K), 0);
	mlp_check_destroy(mc);
	free(z);
	free(out);
	free(pre);
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
}

/* Inputs from a seed, widths d0-d1-7, 1-row tiles: every honest tile passes
 * and a layer-1 z one off is caught in every tile. */
static void mlp_check_seeded(uint32_t d0, uint32_t d1)
{
	struct job_shape s = {.kind = JOB_MLP_I8, .m = 5, .n = 7, .layers = 2, .dims = {d0, d1, 7},
			      .shifts = {9, 8}, .tile_rows = 1, .tile_cols = 7};
	struct kernel_src src = {.from_seed = 1};
	seed_of(src.seed, 21);
	uint8_t *in[KERNEL_MAX_INPUTS], *out, *pre, vseed[HASH_LEN];
	CHECK(kernel_src_load(&src, &s, in) == 0);
	CHECK(mlp_compute_ref(&s, in, &out, &pre) == 0);
	seed_of(vseed, 5);
	mlp_check_t *mc = mlp_check_create(&s, &src, vseed);
	CHECK(mc != NULL);
	size_t plen = (size_t)mlp_tile_pre_bytes(&s, 0);
	uint8_t *z = malloc(plen), tile[7];
	for (uint32_t i = 0; mc && i < kernel_tile_count(&s); i++) {
		kernel_tile_extract(&s, out, i, tile);
		mlp_tile_pre_extract(&s, pre, i, z);
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, sizeof(tile), z, plen), 0);
		add_i32(z + 4 * (i * 37 % d1), -1); /* a layer-1 z */
		CHECK_EQ_INT(mlp_check_tile(mc, i, tile, sizeof(tile), z, plen), ASSAY_EINVALID);
	}
	mlp_check_destroy(mc);
	free(z);
	free(out);
	free(pre);
	for (unsigned i = 0; i < kernel_input_count(&s); i++)
		free(in[i]);
}

static void mlp_check_seeded_wide(void)
{
	/* W_1 larger than the part of it mlp_check_create reads at a time
	 * (300 x 260 bytes: two reads, the second 48 rows) */
	mlp_check_seeded(300, 260);
	/* rows of W_1 of whole slice units: read word-sliced on AVX-512, with
	 * r_1's limbs in the same order (100 x 1024: reads of 64 and 36 rows) */
	mlp_check_seeded(100, 1024);
}

/* The portable, AVX2 and AVX-512 sums of the mlp check give the same
 * verdicts (levels the CPU lacks fall back to the next one down). */
static void test_mlp_check(void)
{
	for (int level = 0; level <= 2; level++) {
		mlp_simd_enable(level);
		mlp_check_cases();
		mlp_check_seeded_wide();
	}
}

static void test_mlp_bounds(void)
{
	for (int level = 0; level <= 2; level++) {
		mlp_simd_enable(level);
		mlp_bounds_cases();
	}
}

static void gemm_case(uint32_t m, uint32_t n, uint32_t k, int threads)
{
	int8_t *A = malloc((size_t)m * k), *Bt = malloc((size_t)n * k);
	int32_t *ref = malloc(sizeof(int32_t) * m * n), *fast = malloc(sizeof(int32_t) * m * n);
	fill_i8(A, (size_t)m * k);
	fill_i8(Bt, (size_t)n * k);
	/* Extremes where saturation in int16 pair sums would show. */
	A[0] = -128;
	Bt[0] = -128;
	kernel_matmul_ref(A, Bt, ref, m, n, k);
	for (int isa = BACKEND_ISA_PORTABLE; isa <= BACKEND_ISA_AVX512VNNI; isa++) {
		backend_cpu_set_isa(isa); /* levels this CPU lacks fall back to one it has */
		memset(fast, 0x55, sizeof(int32_t) * m * n);
		int err = backend_cpu_matmul_i8(A, Bt, fast, m, n, k, threads);
		CHECK(err == 0);
		if (memcmp(ref, fast, sizeof(int32_t) * m * n) != 0) {
			fprintf(stderr, "gemm mismatch m=%u n=%u k=%u threads=%d isa=%s\n", m, n, k,
				threads, backend_cpu_isa());
			CHECK(0);
		}
	}
	backend_cpu_set_isa(BACKEND_ISA_AVX512VNNI);
	free(A);
	free(Bt);
	free(ref);
	free(fast);
}

/* Two callers at once: one runs on the backend's resident threads, the
 * other starts threads of its own; both get the exact product, call after
 * call, with thread counts that leave resident threads idle. */
struct gemm_caller {
	const int8_t *A, *Bt;
	const int32_t *ref;
	uint32_t m, n, k;
	int threads, same;
};

static void *gemm_caller_run(void *arg)
{
	struct gemm_caller *g = arg;
	int32_t *out = malloc(sizeof(int32_t) * g->m * g->n);
	g->same = out != NULL;
	for (int rep = 0; rep < 20 && g->same; rep++) {
		int threads = 1 + (g->threads + rep) % 4;
		g->same = backend_cpu_matmul_i8(g->A, g->Bt, out, g->m, g->n, g->k, threads) == 0 &&
			  memcmp(out, g->ref, sizeof(int32_t) * g->m * g->n) == 0;
	}
	free(out);
	return NULL;
}

static void test_backend_gemm_concurrent(void)
{
	uint32_t m = 70, n = 90, k = 700;
	int8_t *A = malloc((size_t)m * k), *Bt = malloc((size_t)n * k);
	int32_t *ref = malloc(sizeof(int32_t) * m * n);
	fill_i8(A, (size_t)m * k);
	fill_i8(Bt, (size_t)n * k);
	kernel_matmul_ref(A, Bt, ref, m, n, k);
	struct gemm_caller g[2];
	pthread_t tid[2];
	for (int i = 0; i < 2; i++) {
		g[i] = (struct gemm_caller){.A = A, .Bt = Bt, .ref = ref, .m = m, .n = n, .k = k, .threads = i};
		CHECK(pthread_create(&tid[i], NULL, gemm_caller_run, &g[i]) == 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(tid[i], NULL);
		CHECK(g[i].same);
	}
	free(A);
	free(Bt);
	free(ref);
}

static void test_backend_gemm(void)
{
	gemm_case(1, 1, 1, 1);
	gemm_case(1, 1, 2, 1);
	gemm_case(6, 16, 2, 1);
	gemm_case(7, 17, 3, 2);
	gemm_case(5, 15, 513, 3);
	gemm_case(13, 33, 511, 2);
	gemm_case(64, 64, 64, 4);
	gemm_case(37, 300, 1025, 2);
	for (int t = 0; t < 6; t++)
		gemm_case(1 + (uint32_t)(rng() % 70), 1 + (uint32_t)(rng() % 70),
			  1 + (uint32_t)(rng() % 600), 1 + (int)(rng() % 3));
	/* Around the AVX2 path's 6 x 16 tile and its 4096-k cache block (2048
	 * pairs), VNNI's 8 x 32 tile and 1024-k block (256 quads), K = 1, and
	 * more threads than row panels. */
	static const uint32_t ms[] = {5, 6, 7, 12, 13, 17, 48, 49};
	static const uint32_t ns[] = {15, 16, 17, 31, 32, 33, 48, 65};
	static const uint32_t ks[] = {1, 2, 3, 1023, 1025, 4095, 4096, 4099};
	for (int t = 0; t < 8; t++)
		gemm_case(ms[t], ns[(t + 3) % 8], ks[t], 1 + t % 3);
	gemm_case(13, 35, 1, 2);
	gemm_case(97, 50, 1, 3);
	gemm_case(2, 40, 9, 8);
	for (int t = 0; t < 12; t++)
		gemm_case(1 + (uint32_t)(rng() % 100), 1 + (uint32_t)(rng() % 200),
			  1 + (uint32_t)(rng() % 9000), 1 + (int)(rng() % 4));
	/* k past one AVX2 k block (2048 groups) with more B panels than a
	 * block of them holds where L2 limits the block to fewer than 8. */
	gemm_case(13, 200, 4100, 2);
	gemm_case(20, 300, 4096, 1);
	/* Random values at the largest K the chain allows, on a full tile
	 * and an edge. */
	gemm_case(7, 17, KERNEL_MAX_K, 2);
	/* The largest sum the K limit allows: all -128 at k = 2^17 - 1, on
	 * every path (the VNNI path biases A by +128 and wraps in between). */
	uint32_t kmax = KERNEL_MAX_K;
	int8_t *ext = malloc((size_t)32 * kmax);
	memset(ext, -128, (size_t)32 * kmax);
	int32_t *cext = malloc(sizeof(int32_t) * 32 * 32), want = (int32_t)(kmax * 16384u);
	int all_max = 1;
	for (int isa = BACKEND_ISA_PORTABLE; isa <= BACKEND_ISA_AVX512VNNI; isa++) {
		backend_cpu_set_isa(isa);
		CHECK(backend_cpu_matmul_i8(ext, ext, cext, 3, 3, kmax, 2) == 0);
		for (int i = 0; i < 9; i++)
			all_max &= cext[i] == want;
		/* Whole tiles of every path (6 x 16, 8 x 32). */
		CHECK(backend_cpu_matmul_i8(ext, ext, cext, 32, 32, kmax, 2) == 0);
		for (int i = 0; i < 32 * 32; i++)
			all_max &= cext[i] == want;
	}
	backend_cpu_set_isa(BACKEND_ISA_AVX512VNNI);
	CHECK(all_max);
	CHECK(backend_cpu_matmul_i8(ext, ext, cext, 1, 1, kmax + 1, 1) == ASSAY_EARG);
	free(ext);
	free(cext);
	int8_t a = 1;
	int32_t c;
	CHECK(backend_cpu_matmul_i8(&a, &a, &c, 1, 1, 0, 1) == ASSAY_EARG);
	backend_cpu_force_portable(1);
	CHECK(strcmp(backend_cpu_isa(), "portable") == 0);
	backend_cpu_force_portable(0);
#if defined(__x86_64__) && !defined(ASSAY_NO_SIMD)
	CHECK(strcmp(backend_cpu_isa(), "portable") != 0 || !__builtin_cpu_supports("avx2"));
	/* The cap reaches the AVX2 path on any AVX2 CPU, VNNI or not, so the
	 * cases above ran it. */
	backend_cpu_set_isa(BACKEND_ISA_AVX2);
	CHECK(strcmp(backend_cpu_isa(), "avx2") == 0 || !__builtin_cpu_supports("avx2"));
	backend_cpu_set_isa(BACKEND_ISA_AVX512VNNI);
#endif
}

int main(void)
{
	RUN(test_expand);
	RUN(test_requant);
	RUN(test_requant_row);
	RUN(test_matmul_ref);
	RUN(test_shapes);
	RUN(test_tiles);
	RUN(test_challenge);
	RUN(test_freivalds);
	RUN(test_tile_check);
	RUN(test_mlp);
	RUN(test_mlp_check);
	RUN(test_mlp_bounds);
	RUN(test_mlp_wide_layer_memory);
	RUN(test_backend_gemm);
	RUN(test_backend_gemm_concurrent);
	return test_report("test_kernels");
}
