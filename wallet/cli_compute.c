/* Handlers of assay-cli's job and worker commands (see cli_compute.h). A
 * client's check of a job's output is here: fetch it from the worker's
 * endpoint, check it against the root the worker opened on chain, then run
 * the full Freivalds test (matmul-i8) or recompute it (mlp-i8), as
 * docs/compute.md §6.2 describes; a wrong tile found that way is what
 * `job dispute` proves on chain. The submitter's salt (§4) derives from the
 * wallet's seed and the job id (so every backup of the wallet restores it,
 * docs/backup.md) and is opened by `job submit --wait` or `job open`. Not
 * for: RPC or signing plumbing (cli.c). */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/compute.h"
#include "consensus/compute/compute_codec.h"
#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"
#include "consensus/exec.h"
#include "core/error.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "core/tx.h"
#include "wallet/amount.h"
#include "wallet/chunk_client.h"
#include "wallet/cli_compute.h"
#include "wallet/client_chain.h"
#include "wallet/cli_jobspec.h"
#include "wallet/cli_preflight.h"
#include "wallet/cli_proof.h"
#include "wallet/output_check.h"
#include "wallet/txbuild.h"

const struct cli_optdef cli_job_submit_opts[] = {
	{"from", 1},	  {"kind", 1},	    {"m", 1},	     {"n", 1},	      {"k", 1},
	{"dims", 1},	  {"shifts", 1},    {"tile-rows", 1}, {"tile-cols", 1}, {"seed", 1},
	{"input-blob", 1}, {"samples", 1},   {"redundancy", 1}, {"reward", 1},  {"deadline", 1},
	{"fee", 1},	  {"wait", 0},	    {"timeout", 1},  {"nonce", 1},    {"raw", 0},
	{"force", 0},	  {NULL, 0},
};
const struct cli_optdef cli_job_status_opts[] = {
	{"verify", 0}, {"height", 1}, {"header-hash", 1}, {NULL, 0},
};
const struct cli_optdef cli_job_output_opts[] = {
	{"o", 1}, {"output", 1}, {"slot", 1}, {"from-worker", 0}, {"verify", 0}, {"height", 1}, {"header-hash", 1},
	{NULL, 0},
};
const struct cli_optdef cli_job_dispute_opts[] = {
	{"from", 1}, {"tile", 1}, {"slot", 1}, {"from-worker", 0}, {"fee", 1}, {"wait", 0}, {"timeout", 1},
	{"force", 0}, {"verify", 0}, {"height", 1}, {"header-hash", 1}, {NULL, 0},
};
const struct cli_optdef cli_job_open_opts[] = {
	{"from", 1}, {"salt", 1}, {"fee", 1}, {"wait", 0}, {"timeout", 1}, {"force", 0}, {NULL, 0},
};
const struct cli_optdef cli_worker_register_opts[] = {
	{"from", 1}, {"bond", 1}, {"endpoint", 1}, {"backend", 1}, {"fee", 1},
	{"wait", 0}, {"timeout", 1}, {"force", 0}, {NULL, 0},
};
const struct cli_optdef cli_worker_unbond_opts[] = {
	{"from", 1}, {"fee", 1}, {"wait", 0}, {"timeout", 1}, {"force", 0}, {NULL, 0},
};

/* ---- small helpers ---- */

static int hex32_arg(const char *text, uint8_t out[HASH_LEN], const char *what)
{
	if (strlen(text) != 2 * HASH_LEN || hex_decode(text, out, HASH_LEN) != HASH_LEN)
		return cli_fail(CLI_EUSAGE, "bad %s '%s': 64 hex digits", what, text);
	return CLI_OK;
}

