/* The validator group of assay-cli (see cli_validator.h): validator key
 * files, kept in the clear because assayd reads them unattended at start
 * (as CometBFT's priv_validator_key.json), and the bond, unbond and unjail
 * transactions signed with them through cli_send_from. Not for: wallets
 * (keystore.c) or the consensus rules of these transactions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "core/error.h"
#include "core/tx.h"
#include "wallet/amount.h"
#include "wallet/cli_validator.h"
#include "wallet/keystore.h"

const struct cli_optdef cli_validator_key_create_opts[] = {
	{"seed-file", 1},
	{NULL, 0},
};
const struct cli_optdef cli_validator_bond_opts[] = {
	{"from", 1},  {"amount", 1}, {"fee", 1},   {"wait", 0}, {"timeout", 1},
	{"nonce", 1}, {"raw", 0},    {"force", 0}, {NULL, 0},
};
const struct cli_optdef cli_validator_unjail_opts[] = {
	{"from", 1},  {"fee", 1}, {"wait", 0},  {"timeout", 1},
	{"nonce", 1}, {"raw", 0}, {"force", 0}, {NULL, 0},
};

#define NOT_FOUND_HINT(rc) ((rc) == ASSAY_ENOTFOUND ? " (assay-cli validator key create NAME makes one)" : "")

int cli_validator_key_path(const char *datadir, const char *name, char *out, size_t cap)
{
	if (!keystore_name_valid(name))
		return ASSAY_EARG;
	int n = snprintf(out, cap, "%s/%s/%s.json", datadir, CLI_VALIDATOR_DIR, name);
	return n < 0 || (size_t)n >= cap ? ASSAY_ELIMIT : 0;
}

int cli_validator_key_write(const char *path, const uint8_t seed[SEED_LEN], char *err, size_t errlen)
{
	char dir[CLI_PATH_MAX], seed_hex[2 * SEED_LEN + 1], pk_hex[2 * PUBKEY_LEN + 1];
	uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 1;
	if (dlen >= sizeof(dir))
		return assay_fail(err, errlen, ASSAY_ELIMIT, "path too long: %s", path);
	memcpy(dir, slash ? path : ".", dlen);
	dir[dlen] = 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot create %s: %s", dir, strerror(errno));
	key_from_seed(seed, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	hex_encode(seed, SEED_LEN, seed_hex);
	hex_encode(pk, PUBKEY_LEN, pk_hex);
	char text[512];
	snprintf(text, sizeof(text), "{\n  \"type\": \"%s\",\n  \"pubkey\": \"%s\",\n  \"seed\": \"%s\"\n}\n",
		 CLI_VALIDATOR_KEY_TYPE, pk_hex, seed_hex);
	sodium_memzero(seed_hex, sizeof(seed_hex));
	int rc = keystore_write_new(dir, path, text, err, errlen);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int cli_validator_key_read(const char *path, uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN], char *err,
			   size_t errlen)
{
	json_error_t jerr;
	uint8_t seed[SEED_LEN], want[PUBKEY_LEN];
	FILE *f = fopen(path, "r");
	if (!f)
		return assay_fail(err, errlen, errno == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO,
				  "cannot open validator key %s: %s", path, strerror(errno));
	json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root)
		return assay_fail(err, errlen, ASSAY_EDECODE, "validator key %s: not JSON (%s)", path,
				  jerr.text);
	const char *seed_hex = json_string_value(json_object_get(root, "seed"));
	json_t *pubkey = json_object_get(root, "pubkey");
	int rc = 0;
	if (!seed_hex || strlen(seed_hex) != 2 * SEED_LEN || hex_decode(seed_hex, seed, SEED_LEN) != SEED_LEN)
		rc = assay_fail(err, errlen, ASSAY_EDECODE,
				"validator key %s: \"seed\" must be 64 hex digits", path);
	else
		key_from_seed(seed, pk, sk);
	if (!rc && pubkey &&
	    (!json_is_string(pubkey) || strlen(json_string_value(pubkey)) != 2 * PUBKEY_LEN ||
	     hex_decode(json_string_value(pubkey), want, PUBKEY_LEN) != PUBKEY_LEN ||
	     memcmp(want, pk, PUBKEY_LEN)))
		rc = assay_fail(err, errlen, ASSAY_EDECODE,
				"validator key %s: \"pubkey\" is not the public key of its \"seed\"", path);
	sodium_memzero(seed, sizeof(seed));
	json_decref(root); /* jansson does not wipe: the seed text stays in freed memory */
	if (rc)
		sodium_memzero(sk, SECKEY_LEN);
	return rc;
}

