/* Unit tests for wallet/keystore and wallet/passphrase: create/load round
 * trip, wrong passphrase, every tampered field, file modes, the atomic write,
 * listing, names, the dev key vector and the passphrase sources; passphrase
 * change, export of the file, exists and delete. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/keys.h"
#include "tests/unit/test.h"
#include "wallet/keystore.h"
#include "wallet/passphrase.h"

static char root[256];
static char err[512];

static void path_of(const char *name, char *out, size_t cap)
{
	CHECK(keystore_path(root, name, out, cap) == 0);
}

static int create(const char *name, const uint8_t *seed, const char *pass)
{
	return keystore_create(root, name, NET_DEV, seed, pass, NULL, err, sizeof(err));
}

static void test_round_trip(void)
{
	struct keystore_info info;
	struct keystore_key key;
	uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN], sig[SIG_LEN];
	for (int i = 0; i < SEED_LEN; i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	key_from_seed(seed, pk, sk);

	CHECK(keystore_create(root, "alice", NET_DEV, seed, "correct horse", &info, err,
			      sizeof(err)) == 0);
	CHECK(memcmp(info.pubkey, pk, PUBKEY_LEN) == 0);
	CHECK(strncmp(info.address, "dassay1", 7) == 0);
	CHECK(info.scrypt_n == 1024); /* from ASSAY_SCRYPT_N set in main() */

	CHECK(keystore_load(root, "alice", "correct horse", &key, err, sizeof(err)) == 0);
	CHECK(memcmp(key.seckey, sk, SECKEY_LEN) == 0);
	CHECK(memcmp(key.info.pubkey, pk, PUBKEY_LEN) == 0);
	CHECK(strcmp(key.info.address, info.address) == 0);
	sig_sign(key.seckey, "m", 1, sig);
	CHECK(sig_verify(pk, "m", 1, sig) == 0);
	keystore_key_wipe(&key);
	uint8_t zero[SECKEY_LEN] = {0};
	CHECK(memcmp(key.seckey, zero, SECKEY_LEN) == 0);

	/* a random key also round-trips */
	CHECK(create("bob", NULL, "pw") == 0);
	CHECK(keystore_load(root, "bob", "pw", &key, err, sizeof(err)) == 0);
	key_from_seed(key.seckey, pk, sk);
	CHECK(memcmp(pk, key.info.pubkey, PUBKEY_LEN) == 0);
	keystore_key_wipe(&key);
}

static void test_wrong_passphrase(void)
{
	struct keystore_key key;
	memset(&key, 0xAA, sizeof(key));
	CHECK(keystore_load(root, "alice", "Correct horse", &key, err, sizeof(err)) ==
	      ASSAY_EAUTH);
	CHECK(strstr(err, "wrong passphrase") != NULL);
	uint8_t zero[SECKEY_LEN] = {0};
	CHECK(memcmp(key.seckey, zero, SECKEY_LEN) == 0);
	CHECK(keystore_load(root, "alice", "", &key, err, sizeof(err)) == ASSAY_EAUTH);
}

static void test_modes_and_no_temp(void)
{
	char path[512], dir[512];
	struct stat st;
	path_of("alice", path, sizeof(path));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(dir, sizeof(dir), "%s/wallet", root);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	DIR *d = opendir(dir);
	struct dirent *de;
	int others = 0;
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "alice.json") &&
		    strcmp(de->d_name, "bob.json") && strcmp(de->d_name, KEYSTORE_LOCK_NAME))
			others++;
	}
	snprintf(path, sizeof(path), "%s/wallet/%s", root, KEYSTORE_LOCK_NAME);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600); /* the lock, private too */
	if (d)
		closedir(d);
	CHECK(d != NULL);
	CHECK(others == 0);
}

static void test_exists_untouched(void)
{
	char path[512];
	struct stat before, after;
	path_of("alice", path, sizeof(path));
	CHECK(stat(path, &before) == 0);
	CHECK(create("alice", NULL, "other") == ASSAY_EEXISTS);
	CHECK(stat(path, &after) == 0);
	CHECK(before.st_ino == after.st_ino && before.st_size == after.st_size);
	struct keystore_key key;
	CHECK(keystore_load(root, "alice", "correct horse", &key, err, sizeof(err)) == 0);
	keystore_key_wipe(&key);
}