static uint64_t ju64(const json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static int get_params(struct cli_ctx *ctx, json_t **params)
{
	return cli_rpc(ctx, "getcomputeparams", NULL, params);
}

static unsigned long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

/* One command that signs several transactions from one wallet (job submit:
 * its blobs, the job_submit, with --wait the job_salt) asks for the
 * passphrase once: while `held` is set the first unlock is kept here and
 * copied out for each signature (cli_send_from wipes its copy); key_release
 * wipes it when the command ends. */
static struct {
	int keep;                          /* the running command keeps its unlock */
	int held;                          /* key is an unlocked wallet's */
	char name[KEYSTORE_NAME_MAX + 1];  /* whose */
	struct keystore_key key;
} unlocked;

static void key_release(void)
{
	keystore_key_wipe(&unlocked.key);
	sodium_memzero(&unlocked, sizeof(unlocked));
}

static int unlock_kept(struct cli_ctx *ctx, const char *name, struct keystore_key *key)
{
	if (!unlocked.keep)
		return cli_unlock(ctx, name, key);
	if (!unlocked.held || strcmp(unlocked.name, name) != 0) {
		int keep = unlocked.keep, rc;
		key_release();
		unlocked.keep = keep;
		if ((rc = cli_unlock(ctx, name, &unlocked.key)))
			return rc;
		unlocked.held = 1;
		snprintf(unlocked.name, sizeof(unlocked.name), "%s", name);
	}
	*key = unlocked.key;
	return 0;
}

/* Unlocks wallet --from (once per command where it keeps its unlock),
 * submits one transaction, and with --wait reports its outcome
 * (cli_send_from). */
static int submit_from(struct cli_ctx *ctx, const struct cli_chain *chain, const char *from, uint8_t kind,
		       const struct buf *payload, uint64_t gas, int wait, char txid[2 * HASH_LEN + 1],
		       json_t **committed)
{
	return cli_send_from(ctx, chain, from, unlock_kept, kind, payload, gas, wait, txid, committed);
}

/* With --verify, the job's record proven against a block header
 * (cli_proof_check: --height, --header-hash, or the tip) replaces the
 * node's getjob answer, so the spec and the opened roots that the output is
 * checked against are the chain's, not the node's word (docs/cli.md). */
static int job_proven(struct cli_ctx *ctx, const char *id_hex, const uint8_t id[HASH_LEN], struct job_record *rec,
		      struct cli_proven *proven)
{
	uint8_t key[HASH_LEN];
	char key_hex[2 * HASH_LEN + 1];
	state_key(NS_JOB, id, HASH_LEN, key);
	hex_encode(key, HASH_LEN, key_hex);
	int rc = cli_proof_check(ctx, key_hex, key, proven);
	if (rc)
		return rc;
	if (!proven->included)
		rc = cli_fail(CLI_EFAIL, "job %s is proven absent from the state of block %llu: not acted on", id_hex,
			      (unsigned long long)proven->height);
	else if (compute_job_decode(rec, proven->value, proven->value_len) != 0 || memcmp(rec->id, id, HASH_LEN) != 0)
		rc = cli_fail(CLI_EFAIL, "the value proven for job %s is not its job record: not acted on", id_hex);
	free(proven->value);
	proven->value = NULL;
	return rc;
}

/* Reads a job: its JSON (new reference) and its decoded record; with
 * proven (the command's --verify) the record is the one proven on chain. */
static int get_job_as(struct cli_ctx *ctx, const char *id_hex, json_t **job, struct job_record *rec,
		      struct cli_proven *proven)
{
	uint8_t id[HASH_LEN];
	int rc = hex32_arg(id_hex, id, "job id");
	if (rc || (rc = cli_rpc(ctx, "getjob", json_pack("[s]", id_hex), job)))
		return rc;
	char err[200];
	if (client_job_parse(*job, rec, err, sizeof(err))) {
		json_decref(*job);
		*job = NULL;
		return cli_fail(CLI_EFAIL, "%s", err);
	}
	/* a node that answers with another job's record would have us check,
	 * dispute or open the wrong job */
	if (memcmp(rec->id, id, HASH_LEN) != 0) {
		char other[2 * HASH_LEN + 1];
		hex_encode(rec->id, HASH_LEN, other);
		json_decref(*job);
		*job = NULL;
		return cli_fail(CLI_EFAIL, "the node answered with job %s's record for job %s: not acted on", other,
				id_hex);
	}
	if (proven && (rc = job_proven(ctx, id_hex, id, rec, proven))) {
		json_decref(*job);
		*job = NULL;
	}
	return rc;
}

static int get_job(struct cli_ctx *ctx, const char *id_hex, json_t **job, struct job_record *rec)
{
	return get_job_as(ctx, id_hex, job, rec, NULL);
}

/* The --verify line of job output and job dispute ("" without it). */
static const char *proven_line(const struct cli_proven *p, char *out, size_t cap)
{
	if (!p)
		return "";
	snprintf(out, cap, "job record verified against block %llu (hash %s) state_root %s\n",
		 (unsigned long long)p->height, p->block_hash_hex, p->state_root_hex);
	return out;
}

static void proven_json(json_t *o, const struct cli_proven *p)
{
	if (p)
		json_object_set_new(o, "record_verified",
				    json_pack("{s:I,s:s,s:s}", "height", (json_int_t)p->height, "hash",
					      p->block_hash_hex, "state_root", p->state_root_hex));
}

/* The challenge_delay the node names, raised to the least a chain may set
 * (a smaller one would only weaken client_job_sealed_check). */
static uint32_t challenge_delay_of(const json_t *params)
{
	uint64_t d = ju64(params, "challenge_delay");
	return d < CLIENT_MIN_CHALLENGE_DELAY ? CLIENT_MIN_CHALLENGE_DELAY : d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* ---- the submitter's salts ---- */

/* DATADIR/wallet/NAME.salts/JOB_ID: the 32 raw bytes of the salt whose hash
 * a job_submit from wallet NAME carried. */
static int salt_path(const struct cli_ctx *ctx, const char *from, const char *job_hex, char *dir, size_t dcap,
		     char *file, size_t fcap)
{
	char wallet[CLI_PATH_MAX];
	if (keystore_path(ctx->datadir, from, wallet, sizeof(wallet)) != 0)
		return cli_fail(CLI_EUSAGE, "bad wallet name '%s'", from);
	size_t n = strlen(wallet);
	if (n > 5 && strcmp(wallet + n - 5, ".json") == 0)
		wallet[n - 5] = 0;
	int a = snprintf(dir, dcap, "%s.salts", wallet), b = snprintf(file, fcap, "%s.salts/%s", wallet, job_hex);
	if (a < 0 || (size_t)a >= dcap || b < 0 || (size_t)b >= fcap)
		return cli_fail(CLI_EUSAGE, "the data directory's path is too long");
	return CLI_OK;
}

/* The salt of job job_id submitted from wallet key: HMAC-SHA256 keyed by
 * the wallet's 32-byte Ed25519 seed over "assay/job-salt" || job_id
 * (docs/backup.md "Job salts"). As secret as the seed until opened; one
 * opened salt tells nothing of another job's; and any restore of the wallet
 * (words, key file, seed) derives it again, so nothing else needs a backup. */
static void salt_derive(const struct keystore_key *key, const uint8_t job_id[HASH_LEN], uint8_t salt[HASH_LEN])
{
	static const char tag[] = "assay/job-salt";
	uint8_t msg[sizeof(tag) - 1 + HASH_LEN];
	memcpy(msg, tag, sizeof(tag) - 1);
	memcpy(msg + sizeof(tag) - 1, job_id, HASH_LEN);
	crypto_auth_hmacsha256(salt, msg, sizeof(msg), key->seckey); /* the seed: the key's first 32 bytes */
}

/* Unlocks wallet from (kept for the command's next signature) and derives
 * its salt for job_id. */
static int salt_of_wallet(struct cli_ctx *ctx, const char *from, const uint8_t job_id[HASH_LEN],
			  uint8_t salt[HASH_LEN])
{
	struct keystore_key key;
	int rc = unlock_kept(ctx, from, &key);
	if (rc)
		return rc;
	salt_derive(&key, job_id, salt);
	keystore_key_wipe(&key);
	return CLI_OK;
}

/* Jobs submitted by earlier versions of assay-cli kept a random salt in
 * DATADIR/wallet/NAME.salts/JOB_ID; `job open` still reads it there first.
 * 0 and the salt, or CLI_EFAIL when there is none (nothing printed). */
static int salt_load(const struct cli_ctx *ctx, const char *from, const char *job_hex, uint8_t salt[HASH_LEN])
{
	char dir[CLI_PATH_MAX], file[CLI_PATH_MAX + 80];
	if (salt_path(ctx, from, job_hex, dir, sizeof(dir), file, sizeof(file)))
		return CLI_EFAIL;
	FILE *f = fopen(file, "rb");
	int ok = f && fread(salt, 1, HASH_LEN, f) == HASH_LEN;
	if (f)
		fclose(f);
	return ok ? CLI_OK : CLI_EFAIL;
}

/* Posts job_salt for job_id; with wait, until it commits. */
static int post_salt(struct cli_ctx *ctx, const struct cli_chain *chain, const char *from,
		     const uint8_t job_id[HASH_LEN], const uint8_t salt[HASH_LEN], int wait, char txid[2 * HASH_LEN + 1],
		     json_t **tx)
{
	struct job_salt_payload sp;
	struct buf p;
	memcpy(sp.job_id, job_id, HASH_LEN);
	memcpy(sp.salt, salt, HASH_LEN);
	buf_init(&p);
	compute_salt_encode(&sp, &p);
	int rc = submit_from(ctx, chain, from, TX_JOB_SALT, &p, 0, wait, txid, tx);
	buf_free(&p);
	return rc;
}

/* ---- job submit ---- */

static int read_file(const char *path, uint8_t **data, size_t *len, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cli_fail(CLI_EUSAGE, "cannot open %s: %s", path, strerror(errno));
	struct buf b;
	uint8_t chunk[65536];
	size_t r;
	buf_init(&b);
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= max)
		buf_put(&b, chunk, r);
	int err = ferror(f);
	fclose(f);
	if (err || b.oom || b.len > max) {
		buf_free(&b);
		return cli_fail(CLI_EUSAGE, "%s: %s", path, err ? "read error" : "larger than a blob may be");
	}
	*data = buf_take(&b, len);
	return CLI_OK;
}

/* Posts each --input-blob FILE not yet in state as a blob transaction and
 * waits for it; their hashes into spec->blobs in order. */
static int post_blobs(struct cli_ctx *ctx, const struct cli_chain *chain, const char *from, struct job_spec *spec,
		      uint64_t max_blob)
{
	unsigned count = 0, want = kernel_input_count(&spec->shape);
	for (int i = 0; i < ctx->nopts; i++) {
		if (strcmp(ctx->opt_name[i], "input-blob") != 0)
			continue;
		if (count == want)
			return cli_fail(CLI_EUSAGE, "this job takes %u inputs; too many --input-blob", want);
		uint8_t *data;
		size_t len;
		int rc = read_file(ctx->opt_value[i], &data, &len, max_blob);
		if (rc)
			return rc;
		if (len != kernel_input_bytes(&spec->shape, count)) {
			free(data);
			return cli_fail(CLI_EUSAGE, "%s holds %zu bytes; input %u of this shape is %llu bytes",
					ctx->opt_value[i], len, count,
					(unsigned long long)kernel_input_bytes(&spec->shape, count));
		}
		struct blob_payload bl = {.data = data, .len = len};
		char hex[2 * HASH_LEN + 1], txid[2 * HASH_LEN + 1];
		json_t *have, *tx;
		sha256(data, len, bl.hash);
		memcpy(spec->blobs[count++], bl.hash, HASH_LEN);
		hex_encode(bl.hash, HASH_LEN, hex);
		struct rpc_failure fail;
		json_t *q = json_pack("[s]", hex);
		int stored = rpc_client_call(&ctx->rpc, "getblob", q, &have, &fail) == 0;
		json_decref(q);
		if (stored) {
			json_decref(have); /* already stored: nothing to post */
			free(data);
			continue;
		}
		struct buf p;
		buf_init(&p);
		compute_blob_encode(&bl, &p);
		free(data);
		/* A blob must be stored before the job names it: always wait. */
		rc = submit_from(ctx, chain, from, TX_BLOB, &p, exec_blob_gas(len), 1, txid, &tx);
		buf_free(&p);
		json_decref(tx);
		if (rc)
			return rc;
		if (!ctx->json && cli_flag(ctx, "raw"))
			fprintf(stderr, "blob %s: signed, not sent (%zu bytes, tx %s)\n", hex, len, txid);
		else if (!ctx->json)
			fprintf(stderr, "blob %s stored (%zu bytes, tx %s)\n", hex, len, txid);
	}
	if (count && count != want)
		return cli_fail(CLI_EUSAGE, "this job takes %u inputs; %u --input-blob given", want, count);
	spec->input_kind = count ? JOB_INPUT_BLOBS : JOB_INPUT_SEED;
	return CLI_OK;
}

static const char *terminal_or_verified(const char *state)
{
	static const char *const done[] = {"verified", "paid", "failed", "refunded"};
	for (size_t i = 0; state && i < sizeof(done) / sizeof(done[0]); i++)
		if (strcmp(state, done[i]) == 0)
			return done[i];
	return NULL;
}

static void print_status(const json_t *job);

static int job_submit(struct cli_ctx *ctx);
static int wait_job(struct cli_ctx *ctx, const struct cli_chain *chain, const char *from, const struct job_spec *spec,
		    const uint8_t id_bin[HASH_LEN], const uint8_t salt[HASH_LEN], uint32_t challenge_delay,
		    unsigned job_timeout);

/* job submit: one passphrase for everything it signs; the key is wiped
 * whichever way it ends. */
int cli_cmd_job_submit(struct cli_ctx *ctx)
{
	unlocked.keep = 1;
	int rc = job_submit(ctx);
	key_release();
	return rc;
}

static int job_submit(struct cli_ctx *ctx)
{
	const char *from = cli_opt(ctx, "from");
	struct job_spec spec;
	json_t *params;
	int rc;
	if (!from)
		return cli_fail(CLI_EUSAGE, "job submit needs --from NAME");
	if (!keystore_name_valid(from))
		return cli_fail(CLI_EUSAGE, "bad wallet name '%s'", from);
	memset(&spec, 0, sizeof(spec));
	if ((rc = jobspec_shape_opts(ctx, &spec.shape)))
		return rc;
	struct cli_chain chain;
	if ((rc = cli_get_chain(ctx, &chain)) || (rc = get_params(ctx, &params)))
		return rc;
	uint32_t samples_k = (uint32_t)ju64(params, "samples_k"), challenge_delay = challenge_delay_of(params);
	uint64_t max_blob = ju64(params, "max_blob_bytes");
	char msg[200];
	if (kernel_shape_check(&spec.shape, (uint32_t)ju64(params, "max_dim"), ju64(params, "max_output_bytes"), msg,
			       sizeof(msg)) != 0) {
		json_decref(params);
		return cli_fail(CLI_EUSAGE, "bad job shape: %s", msg);
	}
	json_decref(params);
	struct jobspec_limits lim;
	if ((rc = jobspec_limits_from_node(ctx, &lim)))
		return rc;
	uint32_t redundancy;
	if ((rc = cli_u32_opt(ctx, "samples", samples_k, 1, &spec.samples)) ||
	    (rc = cli_u32_opt(ctx, "redundancy", 1, 1, &redundancy)) ||
	    (rc = cli_u32_opt(ctx, "deadline", jobspec_default_deadline(&lim), 1, &spec.deadline_blocks)) ||
	    (rc = cli_amount_opt(ctx, "reward", AMOUNT_UNITS_PER_ASY, &spec.reward)))
		return rc;
	if (redundancy > JOB_MAX_REDUNDANCY)
		return cli_fail(CLI_EUSAGE, "--redundancy is 1 to %d", JOB_MAX_REDUNDANCY);
	spec.redundancy = (uint8_t)redundancy;
	if (!cli_opt(ctx, "tile-rows"))
		jobspec_fit_mlp_rows(&spec, chain.params.max_tx_bytes);
	const char *seed = cli_opt(ctx, "seed");
	if (seed && cli_opt(ctx, "input-blob"))
		return cli_fail(CLI_EUSAGE, "give --seed or --input-blob, not both");
	if (seed && (rc = hex32_arg(seed, spec.seed, "--seed")))
		return rc;
	if (!seed)
		randombytes_buf(spec.seed, HASH_LEN);
	/* The salt is the submitter's secret until every slot has committed
	 * (compute.md §4); the payload carries its hash, filled in below once
	 * the job id is known. */
	uint8_t salt[HASH_LEN];
	memset(spec.salt_hash, 0, HASH_LEN);
	/* What job_submit checks of the payload alone, before any blob is
	 * posted and paid for; the simulation then checks the rest. */
	if (jobspec_check(&spec, &lim, msg, sizeof(msg)) != 0) {
		if (!cli_flag(ctx, "force"))
			return cli_fail(CLI_EFAIL,
					"refused: the job would fail on chain: %s; nothing was sent and no fee was "
					"charged (--force sends it anyway)",
					msg);
		fprintf(stderr, "warning: the job would fail on chain: %s (--force: sending it anyway)\n", msg);
	}
	if ((rc = post_blobs(ctx, &chain, from, &spec, max_blob)))
		return rc;
	if (spec.input_kind == JOB_INPUT_BLOBS)
		memset(spec.seed, 0, HASH_LEN);

	struct buf p;
	char txid[2 * HASH_LEN + 1];
	json_t *tx;
	buf_init(&p);
	int wait = cli_flag(ctx, "wait");
	unsigned job_timeout;
	if ((rc = cli_seconds_opt(ctx, "timeout", CLI_JOB_WAIT_S, &job_timeout)))
		return rc;
	/* The job id follows from the sender and the nonce the tx will carry
	 * (docs/compute.md §7.3), so it is known before the tx commits. */
	char predicted[2 * HASH_LEN + 1] = "";
	uint8_t predicted_id[HASH_LEN];
	struct keystore_info info;
	char err[512];
	json_t *acct;
	if (keystore_read_info(ctx->datadir, from, &info, err, sizeof(err)) == 0) {
		uint8_t sender[ADDR_LEN], id[HASH_LEN];
		char address[ADDR_STR_MAX];
		address_from_pubkey(info.pubkey, sender);
		address_encode(chain.net, sender, address);
		if (cli_rpc(ctx, "getaccount", json_pack("[s]", address), &acct) == CLI_OK) {
			uint64_t nonce = ju64(acct, "pending_nonce");
			const char *given = cli_opt(ctx, "nonce");
			if (given)
				nonce = strtoull(given, NULL, 10);
			/* as cli_submit picks it: after this command's blobs */
			if (ctx->signed_any && memcmp(ctx->signed_addr, sender, ADDR_LEN) == 0 && ctx->next_nonce > nonce)
				nonce = ctx->next_nonce;
			compute_job_id(sender, nonce, id);
			hex_encode(id, HASH_LEN, predicted);
			memcpy(predicted_id, id, HASH_LEN);
			json_decref(acct);
		}
	}
	if (!predicted[0])
		return cli_fail(CLI_EFAIL, "cannot tell the job id before sending (wallet %s or its account unreadable)",
				from);
	/* the one unlock of the command: it signs the job_submit and the
	 * job_salt too (unlock_kept) */
	if ((rc = salt_of_wallet(ctx, from, predicted_id, salt)))
		return rc;
	kernel_salt_hash(salt, spec.salt_hash);
	compute_spec_encode(&spec, &p);
	/* the record the job leaves in the state pays for its bytes (protocol.md §5.2) */
	rc = submit_from(ctx, &chain, from, TX_JOB_SUBMIT, &p, exec_job_gas(p.len, spec.redundancy), wait, txid, &tx);
	buf_free(&p);
	if (rc || cli_flag(ctx, "raw") || !wait)
		sodium_memzero(salt, sizeof(salt));
	if (rc || cli_flag(ctx, "raw")) {
		json_decref(tx);
		return rc;
	}
	if (!wait) {
		cli_emit(ctx, json_pack("{s:s,s:s}", "job_id", predicted, "txid", txid), "%s\ntx %s\n", predicted, txid);
		return CLI_OK;
	}
	/* The id is ours to know (compute_job_id of sender and nonce): a
	 * receipt naming another job is a node steering us to act on it. */
	const char *job_id = json_string_value(json_object_get(json_object_get(tx, "result"), "job_id"));
	uint8_t named[HASH_LEN];
	int ours = job_id && strlen(job_id) == 2 * HASH_LEN && hex_decode(job_id, named, HASH_LEN) == HASH_LEN &&
		   memcmp(named, predicted_id, HASH_LEN) == 0;
	if (!ours) {
		rc = cli_fail(CLI_EFAIL,
			      "the job_submit receipt names job %s, not %s (the job this transaction creates): not "
			      "acted on; the salt stays secret",
			      job_id ? job_id : "(none)", predicted);
		sodium_memzero(salt, sizeof(salt));
		json_decref(tx);
		return rc;
	}
	json_decref(tx);
	if (!ctx->json)
		printf("%s\n", predicted);
	fflush(stdout);
	rc = wait_job(ctx, &chain, from, &spec, predicted_id, salt, challenge_delay, job_timeout);
	sodium_memzero(salt, sizeof(salt));
	return rc;
}

/* 1 if the chain's record of a job carries the spec we submitted (its
 * salt_hash included), compared in the chain's encoding. */
static int spec_is(const struct job_spec *have, const struct job_spec *want)
{
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	compute_spec_encode(have, &a);
	compute_spec_encode(want, &b);
	int same = !a.oom && !b.oom && a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	buf_free(&a);
	buf_free(&b);
	return same;
}

/* job submit --wait: follows job id (ours: spec submitted, salt its salt)
 * until it is verified or ends, and opens the salt once every slot has
 * committed (once per sealing; a redraw seals the job again). The salt is
 * posted only on a record that is the job we submitted and passes
 * client_job_sealed_check: a node that says "sealed" early would otherwise
 * learn it while a worker can still pick its root (docs/compute.md §4,
 * §10). */
static int wait_job(struct cli_ctx *ctx, const struct cli_chain *chain, const char *from, const struct job_spec *spec,
		    const uint8_t id_bin[HASH_LEN], const uint8_t salt[HASH_LEN], uint32_t challenge_delay,
		    unsigned job_timeout)
{
	char id[2 * HASH_LEN + 1], last[16] = "", why[256];
	unsigned long long deadline_ms = now_ms() + (unsigned long long)job_timeout * 1000ull;
	uint64_t salted_seal = 0; /* the sealing we posted the salt for */
	struct job_record rec;
	int rc;
	hex_encode(id_bin, HASH_LEN, id);
	for (;;) {
		json_t *job;
		if ((rc = get_job(ctx, id, &job, &rec)))
			return rc;
		if (!spec_is(&rec.spec, spec)) {
			json_decref(job);
			return cli_fail(CLI_EFAIL, "the node's record of job %s is not the job submitted (another spec): "
						   "not acted on; the salt stays secret", id);
		}
		const char *state = json_string_value(json_object_get(job, "state"));
		uint64_t tip = ju64(job, "height");
		if (rec.sealed_height && rec.sealed_height != salted_seal && !rec.salt_posted && !rec.challenge_height) {
			if (client_job_sealed_check(&rec, challenge_delay, tip, why, sizeof(why)) != 0) {
				json_decref(job);
				return cli_fail(CLI_EFAIL,
						"the node says job %s is sealed, but its record cannot be the chain's: %s; the "
						"salt stays secret (`assay-cli job open %s` against a node you trust)",
						id, why, id);
			}
			/* Its failure is reported, not fatal: without it the
			 * chain falls back to a later beacon. */
			char stx[2 * HASH_LEN + 1];
			json_t *sent = NULL;
			salted_seal = rec.sealed_height;
			if (post_salt(ctx, chain, from, id_bin, salt, 0, stx, &sent) == CLI_OK) {
				/* nothing more to sign unless a redraw seals the job
				 * again: the key need not wait with us */
				key_release();
				unlocked.keep = 1;
				if (!ctx->json)
					fprintf(stderr, "job %.16s: salt opened (tx %s)\n", id, stx);
			} else {
				fprintf(stderr, "warning: job %.16s: could not open the salt; `assay-cli job open %s` "
						"retries\n", id, id);
			}
			json_decref(sent);
		}
		if (!ctx->json && state && strcmp(last, state) != 0) {
			fprintf(stderr, "job %.16s: %s at height %llu\n", id, state, (unsigned long long)tip);
			snprintf(last, sizeof(last), "%s", state);
		}
		const char *end = terminal_or_verified(state);
		if (end) {
			int failed = strcmp(end, "failed") == 0 || strcmp(end, "refunded") == 0;
			if (ctx->json)
				cli_emit(ctx, job, "%s", "");
			else {
				print_status(job);
				json_decref(job);
			}
			return failed ? CLI_EFAIL : CLI_OK;
		}
		json_int_t seen = json_integer_value(json_object_get(job, "height")); /* the tip it was read at */
		json_decref(job);
		if (now_ms() >= deadline_ms)
			return cli_fail(CLI_ETIMEOUT, "job %s not verified after %u s", id, job_timeout);
		cli_wait_block(ctx, &seen, deadline_ms - now_ms() + 1);
	}
}

/* ---- job status ---- */

static void print_height(const char *label, const json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (json_is_integer(v))
		printf("    %-11s height %lld\n", label, json_integer_value(v));
}

static void print_status(const json_t *job)
{
	const char *state = json_string_value(json_object_get(job, "state"));
	const char *kind = json_string_value(json_object_get(job, "kind"));
	char reward[AMOUNT_STR_MAX], escrow[AMOUNT_STR_MAX];
	amount_format(ju64(job, "reward"), reward);
	amount_format(ju64(job, "escrow"), escrow);
	printf("job:        %s\nstate:      %s\n", json_string_value(json_object_get(job, "job_id")), state ? state : "?");
	if (kind && strcmp(kind, "matmul-i8") == 0)
		printf("kind:       matmul-i8 %llux%llux%llu", (unsigned long long)ju64(job, "m"),
		       (unsigned long long)ju64(job, "n"), (unsigned long long)ju64(job, "k"));
	else
		printf("kind:       %s batch %llu, %llu layers", kind ? kind : "?", (unsigned long long)ju64(job, "m"),
		       (unsigned long long)ju64(job, "layers"));
	char sampled[96];
	uint64_t tiles = ju64(job, "tiles"), samples = ju64(job, "samples");
	if (samples >= tiles)
		snprintf(sampled, sizeof(sampled), "samples %llu (every tile)", (unsigned long long)samples);
	else
		snprintf(sampled, sizeof(sampled), "samples %llu", (unsigned long long)samples);
	printf(", tiles %llux%llu (%llu), %s, redundancy %llu\n", (unsigned long long)ju64(job, "tile_rows"),
	       (unsigned long long)ju64(job, "tile_cols"), (unsigned long long)tiles, sampled,
	       (unsigned long long)ju64(job, "redundancy"));
	printf("reward:     %s ASY (escrow now %s)\n", reward, escrow);
	printf("submitted:  height %llu (deadline %llu)\n", (unsigned long long)ju64(job, "submit_height"),
	       (unsigned long long)ju64(job, "deadline_height"));
	size_t i;
	json_t *slot;
	json_array_foreach(json_object_get(job, "slots"), i, slot) {
		const char *worker = json_string_value(json_object_get(slot, "worker"));
		printf("slot %zu:     %s%s%s\n", i, json_string_value(json_object_get(slot, "state")),
		       worker ? ", worker " : "", worker ? worker : "");
		print_height("assigned", slot, "assigned_height");
		print_height("committed", slot, "commit_height");
		print_height("challenged", slot, "challenge_height");
		print_height("verified", slot, "reveal_height");
	}
	if (json_is_integer(json_object_get(job, "verified_height")))
		printf("verified:   height %lld (payout at %lld unless disputed)\n",
		       json_integer_value(json_object_get(job, "verified_height")),
		       json_integer_value(json_object_get(job, "payout_height")));
	if (state && strcmp(state, "paid") == 0)
		printf("paid:       height %lld\n", json_integer_value(json_object_get(job, "payout_height")));
	if (state && strcmp(state, "refunded") == 0)
		printf("refunded:   height %llu (deadline passed)\n", (unsigned long long)ju64(job, "deadline_height") + 1);
}

/* Whether the getjob answer's "record" is, byte for byte, the record
 * proven on chain (so every field shown from the answer is the chain's). */
static int record_is_proven(const json_t *job, const struct job_record *proven)
{
	struct buf b;
	buf_init(&b);
	compute_job_encode(proven, &b);
	const char *hex = json_string_value(json_object_get(job, "record"));
	char *want = malloc(2 * b.len + 1);
	int same = hex && want;
	if (same) {
		hex_encode(b.data, b.len, want);
		same = strcmp(hex, want) == 0;
	}
	free(want);
	buf_free(&b);
	return same;
}

int cli_cmd_job_status(struct cli_ctx *ctx)
{
	json_t *job = NULL;
	struct job_record *rec = malloc(sizeof(*rec));
	struct cli_proven proven_buf = {0}, *proven = cli_flag(ctx, "verify") ? &proven_buf : NULL;
	char line[400];
	uint8_t id[HASH_LEN];
	int rc = rec ? cli_verify_opts(ctx) : cli_fail(CLI_EFAIL, "out of memory");
	if (!rc && !proven && !(rc = hex32_arg(ctx->args[0], id, "job id")))
		rc = cli_rpc(ctx, "getjob", json_pack("[s]", ctx->args[0]), &job); /* shown as the node says */
	/* With --verify the answer must be the proven record; a block between
	 * the two calls can change it, so one more try. */
	for (int tries = 0; !rc && proven && tries < 2; tries++) {
		json_decref(job);
		job = NULL;
		if ((rc = get_job_as(ctx, ctx->args[0], &job, rec, proven)) || !proven || record_is_proven(job, rec))
			break;
		if (tries == 1)
			rc = cli_fail(CLI_EFAIL, "the node's getjob answer for %s is not the record proven against block "
						 "%llu: not shown",
				      ctx->args[0], (unsigned long long)proven->height);
	}
	free(rec);
	if (rc) {
		json_decref(job);
		return rc;
	}
	if (ctx->json) {
		proven_json(job, proven);
		cli_emit(ctx, job, "%s", "");
		return CLI_OK;
	}
	printf("%s", proven_line(proven, line, sizeof(line)));
	print_status(job);
	json_decref(job);
	return CLI_OK;
}

/* ---- fetching and checking an output ---- */

/* Loads every input of a job (seed expansion, or blobs from the node). */
static int load_inputs(struct cli_ctx *ctx, const struct job_record *j, uint8_t *in[KERNEL_MAX_INPUTS])
{
	const struct job_shape *s = &j->spec.shape;
	struct kernel_src src;
	memset(src.data, 0, sizeof(src.data));
	src.from_seed = j->spec.input_kind == JOB_INPUT_SEED;
	memcpy(src.seed, j->spec.seed, HASH_LEN);
	int rc = CLI_OK;
	uint8_t *blob[KERNEL_MAX_INPUTS] = {0};
	for (unsigned id = 0; !src.from_seed && id < kernel_input_count(s) && rc == CLI_OK; id++) {
		char hex[2 * HASH_LEN + 1];
		json_t *b;
		hex_encode(j->spec.blobs[id], HASH_LEN, hex);
		if ((rc = cli_rpc(ctx, "getblob", json_pack("[s]", hex), &b)))
			break;
		char err[200];
		if (client_blob_parse(b, j->spec.blobs[id], kernel_input_bytes(s, id), &blob[id], err, sizeof(err)))
			rc = cli_fail(CLI_EFAIL, "%s", err);
		src.data[id] = blob[id];
		json_decref(b);
	}
	if (rc == CLI_OK && kernel_src_load(&src, s, in) != 0)
		rc = cli_fail(CLI_EFAIL, "out of memory loading the inputs");
	for (unsigned id = 0; id < KERNEL_MAX_INPUTS; id++)
		free(blob[id]);
	return rc;
}

static int parse_endpoint(const char *endpoint, char *host, size_t hcap, unsigned *port, const char **base)
{
	const char *p = endpoint;
	if (strncmp(p, "http://", 7) == 0)
		p += 7;
	const char *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p);
	const char *colon = memrchr(p, ':', (size_t)(end - p));
	if (!colon || colon == p || (size_t)(colon - p) >= hcap)
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = 0;
	char *stop;
	unsigned long v = strtoul(colon + 1, &stop, 10);
	if (stop != end || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	*base = slash ? slash : "";
	return 0;
}

/* Where an output's bytes came from, for the user. */
struct output_source {
	int from_chunks;                        /* avail: the node's output chunks (compute.md §15) */
	char endpoint[WORKER_ENDPOINT_MAX + 1]; /* else the worker's output server */
};

static void source_describe(const struct output_source *src, char *text, size_t cap)
{
	if (src->from_chunks)
		snprintf(text, cap, "from the chain (output chunks)");
	else
		snprintf(text, cap, "from worker %s", src->endpoint);
}

static int root_opened(const struct job_slot *sl)
{
	static const uint8_t zero[HASH_LEN];
	return memcmp(sl->root, zero, HASH_LEN) != 0;
}

/* avail: the output from the node's chunk store (docs/compute.md §15): the
 * slot's chunks walked in tile order (chunk_client_fetch: raw bytes from
 * GET /chunk/..., or getjobchunk from an older node), each checked against
 * the slot's root as a node checks it, its tiles put back in place. CLI_OK
 * with *out (malloc()ed), else CLI_EFAIL; nothing is printed. */
static int output_from_chunks(struct cli_ctx *ctx, const struct job_record *j, unsigned slot, uint64_t want,
			      uint8_t **out, uint8_t (**digests)[HASH_LEN])
{
	const struct job_shape *s = &j->spec.shape;
	uint32_t tiles = kernel_tile_count(s), next = 0, esize = s->kind == JOB_MATMUL_I8 ? 4 : 1;
	enum chunk_path path = CHUNK_PATH_UNKNOWN;
	uint8_t *whole = malloc(want ? want : 1);
	/* mlp: each tile's leaf bytes end in its pre-activation digest P_i */
	uint8_t(*dg)[HASH_LEN] = s->kind == JOB_MLP_I8 ? malloc((size_t)tiles * HASH_LEN) : NULL;
	int ok = whole != NULL && (s->kind != JOB_MLP_I8 || dg);
	while (ok && next < tiles) {
		struct rpc_failure fail;
		struct avail_chunk c;
		uint8_t *enc = NULL;
		size_t n = 0;
		memset(&c, 0, sizeof(c));
		ok = chunk_client_fetch(&ctx->rpc, &path, j->id, slot, next, &enc, &n, &fail) == 0 &&
		     avail_chunk_decode(&c, enc, n) == 0 && c.first_tile == next &&
		     avail_chunk_check(s, j->slots[slot].root, &c, NULL, 0) == 0;
		for (uint32_t i = c.first_tile, off = 0; ok && i < c.first_tile + c.tile_count; i++) {
			uint32_t r0, c0, nr, nc;
			kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
			for (uint32_t row = 0; row < nr; row++, off += nc * esize)
				memcpy(whole + ((uint64_t)(r0 + row) * s->n + c0) * esize, c.data + off, (size_t)nc * esize);
			if (dg) {
				memcpy(dg[i], c.data + off, HASH_LEN);
				off += HASH_LEN;
			}
		}
		if (ok)
			next = c.first_tile + c.tile_count;
		free(enc);
	}
	if (!ok) {
		free(whole);
		free(dg);
		return CLI_EFAIL;
	}
	*out = whole;
	*digests = dg;
	return CLI_OK;
}

/* mlp: the tiles' pre-activation digests of the honest computation, for
 * an output fetched from a worker's server (which serves the output
 * alone). CLI_OK with *digests (malloc()ed), else CLI_EFAIL. */
static int digests_by_recompute(struct cli_ctx *ctx, const struct job_record *j, uint8_t (**digests)[HASH_LEN])
{
	uint8_t *in[KERNEL_MAX_INPUTS] = {0}, *ref = NULL, *pre = NULL;
	int rc = load_inputs(ctx, j, in);
	if (!rc && (mlp_compute_ref(&j->spec.shape, in, &ref, &pre) || mlp_pre_digests(&j->spec.shape, pre, digests)))
		rc = cli_fail(CLI_EFAIL, "out of memory recomputing the pre-activations");
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
	free(ref);
	free(pre);
	return rc;
}

/* Fetches slot's output from its worker's endpoint and checks it against
 * the root the worker opened on chain (output_check_root). *out
 * (malloc()ed), *leaves (malloc()ed), *digests (mlp: every tile's P_i,
 * malloc()ed; matmul: NULL) and *src on CLI_OK; on any failure all are NULL
 * and nothing is left to free. */
static int fetch_output(struct cli_ctx *ctx, const struct job_record *j, const json_t *job, unsigned slot,
			uint8_t **out, uint8_t (**leaves)[HASH_LEN], uint8_t (**digests)[HASH_LEN],
			struct output_source *src)
{
	const struct job_shape *s = &j->spec.shape;
	const struct job_slot *sl = &j->slots[slot];
	uint64_t want = kernel_output_bytes(s);
	size_t len = (size_t)want;
	*out = NULL;
	*leaves = NULL;
	*digests = NULL;
	memset(src, 0, sizeof(*src));
	if (!root_opened(sl))
		return cli_fail(CLI_EFAIL, "slot %u has not opened its root yet: its output is not served before", slot);
	char why[160];
	/* avail: any node, worker or not; --from-worker takes the fast path only */
	if (!cli_flag(ctx, "from-worker") && output_from_chunks(ctx, j, slot, want, out, digests) == CLI_OK) {
		src->from_chunks = 1;
		if (output_check_root(s, *out, len, (const uint8_t(*)[HASH_LEN]) * digests, sl->root, leaves, why,
				      sizeof(why)) != 0) {
			free(*out);
			*out = NULL;
			free(*digests);
			*digests = NULL;
			return cli_fail(CLI_EFAIL, "the output from the chain does not match its commitment: %s", why);
		}
		return CLI_OK;
	}
	const char *endpoint =
		json_string_value(json_object_get(json_array_get(json_object_get(job, "slots"), slot), "endpoint"));
	char host[256], path[512], job_hex[2 * HASH_LEN + 1];
	unsigned port;
	const char *base;
	if (!endpoint || parse_endpoint(endpoint, host, sizeof(host), &port, &base) < 0)
		return cli_fail(CLI_EFAIL, "the worker of slot %u has no usable endpoint ('%s')", slot,
				endpoint ? endpoint : "");
	snprintf(src->endpoint, sizeof(src->endpoint), "%s", endpoint);
	hex_encode(j->id, HASH_LEN, job_hex);
	snprintf(path, sizeof(path), "%s/job/%s", base, job_hex);
	struct rpc_failure fail;
	if (rpc_client_get(host, port, path, (size_t)want, out, &len, &fail)) {
		*out = NULL;
		return cli_fail(CLI_EFAIL, "the output cannot be fetched from %s: %s", endpoint, fail.message);
	}
	int rc = s->kind == JOB_MLP_I8 ? digests_by_recompute(ctx, j, digests) : CLI_OK;
	if (rc) {
		free(*out);
		*out = NULL;
		return rc;
	}
	if (output_check_root(s, *out, len, (const uint8_t(*)[HASH_LEN]) * digests, sl->root, leaves, why,
			      sizeof(why)) != 0) {
		free(*out);
		*out = NULL; /* the caller's cleanup frees these: never twice */
		free(*digests);
		*digests = NULL;
		return cli_fail(CLI_EFAIL, "the output from worker %s does not match its commitment: %s", endpoint, why);
	}
	return CLI_OK;
}

/* The first tile of output that fails its check, or -1 if all pass. */
static long find_bad_tile(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], const uint8_t *output)
{
	struct kernel_src src = {.from_seed = 0};
	uint8_t vec_seed[HASH_LEN], *tile = malloc(TILE_MAX_BYTES);
	long bad = -1;
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		src.data[i] = in[i];
	randombytes_buf(vec_seed, HASH_LEN);
	for (uint32_t i = 0; tile && i < kernel_tile_count(s) && bad < 0; i++) {
		uint64_t len = kernel_tile_bytes(s, i);
		kernel_tile_extract(s, output, i, tile);
		if (kernel_check_tile(s, &src, vec_seed, i, tile, len) == ASSAY_EINVALID)
			bad = (long)i;
	}
	free(tile);
	return bad;
}