int cli_validator_resolve(const struct cli_ctx *ctx, const char *from, char *path, size_t cap)
{
	if (strchr(from, '/')) {
		if (strlen(from) >= cap)
			return cli_fail(CLI_EUSAGE, "path too long: %s", from);
		snprintf(path, cap, "%s", from);
		return CLI_OK;
	}
	int rc = cli_validator_key_path(ctx->datadir, from, path, cap);
	if (rc == ASSAY_EARG)
		return cli_fail(
			CLI_EUSAGE,
			"bad validator key name '%s': use 1 to %d of A-Z a-z 0-9 _ - (or a path with a /)",
			from, KEYSTORE_NAME_MAX);
	return rc ? cli_fail(CLI_EUSAGE, "data directory path too long") : CLI_OK;
}

int cli_validator_load(struct cli_ctx *ctx, const char *from, struct keystore_key *key)
{
	char path[CLI_PATH_MAX], err[CLI_PATH_MAX + 128];
	memset(key, 0, sizeof(*key));
	int rc = cli_validator_resolve(ctx, from, path, sizeof(path));
	if (rc)
		return rc;
	if ((rc = cli_validator_key_read(path, key->info.pubkey, key->seckey, err, sizeof(err))) != 0)
		return cli_fail(CLI_EFAIL, "%s%s", err, NOT_FOUND_HINT(rc));
	snprintf(key->info.name, sizeof(key->info.name), "%.*s", KEYSTORE_NAME_MAX, from);
	uint8_t addr[ADDR_LEN];
	address_from_pubkey(key->info.pubkey, addr);
	address_encode(cli_local_net(ctx), addr, key->info.address);
	return CLI_OK;
}

void cli_validator_amount_payload(uint64_t amount, struct buf *b)
{
	buf_put_u64(b, amount);
}

static json_t *key_json(const struct cli_ctx *ctx, const char *name, const char *path,
			const uint8_t pk[PUBKEY_LEN], char address[ADDR_STR_MAX],
			char pk_hex[2 * PUBKEY_LEN + 1])
{
	uint8_t addr[ADDR_LEN];
	address_from_pubkey(pk, addr);
	address_encode(cli_local_net(ctx), addr, address);
	hex_encode(pk, PUBKEY_LEN, pk_hex);
	return json_pack("{s:s, s:s, s:s, s:s}", "name", name, "pubkey", pk_hex, "address", address, "file",
			 path);
}

/* A seed from FILE: 64 hex digits, surrounding whitespace allowed. */
static int read_seed_file(const char *path, uint8_t seed[SEED_LEN])
{
	char text[256];
	FILE *f = fopen(path, "r");
	if (!f)
		return cli_fail(CLI_EFAIL, "cannot open %s: %s", path, strerror(errno));
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	char *s = text + strspn(text, " \t\r\n");
	size_t len = strspn(s, "0123456789abcdefABCDEF");
	int bad = len != 2 * SEED_LEN || s[len + strspn(s + len, " \t\r\n")] != 0 ||
		  hex_decode((s[len] = 0, s), seed, SEED_LEN) != SEED_LEN;
	sodium_memzero(text, sizeof(text));
	return bad ? cli_fail(CLI_EUSAGE, "%s must hold a seed of 64 hex digits", path) : CLI_OK;
}

static int key_create(struct cli_ctx *ctx)
{
	const char *name = ctx->args[1], *seed_file = cli_opt(ctx, "seed-file");
	char path[CLI_PATH_MAX], err[CLI_PATH_MAX + 128], address[ADDR_STR_MAX], pk_hex[2 * PUBKEY_LEN + 1];
	uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN];
	int rc;
	if (!keystore_name_valid(name))
		return cli_fail(CLI_EUSAGE, "bad validator key name '%s': use 1 to %d of A-Z a-z 0-9 _ -",
				name, KEYSTORE_NAME_MAX);
	if ((rc = cli_validator_resolve(ctx, name, path, sizeof(path))))
		return rc;
	if (mkdir(ctx->datadir, 0700) != 0 && errno != EEXIST)
		return cli_fail(CLI_EFAIL, "cannot create %s: %s", ctx->datadir, strerror(errno));
	if (seed_file) {
		if ((rc = read_seed_file(seed_file, seed)))
			return rc;
	} else {
		randombytes_buf(seed, sizeof(seed));
	}
	key_from_seed(seed, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	rc = cli_validator_key_write(path, seed, err, sizeof(err));
	sodium_memzero(seed, sizeof(seed));
	if (rc == ASSAY_EEXISTS)
		return cli_fail(CLI_EFAIL, "validator key '%s' already exists (%s); nothing was changed",
				name, path);
	if (rc)
		return cli_fail(CLI_EFAIL, "%s", err);
	cli_emit(ctx, key_json(ctx, name, path, pk, address, pk_hex),
		 "validator key '%s' written to %s (mode 0600, not encrypted: assayd reads it at start)\n"
		 "pubkey:  %s\naddress: %s\nrun the node with: assayd -validator=%s\n",
		 name, path, pk_hex, address, path);
	return CLI_OK;
}

