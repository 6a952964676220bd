/* BIP-39 and SLIP-0010 ed25519 (see mnemonic.h). SHA-256 from core, PBKDF2
 * from OpenSSL, HMAC-SHA512 and wiping from libsodium. Every buffer that
 * held a phrase, entropy or key is wiped before it goes out of scope.
 * Not for: files, terminals or the wordlist itself (bip39_english.c). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/error.h"
#include "core/sha256.h"
#include "wallet/mnemonic.h"

#define BITS_PER_WORD 11
#define SLIP10_ED25519_KEY "ed25519 seed"
#define BIP39_SALT_PREFIX "mnemonic"

int mnemonic_word_index(const char *word)
{
	int lo = 0, hi = MNEMONIC_WORDS - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(word, mnemonic_english[mid]);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

static int bit_at(const uint8_t *bytes, size_t i)
{
	return (bytes[i / 8] >> (7 - i % 8)) & 1;
}

static int entropy_len_ok(size_t len)
{
	return len >= MNEMONIC_ENTROPY_MIN && len <= MNEMONIC_ENTROPY_MAX && len % 4 == 0;
}

int mnemonic_from_entropy(const uint8_t *entropy, size_t len, char *out, size_t cap)
{
	/* entropy || the first len/4 bits of its SHA-256: 11 bits a word. */
	uint8_t bits[MNEMONIC_ENTROPY_MAX + HASH_LEN];
	if (!entropy_len_ok(len))
		return ASSAY_EARG;
	memcpy(bits, entropy, len);
	sha256(entropy, len, bits + len);
	size_t words = (len * 8 + len / 4) / BITS_PER_WORD, used = 0;
	int rc = 0;
	for (size_t w = 0; w < words; w++) {
		unsigned index = 0;
		for (size_t b = 0; b < BITS_PER_WORD; b++)
			index = index << 1 | (unsigned)bit_at(bits, w * BITS_PER_WORD + b);
		const char *word = mnemonic_english[index];
		size_t n = strlen(word);
		if (used + (w ? 1 : 0) + n + 1 > cap) {
			rc = ASSAY_ELIMIT;
			break;
		}
		if (w)
			out[used++] = ' ';
		memcpy(out + used, word, n);
		used += n;
	}
	if (cap)
		out[rc ? 0 : used] = 0;
	sodium_memzero(bits, sizeof(bits));
	return rc;
}

int mnemonic_check(const char *phrase, char canon[MNEMONIC_TEXT_MAX], uint8_t *entropy, size_t *len,
		   char *err, size_t errlen)
{
	uint16_t index[MNEMONIC_COUNT_MAX];
	uint8_t bits[MNEMONIC_ENTROPY_MAX + 1], hash[HASH_LEN];
	char word[MNEMONIC_WORD_MAX + 1];
	size_t count = 0, used = 0;
	int rc = 0;

	canon[0] = 0;
	*len = 0;
	for (const char *p = phrase;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		size_t n = 0;
		int fits = 1;
		for (; *p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'; p++, n++) {
			if (n < MNEMONIC_WORD_MAX)
				word[n] = (char)tolower((unsigned char)*p);
			else
				fits = 0;
		}
		if (count == MNEMONIC_COUNT_MAX) {
			rc = assay_fail(err, errlen, ASSAY_EARG,
					"more than %d words: a phrase has 12, 15, 18, 21 or 24",
					MNEMONIC_COUNT_MAX);
			goto out;
		}
		word[fits ? n : 0] = 0;
		int i = fits ? mnemonic_word_index(word) : -1;
		if (i < 0) {
			rc = assay_fail(err, errlen, ASSAY_EARG,
					"word %zu is not in the BIP-39 English wordlist", count + 1);
			goto out;
		}
		index[count++] = (uint16_t)i;
	}
	if (count < 12 || count % 3 != 0) {
		rc = assay_fail(err, errlen, ASSAY_EARG, "%zu words: a phrase has 12, 15, 18, 21 or 24",
				count);
		goto out;
	}
	/* 11 bits a word: the entropy, then its checksum (count/3 bits). */
	size_t ent_bytes = count * BITS_PER_WORD * 32 / 33 / 8;
	memset(bits, 0, sizeof(bits));
	for (size_t w = 0; w < count; w++)
		for (size_t b = 0; b < BITS_PER_WORD; b++) {
			size_t at = w * BITS_PER_WORD + b;
			if ((index[w] >> (BITS_PER_WORD - 1 - b)) & 1)
				bits[at / 8] |= (uint8_t)(0x80 >> (at % 8));
		}
	sha256(bits, ent_bytes, hash);
	for (size_t c = 0; c < count / 3; c++)
		if (bit_at(bits, ent_bytes * 8 + c) != bit_at(hash, c)) {
			rc = assay_fail(err, errlen, ASSAY_EARG,
					"the checksum does not match: a word is wrong, missing "
					"or out of order");
			goto out;
		}
	for (size_t w = 0; w < count; w++) {
		const char *s = mnemonic_english[index[w]];
		size_t n = strlen(s);
		if (w)
			canon[used++] = ' ';
		memcpy(canon + used, s, n);
		used += n;
	}
	canon[used] = 0;
	memcpy(entropy, bits, ent_bytes);
	*len = ent_bytes;
out:
	if (rc)
		sodium_memzero(canon, MNEMONIC_TEXT_MAX);
	sodium_memzero(index, sizeof(index));
	sodium_memzero(bits, sizeof(bits));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(word, sizeof(word));
	return rc;
}

