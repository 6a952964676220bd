/* `assay-cli job spec` (cli_jobspec.h, docs/cli.md): builds a seed-input
 * job_spec from options, checks it against the node's compute parameters
 * as job_submit would, and writes its canonical bytes to -o FILE or prints
 * them as hex. Not for: blob inputs (they must be posted first: job submit
 * --input-blob) or submitting anything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consensus/compute/compute.h"
#include "consensus/compute/kernels.h"
#include "core/error.h"
#include "wallet/amount.h"
#include "wallet/cli_jobspec.h"

const struct cli_optdef cli_job_spec_opts[] = {
	{"kind", 1},	  {"m", 1},	    {"n", 1},	       {"k", 1},	{"dims", 1},
	{"shifts", 1},	  {"tile-rows", 1}, {"tile-cols", 1},  {"seed", 1},	{"samples", 1},
	{"redundancy", 1}, {"reward", 1},   {"deadline", 1},   {"o", 1},	{"out", 1},
	{"salt", 1},	  {NULL, 0},
};

int jobspec_check(const struct job_spec *s, const struct jobspec_limits *lim, char *err, size_t errlen)
{
	char why[100];
	int rc = kernel_shape_check(&s->shape, lim->max_dim, lim->max_output_bytes, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "bad job shape: %s", why);
		return rc;
	}
	if (s->samples < lim->samples_k || s->samples > JOB_MAX_SAMPLES) {
		snprintf(err, errlen, "samples %u outside [%u, %u] (the chain's samples_k is the least)",
			 s->samples, lim->samples_k, (unsigned)JOB_MAX_SAMPLES);
		return ASSAY_EINVALID;
	}
	if (s->redundancy < 1 || s->redundancy > JOB_MAX_REDUNDANCY) {
		snprintf(err, errlen, "redundancy %u outside [1, %d]", s->redundancy, JOB_MAX_REDUNDANCY);
		return ASSAY_EINVALID;
	}
	if (s->reward < lim->min_reward) {
		char have[AMOUNT_STR_MAX], least[AMOUNT_STR_MAX];
		amount_format(s->reward, have);
		amount_format(lim->min_reward, least);
		snprintf(err, errlen, "reward %s ASY below the chain's min_reward %s ASY", have, least);
		return ASSAY_EINVALID;
	}
	struct compute_params cp = {.commit_window = lim->commit_window,
				    .reveal_window = lim->reveal_window,
				    .salt_window = lim->salt_window,
				    .challenge_delay = lim->challenge_delay,
				    .upload_window = lim->upload_window};
	uint64_t least = compute_least_deadline(&cp);
	if (s->deadline_blocks < least || s->deadline_blocks > lim->max_deadline_blocks) {
		snprintf(err, errlen,
			 "deadline %u blocks outside [%llu, %u] (commit + salt + reveal windows + 2 challenge delays + 2)",
			 s->deadline_blocks, (unsigned long long)least, lim->max_deadline_blocks);
		return ASSAY_EINVALID;
	}
	return 0;
}

void jobspec_samples_text(uint32_t samples, uint32_t tiles, char *out, size_t cap)
{
	if (samples >= tiles) /* the chain checks min(samples, tiles): every tile */
		snprintf(out, cap, "every one of the %u tiles (%u asked)", tiles, samples);
	else
		snprintf(out, cap, "%u of %u tiles", samples, tiles);
}

uint32_t jobspec_default_deadline(const struct jobspec_limits *lim)
{
	uint64_t d = 3 * ((uint64_t)lim->commit_window + lim->reveal_window + lim->salt_window +
			  lim->challenge_delay + lim->upload_window) + 10;
	return d > lim->max_deadline_blocks ? lim->max_deadline_blocks : (uint32_t)d;
}

/* ---- options ---- */

/* Comma-separated whole numbers into out (at most cap): their count, or -1. */
static int list_opt(const char *text, uint32_t *out, int cap)
{
	int n = 0;
	while (*text) {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(text, &end, 10);
		if (end == text || errno || x > UINT32_MAX || n == cap || *text == '-' || *text == '+')
			return -1;
		out[n++] = (uint32_t)x;
		text = end;
		if (*text == ',' && text[1])
			text++;
		else if (*text)
			return -1;
	}
	return n;
}

