/* The wallet command group of assay-cli (the handlers behind the "wallet"
 * rows of cli_commands[]): create with backup words, restore, import,
 * export, passphrase, delete, list, address, show, import-dev. Every command
 * that makes a wallet checks the name is free before asking a passphrase.
 * Not for: storing keys (keystore.c) or other command groups. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "wallet/cli.h"
#include "wallet/cli_compute.h"
#include "wallet/cli_wallet.h"
#include "wallet/keystore.h"
#include "wallet/mnemonic.h"
#include "wallet/passphrase.h"

static json_t *info_json(const struct cli_ctx *ctx, const struct keystore_info *info)
{
	uint8_t addr[ADDR_LEN];
	char address[ADDR_STR_MAX], pubkey[2 * PUBKEY_LEN + 1];
	address_from_pubkey(info->pubkey, addr);
	address_encode(cli_local_net(ctx), addr, address);
	hex_encode(info->pubkey, PUBKEY_LEN, pubkey);
	return json_pack("{s:s, s:s, s:s}", "name", info->name, "address", address, "pubkey", pubkey);
}

static int keystore_fail(int rc, const char *err)
{
	return cli_fail(rc == ASSAY_EARG ? CLI_EUSAGE : CLI_EFAIL, "%s", err);
}

static int read_info(struct cli_ctx *ctx, const char *name, struct keystore_info *info)
{
	char err[512];
	int rc = keystore_read_info(ctx->datadir, name, info, err, sizeof(err));
	return rc ? keystore_fail(rc, err) : CLI_OK;
}

/* The longest file of backup words or seed hex read: a phrase is at most
 * MNEMONIC_TEXT_MAX bytes, and room is left for a person's spacing. */
#define WALLET_SECRET_FILE_MAX 4096

/* A new wallet's name is checked, and that no file holds it yet, before any
 * passphrase is asked for or scrypt runs: nothing is ever overwritten. */
static int check_new_name(const struct cli_ctx *ctx, const char *name, char *path, size_t cap)
{
	if (!keystore_name_valid(name))
		return cli_fail(CLI_EUSAGE, "bad wallet name '%s': use 1 to %d of A-Z a-z 0-9 _ -", name,
				KEYSTORE_NAME_MAX);
	if (keystore_path(ctx->datadir, name, path, cap) != 0)
		return cli_fail(CLI_EUSAGE, "data directory path too long");
	if (keystore_exists(ctx->datadir, name))
		return cli_fail(CLI_EFAIL,
				"wallet '%s' already exists (%s); nothing was changed: choose another "
				"name (assay-cli wallet delete %s removes the old one)",
				name, path, name);
	return CLI_OK;
}

/* Asks for the new passphrase (twice on a terminal) and writes the key file
 * holding seed (NULL: a random one). */
static int store_wallet(struct cli_ctx *ctx, const char *name, const uint8_t *seed,
			struct keystore_info *info)
{
	char err[512], pass[PASSPHRASE_MAX + 1];
	int rc = passphrase_get(ctx->passphrase_file, "New passphrase: ", 1, pass, err, sizeof(err));
	if (rc == 0)
		rc = keystore_create(ctx->datadir, name, cli_local_net(ctx), seed, pass, info, err,
				     sizeof(err));
	sodium_memzero(pass, sizeof(pass));
	return rc ? keystore_fail(rc, err) : CLI_OK;
}

static int create_wallet(struct cli_ctx *ctx, const char *name, const uint8_t *seed)
{
	char path[CLI_PATH_MAX + 96];
	struct keystore_info info;
	int rc = check_new_name(ctx, name, path, sizeof(path));
	if (rc || (rc = store_wallet(ctx, name, seed, &info)))
		return rc;
	json_t *j = info_json(ctx, &info);
	json_object_set_new(j, "file", json_string(path));
	cli_emit(ctx, j, "created wallet '%s'\naddress: %s\nfile:    %s\n", name, info.address, path);
	return CLI_OK;
}

/* Whether everything printed so far reached standard output: a secret shown
 * once must not be lost to a full disk or a closed pipe unnoticed. errno
 * says why when not. */
static int stdout_written(void)
{
	return fflush(stdout) == 0 && !ferror(stdout);
}