/* 1 if tile index of output (with digest, its committed P_i: mlp) fails
 * the check a dispute makes, 0 if it passes (a dispute of it would forfeit
 * the bond), -1 out of memory. */
static int tile_is_wrong(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], const uint8_t *output,
			 uint32_t index, const uint8_t *digest)
{
	struct kernel_src src = {.from_seed = 0};
	uint8_t vec_seed[HASH_LEN], *tile = malloc(TILE_MAX_BYTES);
	if (!tile)
		return -1;
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		src.data[i] = in[i];
	randombytes_buf(vec_seed, HASH_LEN);
	kernel_tile_extract(s, output, index, tile);
	uint64_t len = kernel_tile_bytes(s, index);
	int rc = s->kind == JOB_MLP_I8 && digest ? mlp_recompute_tile_digest(s, &src, index, tile, len, digest)
						 : kernel_check_tile(s, &src, vec_seed, index, tile, len);
	free(tile);
	return rc == ASSAY_ENOMEM ? -1 : rc == ASSAY_EINVALID;
}

/* The full check (§6.2): 0 if the output is right, else 1 with *bad_tile. */
static int check_output(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], const uint8_t *output,
			long *bad_tile)
{
	uint8_t vec_seed[HASH_LEN];
	int wrong;
	*bad_tile = -1;
	if (s->kind == JOB_MATMUL_I8) {
		randombytes_buf(vec_seed, HASH_LEN);
		wrong = kernel_freivalds_full(s, in, output, vec_seed) != 0;
	} else {
		uint8_t *ref;
		uint64_t len;
		if (kernel_compute_ref(s, in, &ref, &len) != 0)
			return -1;
		wrong = memcmp(ref, output, len) != 0;
		free(ref);
	}
	if (wrong)
		*bad_tile = find_bad_tile(s, in, output);
	return wrong;
}