/* Rewrites alice.json with one change applied, loads it, then puts the
 * original back. */
typedef void (*mutator)(json_t *file);

static int load_mutated(mutator m)
{
	char path[512];
	struct keystore_key key;
	path_of("alice", path, sizeof(path));
	json_t *orig = json_load_file(path, 0, NULL);
	json_t *j = json_deep_copy(orig);
	CHECK(j != NULL);
	if (m)
		m(j);
	CHECK(json_dump_file(j, path, JSON_INDENT(2)) == 0);
	json_decref(j);
	err[0] = 0;
	int rc = keystore_load(root, "alice", "correct horse", &key, err, sizeof(err));
	keystore_key_wipe(&key);
	CHECK(json_dump_file(orig, path, JSON_INDENT(2)) == 0);
	json_decref(orig);
	return rc;
}

/* Flips the last hex digit of obj.key. */
static void flip(json_t *obj, const char *key)
{
	char s[256];
	snprintf(s, sizeof(s), "%s", json_string_value(json_object_get(obj, key)));
	size_t n = strlen(s);
	s[n - 1] = s[n - 1] == '0' ? '1' : '0';
	json_object_set_new(obj, key, json_string(s));
}

static void m_ct(json_t *j) { flip(json_object_get(j, "cipher"), "ciphertext"); }
static void m_tag(json_t *j) { flip(json_object_get(j, "cipher"), "tag"); }
static void m_nonce(json_t *j) { flip(json_object_get(j, "cipher"), "nonce"); }
static void m_salt(json_t *j) { flip(json_object_get(j, "kdf"), "salt"); }
static void m_short_tag(json_t *j)
{
	json_object_set_new(json_object_get(j, "cipher"), "tag", json_string("00"));
}
static void m_version(json_t *j) { json_object_set_new(j, "version", json_integer(2)); }
static void m_name(json_t *j) { json_object_set_new(j, "name", json_string("bob")); }
static void m_kdf_n(json_t *j)
{
	json_object_set_new(json_object_get(j, "kdf"), "N", json_integer(1000));
}
static void m_kdf_huge(json_t *j)
{
	json_object_set_new(json_object_get(j, "kdf"), "N", json_integer(1 << 24));
}
static void m_cipher_name(json_t *j)
{
	json_object_set_new(json_object_get(j, "cipher"), "name", json_string("aes-128-gcm"));
}
static void m_no_kdf(json_t *j) { json_object_del(j, "kdf"); }
/* Another valid address that does not belong to the pubkey. */
static void m_address(json_t *j)
{
	uint8_t addr[ADDR_LEN] = {1, 2, 3};
	char text[ADDR_STR_MAX];
	address_encode(NET_DEV, addr, text);
	json_object_set_new(j, "address", json_string(text));
}
/* Swap in another key's pubkey and matching address: consistent in the clear,
 * but the AAD no longer matches what was sealed. */
static void m_pubkey_and_address(json_t *j)
{
	uint8_t seed[SEED_LEN] = {9}, pk[PUBKEY_LEN], sk[SECKEY_LEN], addr[ADDR_LEN];
	char hex[2 * PUBKEY_LEN + 1], text[ADDR_STR_MAX];
	key_from_seed(seed, pk, sk);
	hex_encode(pk, PUBKEY_LEN, hex);
	address_from_pubkey(pk, addr);
	address_encode(NET_DEV, addr, text);
	json_object_set_new(j, "pubkey", json_string(hex));
	json_object_set_new(j, "address", json_string(text));
}