/* The words as a person copies them down: numbered, four to a line. */
static void print_words(const char *phrase)
{
	char word[MNEMONIC_WORD_MAX + 1];
	int i = 0;
	for (const char *p = phrase; *p;) {
		size_t n = strcspn(p, " ");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		i++;
		if (i % 4 == 0)
			printf("%3d. %s\n", i, word);
		else
			printf("%3d. %-9s ", i, word);
		p += n;
		if (*p == ' ')
			p++;
	}
	if (i % 4)
		printf("\n");
	sodium_memzero(word, sizeof(word));
}

int cli_wallet_create(struct cli_ctx *ctx)
{
	const char *name = ctx->args[0];
	char path[CLI_PATH_MAX + 96], phrase[MNEMONIC_TEXT_MAX], err[512];
	uint8_t entropy[MNEMONIC_ENTROPY_MAX], seed[SEED_LEN];
	struct keystore_info info;
	int rc = check_new_name(ctx, name, path, sizeof(path));
	if (rc)
		return rc;
	randombytes_buf(entropy, sizeof(entropy));
	rc = mnemonic_from_entropy(entropy, sizeof(entropy), phrase, sizeof(phrase));
	sodium_memzero(entropy, sizeof(entropy));
	if (rc || mnemonic_wallet_seed(phrase, seed, err, sizeof(err)) != 0) {
		sodium_memzero(phrase, sizeof(phrase));
		return cli_fail(CLI_EFAIL, "cannot make the backup words");
	}
	rc = store_wallet(ctx, name, seed, &info);
	sodium_memzero(seed, sizeof(seed));
	if (rc) {
		sodium_memzero(phrase, sizeof(phrase));
		return rc;
	}
	if (ctx->json) {
		json_t *j = info_json(ctx, &info);
		json_object_set_new(j, "file", json_string(path));
		json_object_set_new(j, "mnemonic", json_string(phrase));
		json_object_set_new(j, "derivation_path", json_string(MNEMONIC_PATH_TEXT));
		cli_emit(ctx, j, "%s", "");
	} else {
		printf("created wallet '%s'\naddress: %s\nfile:    %s\n\n"
		       "Backup words, shown this once. Write them down in order and keep them\n"
		       "offline: anyone who has them can spend from this wallet, and\n"
		       "'assay-cli wallet restore NAME' brings it back from them alone.\n\n",
		       name, info.address, path);
		print_words(phrase);
	}
	sodium_memzero(phrase, sizeof(phrase));
	if (!stdout_written())
		return cli_fail(CLI_EFAIL,
				"wallet '%s' was created (%s), but its backup words could not be written to "
				"standard output (%s): they were not shown, and cannot be shown again. Back up its "
				"seed with 'assay-cli wallet export %s --seed', or delete it ('assay-cli wallet "
				"delete %s') and create it again",
				name, path, strerror(errno), name, name);
	return CLI_OK;
}

/* Reads a small file holding a secret (backup words or seed hex) into out
 * (cap bytes, NUL-ended). The caller wipes out. */
/* Reads a backup or seed file into out (cap bytes, NUL-ended) with read(2),
 * not stdio, whose buffer would keep a copy of the secret after fclose. */
static int read_secret_file(const char *file, char *out, size_t cap)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_fail(CLI_EFAIL, "cannot read %s: %s", file, strerror(errno));
	size_t n = 0;
	int bad = 0;
	while (n < cap) { /* one byte past cap - 1 says it is too long */
		ssize_t got = read(fd, out + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			bad = got < 0;
			break;
		}
		n += (size_t)got;
	}
	close(fd);
	int too_long = n == cap;
	if (too_long)
		n = cap - 1;
	out[n] = 0;
	if (bad)
		return cli_fail(CLI_EFAIL, "cannot read %s", file);
	if (too_long)
		return cli_fail(CLI_EFAIL, "%s is longer than %zu bytes: not a backup", file, cap - 1);
	if (strlen(out) != n)
		return cli_fail(CLI_EFAIL, "%s holds a NUL byte: not a backup", file);
	return CLI_OK;
}

