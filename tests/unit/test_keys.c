/* Unit tests for core/keys.c: RFC 8032 §7.1 Ed25519 tests 1-3 (seed, public
 * key, message, signature), rejection of altered signatures and messages and
 * of a small-order key, each verification rule of docs/protocol.md §2 on a
 * signature built to test it (so a libsodium that judged an edge case
 * otherwise fails here, not in consensus), and account addresses (first 20 bytes of SHA-256 of
 * the key, bech32m under each network's HRP). */
#include <sodium.h>

#include "core/bech32.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/keys.h"
#include "tests/unit/test.h"

struct ed_vector {
	const char *seed, *pk, *msg, *sig;
};

/* RFC 8032 §7.1, TEST 1, TEST 2, TEST 3. */
static const struct ed_vector vectors[] = {
	{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	 "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	 "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	 "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	 "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	 "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	 "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	 "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

static void test_rfc8032(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t seed[SEED_LEN], pk_want[PUBKEY_LEN], msg[4], sig_want[SIG_LEN];
		uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN], sig[SIG_LEN];
		CHECK(hex_decode(vectors[i].seed, seed, SEED_LEN) == SEED_LEN);
		CHECK(hex_decode(vectors[i].pk, pk_want, PUBKEY_LEN) == PUBKEY_LEN);
		long n = hex_decode(vectors[i].msg, msg, sizeof(msg));
		CHECK(n >= 0);
		size_t mlen = n < 0 ? 0 : (size_t)n;
		CHECK(hex_decode(vectors[i].sig, sig_want, SIG_LEN) == SIG_LEN);

		key_from_seed(seed, pk, sk);
		CHECK_EQ_MEM(pk, pk_want, PUBKEY_LEN);
		CHECK_EQ_MEM(sk, seed, SEED_LEN); /* libsodium layout: seed || pk */
		CHECK_EQ_MEM(sk + SEED_LEN, pk_want, PUBKEY_LEN);
		sig_sign(sk, msg, mlen, sig);
		CHECK_EQ_MEM(sig, sig_want, SIG_LEN);
		CHECK(sig_verify(pk, msg, mlen, sig) == 0);

		/* Any single flipped bit in the signature fails. */
		int accepted = 0;
		for (int bit = 0; bit < SIG_LEN * 8; bit++) {
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			accepted += sig_verify(pk, msg, mlen, sig) == 0;
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		CHECK(accepted == 0);
		/* Another message: one byte longer, or one byte changed. */
		uint8_t longer[5] = {0};
		memcpy(longer, msg, mlen);
		CHECK(sig_verify(pk, longer, mlen + 1, sig) == ASSAY_ESIG);
		if (mlen) {
			msg[0] ^= 0x01;
			CHECK(sig_verify(pk, msg, mlen, sig) == ASSAY_ESIG);
		}
	}
}

static void test_wrong_key_and_small_order(void)
{
	uint8_t pk1[PUBKEY_LEN], sk1[SECKEY_LEN], pk2[PUBKEY_LEN], sk2[SECKEY_LEN], sig[SIG_LEN];
	key_generate(pk1, sk1);
	key_generate(pk2, sk2);
	CHECK(memcmp(pk1, pk2, PUBKEY_LEN) != 0);
	sig_sign(sk1, "hello", 5, sig);
	CHECK(sig_verify(pk1, "hello", 5, sig) == 0);
	CHECK(sig_verify(pk2, "hello", 5, sig) == ASSAY_ESIG);
	/* The identity as a public key with R = identity, S = 0 satisfies the
	 * bare equation for every message; it must be refused (docs/protocol.md §2). */
	uint8_t ident[PUBKEY_LEN] = {1}, forged[SIG_LEN] = {1};
	CHECK(sig_verify(ident, "anything", 8, forged) == ASSAY_ESIG);
}

/* ---- the verification rules of docs/protocol.md §2, case by case ---- */

/* The group order L, little-endian. */
static const uint8_t ORDER_L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
				    0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
				    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

/* A point of order 8 (one of the eight-torsion subgroup's generators). */
static const char *TORSION8 = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05";

/* The secret scalar a of seed (RFC 8032 §5.1.5: SHA-512, clamped), reduced
 * mod L, and the nonce-free parts a test signature needs. */
static void secret_scalar(const uint8_t seed[SEED_LEN], uint8_t a[32])
{
	uint8_t h[64], wide[64] = {0};
	crypto_hash_sha512(h, seed, SEED_LEN);
	h[0] &= 248;
	h[31] &= 127;
	h[31] |= 64;
	memcpy(wide, h, 32);
	crypto_core_ed25519_scalar_reduce(a, wide);
}

/* k = SHA-512(R || A || M) mod L. */
static void challenge_scalar(const uint8_t r[32], const uint8_t pk[32], const void *msg, size_t n, uint8_t k[32])
{
	crypto_hash_sha512_state st;
	uint8_t h[64];
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, r, 32);
	crypto_hash_sha512_update(&st, pk, 32);
	crypto_hash_sha512_update(&st, msg, n);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(k, h);
}

