/* The encrypted key store (see keystore.h). Crypto: scrypt through OpenSSL 3's
 * EVP_KDF, AES-256-GCM through EVP_CIPHER, randomness and wiping from
 * libsodium. Files are written to a temporary name, fsynced, linked into
 * place and the directory fsynced, so a crash leaves the old state or the
 * new one. Not for: prompting, or anything on the network. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/sha256.h"
#include "wallet/keystore.h"

#define KEYSTORE_KEY_LEN 32 /* AES-256 */
#define KEYSTORE_DIR "wallet"
#define KEYSTORE_AAD_TAG "assay-keystore"
#define MKSTEMP_SUFFIX 6 /* mkstemp wants the template to end in six X */

int keystore_name_valid(const char *name)
{
	size_t n = 0;
	if (!name)
		return 0;
	for (; name[n]; n++) {
		char c = name[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
		if (n >= KEYSTORE_NAME_MAX)
			return 0;
	}
	return n > 0;
}

int keystore_path(const char *datadir, const char *name, char *out, size_t cap)
{
	if (!keystore_name_valid(name))
		return ASSAY_EARG;
	int n = snprintf(out, cap, "%s/%s/%s.json", datadir, KEYSTORE_DIR, name);
	return n < 0 || (size_t)n >= cap ? ASSAY_ELIMIT : 0;
}

void keystore_dev_seed(uint8_t seed[SEED_LEN])
{
	sha256(KEYSTORE_DEV_SEED_TEXT, strlen(KEYSTORE_DEV_SEED_TEXT), seed);
}

void keystore_key_wipe(struct keystore_key *key)
{
	/* zeroes, then unlocks what keystore_load locked (a no-op where it
	 * could not) */
	sodium_memzero(key, sizeof(*key));
	(void)sodium_munlock(key, sizeof(*key));
}

/* The additional data GCM authenticates: the clear fields that say whose key
 * this is, so a file renamed or re-addressed by hand fails to open. */
static void keystore_aad(struct buf *b, const char *name, const char *address)
{
	buf_put_bytes(b, KEYSTORE_AAD_TAG, strlen(KEYSTORE_AAD_TAG));
	buf_put_u32(b, KEYSTORE_VERSION);
	buf_put_bytes(b, name, strlen(name));
	buf_put_bytes(b, address, strlen(address));
}

static int scrypt_derive(const char *passphrase, const uint8_t *salt, uint64_t n, uint32_t r,
			 uint32_t p, uint8_t key[KEYSTORE_KEY_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t maxmem = KEYSTORE_SCRYPT_MAXMEM + (1u << 20); /* V plus scrypt's small buffers */
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)passphrase,
						  strlen(passphrase)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
						  KEYSTORE_SALT_LEN),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end(),
	};
	int ok = kctx && EVP_KDF_derive(kctx, key, KEYSTORE_KEY_LEN, params) > 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : ASSAY_ENOMEM;
}

/* AES-256-GCM seal (enc = 1) or open (enc = 0) of one seed. Open returns
 * ASSAY_EAUTH when the tag does not verify. */
static int gcm_crypt(int enc, const uint8_t key[KEYSTORE_KEY_LEN],
		     const uint8_t nonce[KEYSTORE_NONCE_LEN], const struct buf *aad,
		     const uint8_t in[SEED_LEN], uint8_t out[SEED_LEN], uint8_t tag[KEYSTORE_TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, rc = ASSAY_ENOMEM;
	if (!c)
		return ASSAY_ENOMEM;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) <= 0 ||
	    EVP_CipherUpdate(c, NULL, &len, aad->data, (int)aad->len) <= 0 ||
	    EVP_CipherUpdate(c, out, &len, in, SEED_LEN) <= 0 || len != SEED_LEN)
		goto done;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KEYSTORE_TAG_LEN, tag) <= 0)
		goto done;
	if (EVP_CipherFinal_ex(c, out + len, &len) <= 0) {
		rc = enc ? ASSAY_ENOMEM : ASSAY_EAUTH;
		goto done;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KEYSTORE_TAG_LEN, tag) <= 0)
		goto done;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(c);
	if (rc)
		sodium_memzero(out, SEED_LEN);
	return rc;
}