static void test_tampering(void)
{
	/* rewriting without a change must load, or the checks below prove nothing */
	CHECK(load_mutated(NULL) == 0);
	CHECK(load_mutated(m_ct) == ASSAY_EAUTH);
	CHECK(load_mutated(m_tag) == ASSAY_EAUTH);
	CHECK(load_mutated(m_nonce) == ASSAY_EAUTH);
	CHECK(load_mutated(m_salt) == ASSAY_EAUTH);
	CHECK(load_mutated(m_pubkey_and_address) == ASSAY_EAUTH);
	CHECK(load_mutated(m_short_tag) == ASSAY_EDECODE);
	CHECK(strstr(err, "cipher.tag") != NULL);
	CHECK(load_mutated(m_version) == ASSAY_EDECODE);
	CHECK(strstr(err, "version") != NULL);
	CHECK(load_mutated(m_name) == ASSAY_EDECODE);
	CHECK(strstr(err, "'name'") != NULL);
	CHECK(load_mutated(m_address) == ASSAY_EDECODE);
	CHECK(strstr(err, "'address'") != NULL);
	CHECK(load_mutated(m_kdf_n) == ASSAY_EDECODE);
	CHECK(strstr(err, "kdf.N") != NULL);
	CHECK(load_mutated(m_kdf_huge) == ASSAY_EDECODE);
	CHECK(load_mutated(m_cipher_name) == ASSAY_EDECODE);
	CHECK(strstr(err, "cipher.name") != NULL);
	CHECK(load_mutated(m_no_kdf) == ASSAY_EDECODE);
	CHECK(strstr(err, "kdf") != NULL);
}

/* Rewrites alice's kdf with N, r and p and reads its clear fields (no
 * derivation, so a bound that fails costs no minute here). */
static int info_with_kdf(json_int_t n, json_int_t r, json_int_t p)
{
	char path[512];
	struct keystore_info info;
	path_of("alice", path, sizeof(path));
	json_t *orig = json_load_file(path, 0, NULL);
	json_t *j = json_deep_copy(orig), *kdf = json_object_get(j, "kdf");
	CHECK(kdf != NULL);
	json_object_set_new(kdf, "N", json_integer(n));
	json_object_set_new(kdf, "r", json_integer(r));
	json_object_set_new(kdf, "p", json_integer(p));
	CHECK(json_dump_file(j, path, JSON_INDENT(2)) == 0);
	json_decref(j);
	err[0] = 0;
	int rc = keystore_read_info(root, "alice", &info, err, sizeof(err));
	CHECK(json_dump_file(orig, path, JSON_INDENT(2)) == 0);
	json_decref(orig);
	return rc;
}

/* A planted file asking for a costly scrypt (N = 2^30, p = 16: a minute and
 * gigabytes) is refused with the bounds named, before any derivation; the
 * wallet's own parameters and the documented maxima are accepted. */
static void test_kdf_bounds(void)
{
	CHECK_EQ_INT(info_with_kdf(1 << 30, 8, 16), ASSAY_EDECODE);
	CHECK(strstr(err, "kdf.N/r/p") && strstr(err, "N=1073741824") && strstr(err, "p=16"));
	CHECK_EQ_INT(info_with_kdf(1 << 20, 8, 16), ASSAY_EDECODE);
	CHECK_EQ_INT(info_with_kdf(1 << 20, 8, 1), ASSAY_EDECODE);
	CHECK_EQ_INT(info_with_kdf(KEYSTORE_SCRYPT_N, 32, 1), ASSAY_EDECODE);
	CHECK_EQ_INT(info_with_kdf(KEYSTORE_SCRYPT_N, 8, 16), ASSAY_EDECODE);
	CHECK_EQ_INT(info_with_kdf(KEYSTORE_SCRYPT_N, 8, 0), ASSAY_EDECODE);
	CHECK_EQ_INT(info_with_kdf(KEYSTORE_SCRYPT_N, KEYSTORE_SCRYPT_R, KEYSTORE_SCRYPT_P), 0);
	CHECK_EQ_INT(info_with_kdf(KEYSTORE_SCRYPT_N_MAX, KEYSTORE_SCRYPT_R_MAX, KEYSTORE_SCRYPT_P_MAX), 0);
	CHECK_EQ_INT(info_with_kdf(KEYSTORE_SCRYPT_N_MAX * 2, KEYSTORE_SCRYPT_R_MAX, 1), ASSAY_EDECODE);
	CHECK(KEYSTORE_SCRYPT_N * 8 == KEYSTORE_SCRYPT_N_MAX); /* the documented headroom */
}