static int mlp_shape(const struct cli_ctx *ctx, struct job_shape *s)
{
	uint32_t dims[MLP_MAX_LAYERS + 2], shifts[MLP_MAX_LAYERS + 1];
	const char *d = cli_opt(ctx, "dims"), *sh = cli_opt(ctx, "shifts");
	int nd = d ? list_opt(d, dims, MLP_MAX_LAYERS + 2) : -1;
	if (nd < 2 || nd > MLP_MAX_LAYERS + 1)
		return cli_fail(CLI_EUSAGE, "mlp-i8 needs --dims D0,D1[,...] (2 to %d widths)", MLP_MAX_LAYERS + 1);
	s->layers = (uint8_t)(nd - 1);
	memcpy(s->dims, dims, (size_t)nd * sizeof(dims[0]));
	int ns = sh ? list_opt(sh, shifts, MLP_MAX_LAYERS + 1) : 0;
	if (ns < 0 || (sh && ns != s->layers))
		return cli_fail(CLI_EUSAGE, "--shifts needs one shift (0-31) per layer");
	for (int i = 0; i < s->layers; i++) {
		uint32_t v = sh ? shifts[i] : JOBSPEC_MLP_SHIFT;
		if (v > 31)
			return cli_fail(CLI_EUSAGE, "shifts are 0 to 31");
		s->shifts[i] = (uint8_t)v;
	}
	s->n = s->dims[s->layers];
	s->tile_cols = s->n;
	return cli_u32_opt(ctx, "tile-rows", s->m < JOBSPEC_MLP_TILE_ROWS ? s->m : JOBSPEC_MLP_TILE_ROWS, 1,
		       &s->tile_rows);
}

int jobspec_shape_opts(const struct cli_ctx *ctx, struct job_shape *s)
{
	const char *kind = cli_opt(ctx, "kind");
	int rc;
	memset(s, 0, sizeof(*s));
	if (!kind || strcmp(kind, "matmul-i8") == 0)
		s->kind = JOB_MATMUL_I8;
	else if (strcmp(kind, "mlp-i8") == 0)
		s->kind = JOB_MLP_I8;
	else
		return cli_fail(CLI_EUSAGE, "bad --kind '%s': matmul-i8 or mlp-i8", kind);
	if ((rc = cli_u32_opt(ctx, "m", 0, 1, &s->m)))
		return rc;
	if (!s->m)
		return cli_fail(CLI_EUSAGE, "--m is required (rows of A, or the mlp batch)");
	if (s->kind == JOB_MLP_I8)
		return mlp_shape(ctx, s);
	if ((rc = cli_u32_opt(ctx, "n", s->m, 1, &s->n)) || (rc = cli_u32_opt(ctx, "k", s->m, 1, &s->k)))
		return rc;
	if ((rc = cli_u32_opt(ctx, "tile-rows", s->m < JOBSPEC_TILE ? s->m : JOBSPEC_TILE, 1, &s->tile_rows)))
		return rc;
	return cli_u32_opt(ctx, "tile-cols", s->n < JOBSPEC_TILE ? s->n : JOBSPEC_TILE, 1, &s->tile_cols);
}