static int pick_slot(const struct cli_ctx *ctx, const struct job_record *j, unsigned *slot)
{
	uint32_t want;
	int rc = cli_u32_opt(ctx, "slot", UINT32_MAX, 0, &want);
	if (rc)
		return rc;
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		const struct job_slot *sl = &j->slots[i];
		if ((want == UINT32_MAX && sl->state == SLOT_VERIFIED) || (want == i && root_opened(sl))) {
			*slot = i;
			return CLI_OK;
		}
	}
	for (unsigned i = 0; want == UINT32_MAX && i < j->spec.redundancy; i++)
		if (root_opened(&j->slots[i])) {
			*slot = i;
			return CLI_OK;
		}
	return cli_fail(CLI_EFAIL, "no worker of this job has opened its root%s (outputs are served only after)",
			want == UINT32_MAX ? "" : " in that slot");
}

int cli_cmd_job_output(struct cli_ctx *ctx)
{
	const char *file = cli_opt(ctx, "o") ? cli_opt(ctx, "o") : cli_opt(ctx, "output");
	struct job_record *j = malloc(sizeof(*j));
	struct cli_proven proven_buf = {0}, *proven = cli_flag(ctx, "verify") ? &proven_buf : NULL;
	char line[400];
	json_t *job = NULL;
	uint8_t *output = NULL, (*leaves)[HASH_LEN] = NULL, (*digests)[HASH_LEN] = NULL, *in[KERNEL_MAX_INPUTS] = {0};
	unsigned slot = 0;
	struct output_source src;
	char from[WORKER_ENDPOINT_MAX + 32];
	long bad;
	int rc;
	if (!file)
		rc = cli_fail(CLI_EUSAGE, "job output needs -o FILE");
	else if (!j)
		rc = cli_fail(CLI_EFAIL, "out of memory");
	else if (!(rc = cli_verify_opts(ctx)) && !(rc = get_job_as(ctx, ctx->args[0], &job, j, proven)) &&
		 !(rc = pick_slot(ctx, j, &slot)) &&
		 !(rc = fetch_output(ctx, j, job, slot, &output, &leaves, &digests, &src)) &&
		 !(rc = load_inputs(ctx, j, in))) {
		int wrong = check_output(&j->spec.shape, in, output, &bad);
		source_describe(&src, from, sizeof(from));
		if (wrong < 0)
			rc = cli_fail(CLI_EFAIL, "out of memory checking the output");
		else if (wrong)
			rc = cli_fail(CLI_EFAIL,
				      "the output (%s) is WRONG%s%ld: not written. Prove it on chain with: assay-cli job "
				      "dispute %s --from NAME",
				      from, bad >= 0 ? " at tile " : "", bad, ctx->args[0]);
		else {
			FILE *f = fopen(file, "wb");
			uint64_t len = kernel_output_bytes(&j->spec.shape);
			int ok = f && fwrite(output, 1, len, f) == len;
			if (f && fclose(f) != 0) /* closed either way: never close twice */
				ok = 0;
			if (!ok) {
				rc = cli_fail(CLI_EFAIL, "cannot write %s", file);
			} else {
				char oh[2 * HASH_LEN + 1];
				uint8_t digest[HASH_LEN];
				sha256(output, len, digest);
				hex_encode(digest, HASH_LEN, oh);
				json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:b,s:s}", "job_id", ctx->args[0], "file", file,
						      "bytes", (json_int_t)len, "output_hash", oh, "checked", 1, "source",
						      src.from_chunks ? "chain" : "worker");
				if (!src.from_chunks)
					json_object_set_new(o, "endpoint", json_string(src.endpoint));
				proven_json(o, proven);
				cli_emit(ctx, o,
					 "%s%s: %llu bytes %s, sha256 %s\nchecked: Merkle root matches the commitment; %s "
					 "passed\n",
					 proven_line(proven, line, sizeof(line)), file, (unsigned long long)len, from, oh,
					 j->spec.shape.kind == JOB_MATMUL_I8 ? "full Freivalds test" : "recomputation");
			}
		}
	}
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
	free(output);
	free(leaves);
	free(digests);
	free(j);
	json_decref(job);
	return rc;
}