static void test_untampered_copy_loads(void)
{
	/* Same procedure as test_tampering but renaming back: proves the
	 * copy-and-edit path produces loadable files when nothing is changed. */
	char src[512], dst[512];
	struct keystore_key key;
	CHECK(create("carol", NULL, "pw") == 0);
	path_of("carol", src, sizeof(src));
	path_of("carol2", dst, sizeof(dst));
	json_t *j = json_load_file(src, 0, NULL);
	CHECK(json_dump_file(j, src, JSON_INDENT(4)) == 0); /* reformatting is harmless */
	json_decref(j);
	CHECK(keystore_load(root, "carol", "pw", &key, err, sizeof(err)) == 0);
	keystore_key_wipe(&key);
	CHECK(rename(src, dst) == 0); /* renamed file: its name field disagrees */
	CHECK(keystore_load(root, "carol2", "pw", &key, err, sizeof(err)) == ASSAY_EDECODE);
	unlink(dst);
}

static void test_garbage_and_missing(void)
{
	char path[512];
	struct keystore_key key;
	struct keystore_info info;
	CHECK(keystore_load(root, "nobody", "pw", &key, err, sizeof(err)) == ASSAY_ENOTFOUND);
	CHECK(strstr(err, "unknown wallet") != NULL);
	path_of("junk", path, sizeof(path));
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("{not json", f);
		fclose(f);
	}
	CHECK(keystore_read_info(root, "junk", &info, err, sizeof(err)) == ASSAY_EDECODE);
	unlink(path);
	CHECK(keystore_load(root, "../x", "pw", &key, err, sizeof(err)) == ASSAY_EARG);
}

/* A FIFO (or a device) in a key file's place is refused as not a regular
 * file at once: opening it must not wait for a writer that never comes.
 * Run in a child with an alarm, so a hang fails the test, not the suite. */
static void test_fifo_in_place_of_a_key(void)
{
	char path[512];
	path_of("fifo", path, sizeof(path));
	CHECK(mkfifo(path, 0600) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct keystore_info info;
		alarm(5);
		int rc = keystore_read_info(root, "fifo", &info, err, sizeof(err));
		_exit(rc == ASSAY_EDECODE && strstr(err, "not a regular file") ? 0 : 1);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path);
}

static void test_names_and_list(void)
{
	char long_name[KEYSTORE_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name));
	long_name[KEYSTORE_NAME_MAX] = 0;
	CHECK(keystore_name_valid(long_name));
	long_name[KEYSTORE_NAME_MAX] = 'a';
	long_name[KEYSTORE_NAME_MAX + 1] = 0;
	CHECK(!keystore_name_valid(long_name));
	CHECK(keystore_name_valid("A-z_09"));
	CHECK(!keystore_name_valid(""));
	CHECK(!keystore_name_valid("a.b"));
	CHECK(!keystore_name_valid("a/b"));
	CHECK(!keystore_name_valid(".."));
	CHECK(!keystore_name_valid("a b"));
	CHECK(create("bad name", NULL, "pw") == ASSAY_EARG);

	char **names;
	size_t n;
	char stray[512];
	snprintf(stray, sizeof(stray), "%s/wallet/notes.txt", root);
	FILE *f = fopen(stray, "w");
	if (f)
		fclose(f);
	CHECK(keystore_list(root, &names, &n) == 0);
	CHECK(n == 2);
	if (n == 2)
		CHECK(strcmp(names[0], "alice") == 0 && strcmp(names[1], "bob") == 0);
	keystore_list_free(names, n);
	unlink(stray);
	CHECK(keystore_list("/nonexistent-assay-dir", &names, &n) == 0 && n == 0);
}

static void test_scrypt_env(void)
{
	setenv("ASSAY_SCRYPT_N", "1000", 1);
	CHECK(create("envbad", NULL, "pw") == ASSAY_EARG);
	CHECK(strstr(err, "ASSAY_SCRYPT_N") != NULL);
	/* A weak N without the explicit test opt-in is refused, not obeyed. */
	unsetenv("ASSAY_TESTING");
	setenv("ASSAY_SCRYPT_N", "2", 1);
	CHECK(create("envweak", NULL, "pw") == ASSAY_EARG);
	CHECK(strstr(err, "ASSAY_TESTING") != NULL);
	setenv("ASSAY_TESTING", "1", 1);
	setenv("ASSAY_SCRYPT_N", "1024", 1);
}