static int scrypt_params_ok(uint64_t n, uint64_t r, uint64_t p)
{
	return n >= 2 && n <= KEYSTORE_SCRYPT_N_MAX && (n & (n - 1)) == 0 && r >= 1 &&
	       r <= KEYSTORE_SCRYPT_R_MAX && p >= 1 && p <= KEYSTORE_SCRYPT_P_MAX &&
	       128 * n * r <= KEYSTORE_SCRYPT_MAXMEM;
}

static int scrypt_n_for_create(uint64_t *n, char *err, size_t errlen)
{
	const char *env = getenv(KEYSTORE_SCRYPT_N_ENV);
	*n = KEYSTORE_SCRYPT_N;
	if (!env || !*env)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(env, &end, 10);
	if (errno || *end || !scrypt_params_ok(v, KEYSTORE_SCRYPT_R, KEYSTORE_SCRYPT_P))
		return assay_fail(err, errlen, ASSAY_EARG,
			    "%s must be a power of two from 2 to %u (it is for tests only)",
			    KEYSTORE_SCRYPT_N_ENV, KEYSTORE_SCRYPT_N_MAX);
	/* A weaker N than the default makes brute force cheap: tests only, and
	 * only when they say so (the functional framework sets both). */
	const char *testing = getenv("ASSAY_TESTING");
	if (v < KEYSTORE_SCRYPT_N && !(testing && strcmp(testing, "1") == 0))
		return assay_fail(err, errlen, ASSAY_EARG,
			    "%s=%llu is below the default %u and weakens the key file; refused "
			    "unless ASSAY_TESTING=1 (tests only)",
			    KEYSTORE_SCRYPT_N_ENV, v, KEYSTORE_SCRYPT_N);
	*n = v;
	return 0;
}

static int mkdir_private(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return assay_fail(err, errlen, ASSAY_EIO, "cannot create directory %s: %s", path,
		    strerror(errno));
}

/* The wallet directory, made if absent, and private: one that exists with
 * bits for group or others (made by hand, or under umask 000 by an older
 * tool) is set back to 0700 when it is ours, and refused when it is not
 * and others may write into it, since they could swap a key file. */
static int wallet_dir_private(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int rc = mkdir_private(dir, err, errlen);
	if (rc)
		return rc;
	if (stat(dir, &st) != 0)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot look at directory %s: %s", dir,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return assay_fail(err, errlen, ASSAY_EIO, "%s is not a directory", dir);
	if ((st.st_mode & 077) == 0)
		return 0;
	if (st.st_uid == geteuid()) {
		if (chmod(dir, 0700) != 0)
			return assay_fail(err, errlen, ASSAY_EIO, "cannot make %s private (mode 0700): %s",
					  dir, strerror(errno));
		return 0;
	}
	if (st.st_mode & 022)
		return assay_fail(err, errlen, ASSAY_EAUTH,
				  "wallet directory %s has mode %04o and another owner: others may "
				  "replace its key files; refused",
				  dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

static void hex_set(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];
	hex_encode(p, n, hex);
	json_object_set_new(obj, key, json_string(hex));
}

/* Writes text to path (in dir) through a temporary file. Without replace it
 * refuses to replace an existing file; with it, the old file is swapped for
 * the new one in one rename, so a crash leaves one or the other whole. The
 * temporary is removed on every failure path. */
static int write_atomic(const char *dir, const char *path, const char *text, int replace,
			char *err, size_t errlen)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s/.keystore-", dir);
	if (n < 0 || (size_t)n + MKSTEMP_SUFFIX + 1 > sizeof(tmp))
		return assay_fail(err, errlen, ASSAY_ELIMIT, "path too long: %s", dir);
	memset(tmp + n, 'X', MKSTEMP_SUFFIX); /* the letters mkstemp replaces */
	tmp[n + MKSTEMP_SUFFIX] = 0;
	int fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot create a file in %s: %s", dir,
			    strerror(errno));
	size_t len = strlen(text), off = 0;
	int rc = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = assay_fail(err, errlen, ASSAY_EIO, "cannot write %s: %s", tmp, strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (!rc && (fchmod(fd, 0600) != 0 || fsync(fd) != 0))
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot sync %s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot close %s: %s", tmp, strerror(errno));
	if (!rc && replace && rename(tmp, path) != 0)
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot replace %s: %s", path,
				strerror(errno));
	/* link() fails if path exists, so a racing create cannot be overwritten. */
	if (!rc && !replace && link(tmp, path) != 0) {
		if (errno == EEXIST)
			rc = assay_fail(err, errlen, ASSAY_EEXISTS, "%s already exists", path);
		else
			rc = assay_fail(err, errlen, ASSAY_EIO, "cannot create %s: %s", path,
				  strerror(errno));
	}
	unlink(tmp);
	if (rc)
		return rc;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || fsync(dfd) != 0)
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot sync directory %s: %s", dir,
			  strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int keystore_write_new(const char *dir, const char *path, const char *text, char *err, size_t errlen)
{
	return write_atomic(dir, path, text, 0, err, errlen);
}

