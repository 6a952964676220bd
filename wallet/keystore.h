/* The encrypted key store: one JSON file per key under DATADIR/wallet/NAME.json,
 * the Ed25519 seed sealed with AES-256-GCM under a scrypt-derived key, written
 * atomically with mode 0600. The file format is in docs/cli.md ("Keystore").
 * Not for: asking for passphrases (passphrase.h) or talking to a node. */
#ifndef ASSAY_WALLET_KEYSTORE_H
#define ASSAY_WALLET_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"

#define KEYSTORE_VERSION 1
#define KEYSTORE_NAME_MAX 64        /* names are [A-Za-z0-9_-]{1,64} */
#define KEYSTORE_SALT_LEN 32        /* scrypt salt, random per file */
#define KEYSTORE_NONCE_LEN 12       /* AES-GCM nonce, random per file */
#define KEYSTORE_TAG_LEN 16         /* AES-GCM tag */
#define KEYSTORE_SCRYPT_N 32768u    /* 2^15: about 0.1 s and 32 MiB per unlock */
#define KEYSTORE_SCRYPT_R 8u
#define KEYSTORE_SCRYPT_P 1u
/* Bounds on the parameters a file may ask for, so a planted file cannot make
 * an unlock take minutes or gigabytes: what the wallet writes (above) with
 * modest headroom, N <= 2^18 (8 times the default), r <= 8, p <= 2, and
 * 128*N*r bytes of scrypt memory at most KEYSTORE_SCRYPT_MAXMEM (256 MiB).
 * At most 16 times the default's work: about 2 s. */
#define KEYSTORE_SCRYPT_N_MAX (1u << 18)
#define KEYSTORE_SCRYPT_R_MAX 8u
#define KEYSTORE_SCRYPT_P_MAX 2u
#define KEYSTORE_SCRYPT_MAXMEM (128ull * KEYSTORE_SCRYPT_N_MAX * KEYSTORE_SCRYPT_R_MAX)
#define KEYSTORE_FILE_MAX 16384     /* a keystore file is about 600 bytes */
/* DATADIR/wallet/.lock: an exclusive flock() on it is held by every create,
 * passphrase change and delete while it touches a key file, so that
 * processes take turns (it is never a wallet: not *.json). */
#define KEYSTORE_LOCK_NAME ".lock"
/* Tests only: ASSAY_SCRYPT_N=1024 (a power of two, 2..2^18) replaces N for
 * keys created while it is set; the N used is stored in the file. */
#define KEYSTORE_SCRYPT_N_ENV "ASSAY_SCRYPT_N"

/* What a key file says in the clear. */
struct keystore_info {
	char name[KEYSTORE_NAME_MAX + 1];
	char address[ADDR_STR_MAX];  /* bech32m, for the network it was made on */
	uint8_t pubkey[PUBKEY_LEN];
	uint64_t scrypt_n;
	uint32_t scrypt_r;
	uint32_t scrypt_p;
};

/* An unlocked key. keystore_load mlock()s it where RLIMIT_MEMLOCK allows
 * (best effort: a refusal is no error); wipe it with keystore_key_wipe()
 * when done, which zeroes and unlocks it. */
struct keystore_key {
	struct keystore_info info;
	uint8_t seckey[SECKEY_LEN];  /* libsodium layout: seed || pubkey */
};

/* 1 if name matches [A-Za-z0-9_-]{1,64}, else 0. */
int keystore_name_valid(const char *name);

/* Writes DATADIR/wallet/NAME.json into out (cap bytes). 0, ASSAY_EARG for a
 * bad name, ASSAY_ELIMIT if it does not fit. */
int keystore_path(const char *datadir, const char *name, char *out, size_t cap);

/* Creates DATADIR/wallet/NAME.json (making DATADIR and wallet/ with mode 0700
 * if absent) holding seed, or a fresh random seed when seed is NULL, sealed
 * under passphrase. The address is written for net. Fills info if not NULL.
 * 0; ASSAY_EARG (bad name or N from the environment), ASSAY_EEXISTS (a key of
 * that name exists, and is left alone), ASSAY_EIO; err says which. */