static void test_dev_seed(void)
{
	/* SHA256("assay/dev-key/0") computed independently */
	static const char want[] =
		"c1d1dfb6c217f4fbeff87be6b088cfe37b42c922d33d7794b75ede603d29ff56";
	uint8_t seed[SEED_LEN];
	char hex[2 * SEED_LEN + 1];
	keystore_dev_seed(seed);
	hex_encode(seed, SEED_LEN, hex);
	CHECK(strcmp(hex, want) == 0);
}

/* Writes text to path with mode 0600, as a passphrase file must have. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	CHECK(chmod(path, 0600) == 0);
}

/* A passphrase file that group or others may read is refused before it is
 * read, naming its mode; 0600 and 0400 are fine. */
static void test_passphrase_file_mode(void)
{
	char out[PASSPHRASE_MAX + 1], file[512];
	snprintf(file, sizeof(file), "%s/pass-mode", root);
	write_file(file, "secret\n");
	static const mode_t refused[] = {0644, 0640, 0604, 0660, 0602, 0610};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK(chmod(file, refused[i]) == 0);
		strcpy(out, "untouched");
		CHECK_EQ_INT(passphrase_get(file, "p: ", 0, out, err, sizeof(err)), ASSAY_EAUTH);
		CHECK(strstr(err, "chmod 600") != NULL);
		CHECK(strcmp(out, "secret") != 0);
	}
	CHECK(chmod(file, 0400) == 0);
	CHECK(passphrase_get(file, "p: ", 0, out, err, sizeof(err)) == 0 && strcmp(out, "secret") == 0);
	CHECK(chmod(file, 0600) == 0);
	CHECK(passphrase_get(file, "p: ", 0, out, err, sizeof(err)) == 0 && strcmp(out, "secret") == 0);
	unlink(file);
}

static void test_passphrase_sources(void)
{
	char out[PASSPHRASE_MAX + 1], file[512];
	snprintf(file, sizeof(file), "%s/pass", root);
	write_file(file, "from file\r\nsecond line\n");
	setenv(PASSPHRASE_ENV, "from env", 1);
	CHECK(passphrase_get(file, "p: ", 0, out, err, sizeof(err)) == 0);
	CHECK(strcmp(out, "from file") == 0); /* file wins over env */
	CHECK(passphrase_get(NULL, "p: ", 0, out, err, sizeof(err)) == 0);
	CHECK(strcmp(out, "from env") == 0);
	setenv(PASSPHRASE_ENV, "", 1);
	CHECK(passphrase_get(NULL, "p: ", 1, out, err, sizeof(err)) == ASSAY_EARG);
	CHECK(passphrase_get(NULL, "p: ", 0, out, err, sizeof(err)) == 0 && out[0] == 0);
	unsetenv(PASSPHRASE_ENV);
	CHECK(passphrase_get("/nonexistent-assay-pass", "p: ", 0, out, err, sizeof(err)) ==
	      ASSAY_EIO);

	char *big = malloc(PASSPHRASE_MAX + 2);
	memset(big, 'x', PASSPHRASE_MAX + 1);
	big[PASSPHRASE_MAX + 1] = 0;
	write_file(file, big);
	CHECK(passphrase_get(file, "p: ", 0, out, err, sizeof(err)) == ASSAY_ELIMIT);
	big[PASSPHRASE_MAX] = 0; /* exactly the limit is fine */
	write_file(file, big);
	CHECK(passphrase_get(file, "p: ", 0, out, err, sizeof(err)) == 0);
	CHECK(strlen(out) == PASSPHRASE_MAX);
	free(big);
	unlink(file);
}