/* Takes the exclusive advisory lock on dir/KEYSTORE_LOCK_NAME (made 0600 if
 * absent), waiting for another process that holds it: every change to a
 * key file happens under it, so that a passphrase change's check of the
 * file and its rename cannot interleave with a delete and create of the
 * same name. *fd holds it until unlock_wallets. 0, or ASSAY_EIO. */
static int lock_wallets(const char *dir, int *fd, char *err, size_t errlen)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, KEYSTORE_LOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(path))
		return assay_fail(err, errlen, ASSAY_ELIMIT, "path too long: %s", dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot open the wallet lock %s: %s", path,
				  strerror(errno));
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(*fd);
		*fd = -1;
		return assay_fail(err, errlen, ASSAY_EIO, "cannot lock %s: %s", path, strerror(e));
	}
	return 0;
}

/* Releases lock_wallets' lock (closing the descriptor drops it). */
static void unlock_wallets(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The text of a key file holding seed for name at address, sealed under
 * passphrase with scrypt cost n: fresh salt and nonce every time. *text is
 * malloc()ed; the caller frees it. pk is the seed's public key. */
static int seal_text(const char *name, const char *address, const uint8_t seed[SEED_LEN],
		     const uint8_t pk[PUBKEY_LEN], const char *passphrase, uint64_t n, char **text,
		     char *err, size_t errlen)
{
	uint8_t key[KEYSTORE_KEY_LEN], ct[SEED_LEN];
	uint8_t salt[KEYSTORE_SALT_LEN], nonce[KEYSTORE_NONCE_LEN], tag[KEYSTORE_TAG_LEN];
	struct buf aad;
	json_t *root = NULL;
	int rc;

	*text = NULL;
	buf_init(&aad);
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	keystore_aad(&aad, name, address);
	rc = scrypt_derive(passphrase, salt, n, KEYSTORE_SCRYPT_R, KEYSTORE_SCRYPT_P, key);
	if (!rc && aad.oom)
		rc = ASSAY_ENOMEM;
	if (!rc)
		rc = gcm_crypt(1, key, nonce, &aad, seed, ct, tag);
	if (rc) {
		assay_fail(err, errlen, rc, "key encryption failed");
		goto out;
	}

	root = json_object();
	json_t *kdf = json_object(), *cipher = json_object();
	json_object_set_new(root, "version", json_integer(KEYSTORE_VERSION));
	json_object_set_new(root, "name", json_string(name));
	json_object_set_new(root, "address", json_string(address));
	hex_set(root, "pubkey", pk, PUBKEY_LEN);
	json_object_set_new(kdf, "name", json_string("scrypt"));
	json_object_set_new(kdf, "N", json_integer((json_int_t)n));
	json_object_set_new(kdf, "r", json_integer(KEYSTORE_SCRYPT_R));
	json_object_set_new(kdf, "p", json_integer(KEYSTORE_SCRYPT_P));
	hex_set(kdf, "salt", salt, sizeof(salt));
	json_object_set_new(root, "kdf", kdf);
	json_object_set_new(cipher, "name", json_string("aes-256-gcm"));
	hex_set(cipher, "nonce", nonce, sizeof(nonce));
	hex_set(cipher, "ciphertext", ct, sizeof(ct));
	hex_set(cipher, "tag", tag, sizeof(tag));
	json_object_set_new(root, "cipher", cipher);
	char *dumped = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	size_t tl = dumped ? strlen(dumped) : 0;
	char *nl = dumped ? realloc(dumped, tl + 2) : NULL;
	if (!nl) {
		free(dumped);
		rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(nl + tl, "\n", 2);
	*text = nl;
out:
	sodium_memzero(key, sizeof(key));
	buf_free(&aad);
	json_decref(root);
	return rc;
}

static void fill_info(struct keystore_info *info, const char *name, const char *address,
		      const uint8_t pk[PUBKEY_LEN], uint64_t n)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", name);
	snprintf(info->address, sizeof(info->address), "%s", address);
	memcpy(info->pubkey, pk, PUBKEY_LEN);
	info->scrypt_n = n;
	info->scrypt_r = KEYSTORE_SCRYPT_R;
	info->scrypt_p = KEYSTORE_SCRYPT_P;
}

int keystore_exists(const char *datadir, const char *name)
{
	char path[4096];
	struct stat st;
	if (keystore_path(datadir, name, path, sizeof(path)) != 0)
		return 0;
	return lstat(path, &st) == 0;
}

int keystore_create(const char *datadir, const char *name, enum network net,
		    const uint8_t *seed, const char *passphrase, struct keystore_info *info,
		    char *err, size_t errlen)
{
	char dir[4096], path[4096];
	uint8_t secret[SEED_LEN], sk[SECKEY_LEN];
	uint8_t pk[PUBKEY_LEN], addr[ADDR_LEN];
	char address[ADDR_STR_MAX];
	uint64_t n;
	char *text = NULL;
	int rc;

	if (!keystore_name_valid(name))
		return assay_fail(err, errlen, ASSAY_EARG,
			    "bad wallet name '%s': use 1 to %d of A-Z a-z 0-9 _ -", name,
			    KEYSTORE_NAME_MAX);
	if (keystore_path(datadir, name, path, sizeof(path)) != 0)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "data directory path too long");
	if ((rc = scrypt_n_for_create(&n, err, errlen)) != 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/%s", datadir, KEYSTORE_DIR);
	if ((rc = mkdir_private(datadir, err, errlen)) || (rc = wallet_dir_private(dir, err, errlen)))
		return rc;
	if (keystore_exists(datadir, name))
		return assay_fail(err, errlen, ASSAY_EEXISTS, "wallet '%s' already exists (%s)", name,
			    path);

	if (seed)
		memcpy(secret, seed, SEED_LEN);
	else
		randombytes_buf(secret, SEED_LEN);
	key_from_seed(secret, pk, sk);
	address_from_pubkey(pk, addr);
	address_encode(net, addr, address);
	rc = seal_text(name, address, secret, pk, passphrase, n, &text, err, errlen);
	int lock = -1;
	if (!rc)
		rc = lock_wallets(dir, &lock, err, errlen);
	if (!rc)
		rc = write_atomic(dir, path, text, 0, err, errlen);
	unlock_wallets(lock);
	if (rc == ASSAY_EEXISTS)
		assay_fail(err, errlen, rc, "wallet '%s' already exists (%s)", name, path);
	if (!rc && info)
		fill_info(info, name, address, pk, n);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sk, sizeof(sk));
	free(text);
	return rc;
}

