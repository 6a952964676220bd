/* assay-cli getproof (see cli_proof.h): the node's getproof answer, and with
 * --verify a check of it that trusts the node for nothing but the header the
 * user picks: the CLI derives the state key itself, decodes the canonical
 * proof bytes, hashes the header it is given and verifies with core's
 * verifier (docs/storage.md §2). Not for: judging whether that header is
 * final or signed by the validators (the user's choice of header). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/ledger.h"
#include "core/smt_proof.h"
#include "wallet/amount.h"
#include "wallet/cli.h"
#include "wallet/cli_proof.h"

const struct cli_optdef cli_getproof_opts[] = {
	{"verify", 0},
	{"height", 1},
	{"header-hash", 1},
	{NULL, 0},
};

/* What getproof answered, decoded and checked for shape. */
struct proof_answer {
	uint64_t height;                  /* the tip the node proved against */
	uint8_t claimed_root[HASH_LEN];   /* the state_root it says it used */
	int included;
	uint8_t *value;                   /* malloc()ed when included; else NULL */
	size_t value_len;
	struct smt_proof proof;
};

/* The header the user names, as the node sent it and as we hashed it. */
struct named_header {
	struct block_header hdr;
	uint8_t hash[HASH_LEN]; /* block_header_hash of hdr, computed here */
};

static int hex32(const char *hex, uint8_t out[HASH_LEN])
{
	return hex && strlen(hex) == 2 * HASH_LEN && hex_decode(hex, out, HASH_LEN) == HASH_LEN ? 0 : -1;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char *text = malloc(2 * n + 1);
	if (!text)
		return json_null();
	hex_encode(p, n, text);
	json_t *j = json_string(text);
	free(text);
	return j;
}

/* Decodes a hex string of at most max bytes; returns a malloc()ed buffer the
 * caller frees (NULL: not hex, too long, or out of memory). */
static uint8_t *hex_bytes(const char *hex, size_t max, size_t *len)
{
	size_t n = hex ? strlen(hex) : 0;
	if (!hex || n % 2 || n / 2 > max)
		return NULL;
	uint8_t *out = malloc(n / 2 ? n / 2 : 1);
	if (out && hex_decode(hex, out, n / 2) != (long)(n / 2)) {
		free(out);
		return NULL;
	}
	*len = n / 2;
	return out;
}

/* Calls getproof and checks the answer is for key and well formed. */
static int fetch_proof(struct cli_ctx *ctx, const char *param, const uint8_t key[HASH_LEN],
		       struct proof_answer *a)
{
	json_t *res;
	uint8_t answered_key[HASH_LEN];
	size_t plen = 0;
	int rc = cli_rpc(ctx, "getproof", json_pack("[s]", param), &res);
	if (rc)
		return rc;
	json_t *height = json_object_get(res, "height"), *included = json_object_get(res, "included");
	const char *value = json_string_value(json_object_get(res, "value"));
	uint8_t *bytes = NULL;
	rc = CLI_EFAIL;
	if (hex32(json_string_value(json_object_get(res, "key")), answered_key) ||
	    hex32(json_string_value(json_object_get(res, "state_root")), a->claimed_root) ||
	    !json_is_integer(height) || json_integer_value(height) < 0 || !json_is_boolean(included)) {
		cli_fail(rc, "getproof answer lacks key, state_root, height or included");
	} else if (memcmp(answered_key, key, HASH_LEN) != 0) {
		cli_fail(rc, "getproof answered for another state key than %s asks for", param);
	} else if (!(bytes = hex_bytes(json_string_value(json_object_get(res, "proof")), SMT_PROOF_MAX_BYTES,
				       &plen))) {
		cli_fail(rc, "getproof answer has no proof bytes (hex, at most %d bytes)", SMT_PROOF_MAX_BYTES);
	} else if ((rc = smt_proof_decode(&a->proof, bytes, plen)) != 0) {
		cli_fail(CLI_EFAIL, "the proof bytes do not decode: %s", assay_strerror(rc));
		rc = CLI_EFAIL;
	} else if (json_is_true(included) &&
		   !(a->value = hex_bytes(value, LEDGER_VALUE_MAX, &a->value_len))) {
		cli_fail(rc, "getproof says the key is included but gives no value (hex, at most %u bytes)",
			 LEDGER_VALUE_MAX);
	} else {
		a->height = (uint64_t)json_integer_value(height);
		a->included = json_is_true(included);
		rc = CLI_OK;
	}
	free(bytes);
	json_decref(res);
	return rc;
}

/* Fetches the raw block named by id (a height or a hash) and hashes its
 * header here, so its state_root is the one whose hash we print. */