static uint64_t param_u64(const json_t *params, const char *name)
{
	json_t *v = json_object_get(params, name);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

int jobspec_limits_from_node(struct cli_ctx *ctx, struct jobspec_limits *lim)
{
	json_t *params;
	int rc = cli_rpc(ctx, "getcomputeparams", NULL, &params);
	if (rc)
		return rc;
	uint64_t v[6] = {param_u64(params, "samples_k"),	   param_u64(params, "commit_window"),
			 param_u64(params, "reveal_window"),	   param_u64(params, "max_deadline_blocks"),
			 param_u64(params, "max_dim"),		   param_u64(params, "max_output_bytes")};
	lim->min_reward = param_u64(params, "min_reward");
	uint64_t delay = param_u64(params, "challenge_delay"), salt = param_u64(params, "salt_window");
	uint64_t upload = param_u64(params, "upload_window");
	json_decref(params);
	if (delay > UINT32_MAX || salt > UINT32_MAX || upload > UINT32_MAX)
		return cli_fail(CLI_EFAIL, "getcomputeparams reply out of range");
	lim->upload_window = (uint32_t)upload;
	lim->challenge_delay = (uint32_t)delay;
	lim->salt_window = (uint32_t)salt;
	for (int i = 0; i < 5; i++)
		if (v[i] > UINT32_MAX)
			return cli_fail(CLI_EFAIL, "getcomputeparams reply out of range");
	lim->samples_k = (uint32_t)v[0];
	lim->commit_window = (uint32_t)v[1];
	lim->reveal_window = (uint32_t)v[2];
	lim->max_deadline_blocks = (uint32_t)v[3];
	lim->max_dim = (uint32_t)v[4];
	lim->max_output_bytes = v[5];
	if (!lim->max_dim || !lim->max_deadline_blocks)
		return cli_fail(CLI_EFAIL, "getcomputeparams reply lacks max_dim or max_deadline_blocks");
	return CLI_OK;
}

void jobspec_fit_mlp_rows(struct job_spec *spec, uint32_t max_tx_bytes)
{
	struct job_shape *s = &spec->shape;
	if (s->kind != JOB_MLP_I8 || !max_tx_bytes)
		return;
	while (s->tile_rows > 1 && compute_reveal_max_bytes(spec) + COMPUTE_REVEAL_TX_OVERHEAD > max_tx_bytes)
		s->tile_rows = (s->tile_rows + 1) / 2;
}

static int write_payload(const char *path, const struct buf *p)
{
	FILE *f = fopen(path, "wb");
	int bad = !f || fwrite(p->data, 1, p->len, f) != p->len;
	if (f && fclose(f) != 0)
		bad = 1;
	return bad ? cli_fail(CLI_EFAIL, "cannot write %s: %s", path, strerror(errno)) : CLI_OK;
}

int cli_cmd_job_spec(struct cli_ctx *ctx)
{
	struct job_spec spec;
	struct jobspec_limits lim;
	uint32_t redundancy;
	const char *seed = cli_opt(ctx, "seed"), *out = cli_opt(ctx, "o");
	char err[256];
	int rc;
	if (!out)
		out = cli_opt(ctx, "out");
	memset(&spec, 0, sizeof(spec));
	spec.input_kind = JOB_INPUT_SEED;
	if ((rc = jobspec_shape_opts(ctx, &spec.shape)))
		return rc;
	if (seed && (strlen(seed) != 2 * HASH_LEN || hex_decode(seed, spec.seed, HASH_LEN) != HASH_LEN))
		return cli_fail(CLI_EUSAGE, "bad --seed '%s': 64 hex digits", seed);
	if ((rc = jobspec_limits_from_node(ctx, &lim)))
		return rc;
	if ((rc = cli_u32_opt(ctx, "samples", lim.samples_k, 1, &spec.samples)) ||
	    (rc = cli_u32_opt(ctx, "redundancy", 1, 1, &redundancy)) ||
	    (rc = cli_u32_opt(ctx, "deadline", jobspec_default_deadline(&lim), 1, &spec.deadline_blocks)) ||
	    (rc = cli_amount_opt(ctx, "reward", AMOUNT_UNITS_PER_ASY, &spec.reward)))
		return rc;
	if (redundancy > JOB_MAX_REDUNDANCY)
		return cli_fail(CLI_EUSAGE, "--redundancy is 1 to %d", JOB_MAX_REDUNDANCY);
	spec.redundancy = (uint8_t)redundancy;
	struct cli_chain chain;
	if ((rc = cli_get_chain(ctx, &chain)))
		return rc;
	if (!cli_opt(ctx, "tile-rows"))
		jobspec_fit_mlp_rows(&spec, chain.params.max_tx_bytes);
	if (jobspec_check(&spec, &lim, err, sizeof(err)))
		return cli_fail(CLI_EUSAGE, "%s", err);
	if (!seed)
		randombytes_buf(spec.seed, HASH_LEN);
	/* The submitter's salt (compute.md §4): only its hash goes in the
	 * payload; whoever funds the job opens it with `job open --salt`. */
	const char *salt_text = cli_opt(ctx, "salt");
	uint8_t salt[HASH_LEN];
	char salt_hex[2 * HASH_LEN + 1];
	if (salt_text && (strlen(salt_text) != 2 * HASH_LEN || hex_decode(salt_text, salt, HASH_LEN) != HASH_LEN))
		return cli_fail(CLI_EUSAGE, "bad --salt '%s': 64 hex digits", salt_text);
	if (!salt_text)
		randombytes_buf(salt, HASH_LEN);
	kernel_salt_hash(salt, spec.salt_hash);
	hex_encode(salt, HASH_LEN, salt_hex);

	struct buf p;
	buf_init(&p);
	compute_spec_encode(&spec, &p);
	if (p.oom) {
		buf_free(&p);
		return cli_fail(CLI_EFAIL, "out of memory");
	}
	if (out && (rc = write_payload(out, &p))) {
		buf_free(&p);
		return rc;
	}
	char *hex = malloc(2 * p.len + 1), seed_hex[2 * HASH_LEN + 1], reward[AMOUNT_STR_MAX];
	if (!hex) {
		buf_free(&p);
		return cli_fail(CLI_EFAIL, "out of memory");
	}
	hex_encode(p.data, p.len, hex);
	hex_encode(spec.seed, HASH_LEN, seed_hex);
	amount_format(spec.reward, reward);
	json_t *j = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "bytes", (json_int_t)p.len, "payload", hex,
			      "seed", seed_hex, "reward", (json_int_t)spec.reward, "samples",
			      (json_int_t)spec.samples, "redundancy", (json_int_t)spec.redundancy,
			      "deadline_blocks", (json_int_t)spec.deadline_blocks, "tiles",
			      (json_int_t)kernel_tile_count(&spec.shape));
	json_object_set_new(j, "salt", json_string(salt_hex));
	if (out)
		json_object_set_new(j, "file", json_string(out));
	char head[CLI_PATH_MAX + 64];
	if (out)
		snprintf(head, sizeof(head), "wrote %s (%zu bytes)", out, p.len);
	else
		snprintf(head, sizeof(head), "payload:    %s", hex);
	char sampled[96];
	jobspec_samples_text(spec.samples, kernel_tile_count(&spec.shape), sampled, sizeof(sampled));
	cli_emit(ctx, j,
		 "%s\nseed:       %s\nsalt:       %s (keep it: `assay-cli job open JOB_ID --salt` opens it)\n"
		 "reward:     %s ASY (the contract's value must cover it and the checking fees)\n"
		 "samples:    %s, redundancy %u, deadline %u blocks\n",
		 head, seed_hex, salt_hex, reward, sampled, spec.redundancy, spec.deadline_blocks);
	free(hex);
	buf_free(&p);
	return CLI_OK;
}