/* A fixed-length hex field; anything else names the field as corrupt. */
static int get_hex(json_t *obj, const char *key, const char *field, uint8_t *out, size_t n,
		   char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (!s || strlen(s) != 2 * n || hex_decode(s, out, n) != (long)n)
		return assay_fail(err, errlen, ASSAY_EDECODE,
			    "corrupt keystore: field '%s' must be %zu bytes of hex", field, n);
	return 0;
}

static int get_uint(json_t *obj, const char *key, const char *field, uint64_t *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return assay_fail(err, errlen, ASSAY_EDECODE,
			    "corrupt keystore: field '%s' must be a non-negative integer", field);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_name(json_t *obj, const char *key, const char *field, const char *want,
		    char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (!s || strcmp(s, want) != 0)
		return assay_fail(err, errlen, ASSAY_EDECODE, "corrupt keystore: field '%s' must be \"%s\"",
			    field, want);
	return 0;
}

/* The sealed part of a file, after the clear fields have been checked. */
struct sealed {
	uint8_t salt[KEYSTORE_SALT_LEN];
	uint8_t nonce[KEYSTORE_NONCE_LEN];
	uint8_t ct[SEED_LEN];
	uint8_t tag[KEYSTORE_TAG_LEN];
};

/* Reads a key file (a regular file of at most KEYSTORE_FILE_MAX bytes, not
 * through a symlink) and parses it. With raw set, *raw is the file's bytes, NUL-ended and
 * malloc()ed (the caller frees it), *raw_len their count. */
static json_t *load_json(const char *path, const char *name, char **raw, size_t *raw_len, int *rc,
			 char *err, size_t errlen)
{
	struct stat st;
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;
	/* O_NONBLOCK: a FIFO in the file's place is refused below as not a
	 * regular file, instead of open() waiting for a writer */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*rc = errno == ENOENT ? assay_fail(err, errlen, ASSAY_ENOTFOUND, "unknown wallet '%s'", name)
				      : assay_fail(err, errlen, ASSAY_EIO, "cannot open %s: %s", path,
					     strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KEYSTORE_FILE_MAX) {
		close(fd);
		*rc = assay_fail(err, errlen, ASSAY_EDECODE,
			   "corrupt keystore %s: not a regular file of at most %d bytes", path,
			   KEYSTORE_FILE_MAX);
		return NULL;
	}
	/* One byte more than the limit, so a file that grew is caught. */
	if (!(text = malloc(KEYSTORE_FILE_MAX + 2))) {
		close(fd);
		*rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, text + len, KEYSTORE_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len > KEYSTORE_FILE_MAX)
			break;
	}
	close(fd);
	text[len] = 0;
	json_t *root = len > KEYSTORE_FILE_MAX ? NULL
					       : json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (len > KEYSTORE_FILE_MAX)
		snprintf(jerr.text, sizeof(jerr.text), "longer than %d bytes", KEYSTORE_FILE_MAX);
	if (!json_is_object(root)) {
		json_decref(root);
		free(text);
		*rc = assay_fail(err, errlen, ASSAY_EDECODE, "corrupt keystore %s: not a JSON object (%s)",
			   path, jerr.text);
		return NULL;
	}
	if (raw) {
		*raw = text;
		*raw_len = len;
	} else {
		free(text);
	}
	*rc = 0;
	return root;
}

