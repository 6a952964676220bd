/* Unit tests for core/vrf.c: the three ECVRF-EDWARDS25519-SHA512-TAI vectors
 * of RFC 9381 Appendix B.3, rejection of altered proofs, inputs and keys,
 * small-order keys, and acceptance of an RFC-valid proof whose Gamma carries
 * a torsion component (built here by hand). Not for: beacon rules (node/). */
#include <stdlib.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/keys.h"
#include "core/vrf.h"
#include "tests/unit/test.h"

struct vrf_vector {
	const char *seed, *pk, *alpha, *pi, *beta;
};

/* RFC 9381 Appendix B.3, Examples 16, 17 and 18. */
static const struct vrf_vector vectors[] = {
	{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	 "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f"
	 "26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab12"
	 "68a1b0db10836d9826a528ca76567805",
	 "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff"
	 "66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae"},
	{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	 "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	 "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593"
	 "3bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926d"
	 "a3ef39226bbc355bdc9850112c8f4b02",
	 "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb"
	 "5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031"},
	{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	 "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	 "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80"
	 "96bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a"
	 "2d41b00b05081ed0f58ee5e31b3a970e",
	 "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45"
	 "2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f"},
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

struct loaded {
	uint8_t seed[32], pk[32], sk[64], alpha[8], pi[VRF_PROOF_LEN], beta[VRF_OUTPUT_LEN];
	size_t alpha_len;
};

static void load(const struct vrf_vector *v, struct loaded *l)
{
	CHECK(hex_decode(v->seed, l->seed, 32) == 32);
	CHECK(hex_decode(v->pk, l->pk, 32) == 32);
	long an = hex_decode(v->alpha, l->alpha, sizeof(l->alpha));
	CHECK(an >= 0);
	l->alpha_len = an < 0 ? 0 : (size_t)an;
	CHECK(hex_decode(v->pi, l->pi, VRF_PROOF_LEN) == VRF_PROOF_LEN);
	CHECK(hex_decode(v->beta, l->beta, VRF_OUTPUT_LEN) == VRF_OUTPUT_LEN);
	uint8_t pk[32];
	key_from_seed(l->seed, pk, l->sk);
	CHECK_EQ_MEM(pk, l->pk, 32);
}

static void test_rfc9381_vectors(void)
{
	for (size_t i = 0; i < NVEC; i++) {
		struct loaded l;
		uint8_t pi[VRF_PROOF_LEN], beta[VRF_OUTPUT_LEN];
		load(&vectors[i], &l);
		CHECK(vrf_prove(l.sk, l.alpha, l.alpha_len, pi) == 0);
		CHECK_EQ_MEM(pi, l.pi, VRF_PROOF_LEN);
		memset(beta, 0, sizeof(beta));
		CHECK(vrf_proof_to_hash(l.pi, beta) == 0);
		CHECK_EQ_MEM(beta, l.beta, VRF_OUTPUT_LEN);
		memset(beta, 0, sizeof(beta));
		CHECK(vrf_verify(l.pk, l.alpha, l.alpha_len, l.pi, beta) == 0);
		CHECK_EQ_MEM(beta, l.beta, VRF_OUTPUT_LEN);
	}
}

static void test_every_bit_flip_fails(void)
{
	struct loaded l;
	load(&vectors[1], &l);
	int failures = 0;
	for (size_t bit = 0; bit < VRF_PROOF_LEN * 8; bit++) {
		uint8_t pi[VRF_PROOF_LEN], beta[VRF_OUTPUT_LEN];
		memcpy(pi, l.pi, sizeof(pi));
		pi[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (vrf_verify(l.pk, l.alpha, l.alpha_len, pi, beta) != ASSAY_ESIG)
			failures++;
	}
	CHECK(failures == 0);
}

static void test_other_alpha_and_key_fail(void)
{
	struct loaded a, b;
	uint8_t beta[VRF_OUTPUT_LEN];
	load(&vectors[0], &a);
	load(&vectors[2], &b);
	/* another alpha */
	CHECK(vrf_verify(a.pk, "x", 1, a.pi, beta) == ASSAY_ESIG);
	CHECK(vrf_verify(b.pk, "\xaf\x83", 2, b.pi, beta) == ASSAY_ESIG);
	CHECK(vrf_verify(b.pk, "\xaf", 1, b.pi, beta) == ASSAY_ESIG);
	/* another key, same alpha */
	CHECK(vrf_verify(b.pk, a.alpha, a.alpha_len, a.pi, beta) == ASSAY_ESIG);
	/* random keys: prove/verify round trip, and cross-key rejection */
	for (int i = 0; i < 16; i++) {
		uint8_t pk1[32], sk1[64], pk2[32], sk2[64], pi[VRF_PROOF_LEN];
		uint8_t b1[VRF_OUTPUT_LEN], b2[VRF_OUTPUT_LEN];
		uint8_t msg[40];
		randombytes_buf(msg, sizeof(msg));
		key_generate(pk1, sk1);
		key_generate(pk2, sk2);
		CHECK(vrf_prove(sk1, msg, sizeof(msg), pi) == 0);
		CHECK(vrf_verify(pk1, msg, sizeof(msg), pi, b1) == 0);
		CHECK(vrf_proof_to_hash(pi, b2) == 0);
		CHECK_EQ_MEM(b1, b2, VRF_OUTPUT_LEN);
		CHECK(vrf_verify(pk2, msg, sizeof(msg), pi, b1) == ASSAY_ESIG);
		/* deterministic: the same key and input prove the same output */
		uint8_t pi2[VRF_PROOF_LEN];
		CHECK(vrf_prove(sk1, msg, sizeof(msg), pi2) == 0);
		CHECK_EQ_MEM(pi, pi2, VRF_PROOF_LEN);
	}
}

static void test_bad_keys(void)
{
	struct loaded l;
	uint8_t beta[VRF_OUTPUT_LEN], pi[VRF_PROOF_LEN];
	load(&vectors[0], &l);
	/* A secret key whose stored public half is not its seed's. */
	uint8_t sk[64];
	memcpy(sk, l.sk, 64);
	sk[40] ^= 1;
	CHECK(vrf_prove(sk, "", 0, pi) == ASSAY_EINVALID);
	/* Small-order public keys: identity, order 2 (y = -1), order 4 (y = 0). */
	uint8_t small[3][32] = {{1}, {0xec}, {0}};
	memset(small[1] + 1, 0xff, 30);
	small[1][31] = 0x7f;
	for (int i = 0; i < 3; i++)
		CHECK(vrf_verify(small[i], "", 0, l.pi, beta) == ASSAY_ESIG);
	/* A non-canonical key encoding (y = p) and a non-point. */
	uint8_t noncanon[32];
	memset(noncanon, 0xff, 32);
	noncanon[0] = 0xed;
	noncanon[31] = 0x7f;
	CHECK(vrf_verify(noncanon, "", 0, l.pi, beta) == ASSAY_ESIG);
	/* s >= L is rejected by proof_to_hash as well as verify. */
	memcpy(pi, l.pi, VRF_PROOF_LEN);
	memset(pi + 48, 0xff, 32);
	CHECK(vrf_proof_to_hash(pi, beta) == ASSAY_ESIG);
	CHECK(vrf_verify(l.pk, "", 0, pi, beta) == ASSAY_ESIG);
}

/* SHA-512 challenge of RFC 9381 §5.4.3, written out independently. */
static void ref_challenge(uint8_t c[32], const uint8_t *const pts[5])
{
	uint8_t d[64];
	crypto_hash_sha512_state st;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const uint8_t *)"\x03\x02", 2);
	for (int i = 0; i < 5; i++)
		crypto_hash_sha512_update(&st, pts[i], 32);
	crypto_hash_sha512_update(&st, (const uint8_t *)"\x00", 1);
	crypto_hash_sha512_final(&st, d);
	memset(c, 0, 32);
	memcpy(c, d, 16);
}

