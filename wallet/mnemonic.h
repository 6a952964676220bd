/* Key backup words and key derivation: BIP-39 mnemonics (English wordlist,
 * checksum, the PBKDF2 seed) and SLIP-0010 ed25519 derivation (hardened
 * path only), which together turn 24 words into the 32-byte Ed25519 seed a
 * keystore file holds. The path is in docs/backup.md. Not for: storing keys
 * (keystore.h) or asking a person for the words (the CLI). */
#ifndef ASSAY_WALLET_MNEMONIC_H
#define ASSAY_WALLET_MNEMONIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"

#define MNEMONIC_WORDS 2048     /* entries in the wordlist: 11 bits a word */
#define MNEMONIC_WORD_MAX 8     /* longest English word, without the NUL */
#define MNEMONIC_ENTROPY_MIN 16 /* 128 bits: 12 words */
#define MNEMONIC_ENTROPY_MAX 32 /* 256 bits: 24 words, what wallet create makes */
#define MNEMONIC_COUNT_MAX 24   /* words in the longest phrase */
/* A phrase as text: 24 words of at most 8 letters, single spaces, NUL. */
#define MNEMONIC_TEXT_MAX (MNEMONIC_COUNT_MAX * (MNEMONIC_WORD_MAX + 1))
#define MNEMONIC_SEED_LEN 64        /* the BIP-39 seed */
#define MNEMONIC_PBKDF2_ROUNDS 2048 /* BIP-39's iteration count */

/* SLIP-0010 indices at or above this are hardened; ed25519 has no others. */
#define SLIP10_HARDENED 0x80000000u
#define SLIP10_DEPTH_MAX 16
/* Assay's coin type in the BIP-44 shaped path m/44'/7359'/0'/0'/0'. 7359 is
 * not registered in SLIP-0044; changing it changes every address a phrase
 * restores, so it is fixed for good. */
#define MNEMONIC_COIN_TYPE 7359u
#define MNEMONIC_PATH_TEXT "m/44'/7359'/0'/0'/0'"
#define MNEMONIC_PATH_DEPTH 5

/* The BIP-39 English list, sorted (wallet/bip39_english.c). */
extern const char *const mnemonic_english[MNEMONIC_WORDS];

/* Index of word in the list, or -1. */
int mnemonic_word_index(const char *word);

/* Writes the phrase of entropy (16, 20, 24, 28 or 32 bytes) into out (cap
 * bytes; MNEMONIC_TEXT_MAX always fits), words separated by one space.
 * 0 or ASSAY_EARG (a bad length), ASSAY_ELIMIT (cap too small). */
int mnemonic_from_entropy(const uint8_t *entropy, size_t len, char *out, size_t cap);

/* Checks a phrase typed by a person and writes it back in canonical form
 * (lower case, one space between words) to canon (MNEMONIC_TEXT_MAX bytes),
 * and its entropy to entropy (MNEMONIC_ENTROPY_MAX bytes), *len its length.
 * Spaces, tabs and line ends of any number separate words; upper case is
 * taken as lower. 0; ASSAY_EARG when the count is not 12, 15, 18, 21 or 24,
 * a word is not in the list (err names its position, not the word, so no
 * part of a phrase reaches a log), or the checksum does not match. */
int mnemonic_check(const char *phrase, char canon[MNEMONIC_TEXT_MAX], uint8_t *entropy, size_t *len,
		   char *err, size_t errlen);

/* The BIP-39 seed: PBKDF2-HMAC-SHA512(phrase, "mnemonic" || passphrase,
 * 2048 rounds). phrase is canonical (see mnemonic_check); both are ASCII:
 * BIP-39's NFKD step changes nothing there, and this module does not
 * normalise other text. 0 or ASSAY_ENOMEM. */
int mnemonic_to_seed(const char *phrase, const char *passphrase, uint8_t seed[MNEMONIC_SEED_LEN]);

/* SLIP-0010 ed25519: the key and chain code at path (depth entries, each
 * >= SLIP10_HARDENED) from seed; depth 0 is the master key. 0 or ASSAY_EARG
 * (a normal index, or depth over SLIP10_DEPTH_MAX). */
int slip10_ed25519_derive(const uint8_t *seed, size_t seed_len, const uint32_t *path, size_t depth,
			  uint8_t key[SEED_LEN], uint8_t chain_code[32]);

/* The Ed25519 seed of an Assay wallet: the phrase's BIP-39 seed (empty
 * passphrase) through SLIP-0010 at MNEMONIC_PATH_TEXT. The phrase is
 * checked first (errors as mnemonic_check). */
int mnemonic_wallet_seed(const char *phrase, uint8_t seed[SEED_LEN], char *err, size_t errlen);

#endif