static int fetch_header(struct cli_ctx *ctx, json_t *id, struct named_header *h)
{
	json_t *res;
	char prefix[2 * HEADER_BYTES + 1];
	uint8_t raw[HEADER_BYTES];
	struct reader r;
	int rc = cli_rpc(ctx, "getblock", json_pack("[o,i]", id, 0), &res);
	if (rc)
		return rc;
	const char *hex = json_string_value(res);
	if (!hex || strlen(hex) < 2 * HEADER_BYTES) {
		json_decref(res);
		return cli_fail(CLI_EFAIL, "getblock did not return a block's hex");
	}
	memcpy(prefix, hex, 2 * HEADER_BYTES);
	prefix[2 * HEADER_BYTES] = 0;
	json_decref(res);
	if (hex_decode(prefix, raw, sizeof(raw)) != HEADER_BYTES)
		return cli_fail(CLI_EFAIL, "getblock returned bytes that are not hex");
	rd_init(&r, raw, sizeof(raw));
	if ((rc = block_header_read(&h->hdr, &r)) != 0 || (rc = rd_finish(&r)) != 0)
		return cli_fail(CLI_EFAIL, "the block's header does not decode: %s", assay_strerror(rc));
	block_header_hash(&h->hdr, h->hash);
	return CLI_OK;
}

static int parse_height(const char *text, uint64_t *height)
{
	char *end;
	errno = 0;
	if (!text || *text < '0' || *text > '9')
		return -1;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end)
		return -1;
	*height = v;
	return 0;
}

/* The account, or the raw value, that the proof shows. */
static json_t *shown_json(int is_account, const struct proof_answer *a, char *text, size_t cap)
{
	static const uint8_t no_code[HASH_LEN];
	struct account acct;
	char asy[AMOUNT_STR_MAX];
	if (!is_account) {
		if (!a->included) {
			snprintf(text, cap, "absent\n");
			return json_null();
		}
		snprintf(text, cap, "value   %zu bytes\n", a->value_len);
		return hex_json(a->value, a->value_len);
	}
	if (!a->included) {
		snprintf(text, cap, "absent (no account: balance 0, nonce 0)\n");
		return json_null();
	}
	if (account_decode(&acct, a->value, a->value_len) != 0) {
		snprintf(text, cap, "value   %zu bytes (not an account record)\n", a->value_len);
		return hex_json(a->value, a->value_len);
	}
	amount_format(acct.balance, asy);
	int has_code = memcmp(acct.code_hash, no_code, HASH_LEN) != 0;
	snprintf(text, cap, "balance %s ASY\nnonce   %llu\n%s", asy, (unsigned long long)acct.nonce,
		 has_code ? "contract (has code)\n" : "");
	return json_pack("{s:I,s:s,s:I,s:o}", "balance", (json_int_t)acct.balance, "balance_asy", asy, "nonce",
			 (json_int_t)acct.nonce, "code_hash",
			 has_code ? hex_json(acct.code_hash, HASH_LEN) : json_null());
}

int cli_verify_opts(const struct cli_ctx *ctx)
{
	if (!cli_flag(ctx, "verify") && (cli_opt(ctx, "height") || cli_opt(ctx, "header-hash")))
		return cli_fail(CLI_EUSAGE, "--height and --header-hash choose the header for --verify");
	return CLI_OK;
}