/* Reads a whole small file into a malloc()ed, NUL-ended buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = calloc(1, KEYSTORE_FILE_MAX + 2);
	*len = f && text ? fread(text, 1, KEYSTORE_FILE_MAX + 1, f) : 0;
	if (f)
		fclose(f);
	return text;
}

static void test_change_passphrase(void)
{
	struct keystore_key key, again;
	struct keystore_info info;
	uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN];
	char path[512];
	for (int i = 0; i < SEED_LEN; i++)
		seed[i] = (uint8_t)(200 - i);
	key_from_seed(seed, pk, sk);
	CHECK(create("carol", seed, "old pass") == 0);
	path_of("carol", path, sizeof(path));
	json_t *before = json_load_file(path, 0, NULL);

	CHECK(keystore_load(root, "carol", "old pass", &key, err, sizeof(err)) == 0);
	CHECK(keystore_change_passphrase(root, &key, "new pass", &info, err, sizeof(err)) == 0);
	keystore_key_wipe(&key);
	CHECK(strcmp(info.name, "carol") == 0);
	CHECK_EQ_MEM(info.pubkey, pk, PUBKEY_LEN);

	/* The old passphrase no longer opens it; the new one opens the same key. */
	CHECK(keystore_load(root, "carol", "old pass", &again, err, sizeof(err)) == ASSAY_EAUTH);
	CHECK(keystore_load(root, "carol", "new pass", &again, err, sizeof(err)) == 0);
	CHECK_EQ_MEM(again.seckey, sk, SECKEY_LEN);
	keystore_key_wipe(&again);

	/* Fresh salt and nonce; same address; mode kept; no temporary left. */
	json_t *after = json_load_file(path, 0, NULL);
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(before, "kdf"), "salt")),
		     json_string_value(json_object_get(json_object_get(after, "kdf"), "salt"))) != 0);
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(before, "cipher"), "nonce")),
		     json_string_value(json_object_get(json_object_get(after, "cipher"), "nonce"))) != 0);
	CHECK(strcmp(json_string_value(json_object_get(before, "address")),
		     json_string_value(json_object_get(after, "address"))) == 0);
	json_decref(before);
	json_decref(after);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* A key whose file has gone is not written back. */
	CHECK(keystore_load(root, "carol", "new pass", &key, err, sizeof(err)) == 0);
	CHECK(unlink(path) == 0);
	CHECK(keystore_change_passphrase(root, &key, "x", NULL, err, sizeof(err)) == ASSAY_ENOTFOUND);
	CHECK(access(path, F_OK) != 0);
	keystore_key_wipe(&key);
}

static void test_exists_read_file_delete(void)
{
	char path[512], *text = NULL;
	size_t len = 0, want_len;
	CHECK(create("dave", NULL, "pw") == 0);
	path_of("dave", path, sizeof(path));
	CHECK(keystore_exists(root, "dave") == 1);
	CHECK(keystore_exists(root, "nobody") == 0);
	CHECK(keystore_exists(root, "bad/name") == 0);

	/* The export is the file's bytes, unchanged. */
	char *want = slurp(path, &want_len);
	CHECK(keystore_read_file(root, "dave", &text, &len, err, sizeof(err)) == 0);
	CHECK(text && len == want_len && memcmp(text, want, len) == 0 && text[len] == 0);
	free(text);
	free(want);
	CHECK(keystore_read_file(root, "nobody", &text, &len, err, sizeof(err)) == ASSAY_ENOTFOUND);
	CHECK(text == NULL);

	/* A corrupt file exists (so nothing is created over it) but is not
	 * exported. */
	char bad[512];
	path_of("eve", bad, sizeof(bad));
	write_file(bad, "{\"version\": 1}");
	CHECK(keystore_exists(root, "eve") == 1);
	CHECK(keystore_read_file(root, "eve", &text, &len, err, sizeof(err)) == ASSAY_EDECODE);
	CHECK(text == NULL);
	CHECK(create("eve", NULL, "pw") == ASSAY_EEXISTS);

	CHECK(keystore_delete(root, "dave", err, sizeof(err)) == 0);
	CHECK(keystore_exists(root, "dave") == 0);
	CHECK(keystore_delete(root, "dave", err, sizeof(err)) == ASSAY_ENOTFOUND);
	CHECK(keystore_delete(root, "../x", err, sizeof(err)) == ASSAY_EARG);
	CHECK(keystore_delete(root, "eve", err, sizeof(err)) == 0);
	CHECK(keystore_exists(root, "eve") == 0);
}