int cli_wallet_restore(struct cli_ctx *ctx)
{
	const char *name = ctx->args[0], *file = cli_opt(ctx, "mnemonic-file");
	char path[CLI_PATH_MAX + 96], text[WALLET_SECRET_FILE_MAX], err[512];
	uint8_t seed[SEED_LEN];
	struct keystore_info info;
	int rc = check_new_name(ctx, name, path, sizeof(path));
	if (rc)
		return rc;
	_Static_assert(sizeof(text) > PASSPHRASE_MAX, "a terminal line fits");
	if (file) {
		rc = read_secret_file(file, text, sizeof(text));
	} else if (passphrase_ask_terminal("Backup words (12 to 24, on one line): ", 0, text, err,
					   sizeof(err)) != 0) {
		rc = cli_fail(CLI_EFAIL, "%s; give the words with --mnemonic-file FILE", err);
	}
	if (!rc && mnemonic_wallet_seed(text, seed, err, sizeof(err)) != 0)
		rc = cli_fail(CLI_EFAIL, "these are not valid backup words: %s", err);
	sodium_memzero(text, sizeof(text));
	if (rc)
		return rc;
	rc = store_wallet(ctx, name, seed, &info);
	sodium_memzero(seed, sizeof(seed));
	if (rc)
		return rc;
	json_t *j = info_json(ctx, &info);
	json_object_set_new(j, "file", json_string(path));
	json_object_set_new(j, "derivation_path", json_string(MNEMONIC_PATH_TEXT));
	cli_emit(ctx, j, "restored wallet '%s'\naddress: %s\nfile:    %s\n", name, info.address, path);
	return CLI_OK;
}

