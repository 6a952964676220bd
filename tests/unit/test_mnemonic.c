/* Unit tests for wallet/mnemonic: the wordlist against BIP-39's published
 * SHA-256, the BIP-39 reference vectors (entropy -> phrase -> seed with
 * passphrase "TREZOR", tests/data/bip39_vectors.json), checksum and word
 * failures, and the SLIP-0010 ed25519 vectors (tests/data/slip10_...json). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/keys.h"
#include "core/sha256.h"
#include "tests/unit/test.h"
#include "wallet/mnemonic.h"

/* BIP-39's published SHA-256 of english.txt: the words, each ending in \n. */
#define ENGLISH_SHA256 "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"

static char err[512];

static json_t *load_vectors(const char *file)
{
	char path[1024];
	json_error_t jerr;
	snprintf(path, sizeof(path), "%s/tests/data/%s", SRCDIR, file);
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j)
		fprintf(stderr, "%s: %s\n", path, jerr.text);
	CHECK(j != NULL);
	return j;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	CHECK(n <= cap && hex_decode(s, out, n) == (long)n);
	return n;
}

static void test_wordlist(void)
{
	struct buf all;
	uint8_t got[HASH_LEN], want[HASH_LEN];
	buf_init(&all);
	for (int i = 0; i < MNEMONIC_WORDS; i++) {
		buf_put(&all, mnemonic_english[i], strlen(mnemonic_english[i]));
		buf_put_u8(&all, '\n');
		CHECK(strlen(mnemonic_english[i]) <= MNEMONIC_WORD_MAX);
		if (i)
			CHECK(strcmp(mnemonic_english[i - 1], mnemonic_english[i]) < 0);
		CHECK_EQ_INT(mnemonic_word_index(mnemonic_english[i]), i);
	}
	sha256(all.data, all.len, got);
	hex_decode(ENGLISH_SHA256, want, HASH_LEN);
	CHECK_EQ_MEM(got, want, HASH_LEN);
	buf_free(&all);
	CHECK_EQ_INT(mnemonic_word_index("abandon"), 0);
	CHECK_EQ_INT(mnemonic_word_index("zoo"), 2047);
	CHECK_EQ_INT(mnemonic_word_index("bitcoin"), -1);
	CHECK_EQ_INT(mnemonic_word_index(""), -1);
}

static void test_bip39_vectors(void)
{
	json_t *root = load_vectors("bip39_vectors.json");
	const char *pass = json_string_value(json_object_get(root, "passphrase"));
	json_t *vectors = json_object_get(root, "vectors"), *v;
	size_t i;
	CHECK(pass && strcmp(pass, "TREZOR") == 0);
	CHECK_EQ_U64(json_array_size(vectors), 24);
	json_array_foreach(vectors, i, v)
	{
		const char *ent_hex = json_string_value(json_object_get(v, "entropy"));
		const char *phrase = json_string_value(json_object_get(v, "mnemonic"));
		const char *seed_hex = json_string_value(json_object_get(v, "seed"));
		uint8_t entropy[MNEMONIC_ENTROPY_MAX], back[MNEMONIC_ENTROPY_MAX];
		uint8_t seed[MNEMONIC_SEED_LEN], want[MNEMONIC_SEED_LEN];
		char text[MNEMONIC_TEXT_MAX], canon[MNEMONIC_TEXT_MAX];
		size_t len = unhex(ent_hex, entropy, sizeof(entropy)), back_len = 0;
		unhex(seed_hex, want, sizeof(want));

		CHECK_EQ_INT(mnemonic_from_entropy(entropy, len, text, sizeof(text)), 0);
		CHECK(strcmp(text, phrase) == 0);
		CHECK_EQ_INT(mnemonic_check(phrase, canon, back, &back_len, err, sizeof(err)), 0);
		CHECK(strcmp(canon, phrase) == 0);
		CHECK_EQ_U64(back_len, len);
		CHECK_EQ_MEM(back, entropy, len);
		CHECK_EQ_INT(mnemonic_to_seed(phrase, pass, seed), 0);
		CHECK_EQ_MEM(seed, want, sizeof(want));
		if (memcmp(seed, want, sizeof(want)) != 0)
			fprintf(stderr, "  vector %zu (%s)\n", i, ent_hex);
	}
	json_decref(root);
}