int mnemonic_to_seed(const char *phrase, const char *passphrase, uint8_t seed[MNEMONIC_SEED_LEN])
{
	size_t prefix = strlen(BIP39_SALT_PREFIX), plen = strlen(passphrase);
	char *salt = malloc(prefix + plen + 1);
	if (!salt)
		return ASSAY_ENOMEM;
	memcpy(salt, BIP39_SALT_PREFIX, prefix);
	memcpy(salt + prefix, passphrase, plen);
	int ok = PKCS5_PBKDF2_HMAC(phrase, (int)strlen(phrase), (const unsigned char *)salt,
				   (int)(prefix + plen), MNEMONIC_PBKDF2_ROUNDS, EVP_sha512(),
				   MNEMONIC_SEED_LEN, seed) == 1;
	sodium_memzero(salt, prefix + plen);
	free(salt);
	if (!ok)
		sodium_memzero(seed, MNEMONIC_SEED_LEN);
	return ok ? 0 : ASSAY_ENOMEM;
}

static void hmac_sha512(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
			uint8_t out[64])
{
	crypto_auth_hmacsha512_state st;
	crypto_auth_hmacsha512_init(&st, key, key_len);
	crypto_auth_hmacsha512_update(&st, msg, msg_len);
	crypto_auth_hmacsha512_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int slip10_ed25519_derive(const uint8_t *seed, size_t seed_len, const uint32_t *path, size_t depth,
			  uint8_t key[SEED_LEN], uint8_t chain_code[32])
{
	uint8_t i64[64], data[1 + SEED_LEN + 4];
	if (depth > SLIP10_DEPTH_MAX)
		return ASSAY_EARG;
	for (size_t d = 0; d < depth; d++)
		if (path[d] < SLIP10_HARDENED)
			return ASSAY_EARG; /* ed25519 has no normal derivation */
	hmac_sha512((const uint8_t *)SLIP10_ED25519_KEY, strlen(SLIP10_ED25519_KEY), seed, seed_len, i64);
	for (size_t d = 0; d < depth; d++) {
		/* Hardened child: HMAC-SHA512(chain, 0x00 || key || ser32(index)). */
		data[0] = 0;
		memcpy(data + 1, i64, SEED_LEN);
		data[1 + SEED_LEN] = (uint8_t)(path[d] >> 24);
		data[2 + SEED_LEN] = (uint8_t)(path[d] >> 16);
		data[3 + SEED_LEN] = (uint8_t)(path[d] >> 8);
		data[4 + SEED_LEN] = (uint8_t)path[d];
		hmac_sha512(i64 + 32, 32, data, sizeof(data), i64);
	}
	memcpy(key, i64, SEED_LEN);
	memcpy(chain_code, i64 + 32, 32);
	sodium_memzero(i64, sizeof(i64));
	sodium_memzero(data, sizeof(data));
	return 0;
}

int mnemonic_wallet_seed(const char *phrase, uint8_t seed[SEED_LEN], char *err, size_t errlen)
{
	static const uint32_t path[MNEMONIC_PATH_DEPTH] = {
		SLIP10_HARDENED | 44, SLIP10_HARDENED | MNEMONIC_COIN_TYPE,
		SLIP10_HARDENED | 0,  SLIP10_HARDENED | 0,
		SLIP10_HARDENED | 0,
	};
	char canon[MNEMONIC_TEXT_MAX];
	uint8_t entropy[MNEMONIC_ENTROPY_MAX], bip39[MNEMONIC_SEED_LEN], chain_code[32];
	size_t len;
	int rc = mnemonic_check(phrase, canon, entropy, &len, err, errlen);
	if (!rc && (rc = mnemonic_to_seed(canon, "", bip39)) != 0)
		assay_fail(err, errlen, rc, "out of memory deriving the seed");
	if (!rc)
		rc = slip10_ed25519_derive(bip39, sizeof(bip39), path, MNEMONIC_PATH_DEPTH, seed, chain_code);
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(entropy, sizeof(entropy));
	sodium_memzero(bip39, sizeof(bip39));
	sodium_memzero(chain_code, sizeof(chain_code));
	return rc;
}