/* Reads and checks name's file; with raw set, also hands back its bytes as
 * load_json does (only when the file checks out). */
static int parse_file(const char *datadir, const char *name, struct keystore_info *info,
		      struct sealed *sealed, char **raw, size_t *raw_len, char *err, size_t errlen)
{
	char path[4096];
	uint8_t addr[ADDR_LEN], want[ADDR_LEN];
	enum network net;
	int rc;

	memset(info, 0, sizeof(*info));
	if (raw)
		*raw = NULL;
	if (!keystore_name_valid(name))
		return assay_fail(err, errlen, ASSAY_EARG, "bad wallet name '%s'", name);
	if (keystore_path(datadir, name, path, sizeof(path)) != 0)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "data directory path too long");
	json_t *root = load_json(path, name, raw, raw_len, &rc, err, errlen);
	if (!root)
		return rc;

	uint64_t version;
	json_t *kdf = json_object_get(root, "kdf"), *cipher = json_object_get(root, "cipher");
	const char *fname = json_string_value(json_object_get(root, "name"));
	const char *address = json_string_value(json_object_get(root, "address"));
	if ((rc = get_uint(root, "version", "version", &version, err, errlen)))
		goto out;
	if (version != KEYSTORE_VERSION) {
		rc = assay_fail(err, errlen, ASSAY_EDECODE,
			  "corrupt keystore: field 'version' is %llu, this program reads %d",
			  (unsigned long long)version, KEYSTORE_VERSION);
		goto out;
	}
	if (!fname || strcmp(fname, name) != 0) {
		rc = assay_fail(err, errlen, ASSAY_EDECODE,
			  "corrupt keystore: field 'name' does not match the file name %s.json", name);
		goto out;
	}
	if ((rc = get_hex(root, "pubkey", "pubkey", info->pubkey, PUBKEY_LEN, err, errlen)))
		goto out;
	address_from_pubkey(info->pubkey, want);
	if (!address || strlen(address) >= ADDR_STR_MAX || address_decode(address, &net, addr) ||
	    memcmp(addr, want, ADDR_LEN) != 0) {
		rc = assay_fail(err, errlen, ASSAY_EDECODE,
			  "corrupt keystore: field 'address' is not the address of 'pubkey'");
		goto out;
	}
	if (!json_is_object(kdf) || !json_is_object(cipher)) {
		rc = assay_fail(err, errlen, ASSAY_EDECODE, "corrupt keystore: field '%s' must be an object",
			  json_is_object(kdf) ? "cipher" : "kdf");
		goto out;
	}
	uint64_t n, r, p;
	if ((rc = get_name(kdf, "name", "kdf.name", "scrypt", err, errlen)) ||
	    (rc = get_uint(kdf, "N", "kdf.N", &n, err, errlen)) ||
	    (rc = get_uint(kdf, "r", "kdf.r", &r, err, errlen)) ||
	    (rc = get_uint(kdf, "p", "kdf.p", &p, err, errlen)))
		goto out;
	if (!scrypt_params_ok(n, r, p)) {
		/* said before any derivation: a planted file's cost is never paid */
		rc = assay_fail(err, errlen, ASSAY_EDECODE,
				"keystore fields 'kdf.N/r/p' (N=%llu, r=%llu, p=%llu) are outside what "
				"this wallet accepts (N a power of two <= %u, r <= %u, p <= %u); "
				"refused without deriving a key",
				(unsigned long long)n, (unsigned long long)r, (unsigned long long)p,
				KEYSTORE_SCRYPT_N_MAX, KEYSTORE_SCRYPT_R_MAX, KEYSTORE_SCRYPT_P_MAX);
		goto out;
	}
	if ((rc = get_hex(kdf, "salt", "kdf.salt", sealed->salt, KEYSTORE_SALT_LEN, err, errlen)) ||
	    (rc = get_name(cipher, "name", "cipher.name", "aes-256-gcm", err, errlen)) ||
	    (rc = get_hex(cipher, "nonce", "cipher.nonce", sealed->nonce, KEYSTORE_NONCE_LEN, err,
			  errlen)) ||
	    (rc = get_hex(cipher, "ciphertext", "cipher.ciphertext", sealed->ct, SEED_LEN, err,
			  errlen)) ||
	    (rc = get_hex(cipher, "tag", "cipher.tag", sealed->tag, KEYSTORE_TAG_LEN, err, errlen)))
		goto out;
	snprintf(info->name, sizeof(info->name), "%s", name);
	snprintf(info->address, sizeof(info->address), "%s", address);
	info->scrypt_n = n;
	info->scrypt_r = (uint32_t)r;
	info->scrypt_p = (uint32_t)p;