/* ---- job dispute ---- */

struct party {
	unsigned slot;
	uint8_t *output;
	uint8_t (*leaves)[HASH_LEN];
	uint8_t (*digests)[HASH_LEN]; /* mlp: every tile's P_i, which the dispute's proof carries */
	uint8_t *tile;
	uint8_t path[MERKLE_MAX_DEPTH][HASH_LEN];
	size_t depth;
};

int cli_cmd_job_dispute(struct cli_ctx *ctx)
{
	const char *from = cli_opt(ctx, "from");
	if (!from || !keystore_name_valid(from))
		return cli_fail(CLI_EUSAGE, "job dispute needs --from NAME (who pays and holds the dispute bond)");
	struct job_record *j = malloc(sizeof(*j));
	struct party *pt = calloc(2, sizeof(*pt));
	struct cli_proven proven_buf = {0}, *proven = cli_flag(ctx, "verify") ? &proven_buf : NULL;
	char line[400];
	json_t *job = NULL, *tx = NULL;
	uint8_t *in[KERNEL_MAX_INPUTS] = {0};
	struct cli_chain chain;
	unsigned nparties = 0;
	long index = -1;
	int rc = !j || !pt ? cli_fail(CLI_EFAIL, "out of memory") : CLI_OK;
	if (rc || (rc = cli_verify_opts(ctx)) || (rc = cli_get_chain(ctx, &chain)) ||
	    (rc = get_job_as(ctx, ctx->args[0], &job, j, proven)) || (rc = load_inputs(ctx, j, in)))
		goto out;
	const struct job_shape *s = &j->spec.shape;
	uint32_t tile_opt;
	if ((rc = cli_u32_opt(ctx, "tile", UINT32_MAX, 0, &tile_opt)))
		goto out;
	/* Committed slots in order; with --slot only that one. */
	uint32_t only;
	if ((rc = cli_u32_opt(ctx, "slot", UINT32_MAX, 0, &only)))
		goto out;
	for (unsigned i = 0; i < j->spec.redundancy && nparties < 2; i++) {
		const struct job_slot *sl = &j->slots[i];
		/* only an opened root can be disputed (compute.md §6.3) */
		if (sl->state != SLOT_VERIFIED || (only != UINT32_MAX && only != i))
			continue;
		pt[nparties].slot = i;
		struct output_source src;
		if ((rc = fetch_output(ctx, j, job, i, &pt[nparties].output, &pt[nparties].leaves, &pt[nparties].digests,
				       &src)))
			goto out;
		nparties++;
	}
	if (nparties == 0) {
		rc = cli_fail(CLI_EFAIL, "no opened output to dispute");
		goto out;
	}
	/* With two differing roots (r >= 2) the first tile where the leaves
	 * differ, and the chain decides who is wrong (§6.3); else a wrong tile
	 * of one output found by the full check. */
	if (tile_opt != UINT32_MAX && tile_opt >= kernel_tile_count(s)) {
		rc = cli_fail(CLI_EUSAGE, "--tile %u: the job has %u tiles", tile_opt, kernel_tile_count(s));
		goto out;
	}
	if (tile_opt != UINT32_MAX)
		index = (long)tile_opt;
	for (uint32_t i = 0; nparties == 2 && index < 0 && i < kernel_tile_count(s); i++)
		if (memcmp(pt[0].leaves[i], pt[1].leaves[i], HASH_LEN) != 0)
			index = (long)i;
	for (unsigned p = 0; p < nparties && index < 0; p++) {
		long bad;
		if (check_output(s, in, pt[p].output, &bad) > 0 && bad >= 0) {
			index = bad;
			if (p) { /* dispute that worker alone */
				free(pt[0].output);
				free(pt[0].leaves);
				free(pt[0].digests);
				pt[0] = pt[p];
				memset(&pt[p], 0, sizeof(pt[p]));
			}
			nparties = 1;
		}
	}
	if (index < 0) {
		rc = cli_fail(CLI_EFAIL, "every committed output checks out: nothing to dispute");
		goto out;
	}
	if (nparties == 2 && memcmp(pt[0].leaves[index], pt[1].leaves[index], HASH_LEN) == 0)
		nparties = 1;
	/* A tile the user named is checked here first: a correct one would
	 * forfeit the dispute bond to the worker (docs/compute.md §6.3). Two
	 * differing tiles cannot both be right, and the chain tells which. */
	if (tile_opt != UINT32_MAX && nparties == 1) {
		int wrong = tile_is_wrong(s, in, pt[0].output, (uint32_t)index,
					  pt[0].digests ? pt[0].digests[index] : NULL);
		if (wrong < 0) {
			rc = cli_fail(CLI_EFAIL, "out of memory checking the tile");
			goto out;
		}
		if (!wrong && !cli_flag(ctx, "force")) {
			rc = cli_fail(CLI_EFAIL,
				      "refused: tile %ld of slot %u's output checks out correct: disputing it would forfeit "
				      "the dispute bond to the worker; nothing was sent and no fee was charged (--force "
				      "sends it anyway)",
				      index, pt[0].slot);
			goto out;
		}
		if (!wrong)
			fprintf(stderr, "warning: tile %ld checks out correct: the dispute bond will be forfeited "
					"(--force: sending it anyway)\n", index);
	}
	struct job_dispute_payload d;
	uint64_t units = 0;
	memset(&d, 0, sizeof(d));
	memcpy(d.job_id, j->id, HASH_LEN);
	d.index = (uint32_t)index;
	d.parties = (uint8_t)nparties;
	for (unsigned p = 0; p < nparties; p++) {
		uint64_t len = kernel_tile_bytes(s, d.index);
		if (!(pt[p].tile = malloc(len))) {
			rc = cli_fail(CLI_EFAIL, "out of memory");
			goto out;
		}
		kernel_tile_extract(s, pt[p].output, d.index, pt[p].tile);
		merkle_proof((const uint8_t (*)[HASH_LEN])pt[p].leaves, kernel_tile_count(s), d.index, pt[p].path,
			     &pt[p].depth);
		memcpy(d.worker[p], j->slots[pt[p].slot].worker, ADDR_LEN);
		const uint8_t *digest = pt[p].digests ? pt[p].digests[d.index] : NULL;
		size_t dlen = digest ? HASH_LEN : 0;
		d.proof[p] = (struct tile_proof){d.index, pt[p].tile, (size_t)len, digest, dlen,
						 (const uint8_t (*)[HASH_LEN])pt[p].path, pt[p].depth};
		units += compute_dispute_tile_units(s, d.index, len + dlen, pt[p].depth);
	}
	json_t *params;
	if ((rc = get_params(ctx, &params)))
		goto out;
	uint64_t gas;
	int over = compute_check_gas(ju64(params, "gas_per_check_unit"), units, &gas);
	json_decref(params);
	if (over) {
		rc = cli_fail(CLI_EFAIL, "checking this dispute needs more gas than a transaction can carry");
		goto out;
	}
	struct buf p;
	char txid[2 * HASH_LEN + 1];
	buf_init(&p);
	compute_dispute_encode(&d, &p);
	rc = submit_from(ctx, &chain, from, TX_JOB_DISPUTE, &p, gas ? gas : 1, cli_flag(ctx, "wait"), txid, &tx);
	buf_free(&p);
	if (rc)
		goto out;
	if (!tx) {
		json_t *o = json_pack("{s:s,s:I}", "txid", txid, "tile", (json_int_t)index);
		proven_json(o, proven);
		cli_emit(ctx, o, "%s%s\n", proven_line(proven, line, sizeof(line)), txid);
		goto out;
	}
	json_t *events = json_object_get(json_object_get(tx, "result"), "events");
	json_t *ev = json_array_get(events, 0);
	const char *data = json_string_value(json_object_get(ev, "data"));
	char note[RPC_CLIENT_AUTH_MAX] = "";
	if (data) {
		size_t n = strlen(data) / 2 < sizeof(note) - 1 ? strlen(data) / 2 : sizeof(note) - 1;
		hex_decode(data, (uint8_t *)note, n);
		note[n] = 0;
	}
	/* The chain took the dispute, but a forfeited bond is the user's loss:
	 * "failed", exit 1. */
	int forfeited = cli_preflight_forfeited(json_object_get(tx, "result"));
	json_t *out = json_pack("{s:s,s:I,s:i,s:s,s:I,s:b}", "txid", txid, "tile", (json_int_t)index, "parties",
				(int)nparties, "result", note, "height",
				(json_int_t)json_integer_value(json_object_get(tx, "height")), "forfeited", forfeited);
	proven_json(out, proven);
	cli_emit(ctx, out, "%s%s\ndisputed tile %ld (%u worker%s) at height %lld: %s%s\n",
		 proven_line(proven, line, sizeof(line)), txid, index, nparties,
		 nparties > 1 ? "s" : "", json_integer_value(json_object_get(tx, "height")), forfeited ? "failed: " : "",
		 note[0] ? note : "ok");
	if (forfeited)
		rc = CLI_EFAIL;
out:
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
	for (unsigned q = 0; pt && q < 2; q++) {
		free(pt[q].output);
		free(pt[q].leaves);
		free(pt[q].digests);
		free(pt[q].tile);
	}
	free(pt);
	free(j);
	json_decref(job);
	json_decref(tx);
	return rc;
}