/* Returns mnemonic_check's code for phrase; err holds the message. */
static int check_phrase(const char *phrase)
{
	char canon[MNEMONIC_TEXT_MAX];
	uint8_t entropy[MNEMONIC_ENTROPY_MAX];
	size_t len = 99;
	int rc = mnemonic_check(phrase, canon, entropy, &len, err, sizeof(err));
	if (rc) {
		CHECK(canon[0] == 0);
		CHECK_EQ_U64(len, 0);
	}
	return rc;
}

static void test_bad_phrases(void)
{
	const char *good = "legal winner thank year wave sausage worth useful legal winner thank yellow";
	CHECK_EQ_INT(check_phrase(good), 0);

	/* The last word carries the checksum: "abandon" x 12 fails it. */
	CHECK_EQ_INT(check_phrase("abandon abandon abandon abandon abandon abandon abandon "
				  "abandon abandon abandon abandon abandon"),
		     ASSAY_EARG);
	CHECK(strstr(err, "checksum") != NULL);
	/* Two words swapped. */
	CHECK_EQ_INT(check_phrase("winner legal thank year wave sausage worth useful legal "
				  "winner thank yellow"),
		     ASSAY_EARG);
	CHECK(strstr(err, "checksum") != NULL);
	/* One valid word replaced by another. */
	CHECK_EQ_INT(check_phrase("legal winner thank year wave sausage worth useful legal "
				  "winner thank zoo"),
		     ASSAY_EARG);
	CHECK(strstr(err, "checksum") != NULL);

	/* A word not in the list is named by position, never by its text. */
	CHECK_EQ_INT(check_phrase("legal winner thank year wave sausage worth useful legal "
				  "winnr thank yellow"),
		     ASSAY_EARG);
	CHECK(strstr(err, "word 10 ") != NULL);
	CHECK(strstr(err, "winnr") == NULL);
	CHECK_EQ_INT(check_phrase("legal winner thank year wave sausage worth useful legal "
				  "winnerwinner thank yellow"),
		     ASSAY_EARG);
	CHECK(strstr(err, "word 10 ") != NULL);

	/* Counts. */
	CHECK_EQ_INT(check_phrase(""), ASSAY_EARG);
	CHECK(strstr(err, "0 words") != NULL);
	CHECK_EQ_INT(check_phrase("legal winner thank year wave sausage worth useful legal winner thank"),
		     ASSAY_EARG);
	CHECK(strstr(err, "11 words") != NULL);
	char many[400] = "";
	for (int i = 0; i < 25; i++)
		strcat(many, "zoo ");
	CHECK_EQ_INT(check_phrase(many), ASSAY_EARG);
	CHECK(strstr(err, "more than 24") != NULL);

	/* Case and spacing as a person types them. */
	char canon[MNEMONIC_TEXT_MAX];
	uint8_t entropy[MNEMONIC_ENTROPY_MAX];
	size_t len;
	CHECK_EQ_INT(mnemonic_check("  Legal WINNER thank\tyear\nwave sausage worth useful legal "
				    "winner thank yellow\r\n",
				    canon, entropy, &len, err, sizeof(err)),
		     0);
	CHECK(strcmp(canon, good) == 0);
	CHECK_EQ_U64(len, 16);

	/* Entropy lengths. */
	char text[MNEMONIC_TEXT_MAX];
	uint8_t e[40] = {0};
	CHECK_EQ_INT(mnemonic_from_entropy(e, 15, text, sizeof(text)), ASSAY_EARG);
	CHECK_EQ_INT(mnemonic_from_entropy(e, 33, text, sizeof(text)), ASSAY_EARG);
	CHECK_EQ_INT(mnemonic_from_entropy(e, 18, text, sizeof(text)), ASSAY_EARG);
	CHECK_EQ_INT(mnemonic_from_entropy(e, 32, text, 20), ASSAY_ELIMIT);
	CHECK_EQ_INT(mnemonic_from_entropy(e, 32, text, sizeof(text)), 0);
}

/* Parses "m/0'/1'" into hardened indices. */
static size_t parse_path(const char *s, uint32_t *path)
{
	size_t depth = 0;
	CHECK(s[0] == 'm');
	for (s++; *s == '/'; depth++) {
		char *end;
		path[depth] = SLIP10_HARDENED | (uint32_t)strtoul(s + 1, &end, 10);
		CHECK(*end == '\'');
		s = end + 1;
	}
	CHECK(*s == 0);
	return depth;
}