static int key_show(struct cli_ctx *ctx)
{
	char path[CLI_PATH_MAX], err[CLI_PATH_MAX + 128], address[ADDR_STR_MAX], pk_hex[2 * PUBKEY_LEN + 1];
	uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN];
	int rc = cli_validator_resolve(ctx, ctx->args[1], path, sizeof(path));
	if (rc)
		return rc;
	rc = cli_validator_key_read(path, pk, sk, err, sizeof(err));
	sodium_memzero(sk, sizeof(sk));
	if (rc)
		return cli_fail(CLI_EFAIL, "%s%s", err, NOT_FOUND_HINT(rc));
	cli_emit(ctx, key_json(ctx, ctx->args[1], path, pk, address, pk_hex),
		 "pubkey:  %s\naddress: %s\nfile:    %s\n", pk_hex, address, path);
	return CLI_OK;
}

int cli_cmd_validator_key(struct cli_ctx *ctx)
{
	if (strcmp(ctx->args[0], "create") == 0)
		return key_create(ctx);
	if (strcmp(ctx->args[0], "show") == 0) {
		if (cli_opt(ctx, "seed-file"))
			return cli_fail(CLI_EUSAGE, "--seed-file is for validator key create");
		return key_show(ctx);
	}
	return cli_fail(CLI_EUSAGE, "validator key needs create NAME or show NAME, not %s", ctx->args[0]);
}

/* Signs one validator transaction with --from's key and reports it; with
 * --wait "committed at height H: ok: DONE from height H+2LATER", the height
 * the change reaches the validator set (docs/protocol.md §10.1). */
static int send_validator_tx(struct cli_ctx *ctx, uint8_t kind, const struct buf *payload, const char *done,
			     const char *later)
{
	const char *from = cli_opt(ctx, "from");
	struct cli_chain chain;
	char txid[2 * HASH_LEN + 1];
	json_t *tx;
	int rc = cli_get_chain(ctx, &chain);
	if (rc || (rc = cli_send_from(ctx, &chain, from, cli_validator_load, kind, payload, 0,
				      cli_flag(ctx, "wait"), txid, &tx)))
		return rc;
	if (cli_flag(ctx, "raw"))
		return CLI_OK;
	if (!tx) {
		cli_emit(ctx, json_pack("{s:s}", "txid", txid), "%s\n", txid);
		return CLI_OK;
	}
	long long height = json_integer_value(json_object_get(tx, "height"));
	cli_emit(ctx,
		 json_pack("{s:s, s:I, s:I}", "txid", txid, "height", (json_int_t)height, "effective_height",
			   (json_int_t)height + 2),
		 "%s\ncommitted at height %lld: ok: %s from height %lld%s\n", txid, height, done, height + 2,
		 later);
	json_decref(tx);
	return CLI_OK;
}

static int bond_or_unbond(struct cli_ctx *ctx, uint8_t kind, const char *done, const char *later)
{
	uint64_t amount;
	int rc;
	if (!cli_opt(ctx, "from") || !cli_opt(ctx, "amount"))
		return cli_fail(CLI_EUSAGE, "validator %s needs --from NAME --amount ASY",
				kind == TX_VALIDATOR_BOND ? "bond" : "unbond");
	if ((rc = cli_amount_opt(ctx, "amount", 0, &amount)))
		return rc;
	if (amount == 0)
		return cli_fail(CLI_EUSAGE, "--amount must be more than 0");
	struct buf p;
	buf_init(&p);
	cli_validator_amount_payload(amount, &p);
	rc = send_validator_tx(ctx, kind, &p, done, later);
	buf_free(&p);
	return rc;
}

int cli_cmd_validator_bond(struct cli_ctx *ctx)
{
	return bond_or_unbond(ctx, TX_VALIDATOR_BOND, "bonded; it counts as voting power", "");
}

int cli_cmd_validator_unbond(struct cli_ctx *ctx)
{
	return bond_or_unbond(ctx, TX_VALIDATOR_UNBOND, "unbonding; it stops counting",
			      ", and returns to the account after the unbonding period");
}

int cli_cmd_validator_unjail(struct cli_ctx *ctx)
{
	if (!cli_opt(ctx, "from"))
		return cli_fail(CLI_EUSAGE, "validator unjail needs --from NAME");
	if (CLI_TX_VALIDATOR_UNJAIL >= TX_KIND_COUNT)
		return cli_fail(CLI_EFAIL,
				"this build does not know the validator_unjail transaction (kind %d) yet",
				CLI_TX_VALIDATOR_UNJAIL);
	struct buf p;
	buf_init(&p);
	int rc = send_validator_tx(ctx, CLI_TX_VALIDATOR_UNJAIL, &p, "unjailed; back in the validator set",
				   "");
	buf_free(&p);
	return rc;
}