out:
	json_decref(root);
	if (rc && raw) {
		free(*raw);
		*raw = NULL;
	}
	return rc;
}

int keystore_read_info(const char *datadir, const char *name, struct keystore_info *info,
		       char *err, size_t errlen)
{
	struct sealed sealed;
	return parse_file(datadir, name, info, &sealed, NULL, NULL, err, errlen);
}

int keystore_load(const char *datadir, const char *name, const char *passphrase,
		  struct keystore_key *key, char *err, size_t errlen)
{
	struct sealed sealed;
	uint8_t dk[KEYSTORE_KEY_LEN], seed[SEED_LEN], pk[PUBKEY_LEN];
	struct buf aad;
	int rc;

	memset(key, 0, sizeof(*key));
	/* kept out of swap where RLIMIT_MEMLOCK allows; refused, it still works */
	(void)sodium_mlock(key, sizeof(*key));
	if ((rc = parse_file(datadir, name, &key->info, &sealed, NULL, NULL, err, errlen))) {
		keystore_key_wipe(key); /* unlocked again, as every failure leaves it */
		return rc;
	}
	buf_init(&aad);
	keystore_aad(&aad, key->info.name, key->info.address);
	rc = aad.oom ? ASSAY_ENOMEM
		     : scrypt_derive(passphrase, sealed.salt, key->info.scrypt_n,
				     key->info.scrypt_r, key->info.scrypt_p, dk);
	if (rc) {
		assay_fail(err, errlen, rc, "key derivation failed");
		goto out;
	}
	rc = gcm_crypt(0, dk, sealed.nonce, &aad, sealed.ct, seed, sealed.tag);
	if (rc == ASSAY_EAUTH) {
		assay_fail(err, errlen, rc, "wrong passphrase for wallet '%s'", name);
		goto out;
	}
	if (rc) {
		assay_fail(err, errlen, rc, "key decryption failed");
		goto out;
	}
	key_from_seed(seed, pk, key->seckey);
	if (memcmp(pk, key->info.pubkey, PUBKEY_LEN) != 0)
		rc = assay_fail(err, errlen, ASSAY_EDECODE,
			  "corrupt keystore: field 'pubkey' does not match the encrypted key");
out:
	sodium_memzero(dk, sizeof(dk));
	sodium_memzero(seed, sizeof(seed));
	buf_free(&aad);
	if (rc)
		keystore_key_wipe(key);
	return rc;
}