int keystore_create(const char *datadir, const char *name, enum network net,
		    const uint8_t *seed, const char *passphrase, struct keystore_info *info,
		    char *err, size_t errlen);

/* Writes text as the new file path inside directory dir (which exists),
 * mode 0600, fsynced with its directory, the way key files are: a
 * temporary is written in full, then linked, so path is never left half
 * written and an existing file is never replaced. 0; ASSAY_EEXISTS,
 * ASSAY_ELIMIT, ASSAY_EIO with err filled. For other secret files (a
 * validator key, a passphrase). */
int keystore_write_new(const char *dir, const char *path, const char *text, char *err, size_t errlen);

/* Reads and checks the clear fields of a key file without decrypting.
 * 0; ASSAY_ENOTFOUND (no such wallet), ASSAY_EDECODE (err names the field
 * that is wrong), ASSAY_EIO. */
int keystore_read_info(const char *datadir, const char *name, struct keystore_info *info,
		       char *err, size_t errlen);

/* Unlocks a key. 0; ASSAY_EAUTH "wrong passphrase" (AES-GCM cannot tell a
 * wrong passphrase from altered salt, nonce, ciphertext or tag), or the
 * errors of keystore_read_info. On error *key is zeroed. */
int keystore_load(const char *datadir, const char *name, const char *passphrase,
		  struct keystore_key *key, char *err, size_t errlen);

/* Zeroes key and munlock()s it. */
void keystore_key_wipe(struct keystore_key *key);

/* 1 if DATADIR/wallet/NAME.json exists in any form (even a corrupt file or a
 * link), else 0: what a command checks before asking for a passphrase. */
int keystore_exists(const char *datadir, const char *name);

/* The key file's bytes as stored (still encrypted), after the same checks
 * as keystore_read_info: for a backup copy. *text is NUL-ended and
 * malloc()ed; the caller frees it. Errors as keystore_read_info. */
int keystore_read_file(const char *datadir, const char *name, char **text, size_t *len,
		       char *err, size_t errlen);

/* Re-seals an unlocked key (keystore_load with the old passphrase proved
 * it) under new_passphrase: fresh salt and nonce, scrypt N as
 * keystore_create picks it, and the file replaced in one rename, so a crash
 * leaves the old file or the new one. Key and address stay. Under the
 * wallet lock (KEYSTORE_LOCK_NAME) the file is read again first and must
 * still hold key: one deleted and made again meanwhile is left alone. Fills
 * info if not NULL. 0; ASSAY_ENOTFOUND (the file is gone), ASSAY_EEXISTS
 * (it now holds another key), ASSAY_EARG (N from the environment),
 * ASSAY_EIO. */
int keystore_change_passphrase(const char *datadir, const struct keystore_key *key,
			       const char *new_passphrase, struct keystore_info *info, char *err,
			       size_t errlen);

/* Removes DATADIR/wallet/NAME.json for good. 0; ASSAY_EARG (bad name),
 * ASSAY_ENOTFOUND, ASSAY_EIO. Asking the person first is the caller's job. */
int keystore_delete(const char *datadir, const char *name, char *err, size_t errlen);

/* Lists the wallet names in DATADIR/wallet, sorted. *names is malloc()ed, as
 * is each name; free with keystore_list_free. A missing directory is an
 * empty list. 0, ASSAY_ENOMEM or ASSAY_EIO. */
int keystore_list(const char *datadir, char ***names, size_t *count);
void keystore_list_free(char **names, size_t count);

/* The dev network's well-known key (dev only): SHA256("assay/dev-key/0"). */
#define KEYSTORE_DEV_SEED_TEXT "assay/dev-key/0"
void keystore_dev_seed(uint8_t seed[SEED_LEN]);

#endif
