/* assay-cli's `job spec`: the canonical job_submit payload (a struct
 * job_spec, compute_codec.h) for a job described by options, written to a
 * file or printed, for a contract that submits the job itself (job_escrow's
 * init takes it as raw bytes). Not for: sending a job (job submit in
 * cli_compute.c) or the protocol's rules (consensus/compute). */
#ifndef ASSAY_WALLET_CLI_JOBSPEC_H
#define ASSAY_WALLET_CLI_JOBSPEC_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/compute_codec.h"
#include "wallet/cli.h"

#define JOBSPEC_TILE 8           /* default matmul tile side, as job submit */
#define JOBSPEC_MLP_TILE_ROWS 16 /* default mlp tile: this many batch rows */
#define JOBSPEC_MLP_SHIFT 8      /* default requantization shift of each mlp layer */

/* The chain's compute parameters that a job_submit payload must meet
 * (docs/compute.md §9), as getcomputeparams reports them. */
struct jobspec_limits {
	uint32_t samples_k;           /* least samples per worker */
	uint32_t commit_window, reveal_window;
	uint32_t challenge_delay, salt_window; /* 0 from a node that predates them */
	uint32_t upload_window;       /* output availability (compute.md §15); 0 likewise */
	uint32_t max_deadline_blocks;
	uint32_t max_dim;
	uint64_t max_output_bytes;
	uint64_t min_reward;          /* base units */
};

/* The checks job_submit makes on its payload alone (shape, samples,
 * redundancy, reward, deadline; not the submitter's balance, blobs or the
 * live-job count), so that a contract's init does not fail on chain with
 * only "job_submit: invalid argument" to say why. 0, or ASSAY_EINVALID /
 * ASSAY_ELIMIT with err filled. */
int jobspec_check(const struct job_spec *s, const struct jobspec_limits *lim, char *err, size_t errlen);

/* The default deadline: three rounds of commit, challenge delay, salt,
 * reveal and upload windows and 10 blocks, so a job survives two reassignments; at
 * most max_deadline_blocks. */
uint32_t jobspec_default_deadline(const struct jobspec_limits *lim);

/* The node's limits (getcomputeparams); CLI_OK or the error printed. */
int jobspec_limits_from_node(struct cli_ctx *ctx, struct jobspec_limits *lim);

/* How many tiles a worker's samples check, for a person: "4 of 12 tiles",
 * or "every one of the 12 tiles (16 asked)" when samples >= tiles (the
 * chain samples min(samples, tiles), docs/compute.md). */
void jobspec_samples_text(uint32_t samples, uint32_t tiles, char *out, size_t cap);

/* The default tiles of an mlp job (the callers skip this when --tile-rows is
 * given): they shrink from JOBSPEC_MLP_TILE_ROWS rows, halving, until a reveal of spec->samples tiles (outputs and
 * pre-activations, compute_reveal_max_bytes) fits max_tx_bytes, down to one
 * row; job_submit would refuse the job otherwise. Wide layers get small
 * tiles, which also makes their check cheaper (docs/benchmarks.md). */
void jobspec_fit_mlp_rows(struct job_spec *spec, uint32_t max_tx_bytes);

/* A job's shape from --kind, --m, --n, --k, --dims, --shifts, --tile-rows,
 * --tile-cols with the defaults above; shared by job spec and job submit. */
int jobspec_shape_opts(const struct cli_ctx *ctx, struct job_shape *s);
int cli_cmd_job_spec(struct cli_ctx *ctx);
extern const struct cli_optdef cli_job_spec_opts[];

#endif