/* `wallet passphrase` unlocks, asks, then writes: a delete and a create of
 * the same name in between (another process) made a new key, which the
 * write must not replace with the old one. */
static void test_change_passphrase_after_recreate(void)
{
	struct keystore_key old_key, now;
	struct keystore_info made;
	CHECK(create("dora", NULL, "first") == 0);
	CHECK(keystore_load(root, "dora", "first", &old_key, err, sizeof(err)) == 0);
	CHECK(keystore_delete(root, "dora", err, sizeof(err)) == 0);
	CHECK(keystore_create(root, "dora", NET_DEV, NULL, "second", &made, err, sizeof(err)) == 0);
	CHECK_EQ_INT(keystore_change_passphrase(root, &old_key, "third", NULL, err, sizeof(err)),
		     ASSAY_EEXISTS);
	CHECK(strstr(err, "another key") != NULL);
	keystore_key_wipe(&old_key);
	CHECK(keystore_load(root, "dora", "third", &now, err, sizeof(err)) == ASSAY_EAUTH);
	CHECK(keystore_load(root, "dora", "second", &now, err, sizeof(err)) == 0);
	CHECK_EQ_MEM(now.info.pubkey, made.pubkey, PUBKEY_LEN);
	keystore_key_wipe(&now);
	CHECK(keystore_delete(root, "dora", err, sizeof(err)) == 0);
}

/* AddressSanitizer makes mlock() a no-op that returns 0. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* VmLck of this process in kB, from /proc/self/status; -1 if unknown. */
static long locked_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmLck:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* An unlocked key is mlock()ed where the limit allows and unlocked by the
 * wipe; with RLIMIT_MEMLOCK 0 the load works all the same. */