int keystore_read_file(const char *datadir, const char *name, char **text, size_t *len,
		       char *err, size_t errlen)
{
	struct keystore_info info;
	struct sealed sealed;
	return parse_file(datadir, name, &info, &sealed, text, len, err, errlen);
}

/* DATADIR/wallet, or ASSAY_ELIMIT. */
static int wallet_dir(const char *datadir, char *out, size_t cap, char *err, size_t errlen)
{
	int n = snprintf(out, cap, "%s/%s", datadir, KEYSTORE_DIR);
	if (n < 0 || (size_t)n >= cap)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "data directory path too long");
	return 0;
}

static int sync_dir(const char *dir, char *err, size_t errlen)
{
	int rc = 0, dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || fsync(dfd) != 0)
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot sync directory %s: %s", dir,
				strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int keystore_change_passphrase(const char *datadir, const struct keystore_key *key,
			       const char *new_passphrase, struct keystore_info *info, char *err,
			       size_t errlen)
{
	const char *name = key->info.name;
	char dir[4096], path[4096], *text = NULL;
	uint64_t n;
	int rc;
	if ((rc = scrypt_n_for_create(&n, err, errlen)) ||
	    (rc = wallet_dir(datadir, dir, sizeof(dir), err, errlen)))
		return rc;
	if (keystore_path(datadir, name, path, sizeof(path)) != 0)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "data directory path too long");
	if (!keystore_exists(datadir, name))
		return assay_fail(err, errlen, ASSAY_ENOTFOUND, "unknown wallet '%s'", name);
	if ((rc = wallet_dir_private(dir, err, errlen)))
		return rc;
	/* The seed is the first half of libsodium's secret key. */
	rc = seal_text(name, key->info.address, key->seckey, key->info.pubkey, new_passphrase, n,
		       &text, err, errlen);
	/* Under the lock, the file must still hold this key: a delete and a
	 * create of the same name since it was unlocked made another, which
	 * the rename would otherwise replace with the old key. */
	int lock = -1;
	if (!rc)
		rc = lock_wallets(dir, &lock, err, errlen);
	if (!rc) {
		struct keystore_info now;
		char why[512];
		int found = keystore_read_info(datadir, name, &now, why, sizeof(why));
		if (found == ASSAY_ENOTFOUND)
			rc = assay_fail(err, errlen, ASSAY_ENOTFOUND,
					"wallet '%s' was deleted since it was unlocked; nothing was written",
					name);
		else if (found)
			rc = assay_fail(err, errlen, found, "wallet '%s' changed since it was unlocked: %s",
					name, why);
		else if (sodium_memcmp(now.pubkey, key->info.pubkey, PUBKEY_LEN) != 0)
			rc = assay_fail(
				err, errlen, ASSAY_EEXISTS,
				"wallet '%s' now holds another key (deleted and made again since it was "
				"unlocked); nothing was written",
				name);
	}
	if (!rc)
		rc = write_atomic(dir, path, text, 1, err, errlen);
	unlock_wallets(lock);
	if (!rc && info)
		fill_info(info, name, key->info.address, key->info.pubkey, n);
	free(text);
	return rc;
}