static int report(struct cli_ctx *ctx, const char *txid, json_t *tx, const char *what);

/* ---- job open ---- */

static int job_open(struct cli_ctx *ctx);

/* job open: derives the salt and signs its job_salt on one unlock. */
int cli_cmd_job_open(struct cli_ctx *ctx)
{
	unlocked.keep = 1;
	int rc = job_open(ctx);
	key_release();
	return rc;
}

/* job open posts the salt only where the node's record of the job passes
 * client_job_sealed_check (or the salt is public already): a node that
 * calls a job sealed early would learn it while a worker can still pick its
 * root (docs/compute.md §4, §10). --force sends it anyway, with a warning. */
static int salt_may_open(struct cli_ctx *ctx, const struct job_record *rec, const json_t *job)
{
	json_t *params;
	char why[256];
	int rc;
	if (rec->salt_posted)
		return CLI_OK;
	if ((rc = get_params(ctx, &params)))
		return rc;
	uint32_t d = challenge_delay_of(params);
	json_decref(params);
	if (client_job_sealed_check(rec, d, ju64(job, "height"), why, sizeof(why)) == 0)
		return CLI_OK;
	if (!cli_flag(ctx, "force"))
		return cli_fail(CLI_EFAIL,
				"refused: the node's record of the job is not one of a job whose every slot has "
				"committed (%s); the salt stays secret until then (--force sends it anyway)",
				why);
	fprintf(stderr, "warning: the job is not sealed as far as the client can tell (%s): --force: opening its "
			"salt anyway\n", why);
	return CLI_OK;
}