static void test_key_memory_locked(void)
{
	struct keystore_key key;
	struct rlimit saved, none;
	CHECK(create("fay", NULL, "pw") == 0);
	CHECK(getrlimit(RLIMIT_MEMLOCK, &saved) == 0);
	none = saved;
	none.rlim_cur = 0;
	CHECK(setrlimit(RLIMIT_MEMLOCK, &none) == 0);
	CHECK(keystore_load(root, "fay", "pw", &key, err, sizeof(err)) == 0); /* best effort */
	keystore_key_wipe(&key);
	CHECK(setrlimit(RLIMIT_MEMLOCK, &saved) == 0);
	long before = locked_kb();
	if (before < 0 || saved.rlim_cur < 64 * 1024 || UNDER_ASAN) {
		printf("  (VmLck unknown, RLIMIT_MEMLOCK under 64 KiB, or ASan's no-op mlock: the lock "
		       "itself not checked)\n");
	} else {
		/* a page of its own, which no earlier lock covers */
		long page = sysconf(_SC_PAGESIZE);
		struct keystore_key *own = aligned_alloc((size_t)page, (size_t)page);
		CHECK(own != NULL && sizeof(*own) <= (size_t)page);
		CHECK(keystore_load(root, "fay", "pw", own, err, sizeof(err)) == 0);
		long held = locked_kb();
		keystore_key_wipe(own);
		CHECK(held > before);
		CHECK(locked_kb() < held);
		free(own);
	}
	CHECK(keystore_delete(root, "fay", err, sizeof(err)) == 0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Two processes: while another holds the wallet lock (as a passphrase
 * change does between its check and its rename), a delete and a create
 * wait for it; the holder sees the key file unchanged for as long as it
 * holds the lock. */
static void test_lock_between_processes(void)
{
	char path[512], lock[512];
	int ready[2];
	CHECK(create("erin", NULL, "pw") == 0);
	path_of("erin", path, sizeof(path));
	snprintf(lock, sizeof(lock), "%s/wallet/%s", root, KEYSTORE_LOCK_NAME);
	CHECK(pipe(ready) == 0);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(ready[0]);
		int fd = open(lock, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(2);
		size_t before_len, after_len;
		char *before = slurp(path, &before_len);
		if (!before || !before_len)
			_exit(3);
		(void)!write(ready[1], "L", 1);
		usleep(400 * 1000);
		/* the file is the one it was: nobody deleted or replaced it */
		char *after = slurp(path, &after_len);
		_exit(after && after_len == before_len && memcmp(before, after, before_len) == 0 ? 0 : 1);
	}
	close(ready[1]);
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	uint64_t start = now_ms();
	CHECK(keystore_delete(root, "erin", err, sizeof(err)) == 0);
	CHECK(create("erin", NULL, "pw2") == 0);
	uint64_t waited = now_ms() - start;
	int status = -1;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK_EQ_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	CHECK(waited >= 300); /* the delete waited for the holder */
	CHECK(keystore_delete(root, "erin", err, sizeof(err)) == 0);
}

static void test_new_passphrase_source(void)
{
	char out[PASSPHRASE_MAX + 1];
	setenv(PASSPHRASE_ENV, "old", 1);
	setenv(PASSPHRASE_NEW_ENV, "new", 1);
	CHECK(passphrase_get_from(NULL, PASSPHRASE_NEW_ENV, "p: ", 1, out, err, sizeof(err)) == 0);
	CHECK(strcmp(out, "new") == 0);
	CHECK(passphrase_get(NULL, "p: ", 0, out, err, sizeof(err)) == 0);
	CHECK(strcmp(out, "old") == 0);
	unsetenv(PASSPHRASE_NEW_ENV);
	unsetenv(PASSPHRASE_ENV);
}

/* DATADIR/wallet is 0700 and each key file 0600 whatever the umask, and a
 * wallet directory that others may enter or write (made by hand, or by an
 * older tool under umask 000) is made private again before a key is
 * written into it or re-sealed in it: the docs promise a 0700 folder. */
static void test_loose_wallet_dir(void)
{
	char saved[sizeof(root)], dir[600], path[600];
	struct stat st;
	uint8_t seed[SEED_LEN] = {7};
	memcpy(saved, root, sizeof(root));
	snprintf(root, sizeof(root), "%s-loose", saved);
	snprintf(dir, sizeof(dir), "%s/wallet", root);
	mode_t old_mask = umask(0);
	CHECK(mkdir(root, 0777) == 0);
	CHECK(mkdir(dir, 0777) == 0);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0777);
	CHECK_EQ_INT(create("loose", seed, "pw"), 0);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	path_of("loose", path, sizeof(path));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* loosened again by hand: a passphrase change tightens it too */
	CHECK(chmod(dir, 0755) == 0);
	struct keystore_key key;
	CHECK_EQ_INT(keystore_load(root, "loose", "pw", &key, err, sizeof(err)), 0);
	CHECK_EQ_INT(keystore_change_passphrase(root, &key, "pw2", NULL, err, sizeof(err)), 0);
	keystore_key_wipe(&key);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	umask(old_mask);
	memcpy(root, saved, sizeof(root));
}

int main(void)
{
	char tmpl[64];
	snprintf(tmpl, sizeof(tmpl), "/tmp/assay-test-keystore-%s", "XX" "XX" "XX"); /* mkdtemp template */
	if (keys_init() != 0 || !mkdtemp(tmpl))
		return 1;
	snprintf(root, sizeof(root), "%s/data", tmpl);
	setenv("ASSAY_SCRYPT_N", "1024", 1);
	setenv("ASSAY_TESTING", "1", 1);
	RUN(test_round_trip);
	RUN(test_wrong_passphrase);
	RUN(test_modes_and_no_temp);
	RUN(test_exists_untouched);
	RUN(test_tampering);
	RUN(test_untampered_copy_loads);
	RUN(test_garbage_and_missing);
	RUN(test_fifo_in_place_of_a_key);
	RUN(test_names_and_list);
	RUN(test_scrypt_env);
	RUN(test_kdf_bounds);
	RUN(test_dev_seed);
	RUN(test_passphrase_sources);
	RUN(test_passphrase_file_mode);
	RUN(test_change_passphrase);
	RUN(test_exists_read_file_delete);
	RUN(test_new_passphrase_source);
	RUN(test_change_passphrase_after_recreate);
	RUN(test_lock_between_processes);
	RUN(test_key_memory_locked);
	RUN(test_loose_wallet_dir);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpl);
	return test_report("keystore");
}