/* S + L still fits in 32 bytes (S < L < 2^253): a second encoding of the
 * same scalar, which the rule refuses. */
static void add_order(uint8_t s[32])
{
	unsigned carry = 0;
	for (int i = 0; i < 32; i++) {
		unsigned v = s[i] + ORDER_L[i] + carry;
		s[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

static void test_verification_rules(void)
{
	uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN], sig[SIG_LEN], a[32], k[32];
	memset(seed, 0x42, sizeof(seed));
	key_from_seed(seed, pk, sk);
	secret_scalar(seed, a);
	uint8_t check[32];
	CHECK(crypto_scalarmult_ed25519_base_noclamp(check, a) == 0);
	CHECK_EQ_MEM(check, pk, 32); /* the scalar is the key's */

	/* 1. S must be below L: the same signature with S + L is refused */
	sig_sign(sk, "m", 1, sig);
	CHECK(sig_verify(pk, "m", 1, sig) == 0);
	add_order(sig + 32);
	CHECK(sig_verify(pk, "m", 1, sig) == ASSAY_ESIG);

	/* 2. R of small order is refused even when the equation holds:
	 * R = identity, S = k * a, so [S]B = [k]A = R + [k]A */
	uint8_t ident[32] = {1};
	memcpy(sig, ident, 32);
	challenge_scalar(sig, pk, "m", 1, k);
	crypto_core_ed25519_scalar_mul(sig + 32, k, a);
	CHECK(sig_verify(pk, "m", 1, sig) == ASSAY_ESIG);

	/* 3. A key outside the prime-order subgroup that is not of small
	 * order (A + T, T of order 8) is accepted when the cofactorless
	 * equation holds: here k is a multiple of 8, so [k]T vanishes */
	uint8_t t8[32], mixed[32], r[32], wide[64], msg[8];
	CHECK(hex_decode(TORSION8, t8, 32) == 32);
	CHECK(crypto_core_ed25519_add(mixed, pk, t8) == 0);
	CHECK(!crypto_core_ed25519_is_valid_point(mixed)); /* not in the main subgroup */
	memset(wide, 0x17, sizeof(wide));
	crypto_core_ed25519_scalar_reduce(r, wide);
	CHECK(crypto_scalarmult_ed25519_base_noclamp(sig, r) == 0);
	uint64_t tries = 0;
	do {
		le64_put(msg, tries++);
		challenge_scalar(sig, mixed, msg, sizeof(msg), k);
	} while (k[0] & 7);
	uint8_t ka[32];
	crypto_core_ed25519_scalar_mul(ka, k, a);
	crypto_core_ed25519_scalar_add(sig + 32, r, ka);
	CHECK(sig_verify(mixed, msg, sizeof(msg), sig) == 0);
	/* and refused for a k that is not: the torsion part is in the check */
	le64_put(msg, tries);
	challenge_scalar(sig, mixed, msg, sizeof(msg), k);
	if (k[0] & 7) {
		crypto_core_ed25519_scalar_mul(ka, k, a);
		crypto_core_ed25519_scalar_add(sig + 32, r, ka);
		CHECK(sig_verify(mixed, msg, sizeof(msg), sig) == ASSAY_ESIG);
	}

	/* 4. A key of small order is refused, whatever the signature (the
	 * identity with R = identity, S = 0 is test_wrong_key_and_small_order);
	 * so is the point of order 8 with R = identity and S = 0 */
	memcpy(sig, ident, 32);
	memset(sig + 32, 0, 32);
	CHECK(sig_verify(t8, "m", 1, sig) == ASSAY_ESIG);

	/* 5. A non-canonical encoding of a key is refused: y = p + 1 names
	 * the identity again. (R is compared byte for byte with the canonical
	 * encoding of [S]B - [k]A, so a second encoding of it cannot pass.) */
	uint8_t noncanon[32];
	memset(noncanon, 0xff, 32);
	noncanon[0] = 0xee;
	noncanon[31] = 0x7f; /* p + 1 = 2^255 - 18 */
	CHECK(sig_verify(noncanon, "m", 1, sig) == ASSAY_ESIG);
}

static void test_address(void)
{
	uint8_t pk[PUBKEY_LEN], addr[ADDR_LEN], want[crypto_hash_sha256_BYTES];
	CHECK(hex_decode(vectors[0].pk, pk, PUBKEY_LEN) == PUBKEY_LEN);
	address_from_pubkey(pk, addr);
	crypto_hash_sha256(want, pk, PUBKEY_LEN); /* an independent SHA-256 */
	CHECK_EQ_MEM(addr, want, ADDR_LEN);

	static const enum network nets[] = {NET_MAIN, NET_TEST, NET_DEV};
	static const char *const hrps[] = {"assay", "tassay", "dassay"};
	for (int i = 0; i < 3; i++) {
		char text[ADDR_STR_MAX];
		uint8_t back[ADDR_LEN];
		enum network net = (enum network)99;
		CHECK(strcmp(network_hrp(nets[i]), hrps[i]) == 0);
		address_encode(nets[i], addr, text);
		CHECK(strncmp(text, hrps[i], strlen(hrps[i])) == 0);
		CHECK(text[strlen(hrps[i])] == '1');
		CHECK(strlen(text) == strlen(hrps[i]) + 1 + 32 + 6);
		CHECK(address_decode(text, &net, back) == 0);
		CHECK(net == nets[i]);
		CHECK_EQ_MEM(back, addr, ADDR_LEN);
		/* Upper case is the same address; mixed case is not. */
		char upper[ADDR_STR_MAX];
		for (size_t k = 0; k <= strlen(text); k++)
			upper[k] = (char)(text[k] >= 'a' && text[k] <= 'z' ? text[k] - 32 : text[k]);
		CHECK(address_decode(upper, &net, back) == 0 && net == nets[i]);
		/* HRPs are all letters: lower-casing the first one mixes cases. */
		upper[0] = text[0];
		CHECK(address_decode(upper, &net, back) == ASSAY_EDECODE);
		/* A changed character breaks the checksum. */
		char bad[ADDR_STR_MAX];
		strcpy(bad, text);
		size_t pos = strlen(hrps[i]) + 5;
		bad[pos] = bad[pos] == 'q' ? 'p' : 'q';
		CHECK(address_decode(bad, &net, back) == ASSAY_EDECODE);
	}
	/* Unknown HRP and wrong length are refused. */
	char text[ADDR_STR_MAX];
	uint8_t back[ADDR_LEN], long_addr[21] = {0};
	enum network net;
	CHECK(bech32m_encode("bc", addr, ADDR_LEN, text, sizeof(text)) == 0);
	CHECK(address_decode(text, &net, back) == ASSAY_EDECODE);
	CHECK(bech32m_encode("assay", long_addr, 21, text, sizeof(text)) == 0);
	CHECK(address_decode(text, &net, back) == ASSAY_EDECODE);
	CHECK(bech32m_encode("assay", long_addr, 19, text, sizeof(text)) == 0);
	CHECK(address_decode(text, &net, back) == ASSAY_EDECODE);
}

static const struct test_case tests[] = {
	TEST(test_rfc8032),
	TEST(test_wrong_key_and_small_order),
	TEST(test_verification_rules),
	TEST(test_address),
};

int main(void)
{
	return test_main("test_keys", keys_init, tests, TEST_COUNT(tests));
}
