/* assay-cli getproof (docs/cli.md "State proofs"): fetch a state proof and,
 * with --verify, check it against the state_root of a block header the user
 * names. The row lives in cli_commands[] (cli_commands.c).
 * Not for: the proof format or its verification rules (core/smt_proof.h). */
#ifndef ASSAY_WALLET_CLI_PROOF_H
#define ASSAY_WALLET_CLI_PROOF_H

#include "wallet/cli.h"

int cli_cmd_getproof(struct cli_ctx *ctx);

extern const struct cli_optdef cli_getproof_opts[];

#endif