int keystore_delete(const char *datadir, const char *name, char *err, size_t errlen)
{
	char dir[4096], path[4096];
	int rc;
	if (!keystore_name_valid(name))
		return assay_fail(err, errlen, ASSAY_EARG, "bad wallet name '%s'", name);
	if ((rc = wallet_dir(datadir, dir, sizeof(dir), err, errlen)))
		return rc;
	if (keystore_path(datadir, name, path, sizeof(path)) != 0)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "data directory path too long");
	if (!keystore_exists(datadir, name))
		return assay_fail(err, errlen, ASSAY_ENOTFOUND, "unknown wallet '%s'", name);
	int lock = -1;
	if ((rc = lock_wallets(dir, &lock, err, errlen)))
		return rc;
	if (unlink(path) != 0)
		rc = errno == ENOENT ? assay_fail(err, errlen, ASSAY_ENOTFOUND, "unknown wallet '%s'", name)
				     : assay_fail(err, errlen, ASSAY_EIO, "cannot delete %s: %s", path,
						  strerror(errno));
	else
		rc = sync_dir(dir, err, errlen);
	unlock_wallets(lock);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void keystore_list_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int keystore_list(const char *datadir, char ***names, size_t *count)
{
	char dir[4096];
	size_t n = 0, cap = 0;
	char **list = NULL;
	struct dirent *de;

	*names = NULL;
	*count = 0;
	snprintf(dir, sizeof(dir), "%s/%s", datadir, KEYSTORE_DIR);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : ASSAY_EIO;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		char stem[KEYSTORE_NAME_MAX + 1];
		if (len - 5 > KEYSTORE_NAME_MAX)
			continue;
		memcpy(stem, de->d_name, len - 5);
		stem[len - 5] = 0;
		if (!keystore_name_valid(stem))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			char **grown = realloc(list, cap * sizeof(*list));
			if (!grown)
				goto oom;
			list = grown;
		}
		if (!(list[n] = strdup(stem)))
			goto oom;
		n++;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), cmp_names);
	*names = list;
	*count = n;
	return 0;
oom:
	closedir(d);
	keystore_list_free(list, n);
	return ASSAY_ENOMEM;
}