int cli_wallet_import(struct cli_ctx *ctx)
{
	const char *name = ctx->args[0], *file = cli_opt(ctx, "seed-file");
	char path[CLI_PATH_MAX + 96], text[WALLET_SECRET_FILE_MAX];
	uint8_t seed[SEED_LEN];
	if (!file)
		return cli_fail(CLI_EUSAGE, "wallet import needs --seed-file FILE (64 hex digits: a 32-byte "
					    "Ed25519 seed, as wallet export --seed prints it)");
	int rc = check_new_name(ctx, name, path, sizeof(path));
	if (rc || (rc = read_secret_file(file, text, sizeof(text))))
		goto out;
	char *hex = text + strspn(text, " \t\r\n");
	size_t n = strcspn(hex, " \t\r\n");
	int trailing = hex[n + strspn(hex + n, " \t\r\n")] != 0;
	hex[n] = 0;
	if (n != 2 * SEED_LEN || trailing || hex_decode(hex, seed, SEED_LEN) != SEED_LEN) {
		rc = cli_fail(CLI_EFAIL, "%s is not a seed: it must hold 64 hex digits (32 bytes)", file);
		goto out;
	}
	rc = create_wallet(ctx, name, seed);
out:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* A typed confirmation: the person types the wallet's name, or the command
 * line says --yes. Without a terminal and without --yes, nothing is done. */
static int confirm_name(const struct cli_ctx *ctx, const char *name, const char *what)
{
	char answer[PASSPHRASE_MAX + 1], prompt[256], err[256];
	if (cli_flag(ctx, "yes"))
		return CLI_OK;
	snprintf(prompt, sizeof(prompt), "%s\nType the wallet's name (%s) to go on: ", what, name);
	if (passphrase_ask_terminal(prompt, 1, answer, err, sizeof(err)) != 0)
		return cli_fail(CLI_EFAIL,
				"nothing was done: %s for the confirmation (pass --yes to go on "
				"without it)",
				err);
	char *a = answer + strspn(answer, " \t");
	a[strcspn(a, " \t")] = 0;
	int same = strcmp(a, name) == 0;
	sodium_memzero(answer, sizeof(answer));
	if (!same)
		return cli_fail(CLI_EFAIL, "nothing was done: the answer was not '%s'", name);
	return CLI_OK;
}

int cli_wallet_export(struct cli_ctx *ctx)
{
	const char *name = ctx->args[0];
	struct keystore_info info;
	char err[512];
	int rc = read_info(ctx, name, &info);
	if (rc)
		return rc;
	if (!cli_flag(ctx, "seed")) {
		char *text;
		size_t len;
		if ((rc = keystore_read_file(ctx->datadir, name, &text, &len, err, sizeof(err))))
			return keystore_fail(rc, err);
		/* The file itself (JSON already, still encrypted), in both modes. */
		int ok = fwrite(text, 1, len, stdout) == len && stdout_written();
		free(text);
		return ok ? CLI_OK : cli_fail(CLI_EFAIL, "cannot write the wallet file to standard output (%s)", strerror(errno));
	}
	if ((rc = confirm_name(ctx, name,
			       "This prints the wallet's secret seed: anyone who sees it can spend "
			       "its funds.")))
		return rc;
	struct keystore_key key;
	if ((rc = cli_unlock(ctx, name, &key)))
		return rc;
	char hex[2 * SEED_LEN + 1];
	hex_encode(key.seckey, SEED_LEN, hex); /* libsodium's secret key starts with the seed */
	json_t *j = info_json(ctx, &key.info);
	keystore_key_wipe(&key);
	json_object_set_new(j, "seed", json_string(hex));
	cli_emit(ctx, j, "%s\n", hex);
	sodium_memzero(hex, sizeof(hex));
	if (!stdout_written())
		return cli_fail(CLI_EFAIL,
				"the seed of wallet '%s' could not be written to standard output (%s): it was not "
				"shown; run 'assay-cli wallet export %s --seed' again with standard output a terminal "
				"or a file that can be written",
				name, strerror(errno), name);
	return CLI_OK;
}

int cli_wallet_passphrase(struct cli_ctx *ctx)
{
	const char *name = ctx->args[0];
	struct keystore_info info;
	struct keystore_key key;
	char err[512], pass[PASSPHRASE_MAX + 1];
	int rc = read_info(ctx, name, &info);
	if (rc || (rc = cli_unlock(ctx, name, &key)))
		return rc;
	rc = passphrase_get_from(cli_opt(ctx, "new-passphrase-file"), PASSPHRASE_NEW_ENV,
				 "New passphrase: ", 1, pass, err, sizeof(err));
	if (rc == 0)
		rc = keystore_change_passphrase(ctx->datadir, &key, pass, &info, err, sizeof(err));
	sodium_memzero(pass, sizeof(pass));
	keystore_key_wipe(&key);
	if (rc)
		return keystore_fail(rc, err);
	cli_emit(ctx, info_json(ctx, &info), "changed the passphrase of wallet '%s' (same key, address %s)\n",
		 name, info.address);
	return CLI_OK;
}

int cli_wallet_delete(struct cli_ctx *ctx)
{
	const char *name = ctx->args[0];
	struct keystore_info info;
	char err[512], what[512];
	if (!keystore_name_valid(name))
		return cli_fail(CLI_EUSAGE, "bad wallet name '%s'", name);
	if (!keystore_exists(ctx->datadir, name))
		return cli_fail(CLI_EFAIL, "unknown wallet '%s'", name);
	int readable = keystore_read_info(ctx->datadir, name, &info, err, sizeof(err)) == 0;
	snprintf(what, sizeof(what),
		 "This deletes wallet '%s'%s%s for good: its funds can then be spent only from "
		 "its backup words or seed.",
		 name, readable ? ", address " : "", readable ? info.address : "");
	int rc = confirm_name(ctx, name, what);
	if (rc)
		return rc;
	if ((rc = keystore_delete(ctx->datadir, name, err, sizeof(err))))
		return keystore_fail(rc, err);
	json_t *j = readable ? info_json(ctx, &info) : json_pack("{s:s}", "name", name);
	json_object_set_new(j, "deleted", json_true());
	cli_emit(ctx, j, "deleted wallet '%s'\n", name);
	return CLI_OK;
}

int cli_wallet_import_dev(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN];
	/* --worker: the dev chain's funded worker key, as wallet 'devworker'. */
	const int worker = cli_flag(ctx, "worker");
	const char *name = worker ? "devworker" : "dev";
	int rc = cli_get_chain(ctx, &chain);
	if (rc)
		return rc;
	if (strcmp(chain.network, "dev") != 0 && strcmp(chain.network, "local") != 0)
		return cli_fail(CLI_EFAIL,
				"refusing to import the dev key: the node's network is %s, and the "
				"dev key is public (dev and local networks only)",
				chain.network);
	/* "dev" is the node's word; the dev genesis is built in and fixed, so
	 * its id says it too. A node that calls another chain dev (one whose
	 * coins are worth something) gets no wallet of the public key here. */
	char chain_id[2 * HASH_LEN + 1];
	hex_encode(chain.chain_id, HASH_LEN, chain_id);
	if (strcmp(chain.network, "dev") == 0 && strcmp(chain_id, NETWORK_DEV_CHAIN_ID) != 0)
		return cli_fail(CLI_EFAIL,
				"refusing to import the dev key: the node says network dev, but its chain id "
				"%s is not the dev chain's %s; the dev key is public",
				chain_id, NETWORK_DEV_CHAIN_ID);
	if (worker)
		sha256(CLI_DEV_WORKER_SEED_TEXT, strlen(CLI_DEV_WORKER_SEED_TEXT), seed);
	else
		keystore_dev_seed(seed);
	key_from_seed(seed, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	struct keystore_info info;
	char err[512];
	if (keystore_read_info(ctx->datadir, name, &info, err, sizeof(err)) == 0) {
		sodium_memzero(seed, sizeof(seed));
		if (memcmp(info.pubkey, pk, PUBKEY_LEN) != 0)
			return cli_fail(CLI_EFAIL, "a wallet named '%s' exists and holds another key", name);
		cli_emit(ctx, info_json(ctx, &info), "wallet '%s' already holds the dev %skey\n", name,
			 worker ? "worker " : "");
		return CLI_OK;
	}
	rc = create_wallet(ctx, name, seed);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

int cli_wallet_list(struct cli_ctx *ctx)
{
	char **names;
	size_t n;
	if (keystore_list(ctx->datadir, &names, &n) != 0)
		return cli_fail(CLI_EFAIL, "cannot read %s/wallet", ctx->datadir);
	json_t *arr = json_array();
	struct buf text;
	buf_init(&text);
	for (size_t i = 0; i < n; i++) {
		struct keystore_info info;
		char err[512], line[768];
		if (keystore_read_info(ctx->datadir, names[i], &info, err, sizeof(err)) != 0) {
			json_array_append_new(arr, json_pack("{s:s, s:s}", "name", names[i], "error", err));
			snprintf(line, sizeof(line), "%-20s (%s)\n", names[i], err);
		} else {
			json_t *j = info_json(ctx, &info);
			snprintf(line, sizeof(line), "%-20s %s\n", names[i],
				 json_string_value(json_object_get(j, "address")));
			json_array_append_new(arr, j);
		}
		buf_put(&text, line, strlen(line));
	}
	buf_put_u8(&text, 0);
	cli_emit(ctx, arr, "%s",
		 n ? (const char *)text.data
		   : "no wallets (create one with: "
		     "assay-cli wallet create NAME)\n");
	buf_free(&text);
	keystore_list_free(names, n);
	return CLI_OK;
}

int cli_wallet_address(struct cli_ctx *ctx)
{
	struct keystore_info info;
	int rc = read_info(ctx, ctx->args[0], &info);
	if (rc)
		return rc;
	json_t *j = info_json(ctx, &info);
	cli_emit(ctx, json_incref(j), "%s\n", json_string_value(json_object_get(j, "address")));
	json_decref(j);
	return CLI_OK;
}

int cli_wallet_show(struct cli_ctx *ctx)
{
	struct keystore_info info;
	int rc = read_info(ctx, ctx->args[0], &info);
	if (rc)
		return rc;
	json_t *j = info_json(ctx, &info);
	json_object_set_new(j, "kdf",
			    json_pack("{s:s, s:I, s:i, s:i}", "name", "scrypt", "N",
				      (json_int_t)info.scrypt_n, "r", (int)info.scrypt_r, "p",
				      (int)info.scrypt_p));
	cli_emit(ctx, json_incref(j),
		 "name:    %s\naddress: %s\npubkey:  %s\nkdf:     scrypt N=%llu r=%u p=%u\n", info.name,
		 json_string_value(json_object_get(j, "address")),
		 json_string_value(json_object_get(j, "pubkey")), (unsigned long long)info.scrypt_n,
		 info.scrypt_r, info.scrypt_p);
	json_decref(j);
	return CLI_OK;
}

const struct cli_optdef cli_wallet_import_dev_opts[] = {{"worker", 0}, {NULL, 0}};
const struct cli_optdef cli_wallet_restore_opts[] = {{"mnemonic-file", 1}, {NULL, 0}};
const struct cli_optdef cli_wallet_import_opts[] = {{"seed-file", 1}, {NULL, 0}};
const struct cli_optdef cli_wallet_export_opts[] = {{"seed", 0}, {"yes", 0}, {NULL, 0}};
const struct cli_optdef cli_wallet_passphrase_opts[] = {{"new-passphrase-file", 1}, {NULL, 0}};
const struct cli_optdef cli_wallet_delete_opts[] = {{"yes", 0}, {NULL, 0}};