static int job_open(struct cli_ctx *ctx)
{
	const char *from = cli_opt(ctx, "from"), *given = cli_opt(ctx, "salt");
	uint8_t id[HASH_LEN], salt[HASH_LEN], hash[HASH_LEN];
	struct cli_chain chain;
	char txid[2 * HASH_LEN + 1], hex[2 * HASH_LEN + 1];
	json_t *tx = NULL, *job = NULL;
	struct job_record rec;
	int rc;
	if (!from || !keystore_name_valid(from))
		return cli_fail(CLI_EUSAGE, "job open needs --from NAME (who pays the fee; the submitter's wallet "
					    "derives the salt)");
	if ((rc = hex32_arg(ctx->args[0], id, "job id")))
		return rc;
	hex_encode(id, HASH_LEN, hex);
	if ((rc = get_job(ctx, hex, &job, &rec)) || (rc = salt_may_open(ctx, &rec, job))) {
		json_decref(job);
		return rc;
	}
	json_decref(job);
	if (given)
		rc = hex32_arg(given, salt, "--salt");
	else if (salt_load(ctx, from, hex, salt) != CLI_OK) /* a job of an earlier assay-cli */
		rc = salt_of_wallet(ctx, from, id, salt);
	if (rc)
		return rc;
	kernel_salt_hash(salt, hash);
	if (memcmp(hash, rec.spec.salt_hash, HASH_LEN) != 0) {
		sodium_memzero(salt, sizeof(salt));
		if (given)
			return cli_fail(CLI_EFAIL, "--salt is not job %s's salt (its hash is not the job's salt_hash); "
						   "nothing sent", hex);
		return cli_fail(CLI_EFAIL,
				"wallet %s did not submit job %s (the salt it derives does not match the job's "
				"salt_hash): give --salt HEX; nothing sent",
				from, hex);
	}
	if ((rc = cli_get_chain(ctx, &chain))) {
		sodium_memzero(salt, sizeof(salt));
		return rc;
	}
	rc = post_salt(ctx, &chain, from, id, salt, cli_flag(ctx, "wait"), txid, &tx);
	sodium_memzero(salt, sizeof(salt));
	return rc ? rc : report(ctx, txid, tx, "salt opened");
}

