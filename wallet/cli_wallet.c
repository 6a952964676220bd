/* The wallet command group of assay-cli: create, list, address, show and
 * import-dev (the handlers behind the "wallet" rows of cli_commands[]).
 * Not for: storing keys (keystore.c) or other command groups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "wallet/cli.h"
#include "wallet/cli_compute.h"
#include "wallet/cli_wallet.h"
#include "wallet/keystore.h"
#include "wallet/passphrase.h"

static json_t *info_json(const struct cli_ctx *ctx, const struct keystore_info *info)
{
	uint8_t addr[ADDR_LEN];
	char address[ADDR_STR_MAX], pubkey[2 * PUBKEY_LEN + 1];
	address_from_pubkey(info->pubkey, addr);
	address_encode(cli_local_net(ctx), addr, address);
	hex_encode(info->pubkey, PUBKEY_LEN, pubkey);
	return json_pack("{s:s, s:s, s:s}", "name", info->name, "address", address, "pubkey",
			 pubkey);
}

static int keystore_fail(int rc, const char *err)
{
	return cli_fail(rc == ASSAY_EARG ? CLI_EUSAGE : CLI_EFAIL, "%s", err);
}

static int create_wallet(struct cli_ctx *ctx, const char *name, const uint8_t *seed)
{
	char err[512], pass[PASSPHRASE_MAX + 1], path[CLI_PATH_MAX + 96];
	struct keystore_info info;
	if (!keystore_name_valid(name))
		return cli_fail(CLI_EUSAGE, "bad wallet name '%s': use 1 to %d of A-Z a-z 0-9 _ -",
				name, KEYSTORE_NAME_MAX);
	if (keystore_path(ctx->datadir, name, path, sizeof(path)) != 0)
		return cli_fail(CLI_EUSAGE, "data directory path too long");
	int rc = passphrase_get(ctx->passphrase_file, "New passphrase: ", 1, pass, err,
				sizeof(err));
	if (rc == 0)
		rc = keystore_create(ctx->datadir, name, cli_local_net(ctx), seed, pass, &info, err,
				     sizeof(err));
	sodium_memzero(pass, sizeof(pass));
	if (rc)
		return keystore_fail(rc, err);
	json_t *j = info_json(ctx, &info);
	json_object_set_new(j, "file", json_string(path));
	cli_emit(ctx, j, "created wallet '%s'\naddress: %s\nfile:    %s\n", name, info.address,
		 path);
	return CLI_OK;
}

int cli_wallet_create(struct cli_ctx *ctx)
{
	return create_wallet(ctx, ctx->args[0], NULL);
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
			json_array_append_new(arr, json_pack("{s:s, s:s}", "name", names[i], "error",
							     err));
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
	cli_emit(ctx, arr, "%s", n ? (const char *)text.data : "no wallets (create one with: "
								 "assay-cli wallet create NAME)\n");
	buf_free(&text);
	keystore_list_free(names, n);
	return CLI_OK;
}

static int read_info(struct cli_ctx *ctx, const char *name, struct keystore_info *info)
{
	char err[512];
	int rc = keystore_read_info(ctx->datadir, name, info, err, sizeof(err));
	return rc ? keystore_fail(rc, err) : CLI_OK;
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
	json_object_set_new(j, "kdf", json_pack("{s:s, s:I, s:i, s:i}", "name", "scrypt", "N",
						(json_int_t)info.scrypt_n, "r", (int)info.scrypt_r,
						"p", (int)info.scrypt_p));
	cli_emit(ctx, json_incref(j), "name:    %s\naddress: %s\npubkey:  %s\nkdf:     scrypt N=%llu r=%u p=%u\n",
		 info.name, json_string_value(json_object_get(j, "address")),
		 json_string_value(json_object_get(j, "pubkey")), (unsigned long long)info.scrypt_n,
		 info.scrypt_r, info.scrypt_p);
	json_decref(j);
	return CLI_OK;
}

const struct cli_optdef cli_wallet_import_dev_opts[] = {{"worker", 0}, {NULL, 0}};