int cli_proof_check(struct cli_ctx *ctx, const char *target, const uint8_t key[HASH_LEN], struct cli_proven *out)
{
	const char *height_text = cli_opt(ctx, "height"), *hash_text = cli_opt(ctx, "header-hash");
	uint64_t want_height = 0;
	uint8_t want_hash[HASH_LEN];
	memset(out, 0, sizeof(*out));
	if (height_text && hash_text)
		return cli_fail(CLI_EUSAGE, "give --height or --header-hash, not both");
	if (height_text && parse_height(height_text, &want_height))
		return cli_fail(CLI_EUSAGE, "bad --height '%s': a block height", height_text);
	if (hash_text && hex32(hash_text, want_hash))
		return cli_fail(CLI_EUSAGE, "bad --header-hash '%s': 64 hex digits", hash_text);

	struct proof_answer *a = calloc(1, sizeof(*a));
	struct named_header h;
	char claimed_hex[2 * HASH_LEN + 1];
	if (!a)
		return cli_fail(CLI_EFAIL, "out of memory");
	int rc = fetch_proof(ctx, target, key, a);
	if (rc)
		goto out;
	/* Without a header named, the block the proof says it was made at. */
	json_t *id = hash_text ? json_string(hash_text)
				: json_integer((json_int_t)(height_text ? want_height : a->height));
	if ((rc = fetch_header(ctx, id, &h)))
		goto out;
	hex_encode(h.hdr.state_root, HASH_LEN, out->state_root_hex);
	hex_encode(h.hash, HASH_LEN, out->block_hash_hex);
	hex_encode(a->claimed_root, HASH_LEN, claimed_hex);
	if (hash_text && memcmp(h.hash, want_hash, HASH_LEN) != 0) {
		rc = cli_fail(CLI_EFAIL, "the node's block for %s has a header hashing to %s: refusing it", hash_text,
			      out->block_hash_hex);
		goto out;
	}
	if (height_text && h.hdr.height != want_height) {
		rc = cli_fail(CLI_EFAIL, "asked for block %llu, the node sent block %llu",
			      (unsigned long long)want_height, (unsigned long long)h.hdr.height);
		goto out;
	}
	if (smt_verify_value(h.hdr.state_root, key, a->included ? a->value : NULL, a->value_len, &a->proof) != 0) {
		if (h.hdr.height != a->height)
			rc = cli_fail(CLI_EFAIL,
				      "getproof answers for the tip only: this proof is against block %llu "
				      "(state_root %s); block %llu has state_root %s, so the proof cannot be checked "
				      "against it (name the tip, or leave out --height/--header-hash)",
				      (unsigned long long)a->height, claimed_hex, (unsigned long long)h.hdr.height,
				      out->state_root_hex);
		else
			rc = cli_fail(CLI_EFAIL,
				      "proof of %s %s does NOT verify against block %llu (hash %s) state_root %s",
				      target, a->included ? "with the value given" : "being absent",
				      (unsigned long long)h.hdr.height, out->block_hash_hex, out->state_root_hex);
		goto out;
	}
	out->included = a->included;
	out->value = a->value;
	out->value_len = a->value_len;
	a->value = NULL;
	out->height = h.hdr.height;
	out->proof_height = a->height;
	rc = CLI_OK;
out:
	free(a->value);
	free(a);
	return rc;
}

/* target: the address or key hex sent to getproof and printed. */
static int verify_proof(struct cli_ctx *ctx, const char *target, int is_account, const uint8_t key[HASH_LEN])
{
	struct cli_proven p;
	struct proof_answer shown_of;
	char shown[256];
	int rc = cli_proof_check(ctx, target, key, &p);
	if (rc)
		return rc;
	memset(&shown_of, 0, sizeof(shown_of));
	shown_of.included = p.included;
	shown_of.value = p.value;
	shown_of.value_len = p.value_len;
	json_t *shown_j = shown_json(is_account, &shown_of, shown, sizeof(shown));
	json_t *j = json_pack("{s:b,s:s,s:o,s:b,s:o,s:{s:I,s:s,s:s},s:I}", "verified", 1, "of", target, "key",
			      hex_json(key, HASH_LEN), "included", p.included, is_account ? "account" : "value",
			      shown_j, "block", "height", (json_int_t)p.height, "hash", p.block_hash_hex, "state_root",
			      p.state_root_hex, "proof_height", (json_int_t)p.proof_height);
	cli_emit(ctx, j, "%s\n%sverified against block %llu (hash %s) state_root %s\n%s", target, shown,
		 (unsigned long long)p.height, p.block_hash_hex, p.state_root_hex,
		 p.height != p.proof_height ? "note: getproof answers for the tip; that block has the same "
					      "state_root, so the proof holds there too\n"
					    : "");
	free(p.value);
	return CLI_OK;
}

int cli_cmd_getproof(struct cli_ctx *ctx)
{
	const char *target = ctx->args[0];
	char address[ADDR_STR_MAX];
	uint8_t key[HASH_LEN];
	int is_account = strlen(target) != 2 * HASH_LEN || hex32(target, key) != 0;
	int rc;
	if ((rc = cli_verify_opts(ctx)))
		return rc;
	if (is_account) {
		struct cli_chain chain;
		uint8_t addr[ADDR_LEN];
		if ((rc = cli_get_chain(ctx, &chain)) || (rc = cli_resolve_address(ctx, target, &chain, 1, address, addr)))
			return rc;
		state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
		target = address;
	}
	if (cli_flag(ctx, "verify"))
		return verify_proof(ctx, target, is_account, key);
	json_t *res;
	if ((rc = cli_rpc(ctx, "getproof", json_pack("[s]", target), &res)))
		return rc;
	if (ctx->json) {
		cli_emit(ctx, res, "%s", "");
	} else {
		cli_print_json(res);
		json_decref(res);
	}
	return CLI_OK;
}