/* ---- worker register / unbond / status ---- */

static int report(struct cli_ctx *ctx, const char *txid, json_t *tx, const char *what)
{
	if (!tx) {
		cli_emit(ctx, json_pack("{s:s}", "txid", txid), "%s\n", txid);
		return CLI_OK;
	}
	cli_emit(ctx, json_pack("{s:s,s:I}", "txid", txid, "height", (json_int_t)json_integer_value(json_object_get(tx, "height"))),
		 "%s\n%s at height %lld\n", txid, what, json_integer_value(json_object_get(tx, "height")));
	json_decref(tx);
	return CLI_OK;
}

int cli_cmd_worker_register(struct cli_ctx *ctx)
{
	const char *from = cli_opt(ctx, "from");
	struct worker_register_payload reg;
	struct cli_chain chain;
	json_t *tx;
	char txid[2 * HASH_LEN + 1];
	int rc;
	if (!from || !keystore_name_valid(from) || !cli_opt(ctx, "bond"))
		return cli_fail(CLI_EUSAGE, "worker register needs --from NAME --bond ASY");
	memset(&reg, 0, sizeof(reg));
	if ((rc = cli_amount_opt(ctx, "bond", 0, &reg.bond)))
		return rc;
	const char *endpoint = cli_opt(ctx, "endpoint") ? cli_opt(ctx, "endpoint") : "http://127.0.0.1:29450";
	const char *backend = cli_opt(ctx, "backend") ? cli_opt(ctx, "backend") : "cpu";
	if (strlen(endpoint) > WORKER_ENDPOINT_MAX || strlen(backend) > WORKER_BACKEND_MAX || !*backend)
		return cli_fail(CLI_EUSAGE, "--endpoint is at most %d bytes, --backend 1 to %d", WORKER_ENDPOINT_MAX,
				WORKER_BACKEND_MAX);
	snprintf(reg.endpoint, sizeof(reg.endpoint), "%s", endpoint);
	snprintf(reg.backend, sizeof(reg.backend), "%s", backend);
	struct buf p;
	buf_init(&p);
	compute_register_encode(&reg, &p);
	if ((rc = cli_get_chain(ctx, &chain)) == CLI_OK)
		rc = submit_from(ctx, &chain, from, TX_WORKER_REGISTER, &p, 0, cli_flag(ctx, "wait"), txid, &tx);
	buf_free(&p);
	return rc ? rc : report(ctx, txid, tx, "registered");
}

int cli_cmd_worker_unbond(struct cli_ctx *ctx)
{
	const char *from = cli_opt(ctx, "from");
	struct cli_chain chain;
	json_t *tx;
	char txid[2 * HASH_LEN + 1];
	int rc;
	if (!from || !keystore_name_valid(from))
		return cli_fail(CLI_EUSAGE, "worker unbond needs --from NAME");
	struct buf p;
	buf_init(&p);
	if ((rc = cli_get_chain(ctx, &chain)) == CLI_OK)
		rc = submit_from(ctx, &chain, from, TX_WORKER_UNBOND, &p, 0, cli_flag(ctx, "wait"), txid, &tx);
	buf_free(&p);
	return rc ? rc : report(ctx, txid, tx, "unbonding: the bond returns after unbond_delay blocks with no job in flight");
}

int cli_cmd_worker_status(struct cli_ctx *ctx)
{
	struct cli_chain chain;
	char address[ADDR_STR_MAX];
	uint8_t addr[ADDR_LEN];
	json_t *w;
	int rc = cli_get_chain(ctx, &chain);
	if (rc || (rc = cli_resolve_address(ctx, ctx->args[0], &chain, 1, address, addr)) ||
	    (rc = cli_rpc(ctx, "getworker", json_pack("[s]", address), &w)))
		return rc;
	char bond[AMOUNT_STR_MAX], slashed[AMOUNT_STR_MAX];
	amount_format(ju64(w, "bond"), bond);
	amount_format(ju64(w, "slashed_total"), slashed);
	const char *status = json_string_value(json_object_get(w, "status"));
	const char *endpoint = json_string_value(json_object_get(w, "endpoint"));
	const char *backend = json_string_value(json_object_get(w, "backend"));
	cli_emit(ctx, w,
		 "worker:    %s\nstatus:    %s\nbond:      %s ASY (slashed in all %s)\njobs:      %llu in flight, "
		 "%llu done, %llu failed\nendpoint:  %s (backend %s)\n",
		 address, status ? status : "?", bond, slashed, (unsigned long long)ju64(w, "jobs_in_flight"),
		 (unsigned long long)ju64(w, "jobs_done"), (unsigned long long)ju64(w, "jobs_failed"),
		 endpoint ? endpoint : "", backend ? backend : "");
	return CLI_OK;
}
