/* Unit tests for core/keys.c: RFC 8032 §7.1 Ed25519 tests 1-3 (seed, public
 * key, message, signature), rejection of altered signatures and messages and
 * of a small-order key, and account addresses (first 20 bytes of SHA-256 of
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
	TEST(test_address),
};

int main(void)
{
	return test_main("test_keys", keys_init, tests, TEST_COUNT(tests));
}
