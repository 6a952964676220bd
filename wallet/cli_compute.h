/* assay-cli's compute commands (docs/cli.md "Compute"): job submit, status,
 * output, dispute and open; worker register, unbond and status. Their rows live
 * in cli_commands[] (cli_commands.c); the handlers and option tables are
 * here. Not for: the protocol's rules (consensus/compute). */
#ifndef ASSAY_WALLET_CLI_COMPUTE_H
#define ASSAY_WALLET_CLI_COMPUTE_H

#include "wallet/cli.h"

#define CLI_JOB_WAIT_S 600        /* job submit --wait without --timeout */
#define CLI_OUTPUT_MAX (1ull << 34) /* largest output fetched (max_output_bytes ceiling) */

int cli_cmd_job_submit(struct cli_ctx *ctx);
int cli_cmd_job_status(struct cli_ctx *ctx);
int cli_cmd_job_output(struct cli_ctx *ctx);
int cli_cmd_job_dispute(struct cli_ctx *ctx);
int cli_cmd_job_open(struct cli_ctx *ctx);
int cli_cmd_worker_register(struct cli_ctx *ctx);
int cli_cmd_worker_unbond(struct cli_ctx *ctx);
int cli_cmd_worker_status(struct cli_ctx *ctx);

extern const struct cli_optdef cli_job_submit_opts[];
extern const struct cli_optdef cli_job_status_opts[];
extern const struct cli_optdef cli_job_output_opts[];
extern const struct cli_optdef cli_job_dispute_opts[];
extern const struct cli_optdef cli_job_open_opts[];
extern const struct cli_optdef cli_worker_register_opts[];
extern const struct cli_optdef cli_worker_unbond_opts[];

/* The dev chain's built-in worker key (dev and local only, public):
 * seed = SHA256(CLI_DEV_WORKER_SEED_TEXT). */
#define CLI_DEV_WORKER_SEED_TEXT "assay/dev-worker/0"

#endif