/* A prover may add a torsion point T to Gamma; RFC 9381 still accepts the
 * proof when the challenge works out, and beta is unchanged because it
 * hashes 8*Gamma. Built from Example 16's H and x with a chosen nonce. */
static void test_torsion_gamma_accepted(void)
{
	struct loaded l;
	load(&vectors[0], &l);
	/* A point of order 8; checked here rather than trusted. */
	uint8_t t[32], acc[32];
	CHECK(hex_decode("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", t,
			 32) == 32);
	memcpy(acc, t, 32);
	for (int i = 0; i < 2; i++)
		CHECK(crypto_core_ed25519_add(acc, acc, acc) == 0);
	uint8_t one[32] = {1};
	CHECK(memcmp(acc, one, 32) != 0); /* 4T != 0 */
	CHECK(crypto_core_ed25519_add(acc, acc, acc) == 0);
	CHECK_EQ_MEM(acc, one, 32); /* 8T == 0 */

	/* x and H of Example 16 (RFC 9381 B.3). */
	uint8_t h[32], xh[64], x[32], gamma[32], gamma_t[32];
	CHECK(hex_decode("91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318", h,
			 32) == 32);
	crypto_hash_sha512(xh, l.seed, 32);
	xh[0] &= 248, xh[31] &= 127, xh[31] |= 64;
	memset(xh + 32, 0, 32);
	crypto_core_ed25519_scalar_reduce(x, xh);
	CHECK(crypto_scalarmult_ed25519_noclamp(gamma, x, h) == 0);
	CHECK_EQ_MEM(gamma, l.pi, 32); /* our x and H reproduce the vector's Gamma */
	CHECK(crypto_core_ed25519_add(gamma_t, gamma, t) == 0);

	int built = 0;
	for (int attempt = 0; attempt < 400 && !built; attempt++) {
		uint8_t k[32], u[32], v[32], kh[32], rt[32], c[32], s[32];
		unsigned r = 1 + (unsigned)attempt % 7; /* guess of c mod 8, nonzero */
		crypto_core_ed25519_scalar_random(k);
		CHECK(crypto_scalarmult_ed25519_base_noclamp(u, k) == 0);
		CHECK(crypto_scalarmult_ed25519_noclamp(kh, k, h) == 0);
		/* V the verifier will compute: kH - (c mod 8) T, if the guess holds. */
		memcpy(rt, one, 32);
		for (unsigned i = 0; i < r; i++)
			crypto_core_ed25519_add(rt, rt, t);
		crypto_core_ed25519_sub(v, kh, rt);
		const uint8_t *pts[5] = {l.pk, h, gamma_t, u, v};
		ref_challenge(c, pts);
		if ((c[0] & 7) != r)
			continue;
		crypto_core_ed25519_scalar_mul(s, c, x);
		crypto_core_ed25519_scalar_add(s, s, k);
		uint8_t pi[VRF_PROOF_LEN], beta[VRF_OUTPUT_LEN];
		memcpy(pi, gamma_t, 32);
		memcpy(pi + 32, c, 16);
		memcpy(pi + 48, s, 32);
		CHECK(vrf_verify(l.pk, "", 0, pi, beta) == 0);
		CHECK_EQ_MEM(beta, l.beta, VRF_OUTPUT_LEN);
		/* The same proof with a wrong residue guess must fail. */
		pi[32] ^= 1;
		CHECK(vrf_verify(l.pk, "", 0, pi, beta) == ASSAY_ESIG);
		built = 1;
	}
	CHECK(built);
}

static const struct test_case tests[] = {
	TEST(test_rfc9381_vectors),
	TEST(test_every_bit_flip_fails),
	TEST(test_other_alpha_and_key_fail),
	TEST(test_bad_keys),
	TEST(test_torsion_gamma_accepted),
};

int main(void)
{
	return test_main("test_vrf", keys_init, tests, TEST_COUNT(tests));
}