static void test_slip10_vectors(void)
{
	json_t *root = load_vectors("slip10_ed25519_vectors.json");
	json_t *vectors = json_object_get(root, "vectors"), *v, *c;
	size_t i, k, checked = 0;
	CHECK_EQ_U64(json_array_size(vectors), 2);
	json_array_foreach(vectors, i, v)
	{
		uint8_t seed[64];
		size_t seed_len = unhex(json_string_value(json_object_get(v, "seed")), seed, sizeof(seed));
		json_array_foreach(json_object_get(v, "chains"), k, c)
		{
			uint32_t path[SLIP10_DEPTH_MAX];
			uint8_t key[SEED_LEN], chain[32], want_key[SEED_LEN], want_chain[32];
			uint8_t want_pub[1 + PUBKEY_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN];
			size_t depth = parse_path(json_string_value(json_object_get(c, "path")), path);
			unhex(json_string_value(json_object_get(c, "private")), want_key, sizeof(want_key));
			unhex(json_string_value(json_object_get(c, "chain_code")), want_chain,
			      sizeof(want_chain));
			unhex(json_string_value(json_object_get(c, "public")), want_pub, sizeof(want_pub));
			CHECK_EQ_INT(slip10_ed25519_derive(seed, seed_len, path, depth, key, chain), 0);
			CHECK_EQ_MEM(key, want_key, SEED_LEN);
			CHECK_EQ_MEM(chain, want_chain, 32);
			key_from_seed(key, pk, sk);
			CHECK(want_pub[0] == 0);
			CHECK_EQ_MEM(pk, want_pub + 1, PUBKEY_LEN);
			checked++;
		}
	}
	CHECK_EQ_U64(checked, 12);
	json_decref(root);

	/* ed25519 has hardened children only. */
	uint32_t normal[2] = {SLIP10_HARDENED, 1};
	uint8_t seed[16] = {0}, key[SEED_LEN], chain[32];
	CHECK_EQ_INT(slip10_ed25519_derive(seed, sizeof(seed), normal, 2, key, chain), ASSAY_EARG);
	uint32_t deep[SLIP10_DEPTH_MAX + 1];
	for (size_t d = 0; d <= SLIP10_DEPTH_MAX; d++)
		deep[d] = SLIP10_HARDENED;
	CHECK_EQ_INT(slip10_ed25519_derive(seed, sizeof(seed), deep, SLIP10_DEPTH_MAX + 1, key, chain),
		     ASSAY_EARG);
}

/* The wallet path m/44'/7359'/0'/0'/0' from the 24-word all-zero vector;
 * the expected seed was computed apart from this code (PBKDF2 and HMAC of a
 * scripting language's standard library), so a change of path, coin type or
 * passphrase handling fails here. */
static void test_wallet_seed(void)
{
	const char *phrase = "abandon abandon abandon abandon abandon abandon abandon abandon "
			     "abandon abandon abandon abandon abandon abandon abandon abandon "
			     "abandon abandon abandon abandon abandon abandon abandon art";
	uint8_t seed[SEED_LEN], want[SEED_LEN], again[SEED_LEN];
	hex_decode("8bb699092bdbc18e41ce413423ed2335c63b572b8c45c4a0269227b490097613", want, SEED_LEN);
	CHECK_EQ_INT(mnemonic_wallet_seed(phrase, seed, err, sizeof(err)), 0);
	CHECK_EQ_MEM(seed, want, SEED_LEN);
	/* The same phrase typed differently gives the same key. */
	char shouted[512];
	snprintf(shouted, sizeof(shouted), "  %s\n", phrase);
	for (char *p = shouted; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	CHECK_EQ_INT(mnemonic_wallet_seed(shouted, again, err, sizeof(err)), 0);
	CHECK_EQ_MEM(again, want, SEED_LEN);
	CHECK_EQ_INT(mnemonic_wallet_seed("abandon art", again, err, sizeof(err)), ASSAY_EARG);
	CHECK(strcmp(MNEMONIC_PATH_TEXT, "m/44'/7359'/0'/0'/0'") == 0);
}

static const struct test_case tests[] = {
	TEST(test_wordlist),
	TEST(test_bip39_vectors),
	TEST(test_bad_phrases),
	TEST(test_slip10_vectors),
	TEST(test_wallet_seed),
};

int main(void)
{
	return test_main("test_mnemonic", keys_init, tests, TEST_COUNT(tests));
}
